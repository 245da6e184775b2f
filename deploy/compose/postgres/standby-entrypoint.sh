#!/bin/bash
# A hot standby: on first start, copy the primary (pg_basebackup -R writes standby.signal and the
# connection to follow), then run postgres. PGPASSWORD comes from the environment.
set -euo pipefail
if [ ! -s "${PGDATA}/PG_VERSION" ]; then
    until pg_basebackup --host=postgres --username=idp --pgdata="${PGDATA}" --write-recovery-conf \
            --wal-method=stream --checkpoint=fast; do
        echo "waiting for the primary"; sleep 2
    done
    chmod 0700 "${PGDATA}"
fi
exec postgres -c hot_standby=on
