#!/usr/bin/python
# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: stack_secret_files
short_description: Write the stack's secret files in one pass, owned by the users the services run as
version_added: 0.2.0
author: n8n_ops maintainers (!UNKNOWN)
description:
  - Writes the files of a compose project that hold secrets (C(.env), C(n8n.env), C(secrets/<service>/*)) and
    creates their directories, each with its mode and owner, in one round trip to the host. The stack role calls it
    from its C(apply) entry point; one C(ansible.builtin.copy) per file cost seconds each through a remote connection.
  - Over C(ansible.builtin.copy) it adds the owner lookup. An owner is a fixed uid/gid or the user of a container
    image. An image user's uid/gid is read with C(docker run --rm --network=none --entrypoint=sh IMAGE -c 'id -u USER;
    id -g USER') once per image id and kept in O(owners_cache), so later runs only need a C(docker image inspect).
  - Each file is written to a temporary name in its directory with its mode and owner, flushed to disk and renamed
    over the old one, so a service never reads a half-written secret. A file whose content, mode and owner are
    already right is not touched. Never shows a diff and never returns a file's content.
options:
  root:
    description: The project directory. O(directories) and O(files) are relative to it. It must exist.
    type: path
    required: true
  owners:
    description: Named owners that O(directories) and O(files) refer to.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The name O(directories[].owner) and O(files[].owner) use.
        type: str
        required: true
      uid:
        description: A fixed uid. Use with O(owners[].gid), instead of O(owners[].image).
        type: int
      gid:
        description: A fixed gid.
        type: int
      image:
        description: A local image whose O(owners[].user) owns the files.
        type: str
      user:
        description: The user inside O(owners[].image).
        type: str
  owners_cache:
    description:
      - Where the uid/gid found per image id are kept (JSON, mode 0600), relative to O(root). Written after the
        directories exist.
    type: str
    default: secrets/.owners.json
  directories:
    description: Directories to create or fix, parents first.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Relative to O(root).
        type: str
        required: true
      mode:
        description: Octal mode as a string.
        type: str
        default: '0700'
      owner:
        description: A name from O(owners); without it the user running the module.
        type: str
  files:
    description: Files to write.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Relative to O(root). Its directory must exist or be in O(directories).
        type: str
        required: true
      content:
        description: The whole content. Never logged.
        type: str
        required: true
      mode:
        description: Octal mode as a string.
        type: str
        default: '0400'
      owner:
        description: A name from O(owners); without it the user running the module.
        type: str
notes:
  - In check mode nothing is written; the result says which paths would change. The uid lookup still runs (it starts
    a throwaway container without network and changes nothing on the host).
  - Paths must stay inside O(root); C(..) and absolute paths are refused.
'''

EXAMPLES = r'''
- name: Write the secret files each service reads
  n8n_ops.stack.stack_secret_files:
    root: /opt/n8n
    owners:
      - {name: n8n, uid: 1000, gid: 1000}
      - {name: postgres, image: "local/postgres:17", user: postgres}
    directories:
      - {path: secrets}
      - {path: secrets/n8n, owner: n8n}
      - {path: secrets/postgres, owner: postgres}
    files:
      - {path: .env, content: "{{ lookup('ansible.builtin.template', 'env.j2') }}", mode: "0600"}
      - {path: secrets/n8n/encryption_key, content: "{{ key }}", owner: n8n}
      - {path: secrets/postgres/password, content: "{{ password }}", owner: postgres}
  no_log: true
'''

RETURN = r'''
changed_paths:
  description: The paths (relative to O(root)) created, rewritten or whose mode or owner was fixed; in check mode
    the ones that would be.
  returned: always
  type: list
  elements: str
  sample: [secrets/redis/redis.conf]
owners:
  description: The uid and gid of each named owner.
  returned: always
  type: dict
  sample: {n8n: [1000, 1000], postgres: [999, 999]}
commands:
  description: The docker commands run (image inspect, and a uid lookup for each image not seen before).
  returned: always
  type: list
  elements: list
  sample: [[docker, image, inspect, --format, '{{.Id}}', 'local/postgres:17']]
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.n8n_ops.stack.plugins.module_utils import fileutil


def inside(root, rel):
    """The absolute path of rel under root, or None when it would leave root."""
    if not rel or os.path.isabs(rel) or '..' in rel.split('/'):
        return None
    return os.path.join(root, rel)


def image_ids(module, images, commands):
    if not images:
        return {}
    cmd = ['docker', 'image', 'inspect', '--format', '{{.Id}}'] + images
    commands.append(cmd)
    rc, out, _err = module.run_command(cmd)
    ids = out.split()
    # an image not present yet has no id: looked up (and pulled if it can be) by the docker run below
    return dict(zip(images, ids)) if rc == 0 and len(ids) == len(images) else {}


def read_cache(path):
    try:
        with open(path) as f:
            cache = json.load(f)
        return cache if isinstance(cache, dict) else {}
    except (OSError, ValueError):
        return {}


def lookup_user(module, image, user, commands):
    cmd = ['docker', 'run', '--rm', '--network=none', '--entrypoint=sh', image, '-c', 'id -u "$0"; id -g "$0"', user]
    commands.append(cmd)
    rc, out, err = module.run_command(cmd)
    numbers = out.split()
    if rc != 0 or len(numbers) != 2 or not all(n.isdigit() for n in numbers):
        module.fail_json(msg='Cannot find the uid/gid of user %s in image %s: %s' % (user, image, (err or out).strip()),
                         commands=commands)
    return [int(numbers[0]), int(numbers[1])]


def resolve_owners(module, root, cache_rel, commands):
    owners = {}
    by_image = [o for o in module.params['owners'] if o['image']]
    ids = image_ids(module, sorted({o['image'] for o in by_image}), commands)
    cache_path = inside(root, cache_rel)
    cache = read_cache(cache_path)
    learned = {}
    for o in module.params['owners']:
        if o['image']:
            image_id = ids.get(o['image'])
            key = '%s:%s' % (image_id, o['user'])
            found = cache.get(key) if image_id else None
            if not (isinstance(found, list) and len(found) == 2):
                found = lookup_user(module, o['image'], o['user'], commands)
            owners[o['name']] = [int(found[0]), int(found[1])]
            if image_id:
                learned[key] = owners[o['name']]
        else:
            owners[o['name']] = [o['uid'], o['gid']]
    # keys are '<image id>:<user>'; entries of other images stay (another image may come back), older formats go
    kept = dict((k, v) for k, v in cache.items() if k.count(':') >= 2)
    updated = dict(kept, **learned)
    return owners, cache_path, updated, updated != cache


def uid_gid(module, owners, name):
    if name is None:
        return os.geteuid(), os.getegid()
    return owners[name][0], owners[name][1]


def ensure_directory(module, path, mode, uid, gid):
    st = os.lstat(path) if os.path.lexists(path) else None
    if st is not None and not os.path.isdir(path):
        module.fail_json(msg='%s exists and is not a directory; nothing was changed there' % path)
    if st is not None and (st.st_mode & 0o7777) == mode and (st.st_uid, st.st_gid) == (uid, gid):
        return False
    if not module.check_mode:
        if st is None:
            os.mkdir(path, 0o700)
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    return True


def file_is_current(path, data, mode, uid, gid):
    try:
        st = os.lstat(path)
        if not os.path.isfile(path) or os.path.islink(path):
            return False
        if (st.st_mode & 0o7777) != mode or (st.st_uid, st.st_gid) != (uid, gid):
            return False
        with open(path, 'rb') as f:
            return f.read() == data
    except OSError:
        return False


def write_file(path, data, mode, uid, gid):
    tmp = fileutil.partial_path(path)
    fileutil.remove_path(tmp)
    try:
        with fileutil.open_exclusive(tmp, 0o600) as f:
            f.write(data)
            f.flush()
            os.fchown(f.fileno(), uid, gid)
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        fileutil.publish(tmp, path, overwrite=True)
    except BaseException:
        fileutil.remove_path(tmp)
        raise


def octal(module, value, what):
    try:
        mode = int(value, 8)
    except (TypeError, ValueError):
        mode = -1
    if not 0 <= mode <= 0o7777:
        module.fail_json(msg='%s: mode %r is not an octal mode such as 0400' % (what, value))
    return mode


def validate(module, root):
    if not os.path.isdir(root):
        module.fail_json(msg='root %s is not a directory' % root)
    names = set()
    for o in module.params['owners']:
        fixed = o['uid'] is not None and o['gid'] is not None
        by_image = bool(o['image'] and o['user'])
        if fixed == by_image:
            module.fail_json(msg='owner %s needs either uid and gid, or image and user' % o['name'])
        names.add(o['name'])
    for kind in ('directories', 'files'):
        for item in module.params[kind]:
            if inside(root, item['path']) is None:
                module.fail_json(msg='%s: path %r must be relative and stay inside %s' % (kind, item['path'], root))
            if item['owner'] is not None and item['owner'] not in names:
                module.fail_json(msg='%s: %s names owner %r, which is not in owners' % (kind, item['path'], item['owner']))
            octal(module, item['mode'], item['path'])
    planned = {os.path.normpath(inside(root, d['path'])) for d in module.params['directories']}
    for f in module.params['files']:
        parent = os.path.dirname(os.path.normpath(inside(root, f['path'])))
        if parent not in planned and not os.path.isdir(parent):
            module.fail_json(msg='the directory of %s does not exist and is not in directories' % f['path'])
    if inside(root, module.params['owners_cache']) is None:
        module.fail_json(msg='owners_cache must be relative and stay inside %s' % root)


def main():
    owner_spec = dict(name=dict(type='str', required=True), uid=dict(type='int'), gid=dict(type='int'),
                      image=dict(type='str'), user=dict(type='str'))
    dir_spec = dict(path=dict(type='str', required=True), mode=dict(type='str', default='0700'),
                    owner=dict(type='str'))
    file_spec = dict(path=dict(type='str', required=True), content=dict(type='str', required=True, no_log=True),
                     mode=dict(type='str', default='0400'), owner=dict(type='str'))
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type='path', required=True),
            owners=dict(type='list', elements='dict', default=[], options=owner_spec),
            owners_cache=dict(type='str', default='secrets/.owners.json'),
            directories=dict(type='list', elements='dict', default=[], options=dir_spec),
            files=dict(type='list', elements='dict', default=[], options=file_spec),
        ),
        supports_check_mode=True,
    )
    root = os.path.abspath(module.params['root'])
    validate(module, root)
    commands = []
    owners, cache_path, cache, cache_changed = resolve_owners(module, root, module.params['owners_cache'], commands)

    changed_paths = []
    try:
        for d in module.params['directories']:
            uid, gid = uid_gid(module, owners, d['owner'])
            if ensure_directory(module, inside(root, d['path']), int(d['mode'], 8), uid, gid):
                changed_paths.append(d['path'])
        for f in module.params['files']:
            path = inside(root, f['path'])
            uid, gid = uid_gid(module, owners, f['owner'])
            data = f['content'].encode('utf-8')
            if file_is_current(path, data, int(f['mode'], 8), uid, gid):
                continue
            changed_paths.append(f['path'])
            if not module.check_mode:
                write_file(path, data, int(f['mode'], 8), uid, gid)
        # the cache is a hint, not state: written only when it learned something, and only where its directory is
        if cache_changed and not module.check_mode and os.path.isdir(os.path.dirname(cache_path)):
            fileutil.atomic_write_bytes(cache_path, (json.dumps(cache, indent=2, sort_keys=True) + '\n').encode(),
                                        mode=0o600)
    except OSError as e:
        module.fail_json(msg='Cannot write %s: %s' % (e.filename or root, e.strerror or e),
                         changed_paths=changed_paths, commands=commands)

    module.exit_json(changed=bool(changed_paths), changed_paths=changed_paths, owners=owners, commands=commands)


if __name__ == '__main__':
    main()
