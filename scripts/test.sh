#!/usr/bin/env bash
# Installs everything the test suite needs (Python packages, the adapters, the third-party peers)
# and runs the whole suite. Extra arguments go to pytest, e.g. `scripts/test.sh -k sso`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -e '.[test]' -e adapters/python -e adapters/demo_portal -e adapters/gateway
bash scripts/install-peers.sh

exec .venv/bin/python -m pytest "$@"
