# scripts/90-test.sh -- ./pms test: first the sanitizer pass
# (scripts/85-asan.sh), then brings the stack up on the ordinary build and
# runs the Check unit tests, the integration suite against the live stack, every
# component's extra suites, and make distcheck.  Exits non-zero when any
# part fails; prints one summary line per part.  Every part runs under a
# time limit, so a hang fails its part instead of the whole CI run.

pms_test() {
    local results=() failed=0 hook t t0=$SECONDS filter
    read -ra filter <<< "${PMS_TEST_FILTER:-}"     # test names, e.g. test_events
    if [ -z "${PMS_SKIP_ASAN:-}" ]; then
        if pms_asan_test; then
            results+=("PASS sanitizers: unit + integration on the ASan/UBSan build, no reports")
        else
            failed=1
            results+=("FAIL sanitizers: see $PMS_RUN/log/asan and asan-integration.out")
        fi
    fi
    pms_up

    pms_say "shellcheck (./pms, scripts/ and the images' POSIX sh wrapper)"
    local scripts=("$PMS_SRC/pms" "$PMS_SRC"/scripts/*.sh) posix=("$PMS_SRC/docker/pms-exec")
    if shellcheck -x -s bash -f gcc "${scripts[@]}" && shellcheck -s sh -f gcc "${posix[@]}"; then
        results+=("PASS shellcheck: $((${#scripts[@]} + ${#posix[@]})) files, no findings")
    else
        failed=1
        results+=("FAIL shellcheck: see above")
    fi

    pms_say "format (clang-format, the committed .clang-format)"
    local sources
    mapfile -t sources < <(cd "$PMS_SRC" && find fcgi-patient grpc-billing \
        kafka-analytics nginx shared tests bench -name '*.[ch]' ! -name '*.pb-c.*' | sort)
    if (cd "$PMS_SRC" && clang-format --dry-run --Werror "${sources[@]}"); then
        results+=("PASS format: ${#sources[@]} C files as .clang-format lays them out")
    else
        failed=1
        results+=("FAIL format: run clang-format -i on the files named above")
    fi

    pms_say "unit tests (make check)"
    if make -s -C "$PMS_BUILD" check >/dev/null 2>&1; then
        results+=("PASS unit: $(tail -n 2 "$PMS_BUILD/tests/unit/check_pms.log" | head -1)")
    else
        failed=1
        results+=("FAIL unit: see $PMS_BUILD/tests/unit/check_pms.log")
    fi
    grep -E "^[0-9]+%|:[EF]:" "$PMS_BUILD/tests/unit/check_pms.log" || true

    pms_say "unit tests under valgrind memcheck"
    if CK_FORK=no timeout -k 10 600 valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
            --error-exitcode=9 "$PMS_BUILD/tests/unit/check_pms" \
            >"$PMS_RUN/log/valgrind-unit.out" 2>&1; then
        results+=("PASS valgrind unit: no errors, no definite leaks")
    else
        failed=1
        results+=("FAIL valgrind unit: see $PMS_RUN/log/valgrind-unit.out")
        tail -n 30 "$PMS_RUN/log/valgrind-unit.out"
    fi

    pms_say "integration tests (live stack through the gateway)"
    pms_python_env || failed=1
    if (cd "$PMS_SRC/tests/integration" \
            && timeout -k 10 "${PMS_TEST_TIMEOUT:-1200}" "${PMS_PYTHON:-false}" -m unittest -v "${filter[@]}" 2>&1 \
            | tee "$PMS_RUN/log/integration-tests.out"); then
        :
    fi
    if grep -q '^OK' "$PMS_RUN/log/integration-tests.out"; then
        results+=("PASS integration: $(grep -E '^Ran [0-9]+ tests' "$PMS_RUN/log/integration-tests.out")")
    else
        failed=1
        results+=("FAIL integration: $(grep -E '^(Ran|FAILED)' "$PMS_RUN/log/integration-tests.out" | tr '\n' ' ')")
    fi

    for hook in "${PMS_HOOK_TEST[@]}"; do
        t=$SECONDS
        if "$hook"; then
            results+=("PASS $hook ($((SECONDS - t)) s)")
        else
            failed=1
            results+=("FAIL $hook ($((SECONDS - t)) s)")
        fi
    done

    if [ -z "${PMS_SKIP_DISTCHECK:-}" ]; then
        pms_say "make distcheck"
        if timeout -k 10 900 make -s -C "$PMS_BUILD" distcheck >"$PMS_RUN/log/distcheck.out" 2>&1; then
            results+=("PASS distcheck: $(grep -E 'archives ready|ready for distribution' -A1 "$PMS_RUN/log/distcheck.out" | tail -1 | tr -s ' =')")
        else
            failed=1
            results+=("FAIL distcheck: see $PMS_RUN/log/distcheck.out")
            tail -n 30 "$PMS_RUN/log/distcheck.out"
        fi
    fi

    pms_say "summary ($((SECONDS - t0)) s in all)"
    printf '  %s\n' "${results[@]}"
    return "$failed"
}
