//! The baseline: rmcp's Streamable HTTP service (stateless, JSON responses)
//! with a hand-written `echo` tool and no authentication, behind `axum::serve`
//! with TCP_NODELAY.
//!
//! `bench-rmcp PORT`; `SSE=1` answers as SSE streams, `TOOLS=N` lists `N`
//! tools (`echo` and `N - 1` like it, which echo too).

use std::sync::Arc;

use axum::serve::ListenerExt;
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
        PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    },
    service::RequestContext,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
    },
};
use serde_json::json;

#[derive(Clone)]
struct Echo(Arc<Vec<Tool>>);

impl ServerHandler for Echo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items((*self.0).clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let text = request
            .arguments
            .as_ref()
            .and_then(|a| a.get("text"))
            .and_then(|t| t.as_str())
            .ok_or_else(|| ErrorData::invalid_params("text is required", None))?;
        Ok(CallToolResult::success(vec![ContentBlock::text(text.to_owned())]).into())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .ok_or("usage: bench-rmcp PORT")?
        .parse()?;
    let schema =
        json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]});
    let serde_json::Value::Object(schema) = schema else {
        unreachable!()
    };
    let sse = std::env::var("SSE").is_ok_and(|v| v == "1");
    let n: usize = std::env::var("TOOLS").map_or(Ok(1), |v| v.parse())?;
    let schema = Arc::new(schema);
    let tools: Vec<Tool> = (0..n.max(1))
        .map(|i| {
            let name = if i == 0 {
                "echo".to_owned()
            } else {
                format!("tool_{i:04}")
            };
            Tool::new(name, "Echoes text back.", schema.clone())
        })
        .collect();
    let tools = Arc::new(tools);
    let service = StreamableHttpService::new(
        move || Ok(Echo(tools.clone())),
        Arc::new(NeverSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(!sse),
    );
    let app = axum::Router::new().route_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await?
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    axum::serve(listener, app).await?;
    Ok(())
}
