# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Call one webhook URL COUNT times from PARALLEL threads (stdlib only; runs on the Docker host).

Prints one JSON object: {"sent", "statuses": {code: n}, "retried_404", "seconds", "per_second"}; exits 1 when any
call did not answer 2xx. Used by the stack's check_queue entry point to queue a burst of executions at once.
Right after a workflow is activated n8n may still answer 404 for its webhook (seen on a loaded 2-core box); a 404
starts no execution, so such a call is repeated until REGISTER_WAIT seconds after the start.
"""
import json
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor


REGISTER_WAIT = 60
retried = Counter()


def call_once(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError) as exc:
        return 'error: %s' % exc


def call(url, deadline):
    status = call_once(url)
    while status == 404 and time.monotonic() < deadline:
        retried['404'] += 1
        time.sleep(0.5)
        status = call_once(url)
    return status


def main(url, count, parallel):
    started = time.monotonic()
    deadline = started + REGISTER_WAIT
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        statuses = Counter(str(s) for s in pool.map(lambda u: call(u, deadline), [url] * count))
    seconds = time.monotonic() - started
    print(json.dumps(dict(sent=count, statuses=statuses, retried_404=retried['404'], seconds=round(seconds, 3),
                          per_second=round(count / seconds, 2) if seconds else None)))
    return 0 if all(s.startswith('2') for s in statuses) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 8))
