#!/usr/bin/env bash
# Install the pinned toolchain into a Python 3.12 venv and the needed collections, with no Galaxy:
# the collections are unpacked from the PyPI `ansible` wheel. Idempotent: a stamp of the inputs' hash.
source "$(dirname "$0")/common.sh"

find_python312() {  # 3.12 or newer (ansible-core 2.21 runs on 3.12 to 3.14)
  local p
  if command -v pyenv >/dev/null 2>&1 && p=$(PYENV_VERSION=3.12.1 pyenv which python3 2>/dev/null); then
    printf '%s\n' "$p"; return
  fi
  for p in python3.12 python3.13 python3.14 /usr/bin/python3.12 /usr/bin/python3.13 /usr/local/bin/python3.12 python3; do
    command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys; assert (3, 12) <= sys.version_info[:2] <= (3, 14)' 2>/dev/null \
      && { command -v "$p"; return; }
  done
  die "Python 3.12 or newer not found: ansible-core 2.21 needs it, and Debian 12 ships 3.11. Install one (pyenv:
  'pyenv install 3.12', or a python3.12/python3.13 package your distribution offers), make it reachable as python3.12
  or python3.13 (or through pyenv), then run this again"
}

# ansible-test sanity runs shellcheck on our scripts only when it is installed.
if ! command -v shellcheck >/dev/null 2>&1; then
  log "installing Debian's shellcheck"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; } \
    || die "could not install shellcheck from the Debian archive"
fi

# promtool validates the health check's Prometheus textfile and alert rules: unpacked from Debian's prometheus
# package (no service installed or started).
if [ ! -x "$N8N_OPS_CACHE/bin/promtool" ]; then
  log "unpacking promtool from Debian's prometheus package"
  debs=$(mktemp -d)
  if ! ( cd "$debs" && { apt-get download -qq prometheus 2>/dev/null \
         || { apt-get update -qq && apt-get download -qq prometheus; }; } ); then
    die "could not download Debian's prometheus package (for promtool)"
  fi
  dpkg-deb -x "$debs"/prometheus_*.deb "$debs/root" || die "could not unpack the prometheus package"
  mkdir -p "$N8N_OPS_CACHE/bin"
  cp "$debs/root/usr/bin/promtool" "$N8N_OPS_CACHE/bin/promtool" || die "no promtool in the prometheus package"
  rm -rf "$debs"
fi

stamp="$N8N_OPS_CACHE/toolchain.stamp"
want=$(cat "$REPO_ROOT/requirements-dev.txt" "$REPO_ROOT/collections-from-ansible.txt" "${BASH_SOURCE[0]}" \
  | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/ansible-playbook" ]; then
  log "toolchain up to date ($VENV)"
  exit 0
fi

py=$(find_python312)
log "creating venv $VENV with $py"
mkdir -p "$N8N_OPS_CACHE"
[ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r "$REPO_ROOT/requirements-dev.txt"

log "unpacking collections from the ansible wheel"
ansible_pin=$(grep -E '^ansible==' "$REPO_ROOT/collections-from-ansible.txt")
wheels="$N8N_OPS_CACHE/wheels"; mkdir -p "$wheels"
compgen -G "$wheels/ansible-${ansible_pin#ansible==}-*.whl" >/dev/null || \
  "$VENV/bin/python" -m pip download -q --no-deps "$ansible_pin" -d "$wheels"
names=$(grep -vE '^(#|ansible==|$)' "$REPO_ROOT/collections-from-ansible.txt")
rm -rf "$N8N_OPS_CACHE/collections"
# shellcheck disable=SC2086
"$VENV/bin/python" "$REPO_ROOT/scripts/unpack_collections.py" "$wheels"/ansible-"${ansible_pin#ansible==}"-*.whl \
  "$N8N_OPS_CACHE/collections" $names
# ansible-core also looks for collections on sys.path: with this, the venv's ansible-playbook finds community.*
# with no ANSIBLE_COLLECTIONS_PATH (as the `ansible` pip package would), e.g. from the repo root as users run it.
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
printf '%s\n' "$N8N_OPS_CACHE/collections" >"$site/n8n_ops_collections.pth"

# ansible-test --venv downloads get-pip from a host we cannot reach: a shim that bootstraps pip with ensurepip.
pip_for_test=$("$VENV/bin/python" - <<'PY'
import re, ansible_test, pathlib
src = (pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
mkdir -p "$HOME/.ansible/test/cache"
cp "$REPO_ROOT/scripts/get_pip_shim.py" "$HOME/.ansible/test/cache/get_pip_${pip_for_test//./_}.py"

printf '%s\n' "$want" >"$stamp"
log "toolchain ready: $("$VENV/bin/ansible" --version | head -n1)"
