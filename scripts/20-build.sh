# scripts/20-build.sh -- the autotools build, out of tree in the run
# directory, installed under $PMS_PREFIX.  Re-running only rebuilds what
# changed.

pms_build() {
    local jobs
    jobs="$(nproc 2>/dev/null || echo 2)"
    mkdir -p "$PMS_BUILD"
    if [ ! -x "$PMS_SRC/configure" ] || [ "$PMS_SRC/configure.ac" -nt "$PMS_SRC/configure" ]; then
        pms_say "autoreconf"
        (cd "$PMS_SRC" && autoreconf -fi >/dev/null 2>&1) || pms_die "autoreconf failed"
    fi
    if [ ! -f "$PMS_BUILD/Makefile" ]; then
        pms_say "configure"
        local flags
        read -ra flags <<< "${PMS_CONFIGURE_FLAGS:-}"    # words, e.g. --enable-asan
        (cd "$PMS_BUILD" && "$PMS_SRC/configure" -q --prefix="$PMS_PREFIX" \
            --enable-werror "${flags[@]}") || pms_die "configure failed"
    fi
    pms_say "make"
    make -s -C "$PMS_BUILD" -j"$jobs" >/dev/null || pms_die "build failed"
    make -s -C "$PMS_BUILD" install >/dev/null || pms_die "make install failed"
}
