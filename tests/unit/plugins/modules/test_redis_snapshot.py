"""snapshot() against a scripted fake redis-cli, no container needed."""

import time

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils.docker_exec import ContainerExec, ExecResult
from ansible_collections.n8n_ops.stack.plugins.modules import redis_snapshot


class FakeRedis(redis_snapshot.Redis):
    def __init__(self, bgsave_replies, infos, lastsaves, timeout=5):
        super().__init__(ContainerExec('redis'), None, time.monotonic() + timeout)
        self.bgsave_replies = list(bgsave_replies)
        self.infos = list(infos)
        self.lastsaves = list(lastsaves)
        self.calls = []

    def call(self, *args):
        self.calls.append(' '.join(args))
        if time.monotonic() > self.deadline:
            raise redis_snapshot.SnapshotError('timed out before %s' % ' '.join(args))
        if args == ('BGSAVE',):
            return self.bgsave_replies.pop(0)
        if args == ('LASTSAVE',):
            return str(self.lastsaves.pop(0) if len(self.lastsaves) > 1 else self.lastsaves[0])
        if args == ('INFO', 'persistence'):
            return self.infos.pop(0) if len(self.infos) > 1 else self.infos[0]
        raise AssertionError(args)


def info(in_progress=0, status='ok', saves=1):
    return 'rdb_bgsave_in_progress:%d\nrdb_last_bgsave_status:%s\nrdb_saves:%d\n' % (in_progress, status, saves)


def test_started_then_done():
    r = FakeRedis(['Background saving started'], [info(saves=1), info(1, saves=1), info(saves=2)], [100, 100, 101])
    assert redis_snapshot.snapshot(r, 0.01) == 101


def test_same_second_save_detected_by_rdb_saves():
    r = FakeRedis(['Background saving started'], [info(saves=1), info(saves=2)], [100])
    assert redis_snapshot.snapshot(r, 0.01) == 100


def test_lastsave_not_advanced_keeps_waiting():
    r = FakeRedis(['Background saving started'], [info(saves=1)], [100], timeout=0.2)
    with pytest.raises(redis_snapshot.SnapshotError, match='timed out'):
        redis_snapshot.snapshot(r, 0.05)


def test_already_in_progress_waits_then_reissues():
    infos = [info(1, saves=1), info(1, saves=1), info(0, saves=2), info(0, saves=2), info(1, saves=2), info(0, saves=3)]
    r = FakeRedis(['ERR Background save already in progress', 'Background saving started'], infos,
                  [100, 101, 101, 102])
    assert redis_snapshot.snapshot(r, 0.01) == 102
    assert r.calls.count('BGSAVE') == 2


def test_bgsave_error_status_fails():
    r = FakeRedis(['Background saving started'], [info(), info(0, 'err')], [100])
    with pytest.raises(redis_snapshot.SnapshotError, match='rdb_last_bgsave_status:err'):
        redis_snapshot.snapshot(r, 0.01)


def test_unexpected_bgsave_reply_fails():
    r = FakeRedis(['NOAUTH Authentication required.'], [info()], [100])
    with pytest.raises(redis_snapshot.SnapshotError, match='NOAUTH'):
        redis_snapshot.snapshot(r, 0.01)


def test_non_numeric_lastsave_fails():
    r = FakeRedis([], [info()], ['NOAUTH Authentication required.'])
    with pytest.raises(redis_snapshot.SnapshotError, match='unexpected reply'):
        redis_snapshot.snapshot(r, 0.01)


def test_never_finishing_times_out():
    r = FakeRedis(['Background saving started'], [info(), info(1)], [100], timeout=0.2)
    with pytest.raises(redis_snapshot.SnapshotError, match='timed out'):
        redis_snapshot.snapshot(r, 0.05)


def test_exec_failure_reports_stderr(monkeypatch):
    def fake_run(self, cmd, **kwargs):
        return ExecResult(cmd, 1, b'', b'Error response from daemon: container abc is not running')
    monkeypatch.setattr(ContainerExec, 'run', fake_run)
    r = redis_snapshot.Redis(ContainerExec('abc'), 'pw', time.monotonic() + 5)
    with pytest.raises(redis_snapshot.SnapshotError, match='is not running'):
        r.lastsave()
