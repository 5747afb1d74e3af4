"""Frustration-like facial activity, the fused stress state and remedies, on scripted streams of
timestamped FaceFeatures / HeartFeatures (the monitor is a deterministic function of them)."""

from __future__ import annotations

import math

import pytest

from driverwatch.config.monitor import MonitorConfig
from driverwatch.monitor import Monitor
from driverwatch.monitor.affect import USED
from driverwatch.samples import FaceFeatures, HeartFeatures

REST = {"browDownLeft": 0.04, "browDownRight": 0.06, "mouthPressLeft": 0.08, "mouthPressRight": 0.07,
        "noseSneerLeft": 0.01, "noseSneerRight": 0.01, "mouthRollLower": 0.03, "mouthRollUpper": 0.02,
        "jawOpen": 0.03, "mouthSmileLeft": 0.02, "mouthSmileRight": 0.02, "eyeBlinkLeft": 0.08,
        "eyeBlinkRight": 0.08}


def face(t: float, **scores) -> FaceFeatures:
    w = 0.02 * math.sin(7.3 * t)  # landmark-like wobble
    bs = {k: max(v + w, 0.0) for k, v in REST.items()}
    for k, v in scores.items():
        bs[k] = v
    if int(t) % 4 == 3 and t % 1 < 0.15:  # a natural blink every 4 s (the brows dip with it)
        bs.update(eyeBlinkLeft=0.9, eyeBlinkRight=0.9, browDownLeft=0.5, browDownRight=0.5)
    return FaceFeatures(t=t, face=True, face_score=0.95, ear_left=0.28, ear_right=0.28, eye_open_left=0.3,
                        eye_open_right=0.3, eye_visibility_left=1.0, eye_visibility_right=1.0, mar=0.02,
                        yaw=2.0 + 20 * w, pitch=-3.0, roll=0.0, gaze_yaw=0.0, gaze_pitch=5.0, brightness=110.0,
                        blendshapes=bs)


def frown(t):  # brow lowered and lips pressed, held
    return {"browDownLeft": 0.55, "browDownRight": 0.6, "mouthPressLeft": 0.45, "mouthPressRight": 0.5}


def talk(t):  # jaw at syllable rate, lips pressing on /p b m/ between, prosodic brow movements
    jaw = 0.35 * max(math.sin(2 * math.pi * 4.0 * t), 0.0)
    bs = {"jawOpen": 0.03 + jaw, "browDownLeft": 0.3 * (math.sin(2 * math.pi * 0.7 * t) > 0.3)}
    if jaw < 0.02:
        bs.update(mouthPressLeft=0.5, mouthPressRight=0.5)
    return bs


def smile(t):  # laughing: smile, cheeks up; the brows come down a little with the squeeze
    return {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.75, "browDownLeft": 0.35, "browDownRight": 0.35,
            "mouthPressLeft": 0.3}


def yawn(t):  # one 5 s yawn every 12 s: the jaw wide open, the face screwed up
    if t % 12 < 5:
        return {"jawOpen": 0.85, "browDownLeft": 0.5, "browDownRight": 0.5, "noseSneerLeft": 0.4}
    return {}


def blinks(t):  # frequent blinks, 3 per second at times, with brow dips
    if t % 0.33 < 0.12:
        return {"eyeBlinkLeft": 0.95, "eyeBlinkRight": 0.95, "browDownLeft": 0.55, "browDownRight": 0.5}
    return {}


def drive(episode=None, at=(40.0, 20.0), duration=80.0, fps=15.0, heart=None, cfg=None, blendshapes=True,
          finish=True):
    m = Monitor(cfg or MonitorConfig())
    events = []
    hb = 0.0
    for i in range(int(duration * fps)):
        t = i / fps
        scores = episode(t) if episode and at[0] <= t < at[0] + at[1] else {}
        ff = face(t, **scores)
        if not blendshapes:
            ff.blendshapes = None
        events += m.update_face(ff)
        if heart is not None and t >= hb:
            events += m.update_heart(heart(hb))
            hb += 1.0
    return (events + m.finish(duration) if finish else events), m


def kinds(events, kind):
    return [e for e in events if e.kind == kind]


def test_the_cues_are_scores_the_face_model_gives():
    from driverwatch.vision.blendshapes import NAMES
    assert set(USED) <= set(NAMES)


@pytest.mark.parametrize("fps", [15.0, 10.0])
def test_a_sustained_frown_is_a_frustration_like_episode_and_a_face_only_stress_state(fps):
    ev, m = drive(frown, at=(40.0, 20.0), fps=fps)
    fr = kinds(ev, "frustration_like")
    assert [e.type for e in fr] == ["start", "end"]
    start = fr[0]
    assert start.severity == "info" and start.evidence["measured"] == "frustration-like facial activity"
    assert {"brow_down", "lip_press"} <= set(start.evidence["cues"])
    assert 40.0 <= start.t_start <= 41.0 and start.t <= 47.0  # 60 % of the 10 s window
    assert 60.0 < fr[1].t <= 68.0 and fr[1].t_end == pytest.approx(60.0, abs=1.2)  # share < 30 %, dated back
    st = kinds(ev, "stress")
    assert st[0].type == "start" and st[0].severity == "notice"  # the calm cue: a soft chime, no alarm
    assert st[0].evidence["sources"] == ["face"] and st[0].evidence["raised_by"] == ["face"]
    assert st[0].evidence["level"] == "elevated" and st[0].evidence["heart"] is None
    assert all(e.severity in ("info", "notice") for e in ev)
    calm = kinds(ev, "calm_suggestion")
    assert len(calm) == 1 and calm[0].evidence["for"] == "stress"


@pytest.mark.parametrize("episode", [talk, smile, yawn, blinks], ids=lambda f: f.__name__)
def test_talking_smiling_yawning_and_blinking_raise_nothing(episode):
    ev, m = drive(episode, at=(30.0, 50.0), duration=85.0)
    assert kinds(ev, "frustration_like") == [] and kinds(ev, "stress") == []


@pytest.mark.slow
def test_a_frown_is_judged_against_the_drivers_own_neutral_face():
    """A driver whose resting brow already reads 0.35 (a heavy brow, glasses) is not frowning."""
    heavy = {"browDownLeft": 0.35, "browDownRight": 0.4}
    ev, _ = drive(lambda t: heavy, at=(0.0, 80.0))
    assert kinds(ev, "frustration_like") == []
    ev, _ = drive(lambda t: heavy if t < 40 else {"browDownLeft": 0.75, "browDownRight": 0.8}, at=(0.0, 80.0))
    assert len([e for e in kinds(ev, "frustration_like") if e.type == "start"]) == 1


def test_without_expression_scores_the_face_is_unknown_and_the_state_says_heart_only():
    def racing(t):
        return HeartFeatures(t=t, hr=65.0 if t < 130 else 95.0, rmssd=60.0 if t < 130 else 25.0, quality=1.0)

    ev, m = drive(duration=220.0, heart=racing, blendshapes=False, fps=10.0)
    snap = m.snapshot()
    assert snap["affect"]["frustration_like"]["active"] is None
    st = kinds(ev, "stress")
    assert st and st[0].evidence["sources"] == ["heart"] and st[0].evidence["raised_by"] == ["heart:high"]
    assert st[0].severity == "notice"  # high arousal is still no alarm
    assert st[0].evidence["heart"]["baseline_hr"] == pytest.approx(65.0)


def test_face_and_heart_together_raise_the_level_and_name_both():
    def brisk(t):  # elevated, not high
        return HeartFeatures(t=t, hr=65.0 if t < 130 else 74.0, rmssd=60.0 if t < 130 else 40.0, quality=1.0)

    ev, m = drive(frown, at=(200.0, 30.0), duration=260.0, heart=brisk, fps=10.0)
    levels = [(e.type, e.evidence.get("level"), tuple(e.evidence.get("raised_by", ()))) for e in kinds(ev, "stress")]
    assert levels[0] == ("start", "elevated", ("heart:elevated",))
    assert ("update", "high", ("heart:elevated", "face")) in levels
    both = [e for e in kinds(ev, "stress") if e.evidence.get("level") == "high"][0]
    assert both.evidence["sources"] == ["heart", "face"]


def test_no_heart_no_face_is_unknown_not_normal():
    m = Monitor(MonitorConfig())
    m.update_face(FaceFeatures(t=0.0, face=False))
    assert m.snapshot()["stress"] is None


def test_repeated_drowsiness_suggests_a_break_softly():
    from driverwatch.monitor.events import Event
    from driverwatch.monitor.remedies import Remedies

    cfg = MonitorConfig().remedies
    r = Remedies(cfg, Monitor().ids)
    ev = lambda t: Event(f"d:drowsy:{t}", 0, "start", "drowsy", "notice", t, t)  # noqa: E731
    assert r.react(100.0, [ev(100.0)]) == []
    out = r.react(1500.0, [ev(1500.0)])
    assert [(e.kind, e.severity, e.evidence["drowsy_episodes"]) for e in out] == [("break_suggestion", "notice", 2)]
    assert r.react(1600.0, [ev(1600.0)]) == []  # not repeated within break_repeat_s
    assert r.react(6000.0, [ev(6000.0)]) == []  # the earlier episodes are outside the window


def gaze_drive(duration, stare=None, fps=10.0, seed=3):
    """Normal driving: gaze scattered around the road centre, a mirror or cluster glance every 5-15 s;
    `stare` = (start, length): a fixed stare at the road centre (eyes still, no glances)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    glances, t = [], 5.0
    while t < duration:
        t += rng.uniform(5.0, 15.0)
        glances.append((t, rng.uniform(0.6, 1.5), *rng.choice([(-35.0, -5.0), (30.0, -8.0), (0.0, -22.0), (12.0, 0.0)])))
    m, events = Monitor(MonitorConfig()), []
    for i in range(int(duration * fps)):
        t = i / fps
        staring = stare is not None and stare[0] <= t < stare[0] + stare[1]
        if staring:
            gy, gp = 0.3 * math.sin(3.1 * t), 0.3 * math.cos(2.3 * t)
        else:
            gy, gp = 5.0 * math.sin(0.9 * t) + 3.0 * math.sin(2.7 * t + 1), 2.5 * math.sin(1.3 * t)
            for g0, gl, y, p in glances:
                if g0 <= t < g0 + gl:
                    gy, gp = y, p
        ff = face(t)
        ff.blendshapes = None
        ff.yaw, ff.pitch, ff.gaze_yaw, ff.gaze_pitch = 2.0 + 0.4 * gy, -3.0 + 0.3 * gp, 0.6 * gy, 5.0 + 0.7 * gp
        events += m.update_face(ff)
    return events + m.finish(duration), m


@pytest.mark.slow
def test_ten_minutes_of_normal_driving_raise_no_mind_wandering_notice():
    ev, m = gaze_drive(600.0)
    assert kinds(ev, "mind_wandering") == []
    snap = m.snapshot()["affect"]["mind_wandering"]
    assert snap["baseline"] and snap["active"] is False and 0.4 < snap["prc"] < 0.95


@pytest.mark.parametrize("fps", [5.0, 10.0, pytest.param(30.0, marks=pytest.mark.slow)])
def test_a_minute_of_fixed_stare_at_the_road_centre_is_one_mind_wandering_notice(fps):
    ev, m = gaze_drive(480.0, stare=(360.0, 60.0), fps=fps)
    mw = kinds(ev, "mind_wandering")
    assert [(e.type, e.severity) for e in mw] == [("start", "notice"), ("end", "notice")]
    assert 380.0 <= mw[0].t <= 421.0 and mw[1].t > 420.0
    assert mw[0].evidence["prc"] > mw[0].evidence["baseline_prc"] + 0.1
    assert mw[0].evidence["gaze_yaw_sd_deg"] < 0.6 * mw[0].evidence["baseline_sd_deg"]
    assert all(e.severity != "warning" for e in ev)
