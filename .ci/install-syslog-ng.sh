#!/usr/bin/env bash
# Debian's syslog-ng and its http() destination, for the shipper tests (tests/shippers/).
# Idempotent; the package lists are refreshed only when apt does not know a package.
set -euo pipefail
packages=(syslog-ng-core syslog-ng-mod-http)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
for package in "${missing[@]}"; do
    if ! apt-cache show "$package" >/dev/null 2>&1; then
        apt-get update -qq
        break
    fi
done
# The tests run their own syslog-ng in the foreground; the package's system service is not wanted,
# and policy-rc.d's 101 keeps invoke-rc.d from starting it where no init system would stop it.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
fi
status=0
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
if [ "$created_policy" = 1 ]; then
    rm -f "$policy"
fi
if [ "$status" != 0 ]; then
    exit "$status"
fi
syslog-ng --version | head -n 1
