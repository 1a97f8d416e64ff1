#!/bin/sh
# Same contract as the official image: arguments go to n8n (`worker`, `import:workflow ...`).
if [ "$#" -gt 0 ]; then
  exec n8n "$@"
fi
exec n8n
