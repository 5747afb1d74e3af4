"""A monitor's conditions all end when monitoring stops, and a recalibration (a new driver)
forgets the heart baseline as well as the face baseline."""

from driverwatch.config import Config
from driverwatch.monitor import Monitor
from driverwatch.samples import HeartFeatures


def heart(t, hr, rmssd=40.0, ok=True):
    return HeartFeatures(t=t, hr=hr, rmssd=rmssd, sdnn=50.0, quality=1.0 if ok else None, window_s=60.0,
                         n_beats=60, sensor_ok=ok)


def calibrated_monitor():
    cfg = Config()
    m = Monitor(cfg.monitor, heart_cfg=cfg.heart)
    t = 0.0
    while t < cfg.heart.stress.calibration_s + 5:
        m.update_heart(heart(t, 65.0))
        t += 1.0
    assert m.snapshot()["calibration"]["heart"] is True
    return m, t


def test_finish_ends_stress_and_sensor_lost():
    m, t = calibrated_monitor()
    events = []
    for i in range(120):  # a long stretch of a racing heart, then the sensor goes silent
        events += m.update_heart(heart(t + i, 110.0, rmssd=15.0))
    events += m.update_heart(heart(t + 121, None, ok=False))
    started = {e.id for e in events if e.type == "start"}
    assert {e.kind for e in events if e.type == "start"} >= {"stress", "sensor_lost"}
    ended = {e.id for e in events + m.finish(t + 130) if e.type == "end"}
    assert started <= ended, "conditions left open after finish()"


def test_recalibrate_forgets_the_heart_baseline():
    m, t = calibrated_monitor()
    m.recalibrate(t)
    assert m.snapshot()["calibration"]["heart"] is False
