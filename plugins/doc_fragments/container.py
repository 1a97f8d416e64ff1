# SPDX-License-Identifier: MIT (see LICENSE)
from __future__ import annotations


class ModuleDocFragment:
    # Options of the modules that work inside a running stack container (module_utils/docker_exec.py).
    DOCUMENTATION = r'''
options:
  container:
    description: Name or id of the running container to work in (C(docker compose ps) shows it).
    type: str
    required: true
  docker_cli:
    description: The docker command line client to run.
    type: str
    default: docker
'''
