// Every tool schema the demo serves, compiled by a JSON Schema 2020-12 validator (ajv) that
// refuses unknown keywords and unknown formats, with the standard formats known (ajv-formats).
// A non-standard `format` (schemars' `uint64`, `int32`, `double` …) fails here; in clients that
// validate schemas it is a warning on every tools/list. A structured result is then validated
// against its tool's output schema by the same validator.
//
//   node schemas.mjs --label dev --url http://127.0.0.1:PORT/mcp --token TOKEN

import { parseArgs } from 'node:util';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { Checks } from './lib.mjs';

const { values: opt } = parseArgs({
  options: { label: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' } },
});
const t = new Checks(`schemas/${opt.label}`);

/** A strict validator: unknown keywords and formats are errors, not warnings. */
function strictAjv() {
  const ajv = new Ajv2020({ strict: false, strictSchema: true, validateFormats: true, allErrors: true });
  addFormats(ajv);
  return ajv;
}

/** The tools whose `which` schema does not compile, with why. */
function failing(tools, which) {
  return tools
    .filter((tool) => tool[which])
    .map((tool) => {
      try {
        strictAjv().compile(tool[which]);
        return undefined;
      } catch (error) {
        return `${tool.name}: ${error.message}`;
      }
    })
    .filter(Boolean);
}

async function schemas() {
  const transport = new StreamableHTTPClientTransport(new URL(opt.url), {
    requestInit: { headers: { Authorization: `Bearer ${opt.token}` } },
  });
  const client = new Client({ name: 'e2e-schemas', version: '1.0.0' });
  await client.connect(transport);
  const { tools } = await client.listTools();
  t.ok(tools.length > 0 && tools.every((x) => x.inputSchema), `tools/list: ${tools.length} tools, each with an input schema`, tools);
  const input = failing(tools, 'inputSchema');
  t.ok(input.length === 0, `every input schema compiles strictly (${tools.length})`, input);
  const withOutput = tools.filter((x) => x.outputSchema);
  const output = failing(tools, 'outputSchema');
  t.ok(withOutput.length > 0 && output.length === 0, `every output schema compiles strictly (${withOutput.length})`, output);

  const listTodos = tools.find((x) => x.name === 'list_todos');
  const result = await client.callTool({ name: 'list_todos', arguments: {} });
  const validate = strictAjv().compile(listTodos.outputSchema);
  t.ok(!result.isError && validate(result.structuredContent), 'list_todos structured result validates against its output schema',
    { result, errors: validate.errors });
  await client.close();
}

await t.group('tool schemas under a strict JSON Schema 2020-12 validator', schemas, 4);
t.finish();
