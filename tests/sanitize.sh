#!/usr/bin/env bash
# tests/sanitize.sh: the integration suite against a build of the module with
# AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   tests/sanitize.sh [TEST-FILE...]   default: every tests/integration/*.test.mjs
#
# Builds out of tree in build-asan/ (configure --enable-sanitizers), then runs
# node --test with MOD_AUTH_OAUTH2_SO pointing at that module and
# MOD_AUTH_OAUTH2_ENV giving every apache2 the harness starts (and only
# those) the ASan runtime first in line (LD_PRELOAD) and the sanitizer options.
# ASan reports go to build-asan/sanitizer-logs/asan.PID; UBSan's (gcc's
# libubsan ignores log_path next to ASan) go to stderr, which is each
# Apache's error log: the Apache directories are kept under build-asan/tmp
# for the run (TMPDIR, KEEP_APACHE_DIR=1) and searched afterwards. An error
# ends the process that hit it (halt_on_error=1; -fno-sanitize-recover for
# UBSan); leak checking is off (httpd does not free everything at exit).
# Fails when a test fails or when any sanitizer report was written, and
# prints the reports.
#
# Note: memory from APR pools is carved out of large blocks, so ASan sees
# overflows inside a pool block only when they reach a redzone; it does see
# the stack, malloc (json-c, OpenSSL, libcurl) and the sealing buffers.
#
# Environment: CC (default gcc; the runtime is `$CC -print-file-name=libasan.so`),
# SANITIZE_OUT (default build-asan), NODE_TEST_FLAGS (extra node --test flags).
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP"
OUT=${SANITIZE_OUT:-$TOP/build-asan}
CC=${CC:-gcc}
LOGS=$OUT/sanitizer-logs

say() { printf 'sanitize.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# The module, built with -fsanitize=address,undefined.
build() {
    if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
        say "autoreconf"
        mkdir -p m4
        autoreconf -fi >/dev/null || die "autoreconf failed"
    fi
    mkdir -p "$OUT"
    if [ ! -f "$OUT/Makefile" ] || [ configure -nt "$OUT/config.status" ]; then
        say "configure --enable-sanitizers in $OUT (CC=$CC)"
        (cd "$OUT" && CC=$CC "$TOP/configure" --quiet --enable-sanitizers --enable-werror) || die "configure failed"
    fi
    say "make ($OUT)"
    make -C "$OUT" -j"$(nproc)" >/dev/null || die "make failed"
    [ -f "$OUT/.libs/mod_auth_oauth2.so" ] || die "no $OUT/.libs/mod_auth_oauth2.so"
}

# The sanitizer runtime that apache2 must load before anything else.
runtime() {
    local lib
    lib=$("$CC" -print-file-name=libasan.so)
    [ -f "$lib" ] || die "no ASan runtime for $CC ($lib)"
    readlink -f "$lib"
}

SAN_RE='runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|UndefinedBehaviorSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer'

# Every report written during the run, printed; 1 when there is any.
reports() {
    local f found=0
    for f in "$LOGS"/*; do
        [ -s "$f" ] || continue
        found=1
        say "sanitizer report $f:"
        sed -n '1,80p' "$f" >&2
    done
    while IFS= read -r f; do
        found=1
        say "sanitizer report in $f:"
        grep -E -A40 "$SAN_RE" "$f" | sed -n '1,80p' >&2
    done < <(grep -E -l -s "$SAN_RE" "$TMP"/*/logs/error.log)
    return $found
}

build
LIB=$(runtime)
TMP=$OUT/tmp
rm -rf "$LOGS" "$TMP"
mkdir -p "$LOGS" "$TMP"
# Apache children run as www-data when the tests run as root.
chmod 1777 "$LOGS"
chmod 755 "$TMP"

ASAN="log_path=$LOGS/asan:halt_on_error=1:detect_leaks=0:abort_on_error=0"
ASAN+=":detect_odr_violation=0:allocator_may_return_null=1:print_summary=1"
UBSAN="log_path=$LOGS/ubsan:halt_on_error=1:print_stacktrace=1"
ENV_JSON=$(printf '{"LD_PRELOAD":"%s","ASAN_OPTIONS":"%s","UBSAN_OPTIONS":"%s"}' "$LIB" "$ASAN" "$UBSAN")

if [ $# -gt 0 ]; then
    FILES=("$@")
else
    FILES=(tests/integration/)
fi
say "integration tests with $OUT/.libs/mod_auth_oauth2.so, apache2 preloading $LIB"
# shellcheck disable=SC2086
TMPDIR=$TMP KEEP_APACHE_DIR=1 \
    MOD_AUTH_OAUTH2_SO="$OUT/.libs/mod_auth_oauth2.so" MOD_AUTH_OAUTH2_ENV="$ENV_JSON" \
    node --test --test-concurrency=1 --test-reporter=spec ${NODE_TEST_FLAGS:-} "${FILES[@]}"
rc=$?

if ! reports; then
    die "sanitizer reports found (see above, $LOGS and $TMP)"
fi
rm -rf "$TMP"

[ $rc -eq 0 ] || die "integration tests failed under the sanitizers (exit $rc)"
say "no sanitizer report; integration tests passed"
