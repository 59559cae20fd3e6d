# scripts/40-stack.sh -- ./pms up/down/status/logs: renders the nginx and
# supervisord configuration into the run directory and drives
# supervisord, which owns every long-running process but PostgreSQL.

pms_ctl() {
    supervisorctl -c "$PMS_RUN/etc/supervisord.conf" "$@"
}

pms_supervisord_running() {
    [ -S "$PMS_RUN/supervisor.sock" ] && pms_ctl pid >/dev/null 2>&1
}

pms_render_configs() {
    mkdir -p "$PMS_RUN/etc/supervisor.d" "$PMS_RUN/log" "$PMS_RUN/nginx/tmp" \
        "$PMS_RUN/nginx/cache" "$PMS_RUN/sock"
    local owner=""
    if pms_is_root; then
        export PMS_NGINX_USER_LINE="user www-data;"
        owner="-U www-data -G www-data"     # only nginx may connect
    else
        export PMS_NGINX_USER_LINE=""
    fi
    # nginx reaches pms-patient on the same host through a unix socket (no
    # TCP handshake, teardown or loopback stack per request: about a
    # quarter more GETs per second on two cores); an empty
    # PMS_PATIENT_SOCKET, as in the cloud layout, means TCP on the port.
    if [ -n "$PMS_PATIENT_SOCKET" ]; then
        export PMS_PATIENT_UPSTREAM="unix:$PMS_PATIENT_SOCKET"
        export PMS_PATIENT_BIND="-s $PMS_PATIENT_SOCKET -M 0660 $owner"
    else
        export PMS_PATIENT_UPSTREAM="$PMS_PATIENT_HOST:$PMS_PATIENT_PORT"
        export PMS_PATIENT_BIND="-a 127.0.0.1 -p $PMS_PATIENT_PORT"
    fi
    local f
    for f in "$PMS_SRC"/nginx/*.conf.tmpl; do
        pms_render "$f" "$PMS_RUN/etc/$(basename "$f" .tmpl)"
    done
    pms_render "$PMS_SRC/supervisor/supervisord.conf.tmpl" "$PMS_RUN/etc/supervisord.conf"
    local t name
    rm -f "$PMS_RUN"/etc/supervisor.d/*.conf
    for t in "$PMS_SRC"/supervisor/*.conf.tmpl; do
        name="$(basename "$t" .conf.tmpl)"
        [ "$name" = supervisord ] && continue
        pms_render "$t" "$PMS_RUN/etc/supervisor.d/$name.conf"
    done
    /usr/sbin/nginx -t -q -c "$PMS_RUN/etc/nginx.conf" 2>&1 | grep -v "could not open error log" >&2 || true
}

pms_health_ok() {
    curl -fsS -o /dev/null "http://127.0.0.1:$PMS_HTTP_PORT/health"
}

# Daemons never run as root: as root, spawn-fcgi drops to the pms user
# before exec, and supervisord programs carry user=pms.
pms_daemon_user() {
    if pms_is_root; then
        id pms >/dev/null 2>&1 || useradd --system --no-create-home \
            --home-dir /nonexistent --shell /usr/sbin/nologin pms
        export PMS_SPAWN_USER="-u pms -g pms"
        export PMS_DAEMON_USER="pms"
    else
        export PMS_SPAWN_USER=""
        PMS_DAEMON_USER="$(id -un)"
        export PMS_DAEMON_USER
    fi
}

# A fingerprint of the installed daemons, to restart them after a rebuild.
pms_binaries_stamp() {
    { stat -c '%n %Y' "$PMS_PREFIX"/sbin/* 2>/dev/null || true; } | md5sum
}

pms_up() {
    local t0=$SECONDS hook before
    pms_install_deps
    pms_daemon_user
    before="$(pms_binaries_stamp)"
    pms_build
    pms_pg_start
    for hook in "${PMS_HOOK_PREPARE[@]}"; do "$hook"; done
    "$PMS_PREFIX/sbin/pms-patient" --migrate >/dev/null 2>"$PMS_RUN/migrate.log" \
        || { cat "$PMS_RUN/migrate.log" >&2; pms_die "patient migrations failed"; }
    pms_render_configs
    pms_write_env
    if pms_supervisord_running; then
        pms_say "supervisord running: applying configuration"
        pms_ctl update >/dev/null
        pms_ctl signal HUP nginx >/dev/null 2>&1 || true
        if [ "$before" != "$(pms_binaries_stamp)" ]; then
            pms_say "daemons were rebuilt: restarting them"
            pms_ctl restart patient auth billing relay analytics >/dev/null 2>&1 || true
        fi
    else
        pms_say "starting supervisord"
        # without ./pms's own PMS_* settings: each daemon gets exactly the
        # variables its program section sets, and warns about any other
        local v clean=()
        for v in $(compgen -e | grep '^PMS_'); do clean+=(-u "$v"); done
        env "${clean[@]}" supervisord -c "$PMS_RUN/etc/supervisord.conf"
    fi
    pms_wait_for "the gateway /health" "$PMS_UP_TIMEOUT" pms_health_ok
    for hook in "${PMS_HOOK_READY[@]}"; do "$hook"; done
    pms_say "up in $((SECONDS - t0))s"
    cat <<MSG

  token        TOKEN=\$(./pms token)            (client ms-api; ./pms token ms-readonly)
  list         curl -s -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$PMS_HTTP_PORT/api/patients
  create       curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
                 -d '{"name":"Ada Lovelace","email":"ada@example.com","address":"12 St James Sq","dateOfBirth":"1815-12-10"}' \\
                 http://127.0.0.1:$PMS_HTTP_PORT/api/patients
  analytics    curl -s -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$PMS_HTTP_PORT/api/analytics/summary
  health       curl -s http://127.0.0.1:$PMS_HTTP_PORT/health          (no token)
$(pms_console_usage)
  demo data    ./pms seed
  processes    ./pms status        logs   ./pms logs [name]
  stop         ./pms down

MSG
}

pms_down() {
    if pms_supervisord_running; then
        pms_say "stopping supervisord and its programs"
        pms_ctl shutdown >/dev/null || true
        local i
        for ((i = 0; i < 300; i++)); do
            if ! { [ -f "$PMS_RUN/supervisord.pid" ] \
                   && kill -0 "$(cat "$PMS_RUN/supervisord.pid")" 2>/dev/null; }; then
                break
            fi
            sleep 0.1
        done
    fi
    pms_pg_stop
}

pms_status() {
    if pms_supervisord_running; then
        pms_ctl status || true
    else
        echo "supervisord: not running"
    fi
    if pms_pg_running; then
        echo "postgresql                       RUNNING   port $(cat "$PMS_PG_DIR/port")"
    else
        echo "postgresql                       STOPPED"
    fi
}

pms_logs() {
    if [ $# -gt 0 ]; then
        tail -n "${PMS_LOG_LINES:-100}" "$PMS_RUN/log/$1.log"
    else
        tail -n "${PMS_LOG_LINES:-20}" "$PMS_RUN"/log/*.log
    fi
}
