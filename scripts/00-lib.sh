# scripts/00-lib.sh -- settings and small helpers every other script uses.
# Every setting is an environment variable with a default; the resolved
# values are written to $PMS_RUN/env for tests and operators.

: "${PMS_RUN:=$PMS_SRC/.run}"
: "${PMS_CACHE:=$PMS_SRC/.cache}"
: "${PMS_HTTP_ADDR:=127.0.0.1}"
: "${PMS_HTTP_PORT:=4004}"
: "${PMS_PATIENT_PORT:=4000}"
: "${PMS_PATIENT_SOCKET=$PMS_RUN/sock/patient.sock}"   # empty: TCP on the port
# Where the gateway finds its upstreams (other hosts in the cloud layout).
: "${PMS_PATIENT_HOST:=127.0.0.1}"
: "${PMS_ANALYTICS_HOST:=127.0.0.1}"
: "${PMS_AUTH_HOST:=127.0.0.1}"
: "${PMS_PATIENT_WORKERS:=4}"
: "${PMS_NGINX_WORKERS:=2}"
: "${PMS_PG_PORT:=}"
: "${PMS_UP_TIMEOUT:=120}"
# Prometheus metrics: the gateway's metrics listener (loopback only) shows
# every daemon's at /metrics; the FastCGI daemons answer on their own
# sockets, billing and relay on these loopback FastCGI sockets.
: "${PMS_METRICS_ADDR:=127.0.0.1}"
: "${PMS_METRICS_PORT:=9464}"
: "${PMS_BILLING_METRICS:=127.0.0.1:9473}"
: "${PMS_RELAY_METRICS:=127.0.0.1:9474}"
export PMS_METRICS_ADDR PMS_METRICS_PORT PMS_BILLING_METRICS PMS_RELAY_METRICS
export PMS_PATIENT_HOST PMS_ANALYTICS_HOST PMS_AUTH_HOST PMS_PATIENT_SOCKET
export PMS_RUN PMS_CACHE PMS_HTTP_ADDR PMS_HTTP_PORT PMS_PATIENT_PORT \
       PMS_PATIENT_WORKERS PMS_NGINX_WORKERS
export PMS_PREFIX="$PMS_RUN/install"
export PMS_BUILD="$PMS_RUN/build"

# Components append to these (see the other scripts/*.sh).
# shellcheck disable=SC2034  # each is read by the scripts sourced after this one
{
PMS_APT_PACKAGES=()
PMS_HOOK_PREPARE=()     # after PostgreSQL is up, before supervisord
PMS_HOOK_READY=()       # after supervisord, to wait for readiness
PMS_HOOK_TEST=()        # extra test suites run by ./pms test
}

pms_say()  { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
pms_warn() { printf 'pms: warning: %s\n' "$*" >&2; }
pms_die()  { printf 'pms: error: %s\n' "$*" >&2; exit 1; }

pms_is_root() { [ "$(id -u)" = 0 ]; }

# 0 when something listens on 127.0.0.1:$1.
pms_port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pms_wait_for DESCRIPTION SECONDS COMMAND...: polls until COMMAND succeeds.
pms_wait_for() {
    local what="$1" secs="$2" i
    shift 2
    for ((i = 0; i < secs * 10; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    pms_die "$what not ready after ${secs}s (see ./pms logs)"
}

# Renders a template, replacing only ${PMS_*} placeholders (nginx's own
# $variables are left alone).
pms_render() {
    local vars
    vars="$(compgen -e | grep '^PMS_' | sed 's/^/$/' | tr '\n' ' ')"
    envsubst "$vars" < "$1" > "$2.tmp" && mv "$2.tmp" "$2"
}

# Writes the resolved settings for tests and other shells.
pms_write_env() {
    (umask 077
     compgen -e | grep '^PMS_' | while read -r v; do
         printf '%s=%q\n' "$v" "${!v}"
     done > "$PMS_RUN/env")
}
