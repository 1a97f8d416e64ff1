#!/bin/bash
# The test Docker host's init (under tini): start cron and dockerd (as a WSL2 box without systemd would), then stay:
# a test may stop the engine and start it again, as a reboot does (molecule/hardening/tasks/engine_restart.yml).
set -u
cron
dockerd --storage-driver=overlay2 >/var/log/dockerd.log 2>&1 &
stop() {  # the container is stopped: stop whichever dockerd runs now, and wait for its containers to stop
  pkill -TERM -x dockerd
  while pgrep -x dockerd > /dev/null; do sleep 1; done
  exit 0
}
trap stop TERM INT
while :; do sleep 3600 & wait $!; done
