"""`driverwatch run` on a real pseudo-terminal with the demo drive's clip as the camera: it says where
events go, redraws a one-line status, prints the microsleep while the clip is still playing, and
`driverwatch status` shows the running daemon meanwhile."""

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

import pytest
from support.util import read_jsonl, run_cli


class PtyReader:
    def __init__(self, fd: int):
        self.fd = fd
        self.text = ""
        self.closed = False  # the other side has gone

    def pump(self, seconds: float = 0.1) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                return
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: the child closed its end
                data = b""
            if not data:
                self.closed = True
                return
            self.text += data.decode(errors="replace")

    def wait_for(self, pattern: str, timeout: float) -> re.Match | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end and not self.closed:
            if m := re.search(pattern, self.text):
                return m
            self.pump(0.2)
        return re.search(pattern, self.text)


@pytest.mark.slow  # plays the demo drive in real time up to its microsleep (about 70 s)
def test_run_on_a_terminal_prints_the_microsleep_as_it_happens(tmp_path, models_dir):
    from driverwatch.sources.scenario import render_cached

    video, _truth = render_cached("demo", models_dir=models_dir)  # the clip `driverwatch demo` caches
    cfg = tmp_path / "driverwatch.toml"
    cfg.write_text(
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\nlog_dir = "{tmp_path / "log"}"\n'
        f'[camera]\ndevice = "{video}"\n'
        f'[vision]\nmodels_dir = "{models_dir}"\n'
        f'[chime]\noutput = "none"\n'
    )
    events = tmp_path / "events.jsonl"
    master, slave = pty.openpty()
    daemon = subprocess.Popen([sys.executable, "-m", "driverwatch", "-c", str(cfg), "run", "--events-out", str(events)],
                              stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    term = PtyReader(master)
    try:
        assert term.wait_for(r"events go to log " + re.escape(str(tmp_path / "log")), 60), term.text
        assert term.wait_for(r"\d+\.\d fps \| face yes \| eyes \w+", 60), term.text  # the status line
        st = run_cli("-c", cfg, "status")
        assert st.returncode == 0 and "running" in st.stdout and "face        yes" in st.stdout, st.stdout + st.stderr
        # the script closes the eyes for 1.5 s after the calibration: a microsleep (a warning)
        m = term.wait_for(r"(WARNING|CRITICAL) +microsleep +\(closed_s=([\d.]+)", 150)
        assert m, term.text[-3000:]
        assert 0.9 <= float(m.group(2)) <= 2.0
        ended = term.wait_for(r"ended +microsleep \(after ([\d.]+) s\)", 15)  # printed while the eyes were still shut
        assert ended and ended.start() > m.start() and 1.0 <= float(ended.group(1)) <= 2.5, term.text[-2000:]
        # as it happens: the daemon is still watching (the clip goes on for ~20 s after it), and the
        # line came with the event itself
        assert daemon.poll() is None
        assert [e for e in read_jsonl(events) if e["kind"] == "microsleep"]
        assert "blink" not in term.text  # blinks are info: not printed
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0
        term.pump(0.5)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        os.close(master)
    assert "Traceback" not in term.text
    st = run_cli("-c", cfg, "status")
    assert st.returncode == 3 and "stopped" in st.stderr, st.stderr
