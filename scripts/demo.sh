#!/usr/bin/env bash
# Installs everything and starts the identity server with a demo realm on SQLite, plus two demo
# department portals (http://localhost:9001 and http://localhost:9002). Ctrl-C stops all three.
#
# The demo's settings (generated secret key, database, issuer, trust profiles) go to var/demo.env;
# with IDP_ENV_FILE=var/demo.env every idp command works on the demo's database (see README).
# IDP_PORT and DEMO_PORTAL_PORTS (e.g. 9101,9102) move the servers; IDP_DEMO_DIR (default var) holds
# the demo's files. Variables set in the environment win over var/demo.env.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e . -e adapters/python -e adapters/demo_portal

PORT="${IDP_PORT:-8000}"
PORTAL_PORTS="${DEMO_PORTAL_PORTS:-9001,9002}"
mkdir -p "${IDP_DEMO_DIR:-var}"
DIR="$(cd "${IDP_DEMO_DIR:-var}" && pwd)"
ENV_FILE="$DIR/demo.env"

# The secret key is generated once and kept (it also protects the signing keys in the database).
secret="${IDP_SECRET_KEY:-}"
[ -n "$secret" ] || secret="$(sed -n "s/^IDP_SECRET_KEY='\(.*\)'$/\1/p" "$ENV_FILE" 2>/dev/null || true)"
[ -n "$secret" ] || secret="$(cat "$DIR/secret_key" 2>/dev/null || true)"
[ -n "$secret" ] || secret="$(.venv/bin/python -c "import secrets; print(secrets.token_urlsafe(48))")"
(
    umask 077
    cat > "$ENV_FILE" <<EOF
# Settings of the demo, written by scripts/demo.sh. Every idp command reads them when
# IDP_ENV_FILE names this file; a variable set in the environment wins over its line here.
IDP_SECRET_KEY='$secret'
IDP_ISSUER='${IDP_ISSUER:-http://localhost:$PORT}'
IDP_DATABASE_URL='${IDP_DATABASE_URL:-sqlite:///$DIR/demo.db}'
IDP_TRUST_PROFILES_DIR='${IDP_TRUST_PROFILES_DIR:-$DIR/pki/profiles}'
EOF
)
export IDP_ENV_FILE="$ENV_FILE"

# A demo PKI of its own (three CAs with the demo citizen's certificates and private keys), so that
# certificate login can be tried with idp-sign; the committed certs/ hold public parts only.
if [ ! -s "$DIR/pki/profiles/demo-cn.toml" ]; then
    .venv/bin/idp certs demo --out "$DIR/pki/demo" --profiles "$DIR/pki/profiles" >/dev/null
fi
echo "settings: $ENV_FILE (for idp commands: . .venv/bin/activate; export IDP_ENV_FILE=$ENV_FILE)"
echo "certificate login: .venv/bin/idp-sign --p12 $DIR/pki/demo/private/demo-cn/person.p12 --challenge '<challenge shown on the login page>' (its password: demo)"
exec .venv/bin/idp demo --host localhost --port "$PORT" --portal-ports "$PORTAL_PORTS"
