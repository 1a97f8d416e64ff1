"""Container and host facts of the hardening role (pytest-testinfra against the Docker-in-Docker test host)."""

import json
import re

import pytest

SERVICES = ('postgres', 'redis', 'n8n', 'n8n-worker')


def containers(host, service):
    ids = host.check_output('docker compose --project-directory /opt/n8n ps -q %s' % service).split()
    assert ids, service
    return json.loads(host.check_output('docker inspect %s' % ' '.join(ids)))


@pytest.mark.parametrize('service', SERVICES)
def test_every_container_runs_confined(host, service):
    for c in containers(host, service):
        hc = c['HostConfig']
        assert hc['CapDrop'] == ['ALL'] and not hc['CapAdd'], c['Name']
        assert 'no-new-privileges:true' in hc['SecurityOpt'] and not hc['Privileged']
        assert hc['ReadonlyRootfs'] is True
        assert hc['PidsLimit'] > 0 and hc['CpuShares'] > 0 and hc['Memory'] > 0
        assert hc['RestartPolicy']['Name'] == 'unless-stopped'
        assert hc['LogConfig']['Type'] == 'json-file' and hc['LogConfig']['Config']['max-size']
        assert hc['NetworkMode'] == 'n8n_default'


@pytest.mark.parametrize('service,user', [('postgres', 'postgres'), ('redis', 'redis'), ('n8n', 'node'),
                                          ('n8n-worker', 'node')])
def test_every_service_runs_as_its_own_user(host, service, user):
    for c in containers(host, service):
        pid1_uid = host.check_output("docker exec %s awk '/^Uid:/ {print $2}' /proc/1/status" % c['Id'])
        assert pid1_uid == host.check_output('docker exec %s id -u %s' % (c['Id'], user)) != '0', c['Name']


@pytest.mark.parametrize('service', SERVICES)
def test_no_password_or_key_in_env_or_command(host, service):
    for c in containers(host, service):
        names = [e.split('=', 1)[0] for e in c['Config']['Env']]
        plain = [n for n in names if n.endswith(('PASSWORD', 'ENCRYPTION_KEY')) or n == 'REDISCLI_AUTH']
        assert plain == [], c['Name']
        assert '--requirepass' not in (c['Config']['Cmd'] or [])


@pytest.mark.parametrize('service', ('n8n', 'n8n-worker'))
def test_n8n_reads_its_secrets_from_files_logs_in_as_its_own_role_and_blocks_env_access(host, service):
    env = dict(e.split('=', 1) for e in containers(host, service)[0]['Config']['Env'])
    assert env['DB_POSTGRESDB_USER'] == 'n8n_app'
    assert env['DB_POSTGRESDB_PASSWORD_FILE'] == '/run/secrets/n8n_ops_db/password'
    assert env['N8N_ENCRYPTION_KEY_FILE'] == '/run/secrets/n8n_ops/encryption_key'
    assert env['QUEUE_BULL_REDIS_PASSWORD_FILE'] == '/run/secrets/n8n_ops/redis_password'
    assert env['N8N_BLOCK_ENV_ACCESS_IN_NODE'] == 'true'


@pytest.mark.parametrize('path,mode,owner', [
    ('/opt/n8n', 0o750, 'root'),
    ('/opt/n8n/.env', 0o600, 'root'),
    ('/opt/n8n/n8n.env', 0o600, 'root'),
    ('/opt/n8n/secrets', 0o700, 'root'),
    ('/opt/n8n/secrets/n8n', 0o700, 1000),
    ('/opt/n8n/secrets/n8n/encryption_key', 0o400, 1000),
    ('/opt/n8n/secrets/n8n-db', 0o700, 1000),
    ('/opt/n8n/secrets/n8n-db/password', 0o400, 1000),
    ('/opt/n8n/secrets/postgres/password', 0o400, 'postgres-image'),
    ('/opt/n8n/secrets/redis/redis.conf', 0o400, 'redis-image'),
    ('/opt/n8n/compose.d/60-hardening.yml', 0o640, 'root'),
])
def test_modes_and_owners(host, path, mode, owner):
    f = host.file(path)
    assert f.exists and f.mode == mode, path
    if owner == 'root':
        assert f.uid == 0
    elif isinstance(owner, int):
        assert f.uid == owner
    else:  # the uid of the service's user inside its image
        image, user = {'postgres-image': ('local/postgres:17', 'postgres'), 'redis-image': ('local/redis:7', 'redis')}[owner]
        assert f.uid == int(host.check_output('docker run --rm --network=none --entrypoint=id %s -u %s' % (image, user)))


def test_secret_mounts_are_read_only(host):
    for service in SERVICES:
        for c in containers(host, service):
            mounts = [m for m in c['Mounts'] if m['Destination'].startswith('/run/secrets/n8n_ops')]
            assert len(mounts) == (2 if service.startswith('n8n') else 1), c['Name']
            assert not [m for m in mounts if m['RW']], c['Name']


def test_pg_hba_allows_host_connections_only_from_the_compose_network(host):
    sql = "SELECT type, coalesce(address, ''), auth_method, array_to_string(user_name, ','), current_user FROM pg_hba_file_rules"
    rules = host.check_output('cd /opt/n8n && echo "%s" | docker compose exec -T postgres '
                              'sh -c \'psql -At -U "$POSTGRES_USER" -d "$POSTGRES_DB"\'' % sql)
    hosts = [line.split('|') for line in rules.splitlines() if line.startswith('host')]
    allowed = [r for r in hosts if r[2] != 'reject']
    assert allowed and all(r[2] == 'scram-sha-256' for r in allowed)
    # loopback (inside the postgres container) and the container's own networks, never a subnet written down:
    # Docker gives a recreated compose network another one
    assert sorted(r[1] for r in allowed) == ['127.0.0.1', '::1', 'samenet']
    # the superuser: refused from any address, before any rule that would let it in from another container
    superuser = hosts[0][4]
    rejects = [i for i, r in enumerate(hosts) if r[2] == 'reject']
    assert [(hosts[i][1], hosts[i][3]) for i in rejects] == [('0.0.0.0', superuser), ('::', superuser)]
    assert max(rejects) < [r[1] for r in hosts].index('samenet')


def test_redis_config_disables_dangerous_commands(host):
    conf = host.file('/opt/n8n/secrets/redis/hardening.conf').content_string
    assert conf.startswith('#') and 'include /run/secrets/n8n_ops/redis.conf' in conf
    for command in ('FLUSHALL', 'FLUSHDB', 'CONFIG', 'DEBUG'):
        assert 'rename-command %s ""' % command in conf


def test_only_n8n_is_published_and_on_loopback(host):
    published = {}
    for service in SERVICES:
        for c in containers(host, service):
            for port, binds in (c['HostConfig']['PortBindings'] or {}).items():
                published[(service, port)] = [b['HostIp'] for b in binds]
    assert published == {('n8n', '5678/tcp'): ['127.0.0.1']}


def test_docker_daemon_rotates_logs_by_default_and_keeps_its_other_settings(host):
    f = host.file('/etc/docker/daemon.json')
    assert f.mode == 0o644
    config = json.loads(f.content_string)
    assert config['log-driver'] == 'json-file'
    assert config['log-opts'] == {'max-size': '10m', 'max-file': '3'}
    assert config['features'] == {'buildkit': True}  # seeded by converge before the role ran
    backups = host.check_output('ls /etc/docker').split()
    assert any(name.startswith('daemon.json.') and name.endswith('~') for name in backups), backups


# What counts as an error line in each service's log. n8n writes text lines without a level, so a word match;
# Redis 7.0 marks start-up notices with '#' too, so words there as well (a WARNING, such as the overcommit one
# the hardening role's host settings prevent, counts).
N8N_ERROR = r'(?i)\b(error|errored|fatal|exception|unhandled)\b'
ERROR_LINES = {
    'postgres': r'\b(FATAL|ERROR|PANIC)\b',
    'redis': r'(?i)\b(error|warning|denied|failed|refused)\b',
    'n8n': N8N_ERROR,
    'n8n-worker': N8N_ERROR,
}
# This test machine has no internet: n8n's calls home (community node and MCP server lists) fail. Not the stack's.
OFFLINE = re.compile(r'api\.n8n\.io')


@pytest.mark.parametrize('service', SERVICES)
def test_every_container_of_the_stack_logs_no_error_since_it_started(host, service):
    """Run last in verify, after down/up: the containers are new, so their whole log is a hardened stack's start
    and some minutes of running (the PostgreSQL log is also checked at three points in verify: quiet_logs.yml)."""
    pattern = re.compile(ERROR_LINES[service], re.M)
    for c in containers(host, service):
        log = host.run('docker logs %s' % c['Id'])
        assert log.rc == 0, c['Name']
        errors = [m for m in messages(log.stdout + log.stderr) if pattern.search(m) and not OFFLINE.search(m)]
        assert errors == [], '%s: %s' % (c['Name'], errors[:5])


def messages(text):
    """Log lines with their indented continuation lines (a stack trace belongs to the error line above it)."""
    out = []
    for line in text.splitlines():
        if out and line[:1] in (' ', '\t'):
            out[-1] += '\n' + line
        else:
            out.append(line)
    return out
