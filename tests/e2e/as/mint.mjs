// Mint an access token from the test AS with the client_credentials grant and print it.
//
//   node mint.mjs --issuer http://127.0.0.1:PORT --scope "todo:read todo:write" \
//     [--resource http://127.0.0.1:3002/mcp] [--client-id test-client --client-secret test-secret] \
//     [--json]        (print the whole token response instead of the bare access token)
//     [--decode]      (print the JWT header and payload to stderr as well)
//
// Same as:
//   curl -s -u test-client:test-secret -d grant_type=client_credentials \
//     --data-urlencode 'scope=todo:read' --data-urlencode 'resource=http://127.0.0.1:3002/mcp' \
//     http://127.0.0.1:PORT/token

const opts = { 'client-id': 'test-client', 'client-secret': 'test-secret' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 1) {
  const a = argv[i];
  if (!a.startsWith('--')) usage(`unexpected argument ${a}`);
  const key = a.slice(2);
  if (key === 'json' || key === 'decode') opts[key] = true;
  else if (i + 1 < argv.length) opts[key] = argv[(i += 1)];
  else usage(`${a} needs a value`);
}
if (!opts.issuer) usage('--issuer is required');

const issuer = opts.issuer.replace(/\/$/, '');
const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
const form = new URLSearchParams({ grant_type: 'client_credentials' });
if (opts.scope) form.set('scope', opts.scope);
if (opts.resource) form.set('resource', opts.resource);
const basic = Buffer.from(
  `${encodeURIComponent(opts['client-id'])}:${encodeURIComponent(opts['client-secret'])}`,
).toString('base64');
const res = await fetch(meta.token_endpoint, {
  method: 'POST',
  headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
  body: form,
});
const body = await res.json();
if (!res.ok) {
  console.error(`token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
  process.exit(1);
}
if (opts.decode) {
  const [h, p] = body.access_token.split('.').slice(0, 2)
    .map((s) => JSON.parse(Buffer.from(s, 'base64url').toString()));
  console.error(JSON.stringify({ header: h, payload: p }, null, 2));
}
console.log(opts.json ? JSON.stringify(body) : body.access_token);

function usage(msg) {
  console.error(`${msg}\nusage: node mint.mjs --issuer URL [--scope "a b"] [--resource URL] `
    + '[--client-id ID --client-secret SECRET] [--json] [--decode]');
  process.exit(2);
}
