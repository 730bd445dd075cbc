#!/usr/bin/env bash
# build.sh: one entry point for users, developers and CI.
#
#   ./build.sh deps      install what is missing (Debian packages, npm ci)
#   ./build.sh build     configure and compile into build/ (module: build/.libs)
#   ./build.sh test      deps + build + every unit and integration test
#   ./build.sh demo      deps + build + Apache on http://127.0.0.1:8080 in front
#                        of a demo backend, with a local OpenID Provider
#   ./build.sh install   install the module, its .load/.conf and the examples
#                        the way apxs and a2enmod expect (make install)
#   ./build.sh uninstall take them away again (make uninstall)
#   ./build.sh package   the Debian package libapache2-mod-auth-oauth2, built
#                        in build-deb/ (dpkg-buildpackage, then lintian)
#   ./build.sh package-test  build the package, install it into this machine's
#                        Apache, log in through it, purge it (needs root)
#   ./build.sh bench     throughput and instruction counts (see README)
#   ./build.sh fuzz [S]  run every libFuzzer target for S seconds (default 60)
#   ./build.sh soak      the shm table's kill test (writers SIGKILLed at random
#                        for 180 s), then 200,000 requests with logins/logouts/
#                        expiries mixed in: errors, memory and store consistency
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$TOP"
BUILD="$TOP/build"

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# Debian packages the build, the tests and the demo need (prometheus for
# its promtool, which checks the oauth2-status output).
DEB_PACKAGES=(apache2 apache2-dev libssl-dev libcurl4-openssl-dev libjson-c-dev
    libcmocka-dev autoconf automake libtool pkg-config make gcc clang
    chromium redis-server memcached nodejs npm curl ca-certificates prometheus)

# What ./build.sh package needs besides (a list of its own, so that the
# test command installs nothing more): debian/control's Build-Depends and
# the tools that build and check a package.
PACKAGE_DEB_PACKAGES=(dpkg-dev debhelper fakeroot lintian git gcc make
    apache2-dev libssl-dev libcurl4-openssl-dev libjson-c-dev libcmocka-dev
    pkg-config autoconf automake libtool)
DEB_NAME=libapache2-mod-auth-oauth2
DEB_OUT="$TOP/build-deb"

missing_packages() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || printf '%s\n' "$p"
    done
}

apt_install() {
    local missing sudo=""
    missing=$(missing_packages "$@")
    # nodejs/npm may come from elsewhere (nodesource); skip them if present.
    if command -v node >/dev/null && command -v npm >/dev/null; then
        missing=$(printf '%s\n' $missing | grep -vx -e nodejs -e npm || true)
    fi
    [ -z "$missing" ] && return 0
    log "installing Debian packages: $(echo $missing)"
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
}

# The tests and the demo run on Node.js 18.19 or later: Debian 12's own
# nodejs (18.20) works (tests/integration/lib/node-compat.mjs supplies the
# few newer calls the test provider makes).
check_node() {
    local v major minor
    v=$(node -p 'process.versions.node' 2>/dev/null) \
        || die "node does not run: install Debian's nodejs and npm (apt-get install nodejs npm)"
    major=${v%%.*}
    minor=${v#*.}
    minor=${minor%%.*}
    if [ "$major" -lt 18 ] || { [ "$major" -eq 18 ] && [ "$minor" -lt 19 ]; }; then
        die "Node.js $v is too old for the tests and the demo: 18.19 or later is needed (Debian 12's nodejs package is 18.20: apt-get install nodejs npm)"
    fi
    command -v npm >/dev/null || die "npm is missing: apt-get install npm"
}

cmd_deps() {
    apt_install "${DEB_PACKAGES[@]}"
    check_node
    # A symlinked node_modules (a developer's second work tree sharing one
    # install) is left alone: npm ci would empty what it points at.
    if [ -L tests/node_modules ]; then
        :
    elif [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
        log "npm ci (tests/)"
        (cd tests && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

# configure_build DIR [configure args...]: an out-of-tree build in DIR.
configure_build() {
    local dir=$1; shift
    if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
        log "autoreconf"
        mkdir -p m4
        autoreconf -fi >/dev/null
    fi
    mkdir -p "$dir"
    # Configured anew when configure changed or the arguments differ.
    if [ ! -f "$dir/Makefile" ] || [ configure -nt "$dir/config.status" ] \
        || [ "$(cat "$dir/.configure-args" 2>/dev/null)" != "$*" ]; then
        log "configure ($dir) $*"
        (cd "$dir" && "$TOP/configure" --quiet "$@")
        printf '%s' "$*" > "$dir/.configure-args"
    fi
}

# build [configure args...]: the module in build/. Users build without
# -Werror (a newer compiler's new warning must not break them); the test
# command and CI build with --enable-werror.
cmd_build() {
    configure_build "$BUILD" "$@"
    log "make"
    make -C "$BUILD" -j"$(nproc)" >/dev/null
    log "built $BUILD/.libs/mod_auth_oauth2.so"
}

cmd_unit() {
    log "unit tests (cmocka)"
    if ! make -C "$BUILD" -j"$(nproc)" check >/dev/null; then
        cat "$BUILD"/tests/unit/*.log 2>/dev/null | grep -v '^\[ *\(RUN\|OK\) ' | tail -80 >&2
        die "unit tests failed"
    fi
    local n
    n=$(cat "$BUILD"/tests/unit/*.trs 2>/dev/null | grep -c '^:test-result: PASS' || true)
    log "$n unit test programs passed"
}

cmd_integration() {
    local so=${1:-$BUILD/.libs/mod_auth_oauth2.so}
    log "integration tests (node:test, apache2 + oidc-provider) with $so"
    MOD_AUTH_OAUTH2_SO="$so" node --test --test-concurrency=1 \
        --test-reporter=spec tests/integration/
}

# The shm session table's kill test for longer than the unit tests run it:
# writers SIGKILLed at random points, the table audited after each round.
cmd_shm_kill() {
    local secs=${OAUTH2_SHM_KILL_SECONDS:-180}
    log "shm table: writers killed at random points for $secs s"
    make -C "$BUILD" tests/unit/test_store_shm >/dev/null
    OAUTH2_SHM_KILL_SECONDS=$secs "$BUILD/tests/unit/test_store_shm"
}

cmd_fuzz_replay() {
    log "fuzz corpus replay (libFuzzer, ASan+UBSan)"
    tests/fuzz/fuzz.sh replay
}

cmd_test() {
    cmd_deps
    cmd_build --enable-werror
    cmd_unit
    cmd_fuzz_replay
    cmd_integration
    log "integration tests again under ASan+UBSan (build-asan/)"
    tests/sanitize.sh
    log "all tests passed"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Whether the Debian package is on this machine (in any state but gone).
package_present() {
    local st
    st=$(dpkg-query -W -f='${Status}' "$DEB_NAME" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st##* }" != not-installed ]
}

# make install: the .so into apxs's LIBEXECDIR, the .load/.conf into
# mods-available, the examples into /usr/share/doc (see Makefile.am).
cmd_install() {
    package_present && die "the Debian package $DEB_NAME is installed: its files are dpkg's (apt-get remove it first, or install a newer package from ./build.sh package)"
    cmd_build
    log "make install"
    as_root make -s -C "$BUILD" install
    if [ -d /etc/apache2/mods-available ]; then
        if [ -L /etc/apache2/mods-enabled/auth_oauth2.load ]; then
            log "installed; reload Apache: systemctl reload apache2"
        else
            log "installed; enable with: a2enmod auth_oauth2 && systemctl restart apache2"
        fi
    fi
}

cmd_uninstall() {
    package_present && die "the Debian package $DEB_NAME is installed: remove it with apt-get remove $DEB_NAME"
    configure_build "$BUILD"
    log "make uninstall"
    as_root make -s -C "$BUILD" uninstall
    log "uninstalled"
}

# copy_tree DIR: the files git tracks, as they are in the work tree
# (uncommitted edits included; files not added to git left out), so that
# a package build leaves the work tree as it was. Outside a git checkout
# (a release tarball), the tree less its build directories.
copy_tree() {
    local dest=$1
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z | while IFS= read -r -d '' f; do
            if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
        done | tar --null --no-recursion -T - -cf - | tar -xf - -C "$dest"
    else
        tar --exclude=./build --exclude='./build-*' --exclude=./tests/node_modules \
            --exclude=./autom4te.cache -cf - . | tar -xf - -C "$dest"
    fi
}

# The version is AC_INIT's; debian/changelog must have an entry for it.
check_deb_version() {
    local ac deb
    ac=$(sed -n 's/^AC_INIT(\[mod_auth_oauth2\], \[\([^]]*\)\].*/\1/p' configure.ac)
    deb=$(dpkg-parsechangelog -l debian/changelog -S Version)
    [ "${deb%-*}" = "$ac" ] \
        || die "configure.ac says $ac but debian/changelog $deb: add a debian/changelog entry for $ac"
}

cmd_package() {
    apt_install "${PACKAGE_DEB_PACKAGES[@]}"
    check_deb_version
    local version src
    version=$(dpkg-parsechangelog -l debian/changelog -S Version)
    src="$DEB_OUT/$DEB_NAME-${version%-*}"
    rm -rf "$DEB_OUT"
    mkdir -p "$src"
    copy_tree "$src"
    log "dpkg-buildpackage -b -us -uc in $src (log: $DEB_OUT/build.log)"
    if ! (cd "$src" && DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
        dpkg-buildpackage -b -us -uc) >"$DEB_OUT/build.log" 2>&1; then
        tail -n 40 "$DEB_OUT/build.log" >&2
        die "the package build failed (whole log: $DEB_OUT/build.log)"
    fi
    log "lintian"
    local changes=("$DEB_OUT"/*.changes)
    # lintian refuses to be comfortable as root: it reads the files as nobody.
    if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null; then
        chmod -R a+rX "$DEB_OUT"
        runuser -u nobody -- lintian --fail-on error "${changes[@]}" \
            || die "lintian found errors"
    else
        lintian --fail-on error "${changes[@]}" || die "lintian found errors"
    fi
    log "built $DEB_OUT/${DEB_NAME}_${version}_$(dpkg --print-architecture).deb"
    ls -1 "$DEB_OUT"/*.deb >&2
}

cmd_package_test() {
    [ "$(id -u)" -eq 0 ] || die "package-test installs a package into this machine: run it as root"
    cmd_deps
    cmd_package
    local version
    version=$(dpkg-parsechangelog -l debian/changelog -S Version)
    tests/package/package-test.sh \
        "$DEB_OUT/${DEB_NAME}_${version}_$(dpkg --print-architecture).deb"
}

cmd_demo() {
    cmd_deps
    cmd_build
    exec node tests/demo/demo.mjs --module "$BUILD/.libs/mod_auth_oauth2.so" "$@"
}

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-0}"; }

case "${1:-}" in
deps) cmd_deps ;;
build) cmd_build ;;
test) cmd_test ;;
unit) cmd_build --enable-werror; cmd_unit ;;
integration) cmd_build --enable-werror; shift; cmd_integration "$@" ;;
demo) shift; cmd_demo "$@" ;;
install) cmd_install ;;
uninstall) cmd_uninstall ;;
package) cmd_package ;;
package-test) cmd_package_test ;;
fuzz) cmd_deps; tests/fuzz/fuzz.sh run "${2:-60}" ;;
soak) cmd_deps; cmd_build; cmd_shm_kill; node tests/soak/soak.mjs --module "$BUILD/.libs/mod_auth_oauth2.so" ;;
bench) shift; cmd_deps; cmd_build; exec tests/bench/bench.sh --module "$BUILD/.libs/mod_auth_oauth2.so" "$@" ;;
-h|--help|help) usage 0 ;;
*) usage 1 ;;
esac
