from ansible_collections.n8n_ops.stack.plugins.module_utils import redis_info

INFO = """# Persistence\r
loading:0\r
rdb_changes_since_last_save:0\r
rdb_bgsave_in_progress:0\r
rdb_last_save_time:1795461335\r
rdb_last_bgsave_status:ok\r
rdb_saves:2\r
current_fork_perc:0.00\r
"""


def info(**overrides):
    data = redis_info.parse_info(INFO)
    data.update(overrides)
    return data


def test_parse_info_types_and_sections():
    data = redis_info.parse_info(INFO)
    assert data['rdb_bgsave_in_progress'] == 0
    assert data['rdb_last_bgsave_status'] == 'ok'
    assert data['current_fork_perc'] == 0.0
    assert '# Persistence' not in data


def test_done_when_lastsave_advanced_and_ok():
    assert redis_info.snapshot_done(100, 101, info())


def test_not_done_while_in_progress():
    assert redis_info.snapshot_state(100, 101, info(rdb_bgsave_in_progress=1)) == redis_info.IN_PROGRESS


def test_not_done_when_lastsave_not_advanced():
    assert redis_info.snapshot_state(100, 100, info()) == redis_info.WAITING


def test_done_in_same_second_when_rdb_saves_grew():
    assert redis_info.snapshot_done(100, 100, info(rdb_saves=3), saves_before=2)


def test_failed_status_is_failure():
    assert redis_info.snapshot_state(100, 100, info(rdb_last_bgsave_status='err')) == redis_info.FAILED


def test_in_progress_wins_over_old_error():
    state = redis_info.snapshot_state(100, 100, info(rdb_bgsave_in_progress=1, rdb_last_bgsave_status='err'))
    assert state == redis_info.IN_PROGRESS


def test_parse_config_get():
    assert redis_info.parse_config_get('dir\n/data\ndbfilename\ndump.rdb\n') == {'dir': '/data', 'dbfilename': 'dump.rdb'}
    assert redis_info.parse_config_get('') == {}
