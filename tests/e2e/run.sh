#!/usr/bin/env bash
# End-to-end suites. Each suite is tests/e2e/<suite>/run.sh: it installs what it needs, starts and
# stops its own servers, prints its own closing line `<suite>: N passed, M failed` (or plain
# `N passed, M failed`) and exits non-zero on failure. This driver runs the named suites (all by
# default), prints one summary line per suite, then `N passed, M failed` over all of them, and exits
# 1 if any suite failed.
#
#   bash tests/e2e/run.sh                  every suite
#   bash tests/e2e/run.sh clients          only these
#   E2E_CLIENTS_ARGS='ts-sdk' bash tests/e2e/run.sh clients   arguments to a suite: E2E_<SUITE>_ARGS
#
# To add a suite: create tests/e2e/<name>/run.sh and add <name> to SUITES.

set -uo pipefail

SUITES=(
  clients
  conformance
  parity
)

E2E=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
selected=("$@")
((${#selected[@]})) || selected=("${SUITES[@]}")

total_p=0
total_f=0
summary=()
for suite in "${selected[@]}"; do
  script="$E2E/$suite/run.sh"
  if [[ ! -f $script ]]; then
    echo "not ok - no suite $suite ($script)"
    total_f=$((total_f + 1))
    summary+=("$(printf '%-14s missing' "$suite")")
    continue
  fi
  echo "## suite $suite"
  args_var="E2E_$(tr '[:lower:]-' '[:upper:]_' <<<"$suite")_ARGS"
  read -r -a args <<<"${!args_var:-}"
  out=$(mktemp)
  started=$SECONDS
  bash "$script" "${args[@]}" | tee "$out"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^([^ ]+: )?[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  rm -f "$out"
  p=0
  f=0
  if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    p=${BASH_REMATCH[1]}
    f=${BASH_REMATCH[2]}
  fi
  # A suite that failed without saying so, or said nothing, counts as one failure.
  if [[ -z $line ]] || { [[ $rc != 0 ]] && ((f == 0)); }; then
    f=$((f + 1))
  fi
  total_p=$((total_p + p))
  total_f=$((total_f + f))
  summary+=("$(printf '%-14s %5d passed, %d failed (exit %d, %ds)' "$suite" "$p" "$f" "$rc" $((SECONDS - started)))")
done

echo "## e2e summary"
for s in "${summary[@]}"; do echo "#  $s"; done
echo "$total_p passed, $total_f failed"
((total_f == 0))
