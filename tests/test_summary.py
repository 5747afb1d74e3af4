"""The replay / demo summary (Timeline): a condition lasted t_end - t_start (not until its end
message, which comes a cooldown later), and a condition still open when the recording ends is
said to be so, not printed as having ended."""

from test_monitor import T0, Script

from driverwatch.config import Config
from driverwatch.daemon.wiring import Pipeline, Timeline


def test_summary_durations_and_the_end_of_the_recording():
    timeline = Timeline()
    p = Pipeline(Config(), drive_id="d", sinks=[timeline])
    script = Script(T0 + 20, no_face=[(T0, 4.0), (T0 + 14, 6.0)])  # the second lasts to the end
    for ff in script.frames(30.0):
        p.face(ff)
    p.finish()
    ends = [e for e in timeline.events if e.kind == "face_missing" and e.type == "end"]
    assert len(ends) == 2
    first, last = ends
    assert first.t - first.t_end >= 2.9  # the end message comes after the cooldown
    lines = [ln for ln in timeline.lines() if "face_missing" in ln]
    ended = [ln for ln in lines if " end " in ln]
    # 4 s away; the rule fires after face_missing_s, the condition starts when the face went
    assert len(ended) == 1 and f"lasted {first.t_end - first.t_start:.1f} s" in ended[0], lines
    assert abs((first.t_end - first.t_start) - 4.0) < 0.1
    assert last.evidence.get("open_at_end") is True and not first.evidence.get("open_at_end")
    assert any("still open at the end" in ln for ln in lines), lines
