"""stack_audit against a scripted docker CLI and fake host facts; no Docker needed."""

import contextlib
import json
import os
from unittest import mock

import pytest
from ansible.module_utils.common import warnings as module_warnings

from ansible_collections.n8n_ops.stack.plugins.module_utils.docker_exec import ExecResult
from ansible_collections.n8n_ops.stack.plugins.modules import stack_audit

from module_args import patch_module_args

try:
    from ansible.module_utils import _internal as module_internals
except ImportError:  # ansible-core < 2.19
    module_internals = None

SECRET = 'Fake-Redis-Passw0rd-for-the-test'


def container(name, service, user='', **host_config):
    hc = dict(CapDrop=None, Privileged=False, NetworkMode='n8n_default', Memory=268435456, CpuShares=0,
              ReadonlyRootfs=False, PortBindings={}, RestartPolicy=dict(Name='unless-stopped'), SecurityOpt=None,
              PidsLimit=None, LogConfig={'Type': 'json-file', 'Config': {'max-size': '10m'}})
    hc.update(host_config)
    labels = {'com.docker.compose.project': 'n8n', 'com.docker.compose.service': service,
              'com.docker.compose.oneoff': 'False'}
    return dict(Id=name * 4, Name='/' + name, Args=[], AppArmorProfile='', HostConfig=hc, Mounts=[],
                NetworkSettings=dict(Ports={}), Image=IMAGE_ID, State=dict(Running=True),
                Config=dict(User=user, Image='redis:7.4', Env=['REDISCLI_AUTH=' + SECRET], Cmd=['redis-server'],
                            Labels=labels, Healthcheck=dict(Test=['CMD', 'redis-cli', 'ping'])))


TOP = ('UID                 PID                 PPID                C                   STIME               '
       'TTY                 TIME                CMD\n'
       '999                 2561                2540                0                   10:01               '
       '?                   00:00:01            redis-server /run/secrets/n8n_ops/redis.conf --requirepass %s\n'
       % SECRET)
IMAGE_ID = 'sha256:' + 'e' * 64


class FakeDocker:
    def __init__(self, containers, ps_rc=0, swarm='inactive', top_rc=0):
        self.containers = containers
        self.ps_rc = ps_rc
        self.swarm = swarm
        self.top_rc = top_rc
        self.calls = []

    def __call__(self, argv, timeout=None, **_kw):
        self.calls.append(argv)
        if argv[1] == 'ps':
            if self.ps_rc:
                return ExecResult(argv, self.ps_rc, b'', b'Cannot connect to the Docker daemon')
            return ExecResult(argv, 0, ''.join(c['Id'] + '\n' for c in self.containers).encode())
        if argv[1] == 'inspect':
            return ExecResult(argv, 0, json.dumps([c for c in self.containers if c['Id'] in argv]).encode())
        if argv[1] == 'info':
            assert argv[2:] == ['--format', stack_audit.DOCKER_INFO_FORMAT]
            info = dict(swarm=self.swarm, security_options=['name=seccomp,profile=builtin', 'name=cgroupns'])
            return ExecResult(argv, 0, (json.dumps(info) + '\n').encode())
        if argv[1] == 'top':
            if self.top_rc:
                return ExecResult(argv, self.top_rc, b'', b'Error response from daemon: ps: executable not found')
            return ExecResult(argv, 0, TOP.encode())
        if argv[1:4] == ['image', 'inspect', '--format']:
            return ExecResult(argv, 0, (IMAGE_ID + '\n').encode())
        raise AssertionError(argv)


@pytest.fixture
def docker(monkeypatch):
    def install(containers, **kw):
        fake = FakeDocker(containers, **kw)
        monkeypatch.setattr(stack_audit, 'run', fake)
        return fake
    monkeypatch.setattr(stack_audit, 'listening_sockets', lambda: [dict(address='0.0.0.0', port=6379, proto='tcp')])
    monkeypatch.setattr(stack_audit, 'apparmor_enabled', lambda: False)
    monkeypatch.setattr(stack_audit, 'selinux_enabled', lambda: False)
    return install


def run(capsys, check=False, **args):
    # as in a module process: no warnings yet, and warnings go into the result even when a test elsewhere has loaded
    # controller code (see test_backup_lock.py)
    module_warnings._global_warnings.clear()
    on_target = (mock.patch.object(module_internals, 'is_controller', False)
                 if hasattr(module_internals, 'is_controller') else contextlib.nullcontext())
    with on_target, patch_module_args(dict(args, _ansible_check_mode=check)), pytest.raises(SystemExit):
        stack_audit.main()
    out = capsys.readouterr().out
    return json.loads(out), out


def warnings(result):
    """Warning texts; ansible-core 2.19+ returns structured warnings to the controller."""
    return [w if isinstance(w, str) else w['event']['msg'] for w in result.get('warnings', [])]


def test_unhardened_stack_fails_below_threshold_with_table_and_no_secret(docker, capsys):
    fake = docker([container('n8n-redis-1', 'redis')])
    r, raw = run(capsys, project_name='n8n', secrets=[SECRET])
    assert r['failed'] and r['msg'].startswith('audit score ') and 'below the threshold 90 %' in r['msg']
    assert '5.13@n8n-redis-1' in r['msg'] and '5.13@n8n-redis-1' in r['failed_controls']
    assert r['summary']['percent'] < 90 and 'CONTROL' in r['table'] and r['changed'] is False
    assert r['commands'] == ['docker ps -a -q --filter label=com.docker.compose.project=n8n',
                             'docker inspect ' + 'n8n-redis-1' * 4,
                             "docker info --format '%s'" % stack_audit.DOCKER_INFO_FORMAT,
                             'docker top ' + 'n8n-redis-1' * 4,
                             "docker image inspect --format '{{.Id}}' redis:7.4"]
    assert fake.calls[0][:3] == ['docker', 'ps', '-a'] and r['benchmark'] == 'CIS Docker Benchmark v1.6.0'
    by_id = {x['id']: x for x in r['results']}
    assert by_id['5.1']['status'] == 'pass' and by_id['5.7']['detail'] == 'no sshd among 1 processes'
    assert by_id['5.28']['detail'] == 'redis:7.4 (the image it names now)' and by_id['5.23']['status'] == 'manual'
    n8n_1 = next(x for x in r['results'] if x['id'] == 'N8N-1')
    assert n8n_1['status'] == 'fail' and 'env REDISCLI_AUTH' in n8n_1['detail']
    assert SECRET not in raw and 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' not in raw


def test_threshold_zero_passes_and_writes_the_report_0640(docker, capsys, tmp_path):
    docker([container('n8n-redis-1', 'redis', user='redis', ReadonlyRootfs=True)])
    report = tmp_path / 'audit.json'
    r, raw = run(capsys, project_name='n8n', threshold=0, output_json=str(report), secrets=[SECRET],
                 waivers=[dict(id='5.4@redis', reason='test waiver')])
    assert not r.get('failed') and r['changed'] is False
    written = json.loads(report.read_text())
    assert written['summary'] == r['summary'] and written['results'] == r['results']
    assert written['benchmark'] == 'CIS Docker Benchmark v1.6.0'
    assert oct(report.stat().st_mode & 0o777) == '0o640' and SECRET not in report.read_text()
    assert any(x['status'] == 'waived' and x['reason'] == 'test waiver' for x in written['results'])


def test_check_mode_writes_no_report(docker, capsys, tmp_path):
    docker([container('n8n-redis-1', 'redis')])
    r, raw = run(capsys, check=True, project_name='n8n', threshold=0, output_json=str(tmp_path / 'a.json'))
    assert not r.get('failed') and not list(tmp_path.iterdir())


def test_no_containers_fails_clearly(docker, capsys):
    docker([])
    r, raw = run(capsys, project_name='n8n')
    assert r['failed'] and "no containers of the Compose project 'n8n' found" in r['msg']


def test_one_off_containers_are_left_out(docker, capsys):
    one_off = container('n8n-redis-run-1', 'redis')
    one_off['Config']['Labels']['com.docker.compose.oneoff'] = 'True'
    docker([container('n8n-redis-1', 'redis'), one_off])
    r, raw = run(capsys, project_name='n8n', threshold=0)
    assert r['containers'] == ['n8n-redis-1'] and 'n8n-redis-run-1' in ' '.join(warnings(r))


def test_docker_failure_is_reported(docker, capsys):
    docker([], ps_rc=1)
    r, raw = run(capsys, project_name='n8n')
    assert r['failed'] and 'Cannot connect to the Docker daemon' in r['msg']


def test_files_and_listening_sockets_are_audited(docker, capsys, tmp_path):
    env = tmp_path / '.env'
    env.write_text('x')
    os.chmod(env, 0o644)
    docker([container('n8n-redis-1', 'redis', PortBindings={'6379/tcp': [dict(HostIp='127.0.0.1', HostPort='6379')]})])
    r, raw = run(capsys, project_name='n8n', threshold=0, files=[
        dict(path=str(env), max_mode='0600'), dict(path=str(tmp_path), max_mode=0o755, kind='dir'),
        dict(path=str(tmp_path / 'missing'), max_mode='0400')])
    n8n_5, n8n_6 = [x for x in r['results'] if x['id'] in ('N8N-5', 'N8N-6')]
    assert n8n_5['status'] == 'fail' and 'is 0644, at most 0600' in n8n_5['detail'] and 'missing' in n8n_5['detail']
    assert str(tmp_path) + ' is' not in n8n_5['detail'].replace(str(env), '')
    assert n8n_6['status'] == 'fail' and '0.0.0.0:6379' in n8n_6['detail']


@pytest.mark.parametrize('mode', ['rw-------', '0999', 99999])
def test_bad_max_mode_fails(docker, capsys, mode):
    docker([container('n8n-redis-1', 'redis')])
    r, raw = run(capsys, project_name='n8n', files=[dict(path='/etc/hostname', max_mode=mode)])
    assert r['failed'] and 'max_mode' in r['msg']


def test_waiver_without_reason_and_bad_threshold_fail(docker, capsys):
    docker([container('n8n-redis-1', 'redis')])
    r, raw = run(capsys, project_name='n8n', waivers=[dict(id='5.13', reason='')])
    assert r['failed'] and 'reason' in r['msg']
    r, raw = run(capsys, project_name='n8n', threshold=101)
    assert r['failed'] and 'threshold' in r['msg']


def test_parse_mode():
    assert stack_audit.parse_mode('0600') == 0o600 and stack_audit.parse_mode('750') == 0o750
    assert stack_audit.parse_mode(0o640) == 0o640 and stack_audit.parse_mode('0o700') == 0o700


def test_a_waiver_for_no_control_fails_before_any_docker_command(docker, capsys):
    fake = docker([container('n8n-redis-1', 'redis')])
    r, raw = run(capsys, project_name='n8n', waivers=[dict(id='N8N-4@redis', reason='pinned elsewhere'),
                                                      dict(id='5.13', reason='fine')])
    assert r['failed'] and 'waiver N8N-4@redis names no control' in r['msg'] and 'N8N-4 is now 5.28' in r['msg']
    assert '5.1 to 5.32, N8N-1, N8N-2, N8N-3, N8N-5, N8N-6' in r['msg'] and '5.13' not in r['msg'].split(';')[-1]
    assert fake.calls == [] and r['commands'] == []


def test_waivers_for_gone_containers_and_hand_checked_controls_are_warned_about(docker, capsys):
    docker([container('n8n-redis-1', 'redis')])
    r, raw = run(capsys, project_name='n8n', threshold=0, waivers=[
        dict(id='5.24', reason='the old 5.24: cgroup parent set by the host'),
        dict(id='5.13@n8n-redis-9', reason='a replica that is gone')])
    texts = ' '.join(warnings(r))
    assert 'waiver 5.13@n8n-redis-9 matches no container of this stack' in texts
    assert 'waiver 5.24 names a control that is only checked by hand here' in texts


def test_swarm_mode_fails_and_an_unreadable_process_list_is_not_applicable(docker, capsys):
    docker([container('n8n-redis-1', 'redis')], swarm='active', top_rc=1)
    r, raw = run(capsys, project_name='n8n', threshold=0)
    by_id = {x['id']: x for x in r['results']}
    assert by_id['5.1']['status'] == 'fail' and by_id['5.1']['service'] == 'host'
    assert by_id['5.7']['status'] == 'na' and 'ps: executable not found' in by_id['5.7']['detail']


def test_a_stopped_container_is_not_asked_for_its_processes(docker, capsys):
    stopped = container('n8n-redis-1', 'redis')
    stopped['State']['Running'] = False
    fake = docker([stopped])
    r, raw = run(capsys, project_name='n8n', threshold=0)
    assert not any(call[1] == 'top' for call in fake.calls)
    assert next(x for x in r['results'] if x['id'] == '5.7')['detail'] == 'processes not read: not running'
