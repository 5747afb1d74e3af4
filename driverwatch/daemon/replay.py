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
        return importlib.import_module("driverwatch.daemon.heart_replay")
    except ModuleNotFoundError:  # heart replay not available in this build
        return None


def add_arguments(p) -> None:
    p.add_argument("video", nargs="?", help="video file, image, image directory or glob")
    p.add_argument("--frames-out", metavar="FILE.jsonl", help="write per-frame face features")
    p.add_argument("--events-out", metavar="FILE.jsonl", help="write monitor events")
    p.add_argument("--state-out", metavar="FILE.json", help="write the final state snapshot")
    p.add_argument("--from-frames", metavar="FILE.jsonl", help="re-run the monitor on a saved frames file (no vision)")
    p.add_argument("--from-inputs", metavar="FILE.jsonl",
                   help="re-run the monitor on everything a live run recorded with `run --record`")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate of an image sequence (default 30)")
    p.add_argument("--speed-kmh", type=float, help="constant vehicle speed for the whole replay")
    p.add_argument("--drive-id", default="replay", help="prefix of event ids (default: replay)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--summary", choices=["alerts", "all", "none"], default="alerts",
                   help="timeline printed at the end (default: alerts and evidence, without blinks)")
    physio = _physio_replay()
    if physio is not None:
        physio.add_heart_arguments(p)


def _read_jsonl(path: str | Path, what: str, parse) -> Iterator:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} file not found: {p}")
    with p.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield parse(json.loads(line))
            except json.JSONDecodeError as err:
                if not line.endswith("\n"):  # a power cut mid-write: the drive up to it still counts
                    log.warning("%s:%d: ignoring a truncated last line", p, n)
                    return
                raise InputError(f"{p}:{n}: not a {what} record: {err}") from None
            except (ValueError, TypeError, KeyError, AttributeError) as err:
                raise InputError(f"{p}:{n}: not a {what} record: {err}") from None


def read_frames_file(path: str | Path) -> Iterator[FaceFeatures]:
    return _read_jsonl(path, "frames", FaceFeatures.from_json)


def vision_features(path, cfg, fps: float = 30.0, progress: bool | None = None) -> Iterator[tuple[FaceFeatures, dict]]:
    """Per-frame features (and stage timings) of a recording, through the live vision pipeline."""
    from driverwatch.daemon.progress import Progress
    from driverwatch.sources.video import open_recording, read_ahead
    from driverwatch.vision.pipeline import FacePipeline

    source = open_recording(path, fps=fps)
    pipe = FacePipeline(cfg.vision)
    bar = Progress(len(source), "replay", enabled=progress)
    try:
        for frame in read_ahead(source):
            res = pipe.process(frame)
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


def _replay_inputs(args, cfg) -> int:
    """Everything a live run recorded, fed back in order, through a monitor built from the recorded
    settings and drive id: the same events as the live run (also across its config reloads)."""
    from driverwatch.daemon.wiring import JsonlWriter, Pipeline, Timeline

    timeline = Timeline()
    events_out = JsonlWriter(args.events_out) if args.events_out else None
    sinks = [timeline] + ([events_out] if events_out else [])
    pipeline, frames = None, 0
    try:
        for row in _read_jsonl(args.from_inputs, "recorded input", dict):
            try:
                if "drive" in row:
                    if pipeline:
                        frames += pipeline.frames
                        pipeline.finish()
                    drive = row["drive"]
                    mon, heart = dict(drive["monitor"]), dict(drive["heart"])
                    if "stress" in heart:  # recorded before the stress rules moved to [monitor.stress]
                        mon.setdefault("stress", heart.pop("stress"))
                    recorded = cfg.model_copy(update={"monitor": type(cfg.monitor).model_validate(mon),
                                                      "heart": type(cfg.heart).model_validate(heart)})
                    pipeline = Pipeline(recorded, drive_id=drive["id"], sinks=sinks)
                elif pipeline is None:
                    raise ValueError("no drive header before the first input")
                else:
                    pipeline.feed(row)
            except (ValueError, TypeError, KeyError) as err:
                raise InputError(f"{args.from_inputs}: not a recorded input: {str(row)[:80]}: {err}") from None
        if pipeline is None:
            raise InputError(f"{args.from_inputs}: no recorded drive in it")
        frames += pipeline.frames
        pipeline.finish()
    finally:
        if events_out:
            events_out.close()
    _summary(args, timeline, frames, pipeline)
    return 0


def _summary(args, timeline, frames: int, pipeline) -> None:
    if args.state_out:
        Path(args.state_out).write_text(json.dumps(pipeline.snapshot(), indent=2) + "\n", encoding="utf-8")
    if args.summary == "none":
        return
    print(f"{frames} frames, {len(timeline.events)} events" if frames else f"{len(timeline.events)} events")
    for line in timeline.lines(include_blinks=args.summary == "all"):
        print(line)
    sys.stdout.flush()


def main(args) -> int:
    from driverwatch.config import load_config
    from driverwatch.daemon.wiring import JsonlWriter, Pipeline, Timeline

    cfg = load_config(args.config)
    physio = _physio_replay()
    heart_file = getattr(args, "heart", None)
    if not args.video and not args.from_frames and not args.from_inputs and not heart_file:
        raise UsageError("replay needs a VIDEO, --from-frames FILE, --from-inputs FILE or --heart FILE")
    if sum(map(bool, (args.video, args.from_frames, args.from_inputs))) > 1:
        raise UsageError("give one of VIDEO, --from-frames and --from-inputs")
    if args.from_inputs:
        if args.speed_kmh is not None or args.frames_out or heart_file:
            raise UsageError("--from-inputs replays what was recorded: no --speed-kmh, --frames-out or --heart")
        return _replay_inputs(args, cfg)

    if args.from_frames:
        face_iter = ((ff, {}) for ff in read_frames_file(args.from_frames))
    elif args.video:
        face_iter = vision_features(args.video, cfg, args.fps, False if args.no_progress else None)
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
    try:
        for kind, item in _merge(face_iter, heart_iter):
            if kind == "heart":
                pipeline.heart(item)
                continue
            ff, _timings = item
            if args.speed_kmh is not None:
                pipeline.speed(SpeedSample(ff.t, args.speed_kmh))
            if frames_out:
                frames_out.write(ff.to_json())
            pipeline.face(ff)
        pipeline.finish()
    finally:
        for w in (events_out, frames_out):
            if w:
                w.close()
        if physio and heart_file:
            physio.close_outputs(args)
    _summary(args, timeline, pipeline.frames, pipeline)
    return 0
