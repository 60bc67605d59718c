"""FastMCP's side of the wire-parity check: two of the demo-server's tools
(`list_todos`, `create_todo`) written the way the reference
(shared/reference/fastmcp-oauth-reference.md) writes them, behind
`ScalekitProvider`, stateless HTTP at /mcp.

Configured like the demo-server, from the environment:
SCALEKIT_ENVIRONMENT_URL, SCALEKIT_CLIENT_ID, SCALEKIT_RESOURCE_ID, MCP_URL,
PORT (and HOST, default 127.0.0.1). Run by tests/e2e/parity/run.sh.
"""

import itertools
import os
from datetime import datetime, timezone

from fastmcp import FastMCP
from fastmcp.server.auth.providers.scalekit import ScalekitProvider
from fastmcp.server.dependencies import AccessToken, get_access_token

mcp = FastMCP(
    "Todo Server",
    auth=ScalekitProvider(
        environment_url=os.environ["SCALEKIT_ENVIRONMENT_URL"],
        resource_id=os.environ["SCALEKIT_RESOURCE_ID"],
        # The reference passes mcp_url (FastMCP 4 renamed it base_url) and
        # client_id (no longer needed); base_url avoids the deprecation warnings.
        base_url=os.environ["MCP_URL"],
    ),
)

_todos: dict[str, list[dict]] = {}
_ids = itertools.count(1)


def _require_scope(scope: str):
    token: AccessToken = get_access_token()
    if scope not in token.scopes:
        return f"Insufficient permissions: `{scope}` scope required."
    return None


@mcp.tool
def list_todos(include_done: bool = True) -> dict:
    """List the caller's todo items."""
    error = _require_scope("todo:read")
    if error:
        return {"error": error}
    owner = get_access_token().subject or ""
    todos = [t for t in _todos.get(owner, []) if include_done or not t["done"]]
    return {"todos": todos}


@mcp.tool
def create_todo(title: str, due: str | None = None) -> dict:
    """Create a todo item for the caller."""
    error = _require_scope("todo:write")
    if error:
        return {"error": error}
    owner = get_access_token().subject or ""
    item = {
        "id": next(_ids),
        "title": title,
        "done": False,
        "due": due,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    _todos.setdefault(owner, []).append(item)
    return item


if __name__ == "__main__":
    mcp.run(
        transport="http",
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "3002")),
        stateless_http=True,
        show_banner=False,
    )
