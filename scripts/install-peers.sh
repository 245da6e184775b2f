#!/usr/bin/env bash
# Installs the third-party peers the interop tests (tests/interop) drive, on a Debian machine:
# Chromium, nginx, Apache with mod_auth_openidc, mod_auth_cas and
# mod_auth_mellon, xmlsec1 (which signs SAML messages), Node.js with npm, and the npm
# packages pinned in tests/interop/node/package-lock.json.
#
# Idempotent: packages already installed are left alone and `apt-get update` runs only when something
# is missing. No system service is started or enabled; the tests start nginx and Apache themselves on
# loopback ports with their own configuration. Without root, missing packages are listed and the
# script goes on; the tests that need them then skip and say why.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_DIR="$ROOT/tests/interop/node"
PACKAGES=(chromium nginx apache2 libapache2-mod-auth-openidc libapache2-mod-auth-cas
          libapache2-mod-auth-mellon xmlsec1 nodejs npm
          fonts-wqy-zenhei    # the font makes Chinese text readable in the browser test's screenshots
          wrk)                # the HTTP load generator of the benchmarks in bench/
status=0

log() { printf 'install-peers: %s\n' "$*" >&2; }

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

# A Node.js from elsewhere (e.g. a nodejs package that bundles npm, which conflicts with Debian's npm)
# counts as present when its commands work.
present() {
    case "$1" in
        nodejs) installed nodejs || command -v node >/dev/null 2>&1 ;;
        npm) installed npm || command -v npm >/dev/null 2>&1 ;;
        *) installed "$1" ;;
    esac
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    present "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    log "Debian packages present: ${PACKAGES[*]}"
elif [[ $(id -u) -ne 0 ]]; then
    log "not root; missing Debian packages (the tests needing them will skip): ${missing[*]}"
else
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Keep package scripts from starting services (nginx, apache2) during installation.
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
    fi
    if apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; then
        log "installed: ${missing[*]}"
    else
        log "apt-get failed for: ${missing[*]}"
        status=1
    fi
    ((created_policy)) && rm -f "$policy"
    # Packages whose maintainer scripts ran services anyway under systemd-less containers: stop only
    # what this installation started.
    for svc in nginx apache2; do
        if [[ " ${missing[*]} " == *" $svc "* ]] && command -v service >/dev/null 2>&1 \
                && service "$svc" status >/dev/null 2>&1; then
            service "$svc" stop >/dev/null 2>&1 || true
        fi
    done
fi

if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
    # Up to date when every package of the lock file is installed at its locked version.
    if (cd "$NODE_DIR" && node -e '
            const fs = require("fs");
            const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
            for (const [path, meta] of Object.entries(lock.packages || {})) {
              if (!path) continue;
              let version;
              try { version = JSON.parse(fs.readFileSync(path + "/package.json", "utf8")).version } catch { process.exit(1) }
              if (version !== meta.version) process.exit(1);
            }' 2>/dev/null); then
        log "npm packages in tests/interop/node are up to date"
    else
        log "npm ci in tests/interop/node"
        (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || { log "npm ci failed"; status=1; }
    fi
else
    log "node/npm not available; the openid-client and express-openid-connect interop tests will skip"
fi

exit "$status"
