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
SCENARIOS=(stack backup pg_tuning worker_scaling)

stages=("$@")
if [ ${#stages[@]} -eq 0 ]; then
  stages=(lint sanity units integration)
  for scenario in "${SCENARIOS[@]}"; do stages+=("molecule:$scenario"); done
fi

run_sanity() (  # ansible-test resolves symlinks, so it runs in a copy of the tracked files
  cd "$(sanity_tree)" && ansible-test sanity --venv --python 3.12 --color no
)

passed=0; failed=0; report=()
run_stage() {
  local name=$1; shift
  local t0=$SECONDS
  log "=== $name"
  if "$@"; then passed=$((passed + 1)); report+=("ok   $name $((SECONDS - t0))s")
  else failed=$((failed + 1)); report+=("FAIL $name $((SECONDS - t0))s"); fi
}

for stage in "${stages[@]}"; do
  case $stage in
    lint) run_stage lint ansible-lint --offline --profile production ;;
    sanity) run_stage sanity run_sanity ;;
    units) run_stage units python -m pytest -q -p no:cacheprovider tests/unit ;;
    integration) run_stage integration python -m pytest -q -p no:cacheprovider tests/integration ;;
    molecule:*)
      if [ -f "molecule/${stage#molecule:}/molecule.yml" ]; then
        run_stage "$stage" molecule test -s "${stage#molecule:}"
      else
        log "no molecule/${stage#molecule:}/molecule.yml"; failed=$((failed + 1)); report+=("FAIL $stage (missing)")
      fi ;;
    *) log "unknown stage $stage"; failed=$((failed + 1)) ;;
  esac
done

printf '%s\n' "${report[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
