"""A monitor's conditions all end when monitoring stops (never before they began), and a
recalibration (a new driver) forgets the heart baseline and what was judged against it."""

from driverwatch.config import Config
from driverwatch.daemon.wiring import Pipeline
from driverwatch.monitor import Monitor
from driverwatch.samples import HeartFeatures


def heart(t, hr, rmssd=40.0, ok=True):
    return HeartFeatures(t=t, hr=hr, rmssd=rmssd, sdnn=50.0, quality=1.0 if ok else None, window_s=60.0,
                         n_beats=60, sensor_ok=ok)


def calibrated(m: Monitor | Pipeline, cfg: Config) -> float:
    t = 0.0
    while t < cfg.monitor.stress.calibration_s + 5:
        (m.heart if isinstance(m, Pipeline) else m.update_heart)(heart(t, 65.0))
        t += 1.0
    return t


def stressed(m: Monitor, t: float) -> list:
    events = []
    for i in range(120):  # two minutes of a racing heart
        events += m.update_heart(heart(t + i, 110.0, rmssd=15.0))
    return events


def test_finish_ends_stress_and_sensor_lost():
    cfg = Config()
    m = Monitor(cfg.monitor)
    t = calibrated(m, cfg)
    assert m.snapshot()["calibration"]["heart"] is True
    events = stressed(m, t)
    events += m.update_heart(heart(t + 121, None, ok=False))  # then the sensor goes silent
    assert {e.kind for e in events if e.type == "start"} >= {"stress", "sensor_lost"}
    started = {e.id for e in events if e.type == "start" and e.t_end is None}  # instants are over
    ended = {e.id for e in events + m.finish(t + 130) if e.type == "end"}
    assert started <= ended, "conditions left open after finish()"


def test_pipeline_finishes_at_its_last_input_of_any_kind():
    """A heart-only drive ends its conditions at the last heart sample, not at time 0."""
    cfg = Config()
    seen = []
    p = Pipeline(cfg, "d", sinks=[type("S", (), {"handle": lambda self, e: seen.append(e)})()])
    t = calibrated(p, cfg)
    for i in range(120):
        p.heart(heart(t + i, 110.0, rmssd=15.0))
    ends = [e for e in p.finish() if e.type == "end"]
    assert ends and all(e.t_end >= e.t_start and e.t_end == t + 119 for e in ends)


def test_recalibrate_forgets_the_heart_baseline_and_ends_stress():
    cfg = Config()
    m = Monitor(cfg.monitor)
    t = calibrated(m, cfg)
    assert any(e.kind == "stress" for e in stressed(m, t))
    events = m.recalibrate(t + 120)
    assert [(e.kind, e.type) for e in events] == [("stress", "end")]
    snap = m.snapshot()
    assert snap["calibration"]["heart"] is False and snap["stress"] is None
