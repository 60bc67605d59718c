// The TypeScript SDK's `StdioClientTransport` launching `demo-server stdio`, as a desktop client
// launches an MCP server: the caller comes from the environment the client gives the process.
//
//   node stdio.mjs --demo PATH/demo-server --db-dir DIR --dev-key-file FILE --port P --token JWT --subject SUB
//
// `--token` is a development token (todo:read todo:write) for `--subject`, signed with the key in
// `--dev-key-file` for the server's URL on port `--port` (which the stdio server does not listen on). Prints one line per check and `stdio/dev: N passed, M failed`.

import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import { Checks } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    demo: { type: 'string' },
    'db-dir': { type: 'string' },
    'dev-key-file': { type: 'string' },
    port: { type: 'string' },
    token: { type: 'string' },
    subject: { type: 'string' },
  },
});
for (const k of ['demo', 'db-dir', 'dev-key-file', 'port', 'token', 'subject']) if (!opt[k]) throw new Error(`--${k} is required`);

const t = new Checks('stdio/dev');

const clients = [];

/** A connected client of `demo-server stdio` with `env`, and its stderr (closed at the end). */
async function launch(name, env) {
  const transport = new StdioClientTransport({
    command: opt.demo,
    args: ['stdio', '--db', path.join(opt['db-dir'], `stdio-${name}.sqlite3`), '--dev-key-file', opt['dev-key-file'], '--port', opt.port],
    env: { RUST_LOG: 'info,rmcp=warn', NO_COLOR: '1', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d; });
  const client = new Client({ name: 'e2e-stdio', version: '1.0.0' });
  try {
    await client.connect(transport);
    clients.push(client);
  } catch (error) {
    return { error, stderr: () => stderr };
  }
  return { client, stderr: () => stderr };
}

const REFUSED = (scope) => ({ error: `Insufficient permissions: \`${scope}\` scope required.` });

await t.group('a token from MCP_STDIO_TOKEN', async () => {
  const { client, error, stderr } = await launch('token', { MCP_STDIO_TOKEN: opt.token });
  t.ok(client, 'connect: initialize over stdio', `${error?.stack}\n${stderr()}`);
  t.eq(client.getServerVersion()?.name, 'demo-server', 'server name');
  const tools = await client.listTools();
  t.eq(tools.tools.length, 14, 'tools/list: the 14 demo tools');
  const who = await client.callTool({ name: 'whoami', arguments: {} });
  t.eq(who.structuredContent?.subject, opt.subject, 'whoami: the subject of the configured token');
  const title = `stdio ${Date.now()}`;
  const created = await client.callTool({ name: 'create_todo', arguments: { title } });
  t.ok(!created.isError && created.structuredContent?.title === title, 'create_todo with todo:write', created);
  const listed = await client.callTool({ name: 'list_todos', arguments: {} });
  t.ok(listed.structuredContent?.todos?.some((x) => x.title === title), 'list_todos shows the item', listed);
  // A resource rather than a tool: after tools/list this SDK validates a refused call's error
  // against the tool's output schema (typescript-sdk#1943, see oauth-flow.mjs).
  const refused = await client.readResource({ uri: 'hr://employees/1' }).then(() => null, (e) => e);
  t.ok(refused?.code === -32003 && /`hr:read`/.test(refused.message),
    'hr://employees/1 refused with -32003: the token has no hr:read', refused);
}, 7);

await t.group('a local identity from MCP_STDIO_SUBJECT and MCP_STDIO_SCOPES', async () => {
  const { client, error, stderr } = await launch('local', { MCP_STDIO_SUBJECT: 'desktop-user', MCP_STDIO_SCOPES: 'todo:read' });
  t.ok(client, 'connect', `${error?.stack}\n${stderr()}`);
  const who = await client.callTool({ name: 'whoami', arguments: {} });
  t.eq([who.structuredContent?.subject, who.structuredContent?.scopes], ['desktop-user', ['todo:read']],
    'whoami: the named subject with exactly the named scopes');
  const refused = await client.callTool({ name: 'create_todo', arguments: { title: 'no' } });
  t.ok(refused.isError && JSON.stringify(refused.structuredContent) === JSON.stringify(REFUSED('todo:write')),
    'create_todo refused: todo:write was not named', refused);
}, 3);

await t.group('no identity: only public items', async () => {
  const { client, error, stderr } = await launch('anonymous', {});
  t.ok(client, 'connect', `${error?.stack}\n${stderr()}`);
  const refused = await client.callTool({ name: 'list_todos', arguments: {} });
  t.ok(refused.isError && JSON.stringify(refused.structuredContent) === JSON.stringify(REFUSED('todo:read')),
    'list_todos refused without an identity', refused);
}, 2);

await t.group('a token the server does not accept', async () => {
  const { client, error, stderr } = await launch('bad', { MCP_STDIO_TOKEN: 'not-a-token' });
  if (client) await client.close();
  t.ok(!client && /MCP_STDIO_TOKEN: invalid token/.test(stderr()),
    'the server exits before serving, naming MCP_STDIO_TOKEN on stderr', `${error}\n${stderr()}`);
}, 1);

// Closing stdin ends each server.
await Promise.all(clients.map((c) => c.close()));
t.finish();
