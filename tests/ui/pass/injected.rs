use mcp_runtime::{AccessToken, State, ToolContext, ToolHandle, tool};

struct Store {
    name: String,
}

struct Config;

/// Every injected parameter, between and around ordinary ones.
#[tool(scope = "todo:read")]
#[allow(clippy::too_many_arguments)]
async fn everything(
    token: AccessToken,
    title: String,
    maybe: Option<AccessToken>,
    State(store): State<Store>,
    config: State<Config>,
    cx: ToolContext,
    limit: Option<u32>,
    _: mcp_runtime::AccessToken,
) -> String {
    let _ = (&config, cx.request_id(), maybe);
    format!("{} {} {title} {limit:?}", token.subject(), store.name)
}

/// Only injected parameters.
#[tool(public)]
fn only_injected(_token: Option<AccessToken>, _store: State<Store>) {}

fn main() {
    let def = <everything as ToolHandle>::DEF;
    assert_eq!(def.states.len(), 2);
    assert_eq!((def.states[0])().id, std::any::TypeId::of::<Store>());
    assert_eq!((def.states[1])().id, std::any::TypeId::of::<Config>());
    assert_eq!(<only_injected as ToolHandle>::DEF.states.len(), 1);
}
