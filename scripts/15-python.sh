# scripts/15-python.sh -- the Python the integration suite runs on: a venv
# at $PMS_CACHE/python/venv holding tests/requirements.txt at the versions
# tests/constraints.txt pins.  It is built once and reused; it is built
# anew when either file or python3's version changes (a stamp of them is
# kept in the venv).  Debian's python3-venv is installed when missing.
# The suite's stdlib-only tests run on it unchanged.

# pms_python_env: builds or reuses the venv and exports PMS_PYTHON, its
# python.  Returns non-zero (with a warning) when it cannot be built.
pms_python_env() {
    local req="$PMS_SRC/tests/requirements.txt" con="$PMS_SRC/tests/constraints.txt"
    local venv="$PMS_CACHE/python/venv" stamp v
    stamp=$( { python3 --version; cat "$req" "$con"; } | sha256sum | cut -c1-16)
    if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$stamp" ]; then
        pms_say "Python test tools into $venv (tests/requirements.txt)"
        rm -rf "$venv"
        mkdir -p "$(dirname "$venv")"
        if ! python3 -m venv "$venv" >/dev/null 2>&1; then
            # Debian splits ensurepip out of python3 into python3.X-venv.
            rm -rf "$venv"
            if ! pms_is_root || ! command -v apt-get >/dev/null 2>&1; then
                pms_warn "python3 -m venv failed: install python3-venv"
                return 1
            fi
            v=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
            export DEBIAN_FRONTEND=noninteractive
            apt-get install -y -qq "python$v-venv" >/dev/null 2>&1 \
                || { apt-get update -qq && apt-get install -y -qq "python$v-venv" >/dev/null; } \
                || { pms_warn "cannot install python$v-venv"; return 1; }
            python3 -m venv "$venv" || { pms_warn "python3 -m venv failed"; return 1; }
        fi
        if ! "$venv/bin/pip" install -q --disable-pip-version-check \
                -r "$req" -c "$con"; then
            rm -rf "$venv"
            pms_warn "pip install of tests/requirements.txt failed"
            return 1
        fi
        echo "$stamp" > "$venv/.installed"
    fi
    export PMS_PYTHON="$venv/bin/python"
}
