// Smoke test of the test AS, and the reference for driving it headlessly:
//   node smoke.mjs          (stops and exits 1 at the first failure)
//
// Prints `ok - as-smoke: …` per check (`not ok` and the details for the one that failed), the
// rest as `# ` notes, and ends with `as-smoke: N passed, M failed`; the e2e clients suite
// (tests/e2e/clients/run.sh) runs it as its `as-smoke` peer.
//
// - client_credentials tokens in both modes: header and claims printed and checked, signature
//   verified against the JWKS (`/jwks` generic, `/keys` scalekit);
// - Scalekit's per-resource AS metadata, and RFC 9207 `iss` in authorization responses = the
//   issuer of the metadata whose authorization endpoint was used (per-resource or root);
// - open DCR (a `scope` in the request is dropped) + PKCE authorization code, with a scripted
//   client that follows the redirects itself and carries cookies by hand; then a step-up to a
//   scope the client never registered; then the same flow without cookies; refresh token;
// - static extra clients (a second subject), key files (same key on restart, new key = rotation),
//   short TTL, token shape options, /__sign.

import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'test-as-smoke-'));
const children = new Set();
const MCP = 'http://127.0.0.1:3002/mcp';
const REDIRECT = 'http://127.0.0.1:7777/callback';

const PEER = 'as-smoke';
let passed = 0;
let failed = 0;

class CheckFailed extends Error {}

function check(cond, what, detail) {
  if (cond) {
    passed += 1;
    console.log(`ok - ${PEER}: ${what}`);
    return;
  }
  failed += 1;
  console.log(`not ok - ${PEER}: ${what}${detail === undefined ? '' : `\n     got: ${JSON.stringify(detail)}`}`);
  throw new CheckFailed(what);
}

/** Informational output, as `# ` lines. */
function note(text) {
  console.log(String(text).split('\n').map((l) => `# ${l}`).join('\n'));
}

// ---------------------------------------------------------------------------------------------
// Helpers

async function startAs(env = {}) {
  const child = spawn(process.execPath, [path.join(here, 'server.mjs')], {
    env: { ...process.env, AS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const line = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`AS not ready in 20 s:\n${stderr}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) { clearTimeout(timer); resolve(out.slice(0, nl)); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`AS exited ${code}:\n${stderr}`)); });
  });
  const info = JSON.parse(line);
  check(info.ready === true && info.port > 0, 'ready line', info);
  return { ...info, child, stderr: () => stderr };
}

async function stopAs(as) {
  const exited = new Promise((resolve) => as.child.once('exit', (code, sig) => resolve({ code, sig })));
  as.child.kill('SIGTERM');
  const { code } = await exited;
  children.delete(as.child);
  check(code === 0, 'AS exits 0 on SIGTERM', code);
}

function decode(jwt) {
  const [h, p] = jwt.split('.');
  const part = (s) => JSON.parse(Buffer.from(s, 'base64url').toString());
  return { header: part(h), payload: part(p) };
}

async function verifySignature(jwt, jwksUri) {
  const { keys } = await (await fetch(jwksUri)).json();
  const { header } = decode(jwt);
  const jwk = keys.find((k) => k.kid === header.kid);
  check(jwk && !jwk.d, `JWKS at ${jwksUri} has public key ${header.kid}`, keys);
  const [h, p, s] = jwt.split('.');
  const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`),
    crypto.createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s, 'base64url'));
  check(ok, 'RS256 signature verifies against the JWKS');
}

async function token(as, form, { id = 'test-client', secret = 'test-secret' } = {}) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (secret !== null) headers.authorization = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const res = await fetch(as.token_endpoint, { method: 'POST', headers, body: new URLSearchParams(form) });
  return { status: res.status, body: await res.json() };
}

async function clientCredentials(as, scope, extra = {}, client = undefined) {
  const res = await token(as, { grant_type: 'client_credentials', scope, ...extra }, client);
  check(res.status === 200, `client_credentials ${scope}`, res);
  return res.body;
}

// A minimal cookie jar honouring Path and deletion, which is all oidc-provider needs.
class Jar {
  cookies = new Map(); // name -> { value, path }

  store(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';').map((s) => s.trim());
      const [name, value] = pair.split(/=(.*)/s);
      const attr = Object.fromEntries(attrs.map((a) => {
        const [k, v = ''] = a.split(/=(.*)/s);
        return [k.toLowerCase(), v];
      }));
      const expired = (attr.expires && Date.parse(attr.expires) <= Date.now()) || attr['max-age'] === '0';
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, { value, path: attr.path || '/' });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    return [...this.cookies]
      .filter(([, c]) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map(([n, c]) => `${n}=${c.value}`).join('; ');
  }
}

// Authorization request -> follow redirects (interaction auto-approves) -> code at redirect_uri.
async function authorize(as, params, jar, endpoint = as.authorization_endpoint) {
  let url = `${endpoint}?${new URLSearchParams(params)}`;
  const trail = [];
  for (let hop = 0; hop < 10; hop += 1) {
    if (url.startsWith(params.redirect_uri)) return { callback: new URL(url), trail };
    const headers = {};
    const cookie = jar?.header(url);
    if (cookie) headers.cookie = cookie;
    const res = await fetch(url, { redirect: 'manual', headers });
    jar?.store(res);
    const loc = res.headers.get('location');
    trail.push(`${res.status} ${new URL(url).pathname}${cookie ? ` [cookies: ${cookie.replace(/=[^;]+/g, '')}]` : ''}`);
    if (!loc) throw new Error(`no redirect from ${url}: ${res.status} ${await res.text()}`);
    url = new URL(loc, url).href;
  }
  throw new Error(`too many redirects: ${trail.join(' -> ')}`);
}

function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

async function register(as, metadata) {
  const res = await fetch(as.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
  const body = await res.json();
  check(res.status === 201, 'DCR answers 201', body);
  return body;
}

// The whole public-client flow; returns the token response.
async function codeFlow(as, { clientId, scope, resource, jar, extra = {}, endpoint = as.authorization_endpoint }) {
  const { verifier, challenge } = pkce();
  const state = crypto.randomBytes(8).toString('hex');
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    ...(resource ? { resource } : {}),
    ...extra,
  };
  const { callback, trail } = await authorize(as, params, jar, endpoint);
  check(callback.searchParams.get('state') === state, 'state round-trips', callback.href);
  const code = callback.searchParams.get('code');
  check(code, 'redirect_uri gets ?code=', callback.href);
  const res = await token(as, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
    client_id: clientId,
    ...(resource ? { resource } : {}),
  }, { secret: null });
  check(res.status === 200, 'code exchange', res);
  return { ...res.body, trail, callback };
}

function show(label, jwt) {
  const { header, payload } = decode(jwt);
  note(`${label}\n  header:  ${JSON.stringify(header)}\n  payload: ${JSON.stringify(payload)}`);
}

function hasScopes(payload, scopes) {
  const have = new Set((payload.scope ?? '').split(' '));
  return scopes.every((s) => have.has(s));
}

// ---------------------------------------------------------------------------------------------
// Generic mode

async function generic() {
  const extraClients = [{ client_id: 'second-client', client_secret: 'second-secret', scope: 'todo:read' }];
  const as = await startAs({ AS_MODE: 'generic', AS_CLIENTS: JSON.stringify(extraClients) });
  note(`generic AS: ${as.issuer}`);

  const health = await fetch(`${as.issuer}/__health`);
  check(health.status === 200, 'GET /__health 200');

  const cc = await clientCredentials(as, 'todo:read todo:write', { resource: MCP });
  show('generic client_credentials token', cc.access_token);
  const { header, payload } = decode(cc.access_token);
  check(header.alg === 'RS256' && header.typ === 'at+jwt' && header.kid === as.kid, 'generic header', header);
  check(payload.iss === as.issuer, 'iss = issuer', payload);
  check(payload.aud === MCP, 'aud = resource', payload);
  check(payload.scope === 'todo:read todo:write', 'scope space-delimited', payload);
  check(payload.sub === 'test-client' && payload.client_id === 'test-client', 'sub/client_id', payload);
  check(payload.exp - payload.iat === 300 && cc.expires_in === 300, 'default TTL 300 s', payload);
  check(typeof payload.jti === 'string', 'jti', payload);
  await verifySignature(cc.access_token, as.jwks_uri);
  check(as.jwks_uri === `${as.issuer}/jwks`, 'generic jwks_uri', as.jwks_uri);

  // No resource parameter: AS_RESOURCE is the default; any other absolute URL is its own audience.
  check(decode((await clientCredentials(as, 'hr:read')).access_token).payload.aud === MCP, 'default resource');
  const other = decode((await clientCredentials(as, 'hr:read', { resource: 'http://127.0.0.1:4444/mcp' })).access_token);
  check(other.payload.aud === 'http://127.0.0.1:4444/mcp', 'audience follows the resource indicator', other.payload);

  // A second static client = a second subject, capped to its registered scope.
  const second = await clientCredentials(as, 'todo:read', {}, { id: 'second-client', secret: 'second-secret' });
  check(decode(second.access_token).payload.sub === 'second-client', 'second subject');
  const capped = await token(as, { grant_type: 'client_credentials', scope: 'todo:write' },
    { id: 'second-client', secret: 'second-secret' });
  check(capped.status === 400 && capped.body.error === 'invalid_scope', 'static client capped to its scope', capped);

  // Metadata at the RFC 8414 root URL as well as openid-configuration.
  const rfc8414 = await (await fetch(`${as.issuer}/.well-known/oauth-authorization-server`)).json();
  check(rfc8414.issuer === as.issuer && rfc8414.registration_endpoint === as.registration_endpoint
    && rfc8414.code_challenge_methods_supported.includes('S256')
    && rfc8414.scopes_supported.includes('system:admin'), 'oauth-authorization-server metadata', rfc8414);

  // DCR with a scope that gets dropped, then PKCE code flow with cookies carried by hand.
  const reg = await register(as, {
    client_name: 'smoke',
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    scope: 'todo:read',
  });
  check(reg.client_id && reg.scope === undefined && !reg.client_secret, 'DCR: public client, scope dropped', reg);
  note(`DCR: client_id ${reg.client_id}, registered metadata keys: ${Object.keys(reg).join(',')}`);

  const jar = new Jar();
  const first = await codeFlow(as, { clientId: reg.client_id, scope: 'todo:read todo:write', resource: MCP, jar });
  note(`PKCE flow, cookies carried:\n  ${first.trail.join('\n  ')}\n  -> ${first.callback.pathname}?${[...first.callback.searchParams.keys()].join('&')}`);
  show('generic authorization_code token', first.access_token);
  const at = decode(first.access_token);
  check(at.header.typ === 'at+jwt', 'code token typ', at.header);
  check(at.payload.sub === 'user-1' && at.payload.client_id === reg.client_id, 'code token sub/client_id', at.payload);
  check(at.payload.aud === MCP && at.payload.scope === 'todo:read todo:write', 'code token aud/scope', at.payload);
  check(first.callback.searchParams.get('iss') === as.issuer, 'RFC 9207 iss in the authorization response');
  check(typeof first.refresh_token === 'string', 'refresh token issued to a client that registered the grant', first);
  await verifySignature(first.access_token, as.jwks_uri);

  // Step-up: a scope the client never registered, same session (consent prompt only).
  const up = await codeFlow(as, {
    clientId: reg.client_id, scope: 'todo:read todo:write system:admin', resource: MCP, jar,
  });
  note(`step-up, same session:\n  ${up.trail.join('\n  ')}`);
  check(hasScopes(decode(up.access_token).payload, ['todo:read', 'todo:write', 'system:admin']),
    'step-up token has system:admin', decode(up.access_token).payload);

  // Refresh keeps the resource and scope.
  const refreshed = await token(as, {
    grant_type: 'refresh_token', refresh_token: up.refresh_token, client_id: reg.client_id,
  }, { secret: null });
  check(refreshed.status === 200, 'refresh_token grant', refreshed);
  const rp = decode(refreshed.body.access_token).payload;
  check(rp.aud === MCP && rp.scope === 'todo:read todo:write system:admin', 'refreshed token aud/scope', rp);

  // Without cookies at all (e.g. reqwest without a cookie store), another subject via login_hint,
  // and no `resource` at either step (AS_RESOURCE is the default).
  const bare = await codeFlow(as, {
    clientId: reg.client_id, scope: 'hr:read', jar: null, extra: { login_hint: 'user-2' },
  });
  note(`PKCE flow, no cookies:\n  ${bare.trail.join('\n  ')}`);
  const bp = decode(bare.access_token).payload;
  check(bp.sub === 'user-2' && bp.aud === MCP && bp.scope === 'hr:read', 'cookie-less flow, login_hint subject', bp);

  // A wrong verifier fails.
  {
    const { challenge } = pkce();
    const { callback } = await authorize(as, {
      response_type: 'code', client_id: reg.client_id, redirect_uri: REDIRECT, scope: 'todo:read',
      code_challenge: challenge, code_challenge_method: 'S256', resource: MCP,
    }, null);
    const bad = await token(as, {
      grant_type: 'authorization_code', code: callback.searchParams.get('code'), redirect_uri: REDIRECT,
      code_verifier: pkce().verifier, client_id: reg.client_id, resource: MCP,
    }, { secret: null });
    check(bad.status === 400 && bad.body.error === 'invalid_grant', 'wrong code_verifier rejected', bad);
  }

  // /__sign: arbitrary claims signed with the AS key, e.g. a token without exp.
  const signed = await (await fetch(`${as.issuer}/__sign`, {
    method: 'POST',
    body: JSON.stringify({ payload: { iss: as.issuer, aud: MCP, sub: 'x', scope: 'todo:read' } }),
  })).json();
  check(decode(signed.token).payload.exp === undefined && decode(signed.token).header.kid === as.kid, '/__sign', signed);
  await verifySignature(signed.token, as.jwks_uri);

  await stopAs(as);
}

// ---------------------------------------------------------------------------------------------
// Scalekit mode

async function scalekit() {
  const as = await startAs({ AS_MODE: 'scalekit', AS_RESOURCE: MCP, AS_RESOURCE_ID: 'res_test123' });
  note(`scalekit AS: ${as.issuer}`);
  check(as.jwks_uri === `${as.issuer}/keys`, 'scalekit jwks_uri is /keys', as);
  const keys = await fetch(`${as.issuer}/keys`);
  const jwks = await keys.json();
  check(keys.status === 200 && jwks.keys?.[0]?.kid === as.kid && !jwks.keys[0].d, '/keys serves the public JWKS', jwks);
  check((await fetch(`${as.issuer}/jwks`)).status === 404, '/jwks is not served in scalekit mode');

  const metaUrl = `${as.issuer}/.well-known/oauth-authorization-server/resources/res_test123`;
  const meta = await (await fetch(metaUrl)).json();
  check(meta.issuer === `${as.issuer}/resources/res_test123` && meta.token_endpoint === as.token_endpoint
    && meta.jwks_uri === `${as.issuer}/keys` && meta.registration_endpoint, 'per-resource AS metadata', meta);
  check(meta.authorization_endpoint === `${meta.issuer}/auth` && meta.authorization_response_iss_parameter_supported === true,
    'per-resource AS metadata: its own authorization endpoint, RFC 9207 iss advertised', meta);
  check((await fetch(`${as.issuer}/.well-known/oauth-authorization-server/resources/res_other`)).status === 404,
    'unknown res_ id 404');

  const cc = await clientCredentials(as, 'todo:read todo:write', { resource: MCP });
  show('scalekit client_credentials token', cc.access_token);
  const { header, payload } = decode(cc.access_token);
  check(header.alg === 'RS256' && header.typ === 'JWT' && header.kid === as.kid, 'scalekit header', header);
  check(payload.iss === as.issuer && payload.aud === 'res_test123', 'scalekit iss/aud', payload);
  check(payload.scope === 'todo:read todo:write' && payload.sub === 'test-client', 'scalekit scope/sub', payload);
  await verifySignature(cc.access_token, as.jwks_uri);

  const reg = await register(as, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'todo:read' });
  const flow = await codeFlow(as, { clientId: reg.client_id, scope: 'todo:read hr:read', resource: MCP, jar: new Jar() });
  show('scalekit authorization_code token', flow.access_token);
  const fp = decode(flow.access_token);
  check(fp.header.typ === 'JWT' && fp.payload.aud === 'res_test123' && fp.payload.sub === 'user-1'
    && fp.payload.scope === 'todo:read hr:read', 'scalekit code-flow token', fp);
  const rootMeta = await (await fetch(`${as.issuer}/.well-known/oauth-authorization-server`)).json();
  check(rootMeta.issuer === as.issuer && rootMeta.authorization_endpoint === as.authorization_endpoint,
    'scalekit root AS metadata: issuer {env}, authorization endpoint /auth', rootMeta);
  check(flow.callback.searchParams.get('iss') === as.issuer, 'RFC 9207 iss from /auth = the root metadata issuer', flow.callback.href);

  // Through the per-resource issuer's authorization endpoint (what MCP clients find via the PRM):
  // `iss` is that issuer, after the interaction and again on a step-up in the same session.
  const jar = new Jar();
  const viaResource = await codeFlow(as, {
    clientId: reg.client_id, scope: 'todo:read', resource: MCP, jar, endpoint: meta.authorization_endpoint,
  });
  note(`PKCE flow via ${meta.authorization_endpoint}:\n  ${viaResource.trail.join('\n  ')}\n  -> iss=${viaResource.callback.searchParams.get('iss')}`);
  check(viaResource.trail[0].startsWith('303 /resources/res_test123/auth'), 'per-resource authorization endpoint serves /auth', viaResource.trail);
  check(viaResource.callback.searchParams.get('iss') === meta.issuer, 'RFC 9207 iss = the per-resource metadata issuer', viaResource.callback.href);
  const vr = decode(viaResource.access_token).payload;
  check(vr.aud === 'res_test123' && vr.scope === 'todo:read' && vr.iss === as.issuer, 'per-resource endpoint: same tokens', vr);
  const resUp = await codeFlow(as, {
    clientId: reg.client_id, scope: 'todo:read todo:write', resource: MCP, jar, endpoint: meta.authorization_endpoint,
  });
  check(resUp.callback.searchParams.get('iss') === meta.issuer && decode(resUp.access_token).payload.scope === 'todo:read todo:write',
    'per-resource step-up in the same session: iss = the per-resource issuer, wider token', resUp.callback.href);
  await stopAs(as);

  // Shape options: iss = {env}/resources/{res}, aud array, M2M-style `scopes` array.
  const as2 = await startAs({
    AS_MODE: 'scalekit', AS_TOKEN_ISS: 'resource', AS_AUD_ARRAY: '1', AS_SCOPE_CLAIMS: 'scopes',
  });
  const raw2 = (await clientCredentials(as2, 'system:read', { resource: MCP })).access_token;
  show('scalekit, AS_TOKEN_ISS=resource AS_AUD_ARRAY=1 AS_SCOPE_CLAIMS=scopes', raw2);
  const t2 = decode(raw2);
  check(t2.payload.iss === `${as2.issuer}/resources/res_test123`, 'iss option', t2.payload);
  check(JSON.stringify(t2.payload.aud) === JSON.stringify(['res_test123', MCP]), 'aud array option', t2.payload);
  check(JSON.stringify(t2.payload.scopes) === '["system:read"]' && t2.payload.scope === undefined, 'scopes option', t2.payload);
  await stopAs(as2);
}

// ---------------------------------------------------------------------------------------------
// Keys and TTL

async function keysAndTtl() {
  const fileA = path.join(tmp, 'a.jwk.json');
  const fileB = path.join(tmp, 'b.jwk.json');
  const a1 = await startAs({ AS_KEY_FILE: fileA, AS_TOKEN_TTL: '2' });
  check(fs.existsSync(fileA), 'key file created');
  const short = decode((await clientCredentials(a1, 'todo:read')).access_token).payload;
  check(short.exp - short.iat === 2, 'AS_TOKEN_TTL=2', short);
  const port = a1.port;
  await stopAs(a1);

  const a2 = await startAs({ AS_KEY_FILE: fileA, AS_PORT: String(port) });
  check(a2.port === port && a2.kid === a1.kid, 'restart on the same port with the same key', { a1: a1.kid, a2: a2.kid });
  await stopAs(a2);

  const b = await startAs({ AS_KEY_FILE: fileB, AS_PORT: String(port) });
  check(b.port === port && b.kid !== a1.kid, 'a new key file = a new key (rotation)', { a: a1.kid, b: b.kid });
  const { keys } = await (await fetch(b.jwks_uri)).json();
  check(keys.length === 1 && keys[0].kid === b.kid, 'JWKS serves only the new key', keys);
  await stopAs(b);
  note(`keys: ${fileA} -> ${a1.kid}; ${fileB} -> ${b.kid}; TTL 2 s ok`);
}

// ---------------------------------------------------------------------------------------------

try {
  await generic();
  await scalekit();
  await keysAndTtl();
} catch (e) {
  if (!(e instanceof CheckFailed)) {
    failed += 1;
    console.log(`not ok - ${PEER}: unexpected exception\n${String(e.stack ?? e).split('\n').map((l) => `     ${l}`).join('\n')}`);
  }
  note('stopped at the first failure');
} finally {
  console.log(`${PEER}: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
}
