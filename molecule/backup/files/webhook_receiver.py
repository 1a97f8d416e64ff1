"""Test-only alert receiver on the test host's loopback: appends each POST body (one JSON line) to a file."""
import http.server
import json
import sys

PORT, OUT = int(sys.argv[1]), sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get('Content-Length', 0))).decode('utf-8', 'replace')
        with open(OUT, 'a', encoding='utf-8') as f:
            f.write(json.dumps({'path': self.path, 'content_type': self.headers.get('Content-Type'), 'body': body}) + '\n')
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.HTTPServer(('127.0.0.1', PORT), Handler).serve_forever()
