// Test authorization server for the integration and end-to-end tests: an oidc-provider issuer that
// mints RFC 9068 JWT access tokens, in a plain OAuth shape (`generic`) or shaped like Scalekit
// (`scalekit`). Configured from env vars (see README.md); prints exactly one JSON line on stdout
// when ready; everything else goes to stderr.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

// oidc-provider prints its NOTICEs with console.info (stdout), and stdout is reserved for the ready
// line: send every console method to stderr before the library is loaded.
for (const m of ['log', 'info', 'debug']) console[m] = (...a) => console.error(...a);

const { default: Provider, errors } = await import('oidc-provider');

// ---------------------------------------------------------------------------------------------
// Configuration

const args = parseArgs(process.argv.slice(2));
const env = (name, dflt) => args[name] ?? process.env[name] ?? dflt;

const MODE = env('AS_MODE', 'generic');
if (!['generic', 'scalekit'].includes(MODE)) fail(`AS_MODE must be generic or scalekit, not ${MODE}`);
const SCALEKIT = MODE === 'scalekit';
const HOST = env('AS_HOST', '127.0.0.1');
const PORT = Number(env('AS_PORT', '0'));
const RESOURCE = env('AS_RESOURCE', 'http://127.0.0.1:3002/mcp');
const RESOURCE_ID = env('AS_RESOURCE_ID', 'res_test123');
const STRICT_RESOURCE = truthy(env('AS_STRICT_RESOURCE', ''));
const SCOPES = env('AS_SCOPES',
  'todo:read todo:write hr:read hr:write finance:read finance:write system:read system:write system:admin')
  .split(/\s+/).filter(Boolean);
const SUBJECT = env('AS_SUBJECT', 'user-1');
const TTL = Number(env('AS_TOKEN_TTL', '300'));
if (!Number.isSafeInteger(TTL) || TTL < 1) fail('AS_TOKEN_TTL must be a positive integer (seconds)');
const KEY_FILE = env('AS_KEY_FILE', '');
const TYP = env('AS_TYP', SCALEKIT ? 'JWT' : 'at+jwt');
// `opaque`: access tokens are random strings, checked only at /token/introspection (RFC 7662).
const TOKEN_FORMAT = env('AS_TOKEN_FORMAT', 'jwt');
if (!['jwt', 'opaque'].includes(TOKEN_FORMAT)) fail('AS_TOKEN_FORMAT must be jwt or opaque');
// Client ids whose access tokens are opaque whatever AS_TOKEN_FORMAT says (both kinds from one AS).
const OPAQUE_CLIENTS = env('AS_OPAQUE_CLIENTS', '').split(',').map((s) => s.trim()).filter(Boolean);
const TOKEN_ISS = env('AS_TOKEN_ISS', 'issuer'); // issuer | resource (scalekit: {issuer}/resources/{res})
const AUD_ARRAY = truthy(env('AS_AUD_ARRAY', ''));
const SCOPE_CLAIMS = env('AS_SCOPE_CLAIMS', 'scope').split(',').map((s) => s.trim()).filter(Boolean);
const EXTRA_CLAIMS = parseJson(env('AS_EXTRA_CLAIMS', ''), 'AS_EXTRA_CLAIMS') ?? {};
const EXTRA_CLIENTS = parseJson(env('AS_CLIENTS', ''), 'AS_CLIENTS') ?? [];
if (!Array.isArray(EXTRA_CLIENTS)) fail('AS_CLIENTS must be a JSON array');
let stopping = false; // set by shutdown(), which stdin handling below may call early
if (truthy(env('AS_EXIT_ON_STDIN_CLOSE', ''))) {
  // The Rust launcher keeps our stdin open; when the test process dies, so do we.
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}

// ---------------------------------------------------------------------------------------------
// Signing key: generated, or loaded from / saved to AS_KEY_FILE (a private JWK, or a JWKS whose
// first key signs). A new file name = a new key (rotation tests).

function thumbprint(jwk) {
  const json = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return crypto.createHash('sha256').update(json).digest('base64url');
}

function generateJwk() {
  // PEM first, then a fresh KeyObject exported as JWK: exporting the generated
  // KeyObject directly can deadlock Node 20 when a GC lands in between.
  const { privateKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const jwk = crypto.createPrivateKey(privateKey).export({ format: 'jwk' });
  return { ...jwk, kid: thumbprint(jwk), use: 'sig', alg: 'RS256' };
}

function loadKeys() {
  if (!KEY_FILE) return [generateJwk()];
  let text;
  try {
    text = fs.readFileSync(KEY_FILE, 'utf8');
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
    const jwk = generateJwk();
    fs.mkdirSync(path.dirname(path.resolve(KEY_FILE)), { recursive: true });
    try {
      fs.writeFileSync(KEY_FILE, `${JSON.stringify(jwk, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
      log(`generated a new RSA key ${jwk.kid} into ${KEY_FILE}`);
      return [jwk];
    } catch (e2) {
      if (e2.code !== 'EEXIST') throw e2;
      text = fs.readFileSync(KEY_FILE, 'utf8'); // another process won the race
    }
  }
  const parsed = JSON.parse(text);
  const keys = (Array.isArray(parsed.keys) ? parsed.keys : [parsed]).map((k) => ({
    use: 'sig', alg: 'RS256', kid: thumbprint(k), ...k,
  }));
  if (!keys.length || !keys.every((k) => k.kty === 'RSA' && k.d)) fail(`${KEY_FILE}: expected private RSA JWK(s)`);
  log(`loaded key(s) ${keys.map((k) => k.kid).join(', ')} from ${KEY_FILE}`);
  return keys;
}

const KEYS = loadKeys();
const SIGNING_KEY = crypto.createPrivateKey({ key: KEYS[0], format: 'jwk' });

// ---------------------------------------------------------------------------------------------
// HTTP server first: with AS_PORT=0 the issuer needs the port we got.

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, HOST, resolve);
});
const { port } = server.address();
const ISSUER = `http://${HOST.includes(':') ? `[${HOST}]` : HOST}:${port}`;
const RESOURCE_ISSUER = `${ISSUER}/resources/${RESOURCE_ID}`;

const staticClients = [
  // The default confidential client: every scope, client_credentials, plus code flow for tests
  // that want a confidential client (client_secret_basic or client_secret_post).
  {
    client_id: 'test-client',
    client_secret: 'test-secret',
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback'],
  },
  ...EXTRA_CLIENTS.map((c) => ({
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    ...c,
  })),
];

function resourceServerInfo(indicator, client) {
  if (STRICT_RESOURCE && indicator !== RESOURCE) {
    throw new errors.InvalidTarget(`unknown resource ${indicator}; this AS serves ${RESOURCE}`);
  }
  return {
    scope: SCOPES.join(' '),
    // Generic: the audience is the resource indicator itself (RFC 8707/9068). Scalekit: the
    // audience is the resource's `res_…` id whatever URL the client names.
    audience: SCALEKIT ? RESOURCE_ID : indicator,
    accessTokenFormat: OPAQUE_CLIENTS.includes(client?.clientId) ? 'opaque' : TOKEN_FORMAT,
    accessTokenTTL: TTL,
    jwt: { sign: { alg: 'RS256' } },
  };
}

const provider = new Provider(ISSUER, {
  clients: staticClients,
  jwks: { keys: KEYS },
  scopes: ['openid', 'offline_access', ...SCOPES],
  claims: { openid: ['sub'] },
  routes: SCALEKIT ? { jwks: '/keys' } : {},
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    registration: { enabled: true }, // open: no initial access token
    revocation: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // A request that names no resource gets AS_RESOURCE, so every access token is a JWT.
      defaultResource: (ctx, client, oneOf) => oneOf ?? RESOURCE,
      // The token request may omit `resource` after an authorization that named one.
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator, client) => resourceServerInfo(indicator, client),
    },
  },
  // Public clients must use PKCE (the default policy); only S256 is offered.
  pkce: { required: () => true },
  ttl: {
    AccessToken: TTL,
    ClientCredentials: TTL,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
    AuthorizationCode: 60,
    RefreshToken: 3600,
    IdToken: TTL,
  },
  // Refresh tokens for any client that registered the grant (no offline_access dance).
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  extraTokenClaims: async () => (Object.keys(EXTRA_CLAIMS).length ? EXTRA_CLAIMS : undefined),
  formats: {
    customizers: {
      jwt: async (ctx, token, jwt) => {
        jwt.header = { ...jwt.header, typ: TYP };
        const p = jwt.payload;
        if (TOKEN_ISS === 'resource') p.iss = RESOURCE_ISSUER;
        if (AUD_ARRAY) {
          const indicator = token.resourceServer?.identifier();
          p.aud = [...new Set([p.aud, indicator].flat().filter(Boolean))];
        }
        const scopes = p.scope ? p.scope.split(' ') : [];
        if (!SCOPE_CLAIMS.includes('scope')) delete p.scope;
        if (SCOPE_CLAIMS.includes('scopes')) p.scopes = scopes;
        if (SCOPE_CLAIMS.includes('scp')) p.scp = scopes;
      },
    },
  },
  clientBasedCORS: () => true,
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

provider.on('server_error', (ctx, err) => log('server_error', err));
for (const ev of ['grant.error', 'registration_create.error', 'authorization.error', 'introspection.error']) {
  provider.on(ev, (ctx, err) => log(ev, err.name, err.message, err.error_description ?? ''));
}

// ---------------------------------------------------------------------------------------------
// Our routes, as Koa middleware ahead of oidc-provider's router.

let discoveryCache;
async function discovery() {
  if (!discoveryCache) {
    const res = await fetch(`${ISSUER}/.well-known/openid-configuration`);
    if (!res.ok) throw new Error(`discovery: HTTP ${res.status}`);
    discoveryCache = await res.json();
  }
  return structuredClone(discoveryCache);
}

function json(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'json';
  ctx.set('access-control-allow-origin', '*');
  ctx.set('cache-control', 'no-store');
  ctx.body = body;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function cookieHas(ctx, name) {
  return (ctx.get('cookie') || '').split(';').some((c) => c.trim().startsWith(`${name}=`));
}

const RESOURCE_AUTHORIZATION_PATH = `/resources/${RESOURCE_ID}/auth`;
const RESOURCE_AUTHORIZATION_ENDPOINT = `${ISSUER}${RESOURCE_AUTHORIZATION_PATH}`;
// Interaction uids of authorizations started at the per-resource issuer's endpoint.
const resourceInteractions = new Set();

const resourceMetadataPaths = new Set([
  `/.well-known/oauth-authorization-server/resources/${RESOURCE_ID}`,
  `/.well-known/openid-configuration/resources/${RESOURCE_ID}`,
  `/resources/${RESOURCE_ID}/.well-known/oauth-authorization-server`,
  `/resources/${RESOURCE_ID}/.well-known/openid-configuration`,
]);

provider.use(async (ctx, next) => {
  const { method } = ctx;
  const p = ctx.path;

  if (p === '/__health' && (method === 'GET' || method === 'HEAD')) {
    json(ctx, 200, { ok: true, mode: MODE, issuer: ISSUER });
    return;
  }

  // RFC 8414 metadata at the root (oidc-provider only serves openid-configuration).
  if (p === '/.well-known/oauth-authorization-server' && method === 'GET') {
    json(ctx, 200, await discovery());
    return;
  }

  // Scalekit's per-resource AS metadata: the provider's own document, issuer {env}/resources/{res}
  // (RFC 8414 requires the issuer to match the URL it was fetched from). The endpoints are the
  // provider's, except the authorization endpoint, {env}/resources/{res}/auth: authorizations
  // started there are answered with RFC 9207 `iss` = this document's issuer (see below). Tokens
  // keep `iss` = {env} unless AS_TOKEN_ISS=resource.
  if (SCALEKIT && resourceMetadataPaths.has(p) && method === 'GET') {
    const doc = await discovery();
    doc.issuer = RESOURCE_ISSUER;
    doc.authorization_endpoint = RESOURCE_AUTHORIZATION_ENDPOINT;
    json(ctx, 200, doc);
    return;
  }

  // The per-resource issuer's authorization endpoint: the provider's /auth, remembering that this
  // authorization belongs to {env}/resources/{res}, so that the redirect back to the client (here
  // or after the interaction, at /auth/:uid) carries that issuer in `iss`, not {env}. A client
  // that discovered the root metadata (issuer {env}) uses /auth and gets `iss` = {env}.
  if (SCALEKIT && p === RESOURCE_AUTHORIZATION_PATH && (method === 'GET' || method === 'POST')) {
    ctx.path = '/auth';
    await next();
    resourceIssuerRedirect(ctx, true);
    return;
  }

  // Sign any header/payload with the current key: for negative tests (no exp, wrong aud, ...).
  if (p === '/__sign' && method === 'POST') {
    const body = JSON.parse((await readBody(ctx.req)).toString() || '{}');
    const header = { alg: 'RS256', typ: TYP, kid: KEYS[0].kid, ...body.header };
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${b64(header)}.${b64(body.payload ?? {})}`;
    const sig = crypto.sign('sha256', Buffer.from(input), SIGNING_KEY).toString('base64url');
    json(ctx, 200, { token: `${input}.${sig}` });
    return;
  }

  // Open DCR, minus `scope`: oidc-provider would cap the client to the scope it registered with,
  // and the TS SDK registers with the first challenge's scope, so a later step-up would fail.
  if (p === '/reg' && method === 'POST' && ctx.is('application/json')) {
    const body = JSON.parse((await readBody(ctx.req)).toString() || '{}');
    if ('scope' in body) {
      log(`registration: dropped scope "${body.scope}"`);
      delete body.scope;
    }
    ctx.request.body = body; // oidc-provider falls back to an already-parsed body
  }

  // Headless interaction: approve at once (login + consent for every requested scope).
  const m = /^\/interaction\/([^/]+)$/.exec(p);
  if (m && (method === 'GET' || method === 'POST')) {
    await approve(ctx, m[1]);
    return;
  }

  // Cookie-less clients: the resume step needs the `_interaction_resume` cookie, whose value is
  // the uid in the path; supply it when the client did not carry cookies.
  const r = /^\/auth\/([^/]+)$/.exec(p);
  if (r && !cookieHas(ctx, '_interaction_resume')) {
    const cookie = ctx.get('cookie');
    ctx.req.headers.cookie = `${cookie ? `${cookie}; ` : ''}_interaction_resume=${r[1]}`;
  }

  await next();
  if (SCALEKIT && r) resourceIssuerRedirect(ctx, resourceInteractions.delete(r[1]));
});

// After an authorization step (`/resources/{res}/auth`, or its resume at `/auth/:uid`): a redirect
// to the next interaction is remembered as the per-resource issuer's; a redirect back to the
// client gets `iss` = {env}/resources/{res} (query response mode, which is all the MCP SDKs use).
function resourceIssuerRedirect(ctx, viaResourceIssuer) {
  if (!viaResourceIssuer) return;
  const location = ctx.response.get('location');
  if (!location) return;
  const url = new URL(location, ISSUER);
  const next = /^\/interaction\/([^/]+)$/.exec(url.pathname);
  if (url.origin === ISSUER && next) {
    resourceInteractions.add(next[1]);
    return;
  }
  if (url.searchParams.get('iss') === ISSUER) {
    url.searchParams.set('iss', RESOURCE_ISSUER);
    ctx.set('location', url.href);
  }
}

async function approve(ctx, uid) {
  let interaction;
  if (cookieHas(ctx, '_interaction')) {
    interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== uid) {
      json(ctx, 400, { error: 'invalid_request', error_description: 'interaction cookie and path mismatch' });
      return;
    }
  } else {
    interaction = await provider.Interaction.find(uid);
  }
  if (!interaction) {
    json(ctx, 400, { error: 'invalid_request', error_description: 'interaction not found or expired' });
    return;
  }

  const { params, prompt, session } = interaction;
  const accountId = ctx.query.sub || session?.accountId || params.login_hint || SUBJECT;

  const grant = interaction.grantId
    ? await provider.Grant.find(interaction.grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  const requested = (params.scope || '').split(' ').filter(Boolean);
  if (requested.length) grant.addOIDCScope(requested.join(' '));
  const resources = [params.resource ?? RESOURCE].flat().filter(Boolean);
  const resourceScopes = requested.filter((s) => SCOPES.includes(s));
  for (const indicator of resources) {
    if (resourceScopes.length) grant.addResourceScope(indicator, resourceScopes.join(' '));
  }
  for (const [indicator, scopes] of Object.entries(prompt.details?.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  if (prompt.details?.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details?.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const grantId = await grant.save();

  interaction.result = { login: { accountId }, consent: { grantId } };
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  log(`interaction ${uid}: prompt ${prompt.name}, approved ${accountId} for ${params.client_id}: `
    + `scope "${requested.join(' ')}" resource ${resources.join(' ')}`);
  ctx.status = 303;
  ctx.redirect(interaction.returnTo);
}

server.on('request', provider.callback());

// ---------------------------------------------------------------------------------------------
// Ready

// Before the ready line: a test may stop the server as soon as it reads it.
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

const meta = await discovery();
process.stdout.write(`${JSON.stringify({
  ready: true,
  mode: MODE,
  issuer: ISSUER,
  port,
  jwks_uri: meta.jwks_uri,
  token_endpoint: meta.token_endpoint,
  authorization_endpoint: meta.authorization_endpoint,
  registration_endpoint: meta.registration_endpoint,
  resource: RESOURCE,
  ...(SCALEKIT ? { resource_id: RESOURCE_ID, resource_issuer: RESOURCE_ISSUER } : {}),
  kid: KEYS[0].kid,
})}\n`);
log(`ready: ${MODE} issuer ${ISSUER}`);

function shutdown(why) {
  if (stopping) return;
  stopping = true;
  log(`stopping (${why})`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}

// ---------------------------------------------------------------------------------------------

function log(...a) {
  console.error('[test-as]', ...a);
}

function fail(msg) {
  console.error(`[test-as] ${msg}`);
  process.exit(2);
}

function truthy(v) {
  return ['1', 'true', 'yes', 'on'].includes(String(v).toLowerCase());
}

function parseJson(text, name) {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail(`${name}: ${e.message}`);
  }
}

// `--port 0 --mode scalekit` and `--port=0` map to AS_PORT / AS_MODE etc.
function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const [k, v] = a.includes('=') ? a.slice(2).split(/=(.*)/s) : [a.slice(2), argv[i + 1]];
    if (!a.includes('=')) i += 1;
    out[`AS_${k.replace(/-/g, '_').toUpperCase()}`] = v;
  }
  return out;
}
