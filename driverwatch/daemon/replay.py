"""`driverwatch replay`: a recorded drive through the same vision, physio and monitor code as a
live run. Inputs: a video / image sequence, or a saved frames file (`--from-frames`), and/or a heart
recording (`--heart`). Outputs: per-frame features, events, heart features, beats (JSONL / text)."""

from __future__ import annotations

import heapq
import importlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from driverwatch.errors import InputError, UsageError
from driverwatch.samples import FaceFeatures, SpeedSample

log = logging.getLogger(__name__)


def _physio_replay():
    try:
        return importlib.import_module("driverwatch.physio.replay")
    except ModuleNotFoundError:  # heart replay not available in this build
        return None


def add_arguments(p) -> None:
    p.add_argument("video", nargs="?", help="video file, image, image directory or glob")
    p.add_argument("--frames-out", metavar="FILE.jsonl", help="write per-frame face features")
    p.add_argument("--events-out", metavar="FILE.jsonl", help="write monitor events")
    p.add_argument("--state-out", metavar="FILE.json", help="write the final state snapshot")
    p.add_argument("--from-frames", metavar="FILE.jsonl", help="re-run the monitor on a saved frames file (no vision)")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate of an image sequence (default 30)")
    p.add_argument("--speed-kmh", type=float, help="constant vehicle speed for the whole replay")
    p.add_argument("--drive-id", default="replay", help="prefix of event ids (default: replay)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--summary", choices=["alerts", "all", "none"], default="alerts",
                   help="timeline printed at the end (default: alerts, i.e. without blinks)")
    physio = _physio_replay()
    if physio is not None:
        physio.add_heart_arguments(p)


def read_frames_file(path: str | Path) -> Iterator[FaceFeatures]:
    p = Path(path)
    if not p.exists():
        raise InputError(f"frames file not found: {p}")
    with p.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield FaceFeatures.from_json(json.loads(line))
            except (ValueError, TypeError, KeyError) as err:
                raise InputError(f"{p}:{n}: not a frames record: {err}") from None


def vision_features(path, cfg, fps: float = 30.0, progress: bool | None = None, stats: dict | None = None
                    ) -> Iterator[tuple[FaceFeatures, dict]]:
    """Per-frame features (and stage timings) of a recording, through the live vision pipeline."""
    from driverwatch.daemon.progress import Progress
    from driverwatch.sources.video import open_recording
    from driverwatch.vision.pipeline import FacePipeline

    source = open_recording(path, fps=fps)
    pipe = FacePipeline(cfg.vision)
    bar = Progress(len(source), "replay", enabled=progress)
    try:
        for frame in source:
            res = pipe.process(frame)
            if stats is not None:
                stats["frames"] = stats.get("frames", 0) + 1
            yield res.features, res.timings
            bar.update()
    finally:
        bar.close()


def _merge(face_iter, heart_iter):
    """Merge face and heart streams by timestamp (heart first on ties), lazily."""
    tagged = []
    if face_iter is not None:
        tagged.append((item[0].t, 1, "face", item) for item in face_iter)
    if heart_iter is not None:
        tagged.append((hf.t, 0, "heart", hf) for hf in heart_iter)
    for _t, _prio, kind, item in heapq.merge(*tagged, key=lambda x: (x[0], x[1])):
        yield kind, item


def main(args) -> int:
    from driverwatch.config import load_config
    from driverwatch.daemon.wiring import JsonlWriter, Pipeline, Timeline

    cfg = load_config(args.config)
    physio = _physio_replay()
    heart_file = getattr(args, "heart", None)
    if not args.video and not args.from_frames and not heart_file:
        raise UsageError("replay needs a VIDEO, --from-frames FILE or --heart FILE")
    if args.video and args.from_frames:
        raise UsageError("give either a VIDEO or --from-frames, not both")

    stats = {"frames": 0}
    if args.from_frames:
        face_iter = ((ff, {}) for ff in read_frames_file(args.from_frames))
    elif args.video:
        face_iter = vision_features(args.video, cfg, args.fps, False if args.no_progress else None, stats)
    else:
        face_iter = None
    heart_iter = physio.heart_features(args, cfg) if (physio and heart_file) else None

    timeline = Timeline()
    sinks = [timeline]
    events_out = JsonlWriter(args.events_out) if args.events_out else None
    if events_out:
        sinks.append(events_out)
    frames_out = JsonlWriter(args.frames_out) if args.frames_out else None
    pipeline = Pipeline(cfg, drive_id=args.drive_id, sinks=sinks)
    speed_sent = False
    try:
        for kind, item in _merge(face_iter, heart_iter):
            if kind == "heart":
                pipeline.heart(item)
                continue
            ff, _timings = item
            if args.speed_kmh is not None and not speed_sent:
                pipeline.speed(SpeedSample(ff.t, args.speed_kmh))
                speed_sent = True
            if frames_out:
                frames_out.write(ff.to_json())
            pipeline.face(ff)
        pipeline.finish()
    finally:
        for w in (events_out, frames_out):
            if w:
                w.close()
        if physio and heart_file and hasattr(physio, "close_outputs"):
            physio.close_outputs(args)
    if args.state_out:
        Path(args.state_out).write_text(json.dumps(pipeline.snapshot(), indent=2) + "\n", encoding="utf-8")
    if args.summary != "none":
        lines = timeline.lines(include_info=args.summary == "all")
        print(f"{stats['frames']} frames, {len(timeline.events)} events" if stats["frames"] else
              f"{len(timeline.events)} events")
        for line in lines:
            print(line)
        sys.stdout.flush()
    return 0
