#!/usr/bin/env python
"""Where a Molecule scenario's time goes: seconds per phase (create, converge, idempotence, verify, ...).

Reads the scenario's output (ANSI colours allowed): molecule's "<scenario> ➜ <phase>: Executing" lines mark the
phases, and the profile_tasks callback's "(0:00:01.234)  0:05:03.210" lines carry each playbook's elapsed time;
a phase's time is the last elapsed value printed in it. Usage: phase_times.py LOG... -> "scenario phase seconds".
"""
import re
import sys

PHASE = re.compile(r'(\w+) \S+ (\w+): Executing')
ELAPSED = re.compile(r'\(\d+:\d\d:\d\d\.\d+\)\s+(\d+):(\d\d):(\d\d)\.\d+')
COLOUR = re.compile(r'\x1b\[[0-9;]*m')


def phase_times(lines):
    """[(scenario, phase, seconds)] in order; a phase that ran no task (syntax, a skipped step) is left out."""
    rows, current = [], None
    for line in lines:
        line = COLOUR.sub('', line)
        phase = PHASE.search(line)
        if phase:
            current = [phase.group(1), phase.group(2), None]
            rows.append(current)
            continue
        elapsed = ELAPSED.search(line)
        if elapsed and current is not None:
            hours, minutes, seconds = (int(value) for value in elapsed.groups())
            current[2] = hours * 3600 + minutes * 60 + seconds
    return [tuple(row) for row in rows if row[2] is not None]


def main(paths):
    for path in paths:
        with open(path, errors='replace') as log:
            for scenario, phase, seconds in phase_times(log):
                print('%s %s %d' % (scenario, phase, seconds))


if __name__ == '__main__':
    main(sys.argv[1:])
