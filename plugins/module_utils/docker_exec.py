# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Run commands in a container with ``docker exec``, optionally streaming stdin/stdout to files.

AnsibleModule.run_command keeps the whole stdout in memory, which does not
work for multi-gigabyte database dumps; this helper hands file objects
straight to the child process instead.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass, field


def container_argument_spec():
    """Options every module that works inside a stack container shares (like community.postgresql's
    postgres_common_argument_spec)."""
    return dict(
        container=dict(type='str', required=True),
        docker_cli=dict(type='str', default='docker'),
    )


class DockerExecError(Exception):
    """The docker CLI could not be started at all."""


@dataclass
class ExecResult:
    argv: list
    rc: int
    stdout: bytes = b''
    stderr: bytes = b''
    timed_out: bool = False

    @property
    def stdout_text(self):
        return self.stdout.decode('utf-8', errors='replace')

    @property
    def stderr_text(self):
        return self.stderr.decode('utf-8', errors='replace').strip()

    @property
    def ok(self):
        return self.rc == 0 and not self.timed_out


def exec_argv(container, cmd, docker_cli='docker', interactive=False, env_names=()):
    """Build ``docker exec [-i] [-e NAME]... CONTAINER cmd...``.

    Only variable names go on the command line; docker copies their values
    from its own environment, so secrets never show up in ``ps``.
    """
    argv = [docker_cli, 'exec']
    if interactive:
        argv.append('-i')
    for name in env_names:
        argv.extend(['-e', name])
    argv.append(container)
    argv.extend(cmd)
    return argv


def run(argv, stdin=None, stdout=None, env=None, timeout=None):
    """Run ``argv``; ``stdin``/``stdout`` may be open binary files. stderr is always captured."""
    proc_env = None
    if env:
        proc_env = dict(os.environ)
        proc_env.update(env)
    try:
        # pylint: disable-next=ansible-bad-function
        proc = subprocess.Popen(
            argv,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=stdout if stdout is not None else subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=proc_env,
        )
    except OSError as e:
        raise DockerExecError('cannot run %s: %s' % (argv[0], e)) from e
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # Killing the docker client does not stop the process inside the container.
        proc.kill()
        out, err = proc.communicate()
        return ExecResult(argv, proc.returncode, out or b'', err or b'', timed_out=True)
    return ExecResult(argv, proc.returncode, out or b'', err or b'')


def _file_name(f):
    name = getattr(f, 'name', None)
    return name if isinstance(name, str) else None


@dataclass
class ContainerExec:
    """Runs commands in one container and records every command line (for the module's ``commands``)."""

    container: str
    docker_cli: str = 'docker'
    commands: list = field(default_factory=list)

    def argv(self, cmd, interactive=False, env_names=()):
        return exec_argv(self.container, cmd, self.docker_cli, interactive, env_names)

    def plan(self, cmd, interactive=False, env_names=(), stdin_name=None, stdout_name=None):
        """Record a command without running it (check mode); returns its argv."""
        argv = self.argv(cmd, interactive, env_names)
        line = shlex.join(argv)
        if stdin_name:
            line += ' < ' + shlex.quote(stdin_name)
        if stdout_name:
            line += ' > ' + shlex.quote(stdout_name)
        self.commands.append(line)
        return argv

    def run(self, cmd, stdin=None, stdout=None, env=None, timeout=None):
        argv = self.plan(
            cmd,
            interactive=stdin is not None,
            env_names=sorted(env or {}),
            stdin_name=_file_name(stdin),
            stdout_name=_file_name(stdout),
        )
        return run(argv, stdin=stdin, stdout=stdout, env=env, timeout=timeout)
