"""bench/README.md's Results section is generated from the committed bench/results/*.json: never out of date."""

import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def test_bench_readme_tables_match_the_committed_results():
    r = subprocess.run([sys.executable, os.path.join(REPO, 'bench', 'report.py'), '--check'],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
