"""`driverwatch check`: config, cameras, serial ports, face models, audio and broker, one line each
with OK / WARN / FAIL and what is wrong. Exit 0 when nothing FAILs, else 1.

Anything that could hang (a busy camera, a silent broker) runs with a timeout: cameras are probed
in child processes that are killed when they do not answer.
"""

from __future__ import annotations

import os
import socket
import ssl
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from driverwatch.sources.camera import device_holders


@dataclass
class Check:
    status: str  # OK | WARN | FAIL
    item: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4} {self.item}: {self.detail}"


def add_arguments(p) -> None:
    p.add_argument("--timeout", type=float, default=5.0, metavar="S",
                   help="seconds allowed per camera, audio device and broker probe (default 5)")


def main(args) -> int:
    checks = run_checks(args.config, timeout=args.timeout, out=lambda c: print(c.line(), flush=True))
    n = {s: sum(c.status == s for c in checks) for s in ("OK", "WARN", "FAIL")}
    print(f"{n['OK']} ok, {n['WARN']} warnings, {n['FAIL']} failures")
    return 1 if n["FAIL"] else 0


def run_checks(config_path=None, timeout: float = 5.0, out=None) -> list[Check]:
    from driverwatch.config import Config, default_config_path, load_config
    from driverwatch.daemon.facecheck import check_face
    from driverwatch.errors import DriverwatchError

    results: list[Check] = []

    def emit(cs: list[Check]) -> None:
        for c in cs:
            results.append(c)
            if out:
                out(c)

    source = config_path or default_config_path()
    try:
        cfg = load_config(config_path)
        emit([Check("OK", "config", str(source) if source else "built-in defaults (no config file)")])
    except DriverwatchError as err:
        emit([Check("FAIL", "config", f"{err} (checking the rest with built-in defaults)")])
        cfg = Config()
    emit(check_models(cfg))
    emit(check_cameras(cfg, timeout))
    emit(check_face(cfg, config_path, timeout, results))  # daemon/facecheck.py
    emit(check_serial(cfg))
    emit(check_speed(cfg, timeout))
    emit(check_audio(cfg, timeout))
    emit(check_broker(cfg, timeout))
    return results


# ---- models -----------------------------------------------------------------------------------

def check_models(cfg) -> list[Check]:
    from driverwatch.errors import DriverwatchError
    from driverwatch.vision.models import resolve_models_dir, verify_models

    d = resolve_models_dir(cfg.vision)
    try:
        verify_models(d)
    except DriverwatchError as err:
        return [Check("FAIL", "models", str(err))]
    return [Check("OK", "models", f"face models present and intact in {d}"), check_bundle(d)]


def check_bundle(d) -> Check:
    from driverwatch.errors import DriverwatchError
    from driverwatch.vision.models import BUNDLE, BUNDLE_HINT, load_bundle

    try:
        if load_bundle(d) is None:
            return Check("WARN", "landmarker", f"{BUNDLE} not installed: expression scores unknown ({BUNDLE_HINT})")
    except DriverwatchError as err:
        return Check("WARN", "landmarker", str(err))
    return Check("OK", "landmarker", f"{BUNDLE} present and intact (FaceMesh V2, expression scores)")


# ---- cameras ----------------------------------------------------------------------------------

_PROBE = """
import sys, cv2
dev = sys.argv[1]
src = int(dev) if dev.isdigit() else dev
cap = cv2.VideoCapture(src, cv2.CAP_V4L2) if dev.startswith("/dev/video") else cv2.VideoCapture(src)
if not cap.isOpened():
    print("OpenCV cannot open it"); sys.exit(2)
ok, img = cap.read()
if not ok or img is None:
    print("opens, but delivers no frame"); sys.exit(3)
print(f"opens, {img.shape[1]}x{img.shape[0]} frames")
"""


def _probe_camera(dev: str, timeout: float) -> tuple[bool | None, str]:
    """(True, detail) works; (False, reason) does not; (None, reason) no answer in time."""
    proc = subprocess.Popen([sys.executable, "-c", _PROBE, dev], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None, f"no answer within {timeout:g} s (busy or hung driver)"
    return proc.returncode == 0, (out.strip().splitlines() or [f"probe exited with {proc.returncode}"])[-1]


def _v4l2_nodes() -> list[tuple[str, str, bool]]:
    """(/dev/videoN, name, is a capture node) for every V4L2 node, from sysfs."""
    nodes = []
    for dev in sorted(Path("/dev").glob("video*"), key=lambda p: (len(p.name), p.name)):
        sysfs = Path("/sys/class/video4linux") / dev.name
        try:
            name = (sysfs / "name").read_text().strip()
        except OSError:
            name = "?"
        try:  # UVC cameras add a metadata node with index 1; only index 0 captures
            capture = int((sysfs / "index").read_text()) == 0
        except (OSError, ValueError):
            capture = True
        nodes.append((str(dev), name, capture))
    return nodes


def _camera_path(device) -> str:
    if isinstance(device, int) or (isinstance(device, str) and device.isdigit()):
        return f"/dev/video{int(device)}"
    return str(device)


def check_cameras(cfg, timeout: float) -> list[Check]:
    configured = _camera_path(cfg.camera.device)
    nodes = _v4l2_nodes()
    out = []
    paths = [n[0] for n in nodes if n[2]]
    if configured not in paths:
        paths.insert(0, configured)
    for path in paths:
        label = f"camera {path}" + (" (configured)" if path == configured else "")
        name = next((n[1] for n in nodes if n[0] == path), None)
        fail = "FAIL" if path == configured else "WARN"
        is_url = "://" in path
        if not is_url and not os.path.exists(path):
            hint = "plugged in?" if path.startswith("/dev/") else "file missing"
            found = ", ".join(paths[1:]) if len(paths) > 1 else "none"
            out.append(Check(fail, label, f"does not exist ({hint}); cameras found: {found}"))
            continue
        if path.startswith("/dev/") and not os.access(path, os.R_OK | os.W_OK):
            out.append(Check(fail, label, "no permission (add the user to the 'video' group)"))
            continue
        ok, detail = _probe_camera(path, timeout)
        if name:
            detail = f"{name}: {detail}"
        if ok:
            out.append(Check("OK", label, detail))
            continue
        users = device_holders(path) if path.startswith("/dev/") else []
        if users:  # busy is not broken: typically the service itself holds it
            out.append(Check("WARN", label, f"{detail}; in use by {', '.join(users)}"))
        else:
            out.append(Check(fail if ok is False else "WARN", label, detail))
    return out


# ---- serial ports -----------------------------------------------------------------------------

_LISTEN_S = 4.0  # seconds of a configured heart sensor's lines read to name its protocol


def listen_heart(cfg, seconds: float = _LISTEN_S) -> tuple[str, str]:
    """Read the heart sensor's lines for up to `seconds` through the daemon's parser: (status, detail)."""
    from driverwatch.errors import DriverwatchError
    from driverwatch.physio.protocols import LineParser
    from driverwatch.sources.heart import MAX_LINE, open_port

    try:
        ser = open_port(cfg.port, cfg.baud)
    except DriverwatchError as err:
        return "FAIL", str(err)
    parser = LineParser(cfg)
    buf, first, valid = b"", True, 0
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end and not (parser.protocol and valid >= 3):
            buf += ser.read(max(1, ser.in_waiting))
            *lines, buf = buf.split(b"\n")
            buf = buf[-MAX_LINE:]
            for line in lines:
                if first:  # joined mid-stream: the first line may be cut
                    first = False
                    continue
                valid += bool(parser.parse(line.rstrip(b"\r"), time.monotonic()))
    except (OSError, DriverwatchError) as err:
        return "FAIL", f"read failed: {err}"
    finally:
        ser.close()
    c = parser.counts
    n = c["lines"]
    bad = n - c["valid"] - c["empty"]
    how = "recognised" if cfg.protocol == "auto" else "configured"
    if not n:
        return "WARN", (f"opens, but sent no line in {seconds:g} s (sensor powered? right port? "
                        f"baud {cfg.baud}?)")
    if parser.protocol is None or not c["valid"]:
        return "WARN", f"{n} lines, none valid as {parser.protocol or 'any protocol'} ({bad} bad; baud {cfg.baud}?)"
    return "OK", f"{n} lines, protocol {parser.protocol} ({how}), {c['valid']} valid, {bad} bad"


def check_serial(cfg, listen_s: float = _LISTEN_S) -> list[Check]:
    from serial.tools import list_ports

    ports = sorted(list_ports.comports(), key=lambda p: p.device)
    configured = cfg.heart.port
    out = []
    if configured:
        real = os.path.realpath(configured)
        if not os.path.exists(configured):
            found = ", ".join(p.device for p in ports) or "none"
            out.append(Check("FAIL", f"heart sensor {configured}", f"does not exist; serial ports found: {found}"))
        elif not os.access(configured, os.R_OK | os.W_OK):
            out.append(Check("FAIL", f"heart sensor {configured}", "no permission (add the user to the 'dialout' group)"))
        else:
            status, detail = listen_heart(cfg.heart, listen_s)
            out.append(Check(status, f"heart sensor {configured}", detail))
        ports = [p for p in ports if os.path.realpath(p.device) != real]
    else:
        out.append(Check("OK", "heart sensor", "none configured"))
    obd_port = cfg.speed.obd_port if cfg.speed.source == "obd" else None
    if obd_port:
        ports = [p for p in ports if os.path.realpath(p.device) != os.path.realpath(obd_port)]
    for p in ports:
        desc = p.description if p.description and p.description != "n/a" else "serial port"
        out.append(Check("OK", f"serial {p.device}", desc + (f" [{p.hwid}]" if p.hwid and p.hwid != "n/a" else "")))
    return out


def check_speed(cfg, timeout: float) -> list[Check]:
    """The OBD-II adapter when speed.source = 'obd': it answers and the car reports a speed."""
    s = cfg.speed
    if s.source != "obd":
        return []
    item = f"OBD adapter {s.obd_port}"
    if not os.path.exists(s.obd_port):
        hint = "rfcomm bind done?" if "rfcomm" in s.obd_port else "plugged in?"
        return [Check("FAIL", item, f"does not exist ({hint})")]
    if not os.access(s.obd_port, os.R_OK | os.W_OK):
        return [Check("FAIL", item, "no permission (add the user to the 'dialout' group)")]
    from driverwatch.errors import DriverwatchError
    from driverwatch.sources.obd import ObdSpeed

    try:
        src = ObdSpeed(s.obd_port, s.obd_baud, s.obd_interval_s).start()
    except DriverwatchError as err:
        return [Check("FAIL", item, str(err))]
    try:
        got = None
        end = time.monotonic() + max(timeout, 8.0)  # python-OBD's connect alone takes ~3 s (ATZ, ATSP0, 0100)
        while got is None and time.monotonic() < end:
            got = src.take()
            time.sleep(0.1)
    finally:
        src.stop()
    if got is None:
        return [Check("FAIL", item, f"no speed from the car ({src.last_error or 'no answer'}; ignition on?)")]
    return [Check("OK", item, f"ELM327 answers, vehicle speed {got.kmh:.0f} km/h")]


# ---- audio ------------------------------------------------------------------------------------

def check_audio(cfg, timeout: float) -> list[Check]:
    from driverwatch.sinks.chime import probe_player

    c = cfg.chime
    out = []
    if c.output == "none":
        out.append(Check("WARN", "audio", "output = 'none': chimes and critical alarms are not audible"))
    elif c.output == "wav":
        out.append(Check("OK", "audio", f"output = 'wav': chimes are written to {c.wav_path} (no sound device used)"))
    else:
        err = probe_player(c, timeout)
        if err:
            out.append(Check("WARN", f"audio {c.device}", f"{err} (the daemon runs, but chimes are silent)"))
        else:
            out.append(Check("OK", f"audio {c.device}", "opens for playback"))
    if c.gpio_buzzer_pin is not None or c.gpio_led_pin is not None:
        import importlib.util

        libs = [m for m in ("gpiozero", "lgpio") if importlib.util.find_spec(m)]
        out.append(Check("OK", "gpio", f"using {libs[0]}") if libs else
                   Check("WARN", "gpio", "buzzer/LED pins set but neither gpiozero nor lgpio is installed"))
    return out


# ---- broker -----------------------------------------------------------------------------------

CONNACK_REASONS = {  # MQTT 3.1.1 return codes and the MQTT 5 reason codes that mean the same
    1: "unacceptable protocol version", 2: "client id rejected", 3: "server unavailable",
    4: "bad user name or password", 5: "not authorized", 0x84: "unsupported protocol version",
    0x85: "client id rejected", 0x86: "bad user name or password", 0x87: "not authorized",
    0x88: "server unavailable", 0x89: "server busy", 0x8A: "banned",
}


def _utf8(s: str) -> bytes:
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, d = divmod(n, 128)
        out.append(d | (0x80 if n else 0))
        if not n:
            return bytes(out)


def connect_packet(client_id: str, version: int, keepalive: int = 10,
                   username: str | None = None, password: str | None = None) -> bytes:
    flags = 0x02 | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    body = _utf8("MQTT") + bytes([version, flags]) + struct.pack("!H", keepalive)
    if version == 5:
        body += b"\x00"  # no properties
    body += _utf8(client_id)
    if username is not None:
        body += _utf8(username)
    if password is not None:
        body += _utf8(password)
    return b"\x10" + _varint(len(body)) + body


def mqtt_probe(host: str, port: int, timeout: float, version: int = 4, username: str | None = None,
               password: str | None = None, tls: ssl.SSLContext | None = None) -> tuple[bool, str]:
    """TCP connect + CONNECT + CONNACK + DISCONNECT. (accepted, detail)."""
    t0 = time.monotonic()
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as err:
        return False, f"cannot connect to {host}:{port}: {err.strerror or err}"
    try:
        sock.settimeout(max(0.1, timeout - (time.monotonic() - t0)))
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=host)
        sock.sendall(connect_packet(f"driverwatch-check-{os.getpid()}", version, 10, username, password))
        if _recv(sock, 1)[0] != 0x20:
            return False, f"{host}:{port} answered, but not with an MQTT CONNACK"
        body = _recv(sock, _recv_varint(sock))  # MQTT 5 CONNACKs with properties exceed 127 bytes
        code = body[1]
        if code != 0:
            return False, f"{host}:{port} refused the connection: {CONNACK_REASONS.get(code, f'code {code}')}"
        sock.sendall(b"\xe0\x00")  # DISCONNECT
        ms = (time.monotonic() - t0) * 1000
        return True, f"{host}:{port} accepted an MQTT {'5' if version == 5 else '3.1.1'} connection in {ms:.0f} ms"
    except TimeoutError:
        return False, f"{host}:{port}: no MQTT answer within {timeout:g} s"
    except ssl.SSLError as err:
        return False, f"{host}:{port}: TLS failed: {err.reason or err}"
    except (OSError, IndexError) as err:
        return False, f"{host}:{port}: connection dropped during the MQTT handshake ({err or 'closed'})"
    finally:
        sock.close()


def _recv_varint(sock) -> int:
    """MQTT's remaining length: 7 bits per byte, least significant first, at most 4 bytes."""
    n = 0
    for i in range(4):
        b = _recv(sock, 1)[0]
        n |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            return n
    raise OSError("malformed remaining length in CONNACK")


def _recv(sock, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("closed by the broker")
        data += chunk
    return data


def check_broker(cfg, timeout: float) -> list[Check]:
    from driverwatch.errors import DriverwatchError

    m = cfg.mqtt
    if not m.host:
        return [Check("OK", "broker", "none configured: events go to the local log only")]
    port = m.port or (8883 if m.tls.enabled else 1883)
    try:
        from driverwatch.sinks import mqtt_tls as sink

        password = sink.read_password(m)
        tls = sink.tls_context(m) if m.tls.enabled else None
    except DriverwatchError as err:
        return [Check("FAIL", f"broker {m.host}:{port}", str(err))]
    version = 5 if m.protocol == "5" else 4
    ok, detail = mqtt_probe(m.host, port, timeout, version, m.username, password, tls)
    return [Check("OK" if ok else "FAIL", "broker", detail)]
