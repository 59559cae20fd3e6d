# scripts/60-fuzz.sh -- ./pms fuzz [seconds]: builds the libFuzzer targets
# with clang (ASan+UBSan) in $PMS_RUN/fuzz and runs each for the given
# time (default 60 s) on a working copy of its committed corpus.  A crash,
# leak or timeout fails the run and leaves the input in
# $PMS_RUN/fuzz/artifacts; copy it into tests/fuzz/corpus/<target>/ once
# fixed so make check replays it forever.  ./pms test runs each target for
# PMS_FUZZ_SECONDS (default 20).

PMS_APT_PACKAGES+=(clang libclang-rt-14-dev)

pms_fuzz() {
    local secs="${1:-60}" dir="$PMS_RUN/fuzz" t name failed=0
    mkdir -p "$dir/build" "$dir/artifacts"
    if [ ! -x "$PMS_SRC/configure" ] || [ "$PMS_SRC/configure.ac" -nt "$PMS_SRC/configure" ]; then
        (cd "$PMS_SRC" && autoreconf -fi >/dev/null 2>&1) || pms_die "autoreconf failed"
    fi
    if [ ! -f "$dir/build/Makefile" ]; then
        (cd "$dir/build" && "$PMS_SRC/configure" -q CC=clang --enable-fuzzing) \
            || pms_die "configure for fuzzing failed"
    fi
    make -s -C "$dir/build" -j"$(nproc)" >/dev/null || pms_die "fuzz build failed"
    for t in "$dir"/build/tests/fuzz/fuzz_*; do
        [ -x "$t" ] || continue
        name="$(basename "$t")"; name="${name#fuzz_}"
        mkdir -p "$dir/corpus/$name"
        pms_say "fuzzing $name for ${secs}s"
        if "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
               -print_final_stats=1 -artifact_prefix="$dir/artifacts/$name-" \
               "$dir/corpus/$name" "$PMS_SRC/tests/fuzz/corpus/$name" \
               >"$dir/$name.log" 2>&1; then
            printf '  %s: %s runs, no crash\n' "$name" \
                "$(grep -m1 -E 'stat::number_of_executed_units' "$dir/$name.log" | awk '{print $2}')"
        else
            failed=1
            tail -n 40 "$dir/$name.log"
            printf '  %s: FAILED, inputs in %s\n' "$name" "$dir/artifacts"
        fi
    done
    return "$failed"
}

pms_fuzz_short() {
    pms_fuzz "${PMS_FUZZ_SECONDS:-20}"
}
PMS_HOOK_TEST+=(pms_fuzz_short)
