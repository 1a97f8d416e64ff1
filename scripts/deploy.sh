#!/usr/bin/env bash
# The main job on this machine: toolchain, Docker engine + Compose + images (built offline when needed),
# then deploy the n8n queue-mode stack on the local engine and print where n8n answers.
# Extra arguments go to ansible-playbook (e.g. -e stack_worker_replicas=3).
source "$(dirname "$0")/common.sh"
"$REPO_ROOT/scripts/install-toolchain.sh"
"$REPO_ROOT/scripts/bootstrap-platform.sh"
activate_venv
cd "$COLLECTION_DIR" || exit 1
ansible-playbook -i "${N8N_OPS_INVENTORY:-inventory/local}" playbooks/site.yml "$@"
