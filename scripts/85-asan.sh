# scripts/85-asan.sh -- the sanitizer pass of ./pms test.  Builds the tree
# with --enable-asan (AddressSanitizer + UBSan, every report fatal) in its
# own build and install directories, starts the whole stack on those
# binaries, runs the Check unit tests and the integration suite against
# it, then stops our daemons so LeakSanitizer runs at their exit.  Any
# report any process wrote fails the pass.  ./pms test runs it first; the
# ordinary build then takes the running stack over.  PMS_SKIP_ASAN=1
# skips it.

pms_asan_test() {
    local build="$PMS_BUILD" prefix="$PMS_PREFIX" flags="${PMS_CONFIGURE_FLAGS:-}"
    local logdir="$PMS_RUN/log/asan" out="$PMS_RUN/log/asan-integration.out" rc=0 f filter
    read -ra filter <<< "${PMS_TEST_FILTER:-}"     # test names, e.g. test_events

    rm -rf "$logdir" && mkdir -p "$logdir" && chmod 1777 "$logdir"
    # the daemons run as user pms and write their reports here
    export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$logdir/asan"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logdir/ubsan"
    export LSAN_OPTIONS="suppressions=$PMS_SRC/tests/asan/lsan.supp:print_suppressions=0"
    # a canary proves the options and the report folder work: a program
    # built the same way that overflows must leave a report there
    printf 'int main(int c, char **v) { char b[4]; (void) v; return b[c + 4]; }\n' \
        >"$PMS_RUN/asan-canary.c"
    if ! { cc -fsanitize=address -g -o "$PMS_RUN/asan-canary" "$PMS_RUN/asan-canary.c" \
            && ! "$PMS_RUN/asan-canary" 2>/dev/null \
            && ls "$logdir"/asan.* >/dev/null 2>&1; }; then
        pms_die "the AddressSanitizer canary left no report in $logdir"
    fi
    rm -f "$logdir"/* "$PMS_RUN/asan-canary" "$PMS_RUN/asan-canary.c"
    # our daemons inherit these only from a supervisord started now
    pms_down
    PMS_BUILD="$PMS_RUN/build-asan"
    PMS_PREFIX="$PMS_RUN/install-asan"
    PMS_CONFIGURE_FLAGS="--enable-asan $flags"
    export PMS_SANITIZED=1          # tests that cannot run on it (valgrind) skip
    pms_say "sanitizer build (--enable-asan): stack on ASan+UBSan binaries"
    pms_up >/dev/null

    pms_say "sanitizer build: unit tests"
    if ! timeout -k 10 600 make -s -C "$PMS_BUILD" check >/dev/null 2>&1; then
        rc=1
        pms_warn "unit tests failed under ASan: see $PMS_BUILD/tests/unit/check_pms.log"
    fi
    grep -E "^[0-9]+%" "$PMS_BUILD/tests/unit/check_pms.log" || true

    pms_say "sanitizer build: integration tests"
    # on the test venv too (metrics, FHIR and schemathesis need it), with a
    # small schemathesis budget: the full one runs on the ordinary build
    pms_python_env || rc=1
    (cd "$PMS_SRC/tests/integration" \
        && PMS_SCHEMATHESIS_EXAMPLES=25 PMS_SCHEMATHESIS_STATEFUL_S=10 \
            timeout -k 10 "${PMS_TEST_TIMEOUT:-1200}" "${PMS_PYTHON:-false}" -m unittest "${filter[@]}" \
        >"$out" 2>&1) || true
    grep -E '^(Ran|OK|FAILED)' "$out" || true
    grep -q '^OK' "$out" || { rc=1; grep -E '^(FAIL|ERROR):' "$out" | head -20; }

    # a clean exit of every daemon runs LeakSanitizer
    pms_ctl stop patient auth billing relay analytics >/dev/null 2>&1 || true
    for f in "$logdir"/*; do
        [ -e "$f" ] || continue
        rc=1
        pms_warn "sanitizer report $f:"
        head -n 40 "$f" >&2
    done

    PMS_BUILD="$build"
    PMS_PREFIX="$prefix"
    PMS_CONFIGURE_FLAGS="$flags"
    unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS PMS_SANITIZED
    return "$rc"
}
