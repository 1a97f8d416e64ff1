#!/usr/bin/python
# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: pg_tuning_report
short_description: Write the pg_tuning role's report (Markdown, JSON, PNG chart) into a directory
version_added: 0.2.0
author: n8n_ops maintainers (!UNKNOWN)
description:
  - Writes C(report.json) (the data as given), C(report.md) (tables per gated step rendered from it) and, when
    O(chart) is given, C(report.png) into O(dest).
  - Over M(ansible.builtin.copy) it adds the Markdown rendering, a binary file from base64 (the chart is drawn on the
    controller, where the plotting library is) and atomic writes (temporary name, fsync, rename), so a report is
    either the old one or the new one, never half of each.
options:
  dest:
    description: Directory the files go into (it must exist), usually the run's snapshot directory.
    type: path
    required: true
  report:
    description:
      - The report - C(title), C(bench) (rounds, max_rounds, duration, clients, noise_floor, alpha), C(steps) (each
        with C(name), C(changes), C(switch), C(gate) as the C(pg_tuning_gate) filter returns it - verdict, p-values
        and intervals per workload and measure - C(kept), C(note)) and C(settings).
    type: dict
    required: true
  chart:
    description: PNG image, base64-encoded (the C(pg_tuning_chart) filter's output). Empty - no chart file.
    type: str
    default: ""
  mode:
    description: Mode of the files.
    type: raw
    default: "0640"
notes:
  - In check mode nothing is written; RV(files) lists what would be.
'''

EXAMPLES = r'''
- name: Write the report next to the snapshot
  n8n_ops.stack.pg_tuning_report:
    dest: /opt/n8n/pg_tuning/snapshots/20261126T101500Z
    report: "{{ pg_tuning_report }}"
    chart: "{{ pg_tuning_report | n8n_ops.stack.pg_tuning_chart }}"
'''

RETURN = r'''
files:
  description: Paths written (or that would be, in check mode).
  returned: always
  type: list
  elements: str
summary:
  description: One line per gated step (kept or reverted, the verdict and its rounds, change per workload), as the play prints it.
  returned: always
  type: list
  elements: str
'''

import base64
import binascii
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.n8n_ops.stack.plugins.module_utils import fileutil, pg_tuning


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type='path', required=True),
            report=dict(type='dict', required=True),
            chart=dict(type='str', default=''),
            mode=dict(type='raw', default='0640'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not os.path.isdir(p['dest']):
        module.fail_json(msg='dest %s is not a directory' % p['dest'])
    try:
        mode = int(str(p['mode']), 8)
    except ValueError:
        module.fail_json(msg='mode must be octal like 0640, got %r' % p['mode'])
    try:
        files = {'report.json': (json.dumps(p['report'], indent=2, sort_keys=True) + '\n').encode(),
                 'report.md': (pg_tuning.report_markdown(p['report']) + '\n').encode()}
        if p['chart']:
            files['report.png'] = base64.b64decode(p['chart'], validate=True)
        summary = pg_tuning.report_summary(p['report'])
    except (KeyError, TypeError, ValueError, binascii.Error) as e:
        module.fail_json(msg='the report is incomplete or the chart is not base64: %s' % e)
    paths = [os.path.join(p['dest'], name) for name in sorted(files)]
    if not module.check_mode:
        for name, data in files.items():
            fileutil.atomic_write_bytes(os.path.join(p['dest'], name), data, mode)
    module.exit_json(changed=True, files=paths, summary=summary)


if __name__ == '__main__':
    main()
