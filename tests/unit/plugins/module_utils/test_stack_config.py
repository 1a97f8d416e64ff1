import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import stack_config as sc


def test_parse_dotenv_handles_comments_quotes_and_export():
    text = "# c\n\nA=1\nexport B='two words'\nC=\"x=y\"\n bad line\nD=\n"
    assert sc.parse_dotenv(text) == {"A": "1", "B": "two words", "C": "x=y", "D": ""}


def test_deployed_secrets_are_kept_not_regenerated():
    existing = {"N8N_ENCRYPTION_KEY": "k1", "POSTGRES_PASSWORD": "p1", "REDIS_PASSWORD": "r1"}
    out = sc.resolve_secrets(existing, {}, generate=lambda: pytest.fail("must not generate"))
    assert out == {"values": existing, "generated": []}


def test_missing_secrets_are_generated_once_and_provided_ones_used():
    out = sc.resolve_secrets({}, {"N8N_ENCRYPTION_KEY": "mine"}, generate=lambda: "gen")
    assert out["values"] == {"N8N_ENCRYPTION_KEY": "mine", "POSTGRES_PASSWORD": "gen", "REDIS_PASSWORD": "gen"}
    assert sorted(out["generated"]) == ["POSTGRES_PASSWORD", "REDIS_PASSWORD"]


def test_generated_secrets_are_long_and_distinct():
    out = sc.resolve_secrets({}, {})["values"]
    assert len(set(out.values())) == 3 and all(len(v) >= 32 for v in out.values())


def test_changing_the_deployed_encryption_key_is_refused_naming_the_variable():
    with pytest.raises(ValueError, match="stack_n8n_encryption_key"):
        sc.resolve_secrets({"N8N_ENCRYPTION_KEY": "old"}, {"N8N_ENCRYPTION_KEY": "new"})


def test_providing_the_same_deployed_value_is_fine():
    out = sc.resolve_secrets({"N8N_ENCRYPTION_KEY": "same"}, {"N8N_ENCRYPTION_KEY": "same"}, generate=lambda: "g")
    assert out["values"]["N8N_ENCRYPTION_KEY"] == "same"


@pytest.mark.parametrize("ref", ["n8nio/n8n:2.41.1", "local/postgres:17", "host:5000/a/b:1.2",
                                 "redis@sha256:" + "a" * 64])
def test_pinned_image_refs_pass(ref):
    assert sc.image_ref_error("img", ref) is None


@pytest.mark.parametrize("ref,fragment", [("", "non-empty"), ("n8nio/n8n", "pin a tag"),
                                          ("n8nio/n8n:latest", ":latest"), ("n8nio/n8n:", "empty tag"),
                                          ("host:5000/n8n", "pin a tag"), ("x@sha256:12", "digest")])
def test_unpinned_image_refs_fail(ref, fragment):
    assert fragment in sc.image_ref_error("stack_n8n_image", ref)


def _good_values(**over):
    values = {
        "stack_project_dir": "/opt/n8n", "stack_project_name": "n8n",
        "stack_n8n_image": "n8nio/n8n:2.41.1", "stack_postgres_image": "postgres:17.6",
        "stack_redis_image": "redis:7.4.1", "stack_n8n_extra_env": {},
        "stack_memory_limits": {"postgres": "1g", "redis": "1g", "main": "1g", "worker": "1g"},
        "stack_worker_replicas": 2, "stack_worker_concurrency": 10, "stack_n8n_port": 5678,
        "stack_ready_timeout": 300, "stack_owner_email": "", "stack_owner_password_length": 0,
    }
    values.update(over)
    return values


def test_good_input_has_no_errors():
    assert sc.input_errors(_good_values()) == []


@pytest.mark.parametrize("over,name", [
    ({"stack_project_dir": "opt/n8n"}, "stack_project_dir"),
    ({"stack_project_dir": "/"}, "stack_project_dir"),
    ({"stack_worker_replicas": 0}, "stack_worker_replicas"),
    ({"stack_worker_concurrency": 0}, "stack_worker_concurrency"),
    ({"stack_n8n_port": 70000}, "stack_n8n_port"),
    ({"stack_n8n_image": "n8nio/n8n:latest"}, "stack_n8n_image"),
    ({"stack_redis_image": "redis"}, "stack_redis_image"),
    ({"stack_project_name": "My Stack"}, "stack_project_name"),
    ({"stack_n8n_extra_env": {"BAD-NAME": "1"}}, "stack_n8n_extra_env"),
    ({"stack_memory_limits": {"postgres": "1g"}}, "stack_memory_limits"),
    ({"stack_owner_email": "a@b.c"}, "stack_owner_password"),
    ({"stack_owner_email": "a@b.c", "stack_owner_password_length": 5}, "stack_owner_password"),
])
def test_bad_input_names_the_variable(over, name):
    errors = sc.input_errors(_good_values(**over))
    assert len(errors) == 1 and name in errors[0]


def test_compose_files_base_first_then_sorted_overlays():
    assert sc.compose_files(["/p/compose.d/30-b.yml", "/p/compose.d/10-a.yaml", "/p/compose.d/notes.txt"]) == [
        "compose.yml", "compose.d/10-a.yaml", "compose.d/30-b.yml"]


def test_worker_executions_groups_ids_by_container():
    lines = ["n8n-n8n-worker-1 5", "n8n-n8n-worker-2 6", "n8n-n8n-worker-1 7", "garbage"]
    assert sc.worker_executions(lines) == {"n8n-n8n-worker-1": ["5", "7"], "n8n-n8n-worker-2": ["6"]}
