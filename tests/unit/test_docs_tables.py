"""docs/SCALING.md's sizing table is generated from the budget function: never out of date."""

import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def test_scaling_doc_table_matches_the_budget_function():
    r = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'scaling_table.py'), '--check'],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
