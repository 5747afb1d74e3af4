"""The real serial path: sensor-sim / a test writer -> pseudo-terminal -> HeartSensor thread."""

import os
import random
import shutil
import subprocess
import sys
import threading
import time
import tty

import numpy as np
import pytest
from fixtures.data import shared_file
from support.util import wait_for

from driverwatch.config.heart import HeartConfig
from driverwatch.errors import PermissionDeniedError
from driverwatch.sources.heart import HeartSensor


def _sim(*args: str) -> tuple[subprocess.Popen, str]:
    p = subprocess.Popen([sys.executable, "-m", "driverwatch", "sensor-sim", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dev = p.stdout.readline().strip()
    assert dev.startswith("/dev/"), p.stderr.read()
    return p, dev


def _heartpy_bpm(data: np.ndarray, fs: float) -> float:
    hp = pytest.importorskip("heartpy")
    _, m = hp.process(data, fs)
    return float(m["bpm"])


@pytest.mark.slow
@pytest.mark.parametrize("name,speed", [("heartpy_data.csv", 5), ("heartpy_data2.csv", 20)])
def test_raw_ppg_over_serial_matches_heartpy(name, speed):
    path = shared_file(f"data/ppg/{name}")
    if name == "heartpy_data.csv":
        values, fs, extra = np.loadtxt(path), 100.0, ["--rate", "100"]
    else:
        tab = np.loadtxt(path, delimiter=",", skiprows=1)
        values, fs, extra = tab[:, 1], (len(tab) - 1) / (tab[-1, 0] - tab[0, 0]) * 1000.0, []
    ref = _heartpy_bpm(values, fs)
    sim, dev = _sim(str(path), *extra, "--speed", str(speed), "--delay", "0.5",
                    "--hold", "2")
    # the HR window spans the whole recording, like HeartPy's single figure for the file
    cfg = HeartConfig(port=dev, protocol="auto", signal="ppg", hr_window_s=200.0)
    sensor = HeartSensor(cfg).start()
    try:
        sim.wait(timeout=30)
    finally:
        sensor.stop()
    feats = [hf for hf in sensor.drain() if hf.sensor_ok and hf.hr is not None]
    c = sensor.counters()
    assert c["protocol"] == "raw" and c["lines_valid"] > 0.99 * len(values)
    assert feats, c
    assert abs(feats[-1].hr - ref) <= 3.0, (feats[-1].hr, ref)


def _writer(master: int, chunks: list[bytes]) -> threading.Thread:
    def run():
        for c in chunks:
            os.write(master, c)
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


@pytest.mark.slow
def test_garbage_is_counted_and_every_valid_value_parsed():
    rng = random.Random(7)
    valid = [round(rng.uniform(40, 180), 1) for _ in range(500)]
    lines, n_bad = [], 0
    vi = iter(valid)
    for i in range(10_000):
        lines.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))).replace(b"\n", b"")
                     + bytes([rng.randrange(128, 256)]))  # random bytes; one non-ASCII at least
        n_bad += 1
        if i % 50 == 10:
            lines.append(rng.choice([b"BPM:", b"BPM", b"HR=", b"B"]))  # cut off
            lines.append(b"7" * rng.randrange(300, 5000))  # oversized
            n_bad += 2
        if i % 20 == 0:
            lines.append(f"BPM:{next(vi)}".encode() if i % 40 else f"HR={next(vi)}".encode())
    assert next(vi, None) is None
    master, slave = os.openpty()
    tty.setraw(slave)
    got: list[float] = []
    cfg = HeartConfig(port=os.ttyname(slave), protocol="bpm")
    sensor = HeartSensor(cfg, on_samples=lambda s: got.extend(v for _, _, v in s)).start()
    polled, errors, done = [], [], threading.Event()

    def poll():  # the daemon's stats code reads the counters while the reader thread adds new reasons
        while not done.is_set():
            try:
                polled.append(sensor.counters())
            except Exception as err:  # noqa: BLE001 (the failure this test is about)
                errors.append(err)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        data = b"\n" + b"\n".join(lines) + b"\n"  # leading newline: the first (partial) line is empty
        th = _writer(master, [data[i:i + 997] for i in range(0, len(data), 997)])
        th.join(timeout=30)
        assert wait_for(lambda: len(got) >= len(valid), 10)
        time.sleep(0.3)
    finally:
        done.set()
        poller.join(timeout=5)
        sensor.stop()
        os.close(master)
        os.close(slave)
    assert not errors, errors[:1]
    assert len(polled) > 10 and polled[0].get("lines_valid", 0) <= polled[-1]["lines_valid"]
    c = sensor.counters()
    assert got == valid
    assert c["lines_valid"] == len(valid)
    bad = sum(v for k, v in c.items() if k.startswith("lines_") and k not in ("lines_lines", "lines_valid",
                                                                              "lines_empty"))
    assert bad == n_bad, c


@pytest.mark.slow
def test_unplug_and_replug_at_the_same_path(tmp_path):
    path = shared_file("data/ppg/heartpy_data.csv")
    link = str(tmp_path / "heart")
    sim, _ = _sim(str(path), "--rate", "100", "--loop", "--link", link)
    cfg = HeartConfig(port=link, protocol="auto")
    sensor = HeartSensor(cfg).start()
    try:
        assert wait_for(lambda: sensor.state == "ok", 5), sensor.counters()
        sim.kill()  # the device goes away: the pty master closes
        sim.wait()
        t_kill = time.monotonic()
        assert wait_for(lambda: sensor.state == "lost", 5, step=0.02), sensor.counters()
        lost_after = time.monotonic() - t_kill
        assert lost_after <= 3.0, lost_after
        assert any(not hf.sensor_ok for hf in sensor.drain())
        sim2, dev2 = _sim(str(path), "--rate", "100", "--loop", "--link", link)
        try:
            assert os.path.realpath(link) == dev2
            assert wait_for(lambda: sensor.state == "ok", 5), sensor.counters()
            assert wait_for(lambda: any(hf.sensor_ok for hf in sensor.drain()), 5)
            c = sensor.counters()
            # Under load the reader may open the dead device once more before the link is re-pointed
            # (one more connect and disconnect); what matters: one loss, reported once, and the
            # current connection is the only one not ended.
            assert c["connects"] >= 2 and c["connects"] == c["disconnects"] + 1 and c["lost"] == 1, c
        finally:
            sim2.kill()
            sim2.wait()
    finally:
        sensor.stop()


def test_permission_denied_names_the_port_and_dialout(tmp_path):
    master, slave = os.openpty()
    dev = os.ttyname(slave)
    mode = os.stat(dev).st_mode
    os.chmod(dev, 0)
    try:
        code = ("from driverwatch.config.heart import HeartConfig\n"
                "from driverwatch.sources.heart import HeartSensor\n"
                f"HeartSensor(HeartConfig(port={dev!r})).start()\n")
        cmd = [sys.executable, "-c", code]
        if os.geteuid() == 0:  # root ignores file modes unless it loses CAP_DAC_OVERRIDE
            if not shutil.which("setpriv"):
                pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
            cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    finally:
        os.chmod(dev, mode)
        os.close(master)
        os.close(slave)
    last = r.stderr.strip().splitlines()[-1]
    assert PermissionDeniedError.__name__ in last
    assert dev in last and "dialout" in last


def _paced_writer(master: int, lines: list[bytes], period: float, stop: threading.Event) -> threading.Thread:
    """A sensor sending one line every `period` s (the pacing is the sensor's, not synchronisation)."""
    def run():
        for line in lines:
            if stop.is_set():
                return
            os.write(master, line + b"\r\n")
            stop.wait(period)
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


@pytest.mark.slow
@pytest.mark.parametrize("first", [
    [b"72", b"9999", b"73", b"-5"],  # out-of-range values among the first lines
    [b"0", b"0", b"0", b"0"],  # a pulse sensor with no finger on it yet
], ids=["out-of-range", "no-finger"])
def test_auto_reports_bpm_within_seconds_despite_bad_first_lines(first):
    good = [str(71 + i % 4).encode() for i in range(20)]
    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()
    sensor = HeartSensor(HeartConfig(port=os.ttyname(slave), protocol="auto")).start()
    try:
        os.write(master, b"\n")  # the reader skips a first (possibly cut) line
        t0 = time.monotonic()
        _paced_writer(master, first + good, 1.0, stop)
        t_good = t0 + len(first)  # when the first plausible value after the bad ones is sent
        feats: list = []
        assert wait_for(lambda: feats.extend(sensor.drain()) or any(f.hr for f in feats), 15), sensor.counters()
        t_hr = time.monotonic()
    finally:
        stop.set()
        sensor.stop()
        os.close(master)
        os.close(slave)
    c = sensor.counters()
    print(f"HR {t_hr - t0:.1f} s after the first line, {t_hr - t_good:.1f} s after the first good value after "
          f"the bad ones; {c}")
    assert c["protocol"] == "bpm" and c["lines_out_of_range"] >= 2, c
    assert 71 <= next(f.hr for f in feats if f.hr) <= 74
    assert t_hr - t0 <= 6.5 and t_hr - t_good <= 4.0
