//! Routes added next to `/mcp`, through each way of adding them: every
//! route served through the server passes the same Host policy as `/mcp`
//! (the DNS-rebinding defence) and, unless added with
//! `routes_without_origin_check`, the same Origin policy. Doors that serve
//! are tested over real sockets.

use std::{net::SocketAddr, time::Duration};

use axum::{
    Router,
    body::Body,
    routing::{get, post},
};
use http::{Request, header};
use http_body_util::BodyExt;
use mcp_runtime::{McpServer, McpServerBuilder, auth::StaticTokenVerifier};
use mcp_test_client::{Connection, Response};
use serde_json::json;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tower::ServiceExt;

const FOREIGN_HOST: &str = "evil.example";
const FOREIGN_ORIGIN: &str = "https://evil.example";
/// A loopback origin: allowed by default.
const LOCAL_ORIGIN: &str = "http://localhost:5173";

/// `GET /version`, a route of the user's.
fn version() -> Router {
    Router::new().route("/version", get(|| async { "1.0" }))
}

/// `GET /open`, added without the Origin check.
fn open() -> Router {
    Router::new().route("/open", get(|| async { "open" }))
}

/// A server with authentication (so with the metadata routes) and `/open`.
fn builder() -> McpServerBuilder {
    McpServer::builder()
        .auth(StaticTokenVerifier::new())
        .routes_without_origin_check(open())
}

/// How a test reaches the app: over a socket, or in process.
#[derive(Clone)]
enum Target {
    Socket(SocketAddr),
    InProcess(Router),
}

impl Target {
    /// `method path` with `headers`; the Host is the server's own unless
    /// `headers` has one.
    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        match self {
            Target::Socket(addr) => {
                let url = format!("http://{addr}{path}");
                mcp_test_client::request(method, &url, headers, None).await
            }
            Target::InProcess(app) => in_process(app.clone(), method, path, headers).await,
        }
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.send("GET", path, headers).await
    }
}

async fn in_process(app: Router, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut req = Request::builder().method(method).uri(path);
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        req = req.header(header::HOST, "127.0.0.1:3002");
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = res.into_parts();
    let text = body.collect().await.unwrap().to_bytes();
    Response {
        status: parts.status.as_u16(),
        headers: parts.headers,
        text: String::from_utf8_lossy(&text).into_owned(),
        request_id: None,
    }
}

fn assert_refused(res: &Response, status: u16, error: &str, description: &str, case: &str) {
    assert_eq!(res.status, status, "{case}: {res:#?}");
    assert_eq!(
        res.json(),
        json!({"error": error, "error_description": description}),
        "{case}"
    );
    assert!(!res.has_header("access-control-allow-origin"), "{case}");
}

fn host_refused(res: &Response, case: &str) {
    assert_refused(res, 403, "forbidden", "Host not allowed", case);
}

fn origin_refused(res: &Response, case: &str) {
    assert_refused(res, 403, "forbidden", "Origin not allowed", case);
}

/// `path` answers `body` on an allowed Host, from no browser or an allowed
/// origin, and refuses a foreign Host and a foreign Origin as `/mcp` does.
async fn checked(target: &Target, path: &str, body: &str) {
    for headers in [&[][..], &[("origin", LOCAL_ORIGIN)]] {
        let res = target.get(path, headers).await;
        assert_eq!(res.status, 200, "{path} {headers:?}: {res:#?}");
        assert_eq!(res.text, body, "{path}");
    }
    let res = target.get(path, &[("host", FOREIGN_HOST)]).await;
    host_refused(&res, &format!("{path}, foreign Host"));
    let res = target.get(path, &[("host", "evil.example:3002")]).await;
    host_refused(&res, &format!("{path}, foreign Host with a port"));
    let res = target.get(path, &[("origin", FOREIGN_ORIGIN)]).await;
    origin_refused(&res, &format!("{path}, foreign Origin"));
    let res = target.get(path, &[("host", "evil.com@localhost")]).await;
    assert_refused(
        &res,
        400,
        "invalid_request",
        "Send a Host header without userinfo",
        &format!("{path}, userinfo Host"),
    );
}

/// `/open` lets any origin in, and still refuses a foreign Host.
async fn open_to_any_origin(target: &Target) {
    let res = target.get("/open", &[("origin", FOREIGN_ORIGIN)]).await;
    assert_eq!(res.status, 200, "{res:#?}");
    assert_eq!(res.text, "open");
    assert_eq!(res.header("access-control-allow-origin"), "*");
    for headers in [
        &[("host", FOREIGN_HOST)][..],
        &[("host", FOREIGN_HOST), ("origin", FOREIGN_ORIGIN)],
    ] {
        let res = target.get("/open", headers).await;
        host_refused(&res, &format!("/open {headers:?}"));
    }
    // The opt-out is by path: a method the route does not serve is
    // answered as such.
    let res = target
        .send("POST", "/open", &[("origin", FOREIGN_ORIGIN)])
        .await;
    assert_eq!(res.status, 405, "{res:#?}");
    // A CORS preflight for a GET is answered.
    let res = target
        .send(
            "OPTIONS",
            "/open",
            &[
                ("origin", FOREIGN_ORIGIN),
                ("access-control-request-method", "GET"),
            ],
        )
        .await;
    assert!((200..300).contains(&res.status), "{res:#?}");
    assert_eq!(res.header("access-control-allow-origin"), "*");
}

/// The server's own routes keep their policy whichever way they are served.
async fn server_routes(target: &Target) {
    checked(target, "/health", r#"{"status":"ok"}"#).await;
    let res = target.send("POST", "/mcp", &[("host", FOREIGN_HOST)]).await;
    host_refused(&res, "/mcp, foreign Host");
    let res = target
        .send("POST", "/mcp", &[("origin", FOREIGN_ORIGIN)])
        .await;
    origin_refused(&res, "/mcp, foreign Origin");
}

/// What the server serves refuses a foreign Host even where nothing is
/// routed.
async fn unknown_path(target: &Target) {
    let res = target.get("/nowhere", &[("host", FOREIGN_HOST)]).await;
    host_refused(&res, "an unknown path, foreign Host");
}

/// Serves `server` with `serve_on_with(wrap)` until the sender fires.
async fn serve_on_with(
    server: McpServer,
    wrap: impl FnOnce(Router) -> Router + Send + 'static,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    JoinHandle<Result<(), mcp_runtime::Error>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let stopped = async {
        let _ = stopped.await;
    };
    let serving = tokio::spawn(server.serve_on_with(listener, stopped, wrap));
    (addr, stop, serving)
}

/// Serves with `serve_with(app)`, which binds the server's own address
/// (a free loopback port) and stops on a signal: the task is aborted.
async fn serve_with(
    builder: McpServerBuilder,
    app: impl FnOnce(&McpServer) -> Router,
) -> (SocketAddr, JoinHandle<()>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = builder.port(port).build().unwrap();
    let addr = server.bind_addr();
    let app = app(&server);
    let serving = tokio::spawn(async move { server.serve_with(app).await.unwrap() });
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return (addr, serving);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("serve_with does not listen on {addr}");
}

#[tokio::test]
async fn routes_added_on_the_builder() {
    let server = builder().routes(version()).build().unwrap();
    // Served by the server.
    let (addr, stop, serving) = serve_on_with(server.clone(), |app| app).await;
    let target = Target::Socket(addr);
    checked(&target, "/version", "1.0").await;
    open_to_any_origin(&target).await;
    server_routes(&target).await;
    unknown_path(&target).await;
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
    // Taken out with into_router: the checks are layers on the router.
    let target = Target::InProcess(server.into_router());
    checked(&target, "/version", "1.0").await;
    open_to_any_origin(&target).await;
    server_routes(&target).await;
    unknown_path(&target).await;
}

#[tokio::test]
async fn routes_merged_into_the_router_then_served_by_the_server() {
    let (addr, serving) = serve_with(builder(), |server| {
        server
            .clone()
            .into_router()
            .merge(version())
            .nest("/api", version())
    })
    .await;
    let target = Target::Socket(addr);
    checked(&target, "/version", "1.0").await;
    checked(&target, "/api/version", "1.0").await;
    open_to_any_origin(&target).await;
    server_routes(&target).await;
    unknown_path(&target).await;
    serving.abort();
}

#[tokio::test]
async fn routes_served_with_serve_with() {
    let (addr, serving) = serve_with(builder(), |_| {
        version().route("/echo", post(|body: String| async move { body }))
    })
    .await;
    let target = Target::Socket(addr);
    checked(&target, "/version", "1.0").await;
    open_to_any_origin(&target).await;
    server_routes(&target).await;
    unknown_path(&target).await;
    let res = target
        .send("POST", "/echo", &[("origin", FOREIGN_ORIGIN)])
        .await;
    origin_refused(&res, "POST /echo, foreign Origin");
    // The server answers at its own paths; the app answers the rest.
    let res = target.get("/nowhere", &[]).await;
    assert_eq!(res.status, 404, "{res:#?}");
    serving.abort();
}

#[tokio::test]
async fn routes_added_in_serve_on_with() {
    let server = builder().build().unwrap();
    let (addr, stop, serving) =
        serve_on_with(server, |app| app.merge(version()).nest("/api", version())).await;
    let target = Target::Socket(addr);
    checked(&target, "/version", "1.0").await;
    checked(&target, "/api/version", "1.0").await;
    open_to_any_origin(&target).await;
    server_routes(&target).await;
    unknown_path(&target).await;
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn routes_merged_after_into_router_and_served_elsewhere_are_outside_its_layers() {
    // What `into_router` documents: its layers cover its own routes only.
    let app = builder().build().unwrap().into_router().merge(version());
    let target = Target::InProcess(app);
    let res = target.get("/version", &[("host", FOREIGN_HOST)]).await;
    assert_eq!(res.status, 200, "{res:#?}");
    server_routes(&target).await;
}

#[tokio::test]
async fn the_metadata_refuses_a_foreign_host_and_lets_any_origin_read_it() {
    let server = builder().build().unwrap();
    let (addr, stop, serving) = serve_on_with(server.clone(), |app| app).await;
    for target in [
        Target::Socket(addr),
        Target::InProcess(server.into_router()),
    ] {
        for path in [
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-protected-resource/mcp",
        ] {
            let res = target.get(path, &[("origin", FOREIGN_ORIGIN)]).await;
            assert_eq!(res.status, 200, "{path}: {res:#?}");
            assert_eq!(res.json()["resource"], "http://127.0.0.1:3002/mcp");
            assert_eq!(res.header("access-control-allow-origin"), "*");
            let preflight = [
                ("origin", FOREIGN_ORIGIN),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "mcp-protocol-version"),
            ];
            let res = target.send("OPTIONS", path, &preflight).await;
            assert!((200..300).contains(&res.status), "{path}: {res:#?}");
            assert_eq!(res.header("access-control-allow-origin"), "*");
            for headers in [
                &[("host", FOREIGN_HOST)][..],
                &[("host", FOREIGN_HOST), ("origin", FOREIGN_ORIGIN)],
            ] {
                let res = target.get(path, headers).await;
                host_refused(&res, &format!("{path} {headers:?}"));
            }
        }
    }
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_shutdown_closes_connections_of_routes_added_by_the_user() {
    let server = builder()
        .shutdown_grace(Duration::from_millis(200))
        .build()
        .unwrap();
    let hang = Router::new().route(
        "/hang",
        get(|| async {
            std::future::pending::<()>().await;
            "never"
        }),
    );
    let (addr, stop, serving) = serve_on_with(server, |app| app.merge(hang)).await;
    let mut conn = Connection::open(addr).await;
    conn.send("GET /hang HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), serving).await;
    assert!(
        matches!(ended, Ok(Ok(Ok(())))),
        "serving returns after the grace: {ended:?}"
    );
    assert!(
        conn.is_closed(Duration::from_secs(1)).await,
        "the connection is closed"
    );
}
