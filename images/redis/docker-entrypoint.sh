#!/bin/bash
# Run redis-server as the redis user with the official image's defaults (no protected mode, dir /data).
set -Eeo pipefail
[ "${1:0:1}" = '-' ] && set -- redis-server "$@"
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find /data \! -user redis -exec chown redis:redis '{}' +
  shift
  exec setpriv --reuid=redis --regid=redis --init-groups redis-server --protected-mode no --dir /data "$@"
fi
exec "$@"
