"""The instance id formula against n8n-core's own InstanceSettings in the n8n image."""

import os
import re
import subprocess

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils.n8n_instance import instance_id

DEFAULTS = os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'stack', 'defaults', 'main.yml')


def pinned_n8n_image():
    """local/n8n:<the version pinned in the stack role>, so a version bump tests the new image, never skips."""
    with open(DEFAULTS, encoding='utf-8') as f:
        version = re.search(r'^stack_n8n_version:\s*"?([^"\s]+)"?', f.read(), re.M).group(1)
    return 'local/n8n:' + version


IMAGE = pinned_n8n_image()
# a realistic base64 key, and one whose half-way slice splits a UTF-16 surrogate pair
KEYS = ['Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4', 'a\U0001F600b']

SCRIPT = r'''
cd "$(dirname "$(readlink -f "$(command -v n8n)")")/.." || exit 1
for n in 1 2; do
  eval "key=\$KEY$n"
  mkdir -p /tmp/u$n && N8N_USER_FOLDER=/tmp/u$n N8N_ENCRYPTION_KEY="$key" node -e '
    require("reflect-metadata");
    const { Container } = require("@n8n/di");
    const { InstanceSettings } = require("n8n-core");
    console.log(Container.get(InstanceSettings).instanceId);
  ' || exit 1
done
'''


@pytest.mark.docker
def test_instance_id_matches_n8n_core():
    # images/build.sh builds the pinned image before any test runs: a missing image is a failure, not a skip.
    inspect = subprocess.run(['docker', 'image', 'inspect', IMAGE], capture_output=True, check=False)
    assert inspect.returncode == 0, '%s is missing: run images/build.sh (the pinned version changed?)' % IMAGE
    res = subprocess.run(['docker', 'run', '--rm', '--entrypoint', 'sh', '-e', 'KEY1=' + KEYS[0], '-e', 'KEY2=' + KEYS[1], IMAGE, '-c', SCRIPT],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [instance_id(k) for k in KEYS]
