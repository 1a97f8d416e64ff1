"""Stand-in for get-pip.py used by `ansible-test --venv`: bootstrap pip from ensurepip, then pip install ARGS."""
import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + sys.argv[1:]))
