"""Stand-in for get-pip.py used by `ansible-test --venv`: bootstrap pip from ensurepip, then pip install ARGS.

get-pip.py's own options (--no-setuptools, --no-wheel) mean "do not install those": simply not passing them on
to pip does the same.
"""
import ensurepip
import os
import subprocess
import sys

env = os.environ.copy()  # ensurepip drops PIP_* and the pip config files (the CA setting with them)
ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args, env=env))
