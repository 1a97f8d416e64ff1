# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Call one webhook URL COUNT times from PARALLEL threads (stdlib only; runs on the Docker host).

Prints one JSON object: {"sent", "statuses": {code: n}, "seconds", "per_second"}; exits 1 when any call did not
answer 2xx. Used by the stack's check_queue entry point to queue a burst of executions at once.
"""
import json
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor


def call(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError) as exc:
        return 'error: %s' % exc


def main(url, count, parallel):
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        statuses = Counter(str(s) for s in pool.map(call, [url] * count))
    seconds = time.monotonic() - started
    print(json.dumps(dict(sent=count, statuses=statuses, seconds=round(seconds, 3),
                          per_second=round(count / seconds, 2) if seconds else None)))
    return 0 if all(s.startswith('2') for s in statuses) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 8))
