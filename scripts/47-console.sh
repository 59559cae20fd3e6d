# scripts/47-console.sh -- the staff web console (console/): built by
# ./pms up with esbuild (npm ci of console/package-lock.json into the
# cache) into $PMS_RUN/console, which the gateway serves at /; its
# Keycloak client pms-console and the two demo users are made sure of
# through the admin REST API (the realm import only runs on Keycloak's
# first start); ./pms test runs the browser suite (tests/browser) in a
# headless Chromium driven by Selenium.
#
# Demo users, passwords generated into $PMS_RUN/keycloak (mode 0600):
#   frontdesk  patient-reader + patient-writer
#   auditor    patient-reader

command -v npm >/dev/null 2>&1 || PMS_APT_PACKAGES+=(nodejs npm)
PMS_APT_PACKAGES+=(chromium chromium-driver)
: "${PMS_CONSOLE_CLIENT:=pms-console}"
export PMS_CONSOLE_CLIENT

# npm ci into $PMS_CACHE/console when the lock file changed, then the build.
pms_console_build() {
    local cache="$PMS_CACHE/console" stamp
    stamp=$(cat "$PMS_SRC/console/package.json" "$PMS_SRC/console/package-lock.json" | sha256sum | cut -c1-16)
    if [ "$(cat "$cache/.installed" 2>/dev/null)" != "$stamp" ]; then
        pms_say "console: npm ci (console/package-lock.json) into $cache"
        rm -rf "$cache"
        mkdir -p "$cache"
        cp "$PMS_SRC/console/package.json" "$PMS_SRC/console/package-lock.json" "$cache/"
        (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
            || pms_die "console: npm ci failed"
        echo "$stamp" > "$cache/.installed"
    fi
    NODE_MODULES="$cache/node_modules" node "$PMS_SRC/console/build.mjs" "$PMS_RUN/console" >/dev/null \
        || pms_die "console: the esbuild build failed"
    chmod -R a+rX "$PMS_RUN/console"
}
PMS_HOOK_PREPARE+=(pms_console_build)

# pms_kc_admin METHOD PATH [JSON]: the Keycloak admin REST API of the realm.
pms_kc_admin() {
    local method="$1" path="$2"
    shift 2
    curl -fsS -X "$method" -H "Authorization: Bearer $PMS_KC_ADMIN_TOKEN" \
        -H 'Content-Type: application/json' "$@" \
        "$PMS_KEYCLOAK_URL/admin/realms/patient-management$path"
}

# The client as keycloak/ declares it for this port, with the redirect
# URIs and origins it already has kept (a second gateway port adds its own).
pms_console_client() {
    local want have id
    # shellcheck disable=SC2016  # envsubst's list of variables, literally
    want=$(jq '.clients[] | select(.clientId == "pms-console")' \
        "$PMS_SRC/keycloak/realm-patient-management.json.tmpl" | envsubst '$PMS_HTTP_PORT')
    have=$(pms_kc_admin GET "/clients?clientId=$PMS_CONSOLE_CLIENT" | jq '.[0] // empty')
    if [ -z "$have" ]; then
        pms_kc_admin POST /clients -d "$want" >/dev/null
        return
    fi
    id=$(jq -r .id <<<"$have")
    jq -n --argjson have "$have" --argjson want "$want" '
        $have * ($want | del(.protocolMappers))
        | .redirectUris = ($have.redirectUris + $want.redirectUris | unique)
        | .webOrigins = ($have.webOrigins + $want.webOrigins | unique)
        | .attributes["post.logout.redirect.uris"] =
            ((($have.attributes["post.logout.redirect.uris"] // "") | split("##"))
             + ($want.attributes["post.logout.redirect.uris"] | split("##"))
             | map(select(. != "")) | unique | join("##"))' \
        | pms_kc_admin PUT "/clients/$id" -d @- >/dev/null
}

# pms_console_user NAME PASSWORD ROLE...: creates or resets a realm user.
pms_console_user() {
    local name="$1" password="$2" id role roles="[]"
    shift 2
    id=$(pms_kc_admin GET "/users?username=$name&exact=true" | jq -r '.[0].id // empty')
    if [ -z "$id" ]; then
        jq -n --arg u "$name" '{username: $u, enabled: true, emailVerified: true,
                firstName: ($u | ascii_upcase[0:1] + .[1:]), lastName: "Demo",
                email: ($u + "@pms.example.com"), requiredActions: []}' \
            | pms_kc_admin POST /users -d @- >/dev/null
        id=$(pms_kc_admin GET "/users?username=$name&exact=true" | jq -r '.[0].id')
    fi
    jq -n --arg p "$password" '{type: "password", value: $p, temporary: false}' \
        | pms_kc_admin PUT "/users/$id/reset-password" -d @- >/dev/null
    for role in "$@"; do
        roles=$(jq --argjson r "$(pms_kc_admin GET "/roles/$role")" '. + [$r]' <<<"$roles")
    done
    pms_kc_admin POST "/users/$id/role-mappings/realm" -d "$roles" >/dev/null
}

# An admin token; Keycloak may still answer 500 for a while after its
# realm endpoints are up (seen right after a restart), so it is retried.
pms_console_admin_token() {
    local admin_password i
    admin_password="$(pms_keycloak_secret PMS_KEYCLOAK_ADMIN_PASSWORD admin-password)"
    for ((i = 0; i < 45; i++)); do
        if PMS_KC_ADMIN_TOKEN=$(curl -fsS -d grant_type=password -d client_id=admin-cli \
                --data-urlencode "username=${PMS_KEYCLOAK_ADMIN:-admin}" \
                --data-urlencode "password=$admin_password" \
                "$PMS_KEYCLOAK_URL/realms/master/protocol/openid-connect/token" 2>/dev/null \
                | jq -er .access_token); then
            return 0
        fi
        sleep 2
    done
    return 1
}

pms_console_keycloak() {
    pms_console_admin_token || pms_die "console: no Keycloak admin token after 90 s"
    pms_console_client || pms_die "console: could not set up the Keycloak client $PMS_CONSOLE_CLIENT"
    pms_console_user frontdesk "$(pms_keycloak_secret PMS_CONSOLE_FRONTDESK_PASSWORD frontdesk-password)" \
        patient-reader patient-writer || pms_die "console: could not set up the user frontdesk"
    pms_console_user auditor "$(pms_keycloak_secret PMS_CONSOLE_AUDITOR_PASSWORD auditor-password)" \
        patient-reader || pms_die "console: could not set up the user auditor"
    unset PMS_KC_ADMIN_TOKEN
}
PMS_HOOK_READY+=(pms_console_keycloak)

# The lines ./pms up ends with.
pms_console_usage() {
    printf '  console      http://127.0.0.1:%s/   sign in as frontdesk / %s (read and write)\n' \
        "$PMS_HTTP_PORT" "$(pms_keycloak_secret PMS_CONSOLE_FRONTDESK_PASSWORD frontdesk-password)"
    printf '                                         or auditor / %s (read only)\n' \
        "$(pms_keycloak_secret PMS_CONSOLE_AUDITOR_PASSWORD auditor-password)"
}

# ./pms test: the browser suite against the live gateway.
pms_console_test() {
    pms_say "browser tests (tests/browser: headless Chromium, Selenium)"
    pms_python_env || return 1
    NODE_MODULES="$PMS_CACHE/console/node_modules" \
        timeout -k 10 "${PMS_BROWSER_TEST_TIMEOUT:-300}" "$PMS_PYTHON" \
        "$PMS_SRC/tests/browser/test_console.py" -v 2>&1 | tee "$PMS_RUN/log/browser-tests.out"
    grep -q '^OK' "$PMS_RUN/log/browser-tests.out"
}
PMS_HOOK_TEST+=(pms_console_test)
