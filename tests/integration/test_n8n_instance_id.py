"""The instance id formula against n8n-core's own InstanceSettings in the n8n image."""

import subprocess

import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils.n8n_instance import instance_id

IMAGE = 'local/n8n:2.41.1'
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
    if subprocess.run(['docker', 'image', 'inspect', IMAGE], capture_output=True, check=False).returncode != 0:
        pytest.skip('%s not built' % IMAGE)
    res = subprocess.run(['docker', 'run', '--rm', '--entrypoint', 'sh', '-e', 'KEY1=' + KEYS[0], '-e', 'KEY2=' + KEYS[1], IMAGE, '-c', SCRIPT],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [instance_id(k) for k in KEYS]
