import pathlib

import pytest
import yaml

from ansible_collections.n8n_ops.stack.plugins.module_utils.backup_inputs import input_errors

# the role's defaults (roles/backup/defaults/main.yml, read from the role: a hand copy drifts), with the stack's
# default project dir in place of its Jinja default
ROLE_DEFAULTS = pathlib.Path(__file__).resolve().parents[4] / "roles" / "backup" / "defaults" / "main.yml"
DEFAULTS = {k: ("/opt/n8n" if k == "backup_project_dir" else v)
            for k, v in yaml.safe_load(ROLE_DEFAULTS.read_text()).items()}
# checked by the role's argument spec alone (a bool, a choice, a free path): input_errors leaves them be
SPEC_ONLY = {"backup_cron_enabled", "backup_prune_other_instances", "backup_cron_ansible_playbook",
             "backup_restore_toast_compression"}


def errors_with(**changes):
    values = dict(DEFAULTS)
    values.update(changes)
    return input_errors(values)


def one_error(**changes):
    errors = errors_with(**changes)
    assert len(errors) == 1, errors
    return errors[0]


def test_defaults_are_valid():
    assert input_errors(DEFAULTS) == []


def test_missing_keys_are_skipped():
    assert input_errors({}) == []
    assert input_errors({"backup_keep_daily": 2}) == []


def test_not_a_mapping_gives_a_message():
    assert input_errors(None) and input_errors(["backup_root"])


# --- paths ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["backup_root", "backup_project_dir", "backup_log_file"])
@pytest.mark.parametrize("value, says", [
    ("rel/backups", "absolute"),
    ("/", "must not be /"),
    ("/var/backups/my backups", "no spaces"),
    ("/srv/b;rm -rf x", "shell"),
    ("/srv/$(id)", "shell"),
    ("/srv/b\n", "shell"),
    ("/srv/../etc/b", "normalized"),
    ("/srv//b", "normalized"),
    ("//srv/b", "normalized"),
    ("/srv/b/", "normalized"),
    ("/srv/./b", "normalized"),
    ("", "absolute"),
    (None, "absolute"),
    (["/srv/b"], "absolute"),
])
def test_bad_paths_are_refused_naming_variable_and_value(name, value, says):
    message = one_error(**{name: value, "backup_project_dir": "/opt/n8n" if name != "backup_project_dir" else value})
    assert message.startswith(name) and says in message and repr(value) in message


@pytest.mark.parametrize("value", ["/var/backups/n8n", "/srv/backups", "/mnt/disk-2/n8n_backups", "/data/b@x+y,z:1"])
def test_good_paths_are_accepted(value):
    assert errors_with(backup_root=value, backup_log_file=value + ".log") == []


def test_real_failure_relative_backup_root():
    assert one_error(backup_root="rel/backups") == "backup_root must be an absolute path, got 'rel/backups'"


def test_real_failure_backup_root_slash():
    assert "backup_root must not be /" in one_error(backup_root="/")


def test_real_failure_backup_root_with_space():
    message = one_error(backup_root="/var/backups/my backups")
    assert "backup_root" in message and "'/var/backups/my backups'" in message


@pytest.mark.parametrize("value", ["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/run", "/sbin", "/sys", "/usr",
                                   "/var", "/tmp"])
def test_backup_root_is_not_a_system_directory(value):
    assert "system directory" in one_error(backup_root=value)


@pytest.mark.parametrize("value, says", [
    ("/tmp/backups", "cleared at boot"), ("/run/n8n", "cleared at boot"),
    ("/proc/x", "/proc"), ("/sys/x", "/sys"), ("/dev/shm/b", "/dev"),
])
def test_backup_root_is_not_under_volatile_or_virtual_trees(value, says):
    message = one_error(backup_root=value)
    assert message.startswith("backup_root") and says in message and repr(value) in message


@pytest.mark.parametrize("value", ["/var/backups", "/usr/local/backups", "/etc-backups", "/tmpdata/b", "/devices/b"])
def test_backup_root_below_or_beside_system_dirs_is_fine(value):
    assert errors_with(backup_root=value) == []


def test_system_dir_check_applies_to_backup_root_only():
    assert errors_with(backup_log_file="/tmp/n8n-backup.log") == []


@pytest.mark.parametrize("root, project, says", [
    ("/opt/n8n", "/opt/n8n", "must not be backup_project_dir itself"),
    ("/opt/n8n/backups", "/opt/n8n", "must not be inside backup_project_dir"),
    ("/srv", "/srv/n8n", "backup_project_dir '/srv/n8n' must not be inside backup_root"),
])
def test_backup_root_and_project_dir_do_not_nest(root, project, says):
    assert says in one_error(backup_root=root, backup_project_dir=project)


def test_sibling_with_common_prefix_is_not_nested():
    assert errors_with(backup_root="/opt/n8n-backups", backup_project_dir="/opt/n8n") == []


# --- pg_dump ---------------------------------------------------------------------------------------------------

def test_real_failure_directory_format_is_refused_with_the_reason():
    message = one_error(backup_pg_format="directory")
    assert message.startswith("backup_pg_format must be 'custom', got 'directory'") and "bind mount" in message


@pytest.mark.parametrize("value", [None, "", "tar", "plain", 1])
def test_other_formats_are_refused(value):
    assert one_error(backup_pg_format=value).startswith("backup_pg_format")


@pytest.mark.parametrize("value", ["none", "gzip", "lz4", "zstd", "gzip:1", "gzip:9", "lz4:12", "zstd:22", "zstd:1",
                                   "0", "6", "9", 6])
def test_good_compression(value):
    assert errors_with(backup_pg_compression=value) == []


@pytest.mark.parametrize("value", ["", "zip", "gzip:0", "gzip:10", "lz4:13", "zstd:0", "zstd:23", "10", "none:1",
                                   "zstd:", "ZSTD", "zstd:1\n", "zstd: 1", None, True, ["zstd"]])
def test_bad_compression(value):
    message = one_error(backup_pg_compression=value)
    assert message.startswith("backup_pg_compression") and repr(value) in message


# --- integers --------------------------------------------------------------------------------------------------

def test_real_failure_negative_keep_daily():
    assert one_error(backup_keep_daily=-1) == "backup_keep_daily must be an integer >= 0, got -1"


@pytest.mark.parametrize("name", ["backup_pg_min_bytes", "backup_keep_daily", "backup_keep_weekly",
                                  "backup_keep_monthly", "backup_keep_last", "backup_restore_keep_previous"])
@pytest.mark.parametrize("value", [-1, "-3", True, False, 1.5, "many", None, [], {}])
def test_counts_must_be_integers_at_least_zero(name, value):
    message = one_error(**{name: value})
    assert message == "%s must be an integer >= 0%s, got %r" % (
        name, " (bytes)" if name == "backup_pg_min_bytes" else "", value)


@pytest.mark.parametrize("name", ["backup_pg_min_bytes", "backup_keep_daily", "backup_keep_last",
                                  "backup_restore_keep_previous"])
@pytest.mark.parametrize("value", [0, 5, "5", 5.0])
def test_counts_accept_zero_and_integer_strings(name, value):
    assert errors_with(**{name: value}) == []


@pytest.mark.parametrize("name", ["backup_pg_timeout", "backup_redis_timeout", "backup_data_timeout"])
@pytest.mark.parametrize("value", [0, -5, "0", True, "soon", None])
def test_timeouts_must_be_at_least_one_second(name, value):
    assert one_error(**{name: value}) == "%s must be an integer >= 1 (seconds), got %r" % (name, value)


# --- retention duration ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["", "36h", "7d", "2w", "3m", "1y", "1d12h", "1y2m3w4d5h"])
def test_good_keep_within(value):
    assert errors_with(backup_keep_within=value) == []


@pytest.mark.parametrize("value", ["7", "d", "7 d", "7days", "-1d", "1d1d", "1.5d", "7D", "7d\n", None, 7, True])
def test_bad_keep_within(value):
    message = one_error(backup_keep_within=value)
    assert message.startswith("backup_keep_within") and repr(value) in message


# --- disk space factor -----------------------------------------------------------------------------------------

def test_real_failure_min_free_factor_zero():
    message = one_error(backup_min_free_factor=0)
    assert message.startswith("backup_min_free_factor must be a number >= 1.0") and message.endswith("got 0")


@pytest.mark.parametrize("value", [0.99, -1, "0.5", "nan", "inf", float("nan"), True, None, "big"])
def test_bad_min_free_factor(value):
    assert one_error(backup_min_free_factor=value).startswith("backup_min_free_factor")


@pytest.mark.parametrize("value", [1, 1.0, "1.5", 3])
def test_good_min_free_factor(value):
    assert errors_with(backup_min_free_factor=value) == []


# --- lock staleness --------------------------------------------------------------------------------------------

def test_real_failure_lock_stale_hours_zero_gives_a_message():
    message = one_error(backup_lock_stale_hours=0)
    assert message == "backup_lock_stale_hours must be a number > 0 (hours), got 0"


@pytest.mark.parametrize("value", [-1, "0", True, None, "half a day", float("inf")])
def test_bad_lock_stale_hours(value):
    assert one_error(backup_lock_stale_hours=value).startswith("backup_lock_stale_hours must be a number > 0")


def test_lock_must_outlive_the_runs_own_timeouts_and_says_the_numbers():
    message = one_error(backup_lock_stale_hours=2)  # 7200 s < 7200 + 120 + 1800
    assert "7200 s" in message and "backup_pg_timeout + backup_redis_timeout + backup_data_timeout" in message
    assert "7200 + 120 + 1800 = 9120 s" in message and "go stale" in message


def test_lock_equal_to_the_timeouts_is_too_short():
    assert one_error(backup_lock_stale_hours=1, backup_pg_timeout=3000, backup_redis_timeout=300,
                     backup_data_timeout=300)


def test_lock_check_uses_only_the_timeouts_given():
    values = {"backup_lock_stale_hours": 1, "backup_pg_timeout": 3000, "backup_redis_timeout": 120}
    assert input_errors(values) == []
    values["backup_pg_timeout"] = 3500
    assert "3500 + 120 = 3620 s" in input_errors(values)[0]
    assert input_errors({"backup_lock_stale_hours": 0.5}) == []


def test_fractional_lock_hours_are_fine_when_long_enough():
    assert errors_with(backup_lock_stale_hours="2.6") == []


def test_invalid_timeout_reports_itself_not_the_lock():
    message = one_error(backup_lock_stale_hours=1, backup_pg_timeout="x")
    assert message.startswith("backup_pg_timeout")


# --- webhook ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["", "https://hooks.example.com/x?token=abc", "http://10.0.0.5:8080/alert",
                                   "HTTPS://example.com"])
def test_good_webhook(value):
    assert errors_with(backup_failure_webhook_url=value) == []


@pytest.mark.parametrize("value", ["ftp://example.com/secret-token", "https://", "https:///path", "example.com/t0k3n",
                                   "https://example.com/a b", "https://example.com/tok\n", "https://ex\tample.com",
                                   None, True, ["https://example.com/s3cr3t"]])
def test_bad_webhook_never_shows_the_value(value):
    message = one_error(backup_failure_webhook_url=value)
    assert message.startswith("backup_failure_webhook_url must be empty or an http(s) URL")
    assert "example.com" not in message and "t0k3n" not in message and "secret" not in message


# --- cron ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("hour, minute", [("2", "0"), ("*", "*/15"), ("0-23", "59"), ("1,13", "0,30"),
                                          ("*/6", "5-55/10"), ("23", "5/20"), (2, 0), ("02", "07")])
def test_good_cron_fields(hour, minute):
    assert errors_with(backup_cron_hour=hour, backup_cron_minute=minute) == []


@pytest.mark.parametrize("name, value", [
    ("backup_cron_hour", "24"), ("backup_cron_hour", "-1"), ("backup_cron_hour", "5-2"), ("backup_cron_hour", "*/0"),
    ("backup_cron_hour", ""), ("backup_cron_hour", "2 * * * rm -rf /"), ("backup_cron_hour", "2\n"),
    ("backup_cron_hour", "1,,2"), ("backup_cron_hour", "*-3"), ("backup_cron_hour", True), ("backup_cron_hour", None),
    ("backup_cron_minute", "60"), ("backup_cron_minute", "0-60"), ("backup_cron_minute", "@daily"),
    ("backup_cron_minute", "a"), ("backup_cron_minute", 61), ("backup_cron_minute", 1.5),
])
def test_bad_cron_fields(name, value):
    message = one_error(**{name: value})
    assert message.startswith(name) and repr(value) in message
    assert ("0-23" if name == "backup_cron_hour" else "0-59") in message


# --- restore ---------------------------------------------------------------------------------------------------

def test_real_failure_restore_set_path_traversal():
    message = one_error(backup_restore_set="../etc")
    assert message.startswith("backup_restore_set") and "'../etc'" in message and "YYYYMMDD_HHMMSS" in message


@pytest.mark.parametrize("value", ["latest", "2026", "../x", "20261123_020000/..", "20261301_020000",
                                   "20261123_250000", "20260230_010000", "20261123-020000", "20261123_020000\n",
                                   20261123, None, True])
def test_bad_restore_set(value):
    assert one_error(backup_restore_set=value).startswith("backup_restore_set")


@pytest.mark.parametrize("value", ["", "20261123_020000", "20240229_235959"])
def test_good_restore_set(value):
    assert errors_with(backup_restore_set=value) == []


@pytest.mark.parametrize("value", ["", "yes", "no"])
def test_good_restore_confirm(value):
    assert errors_with(backup_restore_confirm=value) == []


@pytest.mark.parametrize("value", ["YES", "y", "true", None, 1])
def test_bad_restore_confirm(value):
    assert one_error(backup_restore_confirm=value) == (
        "backup_restore_confirm must be '', 'yes' or 'no', got %r" % (value,))


def test_unquoted_yaml_yes_gets_a_hint():
    assert "quote it" in one_error(backup_restore_confirm=True)


# --- robustness ------------------------------------------------------------------------------------------------

class Odd:
    def __repr__(self):
        return "Odd()"


@pytest.mark.parametrize("name", sorted(set(DEFAULTS) - SPEC_ONLY))
@pytest.mark.parametrize("value", [Odd(), {"a": 1}, [1, 2], object, b"/var/backups"])
def test_wrong_types_give_a_message_never_an_exception(name, value):
    message = one_error(**{name: value, "backup_project_dir": "/opt/n8n" if name != "backup_project_dir" else value})
    assert message.startswith(name)


def test_all_problems_are_reported_together():
    errors = errors_with(backup_root="rel/backups", backup_keep_daily=-1, backup_lock_stale_hours=0,
                         backup_min_free_factor=0, backup_pg_format="directory", backup_restore_set="../etc")
    assert [e.split()[0] for e in errors] == ["backup_root", "backup_pg_format", "backup_keep_daily",
                                              "backup_min_free_factor", "backup_lock_stale_hours",
                                              "backup_restore_set"]


@pytest.mark.parametrize("value", ["256MB", "64kB", "1GB"])
def test_restore_maintenance_work_mem_ok(value):
    assert input_errors({"backup_restore_maintenance_work_mem": value}) == []


@pytest.mark.parametrize("value", ["256", "256mb", "-1MB", "1 GB", "256MB -c fsync=off", 256])
def test_restore_maintenance_work_mem_refused(value):
    errors = input_errors({"backup_restore_maintenance_work_mem": value})
    assert len(errors) == 1 and "backup_restore_maintenance_work_mem" in errors[0]


@pytest.mark.parametrize("value", [20261123020000, "20261123020000"])
def test_restore_set_read_as_a_number_says_quote_it(value):
    errors = input_errors({"backup_restore_set": value})
    assert len(errors) == 1 and "quote the set name" in errors[0]
