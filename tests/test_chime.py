"""Chimes: what is synthesised, what a player process receives and when, and the no-sound-card case.

Live tests swap aplay for tests/support/capture_player.py, which records when PCM arrived on the
system-wide monotonic clock (the same clock as time.monotonic() here)."""

import json
import shlex
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from support.util import wait_for

from driverwatch.config.chime import ChimeConfig
from driverwatch.monitor.events import Event
from driverwatch.sinks.chime import ALARM, ChimePlanner, ChimeSink, probe_player, synth_patterns

CAPTURE = Path(__file__).parent / "support" / "capture_player.py"
RATE = 22050


def ev(id_, seq, type_, sev, t, t_start=None, t_end=None, kind=None):
    return Event(id_, seq, type_, kind or id_.split(":")[1], sev, t, t_start if t_start is not None else t, t_end)


def capture_cfg(tmp_path, **kw) -> ChimeConfig:
    player = f"{shlex.quote(sys.executable)} {shlex.quote(str(CAPTURE))} {shlex.quote(str(tmp_path))} -r {{rate}} -D {{device}}"
    return ChimeConfig(player=player, device="test-dev", **kw)


def captured(tmp_path, n: int, timeout: float = 5.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        recs = sorted((json.loads(p.read_text()) | {"pcm": p.with_suffix("").with_suffix(".pcm")}
                       for p in tmp_path.glob("*.json")), key=lambda r: r["first"])
        if len(recs) >= n:
            return recs
        time.sleep(0.02)
    return recs


def dominant_hz(pcm: np.ndarray, rate: int = RATE) -> float:
    spec = np.abs(np.fft.rfft(pcm.astype(float)))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[spec.argmax()])


def test_each_severity_has_its_own_sound():
    cfg = ChimeConfig()
    p = synth_patterns(cfg)
    peak = {k: int(np.abs(v.pcm).max()) for k, v in p.items()}
    assert peak["warning"] == pytest.approx(cfg.volume * 32767, rel=0.01)
    assert peak["notice"] < 0.4 * peak["warning"]  # soft: 10 dB below
    assert abs(dominant_hz(p["warning"].pcm) - cfg.warning_hz) < 5
    assert abs(dominant_hz(p["notice"].pcm) - cfg.notice_hz * 4 / 3) < 10  # the longer second note
    first_pulse = p[ALARM].pcm[: int(0.085 * RATE)]
    assert abs(dominant_hz(first_pulse) - cfg.critical_hz) < 15
    assert len(p["warning"].on) == 6 and len(p["notice"].on) == 2  # 2 bursts of 3 beeps; two notes
    # the alarm loops without a click: it starts and ends on a (faded) silence
    assert p[ALARM].pcm[0] == 0 and p[ALARM].pcm[-1] == 0
    quiet = synth_patterns(ChimeConfig(volume=0.2))
    assert int(np.abs(quiet["warning"].pcm).max()) == pytest.approx(0.2 * 32767, rel=0.01)


def test_planner_cooldown_escalation_and_info():
    pl = ChimePlanner(repeat_s=20)
    assert pl.plan(ev("d:face_missing:1", 0, "start", "info", 0.0)) == []
    plays = []
    for i in range(31):  # an update every second for 30 s
        e = ev("d:drowsy:1", i, "start" if i == 0 else "update", "warning", float(i), t_start=0.0)
        plays += [(e.t, a) for a in pl.plan(e)]
    assert plays == [(0.0, ("play", "warning")), (20.0, ("play", "warning"))]
    assert pl.plan(ev("d:drowsy:1", 31, "update", "critical", 31.0, 0.0)) == [("loop", "d:drowsy:1")]
    assert pl.plan(ev("d:drowsy:1", 32, "update", "critical", 32.0, 0.0)) == []
    assert pl.plan(ev("d:drowsy:1", 33, "end", "critical", 33.0, 0.0, 33.0)) == [("stop", "d:drowsy:1")]
    # an instantaneous critical event (start with t_end) plays a burst, never an endless loop
    assert pl.plan(ev("d:microsleep:1", 0, "start", "critical", 40.0, 39.0, 40.0)) == [("play", "critical")]
    assert pl.looping == set() and pl.active == {}
    # enabled = false silences notices and warnings, but not critical alarms
    off = ChimePlanner(enabled=False)
    assert off.plan(ev("d:yawn:1", 0, "start", "notice", 1.0, 0.5, 1.0)) == []
    assert off.plan(ev("d:drowsy:2", 0, "start", "warning", 2.0)) == []
    assert off.plan(ev("d:sleep:1", 0, "start", "critical", 3.0)) == [("loop", "d:sleep:1")]


def test_render_wav_places_chimes_at_event_times(tmp_path):
    events = [
        ev("d:yawn:1", 0, "start", "notice", 2.0, 1.0, 2.0),
        ev("d:sleep:1", 0, "start", "critical", 5.0),
        ev("d:long_distraction:1", 0, "start", "warning", 6.0),  # waits behind the alarm...
        ev("d:sleep:1", 1, "end", "critical", 7.0, 5.0, 7.0),  # ...which ends here
        ev("d:yawn:2", 0, "start", "notice", 8.0, 7.5, 8.0),  # cut short? no: lower rank waits
    ]
    out = tmp_path / "chimes.wav"
    segments = ChimeSink.render_wav(out, events, duration=12.0)
    assert [s[2] for s in segments] == ["notice", ALARM, "warning", "notice"]
    assert segments[1][:2] == (5.0, 7.0)
    assert segments[2][0] == 7.0
    assert segments[3][0] == pytest.approx(7.0 + synth_patterns(ChimeConfig())["warning"].duration)
    # sox reads it back as the right length and format
    soxi = subprocess.run(["soxi", "-D", str(out)], capture_output=True, text=True) if shutil.which("soxi") else None
    if soxi is not None:
        assert float(soxi.stdout) == pytest.approx(12.0, abs=0.01)
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")

    def loud(a, b):
        return np.abs(pcm[int(a * RATE):int(b * RATE)]).max() > 1000

    assert not loud(0, 1.99) and loud(2.0, 2.3) and not loud(2.8, 4.99)
    assert loud(5.0, 5.1) and loud(6.8, 7.0)  # the alarm sounds right up to the end event
    assert abs(dominant_hz(pcm[int(7.0 * RATE):int(7.1 * RATE)]) - 1000) < 20  # then the warning
    assert not loud(9.5, 12.0)


def test_critical_alarm_plays_until_its_end_event(tmp_path):
    sink = ChimeSink(capture_cfg(tmp_path))
    sink.start()
    try:
        assert wait_for(lambda: sink.health()["ok"] is not None, 10)  # the device probe finished
        assert sink.health()["ok"] is True
        t_start = time.monotonic()
        t0 = time.perf_counter()
        sink.handle(ev("d:sleep:1", 0, "start", "critical", 10.0))
        assert time.perf_counter() - t0 < 0.05  # handle() only queues (the pattern lasts seconds)
        time.sleep(1.5)
        assert sink.health()["playing"] == ALARM
        t_end = time.monotonic()
        sink.handle(ev("d:sleep:1", 1, "end", "critical", 11.5, 10.0, 11.5))
        rec = captured(tmp_path, 1)[0]
    finally:
        sink.stop()
    assert rec["args"] == ["-r", "22050", "-D", "test-dev"]
    # generous bounds for a loaded machine: the latency itself is scripts/bench_chime.py's (~18 ms)
    assert 0 <= rec["first"] - t_start < 1.5  # the alarm starts at once, not after a pattern
    assert rec["killed"] and 0 <= rec["ended"] - t_end < 1.5  # and stops right after the end, not at a pause
    played_s = rec["bytes"] / 2 / RATE
    assert 1.5 <= played_s <= 1.5 + 0.7  # paced to real time (+ the lead), not dumped at once
    pcm = np.frombuffer(rec["pcm"].read_bytes(), dtype="<i2")
    unit = synth_patterns(ChimeConfig())[ALARM].pcm
    n = len(pcm) // len(unit) * len(unit)
    assert np.array_equal(pcm[:n], np.tile(unit, n // len(unit)))
    assert sink.health()["playing"] is None


def test_notices_the_monitor_marks_snoozed_are_silent(tmp_path):
    """The snooze is the monitor's: the chime only honours the `snoozed` mark on an event."""
    sink = ChimeSink(capture_cfg(tmp_path))
    sink.start()
    try:
        muted = ev("d:drowsy:1", 0, "start", "notice", 1.0)
        muted.snoozed = True
        sink.handle(muted)
        sink.handle(ev("d:long_distraction:1", 0, "start", "warning", 1.1))
        assert len(captured(tmp_path, 1)) == 1
        sink.handle(ev("d:yawn:2", 0, "start", "notice", 5.0, 4.5, 5.0))  # not snoozed: heard
        recs = captured(tmp_path, 2)
    finally:
        sink.stop()
    # had the muted notice played, it would be the first record (cut by the warning)
    assert len(recs) == 2 and sink.snoozed == 1
    sizes = [r["bytes"] // 2 for r in recs]
    p = synth_patterns(ChimeConfig())
    assert sizes == [len(p["warning"].pcm), len(p["notice"].pcm)]
    assert not recs[0]["killed"] and not recs[1]["killed"]


@pytest.mark.skipif(shutil.which("aplay") is None, reason="aplay (alsa-utils) not installed")
def test_no_sound_card_is_a_health_warning_and_never_blocks(tmp_path):
    if probe_player(ChimeConfig()) is None:
        pytest.skip("this machine has a working sound device")
    sink = ChimeSink(ChimeConfig(device="default"))
    sink.start()
    try:
        deadline = time.monotonic() + 3
        while sink.health()["ok"] is None and time.monotonic() < deadline:
            time.sleep(0.02)
        h = sink.health()
        assert h["ok"] is False and "aplay" in h["last_error"] and h["device"] == "default"
        t0 = time.perf_counter()
        for i in range(100):
            sink.handle(ev(f"d:sleep:{i}", 0, "start", "critical", float(i)))
        assert time.perf_counter() - t0 < 0.5  # 100 alarms queued, none waited for the missing device
        time.sleep(0.5)
        assert sink.health()["ok"] is False  # still running, still reporting the problem
    finally:
        t0 = time.perf_counter()
        sink.stop()
        assert time.perf_counter() - t0 < 2


def test_wav_output_writes_what_would_have_played(tmp_path):
    out = tmp_path / "cab.wav"
    sink = ChimeSink(ChimeConfig(output="wav"), wav_path=out)
    sink.start()
    sink.handle(ev("d:drowsy:1", 0, "start", "warning", 1.0))
    sink.handle(ev("d:drowsy:1", 1, "end", "warning", 3.0, 1.0, 3.0))
    assert sink.health()["ok"] is True
    sink.stop()
    with wave.open(str(out)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert len(pcm) == 5 * RATE  # to the last event + 2 s
    assert np.abs(pcm[: RATE - 10]).max() == 0 and np.abs(pcm[RATE:RATE + 2205]).max() > 10000


def test_relative_wav_path_goes_under_the_state_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "systemd"))
    state = tmp_path / "state"
    state.mkdir()
    sink = ChimeSink(ChimeConfig(output="wav", wav_path="cab.wav"), state_dir=state)
    sink.start()
    sink.handle(ev("d:drowsy:1", 0, "start", "warning", 1.0))
    sink.stop()
    assert [p.name for p in state.iterdir()] == ["cab.wav"]  # not the working dir, not $STATE_DIRECTORY
    assert not (tmp_path / "cab.wav").exists() and not (tmp_path / "systemd").exists()


def test_output_none_reports_that_alarms_are_not_audible():
    sink = ChimeSink(ChimeConfig(output="none"))
    sink.start()
    sink.handle(ev("d:sleep:1", 0, "start", "critical", 1.0))
    h = sink.health()
    sink.stop()
    assert h["ok"] is False and "not audible" in h["last_error"] and h["alarms_active"] == 1


@pytest.mark.skipif(shutil.which("aplay") is None, reason="aplay (alsa-utils) not installed")
def test_real_aplay_plays_on_the_alsa_null_device():
    """The default player command line, unchanged, against ALSA's "null" PCM (no sound card needed)."""
    sink = ChimeSink(ChimeConfig(device="null"))
    sink.start()
    try:
        assert wait_for(lambda: sink.health()["ok"] is not None, 10)
        assert sink.health()["ok"] is True, sink.health()
        sink.handle(ev("d:sleep:1", 0, "start", "critical", 1.0))
        assert wait_for(lambda: sink.health()["playing"] == ALARM, 5)
        sink.handle(ev("d:sleep:1", 1, "end", "critical", 1.3, 1.0, 1.3))
        sink.handle(ev("d:drowsy:1", 0, "start", "warning", 1.3))
        assert wait_for(lambda: sink.health()["playing"] == "warning", 5)
        h = sink.health()
        assert h["playing"] == "warning" and h["ok"] is True and h["last_error"] is None and h["played"] == 2
    finally:
        sink.stop()
