"""scripts/install.sh into a temporary prefix (no root, no systemctl), then systemd-analyze verify
on the unit it installed. Uses this checkout's environment via --venv so it stays fast."""

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from driverwatch.config import load_config

REPO = Path(__file__).resolve().parents[1]
INSTALL = REPO / "scripts" / "install.sh"
VENV = Path(sys.prefix)  # the environment running the tests has driverwatch installed


def install(*args, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["bash", str(INSTALL), *map(str, args)], capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def prefix(tmp_path_factory) -> Path:
    if not (VENV / "bin" / "driverwatch").exists():
        pytest.skip("driverwatch is not installed as a console script in this environment")
    p = tmp_path_factory.mktemp("root")
    install("--prefix", p, "--venv", VENV, "--skip-models")
    return p


def test_prefix_install_lays_out_config_secrets_and_unit(prefix):
    config = prefix / "etc/driverwatch/driverwatch.toml"
    assert config.is_file() and stat.S_IMODE(config.stat().st_mode) == 0o640
    cfg = load_config(config)  # the installed config is valid for the installed package
    assert cfg.chime.output == "alsa"
    assert stat.S_IMODE((prefix / "etc/credstore").stat().st_mode) == 0o700
    unit = (prefix / "etc/systemd/system/driverwatch.service").read_text()
    exec_start = next(ln for ln in unit.splitlines() if ln.startswith("ExecStart="))
    assert exec_start == f"ExecStart={VENV}/bin/driverwatch --config {config} run"
    assert "/opt/driverwatch" not in unit and "=/etc/driverwatch" not in unit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_installed_unit_passes_systemd_analyze_verify(prefix):
    unit = prefix / "etc/systemd/system/driverwatch.service"
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    # verify returns 0 even for unknown keys or bad values; it only warns: there must be none
    assert proc.stdout.strip() == "" and proc.stderr.strip() == "", proc.stderr


def test_the_check_hint_finds_the_installed_models(prefix, models_dir):
    """The config the install writes points at the models it installs, so `driverwatch --config
    CONFIG check` (the hint it prints) finds them outside systemd too."""
    config = prefix / "etc/driverwatch/driverwatch.toml"
    state = prefix / "var/lib/driverwatch"
    assert load_config(config).vision.models_dir == state / "models"
    shutil.copytree(models_dir, state / "models", dirs_exist_ok=True)  # what `models install --dest` lays out
    proc = subprocess.run([str(VENV / "bin/driverwatch"), "--config", str(config), "models", "verify"],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    assert proc.returncode == 0, proc.stderr


def test_existing_config_is_never_overwritten(prefix):
    config = prefix / "etc/driverwatch/driverwatch.toml"
    config.write_text('[chime]\nvolume = 0.3\ndevice = "plughw:1,0"\n')
    out = install("--prefix", prefix, "--venv", VENV, "--skip-models").stdout
    assert "kept existing" in out
    assert load_config(config).chime.device == "plughw:1,0"


def test_invalid_existing_config_stops_the_install(tmp_path):
    (tmp_path / "etc/driverwatch").mkdir(parents=True)
    (tmp_path / "etc/driverwatch/driverwatch.toml").write_text("[chime]\nvolumee = 1\n")
    proc = install("--prefix", tmp_path, "--venv", VENV, "--skip-models", check=False)
    assert proc.returncode != 0
    assert "chime.volumee: unknown key" in proc.stderr
    assert not (tmp_path / "etc/systemd/system/driverwatch.service").exists()


def test_dry_run_prints_the_system_steps_and_changes_nothing():
    watched = [Path("/etc/systemd/system/driverwatch.service"), Path("/opt/driverwatch"), Path("/etc/driverwatch")]
    before = [p.exists() for p in watched]
    user_before = subprocess.run(["id", "driverwatch"], capture_output=True).returncode
    out = install("--dry-run", "--no-apt").stdout
    for step in ("usermod -a -G", "-m venv /opt/driverwatch/venv", "pip install",
                 "/etc/driverwatch/driverwatch.toml", "models install --dest /var/lib/driverwatch/models",
                 "systemctl enable driverwatch.service"):
        assert step in out, step
    assert [p.exists() for p in watched] == before
    assert subprocess.run(["id", "driverwatch"], capture_output=True).returncode == user_before


def test_bad_option_is_a_usage_error():
    proc = install("--frobnicate", check=False)
    assert proc.returncode == 64 and "unknown option: --frobnicate" in proc.stderr
