# scripts/70-soak.sh -- the fault-and-load suite (tests/soak/fault_load.py):
# ./pms test runs a short pass (PMS_SOAK_SHORT seconds per fault, default
# 4); ./pms soak [seconds] a longer one (default 30 per fault, 16 clients).

pms_soak() {
    pms_health_ok || pms_up
    PMS_SOAK_CLIENTS="${PMS_SOAK_CLIENTS:-16}" \
        python3 "$PMS_SRC/tests/soak/fault_load.py" "${1:-30}"
}

pms_soak_short() {
    pms_say "fault-and-load suite (short)"
    timeout -k 10 900 python3 "$PMS_SRC/tests/soak/fault_load.py" "${PMS_SOAK_SHORT:-4}" \
        | tee "$PMS_RUN/log/soak.out"
    return "${PIPESTATUS[0]}"
}
PMS_HOOK_TEST+=(pms_soak_short)
