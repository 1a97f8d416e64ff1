import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.n8n_ops.stack.plugins.filter import backup
from ansible_collections.n8n_ops.stack.plugins.module_utils import backup_inputs, restore_compat

FILTERS = backup.FilterModule().filters()


def test_filters_are_registered_next_to_the_instance_id():
    assert {"n8n_instance_id", "backup_input_errors", "backup_restore_compat_errors"} <= set(FILTERS)


def test_backup_input_errors_filter_returns_messages():
    assert FILTERS["backup_input_errors"]({"backup_root": "/var/backups/n8n"}) == []
    assert FILTERS["backup_input_errors"]({"backup_keep_daily": -1}) == [
        "backup_keep_daily must be an integer >= 0, got -1"]


def test_backup_restore_compat_errors_filter_returns_messages():
    manifest = {"postgres_version": "17.6", "n8n_version": "2.41.1", "pg_dump_compression": "zstd:1"}
    assert FILTERS["backup_restore_compat_errors"](manifest, {"postgres_version": "17.6", "n8n_version": ""}) == []
    assert len(FILTERS["backup_restore_compat_errors"](manifest, {"postgres_version": "15.14",
                                                                  "n8n_version": "1.123.4"})) == 3


def boom(*args):
    raise RuntimeError("https://hooks.example.com/secret-token")


def test_unexpected_input_check_failure_is_a_filter_error_without_the_values(monkeypatch):
    monkeypatch.setattr(backup_inputs, "input_errors", boom)
    with pytest.raises(AnsibleFilterError) as caught:
        FILTERS["backup_input_errors"]({"backup_failure_webhook_url": "https://hooks.example.com/secret-token"})
    assert "backup_input_errors" in str(caught.value) and "RuntimeError" in str(caught.value)
    assert "secret-token" not in str(caught.value)


def test_unexpected_compat_failure_is_a_filter_error(monkeypatch):
    monkeypatch.setattr(restore_compat, "compat_errors", boom)
    with pytest.raises(AnsibleFilterError, match="backup_restore_compat_errors"):
        FILTERS["backup_restore_compat_errors"]({}, {})
