"""Small wrappers around the docker CLI for the integration tests (containers are named utest-*)."""

import subprocess
import time


def docker(*args, check=True, **kwargs):
    return subprocess.run(['docker'] + list(args), capture_output=True, text=True, check=check, **kwargs)


def start_container(name, image, *run_args, command=()):
    docker('rm', '-fv', name, check=False)
    docker('run', '-d', '--name', name, *run_args, image, *command)
    return name


def remove_container(name):
    docker('rm', '-fv', name, check=False)


def wait_for(predicate, timeout=60, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError('timed out waiting for %s' % what)


def wait_postgres(name):
    # the image's init scripts restart the server once; wait for the final one (listening on TCP too)
    wait_for(lambda: docker('exec', name, 'pg_isready', '-h', '127.0.0.1', '-U', 'postgres', check=False)
             .returncode == 0, what='postgres in %s' % name)


def psql(name, sql, db='n8n'):
    res = docker('exec', name, 'psql', '-X', '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-Atc', sql)
    return res.stdout.strip()
