#!/usr/bin/env bash
# Start the machine's PostgreSQL cluster and let root in over the socket (idempotent).
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "Installing PostgreSQL from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version=$(pg_lsclusters --no-header | awk 'NR==1 {print $1}')
cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $2}')
if [ -z "$version" ]; then
    echo "No PostgreSQL cluster found" >&2
    exit 1
fi
if ! pg_lsclusters --no-header | awk 'NR==1 {print $4}' | grep -q online; then
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
fi
for _ in $(seq 1 30); do
    su postgres -c "pg_isready -q" && break
    sleep 1
done
su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='root'\"" | grep -q 1 \
    || su postgres -c "createuser -s root"
psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='dataproc'" | grep -q 1 \
    || createdb dataproc
echo "PostgreSQL $version/$cluster is up: DATABASE_URL=postgres:///dataproc"
