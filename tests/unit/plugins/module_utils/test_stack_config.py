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
    ({"stack_queue_keep_finished_jobs": -1}, "stack_queue_keep_finished_jobs"),
    ({"stack_n8n_image": "n8nio/n8n:latest"}, "stack_n8n_image"),
    ({"stack_redis_image": "redis"}, "stack_redis_image"),
    ({"stack_project_name": "My Stack"}, "stack_project_name"),
    ({"stack_n8n_extra_env": {"BAD-NAME": "1"}}, "stack_n8n_extra_env"),
    ({"stack_memory_limits": {"postgres": "1g"}}, "stack_memory_limits"),
    ({"stack_owner_email": "a@b.c"}, "stack_owner_password"),
    ({"stack_owner_email": "a@b.c", "stack_owner_password_length": 5}, "stack_owner_password"),
    ({"stack_bind_address": "0.0.0.0"}, "stack_owner_email"),
    ({"stack_bind_address": "192.168.1.20"}, "stack_owner_email"),
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


# --- secrets never regenerated over existing data --------------------------------------------------------------

VOLUMES = ["n8n_n8n_data", "n8n_postgres_data"]


def test_missing_env_with_existing_volumes_is_refused_naming_them_and_the_way_back():
    with pytest.raises(ValueError) as err:
        sc.resolve_secrets({}, {}, generate=lambda: "gen", volumes=VOLUMES, env_path="/opt/n8n/.env")
    message = str(err.value)
    assert "n8n_n8n_data, n8n_postgres_data" in message and "stack.env" in message and "/opt/n8n/.env" in message
    assert "N8N_ENCRYPTION_KEY" in message and "stack_n8n_encryption_key" in message


def test_one_missing_secret_with_existing_volumes_is_refused():
    existing = {"N8N_ENCRYPTION_KEY": "k1", "REDIS_PASSWORD": "r1"}
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD would be generated"):
        sc.resolve_secrets(existing, {}, generate=lambda: "gen", volumes=VOLUMES)


def test_provided_secrets_over_existing_volumes_are_accepted():
    provided = {"N8N_ENCRYPTION_KEY": "k1", "POSTGRES_PASSWORD": "p1", "REDIS_PASSWORD": "r1"}
    out = sc.resolve_secrets({}, provided, generate=lambda: pytest.fail("must not generate"), volumes=VOLUMES)
    assert out == {"values": provided, "generated": []}


def test_without_volumes_missing_secrets_are_generated():
    assert len(sc.resolve_secrets({}, {}, generate=lambda: "gen", volumes=[])["generated"]) == 3


# --- .env values: literal for Compose --------------------------------------------------------------------------

def test_dotenv_quote_keeps_dollar_hash_and_spaces_literal():
    assert sc.dotenv_quote("pa$word #1 x") == "'pa$word #1 x'"
    assert sc.parse_dotenv("P=%s\n" % sc.dotenv_quote("pa$word #1 x")) == {"P": "pa$word #1 x"}


@pytest.mark.parametrize("value,what", [("it's", "single quote"), ("a\nb", "newline"), ("a\rb", "carriage"),
                                        ("a\0b", "NUL")])
def test_dotenv_quote_refuses_what_env_cannot_hold(value, what):
    with pytest.raises(ValueError, match=what):
        sc.dotenv_quote(value, "stack_postgres_password")


def test_a_provided_secret_env_cannot_hold_is_refused_without_printing_it():
    with pytest.raises(ValueError) as err:
        sc.resolve_secrets({}, {"POSTGRES_PASSWORD": "secret'value"}, generate=lambda: "gen")
    assert "stack_postgres_password" in str(err.value) and "secret'value" not in str(err.value)


@pytest.mark.parametrize("address,loopback", [("127.0.0.1", True), ("127.0.1.1", True), ("::1", True),
                                              ("localhost", True), ("0.0.0.0", False), ("::", False),
                                              ("10.0.0.5", False)])
def test_is_loopback(address, loopback):
    assert sc.is_loopback(address) is loopback


def test_non_loopback_bind_with_an_owner_is_accepted():
    assert sc.input_errors(_good_values(stack_bind_address="0.0.0.0", stack_owner_email="a@b.c",
                                        stack_owner_password_length=12)) == []


def test_redis_quote_escapes_backslash_and_double_quote_only():
    assert sc.redis_quote('re$dis #pw') == '"re$dis #pw"'
    assert sc.redis_quote('a"b\\c') == '"a\\"b\\\\c"'


def test_a_provided_secret_with_outer_whitespace_is_refused():
    with pytest.raises(ValueError, match="stack_redis_password has leading or trailing whitespace"):
        sc.resolve_secrets({}, {"REDIS_PASSWORD": " pw "}, generate=lambda: "gen")
