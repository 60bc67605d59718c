// The MCP Inspector CLI (`@modelcontextprotocol/inspector-cli`, the package behind
// `npx @modelcontextprotocol/inspector --cli`) against the demo server with a bearer token.
//
//   node inspector.mjs --url http://127.0.0.1:P/mcp --token JWT --subject SUB [--label dev]
//
// Runs the CLI as a child process per method (as a user would), parses its JSON output and prints
// one line per check and `<peer>: N passed, M failed`.

import { parseArgs } from 'node:util';

import { Checks, inspectorCli, inspectorDetail as detail } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    subject: { type: 'string' },
    label: { type: 'string', default: 'dev' },
  },
});
for (const k of ['url', 'token', 'subject']) if (!opt[k]) throw new Error(`--${k} is required`);

const t = new Checks(`inspector-cli/${opt.label}`);

function inspector(args, { auth = true } = {}) {
  const argv = ['--cli', opt.url, '--transport', 'http', ...args];
  if (auth) argv.push('--header', `Authorization: Bearer ${opt.token}`);
  return inspectorCli(argv);
}

await t.group('tools/list', async () => {
  const r = await inspector(['--method', 'tools/list']);
  t.ok(r.code === 0, 'tools/list exits 0', detail(r));
  const names = (r.json?.tools ?? []).map((x) => x.name).sort();
  t.eq(names, ['approve_expense', 'create_todo', 'delete_todo', 'get_employee', 'get_payroll', 'get_system_status',
    'list_employees', 'list_todos', 'restart_service', 'review_todos', 'set_maintenance_mode', 'update_employee', 'update_todo',
    'whoami'],
  'tools/list: the 14 demo tools');
  const ct = r.json?.tools?.find((x) => x.name === 'create_todo');
  t.ok(ct?.description && ct.inputSchema?.required?.includes('title'), 'tools/list: create_todo has a description and requires title', ct);
  t.ok(r.json?.tools?.find((x) => x.name === 'list_todos')?.annotations?.readOnlyHint === true, 'tools/list: list_todos annotated read-only');
}, 4);

await t.group('tools/call', async () => {
  const who = await inspector(['--method', 'tools/call', '--tool-name', 'whoami']);
  t.ok(who.code === 0 && who.json?.isError === false, 'tools/call whoami exits 0, isError false', detail(who));
  t.eq(who.json?.structuredContent?.subject, opt.subject, 'whoami: subject from the bearer token');

  const title = `inspector ${opt.label} ${Date.now()}`;
  const created = await inspector(['--method', 'tools/call', '--tool-name', 'create_todo', '--tool-arg', `title=${title}`, '--tool-arg', 'due=2026-12-01']);
  t.ok(created.code === 0 && created.json?.isError === false, 'tools/call create_todo (--tool-arg) exits 0', detail(created));
  t.ok(created.json?.structuredContent?.title === title && created.json.structuredContent.due === '2026-12-01' && created.json.structuredContent.done === false,
    'create_todo: structured result echoes title and due', created.json);
  t.eq(JSON.parse(created.json?.content?.[0]?.text ?? 'null'), created.json?.structuredContent, 'create_todo: text content = the same JSON');

  const listed = await inspector(['--method', 'tools/call', '--tool-name', 'list_todos', '--tool-arg', 'include_done=false']);
  t.ok(listed.code === 0 && listed.json?.structuredContent?.todos?.some((x) => x.title === title), 'tools/call list_todos (boolean --tool-arg) shows the item', detail(listed));

  const bad = await inspector(['--method', 'tools/call', '--tool-name', 'update_todo', '--tool-arg', 'id=not-a-number']);
  // The CLI coerces by the schema: Number('not-a-number') is NaN, sent as null.
  t.ok(bad.code === 0 && bad.json?.isError === true && /^Invalid arguments for tool `update_todo`/.test(bad.json.content?.[0]?.text ?? ''),
    'tools/call with a wrong argument type: isError result naming the tool', detail(bad));
}, 7);

await t.group('no token', async () => {
  const r = await inspector(['--method', 'tools/list'], { auth: false });
  t.ok(r.code !== 0 && /invalid_token|401|Authentication required/i.test(r.stdout + r.stderr), 'without --header the CLI fails on the 401', detail(r));
}, 1);

t.finish();
