#!/usr/bin/env bash
# Makes (once) the Python venv that tests use as a real outside client — grpcio,
# grpcio-health-checking, tritonclient — and prints its python path. Cached in .build/pyvenv;
# rebuilt when Tests/requirements.txt changes.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VISIONFLEET_PYVENV:-.build/pyvenv}
REQ=Tests/requirements.txt
STAMP="$VENV/.requirements.sha256"
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ" >&2
  echo "$want" > "$STAMP"
fi
echo "$(cd "$VENV" && pwd)/bin/python"
