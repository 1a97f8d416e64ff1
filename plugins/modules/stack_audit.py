#!/usr/bin/python
# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: stack_audit
short_description: Audit the running n8n stack against CIS Docker Benchmark section 5 and the collection's own controls
version_added: 0.4.0
author: n8n_ops maintainers (!UNKNOWN)
description:
  - Reads, read-only, C(docker inspect) of every container of a Compose project, C(docker top) of each running one
    (the host's view of its processes; nothing is run inside a container), C(docker info) (swarm mode, the
    daemon's security options), C(docker image inspect) of the images the containers name, the host's listening
    TCP sockets (C(/proc/net/tcp) and C(/proc/net/tcp6)), the modes of the given files and whether AppArmor and
    SELinux are enabled, and scores them against every control of CIS Docker Benchmark v1.6.0 section 5 (5.1 to
    5.32, its numbers and titles - the numbering docker-bench-security reports since 1.6.1) and the collection's
    own controls C(N8N-1), C(N8N-2), C(N8N-3), C(N8N-5) and C(N8N-6) - no secret in container config, non-root
    user, log rotation, file modes, nothing listening beyond loopback on the published ports. C(N8N-4), the
    pinned image, is CIS C(5.28) now.
  - One result per container and control, five for the host (C(5.1), C(5.23), C(5.24), C(N8N-5), C(N8N-6)).
    A result is C(pass), C(fail), C(waived) (a failure a waiver accepts), C(na) (does not apply here, e.g.
    AppArmor on a host without it) or C(manual) (cannot be decided from the running state - C(5.23) and C(5.24),
    C(docker exec) options, and an overridden ulimit, C(5.19) - the detail says what to check). The score is the
    share of passing results among the applicable ones (pass plus fail); waived, na and manual do not count.
  - The controls are pure functions (C(module_utils/cis_controls.py)); this module gathers the facts, applies the
    waivers, writes the JSON report atomically and fails below O(threshold).
  - No secret value is ever returned, shown or written - results name the variable or the place, never its value.
options:
  project_name:
    description:
      - The Compose project name; its containers are found with
        C(docker ps -a --filter label=com.docker.compose.project=<project_name>). One-off containers
        (C(docker compose run)) are left out.
    type: str
    required: true
  files:
    description: Files and directories whose modes control C(N8N-5) checks; each must exist.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file or directory.
        type: path
        required: true
      max_mode:
        description:
          - The most permissive mode allowed, as an octal string such as C("0600") (quote it in YAML; an unquoted
            C(0600) is read as the octal number too).
        type: raw
        required: true
      kind:
        description: What the path must be.
        type: str
        choices: [file, dir]
        default: file
  secrets:
    description:
      - Secret values (the stack's passwords and encryption key) to look for in each container's environment,
        command, entrypoint, arguments, health check and labels (control C(N8N-1)). Never returned.
    type: list
    elements: str
    default: []
  waivers:
    description:
      - Failing controls accepted, each with the reason. C(id) is a control id (C(5.13)) for every container, or
        C(<control>@<container or compose service>) (C(5.13@n8n-redis-1), C(5.13@n8n-worker)). A waived failure
        shows as C(waived) with its reason; a waiver on a passing control changes nothing.
      - An id that is no control of the audit fails the module, naming the valid ids. The ids follow CIS Docker
        Benchmark v1.6.0; before this collection followed it they were one lower (AppArmor was C(5.1), now
        C(5.2)), so a waiver written then names another control now - the module warns when a waiver lands on a
        control that is only checked by hand.
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: The control, optionally C(@) a container or compose service name.
        type: str
        required: true
      reason:
        description: Why the failure is accepted.
        type: str
        required: true
  threshold:
    description: Fail when the score (percent of applicable controls passing) is below this.
    type: float
    default: 90
  published_allowed:
    description: Host addresses published ports may be bound to (control C(5.14)) and listen on (C(N8N-6)).
    type: list
    elements: str
    default: ['127.0.0.1', '::1']
  needed_ports:
    description:
      - The container ports each compose service needs published (control C(5.9)), as C(5678/tcp) or C(5678).
        Any other published port fails C(5.9) for that container.
      - Not set, the stack's needs - C(5678/tcp) for the compose service C(n8n) (main's editor, API and webhooks),
        nothing for the others.
    type: dict
  output_json:
    description: Write the report (summary, results, failed controls) here as JSON, atomically, mode 0640.
    type: path
  docker_cli:
    description: The docker client.
    type: str
    default: docker
notes:
  - Supports check mode; it only reads. In check mode the report is not written.
  - CIS 5.15 asks for C(on-failure) with at most 5 retries; C(unless-stopped) and C(always) pass too, because n8n
    must come back by itself after a host reboot.
seealso:
  - name: CIS Docker Benchmark
    description: The benchmark whose section 5 (container runtime) the C(5.x) controls follow.
    link: https://www.cisecurity.org/benchmark/docker
'''

EXAMPLES = r'''
- name: Audit the stack; fail below 90 %
  n8n_ops.stack.stack_audit:
    project_name: n8n
    threshold: 90
    secrets: "{{ [stack_env.N8N_ENCRYPTION_KEY, stack_env.POSTGRES_PASSWORD] }}"
    files:
      - {path: /opt/n8n/.env, max_mode: "0600", kind: file}
      - {path: /opt/n8n/secrets, max_mode: "0700", kind: dir}
    waivers:
      - id: "5.2"
        reason: Docker Desktop's VM applies its own AppArmor profile; not visible from the distro
      - id: N8N-2@postgres
        reason: the official postgres image starts as root to fix its data directory, then drops to postgres
    output_json: /opt/n8n/audit.json
'''

RETURN = r'''
results:
  description:
    - One per container and control plus two for the host, sorted by control - C(id), C(title), C(service) (the
      container name, or C(host)), C(compose_service) (containers), C(status) (pass, fail, na or waived),
      C(detail), and C(reason) when waived.
  returned: when containers were found
  type: list
  elements: dict
summary:
  description: C(passed), C(failed), C(waived), C(na), C(manual), C(applicable) (passed plus failed) and C(percent).
  returned: when containers were found
  type: dict
  sample: {passed: 95, failed: 14, waived: 4, na: 5, manual: 2, applicable: 109, percent: 87.2}
table:
  description: The human table, failures first, and the summary line.
  returned: when containers were found
  type: str
failed_controls:
  description: Each failing result as C(<control>@<service>) - the form a waiver takes.
  returned: when containers were found
  type: list
  elements: str
  sample: [5.13@n8n-redis-1, N8N-2@n8n-postgres-1]
benchmark:
  description: The benchmark whose numbers and titles the C(5.x) controls carry.
  returned: when containers were found
  type: str
  sample: CIS Docker Benchmark v1.6.0
containers:
  description: The names of the containers audited.
  returned: when containers were found
  type: list
  elements: str
commands:
  description: The docker commands it ran.
  returned: always
  type: list
  elements: str
'''

import json
import os
import re
import shlex
import stat
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.n8n_ops.stack.plugins.module_utils import cis_controls
from ansible_collections.n8n_ops.stack.plugins.module_utils.docker_exec import DockerExecError, run
from ansible_collections.n8n_ops.stack.plugins.module_utils.fileutil import atomic_write_bytes

PROC_NET_TCP = ('/proc/net/tcp', '/proc/net/tcp6')
APPARMOR_ENABLED = '/sys/module/apparmor/parameters/enabled'
SELINUX_ENFORCE = '/sys/fs/selinux/enforce'  # there (0 permissive, 1 enforcing) only where SELinux is enabled
# swarm mode (5.1) and the daemon's security options (5.3), as one JSON object
DOCKER_INFO_FORMAT = '{"swarm": {{json .Swarm.LocalNodeState}}, "security_options": {{json .SecurityOptions}}}'
DOCKER_TIMEOUT = 60
REPORT_MODE = 0o640


class AuditError(Exception):
    """A docker command failed or answered something unreadable."""


class Docker:
    """Runs docker CLI commands and records each command line."""

    def __init__(self, cli):
        self.cli = cli
        self.commands = []

    def __call__(self, *args):
        argv = [self.cli] + list(args)
        self.commands.append(shlex.join(argv))
        try:
            result = run(argv, timeout=DOCKER_TIMEOUT)
        except DockerExecError as exc:
            raise AuditError(str(exc)) from exc
        if not result.ok:
            raise AuditError('%s failed (%s): %s' % (shlex.join(argv), 'timed out' if result.timed_out else
                                                     'rc %d' % result.rc, result.stderr_text[:500]))
        return result.stdout_text


def project_containers(docker, project):
    """docker inspect of the project's containers, and the names of the one-off containers left out."""
    ids = docker('ps', '-a', '-q', '--filter', 'label=com.docker.compose.project=%s' % project).split()
    if not ids:
        return [], []
    try:
        inspected = json.loads(docker('inspect', *ids))
    except ValueError as exc:
        raise AuditError('docker inspect did not answer JSON: %s' % exc) from exc
    one_off = [c for c in inspected
               if (c.get('Config', {}).get('Labels') or {}).get('com.docker.compose.oneoff') == 'True']
    return [c for c in inspected if c not in one_off], [cis_controls.container_name(c) for c in one_off]


def engine_facts(docker):
    """docker info: the swarm state and the daemon's security options; {'error': ...} when it cannot be read."""
    try:
        facts = json.loads(docker('info', '--format', DOCKER_INFO_FORMAT))
    except (AuditError, ValueError) as exc:
        return dict(error=str(exc)[:300])
    return facts if isinstance(facts, dict) else dict(error='docker info answered %r' % (facts,))


def container_processes(docker, containers):
    """Container name -> the command line of each process (docker top), or why they were not read. Kept here:
    a command line can hold a secret, so none is returned."""
    found = {}
    for c in containers:
        name = cis_controls.container_name(c)
        if not (c.get('State') or {}).get('Running', True):
            found[name] = 'not running'
            continue
        try:
            found[name] = cis_controls.parse_docker_top(docker('top', c.get('Id') or name))
        except (AuditError, ValueError) as exc:
            found[name] = str(exc)[:300]
    return found


def image_ids(docker, containers):
    """Image reference of each container -> the id it names now (None when the engine has no such image)."""
    ids = {}
    for ref in sorted({str((c.get('Config') or {}).get('Image') or '') for c in containers} - {''}):
        try:
            ids[ref] = docker('image', 'inspect', '--format', '{{.Id}}', ref).strip() or None
        except AuditError:
            ids[ref] = None
    return ids


def read_text(path):
    try:
        with open(path, encoding='ascii', errors='replace') as f:
            return f.read()
    except OSError:
        return ''


def listening_sockets():
    return [s for path in PROC_NET_TCP for s in cis_controls.parse_proc_net_tcp(read_text(path))]


def apparmor_enabled():
    return read_text(APPARMOR_ENABLED).strip() == 'Y'


def selinux_enabled():
    return read_text(SELINUX_ENFORCE).strip() in ('0', '1')


def parse_mode(value):
    """'0600', '600', '0o600' or an int YAML already read as octal -> int."""
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    elif isinstance(value, str) and re.match(r'^(0o)?[0-7]{1,4}$', value.strip()):
        mode = int(value.strip().replace('0o', ''), 8)
    else:
        raise ValueError('max_mode must be an octal mode such as "0600", got %r' % (value,))
    if not 0 <= mode <= 0o7777:
        raise ValueError('max_mode %r is not a file mode' % (value,))
    return mode


def _kind(st_mode):
    if stat.S_ISDIR(st_mode):
        return 'dir'
    return 'file' if stat.S_ISREG(st_mode) else 'other'


def file_fact(entry):
    fact = dict(path=entry['path'], want_max_mode=parse_mode(entry['max_mode']), want_kind=entry['kind'],
                exists=False)
    try:
        st = os.stat(entry['path'])
    except FileNotFoundError:
        return fact
    except OSError as exc:
        fact['error'] = exc.strerror or str(exc)
        return fact
    fact.update(exists=True, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, kind=_kind(st.st_mode))
    return fact


def write_report(path, report):
    atomic_write_bytes(path, (json.dumps(report, indent=1, sort_keys=True) + '\n').encode('utf-8'), mode=REPORT_MODE)
    os.chmod(path, REPORT_MODE)  # whatever the umask


ARGUMENT_SPEC = dict(
    project_name=dict(type='str', required=True),
    files=dict(type='list', elements='dict', default=[], options=dict(
        path=dict(type='path', required=True),
        max_mode=dict(type='raw', required=True),
        kind=dict(type='str', choices=['file', 'dir'], default='file'),
    )),
    secrets=dict(type='list', elements='str', default=[], no_log=True),
    waivers=dict(type='list', elements='dict', default=[], options=dict(
        id=dict(type='str', required=True),
        reason=dict(type='str', required=True),
    )),
    threshold=dict(type='float', default=90.0),
    published_allowed=dict(type='list', elements='str', default=['127.0.0.1', '::1']),
    needed_ports=dict(type='dict'),
    output_json=dict(type='path'),
    docker_cli=dict(type='str', default='docker'),
)


def gather(module, docker):
    """(containers, host facts); fails the module when there is nothing to audit."""
    p = module.params
    try:
        files = [file_fact(f) for f in p['files']]
        containers, one_off = project_containers(docker, p['project_name'])
    except (AuditError, ValueError) as exc:
        module.fail_json(msg=str(exc), commands=docker.commands)
    if one_off:
        module.warn('left out the one-off containers %s' % ', '.join(one_off))
    if not containers:
        module.fail_json(msg='no containers of the Compose project %r found (docker ps -a --filter '
                         'label=com.docker.compose.project=%s): deploy the stack first, or set project_name to its '
                         'Compose project name' % (p['project_name'], p['project_name']), commands=docker.commands)
    host = dict(listening=listening_sockets(), files=files, apparmor_enabled=apparmor_enabled(),
                selinux_enabled=selinux_enabled(), engine=engine_facts(docker),
                processes=container_processes(docker, containers), images=image_ids(docker, containers),
                published_allowed=p['published_allowed'], needed_ports=p['needed_ports'], secrets=p['secrets'])
    return containers, host


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    if not 0 <= p['threshold'] <= 100:
        module.fail_json(msg='threshold must be a percent from 0 to 100, got %s' % p['threshold'])
    docker = Docker(p['docker_cli'])
    problems = [w for w in map(cis_controls.waiver_problem, p['waivers']) if w]
    if problems:  # before any docker command: a waiver for a control that does not exist is a mistake to fix
        module.fail_json(msg='; '.join(problems), commands=docker.commands, benchmark=cis_controls.BENCHMARK)
    containers, host = gather(module, docker)
    results = cis_controls.evaluate(containers, host, p['waivers'])
    for waiver in cis_controls.unused_waivers(results, p['waivers']):
        module.warn('waiver %s matches no container of this stack' % waiver)
    for waiver in cis_controls.unscored_waivers(results, p['waivers']):
        module.warn('waiver %s names a control that is only checked by hand here, so it changes nothing - written '
                    'for the numbering before %s? (docs/HARDENING.md: old -> new)' % (waiver, cis_controls.BENCHMARK))
    summary = cis_controls.score(results)
    out = dict(changed=False, results=results, summary=summary, table=cis_controls.table(results, summary),
               failed_controls=cis_controls.failed_controls(results), commands=docker.commands,
               containers=sorted(cis_controls.container_name(c) for c in containers), benchmark=cis_controls.BENCHMARK)
    if p['output_json'] and not module.check_mode:
        report = dict(project=p['project_name'], threshold=p['threshold'], benchmark=cis_controls.BENCHMARK,
                      summary=summary, results=results,
                      failed_controls=out['failed_controls'], time=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        try:
            write_report(p['output_json'], report)
        except OSError as exc:
            module.fail_json(msg='cannot write the report %s: %s' % (p['output_json'], exc), **out)
    if summary['percent'] < p['threshold']:
        module.fail_json(msg=cis_controls.threshold_message(summary, p['threshold'], results), **out)
    module.exit_json(**out)


if __name__ == '__main__':
    main()
