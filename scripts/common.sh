# Shared helpers for the project's scripts. Source it; do not run it.
# shellcheck shell=bash
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N8N_OPS_CACHE="${N8N_OPS_CACHE:-$HOME/.cache/n8n_ops}"
VENV="${N8N_OPS_VENV:-$N8N_OPS_CACHE/venv}"
export REPO_ROOT N8N_OPS_CACHE VENV

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The Debian mirror this machine's apt already uses (never hard-coded in the repo).
apt_mirror() {
  local uri=""
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    uri=$(awk '
      /^URIs:/ {u=$2}
      /^Suites:/ {for (i=2;i<=NF;i++) if ($i !~ /-(security|updates|backports)$/) s=1}
      /^$/ {if (u!="" && s) {print u; exit} u=""; s=0}
      END {if (u!="" && s) print u}' /etc/apt/sources.list.d/*.sources | head -n1)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $3 !~ /-(security|updates|backports)$/ {print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "could not read a Debian mirror from /etc/apt/sources.list(.d)"
  printf '%s\n' "${uri%/}"
}

# One value from a role's defaults file: the single place versions are pinned.
role_default() {
  local role=$1 key=$2
  sed -n "s/^${key}: *\"\{0,1\}\([^\"#]*\)\"\{0,1\}.*$/\1/p" "$REPO_ROOT/roles/$role/defaults/main.yml" | head -n1 | tr -d ' '
}

# Content hash of files/dirs plus extra strings (build args): image tags derive from it.
content_hash() {
  local extra=$1; shift
  { printf '%s\n' "$extra"; find "$@" -type f -print0 | sort -z | xargs -0 sha256sum | awk '{print $1}'; } \
    | sha256sum | cut -c1-12
}

activate_venv() {
  [ -x "$VENV/bin/ansible" ] || die "toolchain missing: run scripts/install-toolchain.sh first"
  # shellcheck disable=SC1091
  source "$VENV/bin/activate"
  link_collection
  export ANSIBLE_COLLECTIONS_PATH="$COLLECTION_LINK_ROOT:$N8N_OPS_CACHE/collections"
  export ANSIBLE_CONFIG="$REPO_ROOT/ansible.cfg"
  export PATH="$N8N_OPS_CACHE/bin:$PATH"  # promtool
}

# Ansible finds a collection only at .../ansible_collections/<ns>/<name>: link this checkout there
# (one link dir per checkout path, so a CI clone and a work tree never fight over it).
link_collection() {
  COLLECTION_LINK_ROOT="/tmp/n8n_ops-$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-8)"
  COLLECTION_DIR="$COLLECTION_LINK_ROOT/ansible_collections/n8n_ops/stack"
  mkdir -p "$(dirname "$COLLECTION_DIR")"
  ln -sfn "$REPO_ROOT" "$COLLECTION_DIR"
  export COLLECTION_LINK_ROOT COLLECTION_DIR
}

# ansible-test resolves the working directory physically, so a symlink will not do: run it in a copy of the
# tracked (and untracked, not ignored) files under .../ansible_collections/n8n_ops/stack.
sanity_tree() {
  local dest="$N8N_OPS_CACHE/sanity/ansible_collections/n8n_ops/stack"
  rm -rf "$dest" && mkdir -p "$dest"
  # collections/ holds only the link that makes the checkout n8n_ops.stack for ansible.cfg; a copy needs none
  (cd "$REPO_ROOT" && git ls-files -co --exclude-standard -z | grep -zv '^collections/' | tar --null -T - -cf -) \
    | tar -C "$dest" -xf -
  printf '%s\n' "$dest"
}
