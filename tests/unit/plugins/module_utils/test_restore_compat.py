import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils.restore_compat import (
    compat_errors, compression_method, pg_major, version_tuple)

SET = {"postgres_version": "17.6", "n8n_version": "2.41.1", "pg_dump_format": "custom",
       "pg_dump_compression": "zstd:1"}
TARGET = {"postgres_version": "17.6", "n8n_version": "2.41.1"}


def errors_for(manifest_changes=None, target_changes=None):
    manifest, target = dict(SET), dict(TARGET)
    manifest.update(manifest_changes or {})
    target.update(target_changes or {})
    return compat_errors(manifest, target)


# --- version_tuple ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("17.6", (17, 6)),
    ("15.14 (Debian 15.14-0+deb12u1)", (15, 14)),
    ("2.41.1", (2, 41, 1)),
    ("v2.41.1", (2, 41, 1)),
    ("2.41.1\n", (2, 41, 1)),
    ("n8n@2.41.1", (2, 41, 1)),
    ("1.0.0+build.5", (1, 0, 0)),
    (17, (17,)),
    (17.6, (17, 6)),
])
def test_version_tuple_parses_release_numbers(text, expected):
    assert version_tuple(text) == expected
    assert tuple(version_tuple(text)) == expected


@pytest.mark.parametrize("lower, higher", [
    ("2.41.9", "2.41.10"),
    ("1.123.4", "2.41.1"),
    ("2.9.99", "2.10.0"),
    ("2.0.0-rc.1", "2.0.0"),
    ("2.0.0-rc.1", "2.0.0-rc.2"),
    ("2.0.0-beta.9", "2.0.0-rc.1"),
    ("2.0.0-rc.2", "2.0.0-rc.10"),
    ("17beta1", "17rc1"),
    ("17rc1", "17.0"),
    ("v2.41.1", "2.41.2"),
])
def test_version_tuple_orders_numerically_and_prerelease_first(lower, higher):
    assert version_tuple(lower) < version_tuple(higher)
    assert version_tuple(higher) > version_tuple(lower)
    assert version_tuple(lower) != version_tuple(higher)


def test_version_tuple_missing_trailing_zeros_are_equal():
    assert version_tuple("2.41") == version_tuple("2.41.0") == (2, 41, 0)
    assert version_tuple("v2.41.1") == version_tuple("2.41.1") and version_tuple("2.41.1") <= (2, 41, 1)
    assert version_tuple("2.41.1-rc.1") < (2, 41, 1) and version_tuple("2.41.1-rc.1").pre == ("rc", "1")


@pytest.mark.parametrize("text", ["", "latest", "next", "v", "2.x", "abc 17.6", None, True, [], "17..6"])
def test_version_tuple_refuses_non_versions(text):
    with pytest.raises(ValueError):
        version_tuple(text)


@pytest.mark.parametrize("text, major", [("17.6", (17,)), ("15.14 (Debian 15.14-0+deb12u1)", (15,)),
                                         ("9.6.24", (9, 6)), ("16", (16,))])
def test_pg_major(text, major):
    assert pg_major(text) == major


@pytest.mark.parametrize("value, method", [("zstd:1", "zstd"), ("zstd", "zstd"), ("lz4:3", "lz4"), ("gzip:6", "gzip"),
                                           ("6", "gzip"), (6, "gzip"), ("0", "none"), ("none", "none"),
                                           ("", None), (None, None), ("brotli", None)])
def test_compression_method(value, method):
    assert compression_method(value) == method


# --- compatible sets -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("manifest_changes, target_changes", [
    ({}, {}),
    ({}, {"postgres_version": "18.1", "n8n_version": "2.50.0"}),   # newer target: pg_restore reads it, n8n migrates
    ({"postgres_version": "15.14 (Debian 15.14-0+deb12u1)", "pg_dump_compression": "6"},
     {"postgres_version": "15.10"}),
    ({"postgres_version": "15.14", "pg_dump_compression": "gzip:6"}, {"postgres_version": "17.6"}),
    ({"pg_dump_compression": "none"}, {}),
    ({}, {"n8n_version": "v2.41.1"}),
    ({}, {"n8n_version": "2.41.10"}),
    ({"n8n_version": "2.41.1-rc.1"}, {"n8n_version": "2.41.1"}),
    ({}, {"postgres_version": "17.2 (Debian 17.2-1.pgdg120+1)", "pg_restore_version": "17.6"}),
])
def test_compatible_sets_give_no_errors(manifest_changes, target_changes):
    assert errors_for(manifest_changes, target_changes) == []


# --- PostgreSQL major ------------------------------------------------------------------------------------------

def test_real_failure_pg17_zstd_set_onto_pg15_target():
    errors = errors_for(target_changes={"postgres_version": "15.14 (Debian 15.14-0+deb12u1)"})
    assert len(errors) == 2, errors
    major, compression = errors
    assert "PostgreSQL 17.6" in major and "PostgreSQL 15.14 (Debian 15.14-0+deb12u1)" in major
    assert "PostgreSQL 17 or newer" in major
    assert "zstd" in compression and "'zstd:1'" in compression and "15.14" in compression and "17.6" in compression
    assert "PostgreSQL 16 or newer" in compression


def test_older_target_major_is_refused_even_uncompressed():
    errors = errors_for({"postgres_version": "16.4", "pg_dump_compression": "gzip:6"}, {"postgres_version": "15.14"})
    assert len(errors) == 1 and "16.4" in errors[0] and "15.14" in errors[0] and "16 or newer" in errors[0]


def test_older_minor_of_the_same_major_is_fine():
    assert errors_for(target_changes={"postgres_version": "17.0"}) == []


def test_older_pg_restore_than_the_set_is_refused():
    errors = errors_for(target_changes={"postgres_version": "17.6", "pg_restore_version": "16.2"})
    assert len(errors) == 1 and "pg_restore" in errors[0] and "16.2" in errors[0] and "17.6" in errors[0]


# --- compression -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("compression", ["zstd:1", "zstd", "lz4", "lz4:5"])
def test_zstd_or_lz4_needs_pg_restore_16(compression):
    errors = errors_for({"postgres_version": "15.14", "pg_dump_compression": compression},
                        {"postgres_version": "15.14"})
    assert len(errors) == 1 and compression.split(":")[0] in errors[0] and "16 or newer" in errors[0]


def test_compression_check_uses_pg_restore_version_when_given():
    errors = errors_for({"postgres_version": "16.4"}, {"postgres_version": "17.6", "pg_restore_version": "15.14"})
    assert any("zstd" in e and "15.14" in e for e in errors)


@pytest.mark.parametrize("compression", ["gzip:6", "6", "0", "none", "gzip"])
def test_gzip_or_none_is_fine_for_pg_restore_15(compression):
    assert errors_for({"postgres_version": "15.14", "pg_dump_compression": compression},
                      {"postgres_version": "15.14"}) == []


# --- n8n -------------------------------------------------------------------------------------------------------

def test_real_failure_n8n_2_set_onto_n8n_1_target():
    errors = errors_for(target_changes={"n8n_version": "1.123.4"})
    assert len(errors) == 1
    assert "2.41.1" in errors[0] and "1.123.4" in errors[0] and "deploy n8n 2.41.1 or newer first" in errors[0]


@pytest.mark.parametrize("set_version, target_version", [("2.41.10", "2.41.9"), ("2.41.1", "2.41.1-rc.1"),
                                                         ("v2.41.1", "2.41.0"), ("2.41.1", "v2.40.99")])
def test_older_target_n8n_is_refused(set_version, target_version):
    errors = errors_for({"n8n_version": set_version}, {"n8n_version": target_version})
    assert len(errors) == 1 and set_version in errors[0] and target_version in errors[0]


@pytest.mark.parametrize("target_n8n", ["", None])
def test_unknown_target_n8n_skips_the_n8n_check(target_n8n):
    assert errors_for({"n8n_version": "9.0.0"}, {"n8n_version": target_n8n}) == []
    target = {"postgres_version": "17.6"}
    assert compat_errors(SET, target) == []


def test_unparseable_target_n8n_is_an_error_not_a_pass():
    errors = errors_for(target_changes={"n8n_version": "latest"})
    assert len(errors) == 1 and "'latest'" in errors[0] and "not a version" in errors[0]


# --- missing manifest fields -----------------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["postgres_version", "n8n_version"])
@pytest.mark.parametrize("absent", ["missing", "", None])
def test_manifest_without_versions_cannot_be_checked(field, absent):
    manifest = dict(SET)
    if absent == "missing":
        del manifest[field]
    else:
        manifest[field] = absent
    errors = compat_errors(manifest, TARGET)
    assert len(errors) == 1
    assert "manifest does not record %s" % field in errors[0] and "cannot check" in errors[0]


def test_missing_target_postgres_version_is_an_error():
    errors = compat_errors(SET, {"n8n_version": "2.41.1"})
    assert len(errors) == 1 and "target's PostgreSQL version is unknown" in errors[0]


@pytest.mark.parametrize("manifest, target", [(None, TARGET), (SET, None), ("17.6", TARGET), (SET, ["17.6"]),
                                              ({"postgres_version": ["17"], "n8n_version": {}}, TARGET),
                                              (SET, {"postgres_version": True, "n8n_version": 2})])
def test_wrong_types_give_messages_not_exceptions(manifest, target):
    errors = compat_errors(manifest, target)
    assert errors and all(isinstance(e, str) for e in errors)
