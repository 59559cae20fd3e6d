# scripts/30-postgres.sh -- the stack's own PostgreSQL cluster in
# $PMS_RUN/pg, run by the postgres user when ./pms runs as root, on
# 5432 or the next free port.  Services connect over its Unix socket
# as role "pms", which owns their databases.

PMS_PG_BIN="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)"
PMS_PG_DIR="$PMS_RUN/pg"
PMS_PG_SOCK="$PMS_PG_DIR/sock"
export PMS_PG_SOCK
PMS_DATABASES=(patients)

pms_pg_as() {
    if pms_is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pms_pg_running() {
    [ -f "$PMS_PG_DIR/data/postmaster.pid" ] \
        && pms_pg_as "$PMS_PG_BIN/pg_ctl" -D "$PMS_PG_DIR/data" status >/dev/null 2>&1
}

pms_pg_pick_port() {
    if [ -n "$PMS_PG_PORT" ]; then
        return
    fi
    if [ -f "$PMS_PG_DIR/port" ]; then
        PMS_PG_PORT="$(cat "$PMS_PG_DIR/port")"
        return
    fi
    PMS_PG_PORT=5432
    while pms_port_busy "$PMS_PG_PORT"; do
        PMS_PG_PORT=$((PMS_PG_PORT + 1))
    done
}

# The conninfo every pms daemon uses for database $1.
pms_pg_dsn() {
    printf 'host=%s port=%s dbname=%s user=pms connect_timeout=3 keepalives=1 keepalives_idle=10' \
        "$PMS_PG_SOCK" "$PMS_PG_PORT" "$1"
}

pms_psql_as_admin() {
    pms_pg_as psql -X -q -v ON_ERROR_STOP=1 -h "$PMS_PG_SOCK" -p "$PMS_PG_PORT" -U postgres "$@"
}

pms_pg_start() {
    [ -n "$PMS_PG_BIN" ] || pms_die "PostgreSQL server binaries not found"
    pms_pg_pick_port
    export PMS_PG_PORT
    mkdir -p "$PMS_PG_DIR"
    echo "$PMS_PG_PORT" > "$PMS_PG_DIR/port"
    if pms_is_root; then
        chmod 755 "$PMS_RUN" && chown postgres: "$PMS_PG_DIR"
    fi
    if [ ! -f "$PMS_PG_DIR/data/PG_VERSION" ]; then
        pms_say "initdb in $PMS_PG_DIR/data"
        pms_pg_as mkdir -p "$PMS_PG_DIR/data" "$PMS_PG_SOCK"
        pms_pg_as "$PMS_PG_BIN/initdb" -D "$PMS_PG_DIR/data" -U postgres \
            --auth-local=trust --auth-host=scram-sha-256 -E UTF8 \
            --locale=C.UTF-8 >/dev/null
        cat >> "$PMS_PG_DIR/data/postgresql.conf" <<CONF
# pms
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PMS_PG_SOCK'
max_connections = 300
shared_buffers = 128MB
log_destination = 'stderr'
logging_collector = off
CONF
    fi
    if ! pms_pg_running; then
        pms_say "starting PostgreSQL on port $PMS_PG_PORT"
        pms_pg_as "$PMS_PG_BIN/pg_ctl" -D "$PMS_PG_DIR/data" -o "-p $PMS_PG_PORT" \
            -l "$PMS_PG_DIR/postgres.log" -w -t 60 start >/dev/null \
            || pms_die "PostgreSQL did not start (see $PMS_PG_DIR/postgres.log)"
    fi
    pms_psql_as_admin -d postgres -c "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pms') THEN
            CREATE ROLE pms LOGIN;
        END IF; END \$\$;"
    local db
    for db in "${PMS_DATABASES[@]}"; do
        if [ -z "$(pms_psql_as_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
            pms_psql_as_admin -d postgres -c "CREATE DATABASE $db OWNER pms"
        fi
    done
    export PMS_PATIENT_DB
    PMS_PATIENT_DB="$(pms_pg_dsn patients)"
}

pms_pg_stop() {
    if pms_pg_running; then
        pms_say "stopping PostgreSQL"
        pms_pg_as "$PMS_PG_BIN/pg_ctl" -D "$PMS_PG_DIR/data" -m fast -w stop >/dev/null
    fi
}

pms_psql() {
    pms_pg_pick_port
    psql -X -h "$PMS_PG_SOCK" -p "$PMS_PG_PORT" -U pms "${1:-patients}" "${@:2}"
}

pms_seed() {
    pms_pg_pick_port
    psql -X -q -v ON_ERROR_STOP=1 -h "$PMS_PG_SOCK" -p "$PMS_PG_PORT" -U pms patients \
        -f "$PMS_SRC/fcgi-patient/sql/seed.sql"
    pms_say "seeded: $(psql -X -tA -h "$PMS_PG_SOCK" -p "$PMS_PG_PORT" -U pms patients \
        -c 'SELECT count(*) FROM patient') patients in the table"
}
