"""The monitor on scripted streams: timelines of eye closure, head / gaze angles and mouth opening
turned into FaceFeatures at any frame rate, so each rule is checked at its boundary and for
frame-rate independence."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from driverwatch.config.monitor import MonitorConfig
from driverwatch.monitor import Monitor
from driverwatch.monitor.events import Event
from driverwatch.samples import FaceFeatures, SpeedSample

WARMUP = 20.0  # seconds of normal driving before each scripted episode (the baseline forms)


@dataclass
class Driver:
    """The driver's own baseline (deliberately not zero: rules must be relative to it)."""

    eye_open: float = 0.32  # iris-model lid gap / width with open eyes
    ear: float = 0.28
    yaw: float = 3.0
    pitch: float = -2.0
    gaze_pitch: float = 10.0
    mar: float = 0.02
    closed_share: float = 0.08  # measured eye opening of shut eyes / open (hooded eyes: higher)
    blendshapes: bool = False  # the face model also gives expression scores
    blink_closed: float = 0.7  # eyeBlink of shut eyes (open: 0.1)
    smile: float = 0.0  # resting mouthSmile (some faces rest smiling)


@dataclass
class Script:
    """Segments (start s, duration s[, value]) over a drive of `duration` seconds."""

    duration: float
    driver: Driver = field(default_factory=Driver)
    closed: list = field(default_factory=list)  # eyes shut
    yaw: list = field(default_factory=list)  # head yaw offset, degrees
    pitch: list = field(default_factory=list)  # head pitch offset
    gaze_pitch: list = field(default_factory=list)  # eye-in-head pitch offset
    lids: list = field(default_factory=list)  # eye opening as a share of open (lowered lids)
    mar: list = field(default_factory=list)  # mouth aspect ratio above neutral
    no_face: list = field(default_factory=list)
    hidden: list = field(default_factory=list)  # eye visibility low (sunglasses, hand)
    dark: list = field(default_factory=list)  # brightness near 0
    smile: list = field(default_factory=list)  # blendshape mouthSmile (laughing)
    jaw: list = field(default_factory=list)  # blendshape jawOpen
    blink_every: float = 4.0  # natural 0.15 s blinks during the warm-up

    @staticmethod
    def value(segs, t, default=0.0):
        for seg in segs:
            if seg[0] <= t < seg[0] + seg[1]:
                return seg[2] if len(seg) > 2 else True
        return default

    def at(self, t: float) -> FaceFeatures:
        d = self.driver
        brightness = 5.0 if self.value(self.dark, t, False) else 110.0
        if self.value(self.no_face, t, False):
            return FaceFeatures(t=t, face=False, brightness=brightness)
        shut = self.value(self.closed, t, False) or (
            t < WARMUP - 2 and t % self.blink_every >= self.blink_every - 0.15)
        share = d.closed_share if shut else self.value(self.lids, t, 1.0)
        vis = 0.1 if self.value(self.hidden, t, False) else 1.0
        # A small deterministic wobble, like landmark noise.
        w = 0.3 * math.sin(7.3 * t)
        bs = None
        if d.blendshapes:
            lid = 1.0 if shut else (1.0 - share) / (1.0 - d.closed_share)  # 0 open .. 1 shut
            blink = 0.1 + (d.blink_closed - 0.1) * min(max(lid, 0.0), 1.0)
            smile = self.value(self.smile, t, d.smile)
            bs = {"eyeBlinkLeft": blink, "eyeBlinkRight": blink, "mouthSmileLeft": smile,
                  "mouthSmileRight": smile, "jawOpen": 0.02 + self.value(self.jaw, t)}
        return FaceFeatures(blendshapes=bs,
            t=t, face=True, face_score=0.95,
            ear_left=d.ear * (0.4 + 0.6 * share), ear_right=d.ear * (0.4 + 0.6 * share),
            eye_open_left=d.eye_open * share, eye_open_right=d.eye_open * share * 0.95,
            eye_visibility_left=vis, eye_visibility_right=vis,
            mar=d.mar + self.value(self.mar, t), yaw=d.yaw + w + self.value(self.yaw, t),
            pitch=d.pitch + w + self.value(self.pitch, t), roll=0.0, gaze_yaw=w,
            gaze_pitch=d.gaze_pitch + self.value(self.gaze_pitch, t),
            brightness=brightness)

    def frames(self, fps: float):
        n = int(self.duration * fps)
        return (self.at(i / fps) for i in range(n))


def run(script: Script, fps: float = 30.0, cfg: MonitorConfig | None = None, speed: float | None = None,
        monitor: Monitor | None = None, hook=None) -> tuple[list[Event], Monitor]:
    m = monitor or Monitor(cfg or MonitorConfig())
    events: list[Event] = []
    for ff in script.frames(fps):
        if speed is not None:
            m.update_speed(SpeedSample(ff.t, speed))
        if hook:
            events += hook(m, ff.t) or []
        events += m.update_face(ff)
    events += m.finish(script.duration)
    return events, m


def starts(events, kind=None, after=WARMUP):
    return [e for e in events if e.type == "start" and e.t >= after and (kind is None or e.kind == kind)]


def kinds(events, after=WARMUP) -> list[str]:
    return [e.kind for e in starts(events, after=after)]


T0 = WARMUP + 2.0  # where scripted episodes begin


def test_warmup_is_quiet_and_counts_blinks():
    ev, m = run(Script(WARMUP + 45))
    assert not [e for e in ev if e.kind != "blink"]
    assert 4 <= len(starts(ev, "blink", after=0)) <= 5  # one per 4 s of the first 18 s (after 1 s to learn)
    snap = m.snapshot()
    assert snap["calibration"]["status"] == "calibrated"
    assert snap["attention"] == "on_road" and snap["eyes"] == "open" and snap["drowsiness"] == "alert"
    assert snap["perclos"] is not None and snap["perclos"] < 0.02


@pytest.mark.parametrize("dur,kind", [(0.3, "blink"), (0.9, "long_blink"), (1.5, "microsleep"), (3.5, "sleep")])
def test_closure_boundaries(dur, kind):
    ev, _ = run(Script(T0 + 8, closed=[(T0, dur)]))
    got = [e for e in starts(ev) if e.kind in ("blink", "long_blink", "microsleep", "sleep")]
    assert got and got[-1].kind == kind, [e.kind for e in got]
    assert got[-1].t_start == pytest.approx(T0, abs=1 / 30 + 1e-6)
    ends = [e for e in ev if e.id == got[-1].id and e.t_end is not None]
    assert ends[-1].t_end - ends[-1].t_start == pytest.approx(dur, abs=1 / 30 + 1e-6)
    if kind in ("microsleep", "sleep"):
        assert got[-1].severity == ("warning" if kind == "microsleep" else "critical")
        # raised while the eyes are still shut, 1 s (or 3 s) after the onset
        assert got[-1].t == pytest.approx(T0 + (1.0 if kind == "microsleep" else 3.0), abs=1 / 30 + 1e-6)
    else:
        assert "microsleep" not in kinds(ev)


@pytest.mark.parametrize("dur,expect", [(2.9, False), (3.1, True)])
def test_long_glance_boundary(dur, expect):
    ev, _ = run(Script(T0 + 10, yaw=[(T0, dur, 40.0)]))
    got = starts(ev, "long_distraction")
    assert bool(got) == expect
    if expect:
        assert got[0].t_start == pytest.approx(T0, abs=1 / 30 + 1e-6)
        assert got[0].t == pytest.approx(T0 + 3.0, abs=1 / 30 + 1e-6)
        assert got[0].severity == "warning"
        assert [e.type for e in ev if e.id == got[0].id][-1] == "end"
    assert "vats" not in kinds(ev) and "unresponsive" not in kinds(ev)


def test_mirror_and_instrument_checks_raise_nothing():
    ev, _ = run(Script(T0 + 20, yaw=[(T0, 1.0, 50.0), (T0 + 4, 0.8, -45.0)],
                       pitch=[(T0 + 8, 1.2, -6.0)], gaze_pitch=[(T0 + 8, 1.2, -16.0)],
                       lids=[(T0 + 8, 1.2, 0.3)]))
    assert kinds(ev) == []


def test_diagonal_glance_leaves_the_road_ellipse():
    # 20° aside and 15° down: neither passes its own limit (25°, 20°), together ≈ 25° off axis.
    ev, _ = run(Script(T0 + 10, yaw=[(T0, 3.5, -20.0)], pitch=[(T0, 3.5, -15.0)]))
    assert kinds(ev) == ["long_distraction"]
    ev, _ = run(Script(T0 + 10, yaw=[(T0, 3.5, -20.0)]))  # only aside: still on the road
    assert kinds(ev) == []


def test_vats_fires_on_short_glances_unless_two_seconds_on_road_separate_them():
    glances = [(T0 + i * 3.6, 2.6, 35.0) for i in range(4)]  # 1 s on the road between
    ev, _ = run(Script(T0 + 20, yaw=glances))
    assert kinds(ev) == ["vats"]
    v = starts(ev, "vats")[0]
    assert v.evidence["away_s"] == pytest.approx(10.0, abs=0.05)
    assert v.t_start == pytest.approx(T0, abs=1 / 30 + 1e-6)  # the time sharing began with the first glance
    spaced = [(T0 + i * 4.8, 2.6, 35.0) for i in range(4)]  # 2.2 s on the road between
    ev, _ = run(Script(T0 + 25, yaw=spaced))
    assert kinds(ev) == []


def test_yawn_versus_talking_and_laughing():
    talk = [(T0 + i * 0.25, 0.15, 0.35) for i in range(40)]  # syllables at 4 Hz for 10 s
    laugh = [(T0 + 12 + i * 0.3, 0.2, 0.6) for i in range(8)]  # wide but broken openings
    ev, _ = run(Script(T0 + 30, mar=talk + laugh))
    assert kinds(ev) == []
    yawn = [(T0, 0.8, 0.35), (T0 + 0.8, 2.5, 0.7), (T0 + 3.3, 0.7, 0.35)]  # rise, hold, fall
    ev, _ = run(Script(T0 + 10, mar=yawn))
    y = starts(ev, "yawn")
    assert len(y) == 1 and kinds(ev) == ["yawn"]
    assert y[0].t_start == pytest.approx(T0, abs=0.05) and y[0].t_end == pytest.approx(T0 + 4.0, abs=0.05)


@pytest.mark.parametrize("rest", [0.02, 0.18])
def test_a_yawn_peaks_at_the_same_opening_whatever_the_lips_do_at_rest(rest):
    """A face that rests with parted lips (a rendered smiling Obama or Maher: MAR 0.18) rises less to a
    yawn's peak: a dropped jaw at MAR 0.66 is a yawn on either face, a held opening to 0.5 is not."""
    def hold(peak):
        return [(T0, 0.8, 0.35), (T0 + 0.8, 2.5, peak - rest), (T0 + 3.3, 0.7, 0.35)]
    ev, _ = run(Script(T0 + 10, driver=Driver(mar=rest), mar=hold(0.66)))
    assert kinds(ev) == ["yawn"]
    ev, _ = run(Script(T0 + 10, driver=Driver(mar=rest), mar=hold(0.5)))
    assert kinds(ev) == []


def ramp(t0: float, dur: float, a: float, b: float, step: float = 0.01) -> list:
    """A smooth (smoothstep) move from a to b as short constant segments."""
    n = max(int(round(dur / step)), 1)
    return [(t0 + i * step, step, a + (b - a) * (3 * x * x - 2 * x ** 3)) for i in range(n) for x in [(i + 0.5) / n]]


def dip(t0: float, down_s: float, hold_s: float, up_s: float, depth: float) -> list:
    return ramp(t0, down_s, 0.0, depth) + [(t0 + down_s, hold_s, depth)] + ramp(t0 + down_s + hold_s, up_s, depth, 0.0)


@pytest.mark.parametrize("fps", [30, 15, 10])
def test_nod_is_a_slow_sink_with_shut_eyes_and_a_fast_recovery(fps):
    # Dozing: the eyes close, the head sinks 22° in 0.9 s and is jerked back up in 0.25 s.
    ev, _ = run(Script(T0 + 10, pitch=dip(T0, 0.9, 0.2, 0.25, -22.0), closed=[(T0 - 0.2, 1.5)]), fps)
    nods = starts(ev, "nod")
    assert len(nods) == 1, kinds(ev)
    n = nods[0]
    assert n.t_start == pytest.approx(T0 + 0.2, abs=0.15)  # where the head has left its level
    assert n.evidence["fall_s"] > 1.5 * n.evidence["recovery_s"] and n.evidence["eyes_shut_share"] > 0.9
    # The same sink with open eyes is a look down, not dozing.
    ev, _ = run(Script(T0 + 10, pitch=dip(T0, 0.9, 0.2, 0.25, -22.0)), fps)
    assert "nod" not in kinds(ev)


@pytest.mark.parametrize("fps", [30, 15, 10])
def test_instrument_check_with_a_blink_is_not_a_nod(fps):
    # The rendered "normal driving" case: pitch -14° in 0.2 s, held 1 s, back in 0.2 s, gaze down too,
    # and a natural blink during the glance (gaze shifts often come with one).
    s = Script(T0 + 10, pitch=dip(T0, 0.2, 1.0, 0.2, -14.0), gaze_pitch=dip(T0, 0.2, 1.0, 0.2, -12.0),
               closed=[(T0 + 0.15, 0.25)])
    ev, m = run(s, fps)
    assert kinds(ev) == ["blink"] or kinds(ev) == [], kinds(ev)
    assert m.nods.last is not None and m.nods.last.depth_deg > 12  # the dip was measured and judged
    # ... also with the eyes shut through the whole glance: still a deliberate, symmetric movement
    s = Script(T0 + 10, pitch=dip(T0, 0.2, 1.0, 0.2, -20.0), closed=[(T0, 1.4)])
    assert "nod" not in kinds(run(s, fps)[0])


def test_unresponsive_eyes_closed_and_no_return_after_warning():
    ev, _ = run(Script(T0 + 12, closed=[(T0, 7.0)]))
    u = starts(ev, "unresponsive")
    # eyes closed for 6 s (sleep is already critical at 3 s)
    assert u and u[0].severity == "critical" and u[0].t == pytest.approx(T0 + 6.0, abs=1 / 30 + 1e-6)
    assert u[0].t_start == pytest.approx(T0, abs=1 / 30 + 1e-6)
    for closed_s in (3.5, 5.8):  # a sleep episode, but the driver wakes before 6 s
        ev, _ = run(Script(T0 + 12, closed=[(T0, closed_s)]))
        assert "sleep" in kinds(ev) and "unresponsive" not in kinds(ev)
    ev, _ = run(Script(T0 + 12, yaw=[(T0, 7.0, 40.0)]))
    order = kinds(ev)
    assert order.index("long_distraction") < order.index("unresponsive")
    u = starts(ev, "unresponsive")[0]
    assert u.t == pytest.approx(T0 + 6.0, abs=1 / 30 + 1e-6)  # 3 s after the warning at 3 s
    ev, _ = run(Script(T0 + 12, yaw=[(T0, 4.0, 40.0)]))  # looked back 1 s after the warning
    assert "unresponsive" not in kinds(ev)
    # Warned about a long glance, the driver shuts the eyes instead of looking back: 3 s after the
    # warning, before either 6 s limit.
    ev, _ = run(Script(T0 + 12, yaw=[(T0, 3.5, 40.0)], closed=[(T0 + 3.5, 4.0)]))
    u = starts(ev, "unresponsive")[0]
    assert u.t == pytest.approx(T0 + 6.0, abs=1 / 30 + 1e-6) and u.t_start == pytest.approx(T0, abs=1 / 30 + 1e-6)


def test_speed_gating_suppresses_distraction_not_drowsiness():
    s = Script(T0 + 12, yaw=[(T0, 5.0, 40.0)], closed=[(T0 + 7, 1.5)])
    ev, _ = run(s, speed=10.0)
    assert "microsleep" in kinds(ev) and "long_distraction" not in kinds(ev)
    ev, _ = run(s, speed=30.0)  # urban: EU ADDW allows 6 s at 20-50 km/h
    assert "long_distraction" not in kinds(ev)
    ev, _ = run(s, speed=80.0)
    assert kinds(ev)[:1] == ["long_distraction"] and "microsleep" in kinds(ev)
    ev, _ = run(Script(T0 + 12, yaw=[(T0, 7.0, 40.0)]), speed=30.0)
    assert starts(ev, "long_distraction")[0].t == pytest.approx(T0 + 6.0, abs=1 / 30 + 1e-6)


@pytest.mark.parametrize("kmh,limit", [(None, 3.0), (30.0, 6.0), (49.9, 6.0), (50.0, 3.5), (120.0, 3.5)])
def test_long_glance_speed_bands(kmh, limit):
    """EU ADDW bands by default: 6 s at 20-50 km/h, 3.5 s above 50; 3 s when the speed is unknown."""
    for dur, expect in ((limit - 0.1, False), (limit + 0.1, True)):
        ev, _ = run(Script(T0 + 12, yaw=[(T0, dur, 40.0)]), speed=kmh)
        got = starts(ev, "long_distraction")
        assert bool(got) == expect, (kmh, dur)
    assert got[0].t == pytest.approx(T0 + limit, abs=1 / 30 + 1e-6) and got[0].evidence["limit_s"] == limit
    cfg = MonitorConfig.model_validate({"attention": {"long_glance_bands": [{"from_kmh": 20, "glance_s": 2.0}]}})
    ev, _ = run(Script(T0 + 12, yaw=[(T0, 2.2, 40.0)]), cfg=cfg, speed=kmh)
    assert bool(starts(ev, "long_distraction")) == (kmh is not None)  # a configured band applies


def test_closure_onset_from_the_resting_lid_level():
    # Yawning or smiling narrows the eyes to just past the blink-onset closure for seconds; a normal
    # blink during it is a blink, not a long closure dated back to the start of the squint.
    s = Script(T0 + 10, lids=[(T0, 4.0, 0.78)], closed=[(T0 + 2.0, 0.25)])
    ev, _ = run(s)
    assert kinds(ev) == ["blink"]
    assert starts(ev, "blink")[0].t_start == pytest.approx(T0 + 2.0, abs=1 / 30 + 1e-6)
    # Lids resting just short of the closed level (closure 0.78) and then past it are one closure
    # from where they left the open level: a microsleep from T0.
    ev, _ = run(Script(T0 + 10, lids=[(T0, 1.0, 0.337)], closed=[(T0 + 1.0, 0.6)]))
    assert kinds(ev)[:1] == ["microsleep"]
    assert starts(ev, "microsleep")[0].t_start == pytest.approx(T0, abs=1 / 30 + 1e-6)


def test_snooze_mutes_notices_only():
    s = Script(T0 + 20, no_face=[(T0, 8.0)], closed=[(T0 + 10, 3.5)])
    ev, _ = run(s)
    fm = [e for e in ev if e.kind == "face_missing"]
    assert [(e.type, e.severity) for e in fm][:2] == [("start", "notice"), ("update", "warning")]
    def snooze(m, t):
        if abs(t - T0 + 1) < 1e-6:
            assert m.snooze(t, 60.0) == {"seconds": 60.0, "capped": False}

    ev, _ = run(s, hook=snooze)
    fm = [e for e in ev if e.kind == "face_missing"]
    # the notice still goes out (log, MQTT), marked for the chime to stay silent; the warning is not
    assert [(e.type, e.severity, e.snoozed) for e in fm][:2] == [("start", "notice", True), ("update", "warning", False)]
    assert fm[1].t == pytest.approx(T0 + 2.0 + 5.0, abs=1 / 30 + 1e-6)
    assert not starts(ev, "sleep")[0].snoozed and starts(ev, "sleep")[0].severity == "critical"


def test_glasses_low_open_level_is_not_closed():
    d = Driver(eye_open=0.17, ear=0.16)  # frames lower the measured opening for this driver
    ev, m = run(Script(T0 + 20, driver=d, closed=[(T0, 0.3), (T0 + 5, 1.5)]))
    assert kinds(ev)[:2] == ["blink", "microsleep"] and "long_blink" not in kinds(ev)
    assert m.snapshot()["eyes"] == "open"
    assert len(starts(ev, "blink", after=0)) >= 4  # warm-up blinks found against the provisional baseline


def test_looking_down_is_not_a_blink():
    # Gaze 18° down for 1.2 s with the lids at the closed level: lowered lids, not a closure.
    ev, m = run(Script(T0 + 10, pitch=[(T0, 1.2, -6.0)], gaze_pitch=[(T0, 1.2, -12.0)],
                       lids=[(T0, 1.2, 0.1)]))
    assert kinds(ev) == []
    # A blink inside a glance down whose lids read open there (they do not follow the gaze) is a blink.
    ev, _ = run(Script(T0 + 10, pitch=[(T0, 1.5, -6.0)], gaze_pitch=[(T0, 1.5, -12.0)], closed=[(T0 + 0.6, 0.2)]))
    assert kinds(ev) == ["blink"]
    assert starts(ev, "blink")[0].t_start == pytest.approx(T0 + 0.6, abs=1 / 30 + 1e-6)
    # ... but lids down that long are closed after all (a dozing head sinks too).
    ev, _ = run(Script(T0 + 10, pitch=[(T0, 4.0, -6.0)], gaze_pitch=[(T0, 4.0, -12.0)],
                       lids=[(T0, 4.0, 0.1)]))
    assert "microsleep" in kinds(ev)


def test_eyes_unobservable_and_face_missing_and_dark():
    ev, m = run(Script(T0 + 10, hidden=[(T0, 5.0)], closed=[(T0, 5.0)]))
    assert kinds(ev) == ["eyes_unobservable"]  # shut eyes behind sunglasses are not a microsleep
    e = starts(ev, "eyes_unobservable")[0]
    assert e.t_start == pytest.approx(T0, abs=1 / 30 + 1e-6) and e.t == pytest.approx(T0 + 3.0, abs=0.04)
    ev, m = run(Script(T0 + 10, no_face=[(T0, 4.0)]))
    assert kinds(ev) == ["face_missing"]
    end = [e for e in ev if e.kind == "face_missing" and e.type == "end"][0]
    assert end.t_end == pytest.approx(T0 + 4.0, abs=1 / 30 + 1e-6)
    snaps: list[dict] = []
    ev, m = run(Script(T0 + 10, no_face=[(T0, 5.0)], dark=[(T0, 5.0)]),
                hook=lambda m, t: snaps.append(m.snapshot()) if abs(t - T0 - 3) < 1e-6 else None)
    assert kinds(ev) == ["camera_blocked"]
    assert snaps[0]["face_present"] is False and snaps[0]["attention"] == "unknown" and snaps[0]["degraded"]



@pytest.mark.parametrize("fps", [15, 10])
def test_frame_rate_independence(fps):
    s = Script(T0 + 45, closed=[(T0, 0.2), (T0 + 3, 0.8), (T0 + 6, 1.5), (T0 + 20, 3.5)],
               yaw=[(T0 + 10, 4.0, 40.0)], mar=[(T0 + 27, 3.0, 0.7)],
               pitch=[(T0 + 33, 0.3, -20.0)], no_face=[(T0 + 36, 3.0)])
    ref, _ = run(s, 30)
    got, _ = run(s, fps)
    sig = lambda evs: [(e.kind, e.type, e.severity) for e in evs if e.t >= WARMUP]  # noqa: E731
    assert sig(got) == sig(ref)
    assert {"blink", "long_blink", "microsleep", "sleep", "long_distraction", "yawn", "face_missing"} <= set(
        kinds(ref))
    for a, b in zip([e for e in ref if e.t >= WARMUP], [e for e in got if e.t >= WARMUP], strict=True):
        assert abs(a.t_start - b.t_start) <= 1 / fps + 1e-6, (a, b)


def test_bad_input_out_of_order_gaps_nan():
    m = Monitor(MonitorConfig())
    s = Script(T0 + 10, closed=[(T0, 1.6)])
    events = []
    for ff in s.frames(30):
        if T0 + 0.5 < ff.t < T0 + 1.3:  # the camera stalls mid-closure
            continue
        events += m.update_face(ff)
        if abs(ff.t - 5.0) < 1e-6:
            events += m.update_face(s.at(4.0))  # late frame
            events += m.update_face(s.at(5.0))  # duplicate
    # 0.5 s shut + 0.8 s stall + 0.3 s shut: no closure is stretched across the gap into a microsleep
    assert "microsleep" not in kinds(events)
    snap = m.snapshot()
    assert snap["counts"]["out_of_order"] == 2 and snap["counts"]["gaps"] == 1

    nan = float("nan")
    t = T0 + 11
    for i in range(10):
        events += m.update_face(FaceFeatures(t=t + i / 30, face=True, ear_left=nan, ear_right=float("inf"),
                                             eye_open_left=nan, eye_open_right=nan, yaw=nan, pitch=nan,
                                             gaze_pitch=nan, mar=nan, brightness=nan))
    snap = m.snapshot()
    assert snap["counts"]["nan_frames"] == 10
    assert snap["attention"] == "unknown" and snap["eyes"] == "unknown" and snap["degraded"]
    for i in range(30):
        m.update_face(s.at(t + 1 + i / 30))
    snap = m.snapshot()
    assert snap["attention"] == "on_road" and snap["eyes"] == "open" and not snap["degraded"]


def test_health_sources():
    m = Monitor(MonitorConfig())
    ev = m.update_health(1.0, "camera", False, "no frames for 2 s")
    assert [(e.kind, e.type, e.severity) for e in ev] == [("camera_unavailable", "start", "warning")]
    assert m.update_health(1.5, "camera", False) == []  # not re-announced
    assert m.snapshot()["degraded"] is True
    ev = m.update_health(4.0, "camera", True)
    assert [(e.kind, e.type, e.t_end) for e in ev] == [("camera_unavailable", "end", 4.0)]
    assert ev[0].evidence["detail"] == "no frames for 2 s"
    # the heart sensor reports through its data, not here
    assert m.update_health(5.0, "heart", False, "serial port gone") + m.finish(6.0) == []


def test_heart_sensor_lost_is_announced_once():
    """The serial reader sends sensor_ok=False features every second while the sensor is lost:
    one sensor_lost start, one end, and the snapshot says degraded meanwhile."""
    from driverwatch.samples import HeartFeatures

    m = Monitor(MonitorConfig())
    ev = []
    for t in range(0, 90):  # 90 s of good data at 1 Hz (the stress baseline forms meanwhile)
        ev += m.update_heart(HeartFeatures(t=float(t), hr=70.0, rmssd=45.0, quality=1.0, n_beats=60))
    assert m.snapshot()["heart_sensor"] == "ok"
    for t in range(90, 100):
        ev += m.update_heart(HeartFeatures(t=float(t), sensor_ok=False))
    snap = m.snapshot()
    assert snap["heart_sensor"] == "lost" and snap["degraded"] is True
    ev += m.update_heart(HeartFeatures(t=100.0, hr=71.0, rmssd=44.0, quality=1.0))  # data is back
    lost = [(e.type, e.t_start, e.t_end) for e in ev if e.kind == "sensor_lost"]
    assert lost == [("start", 90.0, None), ("end", 90.0, 100.0)]
    assert m.snapshot()["heart_sensor"] == "ok"


def test_drowsiness_levels_and_heart_support_only_supports():
    # A lone microsleep is warned but is not a drowsy state; with a long blink before it, it is.
    ev, m = run(Script(T0 + 45, closed=[(T0 + 5, 1.3)]))
    assert kinds(ev) == ["microsleep"] and m.snapshot()["drowsiness"] == "alert"
    closures = [(T0, 0.7), (T0 + 5, 1.3), (T0 + 25, 1.3)]
    ev, m = run(Script(T0 + 45, closed=closures))
    d = [e for e in ev if e.kind == "drowsy"]
    assert (d[0].type, d[0].severity, d[0].evidence["level"]) == ("start", "notice", "drowsy")
    assert d[0].t == pytest.approx(T0 + 6.3, abs=0.04)  # counted when the first microsleep ends
    very = [e for e in d if e.severity == "warning"]
    assert very[0].type == "update" and very[0].evidence["level"] == "very_drowsy"
    assert very[0].evidence["microsleeps"] == 2 and very[0].t == pytest.approx(T0 + 26.3, abs=0.04)

    class Support:  # stands in for the heart side: "the body says drowsy"
        drowsy_support = True
        last = None
        judged = None  # no stress level

        def finish(self, t):
            return []

        def snapshot(self):
            return {"level": "normal"}

    m = Monitor(MonitorConfig())
    m._stress = Support()
    ev, m = run(Script(T0 + 25), monitor=m)  # heart support alone: still alert
    assert "drowsy" not in kinds(ev) and m.snapshot()["drowsiness"] == "alert"
    yawn = lambda t0: [(t0, 0.5, 0.35), (t0 + 0.5, 2.0, 0.7), (t0 + 2.5, 0.5, 0.35)]  # noqa: E731
    s = Script(T0 + 20, mar=yawn(T0) + yawn(T0 + 8))
    ev, _ = run(s)
    assert kinds(ev) == ["yawn", "yawn"]  # two yawns alone are below the drowsy line (3)
    m = Monitor(MonitorConfig())
    m._stress = Support()
    ev, _ = run(s, monitor=m)
    assert kinds(ev) == ["yawn", "yawn", "drowsy"]
    assert "heart_support" in starts(ev, "drowsy")[0].evidence["reasons"]


def test_snapshot_schema():
    _, m = run(Script(3.0))
    snap = m.snapshot()
    for key in ("schema", "calibration", "drowsiness", "attention", "perclos", "blink_rate_per_min",
                "face_present", "eyes_observable", "stress", "active", "degraded"):
        assert key in snap
    assert snap["calibration"]["status"] == "calibrating"
    assert snap["perclos"] is None and snap["drowsiness"] == "unknown"  # 3 s of data: unknown, not "fine"


def test_hooded_eyes_closed_level_learned_from_blinks():
    # Shut eyes that still read 0.6 of open (hooded / narrow eyes, glasses: issue 14 measured 0.53-0.64):
    # the warm-up blinks teach this driver's closed level, then closures are found as on any face.
    d = Driver(closed_share=0.6)
    ev, m = run(Script(T0 + 20, driver=d, closed=[(T0, 0.3), (T0 + 5, 1.5)], lids=[(T0 + 10, 3.0, 0.8)]))
    assert kinds(ev)[:2] == ["blink", "microsleep"] and "long_blink" not in kinds(ev), kinds(ev)
    assert starts(ev, "microsleep")[0].t_start == pytest.approx(T0 + 5, abs=1 / 30 + 1e-6)
    assert kinds(ev).count("blink") == 1  # the 3 s squint at 0.8 of open is no closure
    assert 0.55 <= m.calib.closed_level("geometry", 0.25, 0.65) <= 0.62
    # Shut lids of such a face hover at the blink line (closure 0.85 / 0.78, as measured on the rendered
    # glasses face): still one closure, a microsleep, not blinks cut by "half-open" lids.
    hover = [(T0, 0.2, 0.66), (T0 + 0.2, 0.4, 0.69), (T0 + 0.6, 0.3, 0.66), (T0 + 0.9, 0.6, 0.69)]
    ev, _ = run(Script(T0 + 8, driver=d, lids=hover))
    assert kinds(ev) == ["microsleep"], kinds(ev)
    # ... and the first blinks, before the level is known, are not guessed as closed at all
    ev, _ = run(Script(6.0, driver=d))
    assert starts(ev, "blink", after=0) == []


def test_blendshape_closure_when_the_landmarks_stay_open():
    # Landmarks that hardly move when the lids shut (0.85 of open: too shallow to learn from) while
    # the blendshape model's eyeBlink goes to 0.7: the closure comes from the blendshapes.
    d = Driver(closed_share=0.85, blendshapes=True)
    ev, _ = run(Script(T0 + 10, driver=d, closed=[(T0, 1.5)]))
    assert kinds(ev) == ["microsleep"]
    ev, m = run(Script(T0 + 60, driver=Driver(closed_share=0.85), closed=[(T0, 1.5)]))
    assert kinds(ev) == []  # without blendshapes such a face's closure is not seen ...
    snap = m.snapshot()  # ... nor guessed: a minute without one measured blink leaves PERCLOS unknown
    assert snap["calibration"]["status"] == "calibrated" and snap["perclos"] is None
    assert snap["drowsiness"] == "unknown" and snap["blink_rate_per_min"] is None


def test_laughing_squeezed_eyes_are_not_a_microsleep():
    d = Driver(blendshapes=True)
    ev, _ = run(Script(T0 + 10, driver=d, closed=[(T0, 1.5)], smile=[(T0 - 0.5, 2.5, 0.9)]))
    assert kinds(ev) == []
    ev, _ = run(Script(T0 + 10, driver=d, closed=[(T0, 1.5)], smile=[(T0 - 0.5, 2.5, 0.3)]))
    assert kinds(ev) == ["microsleep"]  # a slight smile does not hide a closure
    # a face that rests smiling (like the bundled portrait, mouthSmile 0.91) is not laughing
    ev, _ = run(Script(T0 + 10, driver=Driver(blendshapes=True, smile=0.9), closed=[(T0, 1.5)]))
    assert kinds(ev) == ["microsleep"]
    # ... but when such a face laughs its score saturates: the rise needed is a share of the headroom
    ev, _ = run(Script(T0 + 10, driver=Driver(blendshapes=True, smile=0.9), closed=[(T0, 1.5)],
                       smile=[(T0 - 0.5, 2.5, 0.99)]))
    assert kinds(ev) == []  # rendered Obama: rests at 0.90, laughs at 0.99


def test_a_laugh_whose_smile_wavers_stays_a_laugh():
    """Rendered Obama laughing: the smile score wavers 0.96-0.99 over a rest of 0.93, around the
    rise that starts a squeeze (0.6 of the headroom, at least SQUEEZE_MIN_RISE). Once started, the squeeze holds while the smile stays above
    half that rise; a smile back at rest ends it, and a closure then counts."""
    d = Driver(blendshapes=True, smile=0.93)
    waver = [(T0 - 0.5 + 0.2 * k, 0.2, 0.99 if k % 3 == 0 else 0.965) for k in range(13)]
    ev, _ = run(Script(T0 + 10, driver=d, closed=[(T0, 2.0)], smile=waver))
    assert kinds(ev) == []
    ev, _ = run(Script(T0 + 10, driver=d, closed=[(T0 + 1.0, 1.5)], smile=[(T0 - 0.5, 1.0, 0.99)]))
    assert kinds(ev) == ["microsleep"]  # the laugh is over before the eyes close
    # a face resting at 0.94 has little headroom: its laugh's median rise is 0.055, its rest's noise 0.013
    ev, _ = run(Script(T0 + 10, driver=Driver(blendshapes=True, smile=0.94), closed=[(T0, 2.0)],
                       smile=[(T0 - 0.5, 3.0, 0.985)]))
    assert kinds(ev) == []


def test_laughs_during_calibration_do_not_lift_the_resting_smile():
    """Most of the warm-up spent laughing (smile 0.99 over a rest of 0.93, 14 of 22 s): the rest
    stays the straight face's, so a later laugh still squeezes the eyes."""
    d = Driver(blendshapes=True, smile=0.93)
    laughs = [(t, 3.5, 0.99) for t in (1, 6, 11, 16)]
    ev, m = run(Script(T0 + 10, driver=d, closed=[(T0, 1.5)], smile=[*laughs, (T0 - 0.5, 2.5, 0.99)]))
    assert m.calib.neutral_smile() == pytest.approx(0.93, abs=0.01)
    assert kinds(ev) == []


def test_yawn_from_jaw_opening():
    d = Driver(blendshapes=True)
    yawn = [(T0, 0.8, 0.45), (T0 + 0.8, 2.5, 0.8), (T0 + 3.3, 0.7, 0.45)]
    ev, _ = run(Script(T0 + 10, driver=d, jaw=yawn))  # lips hide it: MAR stays closed, the jaw drops
    y = starts(ev, "yawn")
    assert kinds(ev) == ["yawn"] and y[0].evidence["peak_jaw_open"] == pytest.approx(0.8, abs=0.01)
    assert y[0].t_start == pytest.approx(T0, abs=0.05) and y[0].t_end == pytest.approx(T0 + 4.0, abs=0.05)
    talk = [(T0 + i * 0.25, 0.15, 0.35) for i in range(40)]  # speech: the jaw moves at 4 Hz
    held = [(T0 + 12, 3.0, 0.45)]  # jaw held half open (a rendered yawn's 0.44): not wide enough
    ev, _ = run(Script(T0 + 20, driver=d, jaw=talk + held, mar=[(T0 + 12, 3.0, 0.2)]))
    assert kinds(ev) == []
    ev, _ = run(Script(T0 + 10, driver=d, jaw=[(T0, 3.0, 0.45)], mar=yawn))  # ... with a wide MAR it is one
    assert kinds(ev) == ["yawn"]


def test_relaxed_half_open_lids_after_a_blink_end_it():
    # A blink, then 1 s of lids resting half lowered (closure 0.6) before opening fully.
    half = 1 - 0.6 * 0.75
    ev, m = run(Script(T0 + 10, closed=[(T0, 0.2)], lids=[(T0 + 0.2, 1.0, half)]))
    assert kinds(ev) == ["blink"], kinds(ev)
    b = starts(ev, "blink")[0]
    assert b.t_end - b.t_start == pytest.approx(0.2, abs=1 / 30 + 1e-6)
    # half-open lids for less than reopen_hold_s inside a closure do not end it
    ev, _ = run(Script(T0 + 10, closed=[(T0, 0.6), (T0 + 0.7, 0.8)], lids=[(T0 + 0.6, 0.1, half)]))
    assert kinds(ev) == ["microsleep"]
