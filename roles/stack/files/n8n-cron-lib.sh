# shellcheck shell=bash
# The start every n8n_ops cron wrapper shares (n8n_ops.stack): /usr/local/sbin/n8n-backup, n8n-health and
# n8n-autoscale source it from /usr/local/lib/n8n_ops/n8n-cron-lib.sh, where the stack role's entry point
# install_collection puts it (each role's schedule runs that entry point before it writes its wrapper, so the library
# is there whichever of the roles ran). Functions only; each wrapper calls the ones it needs, in its own order.

# n8n_cron_env COLLECTIONS_PATH: cron's bare environment made fit for ansible-playbook - -u and pipefail (no -e: the
# wrappers check exit codes themselves), files private to root, a fixed PATH, the HOME of the user running the job,
# Ansible quiet and finding the installed copy of the collection under COLLECTIONS_PATH; the working directory /.
n8n_cron_env() {
  set -uo pipefail
  umask 077
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  HOME=$(getent passwd "$(id -un)" | cut -d: -f6)
  export HOME
  export ANSIBLE_COLLECTIONS_PATH="$1"
  export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_PYTHON_INTERPRETER=auto_silent
  cd / || exit 1
}

# n8n_cron_paused MARKER: true while MARKER changed less than 30 minutes ago. n8n_ops.stack.pg_tuning writes
# /etc/n8n_ops/cron-pause while it benchmarks and removes it when done; one left by a play that died is ignored 30
# minutes after its last change. Only the jobs that would disturb a benchmark check it (health check, autoscaler).
n8n_cron_paused() {
  [ -n "$(find "$1" -maxdepth 0 -mmin -30 2>/dev/null)" ]
}

# n8n_cron_lock LOCKFILE: one run at a time - take LOCKFILE's flock on file descriptor 9 without waiting, held until
# the job exits; false when another run holds it (the wrappers then exit 75). pg_tuning waits on the same files.
n8n_cron_lock() {
  exec 9>"$1"
  flock -n 9
}
