"""Filters used by the backup role; the logic lives in module_utils."""

from ansible.errors import AnsibleFilterError
from ansible_collections.n8n_ops.stack.plugins.module_utils import backup_inputs, n8n_instance, restore_compat


def _instance_id(encryption_key):
    try:
        return n8n_instance.instance_id(encryption_key)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def _input_errors(values):
    """Messages for backup role variables argument_specs cannot check; [] when all are fine."""
    try:
        return backup_inputs.input_errors(values)
    except Exception as exc:  # the checks do not raise; never let a surprise pass as "no errors"
        # only the exception's type: its text could quote a value such as the webhook URL (a secret)
        raise AnsibleFilterError("backup_input_errors could not check the inputs (%s)" % type(exc).__name__) from None


def _restore_compat_errors(manifest, target):
    """Reasons a backup set (its manifest) cannot be restored onto the target; [] when it can."""
    try:
        return restore_compat.compat_errors(manifest, target)
    except Exception as exc:
        raise AnsibleFilterError("backup_restore_compat_errors could not compare the versions: %s" % exc, orig_exc=exc)


class FilterModule:
    def filters(self):
        return {
            "n8n_instance_id": _instance_id,
            "backup_input_errors": _input_errors,
            "backup_restore_compat_errors": _restore_compat_errors,
        }
