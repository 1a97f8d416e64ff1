import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.n8n_ops.stack.plugins.filter import hardening as f

FILTERS = f.FilterModule().filters()


def test_lint_filter_returns_findings_with_severity():
    config = {"services": {"n8n-worker": {"image": "local/n8n:latest", "environment": {"EXECUTIONS_CONCURRENCY": "5"}}}}
    findings = FILTERS["hardening_lint"](config)
    assert sorted(x["id"] for x in findings) == ["image-unpinned", "n8n-obsolete-var"]
    assert {x["severity"] for x in findings} == {"error"}


@pytest.mark.parametrize("config", [[], "services", {"services": []}, {"services": {"n8n": {"environment": 5}}}])
def test_lint_filter_names_what_is_not_a_compose_config(config):
    with pytest.raises(AnsibleFilterError, match="hardening_lint: not the output of docker compose config"):
        FILTERS["hardening_lint"](config)


def test_score_filter():
    results = [{"status": "pass"}, {"status": "fail"}, {"status": "waived"}, {"status": "na"}]
    assert FILTERS["hardening_audit_score"](results) == dict(passed=1, failed=1, waived=1, na=1, manual=0,
                                                             applicable=2, percent=50.0)


def test_score_filter_names_malformed_results():
    with pytest.raises(AnsibleFilterError, match="hardening_audit_score"):
        FILTERS["hardening_audit_score"]([{"id": "5.1"}])


def test_settings_problems_filter_names_only_what_is_broken():
    pids = {"postgres": 512, "redis": 128, "main": 1024, "worker": 1024}
    shares = {"postgres": 1024, "redis": 1024, "main": 1024, "worker": 512}
    problems = FILTERS["hardening_settings_problems"]
    assert problems(pids, shares, 90, [{"id": "5.2", "reason": "AppArmor in Docker Desktop's VM"}]) == []
    assert problems(dict(pids, worker=16), shares, 90, []) == [
        "hardening_pids_limit must be at least 32 for every service (worker is 16)"]
    (only,) = problems(pids, shares, 90, [{"id": "5.33", "reason": "typo"}])
    assert only.startswith("hardening_audit_waivers: waiver 5.33 names no control") and "5.1 to 5.32" in only


def test_app_role_plan_filter_reads_psql_rows_and_returns_the_password():
    plan = FILTERS["hardening_app_role_plan"]("", "n8n_app", "n8n", "super $ secret")
    assert plan["action"] == "create" and FILTERS["hardening_scram_matches"](plan["verifier"], plan["password"])
    row = "f t " + plan["verifier"]
    assert FILTERS["hardening_app_role_plan"](row, "n8n_app", "n8n", "super $ secret")["action"] == "none"
    assert FILTERS["hardening_app_role_plan"]("t t " + plan["verifier"], "n8n_app", "n8n", "super $ secret")["reasons"] == [
        "n8n_app is a superuser"]


@pytest.mark.parametrize("row, message", [("t t", "unexpected pg_authid row"), ("f t -", None)])
def test_app_role_plan_filter_names_bad_rows_and_roles(row, message):
    if message:
        with pytest.raises(AnsibleFilterError, match=message):
            FILTERS["hardening_app_role_plan"](row, "n8n_app", "n8n", "pw")
    with pytest.raises(AnsibleFilterError, match="must not be the superuser"):
        FILTERS["hardening_app_role_plan"](row if not message else "", "n8n", "n8n", "pw")


@pytest.mark.parametrize("role, expected", [("n8n_app", None), ("n8n", "must not be the superuser"),
                                            ("App", "lower case"), (None, "lower case")])
def test_app_role_name_problem_filter_says_why_a_name_is_refused(role, expected):
    problem = FILTERS["hardening_app_role_name_problem"](role, "n8n")
    assert problem is None if expected is None else expected in problem
