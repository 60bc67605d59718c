// Shared helpers for the client end-to-end scripts: a check counter that prints TAP-like lines and a
// final `N passed, M failed` (groups with a stated number of checks; known upstream failures
// asserted as such), a fetch that records every request the MCP SDK makes, a cookie jar, and a
// headless "browser" that walks the test authorization server's redirect chain.

import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { createRequire } from 'node:module';
import * as path from 'node:path';

// -------------------------------------------------------------------------------------------------
// Checks

export class Checks {
  constructor(peer) {
    this.peer = peer;
    this.passed = 0;
    this.failed = 0;
    this.known = new Map(); // upstream issue -> passed checks asserting its failure
  }

  /** Records one assertion; never throws. Returns `cond` so callers can branch on it. */
  ok(cond, name, detail) {
    if (cond) {
      this.passed += 1;
      console.log(`ok - ${this.peer}: ${name}`);
    } else {
      this.failed += 1;
      console.log(`not ok - ${this.peer}: ${name}`);
      if (detail !== undefined) console.log(indent(typeof detail === 'string' ? detail : safeJson(detail)));
    }
    return !!cond;
  }

  eq(actual, expected, name) {
    const same = safeJson(actual) === safeJson(expected);
    return this.ok(same, name, same ? undefined : `expected ${safeJson(expected)}\n     got ${safeJson(actual)}`);
  }

  /**
   * A check that a client library still fails the way a known, open upstream bug makes it fail.
   * It passes while the bug is there and fails, loudly, when the library's behaviour changes (for
   * instance once upstream fixes it): then turn the group into an ordinary passing one.
   */
  knownUpstreamFailure(issue, cond, name, detail) {
    if (cond) this.known.set(issue, (this.known.get(issue) ?? 0) + 1);
    const hint = `the behaviour of ${issue} changed: if upstream fixed it, make this a passing check and drop the workaround`;
    return this.ok(cond, `KNOWN UPSTREAM FAILURE ${issue}: ${name}`,
      cond ? undefined : `${detail === undefined ? '' : `${typeof detail === 'string' ? detail : safeJson(detail)}\n`}${hint}`);
  }

  /**
   * Runs a group of checks; an exception inside counts as one failure and the group stops. A group
   * that completes must have made exactly `expected` checks (none skipped or added silently).
   */
  async group(name, fn, expected) {
    console.log(`# ${this.peer}: ${name}`);
    const before = this.passed + this.failed;
    try {
      await fn();
    } catch (e) {
      this.ok(false, `${name}: unexpected exception`, e?.stack ?? String(e));
      return;
    }
    const made = this.passed + this.failed - before;
    if (made !== expected) {
      this.ok(false, `${name}: made ${made} checks, expected ${expected}`,
        'a check was skipped or added without saying so: fix the test, or the expected count');
    }
  }

  /** Prints the closing line and sets the exit code. */
  finish() {
    for (const [issue, n] of this.known) {
      console.log(`# ${this.peer}: ${n} of the passed checks assert the KNOWN UPSTREAM FAILURE ${issue}`);
    }
    console.log(`${this.peer}: ${this.passed} passed, ${this.failed} failed`);
    process.exitCode = this.failed ? 1 : 0;
  }
}

function indent(text) {
  return String(text).split('\n').map((l) => `     ${l}`).join('\n');
}

export function safeJson(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

// -------------------------------------------------------------------------------------------------
// Recording fetch: every request the SDK makes (MCP, discovery, registration, token), in order.

export function recordingFetch(log) {
  return async (input, init = {}) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    const entry = {
      method: (init.method ?? 'GET').toUpperCase(),
      url,
      requestHeaders: Object.fromEntries(headers),
      requestBody: init.body === undefined ? undefined : String(init.body),
    };
    log.push(entry);
    const res = await fetch(input, init);
    entry.status = res.status;
    entry.responseHeaders = Object.fromEntries(res.headers);
    const type = res.headers.get('content-type') ?? '';
    if (type.includes('application/json')) {
      try {
        entry.responseBody = await res.clone().json();
      } catch {
        // not JSON after all: leave it out
      }
    } else if (type.includes('text/event-stream')) {
      // An event stream is read by the SDK as it arrives: a copy is read alongside, without
      // holding the SDK back; `settled(log)` waits for it. `events` are every JSON-RPC message of
      // the stream, `responseBody` the reply among them.
      entry.pending = res.clone().text().then((text) => {
        entry.events = sseMessages(text);
        entry.responseBody = entry.events.find((m) => 'result' in m || 'error' in m);
      }, (error) => {
        entry.streamError = error;
      });
    }
    return res;
  };
}

/** Waits until every event stream recorded in `log` has been read whole (see recordingFetch). */
export async function settled(log) {
  await Promise.all(log.map((e) => e.pending).filter(Boolean));
}

/** The JSON-RPC messages in an event stream's text: the `data` of each non-empty event. */
export function sseMessages(text) {
  const messages = [];
  let data = [];
  for (const line of `${text}\n\n`.split(/\r?\n/)) {
    if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    else if (line === '' && data.length) {
      const event = data.join('\n');
      data = [];
      if (event.trim()) {
        try {
          messages.push(JSON.parse(event));
        } catch {
          messages.push({ unparsed: event });
        }
      }
    }
  }
  return messages;
}

/** A one-line description of a log entry, for failure details. */
export function describe(entry) {
  return `${entry.method} ${entry.url} -> ${entry.status}`;
}

/** The MCP method of a JSON-RPC request body, if any. */
export function rpcMethod(entry) {
  try {
    return JSON.parse(entry.requestBody).method;
  } catch {
    return undefined;
  }
}

// -------------------------------------------------------------------------------------------------
// WWW-Authenticate (one Bearer challenge, as our server sends)

export function parseChallenge(header) {
  if (!header) return undefined;
  const m = /^\s*Bearer\s+(.*)$/is.exec(header);
  if (!m) return { scheme: header.split(/\s/)[0], params: {} };
  const params = {};
  const re = /([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*,?/g;
  let p;
  while ((p = re.exec(m[1]))) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: 'Bearer', params };
}

// -------------------------------------------------------------------------------------------------
// JWT

export function decodeJwt(jwt) {
  const [h, p] = String(jwt).split('.');
  const dec = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  return { header: dec(h), payload: dec(p) };
}

export function scopesOf(payload) {
  if (typeof payload.scope === 'string') return payload.scope.split(' ').filter(Boolean);
  if (Array.isArray(payload.scopes)) return payload.scopes;
  if (Array.isArray(payload.scp)) return payload.scp;
  return [];
}

// -------------------------------------------------------------------------------------------------
// Cookie jar (name -> value, with Path), enough for the test AS's interaction cookies.

export class Jar {
  cookies = new Map(); // `${name}|${path}` -> { name, value, path }

  store(res, url) {
    const list = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
    for (const line of list) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = defaultPath(url);
      let expired = false;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'path') path = v.trim() || '/';
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      const id = `${name}|${path}`;
      if (expired || value === '') this.cookies.delete(id);
      else this.cookies.set(id, { name, value, path });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    const matching = [...this.cookies.values()]
      .filter((c) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .sort((a, b) => b.path.length - a.path.length);
    return matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

function defaultPath(url) {
  const { pathname } = new URL(url);
  const i = pathname.lastIndexOf('/');
  return i <= 0 ? '/' : pathname.slice(0, i);
}

// -------------------------------------------------------------------------------------------------
// Headless browser: the user agent that the OAuth client "redirects" to the authorization URL. It
// follows the test AS's redirects (/auth -> /interaction/:uid, approved by the AS at once ->
// /auth/:uid) up to the redirect_uri and hands back the code. Cookies are kept per browser, so a
// second authorization (step-up) reuses the login session as a real browser would.
//
// `consent`: a queue of scope strings; the next authorization has its `scope` replaced by the head
// of the queue. This is the user approving fewer scopes than the client asked for (a consent screen
// with boxes unticked): the test AS grants what reaches its interaction, so the token comes back
// narrower than the client's request, and the later step-up is real.

export class Browser {
  constructor({ consent = [] } = {}) {
    this.jar = new Jar();
    this.consent = [...consent];
    this.visits = []; // one per authorization: { requested, sent, trail, callback }
  }

  async authorize(authorizationUrl, redirectUri) {
    let url = new URL(authorizationUrl);
    const requested = url.searchParams.get('scope');
    if (this.consent.length) url.searchParams.set('scope', this.consent.shift());
    const visit = { url: new URL(authorizationUrl), requested, sent: url.searchParams.get('scope'), trail: [] };
    this.visits.push(visit);
    url = url.href;
    for (let hop = 0; hop < 10; hop += 1) {
      if (url.startsWith(String(redirectUri))) {
        visit.callback = new URL(url);
        return visit;
      }
      const headers = {};
      const cookie = this.jar.header(url);
      if (cookie) headers.cookie = cookie;
      const res = await fetch(url, { redirect: 'manual', headers });
      this.jar.store(res, url);
      const loc = res.headers.get('location');
      visit.trail.push({ status: res.status, path: new URL(url).pathname });
      if (!loc) throw new Error(`authorization stopped at ${url}: ${res.status} ${await res.text()}`);
      url = new URL(loc, url).href;
    }
    throw new Error(`too many redirects: ${safeJson(visit.trail)}`);
  }
}

/** The trail as `303 /auth -> 303 /interaction/:uid -> 303 /auth/:uid`. */
export function trailShape(trail) {
  return trail
    .map(({ status, path }) => `${status} ${path.replace(/^\/interaction\/[^/]+$/, '/interaction/:uid').replace(/^\/auth\/[^/]+$/, '/auth/:uid')}`)
    .join(' -> ');
}

// -------------------------------------------------------------------------------------------------
// An in-memory OAuthClientProvider for the TypeScript SDK (public client, DCR, PKCE).

export class InMemoryOAuthProvider {
  constructor({ browser, redirectUrl, grantTypes = ['authorization_code'], clientName = 'e2e-ts-sdk' }) {
    this.browser = browser;
    this._redirectUrl = redirectUrl;
    this.grantTypes = grantTypes;
    this.clientName = clientName;
    this._clientInformation = undefined;
    this._tokens = undefined;
    this._codeVerifier = undefined;
    this._state = undefined;
    this.pendingCode = undefined;
    this.savedTokens = []; // every token response, in order
    this.registrations = 0;
    this.invalidations = [];
  }

  get redirectUrl() {
    return this._redirectUrl;
  }

  get clientMetadata() {
    return {
      client_name: this.clientName,
      redirect_uris: [this._redirectUrl],
      grant_types: this.grantTypes,
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    this._state = crypto.randomBytes(12).toString('base64url');
    return this._state;
  }

  clientInformation() {
    return this._clientInformation;
  }

  saveClientInformation(info) {
    if (!this._clientInformation || this._clientInformation.client_id !== info.client_id) this.registrations += 1;
    this._clientInformation = info;
  }

  tokens() {
    return this._tokens;
  }

  saveTokens(tokens) {
    this._tokens = tokens;
    this.savedTokens.push(tokens);
  }

  /** Drops the refresh token so the next auth() starts a new authorization (see oauth-flow.mjs). */
  dropRefreshToken() {
    if (this._tokens?.refresh_token) {
      const { refresh_token: _, ...rest } = this._tokens;
      this._tokens = rest;
      return true;
    }
    return false;
  }

  async redirectToAuthorization(authorizationUrl) {
    const visit = await this.browser.authorize(authorizationUrl, this._redirectUrl);
    const state = visit.callback.searchParams.get('state');
    if (state !== this._state) throw new Error(`state mismatch: sent ${this._state}, got ${state}`);
    const error = visit.callback.searchParams.get('error');
    if (error) throw new Error(`authorization error ${error}: ${visit.callback.searchParams.get('error_description')}`);
    this.pendingCode = visit.callback.searchParams.get('code');
  }

  /** The code captured by the last redirect, once. */
  takeCode() {
    const code = this.pendingCode;
    this.pendingCode = undefined;
    return code;
  }

  saveCodeVerifier(v) {
    this._codeVerifier = v;
  }

  codeVerifier() {
    if (!this._codeVerifier) throw new Error('no code verifier saved');
    return this._codeVerifier;
  }

  invalidateCredentials(scope) {
    this.invalidations.push(scope);
    if (scope === 'all' || scope === 'client') this._clientInformation = undefined;
    if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this._codeVerifier = undefined;
  }
}

/** Free loopback port (bound and released; a race is possible but unlikely). */
export async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// -------------------------------------------------------------------------------------------------
// The MCP Inspector CLI

// The CLI reads its own package.json with `fs.existsSync('../package.json')` (relative to the
// working directory) but imports it relative to the module: it only works when started from a
// directory whose parent holds a package.json. Its own build/ directory is one.
const inspectorBuild = path.dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/inspector-cli/build/cli.js'));

/**
 * Runs the Inspector CLI (`@modelcontextprotocol/inspector-cli`, the package behind `npx
 * @modelcontextprotocol/inspector --cli`) with `args` as a user would, in a child process with
 * `env`; resolves to its exit code, stdout, stderr (without ajv's `unknown format` noise) and
 * stdout parsed as JSON (undefined when it is not).
 */
export function inspectorCli(args, { env = process.env } = {}) {
  const argv = [path.join(inspectorBuild, 'cli.js'), ...args];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: inspectorBuild, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      let json;
      try {
        json = JSON.parse(stdout);
      } catch {
        // not JSON: leave undefined
      }
      resolve({ code, stdout, stderr: stderr.split('\n').filter((l) => !/^unknown format/.test(l)).join('\n'), json });
    });
  });
}

/** An Inspector CLI result, for a failed check. */
export function inspectorDetail(r) {
  return `exit ${r.code}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
}
