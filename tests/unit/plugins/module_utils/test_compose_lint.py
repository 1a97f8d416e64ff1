"""module_utils/compose_lint.py: every lint rule, finding and not, and that no secret value reaches a finding."""

import json

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import compose_lint as cl

SECRET = 'Sup3r-s3cret-v4lue-0f-the-t3st'  # a fake; the test asserts it never comes back out


def service(image='n8nio/n8n:2.41.1', **env):
    return dict(image=image, environment=env)


def lint(**services):
    return cl.lint_compose(dict(services=services))


def ids(findings, severity=None):
    return sorted((f['id'], f['service']) for f in findings if severity in (None, f['severity']))


STACK = dict(services=dict(
    postgres=dict(image='postgres:17.6', environment=dict(POSTGRES_DB='n8n', POSTGRES_USER='n8n',
                                                          POSTGRES_PASSWORD_FILE='/run/secrets/n8n_ops/password'),
                  command=['postgres', '-c', 'shared_preload_libraries=pg_stat_statements']),
    redis=dict(image='redis:7.4', command=['redis-server', '/run/secrets/n8n_ops/redis.conf']),
    n8n=service(DB_TYPE='postgresdb', DB_POSTGRESDB_HOST='postgres', DB_POSTGRESDB_PASSWORD_FILE='/run/secrets/p',
                EXECUTIONS_MODE='queue', QUEUE_BULL_REDIS_HOST='redis', QUEUE_BULL_REDIS_PASSWORD_FILE='/run/secrets/r',
                N8N_ENCRYPTION_KEY_FILE='/run/secrets/k', OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS='true',
                N8N_SECURE_COOKIE='false', N8N_PORT='5678', GENERIC_TIMEZONE='UTC', N8N_METRICS='true'),
    **{'n8n-worker': dict(service(N8N_ENCRYPTION_KEY_FILE='/run/secrets/k', EXECUTIONS_MODE='queue',
                                  QUEUE_BULL_REDIS_PASSWORD_FILE='/run/secrets/r'),
                          command=['worker', '--concurrency=10'])}))


def test_the_stack_as_deployed_lints_clean():
    assert cl.lint_compose(STACK) == []


def test_obsolete_variable_and_latest_image_are_errors_naming_both():
    findings = lint(**{'n8n-worker': service('local/n8n:latest', EXECUTIONS_CONCURRENCY='5')})
    assert ids(findings, cl.ERROR) == [('image-unpinned', 'n8n-worker'), ('n8n-obsolete-var', 'n8n-worker')]
    text = ' '.join(f['message'] for f in findings)
    assert 'EXECUTIONS_CONCURRENCY' in text and 'N8N_CONCURRENCY_PRODUCTION_LIMIT' in text and ':latest' in text


@pytest.mark.parametrize('name,instead', [
    ('EXECUTIONS_PROCESS', 'queue mode'), ('N8N_BASIC_AUTH_ACTIVE', 'owner account'),
    ('N8N_BASIC_AUTH_PASSWORD', 'owner account'), ('N8N_JWT_AUTH_ACTIVE', 'SSO'), ('N8N_JWKS_URI', 'SSO'),
    ('N8N_USER_MANAGEMENT_DISABLED', 'owner account'), ('QUEUE_WORKER_MAX_STALLED_COUNT', 'stalled'),
    ('N8N_SKIP_WEBHOOK_DEREGISTRATION_SHUTDOWN', 'deregisters'), ('N8N_RUNNERS_ENABLED', 'always on'),
    ('WEBHOOK_TUNNEL_URL', 'WEBHOOK_URL'), ('N8N_CONFIG_FILES', '*_FILE')])
def test_each_obsolete_variable_is_an_error_with_its_replacement(name, instead):
    (finding,) = lint(n8n=service(**{name: 'true'}))
    assert finding['severity'] == cl.ERROR and name in finding['message'] and instead in finding['message']


def test_obsolete_only_from_the_version_that_dropped_it():
    assert lint(n8n=service('n8nio/n8n:1.90.2', N8N_RUNNERS_ENABLED='true')) == []
    assert ids(lint(n8n=service('n8nio/n8n:1.14.0', N8N_SKIP_WEBHOOK_DEREGISTRATION_SHUTDOWN='true'))) == []
    assert ids(lint(n8n=service('n8nio/n8n:0.236.0', N8N_BASIC_AUTH_ACTIVE='true'))) == []
    assert ids(lint(n8n=service('n8nio/n8n@sha256:' + 'a' * 64, N8N_RUNNERS_ENABLED='true'))) == [
        ('n8n-obsolete-var', 'n8n')]  # no version to go by: flagged


def test_deprecated_variable_is_a_warning_from_its_version():
    (finding,) = lint(n8n=service(WEBHOOK_URL='https://n8n.example.com/'))
    assert finding['severity'] == cl.WARNING and 'N8N_WEBHOOK_URL' in finding['message']
    assert lint(n8n=service('n8nio/n8n:2.30.0', WEBHOOK_URL='https://n8n.example.com/')) == []


def test_unknown_n8n_looking_variable_is_a_warning():
    (finding,) = lint(n8n=service(N8N_ENCRIPTION_KEY_FILE='/run/secrets/k', QUEUE_BULL_REDIS_HOST='redis'))
    assert finding['id'] == 'n8n-unknown-var' and finding['severity'] == cl.WARNING
    assert 'N8N_ENCRIPTION_KEY_FILE' in finding['message']


def test_known_variables_their_file_variants_and_other_prefixes_pass():
    assert lint(n8n=service(DB_POSTGRESDB_PASSWORD_FILE='/f', N8N_WEBHOOK_URL='https://x/', NODE_OPTIONS='--x',
                            N8N_CONCURRENCY_PRODUCTION_LIMIT='20', TZ='UTC', SOMETHING_ELSE='1')) == []


def test_variables_of_non_n8n_services_are_not_linted():
    assert lint(redis=service('redis:7.4', N8N_WHATEVER='1', EXECUTIONS_PROCESS='own')) == []


@pytest.mark.parametrize('image,bad', [('n8nio/n8n', True), ('n8nio/n8n:latest', True), ('n8nio/n8n:', True),
                                       ('registry:5000/n8nio/n8n:2.41.1', False),
                                       ('n8nio/n8n@sha256:' + 'b' * 64, False), ('postgres:17', False)])
def test_unpinned_image_is_an_error(image, bad):
    findings = lint(db=dict(image=image))
    assert ids(findings) == ([('image-unpinned', 'db')] if bad else [])


def test_differing_encryption_keys_are_an_error_without_the_values():
    findings = lint(n8n=service(N8N_ENCRYPTION_KEY=SECRET), worker=service(N8N_ENCRYPTION_KEY=SECRET + 'x'))
    (finding,) = [f for f in findings if f['id'] == 'encryption-key-mismatch']
    assert finding['severity'] == cl.ERROR and '[n8n] vs [worker]' in finding['message']
    assert SECRET not in json.dumps(findings)


def test_a_worker_without_the_key_differs_from_main():
    (finding,) = lint(n8n=service(N8N_ENCRYPTION_KEY_FILE='/run/secrets/k'), worker=service())
    assert finding['id'] == 'encryption-key-mismatch' and '[worker] sets neither' in finding['message']


def test_same_key_file_everywhere_and_task_runners_without_key_pass():
    assert lint(n8n=service(N8N_ENCRYPTION_KEY_FILE='/k'), worker=service(N8N_ENCRYPTION_KEY_FILE='/k'),
                runners=service('n8nio/runners:2.41.1')) == []


def test_secret_next_to_its_file_is_an_error_naming_the_variable_only():
    (finding,) = lint(db=dict(image='postgres:17', environment=dict(POSTGRES_PASSWORD=SECRET,
                                                                    POSTGRES_PASSWORD_FILE='/run/secrets/p')))
    assert finding['id'] == 'secret-in-env' and 'POSTGRES_PASSWORD' in finding['message']
    assert SECRET not in finding['message']


@pytest.mark.parametrize('name', ['QUEUE_BULL_REDIS_PASSWORD', 'N8N_RUNNERS_AUTH_TOKEN', 'N8N_SSO_OIDC_CLIENT_SECRET',
                                  'REDISCLI_AUTH', 'N8N_LICENSE_ACTIVATION_KEY'])
def test_secret_looking_plain_variable_beside_file_variables_is_an_error(name):
    findings = lint(n8n=service(N8N_ENCRYPTION_KEY_FILE='/k', **{name: SECRET}))
    assert ids(findings, cl.ERROR) == [('secret-in-env', 'n8n')] and SECRET not in json.dumps(findings)


def test_settings_with_secret_words_and_services_without_files_are_left_alone():
    assert lint(n8n=service(N8N_ENCRYPTION_KEY_FILE='/k', N8N_PASSWORD_MIN_LENGTH='8',
                            N8N_TOKEN_EXCHANGE_ENABLED='true')) == []
    assert lint(db=dict(image='postgres:17', environment=dict(POSTGRES_PASSWORD='x'))) == []


@pytest.mark.parametrize('command', [['redis-server', '--requirepass', SECRET], 'redis-server --requirepass ' + SECRET,
                                     ['redis-server', '--requirepass=' + SECRET]])
def test_requirepass_on_the_command_line_is_an_error(command):
    (finding,) = lint(redis=dict(image='redis:7.4', command=command))
    assert finding['id'] == 'secret-on-command-line' and SECRET not in finding['message']


def test_lint_refuses_what_is_not_a_compose_config():
    with pytest.raises(ValueError, match='docker compose config'):
        cl.lint_compose(['services'])


def test_environment_as_a_list_is_read_too():
    assert cl.env_dict(['A=1', 'B', 'C=x=y']) == dict(A='1', B=None, C='x=y')


@pytest.mark.parametrize('image,version', [('n8nio/n8n:2.41.1', (2, 41, 1)), ('n8nio/n8n:1.0', (1, 0)),
                                           ('localhost:5000/n8n:v2.3.0-debian', (2, 3, 0)), ('n8nio/n8n', None),
                                           ('n8nio/n8n:stable', None)])
def test_image_version(image, version):
    assert cl.image_version(image) == version
