#!/bin/bash
# Run once by the postgres image when it creates the primary's data directory: let the standby
# (same network, same user) open a replication connection with a password.
set -euo pipefail
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "${PGDATA}/pg_hba.conf"
