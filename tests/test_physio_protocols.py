"""Line protocols, recordings, heart replay outputs and the stress state machine."""

import argparse
import json

import numpy as np
import pytest
from fixtures.data import shared_file

from driverwatch.config.affect import StressConfig
from driverwatch.config.heart import HeartConfig
from driverwatch.daemon.heart_replay import add_heart_arguments, replay_heart
from driverwatch.monitor.events import EventIds
from driverwatch.monitor.stress import StressMonitor
from driverwatch.physio.protocols import LineParser
from driverwatch.physio.recording import load_recording
from driverwatch.physio.simulator import build_lines
from driverwatch.samples import HeartFeatures


@pytest.mark.parametrize("lines,protocol,kind", [
    ([b"BPM:72", b"BPM:73"], "bpm", "hr"),
    ([b"HR=72.5"], "bpm", "hr"),
    ([b"812", b"790", b"805", b"820", b"798", b"801", b"811", b"799"], "rr", "rr"),
    ([b"72", b"73", b"71", b"74", b"72", b"70", b"73", b"72"], "bpm", "hr"),
    ([b"1000,512", b"1010,530"], "raw", "raw"),
    ([b'{"hr": 71, "ts": 5000}'], "json", "hr"),
])
def test_auto_recognises_each_protocol(lines, protocol, kind):
    p = LineParser(HeartConfig(protocol="auto"))
    out = []
    for i, line in enumerate(lines):
        out += p.parse(line, float(i))  # one line per second
    assert p.protocol == protocol
    assert [s[0] for s in out] == [kind] * len(lines)
    assert p.counts["valid"] == len(lines)


def test_auto_takes_fast_plain_numbers_as_raw_samples_timed_by_the_rate():
    p = LineParser(HeartConfig(protocol="auto", sample_rate=250.0))
    out = []
    for i in range(20):
        out += p.parse(str(500 + i % 7).encode(), 10.0 + i * 0.004)
    assert p.protocol == "raw"
    np.testing.assert_allclose([s[1] for s in out], 10.0 + np.arange(20) / 250.0)


def test_out_of_range_and_bad_json_are_counted_not_parsed():
    p = LineParser(HeartConfig(protocol="json"))
    assert p.parse(b'{"hr": 300}', 0) == []
    assert p.parse(b'{"rr": [100]}', 0) == []
    assert p.parse(b'{"rr": [800, 820], "ts": 2000}', 0)[-1][2] == 820.0
    assert p.parse(b"[1, 2]", 0) == [] and p.parse(b'{"hr": "x"}', 0) == []
    assert p.counts["out_of_range"] == 2 and p.counts["garbage"] == 2 and p.counts["valid"] == 1


def _replay(tmp_path, *argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--config")
    add_heart_arguments(ap)
    out = tmp_path / "heart.jsonl"
    beats = tmp_path / "beats.txt"
    args = ap.parse_args([*argv, "--heart-out", str(out), "--beats-out", str(beats)])
    assert replay_heart(args) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    return rows, np.loadtxt(beats)


@pytest.mark.slow
def test_replay_of_raw_csv_and_of_an_rr_serial_log_agree(tmp_path):
    path = shared_file("data/ppg/heartpy_data2.csv")
    rows, beats = _replay(tmp_path, "--heart", str(path))
    assert {"t", "hr", "rmssd", "sdnn", "stress", "quality"} <= set(rows[0])
    assert [r["t"] for r in rows] == sorted(r["t"] for r in rows)
    assert 100 < beats.size < 160 and np.all(np.diff(beats) > 0.25)
    # the same recording as an "rr" sensor would send it, logged with arrival times
    rec = load_recording(path)
    log = tmp_path / "serial.log"
    log.write_text("".join(f"{t:.3f}\t{line.decode()}\n" for t, line in build_lines(rec, "rr", "ppg")))
    rows_rr, _ = _replay(tmp_path, "--heart", str(log), "--heart-protocol", "auto")
    t0 = rows_rr[0]["t"] + 10.0  # over the same span, once both HR windows are full
    hr_raw = np.median([r["hr"] for r in rows if r["hr"] and r["t"] >= t0])
    hr_rr = np.median([r["hr"] for r in rows_rr if r["hr"] and r["t"] >= t0])
    assert abs(hr_raw - hr_rr) < 1.0


def test_replay_needs_a_rate_for_a_csv_without_time(tmp_path):
    from driverwatch.errors import UsageError

    with pytest.raises(UsageError, match="--heart-rate"):
        _replay(tmp_path, "--heart", str(shared_file("data/ppg/heartpy_data.csv")))


def _feed(sm, t0, t1, **kw):
    events = []
    for t in np.arange(t0, t1, 1.0):
        events += sm.update(HeartFeatures(t=float(t), **{"quality": 1.0, **kw}))
    return events


def test_stress_level_needs_persistence_and_is_unknown_on_poor_signal():
    cfg = StressConfig(calibration_s=60, min_duration_s=20)
    sm = StressMonitor(cfg, EventIds("d"))
    assert _feed(sm, 0, 61, hr=70.0, rmssd=50.0) == [] and sm.calibrated
    assert sm.snapshot()["baseline"] == {"hr": 70.0, "rmssd": 50.0, "source": "drive"}
    assert _feed(sm, 61, 75, hr=84.0, rmssd=30.0) == [] and sm.level == "normal"  # not yet 20 s
    ev = _feed(sm, 75, 90, hr=84.0, rmssd=30.0)
    assert [(e.kind, e.type, e.t_start) for e in ev] == [("stress", "start", 61.0)]
    assert sm.level == "elevated"
    ev = _feed(sm, 90, 95, hr=84.0, rmssd=30.0, quality=0.3)
    assert sm.level is None and sm.snapshot()["level"] is None and ev == []
    ev = _feed(sm, 95, 100, sensor_ok=False)
    assert [(e.kind, e.type) for e in ev] == [("sensor_lost", "start")]


def test_a_level_is_left_when_the_score_stays_below_its_line_for_most_of_the_time():
    """A score jittering around the hysteresis line (a real rest: +-0.25) leaves `elevated` once it has been
    below the line for `persist_share` of `min_duration_s`; brief returns above it do not restart the count."""
    cfg = StressConfig(calibration_s=60, min_duration_s=20, persist_share=0.8)
    sm = StressMonitor(cfg, EventIds("d"))
    _feed(sm, 0, 61, hr=70.0, rmssd=None)
    _feed(sm, 61, 90, hr=80.0, rmssd=None)  # +14 %: elevated
    assert sm.level == "elevated"
    events = []
    for i, t in enumerate(range(90, 130)):  # 3 s of every 10 just above the leaving line (score 0.7)
        hr = 75.0 if i % 10 in (0, 5) else 72.0  # score 0.71 or 0.29: off the candidate 20 % of the time
        events += sm.update(HeartFeatures(t=float(t), hr=hr, quality=1.0))
    ends = [e for e in events if e.kind == "stress" and e.type == "end"]
    assert sm.level == "normal" and len(ends) == 1 and ends[0].t_end == 91.0, (sm.level, ends)
    strict = StressMonitor(cfg.model_copy(update={"persist_share": 1.0}), EventIds("d"))
    _feed(strict, 0, 61, hr=70.0, rmssd=None)
    _feed(strict, 61, 90, hr=80.0, rmssd=None)
    for i, t in enumerate(range(90, 130)):
        strict.update(HeartFeatures(t=float(t), hr=75.0 if i % 10 in (0, 5) else 72.0, quality=1.0))
    assert strict.level == "elevated"  # every sample must agree: the jitter holds the level


def test_drowsiness_support_is_a_flag_never_an_event():
    sm = StressMonitor(StressConfig(calibration_s=30), EventIds("d"))
    _feed(sm, 0, 32, hr=70.0, rmssd=50.0)  # calibrated at 30 s, then judged
    assert sm.drowsy_support is False
    assert _feed(sm, 32, 200, hr=63.0, rmssd=60.0) == []
    assert sm.drowsy_support is True and sm.level == "normal"
    _feed(sm, 200, 201, hr=63.0, rmssd=None)
    assert sm.drowsy_support is None


def test_heart_features_closes_its_outputs_when_the_caller_stops_early(tmp_path):
    from driverwatch.daemon.heart_replay import close_outputs, heart_features

    ap = argparse.ArgumentParser()
    ap.add_argument("--config")
    add_heart_arguments(ap)
    beats = tmp_path / "beats.txt"
    args = ap.parse_args(["--heart", str(shared_file("data/ppg/heartpy_data2.csv")), "--beats-out", str(beats)])
    it = heart_features(args)
    first = [next(it) for _ in range(5)]
    assert [f.t for f in first] == sorted(f.t for f in first)
    close_outputs(args)  # what `replay` does in its finally, whether or not the iteration ended
    written = np.loadtxt(beats)  # flushed and closed: the beats before the 5th record are all there
    assert written.size >= 3 and np.all(np.diff(written) > 0.25) and written[-1] <= first[-1].t
    it.close()


def test_bad_lines_are_logged_once_a_minute_per_reason_and_all_counted(caplog):
    p = LineParser(HeartConfig(protocol="bpm"))
    with caplog.at_level("WARNING", logger="driverwatch.heart"):
        for i in range(500):
            p.parse(b"\xff\xfe", float(i))
            p.parse(b"BPM:999", float(i))
    assert p.counts["garbage"] == 500 and p.counts["out_of_range"] == 500
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 2 and {"garbage", "out of range"} == {m.split("skipped ")[1].split(" line")[0] for m in msgs}
