#!/usr/bin/env bash
# Every test: ansible-lint (production, offline), ansible-test sanity, unit tests, module integration tests
# against real containers, and the Molecule scenarios (real nested Docker host, real n8n in queue mode).
# Usage: scripts/test.sh [stage ...]   stages: lint sanity units integration molecule:<scenario> (default: all)
source "$(dirname "$0")/common.sh"
set +e
"$REPO_ROOT/scripts/install-toolchain.sh" || exit 1

# Every scenario, listed (a renamed molecule.yml must fail the run, not drop its scenario silently).
SCENARIOS=(stack backup pg_tuning worker_scaling monitoring hardening)

# The whole run (docs/TESTING.md has the measured shape): the images build (n8n ~15 min on a fresh machine)
# while lint, sanity and units run; then side by side the module integration tests (host engine) and two lanes
# of Molecule scenarios, each with its own nested engine (N8N_OPS_TEST_LANE picks its volume) - a scenario spends
# much of its time waiting (n8n starting, Wait nodes, Bull's stalled check), so two lanes overlap well on 2 cores;
# a third lane was measured too: load average ~10, every scenario 1.5-2x slower, no gain.
# Then pg_tuning's tuning alone: its benchmark gate compares pgbench runs, and a neighbour lane's load made a good
# plan look 8x slower in p95 (measured); its create + prepare (the stack deployed) run at the end of lane b, so only
# converge, idempotence and verify wait for quiet CPUs. Lanes balanced from measured scenario times (backup ~1440 s
# + hardening ~480; worker_scaling ~1030 + monitoring ~440 + stack ~120 + pg_tuning's stack ~150).
# TEST_SERIAL=1: one by one.
LANE_A=(backup hardening)
LANE_B=(worker_scaling monitoring stack)
ALONE=(pg_tuning)

stages=("$@")
static=(); molecule=(); images=(); prepares=()
if [ ${#stages[@]} -eq 0 ]; then
  static=(lint sanity units integration)
  for scenario in "${SCENARIOS[@]}"; do molecule+=("molecule:$scenario"); done
fi
laned=0
[ ${#static[@]} -gt 0 ] && [ "${TEST_SERIAL:-0}" != 1 ] && laned=1
if [ "$laned" = 1 ]; then
  SKIP_IMAGES=1 "$REPO_ROOT/scripts/bootstrap-platform.sh" || exit 1   # engine + Compose; images build below
  images=(images); prepares=("${ALONE[@]/#/prepare:}")
else
  "$REPO_ROOT/scripts/bootstrap-platform.sh" || exit 1
fi
activate_venv
cd "$COLLECTION_DIR" || exit 1
export PYTHONPATH="$COLLECTION_LINK_ROOT${PYTHONPATH:+:$PYTHONPATH}"

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
    images) run_stage images "$REPO_ROOT/images/build.sh" all ;;
    prepare:*) run_stage "$stage" molecule_prepare "${stage#prepare:}" ;;
    molecule:*)
      if grep -q "^ok   prepare:${stage#molecule:} " "$REPORT"; then
        run_stage "$stage" molecule_after_prepare "${stage#molecule:}"
      elif grep -q "^FAIL prepare:${stage#molecule:} " "$REPORT"; then
        echo "FAIL $stage (its prepare failed)" >> "$REPORT"
      elif [ -f "molecule/${stage#molecule:}/molecule.yml" ]; then
        run_stage "$stage" molecule test -s "${stage#molecule:}"
      else
        log "no molecule/${stage#molecule:}/molecule.yml"; echo "FAIL $stage (missing)" >> "$REPORT"
      fi ;;
    *) log "unknown stage $stage"; echo "FAIL $stage (unknown)" >> "$REPORT" ;;
  esac
}

# A scenario split in two: create + prepare (the stack deployed) in a lane, the rest later, on quiet CPUs.
molecule_prepare() { molecule destroy -s "$1" && molecule create -s "$1"; }   # create's sequence ends with prepare
molecule_after_prepare() {
  local rc=0
  molecule converge -s "$1" && molecule idempotence -s "$1" && molecule verify -s "$1" || rc=1
  molecule destroy -s "$1" || rc=1
  return "$rc"
}

run_lane() {  # lane name, stages...; output to $LOGDIR/<lane>.log
  local lane=$1; shift
  ( export N8N_OPS_TEST_LANE=$lane
    for stage in "$@"; do run_one "$stage"; done ) > "$LOGDIR/$lane.log" 2>&1
}

t_all=$SECONDS
start_after_converge() {  # lane, stages...: starts when the previous lane's first scenario has its images loaded
  # A lane's first scenario loads ~4 GB of images into its engine; two loads at once took 10 min each instead of 2,
  # so the next lane starts when the previous one reached converge, or after 10 minutes.
  local previous=${pids[${#pids[@]}-1]} previous_log=$LOGDIR/${lanes[${#lanes[@]}-1]}.log
  for _ in $(seq 60); do
    grep -aq 'converge.*Executing' "$previous_log" 2>/dev/null && break
    kill -0 "$previous" 2>/dev/null || break
    sleep 10
  done
  run_lane "$@" & pids+=($!); lanes+=("$1")
}
if [ "$laned" = 1 ]; then
  laned_list=$(printf '%s\n' "${LANE_A[@]}" "${LANE_B[@]}" "${ALONE[@]}" | sort | tr '\n' ' ')
  listed=$(printf '%s\n' "${SCENARIOS[@]}" | sort | tr '\n' ' ')
  [ "$laned_list" = "$listed" ] || { log "LANE_A + LANE_B + ALONE ($laned_list) must be exactly SCENARIOS ($listed)"; exit 1; }
  log "images build while lint, sanity and units run; then side by side: integration | ${LANE_A[*]} | ${LANE_B[*]} + ${ALONE[*]}'s stack; then ${ALONE[*]}'s tuning alone; each lane's output follows at the end"
  run_lane static lint sanity units & pids=($!); lanes=(static)
  run_one images   # in the foreground: its progress (a line a minute per image) is the run's progress meanwhile
  if grep -q '^ok   images' "$REPORT"; then
    run_lane host integration & pids+=($!); lanes+=(host)
    run_lane a "${LANE_A[@]/#/molecule:}" & pids+=($!); lanes+=(a)
    start_after_converge b "${LANE_B[@]/#/molecule:}" "${ALONE[@]/#/prepare:}"
  fi
  alive() { local p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
  beat=0
  while alive; do   # a heartbeat every 5 minutes while any lane runs
    sleep 10; beat=$((beat + 1))
    [ $((beat % 30)) -eq 0 ] && log "still running ($(( (SECONDS - t_all) / 60 )) min): $(grep -c . "$REPORT") stages done" 2>&3
  done
  wait "${pids[@]}"
  for lane in "${lanes[@]}"; do
    log "=== output of lane $lane"
    cat "$LOGDIR/$lane.log"
  done
  if grep -q '^ok   images' "$REPORT"; then
    for scenario in "${ALONE[@]}"; do N8N_OPS_TEST_LANE=b run_one "molecule:$scenario"; done   # prepared in lane b
  fi
else
  for stage in "${static[@]}" "${molecule[@]}" "${stages[@]}"; do run_one "$stage"; done
fi

# Where each scenario's time went (profile_tasks' elapsed time per phase), for docs/TESTING.md's table.
phase_table() {
  local log
  for log in "$LOGDIR"/stage.molecule_*.log "$LOGDIR"/stage.prepare_*.log; do
    [ -f "$log" ] && python3 "$REPO_ROOT/scripts/phase_times.py" "$log"
  done | awk '{t[$1" "$2]+=$3; s[$1]=1; tot[$1]+=$3}
    END {printf "%-16s %7s %7s %8s %11s %7s %7s %7s\n", "scenario", "create", "prepare", "converge", "idempotence", "verify", "other", "total"
         for (n in s) printf "%-16s %7d %7d %8d %11d %7d %7d %7d\n", n, t[n" create"], t[n" prepare"], t[n" converge"],
           t[n" idempotence"], t[n" verify"],
           tot[n]-t[n" create"]-t[n" prepare"]-t[n" converge"]-t[n" idempotence"]-t[n" verify"], tot[n]}'
}
echo "seconds per Molecule phase:"; phase_table

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
expected=$(( ${#images[@]} + ${#prepares[@]} + ${#static[@]} + ${#molecule[@]} + ${#stages[@]} ))
missing=$(( expected - passed - failed ))
if [ "$missing" -gt 0 ]; then
  echo "$missing of $expected stages reported nothing (a lane died?):"
  printf '%s\n' "${images[@]}" "${prepares[@]}" "${static[@]}" "${molecule[@]}" "${stages[@]}" | grep -vxF -f <(awk '{print $2}' "$REPORT") || true
fi
echo "stages: $passed passed, $((failed + (missing > 0 ? missing : 0))) failed ($((SECONDS - t_all))s)"
[ "$failed" -eq 0 ] && [ "$passed" -eq "$expected" ]
