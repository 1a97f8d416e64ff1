"""Pure helpers for the stack role: .env parsing, secret resolution, input checks, compose file order."""

import posixpath
import re
import secrets

from ansible_collections.n8n_ops.stack.plugins.module_utils.pg_tuning import DB_POOL_SIZE_MAX
from ansible_collections.n8n_ops.stack.plugins.module_utils.worker_scaling import MAX_REPLICAS

# .env name -> role variable that may supply it
SECRET_VARS = {
    "N8N_ENCRYPTION_KEY": "stack_n8n_encryption_key",
    "POSTGRES_PASSWORD": "stack_postgres_password",
    "REDIS_PASSWORD": "stack_redis_password",
}

_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def parse_dotenv(text):
    """Parse KEY=VALUE lines (comments, blanks and `export` allowed; one level of quotes stripped)."""
    values = {}
    for line in (text or "").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if not match:
            continue
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def resolve_secrets(existing, provided, generate=None, volumes=None, env_path=".env"):
    """Secrets for .env: keep what is deployed, accept what is provided, generate what is missing.

    A provided value that differs from a deployed one is refused: rotating these by redeploying would
    lock n8n out of its credentials (encryption key) or out of its database (password set at initdb).
    Nothing is generated while the project's volumes exist (volumes: their names): new secrets over old data
    are an outage, e.g. after a lost .env or a changed project directory under the same project name.
    """
    generate = generate or (lambda: secrets.token_hex(24))
    resolved, generated, errors = {}, [], []
    for env_name, var_name in SECRET_VARS.items():
        value = (provided or {}).get(env_name) or ""
        error = dotenv_value_error(var_name, value)
        if error:
            errors.append(error)
        elif value != value.strip():
            errors.append("%s has leading or trailing whitespace, which n8n trims from its secret files" % var_name)
    for env_name, var_name in SECRET_VARS.items():
        current = (existing or {}).get(env_name) or ""
        wanted = (provided or {}).get(env_name) or ""
        if current and wanted and wanted != current:
            errors.append(
                "%s differs from %s already deployed in .env; refusing to change it (a new value would "
                "lock n8n out of existing data). Leave %s empty to keep the deployed value." % (var_name, env_name, var_name))
            continue
        if current:
            resolved[env_name] = current
        elif wanted:
            resolved[env_name] = wanted
        else:
            resolved[env_name] = generate()
            generated.append(env_name)
    if generated and volumes:
        errors.append(
            "%s would be generated, but the project's volumes already hold data (%s): a new key or password "
            "over existing data locks n8n out of it. Put the deployed values back into %s (a backup set keeps "
            "them in stack.env: copy that file to %s), or pass them as %s."
            % (", ".join(generated), ", ".join(sorted(volumes)), env_path, env_path,
               ", ".join(SECRET_VARS[n] for n in generated)))
    if errors:
        raise ValueError(" ".join(errors))
    return {"values": resolved, "generated": generated}


def dotenv_value_error(name, value):
    """.env values are written single-quoted (Compose reads them literally: no $ interpolation, no # comment),
    so a single quote, a newline or a NUL cannot be written; anything else can."""
    bad = [label for char, label in (("'", "a single quote"), ("\n", "a newline"), ("\r", "a carriage return"),
                                     ("\0", "a NUL")) if char in str(value)]
    return "%s contains %s, which .env cannot hold" % (name, " and ".join(bad)) if bad else None


def redis_quote(value):
    """A value for redis.conf: double-quoted, with backslash and double quote escaped ($ and # are literal)."""
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


def dotenv_quote(value, name="value"):
    """One .env value, single-quoted (literal for Compose: $, # and spaces kept as they are)."""
    error = dotenv_value_error(name, value)
    if error:
        raise ValueError(error)
    return "'%s'" % value


def image_ref_error(name, ref):
    """Return an error message for an image reference that is not pinned, else None."""
    if not isinstance(ref, str) or not ref.strip():
        return "%s must be a non-empty image reference" % name
    if "@" in ref:
        return None if re.search(r"@sha256:[0-9a-f]{64}$", ref) else "%s has a malformed digest: %s" % (name, ref)
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return "%s must pin a tag (got %r, which means :latest)" % (name, ref)
    tag = last.split(":", 1)[1]
    if not tag:
        return "%s has an empty tag: %r" % (name, ref)
    if tag == "latest":
        return "%s must not use :latest (got %r): pin a version" % (name, ref)
    return None


def input_errors(values):
    """Checks argument_specs cannot express. values: the role's variables by name."""
    errors = []
    project_dir = values.get("stack_project_dir", "")
    if not isinstance(project_dir, str) or not posixpath.isabs(project_dir) or posixpath.normpath(project_dir) == "/":
        errors.append("stack_project_dir must be an absolute path other than / (got %r)" % (project_dir,))
    for name in ("stack_n8n_image", "stack_postgres_image", "stack_redis_image"):
        err = image_ref_error(name, values.get(name))
        if err:
            errors.append(err)
    if not re.match(r"^[a-z0-9][a-z0-9_-]*$", str(values.get("stack_project_name", ""))):
        errors.append("stack_project_name must be lowercase letters, digits, '-' or '_' (Compose project name)")
    for key, val in (values.get("stack_n8n_extra_env") or {}).items():
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(key)):
            errors.append("stack_n8n_extra_env has an invalid variable name: %r" % (key,))
        if isinstance(val, (dict, list)):
            errors.append("stack_n8n_extra_env.%s must be a scalar" % key)
    for name, low, high in (("stack_worker_replicas", 1, MAX_REPLICAS), ("stack_worker_concurrency", 1, 100),
                            ("stack_db_pool_size", 1, DB_POOL_SIZE_MAX), ("stack_n8n_port", 1, 65535),
                            ("stack_ready_timeout", 10, 3600), ("stack_queue_keep_finished_jobs", 0, 100000)):
        value = values.get(name)
        if value is not None and not low <= int(value) <= high:
            errors.append("%s must be between %d and %d (got %s)" % (name, low, high, value))
    missing = {"postgres", "redis", "main", "worker"} - set((values.get("stack_memory_limits") or {}).keys())
    if missing:
        errors.append("stack_memory_limits lacks: %s" % ", ".join(sorted(missing)))
    # the password itself is never passed in: only its length
    password_length = int(values.get("stack_owner_password_length") or 0)
    if bool(values.get("stack_owner_email")) != bool(password_length):
        errors.append("stack_owner_email and stack_owner_password must be set together")
    elif password_length and password_length < 8:
        errors.append("stack_owner_password must be at least 8 characters (n8n's rule)")
    bind = str(values.get("stack_bind_address", "127.0.0.1"))
    if not is_loopback(bind) and not values.get("stack_owner_email"):
        errors.append(
            "stack_bind_address %s publishes n8n beyond this host, and an n8n without an owner belongs to whoever "
            "opens it first: set stack_owner_email and stack_owner_password (from Ansible Vault or a prompt, "
            "not the command line), or keep stack_bind_address 127.0.0.1 behind a TLS proxy" % bind)
    return errors


def is_loopback(address):
    """127.0.0.0/8, ::1 and localhost; 0.0.0.0, :: and every other address are reachable from elsewhere."""
    return address in ("localhost", "::1", "[::1]") or address.startswith("127.")


def compose_files(overlays):
    """COMPOSE_FILE order: the base file, then overlays from compose.d/ sorted by file name."""
    names = sorted(posixpath.basename(p) for p in overlays or [] if p.endswith((".yml", ".yaml")))
    return ["compose.yml"] + ["compose.d/" + n for n in names]


def worker_executions(lines):
    """Lines of '<container> <execution id>' -> {container: [execution ids]} (ids as strings, in order)."""
    result = {}
    for line in lines or []:
        parts = line.split()
        if len(parts) == 2:
            result.setdefault(parts[0], []).append(parts[1])
    return result
