#!/usr/bin/env bash
# bench.sh: `./build.sh bench [--quick] [options]` (build.sh passes --module).
#
# Installs what the bench needs beyond `./build.sh deps` (Debian's wrk,
# valgrind and libapache2-mod-auth-openidc), then runs tests/bench/bench.mjs:
# plain Apache, mod_auth_oauth2 and mod_auth_openidc side by side on loopback
# (throughput with 1 / 10,000 / 100,000 sessions, instructions per request
# under callgrind). Prints the tables and writes them to build/bench-results.md.
#
#   --quick          under two minutes: 1 and 2,000 sessions, 2 rounds x 1 s
#   (default: full)  1, 10,000 and 100,000 sessions, 7 rounds x 5 s (~30 min)
#   --sessions 1,500 --rounds N --seconds S --no-callgrind --no-wrk
#   --no-openidc --out FILE    see the top of bench.mjs
#
# Every server it starts is stopped at the end, on failure and on Ctrl-C.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

PACKAGES=(wrk valgrind libapache2-mod-auth-openidc)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    printf '\033[1m== installing Debian packages: %s\033[0m\n' "${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The package enables the module in Debian's own apache2 config; the bench
# uses its own configs and never that one.

cd "$TOP"
# node handles SIGINT/SIGTERM itself and stops every server it started; the
# servers also get SIGTERM/SIGKILL from the kernel if node dies (pdeathsig).
exec node "$HERE/bench.mjs" "$@"
