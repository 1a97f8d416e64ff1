# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Checks of the backup role's variables that argument_specs cannot express (pure, no I/O).

Used through the filter ``n8n_ops.stack.backup_input_errors`` before the role changes anything. Every
message names the variable, shows the rejected value (repr) and says what is allowed; the failure webhook URL
is the exception: it may carry a token, so its value never appears in a message.

Role argument validation checks types but does not convert the variables, so a value typed in YAML or with
``-e`` may arrive as a string ('3'), a number (3) or a boolean (an unquoted yes). Integers given as digit
strings are accepted like Ansible's ``int`` type does; booleans are never numbers; nothing here raises on a value
of the wrong type.
"""

from __future__ import annotations

import math
import posixpath
import re

from ansible_collections.n8n_ops.stack.plugins.module_utils import retention
from ansible_collections.n8n_ops.stack.plugins.module_utils.pg_compression import parse_compression

PATH_VARS = ("backup_root", "backup_project_dir", "backup_log_file")
PATH_CHARS_RE = re.compile(r"^[A-Za-z0-9._/@+,:-]+\Z")
# backup_root must not be one of these ...
SYSTEM_DIRS = frozenset(("/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run",
                         "/sbin", "/sys", "/usr", "/var", "/tmp"))
# ... nor anything under these (virtual file systems; /tmp and /run are cleared at boot)
SYSTEM_TREES = ("/proc", "/sys", "/dev", "/run", "/tmp")

CRON_RANGES = {"backup_cron_hour": (0, 23), "backup_cron_minute": (0, 59)}
CRON_ITEM_RE = re.compile(r"^(?P<base>\*|(?P<low>\d+)(?:-(?P<high>\d+))?)(?:/(?P<step>\d+))?\Z", re.ASCII)

URL_RE = re.compile(r"^https?://[^/?#\s]+(?:[/?#]\S*)?\Z", re.IGNORECASE)

INT_RULES = (
    # name, minimum, what it is
    ("backup_pg_min_bytes", 0, "bytes"),
    ("backup_pg_timeout", 1, "seconds"),
    ("backup_redis_timeout", 1, "seconds"),
    ("backup_data_timeout", 1, "seconds"),
    ("backup_keep_last", 0, None),
    ("backup_keep_daily", 0, None),
    ("backup_keep_weekly", 0, None),
    ("backup_keep_monthly", 0, None),
    ("backup_restore_keep_previous", 0, None),
)
TIMEOUT_VARS = ("backup_pg_timeout", "backup_redis_timeout", "backup_data_timeout")


def _as_int(value):
    """An int from an int, an integral float or a string of digits; None otherwise (bool is not a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str) and re.match(r"^\s*[-+]?[0-9]+\s*\Z", value):
        return int(value)
    return None


def _as_number(value):
    """A finite float from an int, float or numeric string; None otherwise (bool is not a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _as_text(value):
    """A str from a str or a (non-bool) int, so `backup_cron_hour: 2` is fine; None otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _num(number):
    """12.0 -> '12', 0.5 -> '0.5' (for messages)."""
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def path_error(name, value):
    """Why `value` is not a usable absolute path for `name`, or None."""
    if not isinstance(value, str):
        return "%s must be an absolute path (a string), got %r" % (name, value)
    if not value.startswith("/"):
        return "%s must be an absolute path, got %r" % (name, value)
    if value == "/" or posixpath.normpath(value) == "/":
        return "%s must not be /, got %r" % (name, value)
    if not PATH_CHARS_RE.match(value):
        return ("%s may contain only letters, digits and . _ / @ + , : - (it is used in shell commands and cron "
                "lines; no spaces or shell metacharacters), got %r" % (name, value))
    if "//" in value or value.endswith("/") or posixpath.normpath(value) != value:
        return ("%s must be a normalized absolute path (no '.' or '..' components, no '//', no trailing '/'), "
                "got %r" % (name, value))
    return None


def _inside(path, parent):
    return path == parent or path.startswith(parent + "/")


def _root_error(value):
    if value in SYSTEM_DIRS:
        return ("backup_root must not be a system directory, got %r: use a directory of its own such as "
                "/var/backups/n8n" % (value,))
    for tree in SYSTEM_TREES:
        if _inside(value, tree):
            why = "cleared at boot" if tree in ("/tmp", "/run") else "a virtual file system"
            return ("backup_root must not be under %s (%s), got %r: use a persistent directory such as "
                    "/var/backups/n8n" % (tree, why, value))
    return None


def compression_error(value):
    """Why `value` is not a pg_dump -Z value, or None."""
    text = _as_text(value)
    allowed = "none, gzip, lz4, zstd, METHOD:LEVEL (gzip 1-9, lz4 1-12, zstd 1-22) or a single digit 0-9"
    if text is None:
        return "backup_pg_compression must be %s, got %r" % (allowed, value)
    try:
        parse_compression(text)
    except ValueError as e:
        return "backup_pg_compression must be %s, got %r (%s)" % (allowed, value, e)
    return None


def cron_field_error(name, value):
    """Why `value` is not a cron field for `name` (backup_cron_hour or backup_cron_minute), or None."""
    low, high = CRON_RANGES[name]
    what = ("%s must be a cron field with numbers %d-%d: *, N, N-M, lists (1,5) and steps (*/15, 0-30/10), got %r"
            % (name, low, high, value))
    text = _as_text(value)
    if text is None or not text:
        return what
    for item in text.split(","):
        match = CRON_ITEM_RE.match(item)
        if not match:
            return what
        first = int(match.group("low")) if match.group("low") is not None else low
        last = int(match.group("high")) if match.group("high") is not None else first
        if match.group("base") == "*":
            first, last = low, high
        step = match.group("step")
        if not (low <= first <= high and low <= last <= high and first <= last):
            return what
        if step is not None and not 1 <= int(step) <= high - low + 1:
            return what
    return None


def duration_error(value):
    if value == "":
        return None
    try:
        retention.parse_duration(value)
        return None
    except ValueError:
        return ("backup_keep_within must be empty or a duration such as 36h, 7d, 2w, 3m, 1y or a combination "
                "like 1d12h (each unit once), got %r" % (value,))


def webhook_error(value):
    """Why `value` is not '' or an http(s) URL, or None. The value itself is never put in the message."""
    if value == "":
        return None
    if isinstance(value, str) and URL_RE.match(value) and not any(ord(c) < 33 or ord(c) == 127 for c in value):
        return None
    return "backup_failure_webhook_url must be empty or an http(s) URL (value not shown: it may carry a token)"


def restore_set_error(value):
    if value == "":
        return None
    if retention.parse_name(value) is not None:
        return None
    hint = ''
    if re.match(r"\A[0-9]{14}\Z", str(value)):
        hint = (" (YAML reads an unquoted 20261123_020000 as the number 20261123020000: quote the set name, "
                "e.g. backup_restore_set: '20261123_020000')")
    return ("backup_restore_set must be empty (the newest good set) or a set name YYYYMMDD_HHMMSS that is a valid "
            "date and time, such as 20261123_020000, got %r%s" % (value, hint))


def _check_paths(values, errors):
    good = {}
    for name in PATH_VARS:
        if name not in values:
            continue
        err = path_error(name, values[name])
        if err is None and name == "backup_root":
            err = _root_error(values[name])
        if err:
            errors.append(err)
        else:
            good[name] = values[name]
    root, project = good.get("backup_root"), good.get("backup_project_dir")
    if root and project:
        if root == project:
            errors.append("backup_root must not be backup_project_dir itself (both %r): keep the backups apart from "
                          "the compose project" % (root,))
        elif _inside(root, project):
            errors.append("backup_root %r must not be inside backup_project_dir %r" % (root, project))
        elif _inside(project, root):
            errors.append("backup_project_dir %r must not be inside backup_root %r" % (project, root))


def _check_numbers(values, errors):
    ints = {}
    for name, minimum, unit in INT_RULES:
        if name not in values:
            continue
        number = _as_int(values[name])
        if number is None or number < minimum:
            errors.append("%s must be an integer >= %d%s, got %r" % (
                name, minimum, " (%s)" % unit if unit else "", values[name]))
        else:
            ints[name] = number

    if "backup_min_free_factor" in values:
        factor = _as_number(values["backup_min_free_factor"])
        if factor is None or factor < 1.0:
            errors.append("backup_min_free_factor must be a number >= 1.0 (free space needed as a multiple of the "
                          "backup's estimated size; below 1 a backup larger than the free space could start), got %r"
                          % (values["backup_min_free_factor"],))

    if "backup_lock_stale_hours" in values:
        raw = values["backup_lock_stale_hours"]
        hours = _as_number(raw)
        if hours is None or hours <= 0:
            errors.append("backup_lock_stale_hours must be a number > 0 (hours), got %r" % (raw,))
        else:
            given = [name for name in TIMEOUT_VARS if name in ints]
            total = sum(ints[name] for name in given)
            if given and not hours * 3600 > total:
                errors.append(
                    "backup_lock_stale_hours %r (%s s) must exceed %s (%s = %d s): a lock must not go stale while its "
                    "own run may still be running; raise backup_lock_stale_hours above %s or lower the timeouts"
                    % (raw, _num(hours * 3600), " + ".join(given), " + ".join(str(ints[n]) for n in given), total,
                       _num(round(total / 3600.0, 2))))


def _check_choices(values, errors):
    if "backup_pg_format" in values and values["backup_pg_format"] != "custom":
        errors.append("backup_pg_format must be 'custom', got %r: the role supports only the custom format (the "
                      "directory format needs a bind mount into the postgres container that the role does not set up)"
                      % (values["backup_pg_format"],))
    if "backup_restore_confirm" in values:
        value = values["backup_restore_confirm"]
        if not (isinstance(value, str) and value in ("", "yes", "no")):
            hint = " (quote it: unquoted yes/no are booleans in YAML)" if isinstance(value, bool) else ""
            errors.append("backup_restore_confirm must be '', 'yes' or 'no', got %r%s" % (value, hint))


MEMORY_RE = re.compile(r"\A[1-9][0-9]{0,6}(kB|MB|GB)\Z")


def memory_error(value):
    """A PostgreSQL memory setting as the restore session passes it in PGOPTIONS (e.g. 256MB)."""
    if not isinstance(value, str) or not MEMORY_RE.match(value):
        return ("backup_restore_maintenance_work_mem must be a PostgreSQL memory size like 256MB, 64kB or 1GB, got %r"
                % (value,))
    return None


def input_errors(values):
    """Checks argument_specs cannot express. values: the backup role's variables by name (a missing one is skipped).

    Returns a list of messages, empty when everything is fine.
    """
    if not isinstance(values, dict):
        return ["backup input checks need a mapping of variable names to values, got %s" % type(values).__name__]
    errors = []
    _check_paths(values, errors)
    _check_choices(values, errors)
    _check_numbers(values, errors)
    single = (
        ("backup_pg_compression", compression_error),
        ("backup_keep_within", duration_error),
        ("backup_failure_webhook_url", webhook_error),
        ("backup_restore_set", restore_set_error),
        ("backup_restore_maintenance_work_mem", memory_error),
    )
    for name, check in single:
        if name in values:
            err = check(values[name])
            if err:
                errors.append(err)
    for name in CRON_RANGES:
        if name in values:
            err = cron_field_error(name, values[name])
            if err:
                errors.append(err)
    return errors
