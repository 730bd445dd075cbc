#!/usr/bin/env bash
# package-test.sh DEB: the Debian package on this machine, from install to
# purge (./build.sh package-test builds DEB and runs this, as root).
#
#   1. refuses to start unless the machine has no trace of the module (no
#      package, no files of ./build.sh install, a2query knows no
#      auth_oauth2) and the system's own Apache is not running (installing
#      a module restarts it);
#   2. dpkg -i DEB: the maintainer scripts enable the module (a2query), the
#      system Apache's configuration loads it (apache2ctl -t -D
#      DUMP_MODULES), the .so is stripped and its debug symbols are in the
#      -dbgsym package under its build id;
#   3. a login through the installed module (installed.test.mjs: the real
#      apache2 with a generated config that Includes the enabled .load and
#      .conf);
#   4. dpkg --remove: a2query says the maintainer script disabled it, only
#      the conffiles stay; dpkg --purge: no trace left, the files under
#      /etc/apache2, /usr/lib/apache2 and /var/lib/apache2 as before.
#
# Whatever fails, the EXIT trap purges the package: it is never left
# installed or half-installed.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PKG=libapache2-mod-auth-oauth2
SO=/usr/lib/apache2/modules/mod_auth_oauth2.so
DEB=${1:?usage: package-test.sh PATH/TO/${PKG}_VERSION_ARCH.deb}
DBGSYM=$(dirname "$DEB")/$(basename "$DEB" | sed "s/^${PKG}_/${PKG}-dbgsym_/")
PASSED=0
FAILED=0
WORK=$(mktemp -d)

say() { printf '\033[1m== %s\033[0m\n' "$*"; }
die() { printf 'package-test: %s\n' "$*" >&2; exit 1; }
ok() { PASSED=$((PASSED + 1)); printf 'ok - %s\n' "$*"; }
not_ok() { FAILED=$((FAILED + 1)); printf 'not ok - %s\n' "$*"; }
# check DESCRIPTION COMMAND...: one assertion.
check() {
    local what=$1; shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}

status() { dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null || true; }
present() { local st; st=$(status); [ -n "$st" ] && [ "${st##* }" != not-installed ]; }

# a2query's answer for the module: its exit status (0 enabled, 1 unknown,
# 32 disabled by the admin, 33 disabled by a maintainer script) and words.
a2q() {
    local rc=0 out
    out=$(a2query -m auth_oauth2 2>&1) || rc=$?
    printf '%s %s' "$rc" "$out"
}

# The files the package touches, and the enable/disable state a2enmod
# keeps: compared before install and after purge.
snapshot() {
    find /etc/apache2 /usr/lib/apache2 /var/lib/apache2 \
        -printf '%p %y %m %l\n' 2>/dev/null | LC_ALL=C sort
}

# a2dismod (in the maintainer scripts, as for any module package) leaves
# its state directories behind, empty: apache2's, not the package's. Those
# that were not there before go, so that the machine is as it was.
restore_state_dirs() {
    local d
    [ -f "$WORK/before" ] || return 0
    for d in /var/lib/apache2/module/{enabled,disabled}_by_{admin,maint}; do
        if [ -d "$d" ] && ! grep -q "^$d d " "$WORK/before"; then
            rmdir "$d" && echo "note: removed a2dismod's empty state directory $d"
        fi
    done
}

cleanup() {
    local rc=$?
    if present; then
        echo "package-test: purging $PKG ($(status)) on the way out" >&2
        dpkg --purge "$PKG" >&2 || dpkg --purge --force-remove-reinstreq "$PKG" >&2 || true
        if present; then
            echo "package-test: $PKG is still there: dpkg --purge --force-all $PKG" >&2
        else
            restore_state_dirs >&2 || true
        fi
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "run as root (it installs and purges $PKG)"
[ -f "$DEB" ] || die "no package at $DEB"
[ -f "$DBGSYM" ] || die "no debug symbols package at $DBGSYM"

say "the machine before: no trace of the module"
present && die "$PKG is installed ($(status)): the test would change it; remove it first"
for f in "$SO" /etc/apache2/mods-available/auth_oauth2.load /etc/apache2/mods-available/auth_oauth2.conf \
    /etc/apache2/mods-enabled/auth_oauth2.load /usr/share/doc/$PKG; do
    if [ -e "$f" ] || [ -L "$f" ]; then
        die "$f exists (./build.sh install?): run ./build.sh uninstall first"
    fi
done
[ "$(a2q)" = "1 No module matches auth_oauth2" ] || die "a2query knows auth_oauth2 already: $(a2q)"
# shellcheck source=/dev/null
pidfile=$(set +u; . /etc/apache2/envvars && echo "$APACHE_PID_FILE")
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    die "the system Apache is running (pid $(cat "$pidfile")): installing the module would restart it"
fi
snapshot > "$WORK/before"
ok "no package, no module files, a2query: $(a2q | cut -d' ' -f2-)"

say "dpkg -i $(basename "$DEB")"
dpkg -i "$DEB"
check "dpkg: $(status)" [ "$(status)" = "install ok installed" ]
check "a2query after install: $(a2q)" [ "$(a2q)" = "0 auth_oauth2 (enabled by maintainer script)" ]
check "mods-enabled links the package's .load and .conf" bash -c \
    "[ \"\$(readlink /etc/apache2/mods-enabled/auth_oauth2.load)\" = ../mods-available/auth_oauth2.load ] \
    && [ \"\$(readlink /etc/apache2/mods-enabled/auth_oauth2.conf)\" = ../mods-available/auth_oauth2.conf ]"
check "the examples are where auth_oauth2.conf says" bash -c \
    "grep -q '^# /usr/share/doc/$PKG/examples ' /etc/apache2/mods-available/auth_oauth2.conf \
    && [ -f /usr/share/doc/$PKG/examples/google.conf ]"
modules=$(apache2ctl -t -D DUMP_MODULES 2>&1 || true)
check "the system Apache's configuration loads it: $(grep -o 'auth_oauth2_module ([a-z]*)' <<<"$modules" || echo "${modules##*$'\n'}")" \
    grep -q 'auth_oauth2_module (shared)' <<<"$modules"
check "the installed .so has no debug sections" \
    bash -c "! readelf -S '$SO' | grep -q -e '\.debug_info' -e ' \.symtab'"
buildid=$(readelf -n "$SO" | awk '/Build ID/ { print $3 }')
dpkg-deb -x "$DBGSYM" "$WORK/dbgsym"
debug="$WORK/dbgsym/usr/lib/debug/.build-id/${buildid:0:2}/${buildid:2}.debug"
check "its debug symbols are in $(basename "$DBGSYM") under build id $buildid" \
    bash -c "[ -n '$buildid' ] && readelf -S '$debug' | grep -q '\.debug_info'"

say "a login through the installed module (tests/package/installed.test.mjs)"
if (cd "$TOP" && node --test --test-concurrency=1 --test-reporter=spec tests/package/installed.test.mjs); then
    ok "installed.test.mjs"
else
    not_ok "installed.test.mjs"
fi

say "dpkg --remove $PKG"
dpkg --remove "$PKG"
check "dpkg: $(status) (the conffiles stay)" [ "$(status)" = "deinstall ok config-files" ]
check "a2query after removal: $(a2q)" [ "$(a2q)" = "33 No module matches auth_oauth2 (disabled by maintainer script)" ]
check "no module file, no mods-enabled link" \
    bash -c "[ ! -e '$SO' ] && [ ! -L /etc/apache2/mods-enabled/auth_oauth2.load ] && [ ! -L /etc/apache2/mods-enabled/auth_oauth2.conf ]"

say "dpkg --purge $PKG"
dpkg --purge "$PKG"
check "dpkg: no $PKG" bash -c "! dpkg-query -W '$PKG' >/dev/null 2>&1"
check "a2query after purge: $(a2q)" [ "$(a2q)" = "1 No module matches auth_oauth2" ]
restore_state_dirs
snapshot > "$WORK/after"
if diff -u "$WORK/before" "$WORK/after"; then
    ok "/etc/apache2, /usr/lib/apache2 and /var/lib/apache2 as they were"
else
    not_ok "/etc/apache2, /usr/lib/apache2 and /var/lib/apache2 as they were (diff above)"
fi
check "no /usr/share/doc/$PKG" [ ! -e /usr/share/doc/$PKG ]

echo "package-test: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
