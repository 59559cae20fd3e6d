# scripts/45-keycloak.sh -- Keycloak, the identity provider: fetched from
# Maven Central (org.keycloak:keycloak-quarkus-dist, zip) into the cache,
# built once for PostgreSQL, started under supervisord with the realm of
# keycloak/ imported on first start.  Client secrets and the admin
# password are generated into $PMS_RUN/keycloak on first use unless the
# PMS_* variables below are set.  ./pms token [client] prints a token.

: "${PMS_KEYCLOAK_VERSION:=26.3.5}"
: "${PMS_KEYCLOAK_PORT:=8080}"
: "${PMS_KEYCLOAK_MGMT_PORT:=9000}"
: "${PMS_KEYCLOAK_HEAP:=-Xms64m -Xmx512m}"
export PMS_KEYCLOAK_VERSION PMS_KEYCLOAK_PORT PMS_KEYCLOAK_MGMT_PORT PMS_KEYCLOAK_HEAP
export PMS_KEYCLOAK_URL="http://127.0.0.1:$PMS_KEYCLOAK_PORT"
export PMS_OIDC_ISSUER="${PMS_OIDC_ISSUER:-$PMS_KEYCLOAK_URL/realms/patient-management}"
export PMS_OIDC_JWKS_URL="${PMS_OIDC_JWKS_URL:-$PMS_OIDC_ISSUER/protocol/openid-connect/certs}"
PMS_DATABASES+=(keycloak)
command -v java >/dev/null 2>&1 || PMS_APT_PACKAGES+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || PMS_APT_PACKAGES+=(maven)
PMS_APT_PACKAGES+=(unzip)

pms_keycloak_home() {
    echo "$PMS_CACHE/keycloak-$PMS_KEYCLOAK_VERSION"
}

# A secret from the environment, else from $PMS_RUN/keycloak/<name>,
# else a new random one stored there.
pms_keycloak_secret() {
    local var="$1" file="$PMS_RUN/keycloak/$2"
    if [ -n "${!var:-}" ]; then
        printf '%s' "${!var}"
        return
    fi
    mkdir -p "$PMS_RUN/keycloak"
    if [ ! -s "$file" ]; then
        (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$file")
    fi
    cat "$file"
}

pms_keycloak_fetch() {
    local home zip
    home="$(pms_keycloak_home)"
    [ -x "$home/bin/kc.sh" ] && return 0
    zip="$PMS_CACHE/keycloak-quarkus-dist-$PMS_KEYCLOAK_VERSION.zip"
    if [ ! -s "$zip" ]; then
        pms_say "fetching Keycloak $PMS_KEYCLOAK_VERSION from Maven Central"
        mkdir -p "$PMS_CACHE/m2"
        mvn -q -B -Dmaven.repo.local="$PMS_CACHE/m2" \
            org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
            -Dartifact="org.keycloak:keycloak-quarkus-dist:$PMS_KEYCLOAK_VERSION:zip" \
            -DoutputDirectory="$PMS_CACHE" >/dev/null \
            || pms_die "could not fetch keycloak-quarkus-dist $PMS_KEYCLOAK_VERSION"
    fi
    (cd "$PMS_CACHE" && unzip -q -o "$zip") || pms_die "could not unpack $zip"
}

pms_keycloak_prepare() {
    local home
    pms_keycloak_fetch
    home="$(pms_keycloak_home)"
    export PMS_KEYCLOAK_HOME="$home"
    export PMS_KEYCLOAK_DB_PASSWORD PMS_MS_API_SECRET PMS_MS_READONLY_SECRET
    export PMS_KEYCLOAK_ADMIN="${PMS_KEYCLOAK_ADMIN:-admin}"
    export PMS_KEYCLOAK_ADMIN_PASSWORD
    PMS_KEYCLOAK_DB_PASSWORD="$(pms_keycloak_secret PMS_KEYCLOAK_DB_PASSWORD db-password)"
    PMS_MS_API_SECRET="$(pms_keycloak_secret PMS_MS_API_SECRET ms-api-secret)"
    PMS_MS_READONLY_SECRET="$(pms_keycloak_secret PMS_MS_READONLY_SECRET ms-readonly-secret)"
    PMS_KEYCLOAK_ADMIN_PASSWORD="$(pms_keycloak_secret PMS_KEYCLOAK_ADMIN_PASSWORD admin-password)"
    pms_psql_as_admin -d postgres -c "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'keycloak') THEN
            CREATE ROLE keycloak LOGIN;
        END IF; END \$\$;" \
        -c "ALTER ROLE keycloak PASSWORD '$PMS_KEYCLOAK_DB_PASSWORD'" \
        -c "ALTER DATABASE keycloak OWNER TO keycloak" >/dev/null
    mkdir -p "$PMS_RUN/log"
    # Build the optimized server once per version (PostgreSQL, health).
    if [ ! -f "$home/.pms-built" ]; then
        pms_say "building Keycloak for PostgreSQL (once)"
        "$home/bin/kc.sh" build --db=postgres --health-enabled=true \
            >"$PMS_RUN/log/keycloak-build.log" 2>&1 \
            || { tail -20 "$PMS_RUN/log/keycloak-build.log"; pms_die "kc.sh build failed"; }
        touch "$home/.pms-built"
    fi
    mkdir -p "$home/data/import"
    pms_render "$PMS_SRC/keycloak/realm-patient-management.json.tmpl" \
        "$home/data/import/realm-patient-management.json"
    chmod 600 "$home/data/import/realm-patient-management.json"
    if pms_is_root; then
        chown -R pms: "$home/data" "$home/lib" "$home/conf" 2>/dev/null || true
    fi
}
PMS_HOOK_PREPARE+=(pms_keycloak_prepare)

pms_keycloak_ready() {
    curl -fsS -o /dev/null "$PMS_OIDC_ISSUER/.well-known/openid-configuration"
}

# The gateway accepts a real token end to end (pms-auth has the realm's keys).
pms_gateway_accepts_token() {
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(pms_token ms-api 2>/dev/null)" \
        "http://127.0.0.1:$PMS_HTTP_PORT/api/patients?size=1")"
    [ "$code" = 200 ]
}

pms_keycloak_wait() {
    pms_wait_for "Keycloak" "${PMS_KEYCLOAK_TIMEOUT:-240}" pms_keycloak_ready
    pms_wait_for "the gateway to accept a token" 30 pms_gateway_accepts_token
}
PMS_HOOK_READY+=(pms_keycloak_wait)

# ./pms token [client]: an access token by client credentials.
pms_token() {
    local client="${1:-ms-api}" secret
    case "$client" in
        ms-api)      secret="$(pms_keycloak_secret PMS_MS_API_SECRET ms-api-secret)" ;;
        ms-readonly) secret="$(pms_keycloak_secret PMS_MS_READONLY_SECRET ms-readonly-secret)" ;;
        *)           pms_die "unknown client $client (ms-api, ms-readonly)" ;;
    esac
    curl -fsS -d grant_type=client_credentials -d "client_id=$client" \
        --data-urlencode "client_secret=$secret" \
        "$PMS_OIDC_ISSUER/protocol/openid-connect/token" | jq -er .access_token \
        || pms_die "no token from $PMS_OIDC_ISSUER (is ./pms up running?)"
}

# pms-auth, the gateway's JWT helper.
: "${PMS_AUTH_PORT:=4003}"
: "${PMS_OIDC_AUDIENCE:=patient-api}"
: "${PMS_OIDC_CLIENTS:=ms-api,ms-readonly,pms-console}"
: "${PMS_OIDC_LEEWAY:=60}"
: "${PMS_AUTH_THREADS:=4}"
export PMS_AUTH_PORT PMS_OIDC_AUDIENCE PMS_OIDC_CLIENTS PMS_OIDC_LEEWAY PMS_AUTH_THREADS
