"""module_utils/cis_controls.py: every audit control (pass and fail), waivers, score, table, the hardening role's
settings, /proc/net/tcp parsing, and that no secret value ever reaches a result, the table or a lint finding."""

import copy
import json

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import cis_controls as cis
from ansible_collections.n8n_ops.stack.plugins.module_utils import compose_lint as cl

# `docker inspect n8n-n8n-1 n8n-redis-1 n8n-postgres-1` of the hardened stack on a test host, reduced to the keys the
# audit reads (no secret was in it: the stack passes secrets as files).
REAL_INSPECT = [
    {'Name': '/n8n-n8n-1',
     'Path': 'tini',
     'Args': ['--', '/docker-entrypoint.sh'],
     'AppArmorProfile': '',
     'Config': {'User': 'node',
                'Image': 'local/n8n:2.41.1',
                'Env': ['EXECUTIONS_MODE=queue',
                        'DB_POSTGRESDB_PASSWORD_FILE=/run/secrets/n8n_ops/postgres_password',
                        'N8N_ENCRYPTION_KEY_FILE=/run/secrets/n8n_ops/encryption_key',
                        'QUEUE_BULL_REDIS_PASSWORD_FILE=/run/secrets/n8n_ops/redis_password',
                        'N8N_PORT=5678',
                        'PATH=/opt/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
                        'NODE_ENV=production'],
                'Cmd': None,
                'Entrypoint': ['tini', '--', '/docker-entrypoint.sh'],
                'Labels': {'com.docker.compose.oneoff': 'False',
                           'com.docker.compose.project': 'n8n',
                           'com.docker.compose.service': 'n8n'},
                'Healthcheck': {'Test': ['CMD',
                                         'node',
                                         '-e',
                                         "fetch('http://127.0.0.1:5678/healthz/readiness').then(r => "
                                         'r.text().then(t => process.exit(r.ok && t.includes(\'"ok"\') ? 0 : '
                                         '1))).catch(() => process.exit(1))']}},
     'HostConfig': {'CapAdd': None,
                    'CapDrop': ['ALL'],
                    'Privileged': False,
                    'NetworkMode': 'n8n_default',
                    'PidMode': '',
                    'IpcMode': 'private',
                    'UTSMode': '',
                    'UsernsMode': '',
                    'Devices': None,
                    'Memory': 1073741824,
                    'NanoCpus': 0,
                    'CpuQuota': 0,
                    'CpuShares': 1024,
                    'ReadonlyRootfs': True,
                    'PortBindings': {'5678/tcp': [{'HostIp': '127.0.0.1', 'HostPort': '5678'}]},
                    'RestartPolicy': {'Name': 'unless-stopped', 'MaximumRetryCount': 0},
                    'SecurityOpt': ['no-new-privileges:true'],
                    'CgroupParent': '',
                    'PidsLimit': 1024,
                    'LogConfig': {'Type': 'json-file', 'Config': {'max-file': '3', 'max-size': '10m'}}},
     'Mounts': [{'Type': 'bind',
                 'Source': '/opt/n8n/secrets/n8n',
                 'Destination': '/run/secrets/n8n_ops',
                 'RW': False,
                 'Propagation': 'rprivate'},
                {'Type': 'volume',
                 'Source': '/var/lib/docker/volumes/n8n_n8n_data/_data',
                 'Destination': '/home/node/.n8n',
                 'RW': True,
                 'Propagation': ''}],
     'NetworkSettings': {'Ports': {'5678/tcp': [{'HostIp': '127.0.0.1', 'HostPort': '5678'}]}}},
    {'Name': '/n8n-redis-1',
     'Path': 'docker-entrypoint.sh',
     'Args': ['redis-server', '/run/secrets/n8n_ops/hardening.conf'],
     'AppArmorProfile': '',
     'Config': {'User': 'redis',
                'Image': 'local/redis:7',
                'Env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
                'Cmd': ['redis-server', '/run/secrets/n8n_ops/hardening.conf'],
                'Entrypoint': ['docker-entrypoint.sh'],
                'Labels': {'com.docker.compose.oneoff': 'False',
                           'com.docker.compose.project': 'n8n',
                           'com.docker.compose.service': 'redis'},
                'Healthcheck': {'Test': ['CMD-SHELL',
                                         'REDISCLI_AUTH="$(cat /run/secrets/n8n_ops/password)" redis-cli '
                                         '--no-auth-warning ping | grep -q PONG']}},
     'HostConfig': {'CapAdd': None,
                    'CapDrop': ['ALL'],
                    'Privileged': False,
                    'NetworkMode': 'n8n_default',
                    'PidMode': '',
                    'IpcMode': 'private',
                    'UTSMode': '',
                    'UsernsMode': '',
                    'Devices': None,
                    'Memory': 268435456,
                    'NanoCpus': 0,
                    'CpuQuota': 0,
                    'CpuShares': 1024,
                    'ReadonlyRootfs': True,
                    'PortBindings': {},
                    'RestartPolicy': {'Name': 'unless-stopped', 'MaximumRetryCount': 0},
                    'SecurityOpt': ['no-new-privileges:true'],
                    'CgroupParent': '',
                    'PidsLimit': 128,
                    'LogConfig': {'Type': 'json-file', 'Config': {'max-file': '3', 'max-size': '10m'}}},
     'Mounts': [{'Type': 'volume',
                 'Source': '/var/lib/docker/volumes/n8n_redis_data/_data',
                 'Destination': '/data',
                 'RW': True,
                 'Propagation': ''},
                {'Type': 'bind',
                 'Source': '/opt/n8n/secrets/redis',
                 'Destination': '/run/secrets/n8n_ops',
                 'RW': False,
                 'Propagation': 'rprivate'}],
     'NetworkSettings': {'Ports': {'6379/tcp': None}}},
    {'Name': '/n8n-postgres-1',
     'Path': 'docker-entrypoint.sh',
     'Args': ['postgres', '-c', 'config_file=/etc/n8n_ops/postgres/postgresql.conf'],
     'AppArmorProfile': '',
     'Config': {'User': 'postgres',
                'Image': 'local/postgres:17',
                'Env': ['POSTGRES_DB=n8n',
                        'POSTGRES_USER=n8n',
                        'POSTGRES_PASSWORD_FILE=/run/secrets/n8n_ops/password',
                        'PATH=/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
                        'PGDATA=/var/lib/postgresql/data'],
                'Cmd': ['postgres', '-c', 'config_file=/etc/n8n_ops/postgres/postgresql.conf'],
                'Entrypoint': ['docker-entrypoint.sh'],
                'Labels': {'com.docker.compose.oneoff': 'False',
                           'com.docker.compose.project': 'n8n',
                           'com.docker.compose.service': 'postgres'},
                'Healthcheck': {'Test': ['CMD-SHELL',
                                         'pg_isready -h 127.0.0.1 -U "${POSTGRES_USER}" -d "${POSTGRES_DB}"']}},
     'HostConfig': {'CapAdd': None,
                    'CapDrop': ['ALL'],
                    'Privileged': False,
                    'NetworkMode': 'n8n_default',
                    'PidMode': '',
                    'IpcMode': 'private',
                    'UTSMode': '',
                    'UsernsMode': '',
                    'Devices': None,
                    'Memory': 1073741824,
                    'NanoCpus': 0,
                    'CpuQuota': 0,
                    'CpuShares': 1024,
                    'ReadonlyRootfs': True,
                    'PortBindings': {},
                    'RestartPolicy': {'Name': 'unless-stopped', 'MaximumRetryCount': 0},
                    'SecurityOpt': ['no-new-privileges:true'],
                    'CgroupParent': '',
                    'PidsLimit': 512,
                    'LogConfig': {'Type': 'json-file', 'Config': {'max-file': '3', 'max-size': '10m'}}},
     'Mounts': [{'Type': 'volume',
                 'Source': '/var/lib/docker/volumes/n8n_postgres_data/_data',
                 'Destination': '/var/lib/postgresql/data',
                 'RW': True,
                 'Propagation': ''},
                {'Type': 'bind',
                 'Source': '/opt/n8n/secrets/postgres',
                 'Destination': '/run/secrets/n8n_ops',
                 'RW': False,
                 'Propagation': 'rprivate'},
                {'Type': 'bind',
                 'Source': '/opt/n8n/postgres',
                 'Destination': '/etc/n8n_ops/postgres',
                 'RW': False,
                 'Propagation': 'rprivate'}],
     'NetworkSettings': {'Ports': {'5432/tcp': None}}},
]

MAIN, REDIS, POSTGRES = REAL_INSPECT
SECRET = 'Sup3r-s3cret-v4lue-0f-the-t3st'  # a fake; the test asserts it never comes back out
# What the module gathers besides docker inspect: docker info (swarm, the daemon's security options) and docker top of
# each container (their processes, as `docker top` prints the command lines).
ENGINE = dict(swarm='inactive', security_options=['name=seccomp,profile=builtin', 'name=cgroupns'])
PROCESSES = {'n8n-n8n-1': ['tini -- /docker-entrypoint.sh', 'node /opt/n8n/bin/n8n', 'node task-runner'],
             'n8n-redis-1': ['redis-server *:6379'],
             'n8n-postgres-1': ['postgres -c config_file=/etc/n8n_ops/postgres/postgresql.conf',
                                'postgres: checkpointer', 'postgres: walwriter']}
HOST = dict(listening=[dict(address='127.0.0.1', port=5678, proto='tcp')], files=[], apparmor_enabled=False,
            selinux_enabled=False, engine=ENGINE, processes=PROCESSES, published_allowed=['127.0.0.1', '::1'],
            secrets=[SECRET])


def unhardened(c):
    """The same container as the stack role deploys it before the hardening overlay: images start as root."""
    c = copy.deepcopy(c)
    c['HostConfig'].update(CapDrop=None, SecurityOpt=None, ReadonlyRootfs=False, PidsLimit=None, CpuShares=0)
    if c['Config']['User'] != 'node':
        c['Config']['User'] = ''
    return c


def changed(c, **host_config):
    c = copy.deepcopy(c)
    c['HostConfig'].update(host_config)
    return c


def check(control, c, host=None):
    return next(r for r in cis.evaluate([c], host or HOST) if r['id'] == control)


def statuses(results, status):
    return sorted('%s@%s' % (r['id'], r['service']) for r in results if r['status'] == status)


# --- audit: the captured stack and each control ---

def test_the_captured_hardened_stack_passes_every_applicable_control():
    results = cis.evaluate(REAL_INSPECT, HOST)
    assert statuses(results, cis.FAIL) == []
    assert cis.score(results)['percent'] == 100.0
    assert len(results) == 3 * len(cis.CONTAINER_CHECKS) + 5
    assert statuses(results, cis.NA) == ['5.2@n8n-n8n-1', '5.2@n8n-postgres-1', '5.2@n8n-redis-1',  # no AppArmor
                                         '5.3@n8n-n8n-1', '5.3@n8n-postgres-1', '5.3@n8n-redis-1',  # no SELinux
                                         'N8N-5@host']
    assert statuses(results, cis.MANUAL) == ['5.23@host', '5.24@host']


def test_every_control_of_cis_v1_6_0_section_5_is_there_once_in_order():
    ids = [control for control, _title in cis.CONTROLS]
    assert ids[:32] == ['5.%d' % i for i in range(1, 33)] and len(set(ids)) == len(ids)
    assert ids[32:] == ['N8N-1', 'N8N-2', 'N8N-3', 'N8N-5', 'N8N-6']
    audited = [control for control, _check in cis.CONTAINER_CHECKS] + [r['id'] for r in cis.host_results([], {})]
    assert sorted(audited) == sorted(ids)
    assert cis.TITLES['5.1'] == 'Ensure swarm mode is not Enabled, if not needed'
    assert cis.TITLES['5.2'] == 'Ensure that, if applicable, an AppArmor Profile is enabled'
    assert cis.TITLES['5.32'] == 'Ensure that the Docker socket is not mounted inside any containers'


def test_the_stack_as_deployed_scores_low_and_names_what_the_overlay_fixes():
    results = cis.evaluate([unhardened(c) for c in REAL_INSPECT], HOST)
    failed = statuses(results, cis.FAIL)
    for control in ('5.4', '5.13', '5.26', '5.29', '5.12'):
        assert '%s@n8n-redis-1' % control in failed
    assert 'N8N-2@n8n-postgres-1' in failed and 'N8N-2@n8n-redis-1' in failed and 'N8N-2@n8n-n8n-1' not in failed
    assert cis.score(results)['percent'] < 85


PASS_FAIL = [
    ('5.4', dict(CapDrop=['ALL'], CapAdd=['NET_BIND_SERVICE']), dict(CapDrop=['NET_RAW'])),
    ('5.5', dict(Privileged=False), dict(Privileged=True)),
    ('5.10', dict(NetworkMode='n8n_default'), dict(NetworkMode='host')),
    ('5.11', dict(Memory=268435456), dict(Memory=0)),
    ('5.12', dict(NanoCpus=500000000, CpuShares=0), dict(NanoCpus=0, CpuQuota=0, CpuShares=0)),
    ('5.13', dict(ReadonlyRootfs=True), dict(ReadonlyRootfs=False)),
    ('5.15', dict(RestartPolicy=dict(Name='on-failure', MaximumRetryCount=5)), dict(RestartPolicy=dict(Name='no'))),
    ('5.16', dict(PidMode=''), dict(PidMode='host')),
    ('5.17', dict(IpcMode='shareable'), dict(IpcMode='host')),
    ('5.18', dict(Devices=[]), dict(Devices=[dict(PathOnHost='/dev/fuse', PathInContainer='/dev/fuse')])),
    ('5.21', dict(UTSMode=''), dict(UTSMode='host')),
    ('5.22', dict(SecurityOpt=['no-new-privileges:true', 'seccomp=/etc/docker/n8n.json']),
     dict(SecurityOpt=['seccomp=unconfined'])),
    ('5.25', dict(CgroupParent=''), dict(CgroupParent='/custom')),
    ('5.26', dict(SecurityOpt=['no-new-privileges']), dict(SecurityOpt=['no-new-privileges:false'])),
    ('5.29', dict(PidsLimit=100), dict(PidsLimit=-1)),
    ('5.30', dict(NetworkMode='n8n_default'), dict(NetworkMode='bridge')),
    ('5.31', dict(UsernsMode=''), dict(UsernsMode='host')),
    ('N8N-3', dict(LogConfig=dict(Type='json-file', Config={'max-size': '10m'})),
     dict(LogConfig=dict(Type='json-file', Config={}))),
]


@pytest.mark.parametrize('control,good,bad', PASS_FAIL, ids=[p[0] for p in PASS_FAIL])
def test_host_config_controls_pass_and_fail(control, good, bad):
    assert check(control, changed(MAIN, **good))['status'] == cis.PASS
    result = check(control, changed(MAIN, **bad))
    assert result['status'] == cis.FAIL and result['title'] == cis.TITLES[control] and result['service'] == 'n8n-n8n-1'


def test_capabilities_added_back_are_listed():
    assert 'CapAdd: CHOWN, SETUID' in check('5.4', changed(MAIN, CapAdd=['SETUID', 'CHOWN']))['detail']


def test_the_restart_policies_n8n_needs_after_a_reboot_pass():
    for policy in ('unless-stopped', 'always', 'on-failure'):
        assert check('5.15', changed(MAIN, RestartPolicy=dict(Name=policy)))['status'] == cis.PASS


def test_apparmor_is_na_without_it_and_checked_with_it():
    with_apparmor = dict(HOST, apparmor_enabled=True)
    assert check('5.2', MAIN)['status'] == cis.NA
    assert check('5.2', MAIN, with_apparmor)['status'] == cis.FAIL
    assert check('5.2', dict(MAIN, AppArmorProfile='docker-default'), with_apparmor)['status'] == cis.PASS


def mounted(c, source, rw=False, propagation='rprivate', kind='bind'):
    c = copy.deepcopy(c)
    c['Mounts'].append(dict(Type=kind, Source=source, Destination='/mnt', RW=rw, Propagation=propagation))
    return c


@pytest.mark.parametrize('source,rw,status', [('/etc', False, cis.FAIL), ('/', False, cis.FAIL),
                                              ('/etc/ssl', True, cis.FAIL), ('/etc/localtime', False, cis.PASS),
                                              ('/opt/n8n/x', True, cis.PASS), ('/var/run/docker.sock', False, cis.FAIL)])
def test_sensitive_host_directories(source, rw, status):
    assert check('5.6', mounted(MAIN, source, rw))['status'] == status


def test_docker_socket():
    assert check('5.32', mounted(MAIN, '/run/docker.sock'))['status'] == cis.FAIL
    assert check('5.32', MAIN)['status'] == cis.PASS


def test_shared_mount_propagation():
    assert check('5.20', mounted(MAIN, '/srv', propagation='rshared'))['status'] == cis.FAIL
    assert check('5.20', MAIN)['status'] == cis.PASS


def published(c, *bindings):
    c = copy.deepcopy(c)
    ports = {'5678/tcp': [dict(HostIp=a, HostPort=p) for a, p in bindings]}
    c['HostConfig']['PortBindings'] = ports
    c['NetworkSettings']['Ports'] = ports
    return c


def test_privileged_host_ports():
    assert check('5.8', published(MAIN, ('127.0.0.1', '80')))['status'] == cis.FAIL
    assert check('5.8', published(MAIN, ('127.0.0.1', '')))['status'] == cis.PASS  # a random port
    assert check('5.8', MAIN)['status'] == cis.PASS


@pytest.mark.parametrize('bindings,status', [([('0.0.0.0', '5678'), ('::', '5678')], cis.FAIL),
                                             ([('', '5678')], cis.FAIL),
                                             ([('127.0.0.1', '5678'), ('::1', '5678')], cis.PASS), ([], cis.PASS)])
def test_published_ports_bound_to_allowed_addresses(bindings, status):
    assert check('5.14', published(MAIN, *bindings))['status'] == status


def test_running_bindings_win_over_configured_ones():
    c = copy.deepcopy(MAIN)
    c['HostConfig']['PortBindings'] = {'6379/tcp': [dict(HostIp='', HostPort='16379')]}
    c['NetworkSettings']['Ports'] = {'6379/tcp': [dict(HostIp='0.0.0.0', HostPort='16379'),
                                                  dict(HostIp='::', HostPort='16379')], '5678/tcp': None}
    assert check('5.14', c)['detail'] == 'published on 0.0.0.0:16379, [::]:16379 (allowed: 127.0.0.1, ::1)'
    c['NetworkSettings']['Ports'] = {}  # stopped: what it is configured with
    assert check('5.14', c)['detail'].startswith('published on *:16379 ')


def test_another_allowed_address_passes():
    host = dict(HOST, published_allowed=['10.0.0.5'])
    assert check('5.14', published(MAIN, ('10.0.0.5', '5678')), host)['status'] == cis.PASS


def test_healthcheck():
    assert check('5.27', MAIN)['status'] == cis.PASS
    for test in ([], ['NONE']):
        c = copy.deepcopy(MAIN)
        c['Config']['Healthcheck'] = dict(Test=test)
        assert check('5.27', c)['status'] == cis.FAIL


@pytest.mark.parametrize('user,status', [('node', cis.PASS), ('1000:1000', cis.PASS), ('', cis.FAIL),
                                         ('root', cis.FAIL), ('0:0', cis.FAIL)])
def test_non_root_user(user, status):
    c = copy.deepcopy(POSTGRES)
    c['Config']['User'] = user
    assert check('N8N-2', c)['status'] == status


@pytest.mark.parametrize('image,status', [('local/n8n:2.41.1', cis.PASS), ('n8nio/n8n:latest', cis.FAIL),
                                          ('n8nio/n8n', cis.FAIL), ('n8nio/n8n@sha256:' + 'c' * 64, cis.PASS)])
def test_image_pinned(image, status):
    c = copy.deepcopy(MAIN)
    c['Config']['Image'] = image
    assert check('5.28', c)['status'] == status


def test_a_container_must_run_the_image_its_tag_names_now():
    old, new = 'sha256:' + 'a' * 64, 'sha256:' + 'b' * 64
    c = dict(copy.deepcopy(MAIN), Image=old)
    moved = check('5.28', c, dict(HOST, images={'local/n8n:2.41.1': new}))
    assert moved['status'] == cis.FAIL
    assert 'now names bbbbbbbbbbbb but the container runs aaaaaaaaaaaa' in moved['detail']
    same = check('5.28', c, dict(HOST, images={'local/n8n:2.41.1': old}))
    assert same['status'] == cis.PASS and same['detail'] == 'local/n8n:2.41.1 (the image it names now)'
    assert check('5.28', c, dict(HOST, images={'local/n8n:2.41.1': None}))['status'] == cis.PASS  # tag gone: pin only


def test_an_old_n8n_4_waiver_is_refused_naming_5_28():
    with pytest.raises(ValueError, match=r'waiver N8N-4 names no control of the audit \(N8N-4 is now 5\.28'):
        cis.evaluate([MAIN], HOST, [dict(id='N8N-4', reason='pinned by digest elsewhere')])


# --- the controls CIS v1.6.0 added to what this audit had ---

@pytest.mark.parametrize('engine,status,text', [
    (ENGINE, cis.PASS, 'swarm mode inactive'), (dict(ENGINE, swarm='active'), cis.FAIL, 'docker swarm leave'),
    (dict(ENGINE, swarm='locked'), cis.FAIL, 'swarm mode locked'), (dict(error='docker info failed'), cis.NA, 'failed'),
    (None, cis.NA, 'engine not read')])
def test_swarm_mode_is_a_host_control(engine, status, text):
    result = next(r for r in cis.evaluate([MAIN], dict(HOST, engine=engine)) if r['id'] == '5.1')
    assert result['service'] == 'host' and result['status'] == status and text in result['detail']


def test_selinux_applies_where_the_host_or_the_daemon_runs_it():
    assert check('5.3', MAIN)['status'] == cis.NA
    selinux = dict(HOST, selinux_enabled=True)
    unlabelled = check('5.3', MAIN, selinux)
    assert unlabelled['status'] == cis.FAIL and 'runs without --selinux-enabled' in unlabelled['detail']
    daemon = dict(HOST, engine=dict(ENGINE, security_options=['name=selinux', 'name=seccomp,profile=builtin']))
    labelled = dict(copy.deepcopy(MAIN), ProcessLabel='system_u:system_r:container_t:s0:c1,c2')
    assert check('5.3', labelled, daemon)['status'] == cis.PASS
    assert check('5.3', MAIN, daemon)['detail'] == 'no SELinux label'
    disabled = changed(labelled, SecurityOpt=['label=disable'])
    assert check('5.3', disabled, selinux)['status'] == cis.FAIL


@pytest.mark.parametrize('process,status', [
    ('/usr/sbin/sshd -D', cis.FAIL), ('sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups', cis.FAIL),
    ('sshd: root@pts/0', cis.FAIL), ('node sshd-like-name.js', cis.PASS), ('/usr/bin/ssh-agent', cis.PASS)])
def test_sshd_among_the_containers_processes(process, status):
    host = dict(HOST, processes={'n8n-n8n-1': ['tini -- /docker-entrypoint.sh', process]})
    assert check('5.7', MAIN, host)['status'] == status


def test_sshd_is_na_when_the_processes_were_not_read_and_never_shows_a_command_line():
    assert check('5.7', MAIN, dict(HOST, processes={}))['detail'] == 'processes not read'
    assert check('5.7', MAIN, dict(HOST, processes={'n8n-n8n-1': 'not running'}))['status'] == cis.NA
    leaky = dict(HOST, processes={'n8n-n8n-1': ['/usr/sbin/sshd -D -o Password=' + SECRET]})
    result = check('5.7', MAIN, leaky)
    assert result['status'] == cis.FAIL and SECRET not in json.dumps(result)


# `docker top` as the CLI prints it: tabwriter columns at least 20 wide, the command line last
DOCKER_TOP = ''.join(''.join(cell.ljust(20) for cell in row[:-1]) + row[-1] + '\n' for row in (
    ('UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'),
    ('999', '2561', '2540', '0', '10:01', '?', '00:00:01', 'redis-server *:6379'),
    ('root', '2600', '2540', '0', '10:02', '?', '00:00:00', '/usr/sbin/sshd -D')))


def test_parse_docker_top_keeps_whole_command_lines():
    assert cis.parse_docker_top(DOCKER_TOP) == ['redis-server *:6379', '/usr/sbin/sshd -D']
    assert cis.parse_docker_top(DOCKER_TOP.splitlines()[0]) == []
    with pytest.raises(ValueError, match='no CMD column'):
        cis.parse_docker_top('Error: No such container')


def test_only_the_ports_a_service_needs_are_published():
    assert check('5.9', MAIN)['detail'] == 'publishes 5678/tcp only (needed)'
    assert check('5.9', REDIS)['detail'] == 'publishes no ports'  # 6379 exposed, not published
    redis = published(REDIS, ('127.0.0.1', '6379'))
    redis['NetworkSettings']['Ports'] = redis['HostConfig']['PortBindings'] = {
        '6379/tcp': [dict(HostIp='127.0.0.1', HostPort='6379')]}
    result = check('5.9', redis)
    assert result['status'] == cis.FAIL and result['detail'] == 'publishes 6379/tcp, not needed by redis (needed: none)'
    assert check('5.9', redis, dict(HOST, needed_ports={'redis': [6379]}))['status'] == cis.PASS
    assert check('5.9', redis, dict(HOST, needed_ports={'redis': '6379/tcp'}))['status'] == cis.PASS
    assert check('5.9', MAIN, dict(HOST, needed_ports={}))['status'] == cis.FAIL


def test_an_overridden_ulimit_is_for_a_person_to_judge_and_not_scored():
    assert check('5.19', MAIN)['status'] == cis.PASS
    c = changed(MAIN, Ulimits=[dict(Name='nofile', Soft=65536, Hard=65536)])
    result = check('5.19', c)
    assert result['status'] == cis.MANUAL and 'overrides nofile=65536:65536' in result['detail']
    assert cis.score(cis.evaluate([c], HOST))['manual'] == 3  # 5.19 here, 5.23 and 5.24 on the host


def test_docker_exec_options_are_checked_by_hand():
    results = {r['id']: r for r in cis.evaluate([MAIN], HOST) if r['service'] == 'host'}
    assert results['5.23']['status'] == results['5.24']['status'] == cis.MANUAL
    assert '--privileged' in results['5.23']['detail'] and '--user root' in results['5.24']['detail']
    assert 'auditd' in results['5.23']['detail']


def with_secret(c, where):
    c = copy.deepcopy(c)
    cfg = c['Config']
    if where == 'env':
        cfg['Env'].append('DB_URL=postgres://n8n:%s@postgres/n8n' % SECRET)
    elif where == 'cmd':
        cfg['Cmd'] = ['redis-server', '--requirepass', SECRET]
    elif where == 'args':
        c['Args'] = ['--requirepass', SECRET]
    elif where == 'entrypoint':
        cfg['Entrypoint'] = ['sh', '-c', 'exec n8n --password ' + SECRET]
    elif where == 'label':
        cfg['Labels']['backup.password'] = SECRET
    elif where == 'healthcheck':
        cfg['Healthcheck'] = dict(Test=['CMD', 'redis-cli', '-a', SECRET, 'ping'])
    elif where == 'name':
        cfg['Env'].append('POSTGRES_PASSWORD=not-one-of-the-given-secrets')
    return c


@pytest.mark.parametrize('where,place', [('env', 'env DB_URL'), ('cmd', 'Cmd[2]'), ('args', 'Args[1]'),
                                         ('entrypoint', 'Entrypoint[2]'), ('label', 'label backup.password'),
                                         ('healthcheck', 'Healthcheck[3]'), ('name', 'env POSTGRES_PASSWORD')])
def test_secret_in_container_config_fails_naming_the_place_never_the_value(where, place):
    result = check('N8N-1', with_secret(MAIN, where))
    assert result['status'] == cis.FAIL and place in result['detail']
    assert SECRET not in result['detail'] and 'not-one-of' not in result['detail']


def test_a_secret_found_by_value_and_by_name_is_named_once():
    c = copy.deepcopy(MAIN)
    c['Config']['Env'].append('POSTGRES_PASSWORD=' + SECRET)
    assert check('N8N-1', c)['detail'] == 'secret in env POSTGRES_PASSWORD'


def test_secret_file_variables_and_settings_pass_n8n_1():
    c = copy.deepcopy(MAIN)
    c['Config']['Env'] += ['N8N_PASSWORD_MIN_LENGTH=8', 'REDISCLI_AUTH=', 'N8N_EXTERNAL_SECRETS_PREFER_GET=true']
    assert check('N8N-1', c)['status'] == cis.PASS


# --- host controls ---

def f(path='/opt/n8n/.env', mode=0o600, want=0o600, exists=True, kind='file', want_kind='file', **extra):
    return dict(path=path, mode=mode, uid=0, exists=exists, kind=kind, want_max_mode=want, want_kind=want_kind, **extra)


@pytest.mark.parametrize('fact,status,text', [
    (f(), cis.PASS, '1 files and directories'), (f(mode=0o400), cis.PASS, ''),
    (f(mode=0o644), cis.FAIL, 'is 0644, at most 0600'),
    (f(exists=False), cis.FAIL, 'missing'), (f(kind='dir', mode=0o700), cis.FAIL, 'is a dir, not a file'),
    (f(error='Permission denied'), cis.FAIL, 'Permission denied'),
    (f(path='/opt/n8n', mode=0o750, want=0o750, kind='dir', want_kind='dir'), cis.PASS, '')])
def test_file_modes(fact, status, text):
    status_, detail = cis.file_modes(dict(files=[fact]))
    assert status_ == status and text in detail


def test_file_modes_na_without_files():
    assert cis.file_modes({})[0] == cis.NA


@pytest.mark.parametrize('listening,status', [
    ([dict(address='127.0.0.1', port=5678)], cis.PASS), ([dict(address='0.0.0.0', port=5678)], cis.FAIL),
    ([dict(address='::', port=5678)], cis.FAIL), ([dict(address='::ffff:127.0.0.1', port=5678)], cis.PASS),
    ([dict(address='0.0.0.0', port=22)], cis.PASS), ([dict(address='10.0.0.5', port=5678)], cis.FAIL)])
def test_listening_sockets_on_published_ports(listening, status):
    result = cis.listening_beyond_loopback([MAIN], dict(listening=listening))
    assert result[0] == status


def test_listening_on_an_allowed_address_passes_and_no_published_port_is_na():
    allowed = dict(listening=[dict(address='10.0.0.5', port=5678)], published_allowed=['10.0.0.5'])
    assert cis.listening_beyond_loopback([MAIN], allowed)[0] == cis.PASS
    assert cis.listening_beyond_loopback([REDIS, POSTGRES], allowed)[0] == cis.NA


def test_listening_failure_names_the_socket():
    status, detail = cis.listening_beyond_loopback([MAIN], dict(listening=[dict(address='::', port=5678)]))
    assert status == cis.FAIL and '[::]:5678' in detail


# --- waivers, score, table ---

def test_waivers_by_control_container_and_compose_service():
    containers = [unhardened(c) for c in REAL_INSPECT]
    waivers = [dict(id='5.13', reason='all of them'), dict(id='N8N-2@n8n-postgres-1', reason='entrypoint drops root'),
               dict(id='5.29@redis', reason='by compose service')]
    results = cis.evaluate(containers, HOST, waivers)
    waived = statuses(results, cis.WAIVED)
    assert '5.13@n8n-n8n-1' in waived and '5.13@n8n-redis-1' in waived and 'N8N-2@n8n-postgres-1' in waived
    assert '5.29@n8n-redis-1' in waived and '5.29@n8n-postgres-1' not in waived and 'N8N-2@n8n-redis-1' not in waived
    reasons = {r['reason'] for r in results if r['status'] == cis.WAIVED}
    assert reasons == {'all of them', 'entrypoint drops root', 'by compose service'}


def test_waiving_a_pass_keeps_it_a_pass_and_unused_waivers_are_named():
    waivers = [dict(id='5.5', reason='never privileged anyway'), dict(id='5.13@n8n-gone-1', reason='removed')]
    results = cis.evaluate([MAIN], HOST, waivers)
    assert check('5.5', MAIN)['status'] == cis.PASS and 'reason' not in next(r for r in results if r['id'] == '5.5')
    assert cis.unused_waivers(results, waivers) == ['5.13@n8n-gone-1']


@pytest.mark.parametrize('waiver_id', ['5.99', '5.0', '7.1', 'N8N-7', 'cis-5.13', '5.13@'])
def test_a_waiver_naming_no_control_is_refused_with_the_valid_ids(waiver_id):
    with pytest.raises(ValueError) as exc:
        cis.evaluate([MAIN], HOST, [dict(id=waiver_id, reason='typo')])
    message = str(exc.value)
    assert waiver_id in message
    if not waiver_id.endswith('@'):
        assert '5.1 to 5.32, N8N-1, N8N-2, N8N-3, N8N-5, N8N-6' in message and 'CIS Docker Benchmark v1.6.0' in message


def test_a_waiver_landing_on_a_control_checked_by_hand_is_named():
    waivers = [dict(id='5.24', reason='written for the old 5.24, cgroup parent'), dict(id='5.13', reason='ok')]
    results = cis.evaluate([unhardened(MAIN)], HOST, waivers)
    assert cis.unscored_waivers(results, waivers) == ['5.24']
    assert next(r for r in results if r['id'] == '5.24')['status'] == cis.MANUAL


def test_a_waiver_needs_a_reason():
    with pytest.raises(ValueError, match='reason'):
        cis.evaluate([MAIN], HOST, [dict(id='5.13', reason=' ')])


def test_score_counts_and_percent():
    results = [dict(status=s) for s in ['pass'] * 5 + ['fail'] * 2 + ['waived', 'na', 'na', 'manual']]
    assert cis.score(results) == dict(passed=5, failed=2, waived=1, na=2, manual=1, applicable=7, percent=71.4)
    assert cis.score([dict(status='na')])['percent'] == 100.0


def test_table_failures_first_with_summary_and_waiver_reason():
    results = cis.evaluate([unhardened(MAIN)], HOST, [dict(id='5.29', reason='node counts its threads')])
    text = cis.table(results, cis.score(results))
    lines = text.splitlines()
    assert lines[0].split() == ['CONTROL', 'TITLE', 'SERVICE', 'STATUS', 'DETAIL'] and ' FAIL ' in lines[1]
    assert 'waived: node counts its threads' in text and lines[-1].startswith('score ')
    assert lines[-1].endswith('2 to check by hand (CIS Docker Benchmark v1.6.0)') and ' MANUAL ' in text
    assert len({line.index('SERVICE') for line in lines[:1]}) == 1 and lines[1].index('n8n-n8n-1') == lines[0].index(
        'SERVICE')


GOOD = dict(pids_limit=dict(postgres=512, redis=128, main=1024, worker=1024),
            cpu_shares=dict(postgres=1024, redis=1024, main=1024, worker=512), threshold=90,
            waivers=[dict(id='5.2', reason='Docker Desktop applies AppArmor in its VM')])


def problems(**changes):
    args = dict(GOOD, **changes)
    return cis.settings_problems(args['pids_limit'], args['cpu_shares'], args['threshold'], args['waivers'])


def test_good_settings_have_no_problem():
    assert problems() == [] and problems(threshold='0', waivers=[]) == []


@pytest.mark.parametrize('changes,expected', [
    (dict(pids_limit=dict(GOOD['pids_limit'], worker=16)),
     'hardening_pids_limit must be at least 32 for every service (worker is 16)'),
    (dict(pids_limit=dict(GOOD['pids_limit'], main='lots')),
     'hardening_pids_limit must be at least 32 for every service (main is lots)'),
    (dict(cpu_shares=dict(GOOD['cpu_shares'], redis=1, worker=0)),
     'hardening_cpu_shares must be at least 2 for every service (redis is 1, worker is 0)'),
    (dict(threshold=101), 'hardening_audit_threshold must be a percent from 0 to 100 (is 101)'),
    (dict(threshold='high'), 'hardening_audit_threshold must be a percent from 0 to 100 (is high)'),
    (dict(waivers=[dict(id='5.13')]), 'hardening_audit_waivers: waiver 5.13 needs a reason'),
])
def test_a_refusal_names_only_the_broken_rule(changes, expected):
    assert problems(**changes) == [expected]


def test_every_broken_rule_is_named_once():
    found = problems(pids_limit=dict(GOOD['pids_limit'], redis=8), threshold=-1,
                     waivers=[dict(id='5.99', reason='x'), dict(id='N8N-4', reason='y')])
    assert [p.split(' ', 1)[0] for p in found] == ['hardening_pids_limit', 'hardening_audit_threshold',
                                                   'hardening_audit_waivers:', 'hardening_audit_waivers:']
    assert 'waiver 5.99 names no control' in found[2] and 'N8N-4 is now 5.28' in found[3]


def test_threshold_message_names_failed_controls():
    results = cis.evaluate([unhardened(REDIS)], HOST)
    message = cis.threshold_message(cis.score(results), 90.0, results)
    assert message.startswith('audit score ') and 'is below the threshold 90 %' in message
    assert '5.13@n8n-redis-1' in message


# --- /proc/net/tcp ---

PROC_TCP = '''\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:162E 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 14434233 1 0 100 0 0 10 0
   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1567 1 0 100 0 0 10 0
   2: 0100007F:80DE 0100007F:162E 06 00000000:00000000 03:0000138A 00000000     0        0 0 3 0
   3: 0500000A:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1568 1 0 100 0 0 10 0
'''
PROC_TCP6 = '''\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr
   0: 00000000000000000000000001000000:162E 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000
   1: 00000000000000000000000000000000:162E 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000
   2: 0000000000000000FFFF00000100007F:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000
   3: B80D0120000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000
   4: 00000000000000000000000001000000:162F 00000000000000000000000001000000:C350 01 00000000:00000000 00:00000000
'''


def test_parse_proc_net_tcp_ipv4_listening_only():
    assert cis.parse_proc_net_tcp(PROC_TCP) == [dict(address='127.0.0.1', port=5678, proto='tcp'),
                                                dict(address='0.0.0.0', port=2024, proto='tcp'),
                                                dict(address='10.0.0.5', port=22, proto='tcp')]


def test_parse_proc_net_tcp6():
    assert cis.parse_proc_net_tcp(PROC_TCP6) == [dict(address='::1', port=5678, proto='tcp6'),
                                                 dict(address='::', port=5678, proto='tcp6'),
                                                 dict(address='::ffff:127.0.0.1', port=8080, proto='tcp6'),
                                                 dict(address='2001:db8::1', port=80, proto='tcp6')]


def test_parse_proc_net_tcp_skips_garbage():
    assert cis.parse_proc_net_tcp('') == [] and cis.parse_proc_net_tcp('  0: XYZ:0016 0 0A\n  1: 01:0016 0 0A') == []


# --- never a secret ---

# an n8n service of a compose config, for the lint part below (test_compose_lint.py has the lint's own tests)
def service(image='n8nio/n8n:2.41.1', **env):
    return dict(image=image, environment=env)


def test_no_secret_value_reaches_results_table_or_lint_findings():
    places = ('env', 'cmd', 'args', 'entrypoint', 'label', 'healthcheck')
    containers = [with_secret(unhardened(c), where) for c in REAL_INSPECT for where in places]
    for i, c in enumerate(containers):
        c['Name'] = '/c%d' % i
    # docker top shows command lines, secrets on them included: the audit keeps them to itself
    host = dict(HOST, processes={'c%d' % i: ['redis-server --requirepass ' + SECRET, '/usr/sbin/sshd -D ' + SECRET]
                                 for i in range(len(containers))})
    results = cis.evaluate(containers, host, [dict(id='N8N-1@c0', reason='test')])
    summary = cis.score(results)
    out = json.dumps(results) + cis.table(results, summary) + cis.threshold_message(summary, 90, results)
    assert SECRET not in out and out.count('N8N-1') >= len(containers)
    config = dict(services=dict(
        n8n=service(N8N_ENCRYPTION_KEY=SECRET, N8N_ENCRYPTION_KEY_FILE='/k', QUEUE_BULL_REDIS_PASSWORD=SECRET),
        worker=service(N8N_ENCRYPTION_KEY=SECRET[::-1]),
        redis=dict(image='redis', command='redis-server --requirepass ' + SECRET,
                   environment=['REDISCLI_AUTH=' + SECRET])))
    findings = cl.lint_compose(config)
    assert len(findings) >= 5 and SECRET not in json.dumps(findings) and SECRET[::-1] not in json.dumps(findings)
