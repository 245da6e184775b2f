#!/usr/bin/env bash
# Installs everything and starts the identity server with a demo realm on SQLite, plus two demo
# department portals (http://localhost:9001 and http://localhost:9002). Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e . -e adapters/python -e adapters/demo_portal

mkdir -p var
[ -s var/secret_key ] || .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(48))" > var/secret_key
export IDP_SECRET_KEY="${IDP_SECRET_KEY:-$(cat var/secret_key)}"
export IDP_ISSUER="${IDP_ISSUER:-http://localhost:8000}"
export IDP_DATABASE_URL="${IDP_DATABASE_URL:-sqlite:///var/demo.db}"
# A demo PKI of its own (three CAs with the demo citizen's certificates and private keys), so that
# certificate login can be tried with idp-sign; the committed certs/ hold public parts only.
if [ ! -s var/pki/profiles/demo-cn.toml ]; then
    .venv/bin/idp certs demo --out var/pki/demo --profiles var/pki/profiles >/dev/null
fi
export IDP_TRUST_PROFILES_DIR="${IDP_TRUST_PROFILES_DIR:-var/pki/profiles}"
echo "certificate login: .venv/bin/idp-sign --p12 var/pki/demo/private/demo-cn/person.p12 --password demo --challenge '<challenge shown on the login page>'"
exec .venv/bin/idp demo --host localhost --port "${IDP_PORT:-8000}"
