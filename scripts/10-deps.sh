# scripts/10-deps.sh -- the Debian packages the stack needs, installed by
# ./pms up when missing (as root).  Components add theirs to the array.

PMS_APT_PACKAGES+=(
    build-essential autoconf automake pkg-config gettext-base
    libjansson-dev libpq-dev check libsubunit-dev libfcgi-dev
    libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libgrpc-dev
    librdkafka-dev libcjose-dev libcurl4-openssl-dev
    nginx-light libnginx-mod-http-ndk libnginx-mod-http-set-misc
    spawn-fcgi supervisor postgresql postgresql-client
    curl jq python3 procps iproute2 valgrind kcat wrk shellcheck clang-format
)

pms_install_deps() {
    local missing=() p
    for p in "${PMS_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    pms_is_root || pms_die "missing packages (run as root to install): ${missing[*]}"
    pms_say "installing ${#missing[@]} Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts a system nginx on :80 on install; pms runs its own.
    if command -v service >/dev/null 2>&1; then
        service nginx stop >/dev/null 2>&1 || true
    fi
}
