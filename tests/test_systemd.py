"""The systemd unit as shipped: the settings the daemon relies on, cross-checked against the code
(exit codes, credential names, config path), and systemd's own security assessment of it."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from driverwatch.config import SYSTEM_CONFIG
from driverwatch.config.mqtt import MqttConfig
from driverwatch.errors import ConfigError, DeviceError, UsageError

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "driverwatch.service"


def settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    section = ""
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key}", []).append(value)
    return out


def one(s, key) -> str:
    assert len(s[key]) == 1, key
    return s[key][0]


def test_notify_watchdog_and_restart_policy():
    s = settings()
    assert one(s, "Service.Type") == "notify"
    assert 0 < int(one(s, "Service.WatchdogSec")) <= 30
    assert one(s, "Service.Restart") == "on-failure"
    no_restart = one(s, "Service.RestartPreventExitStatus").split()
    assert str(ConfigError.exit_code) in no_restart and str(UsageError.exit_code) in no_restart
    assert str(DeviceError.exit_code) not in no_restart  # a camera plugged in later is worth a restart
    exec_start = one(s, "Service.ExecStart").split()
    assert exec_start[0] == "/opt/driverwatch/venv/bin/driverwatch"
    assert exec_start[1:] == ["--config", str(SYSTEM_CONFIG), "run"]


def test_runs_as_a_dedicated_user_with_device_groups_only():
    s = settings()
    assert one(s, "Service.User") == "driverwatch"
    assert set(one(s, "Service.SupplementaryGroups").split()) >= {"video", "dialout", "audio"}
    assert one(s, "Service.CapabilityBoundingSet") == ""
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "DevicePolicy": "closed", "StateDirectory": "driverwatch",
                       "LogsDirectory": "driverwatch"}.items():
        assert one(s, f"Service.{key}") == value, key
    allowed = {v.split()[0] for v in s["Service.DeviceAllow"]}
    assert {"char-video4linux", "char-alsa", "char-ttyUSB", "char-ttyACM"} <= allowed
    assert set(one(s, "Service.RestrictAddressFamilies").split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}


def test_mqtt_secret_is_passed_under_the_name_the_mqtt_sink_reads():
    creds = settings()["Service.LoadCredential"]
    assert MqttConfig().password_credential in creds


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_rates_the_unit_well_hardened():
    proc = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", str(UNIT)],
                          capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for driverwatch.service: ([\d.]+) (\w+)", proc.stdout + proc.stderr)
    assert m, proc.stdout + proc.stderr
    # 0 = fully locked down, 10 = unprotected; a plain service scores 9.6 "UNSAFE"
    assert float(m.group(1)) <= 2.0 and m.group(2) == "OK"
