#!/usr/bin/env bash
# tests/fuzz/fuzz.sh: the libFuzzer targets (tests/fuzz/fuzz_*.c).
#
#   fuzz.sh build [NAME...]          compile the targets into build-fuzz/
#   fuzz.sh replay [NAME...]         run each target once over its seed corpus
#                                    tests/fuzz/corpus/NAME/ (-runs=0); fails on
#                                    any crash, and when a target that has a
#                                    corpus does not build
#   fuzz.sh run SECONDS [NAME...]    fuzz each target for SECONDS, starting from
#                                    a scratch copy of its corpus; new crash
#                                    inputs are kept in tests/fuzz/crashes/NAME/
#
# NAME is the file name without "fuzz_" and ".c" (fuzz_jws.c: jws); no NAME
# means every target. Targets are compiled with clang and
# -fsanitize=fuzzer,address,undefined against the engine (src/*.c except
# src/apache*.c, which need Apache), APR, APR-util, json-c, libcurl and
# OpenSSL. A target (or an engine file) that does not compile yet is
# reported and skipped by build and run.
#
# Environment: CC (default clang), FUZZ_OUT (default build-fuzz),
# FUZZ_JOBS (targets fuzzed at once by run, default 1),
# FUZZ_FLAGS (extra libFuzzer flags for run, e.g. "-max_len=8192").
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FUZZ_DIR="$TOP/tests/fuzz"
OUT=${FUZZ_OUT:-$TOP/build-fuzz}
CC=${CC:-clang}
[ "$CC" = cc ] && CC=clang

say() { printf 'fuzz.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# Every target name, or the ones asked for.
target_names() {
    local f
    if [ $# -gt 0 ]; then
        printf '%s\n' "$@"
        return
    fi
    for f in "$FUZZ_DIR"/fuzz_*.c; do
        [ -e "$f" ] || continue
        f=${f##*/fuzz_}
        printf '%s\n' "${f%.c}"
    done
}

# Compiler and linker flags, computed once.
flags() {
    command -v "$CC" >/dev/null || die "$CC not found (apt-get install clang)"
    CPPFLAGS_F="-I$TOP/src $(apr-1-config --cppflags --includes) $(apu-1-config --includes)"
    CPPFLAGS_F+=" $(pkg-config --cflags openssl libcurl json-c)"
    CFLAGS_F="-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
    CFLAGS_F+=" -Wall -Wextra -Wno-unused-parameter"
    LIBS_F="$(apu-1-config --link-ld --libs) $(apr-1-config --link-ld --libs)"
    LIBS_F+=" $(pkg-config --libs json-c libcurl openssl)"
}

# Compiles the engine into $OUT/libengine.a, skipping files that fail.
build_engine() {
    local src obj log newest_h objs=() failed=0
    mkdir -p "$OUT/engine"
    newest_h=$(ls -t "$TOP"/src/*.h 2>/dev/null | head -1)
    for src in "$TOP"/src/*.c; do
        case "${src##*/}" in apache*.c) continue ;; esac
        obj="$OUT/engine/$(basename "$src" .c).o"
        log="$OUT/engine/$(basename "$src" .c).log"
        if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] \
            || { [ -n "$newest_h" ] && [ "$newest_h" -nt "$obj" ]; }; then
            # shellcheck disable=SC2086
            if ! $CC $CPPFLAGS_F $CFLAGS_F -fsanitize=fuzzer-no-link,address,undefined \
                -c "$src" -o "$obj.$$" 2>"$log"; then
                rm -f "$obj" "$obj.$$"
                say "engine file ${src#"$TOP"/} does not compile (see $log); left out"
                failed=1
                continue
            fi
        fi
        [ -f "$obj.$$" ] && mv -f "$obj.$$" "$obj"
        objs+=("$obj")
    done
    # built aside and renamed: someone else may be linking at the same time
    rm -f "$OUT/libengine.a.$$"
    ar rcs "$OUT/libengine.a.$$" "${objs[@]}" || die "ar failed"
    mv -f "$OUT/libengine.a.$$" "$OUT/libengine.a"
    return $failed
}

# Builds one target: $OUT/fuzz_NAME, or nothing (and status 1) on failure.
build_target() {
    local name=$1 src="$FUZZ_DIR/fuzz_$1.c" bin="$OUT/fuzz_$1"
    local log="$OUT/fuzz_$1.log"
    [ -f "$src" ] || { say "no such target: $src"; return 1; }
    # shellcheck disable=SC2086
    if ! $CC $CPPFLAGS_F $CFLAGS_F -fsanitize=fuzzer,address,undefined \
        "$src" "$OUT/libengine.a" $LIBS_F -o "$bin.$$" >"$log" 2>&1; then
        rm -f "$bin" "$bin.$$"
        say "target $name does not build (see $log): skipped"
        grep -E 'error|undefined reference' "$log" | head -5 | sed 's/^/    /' >&2
        return 1
    fi
    mv -f "$bin.$$" "$bin"
}

# build [NAME...]: every target that builds; lists those that do not.
cmd_build() {
    local name ok=() bad=()
    flags
    mkdir -p "$OUT"
    build_engine
    while read -r name; do
        if build_target "$name"; then ok+=("$name"); else bad+=("$name"); fi
    done < <(target_names "$@")
    say "built: ${ok[*]:-none}${bad:+; skipped: ${bad[*]}}"
    BUILT=("${ok[@]}")
    return 0
}

# replay [NAME...]: each target once over its corpus.
cmd_replay() {
    local name bin corpus failed=() empty
    cmd_build "$@"
    while read -r name; do
        bin="$OUT/fuzz_$name"
        corpus="$FUZZ_DIR/corpus/$name"
        if [ ! -x "$bin" ]; then
            if [ -d "$corpus" ]; then
                say "replay $name: FAILED (has a corpus but does not build)"
                failed+=("$name")
            fi
            continue
        fi
        if [ ! -d "$corpus" ]; then
            empty=$(mktemp -d "$OUT/empty.XXXXXX")
            corpus=$empty
        fi
        if "$bin" -runs=0 -timeout=25 -rss_limit_mb=2048 \
            -artifact_prefix="$OUT/replay_$name-" "$corpus" \
            >"$OUT/replay_$name.log" 2>&1; then
            say "replay $name: ok ($(find "$corpus" -type f | wc -l) inputs)"
        else
            say "replay $name: FAILED (log: $OUT/replay_$name.log)"
            grep -E 'ERROR|SUMMARY|runtime error' "$OUT/replay_$name.log" \
                | head -5 | sed 's/^/    /' >&2
            failed+=("$name")
        fi
        [ -n "${empty:-}" ] && rm -rf "$empty" && empty=
    done < <(target_names "$@")
    [ ${#failed[@]} -eq 0 ] || die "replay failed: ${failed[*]}"
    say "replay passed"
}

# Fuzzes one built target for $1 seconds in a run directory of its own
# (several people may fuzz in the same tree); prints new crash files.
run_one() {
    local secs=$1 name=$2 bin="$OUT/fuzz_$2" run crashes dict=()
    crashes="$FUZZ_DIR/crashes/$name"
    mkdir -p "$crashes" "$OUT/runs"
    run=$(mktemp -d "$OUT/runs/$name.XXXXXX")
    mkdir "$run/corpus"
    [ -d "$FUZZ_DIR/corpus/$name" ] && cp -R "$FUZZ_DIR/corpus/$name/." "$run/corpus/"
    [ -f "$FUZZ_DIR/$name.dict" ] && dict=("-dict=$FUZZ_DIR/$name.dict")
    # shellcheck disable=SC2086
    "$bin" "$run/corpus" "${dict[@]}" -max_total_time="$secs" -timeout=25 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
        ${FUZZ_FLAGS:-} >"$run/log" 2>&1
    say "run $name: $(awk '/^stat::number_of_executed_units/ {print $2}' "$run/log") executions," \
        "corpus $(find "$run/corpus" -type f | wc -l) inputs in $run/corpus (log: $run/log)"
    # libFuzzer names every crash, leak, timeout or OOM input it keeps
    sed -n 's/.*Test unit written to //p' "$run/log"
}

# run SECONDS [NAME...]: fuzz every target that builds.
cmd_run() {
    local secs=${1:-}
    [[ "$secs" =~ ^[0-9]+$ ]] || die "usage: fuzz.sh run SECONDS [NAME...]"
    shift
    cmd_build "$@"
    local name jobs=${FUZZ_JOBS:-1} list
    mkdir -p "$OUT/runs"
    list=$(mktemp "$OUT/runs/new-crashes.XXXXXX")
    for name in "${BUILT[@]}"; do
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
        run_one "$secs" "$name" >>"$list" &
    done
    wait
    if [ -s "$list" ]; then
        say "NEW CRASHES (reproduce: build-fuzz/fuzz_NAME FILE):"
        sed 's/^/    /' "$list" >&2
        rm -f "$list"
        exit 1
    fi
    rm -f "$list"
    say "no new crash"
}

case "${1:-}" in
build) shift; cmd_build "$@" ;;
replay) shift; cmd_replay "$@" ;;
run) shift; cmd_run "$@" ;;
*) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
