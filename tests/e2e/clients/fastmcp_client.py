"""Python FastMCP's client against the demo server.

    python fastmcp_client.py bearer --url URL --token JWT --subject SUB --readonly-token JWT [--label L]
    python fastmcp_client.py oauth  --url URL --step-up-url URL --issuer AS_ISSUER [--label L]
    python fastmcp_client.py m2m    --url URL --step-up-url URL --issuer AS_URL [--client-id ID --client-secret S] [--label L]
    python fastmcp_client.py keepalive --url URL [--rounds N]
    python fastmcp_client.py mrtr2026 --url URL --token JWT --other-token JWT [--label L]

bearer: `Client(url, auth="<token>")` (fastmcp's BearerAuth), with both the default ("auto", which
probes the 2026-07-28 `server/discover`) and the "legacy" initialize handshake.
oauth:  fastmcp's browser OAuth client (`OAuth`) driven headlessly: discovery, DCR, PKCE, the
        callback on its own loopback server (RFC 9207 `iss` checked by the SDK against the
        metadata issuer, --issuer), then a 403 insufficient_scope step-up.
m2m:    fastmcp's `ClientCredentialsOAuthProvider`, including its 403 step-up.
keepalive: the HTTP stack under them (httpx2) reusing its connection after a 401.
mrtr2026: two callers on protocol 2026-07-28: confirmations as multi round-trip requests
        (accepted, declined, cancelled; a forged requestState and one replayed by another caller
        refused) and subscriptions/listen (updates reach the caller's own streams only).

Prints one line per check and `<peer>: N passed, M failed`; exits 1 on any failure. Every group
states how many checks it makes; a group that completes with another number fails (a check that
was skipped or added silently).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import sys
import time
import traceback
import urllib.parse
import warnings
from typing import Any

import httpx2
from fastmcp import Client
from fastmcp.client.auth import ClientCredentialsOAuthProvider, OAuth
from fastmcp.client.elicitation import ElicitResult
from fastmcp.client.transports import StreamableHttpTransport
from fastmcp.exceptions import ToolError
from mcp.client.subscriptions import ResourceUpdated, listen
from mcp.shared.exceptions import MCPError
from mcp_types import InputRequiredResult

warnings.filterwarnings("ignore", message="Using in-memory token storage")

DEMO_TOOLS = sorted(
    [
        "approve_expense", "create_todo", "delete_todo", "get_employee", "get_payroll", "get_system_status",
        "list_employees", "list_todos", "restart_service", "review_todos", "set_maintenance_mode", "update_employee",
        "update_todo", "whoami",
    ]
)
# What the demo's first 401 asks for (its challenge scopes): the read-only ones, not every scope supported.
READ_SCOPES = "finance:read hr:read system:read todo:read"
REFUSAL = {"error": "Insufficient permissions: `todo:write` scope required."}


class Checks:
    def __init__(self, peer: str) -> None:
        self.peer = peer
        self.passed = 0
        self.failed = 0

    def ok(self, cond: Any, name: str, detail: Any = None) -> bool:
        if cond:
            self.passed += 1
            print(f"ok - {self.peer}: {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok - {self.peer}: {name}", flush=True)
            if detail is not None:
                for line in str(detail).splitlines() or [""]:
                    print(f"     {line}", flush=True)
        return bool(cond)

    def eq(self, actual: Any, expected: Any, name: str) -> bool:
        same = actual == expected
        return self.ok(same, name, None if same else f"expected {expected!r}\n     got {actual!r}")

    async def group(self, name: str, coro, expected: int) -> None:
        """Runs a group of checks; an exception inside counts as one failure and the group stops.
        A group that completes must have made exactly `expected` checks."""
        print(f"# {self.peer}: {name}", flush=True)
        before = self.passed + self.failed
        try:
            await coro
        except Exception:  # noqa: BLE001 - any exception is one failure of the group
            self.ok(False, f"{name}: unexpected exception", traceback.format_exc())
            return
        made = self.passed + self.failed - before
        if made != expected:
            self.ok(False, f"{name}: made {made} checks, expected {expected}",
                    "a check was skipped or added without saying so: fix the test, or the expected count")

    def finish(self) -> int:
        print(f"{self.peer}: {self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0


def jwt_payload(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def scopes_of(payload: dict[str, Any]) -> list[str]:
    if isinstance(payload.get("scope"), str):
        return payload["scope"].split()
    return list(payload.get("scopes") or payload.get("scp") or [])


def challenge(value: str | None) -> dict[str, str]:
    """`Bearer a="x", b="y"` -> {a: x, b: y} (quoted values without escapes, as the demo sends)."""
    if not value or not value.lower().startswith("bearer "):
        return {}
    return {k.lower(): v for k, v in re.findall(r'([A-Za-z_]+)="([^"]*)"', value)}


class Recorder:
    """Every response the client's HTTP stack sees (MCP requests and its auth flow's discovery and
    token requests), through an httpx event hook on the client fastmcp's transport creates."""

    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []

    async def _hook(self, r: httpx2.Response) -> None:
        req = r.request
        try:
            body = req.content.decode("utf-8", "replace")
        except Exception:  # noqa: BLE001 - a streamed body that was not read: leave it out
            body = None
        self.log.append({
            "method": req.method, "url": str(req.url), "path": req.url.path, "status": r.status_code,
            "www_authenticate": r.headers.get("www-authenticate"),
            "authorization": req.headers.get("authorization"), "body": body,
            "protocol_version": req.headers.get("mcp-protocol-version"),
        })

    def factory(self, **kwargs: Any) -> httpx2.AsyncClient:
        kwargs.setdefault("timeout", httpx2.Timeout(30.0, read=300.0))
        return httpx2.AsyncClient(**kwargs, event_hooks={"response": [self._hook]})

    def transport(self, url: str, auth: Any = None) -> StreamableHttpTransport:
        return StreamableHttpTransport(url, auth=auth, httpx_client_factory=self.factory)

    @staticmethod
    def brief(entries: list[dict[str, Any]]) -> list[str]:
        return [f"{e['method']} {e['path']} -> {e['status']}" for e in entries]


# ---------------------------------------------------------------------------------------------
# bearer


async def bearer(t: Checks, a: argparse.Namespace) -> None:
    for mode in ("auto", "legacy"):
        async def run(mode: str = mode) -> None:
            async with Client(a.url, auth=a.token, mode=mode) as c:
                expected = "2026-07-28" if mode == "auto" else "2025-11-25"
                t.eq(c.protocol_version, expected, f"[{mode}] negotiated protocol version")
                t.eq(getattr(c, "server_info", None) and c.server_info.name, "demo-server", f"[{mode}] server name")
                tools = await c.list_tools()
                t.eq(sorted(x.name for x in tools), DEMO_TOOLS, f"[{mode}] list_tools: the 14 demo tools")
                ct = next((x for x in tools if x.name == "create_todo"), None)
                t.ok(ct is not None and "title" in ct.input_schema.get("required", []), f"[{mode}] create_todo requires title", ct)

                who = await c.call_tool("whoami", {})
                t.eq((who.structured_content or {}).get("subject"), a.subject, f"[{mode}] whoami: subject from the bearer token")

                title = f"fastmcp {a.label} {mode} {time.time_ns()}"
                created = await c.call_tool("create_todo", {"title": title, "due": "2026-12-01"})
                t.ok(
                    not created.is_error and (created.structured_content or {}).get("title") == title,
                    f"[{mode}] call_tool create_todo",
                    created,
                )
                t.ok(getattr(created.data, "title", None) == title, f"[{mode}] .data parsed through the output schema", created.data)
                listed = await c.call_tool("list_todos", {"include_done": False})
                todos = (listed.structured_content or {}).get("todos", [])
                t.ok(any(x.get("title") == title for x in todos), f"[{mode}] call_tool list_todos shows the item", listed)

                try:
                    await c.call_tool("update_todo", {"id": 987654321, "done": True})
                    t.ok(False, f"[{mode}] a tool error raises ToolError")
                except ToolError as e:
                    t.ok("987654321" in str(e) and "not found" in str(e), f"[{mode}] a tool error raises ToolError with the message", e)

        await t.group(f"bearer token, mode={mode}", run(), 9)

    async def refusal() -> None:
        async with Client(a.url, auth=a.readonly_token) as c:
            res = await c.call_tool("create_todo", {"title": "nope"}, raise_on_error=False)
            t.ok(res.is_error, "todo:read token: create_todo is an error result", res)
            t.eq(res.structured_content, REFUSAL, "todo:read token: the reference's refusal message")
            try:
                await c.call_tool("create_todo", {"title": "nope"})
                t.ok(False, "todo:read token: ToolError raised by default")
            except ToolError as e:
                t.ok("`todo:write` scope required" in str(e), "todo:read token: ToolError raised by default", e)

    await t.group("in-tool scope refusal", refusal(), 3)

    async def no_token() -> None:
        rec = Recorder()
        error: BaseException | None = None
        try:
            async with Client(rec.transport(a.url)) as c:
                await c.list_tools()
        except Exception as e:  # noqa: BLE001 - checked below
            error = e
        # The Python SDK turns an HTTP error status without a JSON-RPC error body into MCPError
        # -32603 "Server returned an error response" (the status is not kept), so the 401 itself
        # is observed on the wire.
        t.ok(isinstance(error, MCPError) and error.error.code == -32603
             and error.error.message == "Server returned an error response",
             'no token: connecting fails with MCPError -32603 "Server returned an error response"', repr(error))
        prm = a.url.rsplit("/mcp", 1)[0] + "/.well-known/oauth-protected-resource/mcp"
        t.ok(rec.log and all(e["method"] == "POST" and e["url"] == a.url and e["status"] == 401
                             and e["authorization"] is None for e in rec.log),
             "no token: every request was POST /mcp without Authorization, answered 401", Recorder.brief(rec.log))
        t.ok(rec.log and all(challenge(e["www_authenticate"]).get("resource_metadata") == prm for e in rec.log),
             "no token: each 401 carries a Bearer challenge naming the PRM", [e["www_authenticate"] for e in rec.log])

    await t.group("no token", no_token(), 3)


# ---------------------------------------------------------------------------------------------
# oauth: the browser flow, headless


class HeadlessOAuth(OAuth):
    """fastmcp's OAuth with the browser replaced: follow the AS's redirects (its interaction route
    approves at once), then deliver the redirect to fastmcp's own callback server. `consent`
    narrows the scope of the next authorizations, as a user unticking boxes would. `forge_iss`
    replaces the RFC 9207 `iss` of the authorization response (a mix-up attack), to show that the
    SDK's check is on."""

    def __init__(self, *args: Any, consent: list[str] | None = None, forge_iss: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.consent = list(consent or [])
        self.forge_iss = forge_iss
        self.visits: list[dict[str, Any]] = []
        self.cookies = httpx2.Cookies()
        self._tasks: list[asyncio.Task] = []

    async def redirect_handler(self, authorization_url: str) -> None:
        url = urllib.parse.urlsplit(authorization_url)
        query = urllib.parse.parse_qs(url.query)
        visit = {"requested": query.get("scope", [None])[0], "query": query}
        if self.consent:
            query["scope"] = [self.consent.pop(0)]
        visit["sent"] = query.get("scope", [None])[0]
        self.visits.append(visit)
        current = urllib.parse.urlunsplit(url._replace(query=urllib.parse.urlencode(query, doseq=True)))
        redirect_uri = query["redirect_uri"][0]
        trail = []
        async with httpx2.AsyncClient(cookies=self.cookies, follow_redirects=False) as http:
            for _ in range(10):
                if current.startswith(redirect_uri):
                    break
                r = await http.get(current)
                trail.append(f"{r.status_code} {urllib.parse.urlsplit(current).path}")
                loc = r.headers.get("location")
                if not loc:
                    raise RuntimeError(f"authorization stopped at {current}: {r.status_code} {r.text}")
                current = urllib.parse.urljoin(current, loc)
            self.cookies.update(http.cookies)
        visit["trail"] = trail
        visit["callback"] = current
        cb = urllib.parse.urlsplit(current)
        visit["iss"] = dict(urllib.parse.parse_qsl(cb.query)).get("iss")
        if self.forge_iss is not None:
            params = [(k, self.forge_iss if k == "iss" else v) for k, v in urllib.parse.parse_qsl(cb.query)]
            current = urllib.parse.urlunsplit(cb._replace(query=urllib.parse.urlencode(params)))
        # fastmcp starts its callback server after this returns: deliver the redirect in the background.
        self._tasks.append(asyncio.create_task(self._deliver(current)))

    @staticmethod
    async def _deliver(callback: str) -> None:
        async with httpx2.AsyncClient() as http:
            for _ in range(200):
                try:
                    await http.get(callback)
                    return
                except httpx2.TransportError:
                    await asyncio.sleep(0.05)


def shape(trail: list[str]) -> str:
    out = []
    for step in trail:
        status, path = step.split(" ", 1)
        if path.startswith("/interaction/"):
            path = "/interaction/:uid"
        elif re.fullmatch(r"/auth/[^/]+", path):
            path = "/auth/:uid"
        out.append(f"{status} {path}")
    return " -> ".join(out)


async def current_token(auth: OAuth) -> str | None:
    tokens = auth.context.current_tokens
    return tokens.access_token if tokens else None


def error_chain(error: BaseException | None) -> list[str]:
    """`Type: message` of an exception, its causes and contexts, and the members of groups."""
    out: list[str] = []
    todo = [error]
    while todo and len(out) < 30:
        e = todo.pop(0)
        if e is None:
            continue
        out.append(f"{type(e).__name__}: {e}")
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        todo.extend([e.__cause__, e.__context__])
    return out


# What a step-up 403 names, by the protocol revision of the refused request: from 2026-07-28 on the
# scopes the operation needs, which the client adds to those it holds (SEP-2350); before it the
# scopes held as well, because clients of those revisions ask for exactly the challenged ones.
STEP_UP_SCOPE = {"2026-07-28": "todo:write", "2025-11-25": "todo:read todo:write"}


def step_up_exchange(t: Checks, entries: list[dict[str, Any]], mcp_url: str, what: str, version: str) -> None:
    """The wire during a call that needed a step-up: POST /mcp at protocol `version` -> 403
    insufficient_scope naming the scopes that revision's clients are told to ask for, then
    (re-authorization in between) the same call -> 200."""
    mcp = [e for e in entries if e["url"] == mcp_url]
    first = mcp[0] if mcp else {}
    ch = challenge(first.get("www_authenticate"))
    scope = STEP_UP_SCOPE[version]
    t.ok(first.get("method") == "POST" and first.get("protocol_version") == version and first.get("status") == 403
         and ch.get("error") == "insufficient_scope" and ch.get("scope") == scope,
         f"{what}: the call at {version} got HTTP 403 insufficient_scope, scope=\"{scope}\"",
         f"{Recorder.brief(entries)}\nversion: {first.get('protocol_version')}\nchallenge: {first.get('www_authenticate')}")
    t.ok(len(mcp) == 2 and mcp[-1]["status"] == 200 and mcp[-1]["authorization"] != first.get("authorization"),
         f"{what}: then retried once with a new token -> 200", Recorder.brief(entries))


async def oauth(t: Checks, a: argparse.Namespace) -> None:
    async def full() -> None:
        rec = Recorder()
        auth = HeadlessOAuth(callback_host="127.0.0.1", client_name="e2e-fastmcp", callback_timeout=30)
        async with Client(rec.transport(a.url, auth=auth)) as c:
            visit = auth.visits[0] if auth.visits else {}
            q = visit.get("query", {})
            t.ok(q.get("code_challenge_method") == ["S256"] and q.get("resource") == [a.url], "authorization request: PKCE S256 and resource", q)
            # The Python SDK adds offline_access when the AS lists it (for a refresh token).
            requested = (visit.get("requested") or "").split()
            t.eq(sorted(set(requested) - {"offline_access"}), READ_SCOPES.split(), "authorization request scope = the 401 challenge's scope (+ offline_access)")
            # The test AS's authorization endpoint is {issuer}/auth: /auth, or Scalekit-shaped
            # /resources/{res}/auth, whose responses carry that issuer.
            expected_trail = f"303 {urllib.parse.urlsplit(a.issuer).path}/auth -> 303 /interaction/:uid -> 303 /auth/:uid"
            t.eq(shape(visit.get("trail", [])), expected_trail, "redirect chain through the auto-approved interaction")
            t.ok(visit.get("callback", "").startswith("http://127.0.0.1:"), "redirect_uri on fastmcp's loopback callback server", visit.get("callback"))
            metadata = auth.context.oauth_metadata
            t.eq(metadata and str(metadata.issuer), a.issuer, "the SDK's AS metadata names the expected issuer")
            # The SDK compares `iss` with that issuer (RFC 9207) and stops on a mismatch: that the
            # flow got this far means they were equal; this says what they were.
            t.eq(visit.get("iss"), a.issuer, "RFC 9207: the authorization response's iss = the metadata issuer")
            token = await current_token(auth)
            p = jwt_payload(token) if token else {}
            t.ok(p.get("sub") == "user-1" and set(READ_SCOPES.split()) <= set(scopes_of(p)) and "todo:write" not in scopes_of(p),
                 "token: logged-in user, the requested read-only scopes", p)
            tools = await c.list_tools()
            t.eq(sorted(x.name for x in tools), DEMO_TOOLS, "list_tools after the OAuth flow")
            who = await c.call_tool("whoami", {})
            t.eq((who.structured_content or {}).get("subject"), "user-1", "whoami: subject = the logged-in user")
            # Without step-up a write is refused by the tool: the first token holds read scopes only.
            title = f"fastmcp-oauth {a.label} {time.time_ns()}"
            created = await c.call_tool("create_todo", {"title": title}, raise_on_error=False)
            t.ok(created.is_error and created.structured_content == REFUSAL,
                 "create_todo after the OAuth flow: refused by the tool (no todo:write yet)", created)

    await t.group("OAuth: discovery, DCR, PKCE, token, tools", full(), 10)

    async def forged_iss() -> None:
        rec = Recorder()
        forged = "http://127.0.0.1:9/not-the-issuer"
        auth = HeadlessOAuth(callback_host="127.0.0.1", client_name="e2e-fastmcp", callback_timeout=30, forge_iss=forged)
        error: BaseException | None = None
        try:
            async with Client(rec.transport(a.url, auth=auth)) as c:
                await c.list_tools()
        except Exception as e:  # noqa: BLE001 - checked below
            error = e
        chain = error_chain(error)
        t.ok(any(f"Authorization response iss mismatch: {forged} != {a.issuer}" in x for x in chain),
             "RFC 9207: a response whose iss is not the metadata issuer is refused (iss mismatch)", "\n".join(chain) or "no error")
        t.ok(len(auth.visits) == 1 and not any(e["method"] == "POST" and e["path"].endswith("/token") for e in rec.log),
             "RFC 9207: no code exchange after the refused response", Recorder.brief(rec.log))

    await t.group("OAuth: forged RFC 9207 iss refused by the SDK", forged_iss(), 2)

    async def step_up() -> None:
        rec = Recorder()
        auth = HeadlessOAuth(callback_host="127.0.0.1", client_name="e2e-fastmcp", callback_timeout=30, consent=["todo:read"])
        async with Client(rec.transport(a.step_up_url, auth=auth)) as c:
            first = jwt_payload(await current_token(auth) or "")
            t.eq(scopes_of(first), ["todo:read"], "step-up: the user approved only todo:read")
            listed = await c.call_tool("list_todos", {})
            t.ok(not listed.is_error, "step-up: list_todos works with the narrow token", listed)
            title = f"fastmcp-step-up {a.label} {time.time_ns()}"
            start = len(rec.log)
            created = await c.call_tool("create_todo", {"title": title}, raise_on_error=False)
            step_up_exchange(t, rec.log[start:], a.step_up_url, "step-up", "2026-07-28")
            t.eq(len(auth.visits), 2, "step-up: a second authorization after the 403")
            second = auth.visits[1] if len(auth.visits) > 1 else {}
            t.ok(second.get("requested") and {"todo:read", "todo:write"} <= set(second["requested"].split()),
                 "step-up: second authorization asks for todo:read and todo:write", second.get("requested"))
            t.eq(second.get("iss"), a.issuer, "step-up: the second authorization response's iss = the metadata issuer")
            after = jwt_payload(await current_token(auth) or "")
            t.ok({"todo:read", "todo:write"} <= set(scopes_of(after)) and after.get("sub") == first.get("sub"),
                 "step-up: new token has todo:write, same user", after)
            t.ok(not created.is_error and (created.structured_content or {}).get("title") == title,
                 "step-up: create_todo succeeds after re-authorization", created)

    await t.group("OAuth: 403 insufficient_scope step-up", step_up(), 9)


# ---------------------------------------------------------------------------------------------
# m2m: client_credentials


async def m2m(t: Checks, a: argparse.Namespace) -> None:
    async def basic() -> None:
        auth = ClientCredentialsOAuthProvider(
            client_id=a.client_id, client_secret=a.client_secret, scopes=["todo:read", "todo:write"], issuer=a.issuer,
        )
        async with Client(a.url, auth=auth) as c:
            tools = await c.list_tools()
            t.eq(sorted(x.name for x in tools), DEMO_TOOLS, "client_credentials: list_tools")
            who = (await c.call_tool("whoami", {})).structured_content or {}
            t.ok(who.get("subject") == a.client_id and {"todo:read", "todo:write"} <= set(who.get("scopes", [])),
                 "client_credentials: whoami subject = client id, scopes", who)

    await t.group("client_credentials", basic(), 2)

    async def step_up(mode: str) -> None:
        version = "2026-07-28" if mode == "auto" else "2025-11-25"
        rec = Recorder()
        auth = ClientCredentialsOAuthProvider(
            client_id=a.client_id, client_secret=a.client_secret, scopes=["todo:read"], issuer=a.issuer,
        )
        async with Client(rec.transport(a.step_up_url, auth=auth), mode=mode) as c:
            who = (await c.call_tool("whoami", {})).structured_content or {}
            t.eq(who.get("scopes"), ["todo:read"], f"[{mode}] client_credentials step-up: first token has todo:read")
            title = f"fastmcp-m2m {a.label} {mode} {time.time_ns()}"
            start = len(rec.log)
            created = await c.call_tool("create_todo", {"title": title}, raise_on_error=False)
            during = rec.log[start:]
            step_up_exchange(t, during, a.step_up_url, f"[{mode}] client_credentials step-up", version)
            tokens = [e for e in during if e["method"] == "POST" and e["path"].endswith("/token")]
            form = urllib.parse.parse_qs(tokens[0]["body"] or "") if tokens else {}
            t.ok(len(tokens) == 1 and tokens[0]["status"] == 200 and form.get("grant_type") == ["client_credentials"]
                 and {"todo:read", "todo:write"} <= set((form.get("scope") or [""])[0].split()),
                 f"[{mode}] client_credentials step-up: one new client_credentials token request for todo:read todo:write -> 200",
                 f"{Recorder.brief(during)}\n{[e['body'] for e in tokens]}")
            t.ok(not created.is_error and (created.structured_content or {}).get("title") == title,
                 f"[{mode}] client_credentials step-up: create_todo succeeds after the 403", created)
            who = (await c.call_tool("whoami", {})).structured_content or {}
            t.ok({"todo:read", "todo:write"} <= set(who.get("scopes", [])), f"[{mode}] client_credentials step-up: token now has todo:write", who)

    # Both revisions: the 403 differs (see STEP_UP_SCOPE), the token asked for next does not, because
    # this client adds the challenged scopes to those it asked for before.
    for mode in ("auto", "legacy"):
        await t.group(f"client_credentials with 403 step-up, mode={mode}", step_up(mode), 6)


# ---------------------------------------------------------------------------------------------
# keepalive: what the Python SDK's HTTP stack (httpx2/h11) does around a 401


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}}


async def keepalive(t: Checks, a: argparse.Namespace) -> None:
    """A POST /mcp without a token, then at once GET the PRM on the same pooled connection, as the
    SDK's auth flow does. h11 writes the headers and the body separately; a server that answered
    401 before the body arrived and left it unread had hyper close the connection without
    `Connection: close`, and the reused connection failed with "Server disconnected without
    sending a response" (about 1 in 100). Fixed in the server (refusals drain the body first, or
    close saying so); these checks keep it fixed."""
    await t.group("pooled connection reused right after a 401", keepalive_pooled(t, a), 2)
    await t.group("raw socket: headers, the body 100 ms later, then a second request", keepalive_raw(t, a), 2)


async def keepalive_pooled(t: Checks, a: argparse.Namespace) -> None:
    body = INITIALIZE
    prm = a.url.rsplit("/mcp", 1)[0] + "/.well-known/oauth-protected-resource/mcp"
    failures: list[str] = []
    statuses = set()
    async with httpx2.AsyncClient() as http:
        for _ in range(a.rounds):
            r = await http.post(a.url, json=body, headers={"accept": "application/json, text/event-stream"})
            statuses.add(r.status_code)
            try:
                await http.get(prm)
            except httpx2.TransportError as e:
                failures.append(f"{type(e).__name__}: {e} (401 had connection: {r.headers.get('connection')!r})")
    t.eq(statuses, {401}, "POST /mcp without a token -> 401")
    t.ok(not failures, f"httpx2: the connection stays usable after a 401 ({a.rounds} rounds)",
         f"{len(failures)}/{a.rounds} follow-up requests failed, e.g. {failures[:1]}")


async def keepalive_raw(t: Checks, a: argparse.Namespace) -> None:
    # The same race made certain: the headers, then the body 100 ms later, then a second request on
    # the same connection. A server may answer before the body (then it must either read the body
    # or say `Connection: close`) or after it; it must not close silently.
    body = INITIALIZE
    host, port = urllib.parse.urlsplit(a.url).hostname, urllib.parse.urlsplit(a.url).port
    payload = json.dumps(body).encode()
    head = (f"POST {urllib.parse.urlsplit(a.url).path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(head)
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(payload)
        await writer.drain()
        first = await asyncio.wait_for(read_response(reader), 5)
        closing = "connection: close" in first.lower()
        writer.write(f"GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        try:
            await writer.drain()
            second = await asyncio.wait_for(read_response(reader), 5)
        except (ConnectionError, asyncio.IncompleteReadError) as e:
            second = f"<{type(e).__name__}>"
        t.ok(first.startswith("HTTP/1.1 401"), "raw socket, body sent late: 401", first[:200])
        t.ok(closing or second.startswith("HTTP/1.1 200"),
             "raw socket, body sent late: the next request on the connection is answered (or the 401 said Connection: close)",
             f"401 headers: {first[:400]!r}\nsecond request got: {second[:200]!r}")
    finally:
        writer.close()


async def read_response(reader: asyncio.StreamReader) -> str:
    """One HTTP/1.1 response with a Content-Length body; '' at EOF."""
    head = await reader.readuntil(b"\r\n\r\n")
    text = head.decode("latin-1")
    length = 0
    for line in text.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length)
    return text + body.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# mrtr2026: protocol 2026-07-28's multi round-trip requests and subscriptions/listen, two callers


class Asker:
    """An elicitation handler that answers every question with `action` and records the messages."""

    def __init__(self, action: str = "accept") -> None:
        self.action = action
        self.messages: list[str] = []

    async def __call__(self, message: str, response_type: Any, params: Any, context: Any) -> ElicitResult:
        self.messages.append(message)
        return ElicitResult(action=self.action, content={} if self.action == "accept" else None)


def todo_ids(result: Any) -> list[int]:
    return [x.get("id") for x in (result.structured_content or {}).get("todos", [])]


def state_refusal(error: BaseException | None) -> bool:
    """A JSON-RPC error -32602 about the requestState (``Invalid `requestState`: ...``)."""
    return isinstance(error, MCPError) and error.error.code == -32602 and "requestState" in error.error.message


async def mrtr2026(t: Checks, a: argparse.Namespace) -> None:
    alice_asks, bob_asks = Asker(), Asker()
    async with Client(a.url, auth=a.token, elicitation_handler=alice_asks) as alice, \
            Client(a.url, auth=a.other_token, elicitation_handler=bob_asks) as bob:

        async def create(c: Client, what: str) -> int:
            title = f"fastmcp-2026 {a.label} {what} {time.time_ns()}"
            created = await c.call_tool("create_todo", {"title": title})
            return (created.structured_content or {})["id"]

        async def present(c: Client, todo: int) -> bool:
            return todo in todo_ids(await c.call_tool("list_todos", {"include_done": True}))

        async def negotiated() -> None:
            t.eq([alice.protocol_version, bob.protocol_version], ["2026-07-28", "2026-07-28"],
                 "both clients negotiated 2026-07-28")

        await t.group("protocol 2026-07-28", negotiated(), 1)

        async def accept() -> None:
            todo = await create(alice, "accept")
            t.ok(await present(alice, todo), "accept: the new todo is listed", todo)
            alice_asks.action, alice_asks.messages = "accept", []
            res = await alice.call_tool("delete_todo", {"id": todo}, raise_on_error=False)
            t.ok(not res.is_error and (res.structured_content or {}).get("deleted") == todo,
                 "accept: delete_todo completes after the confirmation (InputRequiredResult, answer, retry)", res)
            t.ok(len(alice_asks.messages) == 1 and alice_asks.messages[0].startswith(f"Delete todo {todo}, "),
                 "accept: the elicitation handler was asked once, with the confirmation message", alice_asks.messages)
            t.ok(not await present(alice, todo), "accept: list_todos no longer shows the todo")

        await t.group("MRTR: confirmation accepted", accept(), 4)

        async def refuse() -> None:
            todo = await create(alice, "refuse")
            t.ok(await present(alice, todo), "refuse: the new todo is listed", todo)
            for action in ("decline", "cancel"):
                alice_asks.action, alice_asks.messages = action, []
                res = await alice.call_tool("delete_todo", {"id": todo}, raise_on_error=False)
                text = " ".join(getattr(c, "text", "") for c in res.content)
                t.ok(res.is_error and f"todo {todo} was not deleted" in text,
                     f"{action}: delete_todo ends in a tool error saying nothing was deleted", res)
                t.eq(len(alice_asks.messages), 1, f"{action}: the elicitation handler was asked once")
                t.ok(await present(alice, todo), f"{action}: the todo is still listed")

        await t.group("MRTR: confirmation declined, cancelled", refuse(), 7)

        async def state() -> None:
            todo = await create(alice, "forged")
            answer = {"input-1": ElicitResult(action="accept")}
            error: BaseException | None = None
            try:
                res = await alice.session.call_tool("delete_todo", {"id": todo}, input_responses=answer,
                                                    request_state="forged-state-of-no-one", allow_input_required=True)
                error = RuntimeError(f"answered {res!r}")
            except Exception as e:  # noqa: BLE001 - checked below
                error = e
            t.ok(state_refusal(error), "a made-up requestState with inputResponses -> JSON-RPC error -32602 (requestState)",
                 repr(error))
            t.ok(await present(alice, todo), "the todo survived the forged retry")

            bobs = await create(bob, "replayed")
            first = await bob.session.call_tool("delete_todo", {"id": bobs}, allow_input_required=True)
            reqs = getattr(first, "input_requests", None) or {}
            t.ok(isinstance(first, InputRequiredResult) and first.request_state and len(reqs) == 1
                 and all(r.method == "elicitation/create" for r in reqs.values()),
                 "bob's delete_todo: an InputRequiredResult with one elicitation/create and a requestState", first)
            keys = list(reqs) or ["input-1"]
            answers = {k: ElicitResult(action="accept") for k in keys}
            error = None
            try:
                res = await alice.session.call_tool("delete_todo", {"id": bobs}, input_responses=answers,
                                                    request_state=first.request_state, allow_input_required=True)
                error = RuntimeError(f"answered {res!r}")
            except Exception as e:  # noqa: BLE001 - checked below
                error = e
            t.ok(state_refusal(error), "bob's requestState replayed by alice -> JSON-RPC error -32602 (requestState)",
                 repr(error))
            t.ok(await present(bob, bobs), "bob's todo survived alice's replay")
            # The same state from its own caller is good: the refusal above was about the caller.
            done = await bob.session.call_tool("delete_todo", {"id": bobs}, input_responses=answers,
                                               request_state=first.request_state, allow_input_required=True)
            t.ok(not getattr(done, "is_error", True) and (done.structured_content or {}).get("deleted") == bobs
                 and not await present(bob, bobs), "bob's own retry with that requestState deletes his todo", done)

        await t.group("MRTR: forged and replayed requestState", state(), 6)

        async def streams() -> None:
            items, hr = "todo://items", "hr://employees/1"
            async with listen(alice.session, resource_subscriptions=[items, hr]) as sa, \
                    listen(bob.session, resource_subscriptions=[items]) as sb:
                honored_a = sa.honored.resource_subscriptions or []
                t.ok(items in honored_a, "listen: alice's acknowledgment includes todo://items", sa.honored)
                t.ok(hr not in honored_a, "listen: alice (no hr:read) is not acknowledged hr://employees/1", sa.honored)
                t.ok(items in (sb.honored.resource_subscriptions or []), "listen: bob's acknowledgment includes todo://items", sb.honored)

                async def next_event(sub: Any, seconds: float) -> Any:
                    try:
                        return await asyncio.wait_for(sub.__anext__(), seconds)
                    except asyncio.TimeoutError:
                        return None

                await create(alice, "listen")
                got = await next_event(sa, 10)
                t.ok(isinstance(got, ResourceUpdated) and got.uri == items,
                     "listen: alice's create_todo -> alice's stream gets resources/updated todo://items", got)
                got = await next_event(sb, 2)
                t.ok(got is None, "listen: bob's stream hears nothing of alice's change (2 s)", got)
                await create(bob, "listen")
                got = await next_event(sb, 10)
                t.ok(isinstance(got, ResourceUpdated) and got.uri == items,
                     "listen: bob's own create_todo -> bob's stream gets resources/updated todo://items", got)

        await t.group("subscriptions/listen: updates go to the caller's streams only", streams(), 6)


# ---------------------------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bearer")
    b.add_argument("--url", required=True)
    b.add_argument("--token", required=True)
    b.add_argument("--subject", required=True)
    b.add_argument("--readonly-token", required=True)
    b.add_argument("--label", default="dev")
    o = sub.add_parser("oauth")
    o.add_argument("--url", required=True)
    o.add_argument("--step-up-url", required=True)
    o.add_argument("--label", default="generic")
    # The issuer of the AS metadata the client should find (Scalekit: {env}/resources/{res}); the
    # authorization responses' RFC 9207 `iss` must be this.
    o.add_argument("--issuer", required=True)
    m = sub.add_parser("m2m")
    m.add_argument("--url", required=True)
    m.add_argument("--step-up-url", required=True)
    m.add_argument("--issuer", required=True)
    m.add_argument("--client-id", default="test-client")
    m.add_argument("--client-secret", default="test-secret")
    m.add_argument("--label", default="generic")
    k = sub.add_parser("keepalive")
    k.add_argument("--url", required=True)
    k.add_argument("--rounds", type=int, default=300)
    k.add_argument("--label", default="dev")
    r = sub.add_parser("mrtr2026")
    r.add_argument("--url", required=True)
    r.add_argument("--token", required=True, help="todo:read todo:write for one subject (alice)")
    r.add_argument("--other-token", required=True, help="todo:read todo:write for another subject (bob)")
    r.add_argument("--label", default="dev")
    a = p.parse_args()

    import fastmcp

    peer = {"bearer": "fastmcp", "oauth": "fastmcp-oauth", "m2m": "fastmcp-m2m", "keepalive": "httpx2-keepalive",
            "mrtr2026": "fastmcp-2026"}[a.cmd]
    t = Checks(f"{peer}/{a.label}")
    print(f"# fastmcp {fastmcp.__version__}", flush=True)
    asyncio.run({"bearer": bearer, "oauth": oauth, "m2m": m2m, "keepalive": keepalive,
                 "mrtr2026": mrtr2026}[a.cmd](t, a))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
