# scripts/95-bench.sh -- ./pms bench: the benchmark against the running
# stack (see bench/README.md).  ./pms test runs a 2-second smoke version
# (every scenario, baseline and cost figure once, at 4 connections, and the
# scale table between the table as it is and 5,000 more seeded patients)
# so the benchmark cannot rot; it fails on a non-2xx answer or a missing
# figure.

pms_bench() {
    pms_health_ok || pms_up
    python3 "$PMS_SRC/bench/run.py" "$@"
}

pms_bench_smoke() {
    local rc=0
    pms_say "benchmark smoke run (2 s per scenario)"
    PMS_BENCH_SECONDS=2 PMS_BENCH_REPS=1 PMS_BENCH_CONNS=4 PMS_BENCH_EVENTS=200 \
        PMS_BENCH_PATIENTS=15000 \
        timeout -k 10 900 python3 "$PMS_SRC/bench/run.py" >"$PMS_RUN/log/bench-smoke.out" 2>&1 || rc=$?
    grep -E '^\| (get-by-id|list-deep|search-name|create|delete|pms-patient) ' \
        "$PMS_RUN/log/bench-smoke.out" || true
    [ "$rc" = 0 ] || tail -n 20 "$PMS_RUN/log/bench-smoke.out"
    return "$rc"
}
PMS_HOOK_TEST+=(pms_bench_smoke)
