#!/bin/bash
# PID 1 of the test Docker host: start cron and dockerd (as a WSL2 box without systemd would), then wait.
set -u
cron
dockerd --storage-driver=overlay2 >/var/log/dockerd.log 2>&1 &
trap 'kill -TERM $(jobs -p) 2>/dev/null; wait' TERM INT
wait
