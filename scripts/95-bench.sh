# scripts/95-bench.sh -- ./pms bench: the benchmark against the running
# stack (see bench/README.md).

pms_bench() {
    pms_health_ok || pms_up
    python3 "$PMS_SRC/bench/run.py" "$@"
}
