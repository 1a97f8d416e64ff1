"""Filters used by the backup role; the logic lives in module_utils."""

from ansible.errors import AnsibleFilterError
from ansible_collections.n8n_ops.stack.plugins.module_utils import n8n_instance


def _instance_id(encryption_key):
    try:
        return n8n_instance.instance_id(encryption_key)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"n8n_instance_id": _instance_id}
