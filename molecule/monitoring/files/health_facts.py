"""Test-only, on the test host: after a health check run, print JSON with every check's state (from the textfile),
the checks whose state changed since the last call, the alerts received since the last call, running totals of
both (one alert per state change), the remediation actions and the run's output."""
import json
import re

STATE, MEMO, HOOKS = '/var/lib/n8n_ops/monitoring', '/root/health_memo.json', '/root/hooks.jsonl'


def read(path, default):
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except FileNotFoundError:
        return default


checks = {m.group(1): m.group(2) == '1' for m in re.finditer(r'^n8n_ops_check_ok\{check="(.*)"\} ([01])$',
                                                             read(STATE + '/n8n_ops.prom', ''), re.M)}
memo = json.loads(read(MEMO, '{"checks": {}, "hooks": 0, "changes": 0}'))
hooks = [json.loads(json.loads(line)['body']) for line in read(HOOKS, '').splitlines() if line.strip()]
changed = sorted(c for c in checks if memo['checks'].get(c, True) != checks[c])
memo = dict(checks=dict(memo['checks'], **checks), hooks=len(hooks), changes=memo['changes'] + len(changed),
            previous_hooks=memo['hooks'])
with open(MEMO, 'w', encoding='utf-8') as f:
    json.dump(memo, f)
print(json.dumps(dict(
    red=sorted(c for c, ok in checks.items() if not ok), changed=changed, alerts=hooks[memo['previous_hooks']:],
    hooks_total=len(hooks), changes_total=memo['changes'],
    actions=json.loads(read(STATE + '/state.json', '{}')).get('actions', []),
    log=read(STATE + '/last-run.log', '')[-8000:])))
