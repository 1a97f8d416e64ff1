#!/usr/bin/env bash
# Every test: ansible-lint (production, offline), ansible-test sanity, unit tests, module integration tests
# against real containers, and the Molecule scenarios (real nested Docker host, real n8n in queue mode).
# Usage: scripts/test.sh [stage ...]   stages: lint sanity units integration molecule:<scenario> (default: all)
source "$(dirname "$0")/common.sh"
set +e
"$REPO_ROOT/scripts/install-toolchain.sh" || exit 1
"$REPO_ROOT/scripts/bootstrap-platform.sh" || exit 1
activate_venv
cd "$COLLECTION_DIR" || exit 1
export PYTHONPATH="$COLLECTION_LINK_ROOT${PYTHONPATH:+:$PYTHONPATH}"

# Every scenario, listed (a renamed molecule.yml must fail the run, not drop its scenario silently).
SCENARIOS=(stack backup pg_tuning worker_scaling monitoring hardening)

# The whole run: first three lanes side by side - the static stages and the module integration tests (host engine),
# and two lanes of Molecule scenarios, each with its own nested engine (N8N_OPS_TEST_LANE picks its volume); a
# scenario spends much of its time waiting (n8n starting, Wait nodes, Bull's stalled check), so lanes overlap well
# on 2 cores. Then pg_tuning alone: its benchmark gate compares pgbench runs, and a neighbour lane's load made a
# good plan look 8x slower in p95 (measured). Lanes sized from measured scenario times (CI, lanes: backup 2428 s,
# worker_scaling 1583, monitoring ~1000, hardening ~600, stack 225; pg_tuning alone 1097). TEST_SERIAL=1: one by one.
LANE_A=(backup hardening)
LANE_B=(worker_scaling monitoring stack)
ALONE=(pg_tuning)

stages=("$@")
static=(); molecule=()
if [ ${#stages[@]} -eq 0 ]; then
  static=(lint sanity units integration)
  for scenario in "${SCENARIOS[@]}"; do molecule+=("molecule:$scenario"); done
fi

run_sanity() (  # ansible-test resolves symlinks, so it runs in a copy of the tracked files
  cd "$(sanity_tree)" && ansible-test sanity --venv --python 3.12 --color no
)

exec 3>&2   # progress lines reach the terminal even from a lane whose output goes to its log
LOGDIR=$(mktemp -d); REPORT=$LOGDIR/report; : > "$REPORT"; trap 'rm -rf "$LOGDIR"' EXIT
stage_log() { echo "$LOGDIR/stage.${1//[^a-z_]/_}.log"; }
run_stage() {  # also keeps the stage's own output, for the failure excerpt at the end
  local name=$1; shift
  local t0=$SECONDS line
  log "=== $name"
  [ -n "${N8N_OPS_TEST_LANE:-}" ] && log "=== $name (lane ${N8N_OPS_TEST_LANE})" 2>&3
  if "$@" > >(tee "$(stage_log "$name")") 2>&1; then line="ok   $name $((SECONDS - t0))s"; else line="FAIL $name $((SECONDS - t0))s"; fi
  echo "$line" >> "$REPORT"
  [ -n "${N8N_OPS_TEST_LANE:-}" ] && log "$line" 2>&3
  return 0
}

run_one() {
  local stage=$1
  case $stage in
    lint) run_stage lint ansible-lint --offline --profile production ;;
    sanity) run_stage sanity run_sanity ;;
    units) run_stage units python -m pytest -q -p no:cacheprovider tests/unit ;;
    integration) run_stage integration python -m pytest -q -p no:cacheprovider tests/integration ;;
    molecule:*)
      if [ -f "molecule/${stage#molecule:}/molecule.yml" ]; then
        run_stage "$stage" molecule test -s "${stage#molecule:}"
      else
        log "no molecule/${stage#molecule:}/molecule.yml"; echo "FAIL $stage (missing)" >> "$REPORT"
      fi ;;
    *) log "unknown stage $stage"; echo "FAIL $stage (unknown)" >> "$REPORT" ;;
  esac
}

run_lane() {  # lane name, stages...; output to $LOGDIR/<lane>.log
  local lane=$1; shift
  ( export N8N_OPS_TEST_LANE=$lane
    for stage in "$@"; do run_one "$stage"; done ) > "$LOGDIR/$lane.log" 2>&1
}

t_all=$SECONDS
if [ ${#static[@]} -gt 0 ] && [ "${TEST_SERIAL:-0}" != 1 ]; then
  laned=$(printf '%s\n' "${LANE_A[@]}" "${LANE_B[@]}" "${ALONE[@]}" | sort | tr '\n' ' ')
  listed=$(printf '%s\n' "${SCENARIOS[@]}" | sort | tr '\n' ' ')
  [ "$laned" = "$listed" ] || { log "LANE_A + LANE_B + ALONE ($laned) must be exactly SCENARIOS ($listed)"; exit 1; }
  log "three lanes side by side: ${static[*]} | ${LANE_A[*]} | ${LANE_B[*]}; then ${ALONE[*]} alone; each lane's output follows at the end"
  run_lane static "${static[@]}" & pids=($!)
  run_lane a "${LANE_A[@]/#/molecule:}" & pids+=($!)
  # A lane's first scenario loads ~4 GB of images into its engine; two loads at once took 10 min each instead of 2,
  # so lane b starts when lane a's first scenario has its images (it reached converge), or after 10 minutes.
  for _ in $(seq 60); do
    grep -aq 'converge.*Executing' "$LOGDIR/a.log" 2>/dev/null && break
    kill -0 "${pids[1]}" 2>/dev/null || break
    sleep 10
  done
  run_lane b "${LANE_B[@]/#/molecule:}" & pids+=($!)
  alive() { local p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
  beat=0
  while alive; do   # a heartbeat every 5 minutes while any lane runs
    sleep 10; beat=$((beat + 1))
    [ $((beat % 30)) -eq 0 ] && log "still running ($(( (SECONDS - t_all) / 60 )) min): $(grep -c . "$REPORT") stages done" 2>&3
  done
  wait "${pids[@]}"
  for lane in static a b; do
    log "=== output of lane $lane"
    cat "$LOGDIR/$lane.log"
  done
  for scenario in "${ALONE[@]}"; do N8N_OPS_TEST_LANE=a run_one "molecule:$scenario"; done   # lane a's images
else
  for stage in "${static[@]}" "${molecule[@]}" "${stages[@]}"; do run_one "$stage"; done
fi

# Why each failed stage failed, where a CI page that shows only the end of the output still has it: the last
# Ansible task failure ("[ERROR]: Task failed..." with its origin, else "fatal: [host]") and the lines after it,
# else the stage's last lines (lint, pytest). Colours stripped.
failure_excerpt() {
  local log=$1 plain at
  plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
  at=$(grep -anE '\[ERROR\]: |Traceback' <<< "$plain" | tail -n 1 | cut -d: -f1)
  [ -n "$at" ] || at=$(grep -anE 'fatal: \[' <<< "$plain" | tail -n 1 | cut -d: -f1)
  if [ -n "$at" ]; then   # without the echoed source lines and empty lines, so the message and stderr fit
    sed -n "${at},$((at + 60))p" <<< "$plain" | grep -vE '^[ │]*([0-9]+ |\^ column|$)' | head -n 10
    sed -n "${at},$((at + 80))p" <<< "$plain" | grep -m1 -A4 -E '^[ │]*stderr: ' | head -n 5
  else tail -n 10 <<< "$plain"; fi | cut -c1-220
}
cat "$REPORT"
grep '^FAIL' "$REPORT" | head -n 2 | while read -r _ name _; do
  [ -f "$(stage_log "$name")" ] || continue
  echo "--- why $name failed:"; failure_excerpt "$(stage_log "$name")"
done
passed=$(grep -c '^ok ' "$REPORT"); failed=$(grep -c '^FAIL' "$REPORT")
# A lane that died silently reports no line for its remaining stages: every stage asked for must say ok.
expected=$(( ${#static[@]} + ${#molecule[@]} + ${#stages[@]} ))
missing=$(( expected - passed - failed ))
if [ "$missing" -gt 0 ]; then
  echo "$missing of $expected stages reported nothing (a lane died?):"
  printf '%s\n' "${static[@]}" "${molecule[@]}" "${stages[@]}" | grep -vxF -f <(awk '{print $2}' "$REPORT") || true
fi
echo "stages: $passed passed, $((failed + (missing > 0 ? missing : 0))) failed ($((SECONDS - t_all))s)"
[ "$failed" -eq 0 ] && [ "$passed" -eq "$expected" ]
