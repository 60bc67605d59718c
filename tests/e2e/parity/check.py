"""Sends the same requests to FastMCP (ScalekitProvider) and to our demo-server,
records status, the relevant headers and bodies, and judges each pair: ours must
carry at least what FastMCP's carries, except for the deliberate differences
named below. A deliberate difference is checked on both sides: ours must behave
as documented, and FastMCP must still behave as the difference describes, else
the case is CHANGED (a failure: re-judge it). Standard library only.

    python3 check.py --as URL --fastmcp URL --ours URL --ours-step-up URL \
        --out results/observed.json --report results/REPORT.md \
        --committed-report REPORT.md [--update-report]

Prints one line per case, then one for the committed report (it must equal the
one just generated; --update-report rewrites it when every case passed), and
ends with `parity: N passed, M failed`; exits 1 when anything failed. Run by
run.sh, which starts the servers.
"""

from __future__ import annotations

import argparse
import difflib
import http.client
import json
import sys
import time
import urllib.parse
from dataclasses import dataclass, field

RESOURCE_ID = "res_test123"
REFUSAL = {"error": "Insufficient permissions: `todo:write` scope required."}
REGENERATE = "tests/e2e/parity/run.sh --update-report"
HEADERS = [
    "www-authenticate",
    "allow",
    "content-type",
    "access-control-allow-origin",
    "access-control-expose-headers",
    "access-control-allow-methods",
    "access-control-allow-headers",
]
# Request headers a browser sends without asking in a preflight (CORS-safelisted).
SAFELISTED = {"accept", "accept-language", "content-language"}
BROWSER_ORIGIN = "http://localhost:6274"  # the MCP Inspector's


# --------------------------------------------------------------------------------------
# HTTP


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: str
    json: object = None
    sse: bool = False


def request(base: str, method: str, path: str, headers=None, body=None) -> Reply:
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
    headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    skip_host = any(k.lower() == "host" for k in headers)
    conn.putrequest(method, path, skip_host=skip_host, skip_accept_encoding=True)
    for k, v in headers.items():
        conn.putheader(k, v)
    if data is not None:
        conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    resp = conn.getresponse()
    raw = resp.read().decode("utf-8", "replace")
    conn.close()
    hdrs: dict[str, str] = {}
    for k, v in resp.getheaders():
        k = k.lower()
        hdrs[k] = f"{hdrs[k]}, {v}" if k in hdrs else v
    reply = Reply(resp.status, hdrs, raw)
    ctype = hdrs.get("content-type", "")
    if ctype.startswith("text/event-stream"):
        reply.sse = True
        datas = [l[5:].strip() for l in raw.splitlines() if l.startswith("data:")]
        datas = [d for d in datas if d]
        if datas:
            reply.json = json.loads(datas[-1])
    elif raw.strip():
        try:
            reply.json = json.loads(raw)
        except ValueError:
            pass
    return reply


def wait_ready(base: str, path: str, seconds: float = 90) -> None:
    """Until `base` answers `path` with 200 (servers take a few seconds to start)."""
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        try:
            r = request(base, "GET", path)
            if r.status == 200:
                return
            last = f"HTTP {r.status}"
        except OSError as e:
            last = str(e)
        time.sleep(0.25)
    raise SystemExit(f"{base}{path} did not answer 200 within {seconds:.0f} s ({last})")


def mint(as_url: str, scope: str) -> str:
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": scope})
    u = urllib.parse.urlsplit(as_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
    conn.request(
        "POST",
        "/token",
        form,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic dGVzdC1jbGllbnQ6dGVzdC1zZWNyZXQ=",  # test-client:test-secret
        },
    )
    r = conn.getresponse()
    body = json.loads(r.read())
    if r.status != 200:
        raise SystemExit(f"token endpoint answered {r.status}: {body}")
    return body["access_token"]


def sign(as_url: str, payload: dict) -> str:
    r = request(as_url, "POST", "/__sign", body={"payload": payload})
    if r.status != 200:
        raise SystemExit(f"/__sign answered {r.status}: {r.raw}")
    return r.json["token"]


def parse_challenge(value: str | None) -> tuple[str, dict[str, str]] | None:
    """`Bearer a="x", b="y"` -> ("bearer", {a: x, b: y})."""
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " ,":
            i += 1
        eq = rest.find("=", i)
        if eq < 0:
            break
        name = rest[i:eq].strip().lower()
        i = eq + 1
        if i < n and rest[i] == '"':
            i += 1
            val = []
            while i < n and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < n:
                    i += 1
                val.append(rest[i])
                i += 1
            i += 1
            params[name] = "".join(val)
        else:
            end = rest.find(",", i)
            end = n if end < 0 else end
            params[name] = rest[i:end].strip()
            i = end
    return scheme.lower(), params


def csv_set(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


# --------------------------------------------------------------------------------------
# Cases


@dataclass
class Case:
    name: str
    what: str
    fastmcp: Reply | None = None
    ours: Reply | None = None
    verdict: str = ""
    failures: list[str] = field(default_factory=list)
    # FastMCP no longer behaves as the documented difference describes.
    changed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.failures.append(message)

    def fastmcp_as_documented(self, ok: bool, message: str) -> None:
        if not ok:
            self.changed.append(message)

    @property
    def failed(self) -> bool:
        return bool(self.failures or self.changed)

    def problems(self) -> list[str]:
        return self.failures + [f"changed: {m}; re-judge the case (and the documented difference)" for m in self.changed]


def mcp_headers(token: str | None = None, **extra) -> dict[str, str]:
    h = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
    if token:
        h["Authorization"] = f"Bearer {token}"
    h.update(extra)
    return h


def rpc(method: str, params=None, id_=1) -> dict:
    m = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        m["params"] = params
    return m


def call(name: str, arguments: dict, id_=1) -> dict:
    return rpc("tools/call", {"name": name, "arguments": arguments}, id_)


def result_of(r: Reply) -> dict:
    return (r.json or {}).get("result") or {} if isinstance(r.json, dict) else {}


def text_json(result: dict):
    for c in result.get("content") or []:
        if c.get("type") == "text":
            try:
                return json.loads(c["text"])
            except ValueError:
                return c["text"]
    return None


# A `tools/list` request that FastMCP accepted: 200 and a list of tools.
ACCEPTED = (lambda r: isinstance(result_of(r).get("tools"), list), "an accepted request (a tools/list result)")


class Run:
    def __init__(self, args):
        self.as_url = args.as_url.rstrip("/")
        self.fastmcp = args.fastmcp.rstrip("/")
        self.ours = args.ours.rstrip("/")
        self.step_up = args.ours_step_up.rstrip("/")
        self.cases: list[Case] = []
        self.read = mint(self.as_url, "todo:read")
        self.write = mint(self.as_url, "todo:read todo:write")
        now = int(time.time())
        base = {"iss": self.as_url, "aud": RESOURCE_ID, "sub": "parity-user",
                "client_id": "test-client", "scope": "todo:read todo:write", "iat": now}
        self.no_exp = sign(self.as_url, base)
        self.expired = sign(self.as_url, {**base, "iat": now - 3600, "exp": now - 1800})
        self.wrong_aud = sign(self.as_url, {**base, "exp": now + 300, "aud": "res_other"})

    def norm(self, value):
        """Each server's origin -> {server}, the AS's -> {as}: comparable across ports."""
        if isinstance(value, str):
            for base in (self.fastmcp, self.ours, self.step_up):
                value = value.replace(base, "{server}")
            return value.replace(self.as_url, "{as}")
        if isinstance(value, list):
            return [self.norm(v) for v in value]
        if isinstance(value, dict):
            return {k: self.norm(v) for k, v in value.items()}
        return value

    def both(self, case: Case, method: str, path: str, headers=None, body=None, ours_base=None):
        case.fastmcp = request(self.fastmcp, method, path, headers, body)
        case.ours = request(ours_base or self.ours, method, path, headers, body)
        self.cases.append(case)
        return case.fastmcp, case.ours

    # ---- shared assertions

    def same_status(self, c: Case):
        c.check(c.fastmcp.status == c.ours.status,
                f"status: FastMCP {c.fastmcp.status}, ours {c.ours.status}")

    def challenge_superset(self, c: Case):
        f = parse_challenge(c.fastmcp.headers.get("www-authenticate"))
        o = parse_challenge(c.ours.headers.get("www-authenticate"))
        if f is None:
            return
        c.check(o is not None, "FastMCP sends WWW-Authenticate, ours does not")
        if o is None:
            return
        c.check(f[0] == o[0], f"challenge scheme: FastMCP {f[0]}, ours {o[0]}")
        missing = set(f[1]) - set(o[1])
        c.check(not missing, f"challenge params missing from ours: {sorted(missing)}")
        for k in ("error", "resource_metadata", "scope"):
            if k in f[1] and k in o[1]:
                c.check(self.norm(f[1][k]) == self.norm(o[1][k]),
                        f"challenge {k}: FastMCP {f[1][k]!r}, ours {o[1][k]!r}")
        extra = sorted(set(o[1]) - set(f[1]))
        if extra:
            c.notes.append(f"ours adds challenge params {extra}")

    def json_body_superset(self, c: Case):
        f, o = c.fastmcp.json, c.ours.json
        if not isinstance(f, dict):
            if c.fastmcp.raw.strip() == "" and c.ours.raw.strip():
                c.notes.append("FastMCP's body is empty; ours is JSON")
            return
        c.check(isinstance(o, dict), "FastMCP's body is a JSON object, ours is not")
        if isinstance(o, dict):
            missing = set(f) - set(o)
            c.check(not missing, f"body keys missing from ours: {sorted(missing)}")
            if "error" in f and "error" in o:
                c.check(f["error"] == o["error"], f"body error: {f['error']!r} vs {o['error']!r}")

    def cors_superset(self, c: Case):
        fh, oh = c.fastmcp.headers, c.ours.headers
        if "access-control-allow-origin" in fh:
            c.check("access-control-allow-origin" in oh, "FastMCP allows the origin, ours does not")
        missing = csv_set(fh.get("access-control-allow-methods")) - csv_set(oh.get("access-control-allow-methods"))
        c.check(not missing, f"CORS methods missing from ours: {sorted(missing)}")
        missing = (csv_set(fh.get("access-control-allow-headers"))
                   - csv_set(oh.get("access-control-allow-headers")) - SAFELISTED)
        c.check(not missing, f"CORS request headers missing from ours: {sorted(missing)}")
        missing = csv_set(fh.get("access-control-expose-headers")) - csv_set(oh.get("access-control-expose-headers"))
        c.check(not missing, f"CORS exposed headers missing from ours: {sorted(missing)}")

    def deliberate(self, c: Case, expect_fastmcp: int, expect_ours: int, why: str, fastmcp_shape=None):
        """A documented difference: both sides must still behave as documented. Ours is checked
        (a failure); so is FastMCP's status and, given `fastmcp_shape` = (predicate, description),
        its reply: when FastMCP no longer does what the difference describes, the case is CHANGED."""
        c.check(c.ours.status == expect_ours, f"ours: expected {expect_ours}, got {c.ours.status}")
        c.fastmcp_as_documented(c.fastmcp.status == expect_fastmcp,
                                f"FastMCP answers {c.fastmcp.status}, the documented difference says {expect_fastmcp}")
        if fastmcp_shape is not None and c.fastmcp.status == expect_fastmcp:
            predicate, description = fastmcp_shape
            c.fastmcp_as_documented(bool(predicate(c.fastmcp)), f"FastMCP's {c.fastmcp.status} is no longer {description}")
        c.verdict = "deliberate"
        c.notes.insert(0, why)

    # ---- the cases

    def run(self):
        P = "/.well-known/oauth-protected-resource"

        c = Case("no-token", "POST /mcp tools/list, no Authorization")
        self.both(c, "POST", "/mcp", mcp_headers(), rpc("tools/list"))
        self.same_status(c)
        c.check(c.ours.status == 401, "ours must answer 401")
        self.challenge_superset(c)
        self.json_body_superset(c)

        for name, what, token in [
            ("bad-token", "POST /mcp, `Bearer not-a-jwt`", "not-a-jwt"),
            ("expired-token", "POST /mcp, token expired 30 min ago", self.expired),
            ("wrong-audience", "POST /mcp, token for `res_other`", self.wrong_aud),
        ]:
            c = Case(name, what)
            self.both(c, "POST", "/mcp", mcp_headers(token), rpc("tools/list"))
            self.same_status(c)
            c.check(c.ours.status == 401, "ours must answer 401")
            self.challenge_superset(c)
            self.json_body_superset(c)

        c = Case("prm", f"GET {P}/mcp")
        f, o = self.both(c, "GET", f"{P}/mcp")
        self.same_status(c)
        c.check(o.headers.get("content-type", "").startswith("application/json"), "ours: not JSON")
        if isinstance(f.json, dict) and isinstance(o.json, dict):
            missing = set(f.json) - set(o.json)
            c.check(not missing, f"PRM keys missing from ours: {sorted(missing)}")
            for k, v in f.json.items():
                if k not in o.json:
                    continue
                if k == "scopes_supported":
                    lost = set(v) - set(o.json[k])
                    c.check(not lost, f"scopes_supported missing {sorted(lost)}")
                else:
                    c.check(self.norm(v) == self.norm(o.json[k]),
                            f"PRM {k}: FastMCP {self.norm(v)!r}, ours {self.norm(o.json[k])!r}")
            extra = sorted(set(o.json) - set(f.json))
            if extra:
                c.notes.append(f"ours adds {extra}")
            if f.json.get("scopes_supported") == [] and o.json.get("scopes_supported"):
                c.notes.append("FastMCP's scopes_supported is empty unless written by hand; ours lists the tools' scopes")
        else:
            c.check(False, "a PRM document is not JSON")

        c = Case("prm-cors", f"GET {P}/mcp with `Origin: {BROWSER_ORIGIN}`")
        self.both(c, "GET", f"{P}/mcp", {"Origin": BROWSER_ORIGIN})
        self.same_status(c)
        self.cors_superset(c)

        c = Case("prm-preflight", f"OPTIONS {P}/mcp (CORS preflight)")
        self.both(c, "OPTIONS", f"{P}/mcp", {
            "Origin": BROWSER_ORIGIN, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "mcp-protocol-version"})
        c.check(200 <= c.ours.status < 300, f"ours: preflight answered {c.ours.status}")
        if 200 <= c.fastmcp.status < 300:
            self.cors_superset(c)

        c = Case("prm-root", f"GET {P} (root, no path)")
        self.both(c, "GET", P)
        self.deliberate(c, 404, 200, "root PRM document: ours serves it too (clients that try the root first)",
                        (lambda r: not isinstance(r.json, dict) or "resource" not in r.json, "without a PRM document"))
        if c.fastmcp.status == 200 and c.ours.status == 200:
            c.check(self.norm(c.fastmcp.json) == self.norm(c.ours.json), "root PRM documents differ")

        c = Case("as-metadata", "GET /.well-known/oauth-authorization-server (forwarded from the AS)")
        self.both(c, "GET", "/.well-known/oauth-authorization-server")
        self.same_status(c)
        c.check(self.norm(c.fastmcp.json) == self.norm(c.ours.json), "forwarded documents differ")

        c = Case("initialize", "POST /mcp initialize, valid token")
        self.both(c, "POST", "/mcp", mcp_headers(self.write), rpc("initialize", {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "parity", "version": "1"}}))
        self.same_status(c)
        fr, orr = result_of(c.fastmcp), result_of(c.ours)
        c.check(fr.get("protocolVersion") == orr.get("protocolVersion"),
                f"protocolVersion: {fr.get('protocolVersion')} vs {orr.get('protocolVersion')}")
        c.check("tools" in (orr.get("capabilities") or {}), "ours does not advertise tools")
        gap = sorted(set(fr.get("capabilities") or {}) - set(orr.get("capabilities") or {}))
        if gap:
            c.verdict = "gap"
            c.notes.append(f"FastMCP also advertises {gap}; the demo advertises {sorted(orr.get('capabilities') or {})}")

        c = Case("tools-list", "POST /mcp tools/list, valid token")
        self.both(c, "POST", "/mcp", mcp_headers(self.read), rpc("tools/list"))
        self.same_status(c)
        ft = {t["name"]: t for t in result_of(c.fastmcp).get("tools", [])}
        ot = {t["name"]: t for t in result_of(c.ours).get("tools", [])}
        c.check(set(ft) <= set(ot), f"tools missing from ours: {sorted(set(ft) - set(ot))}")
        for n in set(ft) & set(ot):
            fs, os_ = ft[n]["inputSchema"], ot[n]["inputSchema"]
            c.check(set(fs.get("properties", {})) == set(os_.get("properties", {})),
                    f"{n}: properties differ")
            c.check(set(fs.get("required", [])) == set(os_.get("required", [])), f"{n}: required differ")
        c.notes.append(f"FastMCP lists {len(ft)} tools (the two mirrored), ours {len(ot)}")

        c = Case("refused-scope", "tools/call create_todo with a `todo:read` token")
        self.both(c, "POST", "/mcp", mcp_headers(self.read), call("create_todo", {"title": "Buy milk"}))
        self.same_status(c)
        fr, orr = result_of(c.fastmcp), result_of(c.ours)
        c.check(fr.get("structuredContent") == REFUSAL, f"FastMCP refusal: {fr.get('structuredContent')}")
        c.check(orr.get("structuredContent") == fr.get("structuredContent"),
                f"structuredContent: FastMCP {fr.get('structuredContent')}, ours {orr.get('structuredContent')}")
        c.check(text_json(orr) == text_json(fr), "the text content differs")
        c.check(orr.get("isError") is True, "ours: isError should be true")
        c.fastmcp_as_documented(fr.get("isError") is False,
                                f"FastMCP's refusal has isError {fr.get('isError')!r}, the documented difference says false")
        c.verdict = "deliberate"
        c.notes.append("same refusal JSON; ours sets isError: true (FastMCP's dict return is a success)")

        c = Case("allowed-call", "tools/call create_todo with `todo:read todo:write`")
        self.both(c, "POST", "/mcp", mcp_headers(self.write), call("create_todo", {"title": "Buy milk"}))
        self.same_status(c)
        fr, orr = result_of(c.fastmcp), result_of(c.ours)
        c.check(orr.get("isError") is False and fr.get("isError") is False, "isError should be false on both")
        fs, os_ = fr.get("structuredContent") or {}, orr.get("structuredContent") or {}
        c.check(set(fs) <= set(os_), f"result keys missing from ours: {sorted(set(fs) - set(os_))}")
        c.check(fs.get("title") == os_.get("title") == "Buy milk", "title not echoed")
        c.check(text_json(orr) == os_, "ours: text content is not the structured content")

        c = Case("allowed-read", "tools/call list_todos with `todo:read`")
        self.both(c, "POST", "/mcp", mcp_headers(self.read), call("list_todos", {}))
        self.same_status(c)
        fs, os_ = result_of(c.fastmcp).get("structuredContent"), result_of(c.ours).get("structuredContent")
        c.check(isinstance(os_, dict) and isinstance(os_.get("todos"), list), f"ours: {os_}")
        c.check(isinstance(fs, dict) and set(fs) <= set(os_ or {}), "result keys differ")

        c = Case("mcp-preflight", "OPTIONS /mcp (CORS preflight from a browser client)")
        self.both(c, "OPTIONS", "/mcp", {
            "Origin": BROWSER_ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,mcp-protocol-version"})
        self.deliberate(c, 405, 200, "CORS on /mcp: ours answers the preflight (browser clients such as the MCP Inspector)",
                        (lambda r: "access-control-allow-origin" not in r.headers, "a refusal without CORS headers"))
        c.check(c.ours.headers.get("access-control-allow-origin") == BROWSER_ORIGIN, "ours: no allow-origin")
        c.check({"authorization", "mcp-protocol-version"} <= csv_set(c.ours.headers.get("access-control-allow-headers")),
                "ours: preflight does not allow authorization/mcp-protocol-version")

        c = Case("mcp-401-cors", f"POST /mcp, no token, `Origin: {BROWSER_ORIGIN}`")
        self.both(c, "POST", "/mcp", mcp_headers(Origin=BROWSER_ORIGIN), rpc("tools/list"))
        self.same_status(c)
        self.challenge_superset(c)
        self.cors_superset(c)
        c.check("www-authenticate" in csv_set(c.ours.headers.get("access-control-expose-headers")),
                "ours: WWW-Authenticate not exposed to browsers")
        if "access-control-allow-origin" not in c.fastmcp.headers:
            c.notes.append("only ours lets a browser read the challenge (allow-origin + expose WWW-Authenticate)")

        c = Case("token-without-exp", "POST /mcp tools/list, token signed without `exp`")
        self.both(c, "POST", "/mcp", mcp_headers(self.no_exp), rpc("tools/list"))
        self.deliberate(c, 200, 401, "token without exp: ours refuses it (FastMCP accepts a token that never expires)",
                        ACCEPTED)
        if c.fastmcp.status == c.ours.status == 401:
            self.challenge_superset(c)

        c = Case("foreign-origin", "POST /mcp, valid token, `Origin: http://evil.example.com`")
        self.both(c, "POST", "/mcp", mcp_headers(self.read, Origin="http://evil.example.com"), rpc("tools/list"))
        self.deliberate(c, 200, 403, "a present Origin that is not allowed gets 403 (DNS-rebinding protection, spec MUST)",
                        ACCEPTED)

        c = Case("foreign-host", "POST /mcp, valid token, `Host: evil.example.com`")
        self.both(c, "POST", "/mcp", mcp_headers(self.read, Host="evil.example.com"), rpc("tools/list"))
        self.deliberate(c, 200, 403, "a Host outside the allow-list gets 403 (DNS rebinding)", ACCEPTED)

        c = Case("get-mcp", "GET /mcp (no standalone SSE stream when stateless)")
        self.both(c, "GET", "/mcp", {"Accept": "text/event-stream", "Authorization": f"Bearer {self.read}"})
        self.same_status(c)

        c = Case("step-up", "tools/call create_todo with `todo:read`; ours in step-up mode (MCP_STEP_UP=true)")
        self.both(c, "POST", "/mcp", mcp_headers(self.read), call("create_todo", {"title": "Buy milk"}),
                  ours_base=self.step_up)
        ch = parse_challenge(c.ours.headers.get("www-authenticate"))
        c.check(c.ours.status == 403, f"ours (step-up): expected 403, got {c.ours.status}")
        c.check(ch is not None and ch[1].get("error") == "insufficient_scope", "ours: no insufficient_scope challenge")
        c.check(ch is not None and set((ch[1].get("scope") or "").split()) == {"todo:read", "todo:write"},
                "ours: the challenge should name the scopes held plus those required")
        c.check(ch is not None and "resource_metadata" in ch[1], "ours: no resource_metadata in the 403 challenge")
        fr = result_of(c.fastmcp)
        c.fastmcp_as_documented(c.fastmcp.status == 200, f"FastMCP answers {c.fastmcp.status}, the documented difference says 200")
        c.fastmcp_as_documented("www-authenticate" not in c.fastmcp.headers,
                                f"FastMCP sends a challenge: {c.fastmcp.headers.get('www-authenticate')}")
        c.fastmcp_as_documented(fr.get("structuredContent") == REFUSAL and fr.get("isError") is False,
                                f"FastMCP's answer is not the in-result refusal: {fr}")
        c.verdict = "deliberate"
        c.notes.append("403 step-up is opt-in (off by default); FastMCP has no such mode and answers the in-result refusal")

        for c in self.cases:
            if c.failures:
                c.verdict = "FAIL"
            elif c.changed:
                c.verdict = "CHANGED"
            elif not c.verdict:
                extra = any(n.startswith(("ours adds", "only ours", "FastMCP's")) for n in c.notes)
                c.verdict = "ours ⊇ FastMCP" if extra else "same"

    # ---- output

    def summary(self, r: Reply) -> str:
        bits = [str(r.status)]
        ch = parse_challenge(r.headers.get("www-authenticate"))
        if ch:
            bits.append("challenge: " + ", ".join(
                f'{k}="{v}"' if k in ("error",) else k for k, v in ch[1].items()))
        ctype = r.headers.get("content-type", "").split(";")[0]
        if r.status != 405 or ctype:
            bits.append(ctype or "no content-type")
        if "access-control-allow-origin" in r.headers:
            bits.append(f"ACAO `{r.headers['access-control-allow-origin']}`")
        res = result_of(r)
        if "isError" in res:
            bits.append(f"isError {str(res['isError']).lower()}")
        if not r.raw.strip() and r.status not in (200, 204) and r.status != 405:
            bits.append("empty body")
        return "; ".join(bits)

    def observed(self) -> list[dict]:
        out = []
        for c in self.cases:
            item = {"case": c.name, "request": c.what, "verdict": c.verdict,
                    "failures": c.failures, "changed": c.changed, "notes": c.notes}
            for side, r in (("fastmcp", c.fastmcp), ("ours", c.ours)):
                item[side] = {
                    "status": r.status,
                    "headers": {k: self.norm(r.headers[k]) for k in HEADERS if k in r.headers},
                    "body": self.norm(r.json) if r.json is not None else self.norm(r.raw),
                    "sse": r.sse,
                }
            out.append(item)
        return out

    def report(self, fastmcp_version: str) -> str:
        obs = {o["case"]: o for o in self.observed()}
        L = []
        L.append("# Wire parity: FastMCP + ScalekitProvider vs our demo-server\n")
        L.append("Generated by `tests/e2e/parity/run.sh` (`check.py`) from the responses it observed. "
                 "Both servers run at the same time on loopback, each "
                 "at `http://127.0.0.1:PORT/` with the endpoint at `/mcp`, configured with the same "
                 "`SCALEKIT_*` values and pointed at the same test authorization server "
                 "(`tests/e2e/as`, Scalekit-shaped: JWKS at `/keys`, audience `res_test123`). "
                 f"FastMCP {fastmcp_version} runs `parity/fastmcp_server.py`: the demo's `list_todos` and "
                 "`create_todo`, written as the reference writes them (`_require_scope` inside each tool, "
                 "`stateless_http=True`). Ours is `demo-server` with its default settings; `step-up` uses a "
                 "second instance with `MCP_STEP_UP=true`. Origins are written `{server}` and `{as}`.\n")
        L.append("Verdicts: **same**; **ours ⊇ FastMCP** (ours carries everything FastMCP's does, and "
                 "more); **deliberate** (a documented difference, checked on both sides: ours behaves as "
                 "documented and FastMCP as the difference describes); **gap** (something FastMCP has that "
                 "we do not); **CHANGED** (FastMCP no longer behaves as a documented difference describes: "
                 "re-judge the case); **FAIL**.\n")
        L.append(f"The run fails when this committed file differs from the one it generates; regenerate it "
                 f"with `{REGENERATE}`.\n")
        L.append("| case | request | FastMCP | ours | verdict |")
        L.append("|---|---|---|---|---|")
        for c in self.cases:
            L.append(f"| `{c.name}` | {c.what} | {self.summary(c.fastmcp)} | {self.summary(c.ours)} | "
                     f"**{c.verdict}** |")
        L.append("")
        L.append("## Notes per case\n")
        for c in self.cases:
            lines = c.notes + [f"**failure:** {m}" for m in c.problems()]
            if lines:
                L.append(f"- `{c.name}`: " + "; ".join(lines))
        L.append("")
        L.append("## Deliberate differences\n")
        L.append("- **403 step-up mode, off by default.** With `MCP_STEP_UP=true` a `tools/call` whose token "
                 "lacks the tool's scope gets HTTP 403 `Bearer error=\"insufficient_scope\"` naming the scopes "
                 "held plus those required, so an OAuth client can re-authorize. By default, like FastMCP, the "
                 "refusal is the tool's result.")
        L.append("- **The refusal is a tool error.** Same JSON as the reference's `_require_scope` "
                 "(`{\"error\": \"Insufficient permissions: `todo:write` scope required.\"}`, as structured "
                 "content and as text), but with `isError: true`, so clients and models see a failed call.")
        L.append("- **Root PRM document.** `/.well-known/oauth-protected-resource` answers as well as the "
                 "path-inserted `/.well-known/oauth-protected-resource/mcp`; `scopes_supported` is derived from "
                 "the tools (FastMCP's is empty unless listed by hand) and `resource_name` is added.")
        L.append("- **Token without `exp` refused.** FastMCP accepts a token that never expires.")
        L.append("- **CORS on `/mcp`.** Preflights are answered for allowed origins (loopback and the "
                 "server's own by default) and `WWW-Authenticate`, `Mcp-Session-Id` and "
                 "`Mcp-Protocol-Version` are exposed, so browser clients can read a challenge.")
        L.append("- **Origin and Host checks.** A present Origin or a Host that is not allowed gets 403 "
                 "(DNS-rebinding protection).")
        L.append("- **The 401 challenge names scopes** (`scope=\"…\"`: the demo's challenge scopes, its "
                 "read-only ones, which MCP clients ask for first; more come by step-up) and the no-token "
                 "401 has a JSON body; FastMCP's has an empty body.")
        L.append("- **Response framing.** FastMCP answers `tools/call` as an SSE stream; ours as one JSON "
                 "body (SSE only when the tool sends notifications). The client's `Accept` allows both.")
        L.append("")
        L.append("## Observed challenges and documents\n")
        for name in ("no-token", "bad-token", "step-up"):
            o = obs.get(name)
            if not o:
                continue
            for side in ("fastmcp", "ours"):
                wa = o[side]["headers"].get("www-authenticate")
                if wa:
                    L.append(f"- `{name}`, {'FastMCP' if side == 'fastmcp' else 'ours'}: `{wa}`")
        for side in ("fastmcp", "ours"):
            L.append(f"- PRM, {'FastMCP' if side == 'fastmcp' else 'ours'}: "
                     f"`{json.dumps(obs['prm'][side]['body'], separators=(',', ':'))}`")
        L.append("")
        return "\n".join(L)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--as", dest="as_url", required=True)
    p.add_argument("--fastmcp", required=True)
    p.add_argument("--ours", required=True)
    p.add_argument("--ours-step-up", required=True)
    p.add_argument("--fastmcp-version", default="?")
    p.add_argument("--out")
    p.add_argument("--report")
    p.add_argument("--committed-report", help="the committed REPORT.md, which must equal the generated one")
    p.add_argument("--update-report", action="store_true", help="rewrite --committed-report when every case passed")
    args = p.parse_args()
    wait_ready(args.as_url, "/keys")
    for base in (args.fastmcp, args.ours, args.ours_step_up):
        wait_ready(base, "/.well-known/oauth-protected-resource/mcp")
    run = Run(args)
    run.run()
    if args.out:
        with open(args.out, "w") as f:
            json.dump(run.observed(), f, indent=2, ensure_ascii=False)
    report = run.report(args.fastmcp_version)
    if args.report:
        with open(args.report, "w") as f:
            f.write(report)
    passed = failed = 0
    for c in run.cases:
        mark = "FAIL" if c.failed else "ok  "
        print(f"  {mark} {c.name:<18} {c.verdict}" + "".join(f"\n         - {m}" for m in c.problems()))
        if c.failed:
            failed += 1
        else:
            passed += 1
    if args.committed_report:
        ok, lines = check_committed_report(args.committed_report, report, args.update_report, cases_failed=failed > 0)
        print(f"  {'ok  ' if ok else 'FAIL'} {'REPORT.md':<18} " + "\n".join(lines))
        passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
    print(f"parity: {passed} passed, {failed} failed")
    return 1 if failed else 0


def check_committed_report(path: str, generated: str, update: bool, cases_failed: bool) -> tuple[bool, list[str]]:
    """The committed report must say what this run observed."""
    try:
        with open(path) as f:
            committed = f.read()
    except FileNotFoundError:
        committed = ""
    if committed == generated:
        return True, ["current (equals the generated report)"]
    if update and not cases_failed:
        with open(path, "w") as f:
            f.write(generated)
        return True, ["updated from this run (--update-report)"]
    diff = list(difflib.unified_diff(committed.splitlines(), generated.splitlines(),
                                     "REPORT.md (committed)", "REPORT.md (generated by this run)", n=0, lineterm=""))
    shown = diff[:80] + ([f"... {len(diff) - 80} more diff lines"] if len(diff) > 80 else [])
    why = ("not updated: some cases failed; fix them first" if update
           else f"stale: it differs from what this run observed; regenerate it with `{REGENERATE}`")
    return False, [why] + [f"           {line}" for line in shown]


if __name__ == "__main__":
    sys.exit(main())
