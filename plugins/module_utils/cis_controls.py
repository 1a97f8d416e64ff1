# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""CIS Docker Benchmark controls (pure): an audit of the Compose project's running containers.

The audit scores ``docker inspect`` of the project's containers and a few host and engine facts against CIS Docker
Benchmark v1.6.0 section 5 (its numbering: the one docker-bench-security 1.6.1 reports) and our own controls
(N8N-*), with waivers, a score and a table; also the checks of the hardening role's settings.

No I/O here: the hardening role and the stack_audit module gather the input. No secret value is ever put in a
result or the table: only variable names and places.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re

from ansible_collections.n8n_ops.stack.plugins.module_utils.compose_lint import argv_list, is_plain_secret
from ansible_collections.n8n_ops.stack.plugins.module_utils.stack_config import image_ref_error

# na: does not apply here (AppArmor on a host without it); manual: cannot be decided from the running state, a person
# checks it (the detail says what). Neither counts in the score.
PASS, FAIL, NA, WAIVED, MANUAL = 'pass', 'fail', 'na', 'waived', 'manual'

# ---------------------------------------------------------------------------------------------------------------
# Audit: CIS Docker Benchmark v1.6.0 section 5 (its numbers and titles) and our own controls
# ---------------------------------------------------------------------------------------------------------------

BENCHMARK = 'CIS Docker Benchmark v1.6.0'
# Every control of the benchmark's section 5, numbered as v1.6.0 numbers it - swarm mode moved there as 5.1 (it was
# 7.1), so every other control is one higher than in v1.5.0 - and as docker-bench-security reports it since 1.6.1
# (its 1.6.0 release still numbered section 5 like v1.5.0). Then ours.
CONTROLS = (
    ('5.1', 'Ensure swarm mode is not Enabled, if not needed'),
    ('5.2', 'Ensure that, if applicable, an AppArmor Profile is enabled'),
    ('5.3', 'Ensure that, if applicable, SELinux security options are set'),
    ('5.4', 'Ensure that Linux kernel capabilities are restricted within containers'),
    ('5.5', 'Ensure that privileged containers are not used'),
    ('5.6', 'Ensure sensitive host system directories are not mounted on containers'),
    ('5.7', 'Ensure sshd is not run within containers'),
    ('5.8', 'Ensure privileged ports are not mapped within containers'),
    ('5.9', 'Ensure that only needed ports are open on the container'),
    ('5.10', "Ensure that the host's network namespace is not shared"),
    ('5.11', 'Ensure that the memory usage for containers is limited'),
    ('5.12', 'Ensure that CPU priority is set appropriately on containers'),
    ('5.13', "Ensure that the container's root filesystem is mounted as read only"),
    ('5.14', 'Ensure that incoming container traffic is bound to a specific host interface'),
    ('5.15', "Ensure that the 'on-failure' container restart policy is set to '5'"),
    ('5.16', "Ensure that the host's process namespace is not shared"),
    ('5.17', "Ensure that the host's IPC namespace is not shared"),
    ('5.18', 'Ensure that host devices are not directly exposed to containers'),
    ('5.19', 'Ensure that the default ulimit is overwritten at runtime if needed'),
    ('5.20', 'Ensure mount propagation mode is not set to shared'),
    ('5.21', "Ensure that the host's UTS namespace is not shared"),
    ('5.22', 'Ensure the default seccomp profile is not Disabled'),
    ('5.23', 'Ensure that docker exec commands are not used with the privileged option'),
    ('5.24', 'Ensure that docker exec commands are not used with the user=root option'),
    ('5.25', 'Ensure that cgroup usage is confirmed'),
    ('5.26', 'Ensure that the container is restricted from acquiring additional privileges'),
    ('5.27', 'Ensure that container health is checked at runtime'),
    ('5.28', 'Ensure that Docker commands always make use of the latest version of their image'),
    ('5.29', 'Ensure that the PIDs cgroup limit is used'),
    ('5.30', "Ensure that Docker's default bridge 'docker0' is not used"),
    ('5.31', "Ensure that the host's user namespaces are not shared"),
    ('5.32', 'Ensure that the Docker socket is not mounted inside any containers'),
    ('N8N-1', 'No secret in container environment, command, entrypoint or labels'),
    ('N8N-2', 'Container runs as a non-root user'),
    ('N8N-3', 'Container logs rotate (json-file with max-size)'),
    ('N8N-5', 'Stack files and directories are not more permissive than required'),
    ('N8N-6', 'Nothing listens beyond loopback on the ports the project publishes'),
)
# Ids an earlier release of this audit used that name no control now: id -> what to use instead. Its 5.x ids (CIS
# v1.5.0's numbers) cannot be told apart this way: each is still an id, of another control (the old 5.12, read-only
# root, is 5.13; 5.12 is CPU priority now). docs/HARDENING.md has the old -> new table; a waiver that lands on a
# control checked by hand is warned about (unscored_waivers).
RETIRED_CONTROLS = {'N8N-4': '5.28, whose check it is'}
TITLES = dict(CONTROLS)
HOST = 'host'
SENSITIVE_HOST_DIRS = ('/', '/boot', '/dev', '/etc', '/lib', '/proc', '/sys', '/usr')
DEFAULT_PUBLISHED_ALLOWED = ('127.0.0.1', '::1')
# CIS 5.9: the container ports each compose service needs published - n8n main's editor, API and webhooks.
DEFAULT_NEEDED_PORTS = {'n8n': ('5678/tcp',)}
# CIS 5.15 asks for on-failure with at most 5 retries, so a crash loop stops. We accept unless-stopped and always
# too: n8n must come back by itself after a host reboot or a Docker restart, which on-failure does not do, and the
# monitoring role alerts on restart counts instead of the policy capping them.
RESTART_POLICIES = ('on-failure', 'unless-stopped', 'always')


def _hc(c):
    return c.get('HostConfig') or {}


def _cfg(c):
    return c.get('Config') or {}


def _security_opts(c):
    return [str(o).replace('=', ':', 1) for o in _hc(c).get('SecurityOpt') or []]


def _bind_mounts(c):
    return [m for m in c.get('Mounts') or [] if m.get('Type') == 'bind']


def container_name(c):
    return str(c.get('Name') or c.get('Id', '')[:12]).lstrip('/')


def compose_service(c):
    return (_cfg(c).get('Labels') or {}).get('com.docker.compose.service') or ''


def port_bindings(c):
    """Published ports as sorted (host address, host port, container port): what a running container has bound
    (NetworkSettings.Ports), else what it is configured with (HostConfig.PortBindings; an empty address there means
    every interface)."""
    running = (c.get('NetworkSettings') or {}).get('Ports') or {}
    source = running if any(running.values()) else (_hc(c).get('PortBindings') or {})
    return sorted({(str(b.get('HostIp') or ''), str(b.get('HostPort') or ''), container_port)
                   for container_port, bindings in source.items() for b in bindings or []})


def _bracket(address):
    return '[%s]' % address if ':' in str(address) else str(address)


def _socket(address, port):
    return '%s:%s' % (_bracket(address) if address else '*', port)


def is_loopback(address):
    try:
        ip = ipaddress.ip_address(str(address).strip('[]'))
    except ValueError:
        return address == 'localhost'
    mapped = getattr(ip, 'ipv4_mapped', None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def _same_address(a, b):
    try:
        return ipaddress.ip_address(str(a).strip('[]')) == ipaddress.ip_address(str(b).strip('[]'))
    except ValueError:
        return a == b


def _allowed(address, allowed):
    return any(_same_address(address, a) for a in allowed)


# --- one function per container control: (status, detail) ---


def apparmor_profile(c, host):
    if not host.get('apparmor_enabled'):
        return NA, 'the host has no AppArmor'
    profile = c.get('AppArmorProfile') or ''
    if not profile or profile == 'unconfined' or 'apparmor:unconfined' in _security_opts(c):
        return FAIL, 'no AppArmor profile (unconfined)'
    return PASS, 'profile %s' % profile


def _daemon_uses(host, option):
    """True when `docker info` lists the security option (name=selinux, name=apparmor...)."""
    return any(str(o).split(',', 1)[0] == 'name=' + option
               for o in (host.get('engine') or {}).get('security_options') or [])


def selinux_options(c, host):
    """Applicable where the host kernel runs SELinux (or the daemon says it labels containers): the container must
    have an SELinux process label and not run with label=disable."""
    daemon = _daemon_uses(host, 'selinux')
    if not host.get('selinux_enabled') and not daemon:
        return NA, 'the host has no SELinux'
    if 'label:disable' in _security_opts(c):
        return FAIL, 'SELinux labelling disabled (label=disable)'
    label = c.get('ProcessLabel') or ''
    if not label:
        return FAIL, 'no SELinux label' + ('' if daemon else ' (the Docker daemon runs without --selinux-enabled)')
    return PASS, 'process label %s' % label


def capabilities_restricted(c, host):
    dropped = [str(x).upper() for x in _hc(c).get('CapDrop') or []]
    added = sorted(str(x).upper() for x in _hc(c).get('CapAdd') or [])
    add = '; CapAdd: %s' % ', '.join(added) if added else '; none added'
    if 'ALL' in dropped or 'CAP_ALL' in dropped:
        return PASS, 'CapDrop ALL' + add
    return FAIL, 'CapDrop %s' % (', '.join(dropped) or 'none') + add


def not_privileged(c, host):
    return (FAIL, 'runs privileged') if _hc(c).get('Privileged') else (PASS, 'not privileged')


def _sensitive_mount(m):
    source = posixpath.normpath(str(m.get('Source') or '/'))
    if source.endswith('docker.sock'):
        return True
    under = any(source.startswith(d + '/') for d in SENSITIVE_HOST_DIRS if d != '/')
    return source in SENSITIVE_HOST_DIRS or (under and m.get('RW', True))


def no_sensitive_host_dirs(c, host):
    bad = ['%s (%s)' % (m.get('Source'), 'rw' if m.get('RW', True) else 'ro') for m in _bind_mounts(c)
           if _sensitive_mount(m)]
    return (FAIL, 'mounts ' + ', '.join(bad)) if bad else (PASS, 'no sensitive host directory mounted')


_SSHD = re.compile(r'^(\S*/)?sshd(:|\s|$)')


def parse_docker_top(text):
    """`docker top` output -> the command line of each process. The CLI aligns the columns (ps -ef's UID PID PPID C
    STIME TTY TIME CMD), so the command starts where the header's last column, CMD or COMMAND, starts."""
    lines = [line for line in (text or '').splitlines() if line.strip()]
    header = lines[0].split() if lines else []
    if not header or header[-1] not in ('CMD', 'COMMAND'):
        raise ValueError('docker top printed no CMD column')
    start = lines[0].rindex(header[-1])
    return [line[start:].strip() for line in lines[1:]]


def no_sshd(c, host):
    """From `docker top` (the host's view of the container's processes; nothing runs inside the container)."""
    processes = (host.get('processes') or {}).get(container_name(c))
    if processes is None:
        return NA, 'processes not read'
    if isinstance(processes, str):
        return NA, 'processes not read: %s' % processes
    sshd = [p for p in processes if _SSHD.match(p)]
    if sshd:
        return FAIL, 'runs sshd (%d of %d processes)' % (len(sshd), len(processes))
    return PASS, 'no sshd among %d processes' % len(processes)


def no_privileged_ports(c, host):
    low = sorted({int(p) for _a, p, _c in port_bindings(c) if p.isdigit() and 0 < int(p) < 1024})
    if low:
        return FAIL, 'publishes host port %s' % ', '.join(map(str, low))
    return PASS, 'no host port below 1024'


def _port_key(port):
    port = str(port)
    return port if '/' in port else port + '/tcp'


def only_needed_ports(c, host):
    """Published container ports must be ones the service needs (host['needed_ports']: compose service -> ports;
    the stack needs n8n main's 5678 only). Anything else is a finding to remove or waive with the reason."""
    needed_by = host.get('needed_ports')
    needed_by = DEFAULT_NEEDED_PORTS if needed_by is None else needed_by
    service = compose_service(c)
    ports = needed_by.get(service) or []
    needed = sorted({_port_key(p) for p in ([ports] if isinstance(ports, (str, int)) else ports)})
    published = sorted({cport for _a, _p, cport in port_bindings(c)})
    if not published:
        return PASS, 'publishes no ports'
    extra = [p for p in published if p not in needed]
    if extra:
        return FAIL, 'publishes %s, not needed by %s (needed: %s)' % (
            ', '.join(extra), service or 'this container', ', '.join(needed) or 'none')
    return PASS, 'publishes %s only (needed)' % ', '.join(published)


def _namespace(c, key, label):
    mode = str(_hc(c).get(key) or '')
    return (FAIL, '%s host' % label) if mode == 'host' else (PASS, '%s %s' % (label, mode or 'private'))


def host_network_not_shared(c, host):
    return _namespace(c, 'NetworkMode', 'network')


def memory_limited(c, host):
    memory = int(_hc(c).get('Memory') or 0)
    return (PASS, 'memory limit %d MiB' % (memory // 1048576)) if memory > 0 else (FAIL, 'no memory limit')


def cpu_limited(c, host):
    """Docker reports 0 for a value not set; an explicit CpuShares of 1024 (Docker's default weight) counts as set:
    the hardening role sets it on purpose, relative to the workers' lower share."""
    hc = _hc(c)
    found = ['%s %s' % (k, hc.get(k)) for k in ('NanoCpus', 'CpuQuota', 'CpuShares') if int(hc.get(k) or 0) > 0]
    return (PASS, ', '.join(found)) if found else (FAIL, 'no CPU limit or shares')


def read_only_root(c, host):
    return (PASS, 'read-only root filesystem') if _hc(c).get('ReadonlyRootfs') else (FAIL, 'writable root filesystem')


def bound_to_allowed_address(c, host):
    allowed = host.get('published_allowed') or DEFAULT_PUBLISHED_ALLOWED
    bindings = port_bindings(c)
    if not bindings:
        return PASS, 'publishes no ports'
    bad = [_socket(a, p) for a, p, _c in bindings if not _allowed(a, allowed)]
    if bad:
        return FAIL, 'published on %s (allowed: %s)' % (', '.join(bad), ', '.join(allowed))
    return PASS, 'published on %s' % ', '.join(_socket(a, p) for a, p, _c in bindings)


def restart_policy_set(c, host):
    policy = (_hc(c).get('RestartPolicy') or {}).get('Name') or 'no'
    return (PASS, 'restart %s' % policy) if policy in RESTART_POLICIES else (FAIL, 'restart policy %s' % policy)


def host_pid_not_shared(c, host):
    return _namespace(c, 'PidMode', 'pid')


def host_ipc_not_shared(c, host):
    return _namespace(c, 'IpcMode', 'ipc')


def no_host_devices(c, host):
    devices = [d.get('PathOnHost') or '?' for d in _hc(c).get('Devices') or []]
    return (FAIL, 'devices ' + ', '.join(devices)) if devices else (PASS, 'no host devices')


def ulimits_default(c, host):
    """CIS wants no ulimit override unless it is needed: none passes; an override is for a person to judge (the
    benchmark calls this control manual; a daemon's --default-ulimit shows here too), so it is not scored."""
    ulimits = ['%s=%s:%s' % (u.get('Name'), u.get('Soft'), u.get('Hard')) for u in _hc(c).get('Ulimits') or []]
    if ulimits:
        return MANUAL, 'overrides %s: check it is needed (a daemon default-ulimit shows here too)' % ', '.join(ulimits)
    return PASS, "no ulimit overridden (the daemon's defaults)"


def no_shared_propagation(c, host):
    shared = [m.get('Destination') for m in c.get('Mounts') or [] if m.get('Propagation') in ('shared', 'rshared')]
    return (FAIL, 'shared propagation on ' + ', '.join(shared)) if shared else (PASS, 'no shared mount propagation')


def host_uts_not_shared(c, host):
    return _namespace(c, 'UTSMode', 'uts')


def seccomp_enabled(c, host):
    if 'seccomp:unconfined' in _security_opts(c):
        return FAIL, 'seccomp=unconfined'
    return PASS, 'default or custom seccomp profile'


def default_cgroup_parent(c, host):
    parent = _hc(c).get('CgroupParent') or ''
    return (FAIL, 'cgroup parent %s' % parent) if parent else (PASS, 'default cgroup parent')


def no_new_privileges(c, host):
    opts = _security_opts(c)
    if 'no-new-privileges' in opts or 'no-new-privileges:true' in opts:
        return PASS, 'no-new-privileges'
    return FAIL, 'no-new-privileges not set'


def healthcheck_present(c, host):
    test = (_cfg(c).get('Healthcheck') or {}).get('Test') or []
    if not test or test[0] == 'NONE':
        return FAIL, 'no healthcheck'
    return PASS, 'healthcheck %s' % test[0]


def pids_limited(c, host):
    limit = int(_hc(c).get('PidsLimit') or 0)
    return (PASS, 'PidsLimit %d' % limit) if limit > 0 else (FAIL, 'no PIDs limit')


def not_default_bridge(c, host):
    mode = str(_hc(c).get('NetworkMode') or 'default')
    return (FAIL, 'network %s' % mode) if mode in ('default', 'bridge') else (PASS, 'network %s' % mode)


def host_userns_not_shared(c, host):
    return _namespace(c, 'UsernsMode', 'userns')


def docker_socket_not_mounted(c, host):
    sockets = [m.get('Source') for m in _bind_mounts(c) if str(m.get('Source') or '').endswith('docker.sock')]
    return (FAIL, 'mounts ' + ', '.join(sockets)) if sockets else (PASS, 'docker socket not mounted')


def _places(c):
    """(place, text) pairs where a secret must not be: env values, command, entrypoint, args, labels, healthcheck."""
    cfg = _cfg(c)
    for item in cfg.get('Env') or []:
        name, _sep, value = str(item).partition('=')
        yield 'env %s' % name, value
    for key, argv in (('Cmd', cfg.get('Cmd')), ('Entrypoint', cfg.get('Entrypoint')), ('Args', c.get('Args')),
                      ('Healthcheck', (cfg.get('Healthcheck') or {}).get('Test'))):
        for i, arg in enumerate(argv_list(argv)):
            yield '%s[%d]' % (key, i), arg
    for key, value in (cfg.get('Labels') or {}).items():
        yield 'label %s' % key, str(value)


def no_secret_in_config(c, host):
    secrets = [s for s in host.get('secrets') or [] if s and str(s).strip()]
    leaks = sorted({place for place, text in _places(c) if any(str(s) in text for s in secrets)})
    for item in _cfg(c).get('Env') or []:
        name, _sep, value = str(item).partition('=')
        if is_plain_secret(name, value) and 'env %s' % name not in leaks:
            leaks.append('env %s (by its name)' % name)
    if leaks:
        return FAIL, 'secret in ' + ', '.join(leaks)
    return PASS, 'no secret value or secret-looking variable found'


def non_root_user(c, host):
    user = str(_cfg(c).get('User') or '')
    if not user or user.split(':', 1)[0] in ('root', '0'):
        return FAIL, 'starts as root' + (' (%s)' % user if user else '')
    return PASS, 'user %s' % user


def log_rotation(c, host):
    log = _hc(c).get('LogConfig') or {}
    options = log.get('Config') or {}
    if log.get('Type') == 'json-file' and options.get('max-size'):
        return PASS, 'json-file max-size %s max-file %s' % (options['max-size'], options.get('max-file', '1'))
    return FAIL, 'log driver %s without max-size' % (log.get('Type') or '?')


def image_current(c, host):
    """CIS 5.28's remedy is version pinning: the image a tag or digest pins (not latest, not untagged). And the
    container must run the image its reference names now (host['images']: reference -> image id): after a pull
    that moved the tag it still runs the old one until it is recreated."""
    image = _cfg(c).get('Image') or ''
    error = image_ref_error('image', image)
    if error:
        return FAIL, error
    running, named = str(c.get('Image') or ''), (host.get('images') or {}).get(image)
    if running.startswith('sha256:') and str(named or '').startswith('sha256:') and running != named:
        return FAIL, '%s now names %s but the container runs %s: recreate it (docker compose up -d)' % (
            image, named[7:19], running[7:19])
    return PASS, image + (' (the image it names now)' if named and running == named else '')


CONTAINER_CHECKS = (
    ('5.2', apparmor_profile), ('5.3', selinux_options), ('5.4', capabilities_restricted), ('5.5', not_privileged),
    ('5.6', no_sensitive_host_dirs), ('5.7', no_sshd), ('5.8', no_privileged_ports), ('5.9', only_needed_ports),
    ('5.10', host_network_not_shared), ('5.11', memory_limited), ('5.12', cpu_limited), ('5.13', read_only_root),
    ('5.14', bound_to_allowed_address), ('5.15', restart_policy_set), ('5.16', host_pid_not_shared),
    ('5.17', host_ipc_not_shared), ('5.18', no_host_devices), ('5.19', ulimits_default),
    ('5.20', no_shared_propagation), ('5.21', host_uts_not_shared), ('5.22', seccomp_enabled),
    ('5.25', default_cgroup_parent), ('5.26', no_new_privileges), ('5.27', healthcheck_present),
    ('5.28', image_current), ('5.29', pids_limited), ('5.30', not_default_bridge), ('5.31', host_userns_not_shared),
    ('5.32', docker_socket_not_mounted),
    ('N8N-1', no_secret_in_config), ('N8N-2', non_root_user), ('N8N-3', log_rotation),
)


def _result(control, service, status, detail, compose=''):
    result = dict(id=control, title=TITLES[control], service=service, status=status, detail=detail)
    if compose:
        result['compose_service'] = compose
    return result


def container_results(c, host):
    name, compose = container_name(c), compose_service(c)
    return [_result(control, name, *check(c, host), compose=compose) for control, check in CONTAINER_CHECKS]


# --- host controls ---


def swarm_mode(host):
    """`docker info`'s Swarm.LocalNodeState: the stack runs under Compose and needs no swarm."""
    engine = host.get('engine') or {}
    state = engine.get('swarm')
    if not state:
        return NA, 'engine not read' + (': %s' % engine['error'] if engine.get('error') else '')
    if state == 'inactive':
        return PASS, 'swarm mode inactive'
    return FAIL, 'swarm mode %s: the stack runs under Compose and needs none (docker swarm leave)' % state


# CIS 5.23 and 5.24 are about how people run `docker exec`; an exec session leaves nothing in the container's state
# (the benchmark audits them in the host's audit log, auditd). This collection's modules exec without --privileged
# and without --user, so as the container's own user - non-root on a hardened stack (N8N-2).
EXEC_MANUAL = ('not visible in the running state (an exec session leaves no trace in docker inspect): check the '
               "host's audit log (auditd) for docker exec %s; this collection's modules never pass it")


def host_results(containers, host):
    return [_result('5.1', HOST, *swarm_mode(host)),
            _result('5.23', HOST, MANUAL, EXEC_MANUAL % '--privileged'),
            _result('5.24', HOST, MANUAL, EXEC_MANUAL % '--user root'),
            _result('N8N-5', HOST, *file_modes(host)),
            _result('N8N-6', HOST, *listening_beyond_loopback(containers, host))]


def _file_problem(f):
    path, want = f.get('path'), int(f.get('want_max_mode') or 0)
    if f.get('error'):
        return '%s: %s' % (path, f['error'])
    if not f.get('exists'):
        return '%s missing' % path
    kind = f.get('want_kind')
    if kind and f.get('kind') and kind != f['kind']:
        return '%s is a %s, not a %s' % (path, f['kind'], kind)
    mode = int(f.get('mode') or 0) & 0o7777
    if mode & ~want:
        return '%s is %04o, at most %04o' % (path, mode, want)
    return None


def file_modes(host):
    files = host.get('files') or []
    if not files:
        return NA, 'no files given'
    problems = [p for p in (_file_problem(f) for f in files) if p]
    if problems:
        return FAIL, '; '.join(problems)
    return PASS, '%d files and directories within their modes' % len(files)


def published_host_ports(containers):
    return sorted({int(p) for c in containers for _a, p, _c in port_bindings(c) if p.isdigit()})


def listening_beyond_loopback(containers, host):
    ports = published_host_ports(containers)
    if not ports:
        return NA, 'the project publishes no ports'
    allowed = host.get('published_allowed') or DEFAULT_PUBLISHED_ALLOWED
    bad = sorted({_socket(s['address'], int(s['port'])) for s in host.get('listening') or []
                  if int(s.get('port') or 0) in ports and not is_loopback(s.get('address'))
                  and not _allowed(s.get('address'), allowed)})
    if bad:
        return FAIL, 'listening on %s' % ', '.join(bad)
    return PASS, 'port %s listens on loopback or allowed addresses only' % ', '.join(map(str, ports))


# --- waivers, score, table ---


def control_ids_text():
    """The valid control ids, short: '5.1 to 5.32, N8N-1, N8N-2, ...'."""
    cis = [c for c, _t in CONTROLS if c.startswith('5.')]
    ours = [c for c, _t in CONTROLS if not c.startswith('5.')]
    return ', '.join(['%s to %s' % (cis[0], cis[-1])] + ours)


def waiver_problem(waiver):
    """Why a waiver cannot be used (no id, no reason, an id that names no control), else None."""
    if not isinstance(waiver, dict):
        return 'a waiver must be {id, reason}, got %r' % (waiver,)
    waiver_id = str(waiver.get('id') or '').strip()
    control, _sep, target = waiver_id.partition('@')
    if not control or (_sep and not target):
        return 'a waiver needs an id: a control, or control@container (got %r)' % (waiver.get('id'),)
    if control not in TITLES:
        instead = RETIRED_CONTROLS.get(control)
        return 'waiver %s names no control of the audit%s; the controls are %s (%s numbering; docs/HARDENING.md ' \
               'has the old -> new table)' % (waiver_id, ' (%s is now %s)' % (control, instead) if instead else '',
                                              control_ids_text(), BENCHMARK)
    if not str(waiver.get('reason') or '').strip():
        return 'waiver %s needs a reason' % waiver_id
    return None


def _waiver_key(waiver):
    problem = waiver_problem(waiver)
    if problem:
        raise ValueError(problem)
    control, _sep, target = str(waiver['id']).strip().partition('@')
    return control, target, str(waiver['reason']).strip()


def waiver_matches(result, control, target):
    return result['id'] == control and (not target or target in (result['service'], result.get('compose_service')))


def apply_waivers(results, waivers):
    """A failing result a waiver names becomes waived, with the reason; a passing one stays pass. Raises ValueError
    for a waiver without a reason or naming no control."""
    keys = [_waiver_key(w) for w in waivers or []]
    for r in results:
        if r['status'] != FAIL:
            continue
        for control, target, reason in keys:
            if waiver_matches(r, control, target):
                r.update(status=WAIVED, reason=reason)
                break
    return results


def unused_waivers(results, waivers):
    """Waivers that match no result (a container or compose service that is gone)."""
    return [w['id'] for w in waivers or [] if not any(waiver_matches(r, *_waiver_key(w)[:2]) for r in results)]


def unscored_waivers(results, waivers):
    """Waivers whose control is only ever checked by hand here (5.23, 5.24, an overridden ulimit): a waiver cannot
    change them - often a waiver written for the control's number before the v1.6.0 renumbering."""
    unscored = []
    for w in waivers or []:
        matched = [r for r in results if waiver_matches(r, *_waiver_key(w)[:2])]
        if matched and all(r['status'] == MANUAL for r in matched):
            unscored.append(w['id'])
    return unscored


def evaluate(containers, host, waivers=None):
    """One result per container and control, plus the host's, sorted by control; waivers applied."""
    host = host or {}
    order = dict((control, i) for i, (control, _title) in enumerate(CONTROLS))
    results = [r for c in sorted(containers, key=container_name) for r in container_results(c, host)]
    results.extend(host_results(containers, host))
    results.sort(key=lambda r: (order[r['id']], r['service']))
    return apply_waivers(results, waivers)


def score(results):
    """passed / (passed + failed); waived, not applicable and manual results do not count."""
    counts = dict((s, sum(1 for r in results if r['status'] == s)) for s in (PASS, FAIL, WAIVED, NA, MANUAL))
    applicable = counts[PASS] + counts[FAIL]
    percent = round(100.0 * counts[PASS] / applicable, 1) if applicable else 100.0
    return dict(passed=counts[PASS], failed=counts[FAIL], waived=counts[WAIVED], na=counts[NA],
                manual=counts[MANUAL], applicable=applicable, percent=percent)


def failed_controls(results):
    """'control@service' of each failing result: the form a waiver takes."""
    return ['%s@%s' % (r['id'], r['service']) for r in results if r['status'] == FAIL]


def summary_line(summary):
    return ('score %.1f %% - %d of %d applicable controls pass, %d fail; %d waived, %d not applicable, %d to check '
            'by hand (%s)' % (summary['percent'], summary['passed'], summary['applicable'], summary['failed'],
                              summary['waived'], summary['na'], summary.get('manual', 0), BENCHMARK))


def table(results, summary, title_width=48):
    """Fixed-width columns (control, title, service, status, detail), failures first, then the summary line."""
    def cut(text, width):
        return text if len(text) <= width else text[:width - 3] + '...'
    rows = [('CONTROL', 'TITLE', 'SERVICE', 'STATUS', 'DETAIL')]
    for r in sorted(results, key=lambda r: r['status'] != FAIL):
        detail = r['detail'] + (' - waived: %s' % r['reason'] if r['status'] == WAIVED else '')
        rows.append((r['id'], cut(r['title'], title_width), r['service'], r['status'].upper(), detail))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ['  '.join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + '  ' + row[4] for row in rows]
    return '\n'.join(lines + ['', summary_line(summary)])


def threshold_message(summary, threshold, results):
    failed = failed_controls(results)
    return 'audit score %.1f %% is below the threshold %g %% (failed: %s)' % (
        summary['percent'], threshold, ', '.join(failed) or 'none')


# --- the hardening role's settings ---


def _below(values, least):
    """{service: value} of the values that are not whole numbers >= least."""
    low = {}
    for service, value in sorted(values.items()):
        try:
            ok = not isinstance(value, bool) and int(value) >= least
        except (TypeError, ValueError):
            ok = False
        if not ok:
            low[service] = value
    return low


def settings_problems(pids_limit, cpu_shares, threshold, waivers):
    """What in the hardening role's settings cannot work, each problem named with its values (empty: nothing), so
    a refusal names only the rules that are broken."""
    problems = []
    for name, values, least in (('hardening_pids_limit', pids_limit, 32), ('hardening_cpu_shares', cpu_shares, 2)):
        if not isinstance(values, dict) or not values:
            problems.append('%s must map each service to a number (is %r)' % (name, values))
            continue
        low = _below(values, least)
        if low:
            problems.append('%s must be at least %d for every service (%s)' % (
                name, least, ', '.join('%s is %s' % item for item in low.items())))
    try:
        threshold_ok = 0 <= float(threshold) <= 100
    except (TypeError, ValueError):
        threshold_ok = False
    if not threshold_ok:
        problems.append('hardening_audit_threshold must be a percent from 0 to 100 (is %s)' % (threshold,))
    if not isinstance(waivers, list):
        problems.append('hardening_audit_waivers must be a list of {id, reason} (is %r)' % (waivers,))
    else:
        problems.extend('hardening_audit_waivers: %s' % p for p in map(waiver_problem, waivers) if p)
    return problems

# --- /proc/net/tcp ---


def _hex_address(text):
    """/proc/net/tcp{,6} address: IPv4 as one little-endian 32-bit word, IPv6 as four of them."""
    raw = bytes.fromhex(text)
    if len(raw) not in (4, 16):
        raise ValueError('bad address %s' % text)
    ip = ipaddress.ip_address(b''.join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4)))
    mapped = getattr(ip, 'ipv4_mapped', None)
    return '::ffff:%s' % mapped if mapped else str(ip)  # the same text on every Python version


def parse_proc_net_tcp(text):
    """Listening sockets (state 0A) of /proc/net/tcp or /proc/net/tcp6 text -> [{address, port, proto}]."""
    sockets = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[3] != '0A' or ':' not in fields[1]:
            continue
        address, _sep, port = fields[1].rpartition(':')
        try:
            parsed = _hex_address(address)
            sockets.append(dict(address=parsed, port=int(port, 16), proto='tcp6' if len(address) == 32 else 'tcp'))
        except ValueError:
            continue
    return sockets
