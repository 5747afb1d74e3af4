"""Frames are stored only when save_frames is on, and then only just before warning/critical alerts."""

import numpy as np

from driverwatch.monitor.events import Event
from driverwatch.samples import Frame
from driverwatch.sinks.clips import ClipSink


def frames(t0: float, t1: float, fps: float = 30.0):
    n = int(round((t1 - t0) * fps))
    for i in range(n):
        yield Frame(t=t0 + i / fps, image=np.full((48, 64, 3), i % 255, np.uint8), index=i)


def event(kind: str, severity: str, t: float, n: int = 1) -> Event:
    return Event(f"d:{kind}:{n}", 0, "start", kind, severity, t, t)


def test_warning_saves_the_last_seconds_at_the_clip_rate(tmp_path):
    sink = ClipSink(tmp_path / "clips", clip_s=2.0, clip_fps=5.0, max_clips=3)
    for f in frames(0, 10):
        sink.add_frame(f)
    sink.handle(event("blink", "info", 10.0))  # info: nothing stored
    sink.handle(event("microsleep", "warning", 10.0))
    sink.close()
    clips = list((tmp_path / "clips").iterdir())
    assert [c.name for c in clips] == ["d_microsleep_1"]
    stamps = sorted(float(p.stem) for p in clips[0].glob("*.jpg"))
    assert 10 <= len(stamps) <= 11  # 2 s at 5 fps
    assert stamps[-1] - stamps[0] <= 2.0 and 9.5 < stamps[-1] < 10


def test_only_the_newest_clips_are_kept(tmp_path):
    sink = ClipSink(tmp_path / "clips", clip_s=1.0, clip_fps=5.0, max_clips=2)
    for n in range(1, 5):
        for f in frames(n * 2, n * 2 + 1):
            sink.add_frame(f)
        sink.handle(event("sleep", "critical", n * 2 + 1, n))
    sink.close()
    names = sorted(p.name for p in (tmp_path / "clips").iterdir())
    assert len(names) == 2 and "d_sleep_4" in names
