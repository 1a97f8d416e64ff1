"""What the benchmarks that deploy their own compose project share: logging, commands, the project's containers,
refusing to take over someone else's project, and tearing it down. Python stdlib only."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time


def log(msg):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), msg), flush=True)


def output(argv, what, stdin=None, timeout=600, cwd=None):
    """stdout of a command; raises with its stderr when it fails."""
    res = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd)
    if res.returncode != 0:
        raise RuntimeError('%s failed (rc=%d): %s' % (what, res.returncode, (res.stderr or res.stdout)[-2000:]))
    return res.stdout


def containers(project, service=None):
    """Ids of the project's containers (of one compose service), also stopped or restarting ones."""
    argv = ['docker', 'ps', '-aq', '--filter', 'label=com.docker.compose.project=' + project]
    if service:
        argv += ['--filter', 'label=com.docker.compose.service=' + service]
    return output(argv, 'docker ps').split()


def refuse_leftovers(project_dir, project, port):
    """Never take over someone else's directory, project or port."""
    if os.path.exists(project_dir):
        raise RuntimeError('%s exists: remove it (docker compose down -v there) first, or it is not ours'
                           % project_dir)
    if containers(project):
        raise RuntimeError('containers of compose project %s exist: remove them first' % project)
    with socket.socket() as s:
        if s.connect_ex(('127.0.0.1', port)) == 0:
            raise RuntimeError('127.0.0.1:%d is in use' % port)


def tear_down(project_dir, project):
    log('tearing down (docker compose down -v, %s removed)' % project_dir)
    subprocess.run(['docker', 'compose', '-p', project, 'down', '-v', '--remove-orphans'],
                   cwd=project_dir if os.path.isdir(project_dir) else '/', capture_output=True, check=False)
    shutil.rmtree(project_dir, ignore_errors=True)
