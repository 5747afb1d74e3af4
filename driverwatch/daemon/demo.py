"""`driverwatch demo`: the main job on built-in data, for a newcomer.

Renders (once, then cached) a short scripted drive from the bundled public-domain face photo: a
calm stretch for calibration, then a microsleep, a long glance away and a yawn. It runs through the
same stack as a live run (vision, monitor, event log, chimes, MQTT when a broker is configured),
renders the chimes to a WAV file (a demo plays faster than real time), plots the timeline, and
prints what it detected next to what the script says should be detected.
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(p) -> None:
    p.add_argument("--out", metavar="DIR", default="driverwatch-demo", help="output folder (default: ./driverwatch-demo)")
    p.add_argument("--scenario", default="demo", help="built-in scenario to render (default: demo)")
    p.add_argument("--video", help="use this recording instead of a rendered scenario")
    p.add_argument("--no-report", action="store_true", help="skip the timeline plot")


def _expected(truth_path: Path | None) -> list[dict]:
    if not truth_path or not truth_path.exists():
        return []
    for line in truth_path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("type") == "scenario" or "must" in row:
            return row.get("must", [])
    return []


def main(args) -> int:
    from driverwatch.clock import utc_now_iso
    from driverwatch.config import load_config
    from driverwatch.daemon.replay import vision_features
    from driverwatch.daemon.wiring import JsonlWriter, Pipeline, Timeline
    from driverwatch.sinks.registry import SinkContext, SinkSet
    from driverwatch.vision.models import resolve_models_dir, verify_models

    cfg = load_config(args.config)
    verify_models(resolve_models_dir(cfg.vision))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    truth = None
    if args.video:
        video = Path(args.video)
    else:
        from driverwatch.sources.scenario import render_cached

        print(f"rendering the '{args.scenario}' scenario (cached after the first run) ...", flush=True)
        video, truth = render_cached(args.scenario, models_dir=resolve_models_dir(cfg.vision))
        video, truth = Path(video), Path(truth)
    print(f"replaying {video} through the whole stack ...", flush=True)

    timeline = Timeline()
    events_out = JsonlWriter(out / "events.jsonl")
    # The same sinks as `run` (sinks/registry.py), with the demo's own files: the chimes go to a WAV
    # (a demo plays faster than real time) and the demo is its own "vehicle" (<vehicle_id>-demo, own
    # outbox), so it never mixes with a live daemon.
    demo_id = f"{cfg.daemon.vehicle_id}-demo"
    wav = (out / "chimes.wav").resolve()
    cfg = cfg.model_copy(update={"chime": cfg.chime.model_copy(update={"output": "wav", "wav_path": wav}),
                                 "log": cfg.log.model_copy(update={"enabled": True})})
    sinks = SinkSet(frames=False, extra=[timeline, events_out]).build_all(
        SinkContext(cfg, out / "state", out / "log", demo_id))
    mqtt = sinks.get("mqtt")
    drive_id = f"demo-{uuid.uuid4().hex[:8]}"
    # A demo runs faster than real time: its events are stamped with the time they are processed.
    pipeline = Pipeline(cfg, drive_id=drive_id, sinks=sinks.handlers(), to_utc=lambda _t: utc_now_iso())
    frames_out = JsonlWriter(out / "frames.jsonl")
    try:
        for ff, _timings in vision_features(video, cfg):
            frames_out.write(ff.to_json())
            pipeline.face(ff)
        pipeline.finish()
    finally:
        frames_out.close()
        events_out.close()
        sinks.call("publish_state", pipeline.snapshot())
        sinks.close()
    report = None
    if not args.no_report:
        try:
            from driverwatch.sinks.report import render_report

            report = out / "report.png"
            render_report(out / "frames.jsonl", out / "events.jsonl", report, title=f"driverwatch demo: {video.name}")
        except ImportError as err:
            log.warning("no timeline plot (%s): pip install 'driverwatch[report]'", err)
            report = None

    print()
    print("What driverwatch detected (monitor time, severity, kind, evidence):")
    for line in timeline.lines():
        print("  " + line)
    expected = _expected(truth)
    if expected:
        print()
        print("What the scenario script says must be detected:")
        found = {e.kind for e in timeline.events if e.type == "start"}
        for m in expected:
            mark = "found" if m["kind"] in found else "MISSED"
            span = f"{m.get('t_start', 0):.1f}-{m.get('t_end', 0):.1f} s" if "t_start" in m else ""
            print(f"  {m['kind']:<18} {span:<14} {mark}")
    print()
    print(f"outputs in {out}/: frames.jsonl, events.jsonl, log/, chimes.wav"
          + (", report.png" if report else "") + (f"; events also sent to MQTT {cfg.mqtt.host} as vehicle {demo_id}" if mqtt else ""))
    return 0
