import os
import sys

from ansible_collections.n8n_ops.stack.plugins.module_utils import docker_exec


def test_exec_argv_puts_only_env_names_on_command_line():
    argv = docker_exec.exec_argv('c1', ['redis-cli', 'PING'], interactive=True, env_names=['REDISCLI_AUTH'])
    assert argv == ['docker', 'exec', '-i', '-e', 'REDISCLI_AUTH', 'c1', 'redis-cli', 'PING']


def test_plan_records_redirections(tmp_path):
    ex = docker_exec.ContainerExec('c1', 'podman')
    ex.plan(['pg_dump'], stdout_name='/b/.x partial')
    assert ex.commands == ["podman exec c1 pg_dump > '/b/.x partial'"]


def test_run_streams_stdout_to_file_and_captures_stderr(tmp_path):
    out = tmp_path / 'out'
    script = 'import sys; sys.stdout.write("data"); sys.stderr.write("warn")'
    with open(out, 'wb') as f:
        res = docker_exec.run([sys.executable, '-c', script], stdout=f)
    assert out.read_bytes() == b'data' and res.stdout == b'' and res.stderr_text == 'warn' and res.ok


def test_run_passes_env_and_stdin(tmp_path):
    src = tmp_path / 'in'
    src.write_bytes(b'abc')
    script = 'import os, sys; sys.stdout.write(os.environ["UTEST_X"] + sys.stdin.read())'
    with open(src, 'rb') as f:
        res = docker_exec.run([sys.executable, '-c', script], stdin=f, env={'UTEST_X': 'v:'})
    assert res.stdout_text == 'v:abc' and 'UTEST_X' not in os.environ


def test_run_timeout():
    res = docker_exec.run([sys.executable, '-c', 'import time; time.sleep(5)'], timeout=0.2)
    assert res.timed_out and not res.ok


def test_missing_binary_raises():
    try:
        docker_exec.run(['/nonexistent/docker'])
    except docker_exec.DockerExecError as e:
        assert 'nonexistent' in str(e)
    else:
        raise AssertionError('expected DockerExecError')
