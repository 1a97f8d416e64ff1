# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Called by /usr/local/sbin/n8n-backup when the backup playbook exited non-zero.

If the playbook recorded this failure itself (status.json says failed, written after the run started), the backup
role has already alerted: do nothing. Otherwise the run died before the role could report (ansible missing, the
collection gone, a timeout, a crash): record the failure in status.json, keeping last_good_*, and POST the alert.
Usage: n8n-backup-report CONFIG_JSON START_EPOCH EXIT_CODE
"""

import datetime
import json
import os
import socket
import sys
import tempfile
import urllib.request


def read_json(path):
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def recorded_by_playbook(status, start):
    try:
        when = datetime.datetime.fromisoformat(status.get('time', '')).timestamp()
    except (TypeError, ValueError):
        return False
    return status.get('result') == 'failed' and when >= start


def write_status(path, status):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.status.')
    with os.fdopen(fd, 'w', encoding='utf-8') as f:
        json.dump(status, f, indent=4, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(config_path, start, rc):
    config = read_json(config_path)
    status_path = os.path.join(config.get('backup_root', '/var/backups/n8n'), 'status.json')
    status = read_json(status_path)
    if recorded_by_playbook(status, start):
        return 0
    error = ('the backup playbook exited with %d before the backup role could report (timed out: %s); see %s'
             % (rc, rc in (124, 137), config.get('log_file', 'the log')))
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    status.update(result='failed', time=now, set='', task='n8n-backup wrapper', error=error)
    problems = []
    url = config.get('webhook_url') or ''
    if url:
        body = json.dumps({'event': 'n8n_backup_failed', 'host': socket.gethostname(), 'set': '',
                           'task': 'n8n-backup wrapper', 'error': error, 'time': now}).encode()
        req = urllib.request.Request(url, data=body, headers={'Content-Type': 'application/json'}, method='POST')
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - the operator's own URL
                status['alerted'] = 200 <= resp.status < 300
        except OSError as e:
            status['alerted'] = False
            problems.append('alert webhook failed: %s' % e.__class__.__name__)
    try:
        write_status(status_path, status)
    except OSError as e:
        problems.append('cannot write %s: %s' % (status_path, e))
    for problem in problems:
        print('n8n-backup-report: ' + problem, file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3])))
