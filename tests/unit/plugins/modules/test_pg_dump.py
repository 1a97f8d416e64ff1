import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils.docker_exec import ExecResult
from ansible_collections.n8n_ops.stack.plugins.modules import pg_dump


def params(**overrides):
    p = dict(container='pg', database='n8n', login_user='postgres', dest='/b/n8n.dump', format='custom', jobs=1,
             container_dest=None, compression='zstd:1', min_bytes=1024, timeout=0, docker_cli='docker')
    p.update(overrides)
    return p


@pytest.mark.parametrize('value, expected', [
    ('zstd:1', ('zstd', 1)), ('zstd', ('zstd', None)), ('gzip:6', ('gzip', 6)), ('lz4', ('lz4', None)),
    ('lz4:12', ('lz4', 12)), ('none', ('none', None)), ('5', ('gzip', 5)), ('0', ('none', None)),
])
def test_parse_compression_accepts(value, expected):
    assert pg_dump.parse_compression(value) == expected


@pytest.mark.parametrize('value', ['', 'zstd:0', 'zstd:23', 'gzip:10', 'lz4:13', 'brotli', 'zstd:fast', 'none:1',
                                   '10', 'zstd:1 --file=/etc/x', 'gzip:6;'])
def test_parse_compression_rejects(value):
    with pytest.raises(ValueError):
        pg_dump.parse_compression(value)


def test_compression_arg_new_pg_dump_passes_method():
    assert pg_dump.compression_arg('zstd', 1, 17) == 'zstd:1'
    assert pg_dump.compression_arg('none', None, 16) == 'none'


def test_compression_arg_old_pg_dump_translates_gzip_and_refuses_zstd():
    assert pg_dump.compression_arg('gzip', 6, 15) == '6'
    assert pg_dump.compression_arg('gzip', None, 15) == '6'
    assert pg_dump.compression_arg('none', None, 15) == '0'
    with pytest.raises(ValueError, match='needs pg_dump 16'):
        pg_dump.compression_arg('zstd', 1, 15)


def test_dbname_arg_plain_name_unchanged():
    assert pg_dump.dbname_arg('n8n') == 'n8n'


@pytest.mark.parametrize('name', ["host=evil dbname=x", "postgresql://evil/x", "a'b=c"])
def test_dbname_arg_quotes_names_libpq_would_expand(name):
    arg = pg_dump.dbname_arg(name)
    assert arg.startswith("dbname='") and arg.endswith("'")
    assert "\\'" in arg or "'" not in name


def test_validate_ok():
    assert pg_dump.validate(params()) is None


@pytest.mark.parametrize('overrides, fragment', [
    (dict(format='directory'), 'needs container_dest'),
    (dict(jobs=4), 'needs format=directory'),
    (dict(jobs=0), 'jobs must be >= 1'),
    (dict(format='directory', container_dest='backup'), 'absolute'),
    (dict(min_bytes=-1), 'min_bytes'),
    (dict(timeout=-5), 'timeout must be >= 0'),
    (dict(compression='zstd:99'), 'zstd level'),
])
def test_validate_errors(overrides, fragment):
    assert fragment in pg_dump.validate(params(**overrides))


def test_validate_directory_with_jobs_ok():
    assert pg_dump.validate(params(format='directory', jobs=4, container_dest='/backup')) is None


def test_count_toc_ignores_comments_and_blank_lines():
    listing = ';\n; Archive created at 2026-11-23\n;     dbname: n8n\n\n215; 1259 16389 TABLE public t postgres\n' \
              '3345; 0 16389 TABLE DATA public t postgres\n'
    assert pg_dump.count_toc(listing) == 2


class FakeExec:
    container = 'pg'

    def __init__(self, outputs):
        self.outputs = outputs

    def run(self, cmd, **kwargs):
        rc, out, err = self.outputs[cmd[0] if cmd[0] == 'psql' else ' '.join(cmd)]
        return ExecResult(cmd, rc, out, err)


def test_probe_versions_parses_server_and_pg_dump():
    ex = FakeExec({'psql': (0, b'170006\n17.6 (Debian 17.6-1.pgdg13+1)\n', b''),
                   'pg_dump --version': (0, b'pg_dump (PostgreSQL) 16.10 (Debian 16.10-1)\n', b'')})
    assert pg_dump.probe_versions(ex, []) == (17, '17.6', 16, '16.10')


def test_probe_versions_reports_psql_error():
    ex = FakeExec({'psql': (2, b'', b'psql: error: FATAL:  database "x" does not exist')})
    with pytest.raises(pg_dump.DumpError, match='database "x" does not exist'):
        pg_dump.probe_versions(ex, [])


def test_with_timeout_wraps_the_command_inside_the_container():
    assert pg_dump.with_timeout(['pg_dump', '-w'], 0) == ['pg_dump', '-w']
    assert pg_dump.with_timeout(['pg_dump', '-w'], 600) == ['timeout', '-s', 'TERM', '-k', '30', '600', 'pg_dump', '-w']
    assert pg_dump.host_timeout(0) is None
    assert pg_dump.host_timeout(600) > 600
