# scripts/50-billing.sh -- pms-billing's settings, its database, its
# migrations before start.  (The contract tests install their own
# independent gRPC peer: tests/grpc/.)

: "${PMS_BILLING_PORT:=9001}"
: "${PMS_BILLING_TIMEOUT_MS:=2000}"
export PMS_BILLING_PORT PMS_BILLING_TIMEOUT_MS
PMS_DATABASES+=(billing)
# Node.js runs the independent gRPC peer of the tests; Debian's packages
# only when the machine has no node/npm of its own.
command -v npm >/dev/null 2>&1 || PMS_APT_PACKAGES+=(nodejs npm)

pms_billing_prepare() {
    export PMS_BILLING_DB
    PMS_BILLING_DB="$(pms_pg_dsn billing)"
    PMS_BILLING_DB="$PMS_BILLING_DB" \
    PMS_BILLING_SQL_DIR="$PMS_PREFIX/share/pms/billing/sql" \
        "$PMS_PREFIX/sbin/pms-billing" --migrate >/dev/null 2>"$PMS_RUN/migrate-billing.log" \
        || { cat "$PMS_RUN/migrate-billing.log" >&2; pms_die "billing migrations failed"; }
}
PMS_HOOK_PREPARE+=(pms_billing_prepare)
