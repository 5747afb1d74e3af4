"""Rendered scenarios as a frame source, as video + ground-truth files, and cached for the demo."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from driverwatch.errors import InputError
from driverwatch.paths import cache_dir
from driverwatch.samples import Frame
from driverwatch.sources.scenario.face import DEFAULT_FACE, load_face
from driverwatch.sources.scenario.render import RENDERER_VERSION, Renderer
from driverwatch.sources.scenario.script import Scenario, load_scenario

log = logging.getLogger(__name__)


def monitor_calibration_s(config_path=None) -> float:
    from driverwatch.config import load_config

    m = load_config(config_path).monitor
    return float(m.calibration.calibration_s if hasattr(m, "calibration") else m.calibration_s)


class ScenarioSource:
    """Frames of a rendered scenario, stamped with scenario time; `.states` is the ground truth."""

    def __init__(self, scenario: Scenario, photo=None, models_dir=None, seed: int = 0):
        self.scenario = scenario
        self.renderer = Renderer(load_face(photo or scenario.face, models_dir), scenario.width, scenario.height,
                                 scenario.look,
                                 scenario.noise, scenario.blur, seed=seed)
        self.times = scenario.frame_times()
        self.states = scenario.states(self.times)
        self.fps = scenario.fps

    def __len__(self) -> int:
        return len(self.times)

    def __iter__(self) -> Iterator[Frame]:
        for i, (t, s) in enumerate(zip(self.times, self.states, strict=True)):
            yield Frame(t=float(t), image=self.renderer.render(s), index=i)


def truth_header(sc: Scenario, calibration_s: float, video: str) -> dict:
    return {"type": "scenario", "name": sc.name, "description": sc.description, "fps": sc.fps,
            "width": sc.width, "height": sc.height, "look": sc.look, "face": str(sc.face),
            "duration": round(sc.duration, 3),
            "t0": sc.t0, "calibration_s": calibration_s, "renderer": RENDERER_VERSION, "video": video,
            "must": [e.to_json() for e in sc.expect], "must_not": sc.forbid, "allow": sc.allow}


def write_clip(sc: Scenario, video: Path, truth: Path, calibration_s: float, photo=None, models_dir=None) -> dict:
    """Render `sc` into `video` (.mp4: mp4v, .avi: MJPG) and `truth` (JSONL). Returns timing stats."""
    import cv2

    video, truth = Path(video), Path(truth)
    fourcc = {".mp4": "mp4v", ".avi": "MJPG"}.get(video.suffix.lower())
    if fourcc is None:
        raise InputError(f"video must end in .mp4 (mp4v) or .avi (MJPG): {video}")
    video.parent.mkdir(parents=True, exist_ok=True)
    truth.parent.mkdir(parents=True, exist_ok=True)
    src = ScenarioSource(sc, photo, models_dir)
    # Unique temporary names (parallel renders of one clip must not share them), renamed into place
    # only when complete, and removed if anything fails.
    fd_v, tmp_v = tempfile.mkstemp(prefix=f".{video.stem}.", suffix=f".part{video.suffix}", dir=video.parent)
    fd_t, tmp_t = tempfile.mkstemp(prefix=f".{truth.name}.", suffix=".part", dir=truth.parent)
    os.close(fd_v)
    os.close(fd_t)
    writer = None
    t_start = time.perf_counter()
    try:
        writer = cv2.VideoWriter(tmp_v, cv2.VideoWriter_fourcc(*fourcc), sc.fps, (sc.width, sc.height))
        if not writer.isOpened():
            raise InputError(f"OpenCV cannot write {fourcc} video to {video}")
        with open(tmp_t, "w", encoding="utf-8") as out:
            out.write(json.dumps(truth_header(sc, calibration_s, video.name)) + "\n")
            for frame, s in zip(src, src.states, strict=True):
                writer.write(frame.image)
                row = {"type": "frame", "i": frame.index, "t": round(frame.t, 4)}
                row.update({k: round(v, 3) for k, v in asdict(s).items()})
                out.write(json.dumps(row) + "\n")
        writer.release()
        writer = None
        os.replace(tmp_v, video)
        os.replace(tmp_t, truth)
    finally:
        if writer is not None:
            writer.release()
        for tmp in (tmp_v, tmp_t):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    secs = time.perf_counter() - t_start
    return {"frames": len(src), "seconds": secs, "clip_s": sc.duration,
            "ms_per_frame": 1000 * secs / max(1, len(src))}


def default_cache_dir() -> Path:
    return cache_dir() / "scenarios"


def render_cached(name: str, fps: float | None = 30, look: str | None = "color", cache_dir: Path | None = None,
                  models_dir=None, calibration_s: float | None = None, face: str | None = None,
                  **overrides) -> tuple[Path, Path]:
    """Render scenario `name` once and reuse it: files keyed by a hash of the scenario text, the
    render settings, the face (its photo's pinned SHA-256 and landmarks), the monitor's calibration
    time (from the config when not given) and the renderer version. `face`: a name in faces.FACES
    (default: the scenario's, else astronaut); `overrides`: width, height, noise, blur.
    Returns (video_path, truth_path)."""
    from driverwatch.sources.scenario import faces

    cal = monitor_calibration_s() if calibration_s is None else float(calibration_s)
    sc = load_scenario(name, cal, fps=fps, look=look, face=face, **overrides)
    if sc.face not in faces.FACES:
        raise InputError(f"render_cached takes a named face ({', '.join(faces.FACES)}), not {sc.face!r}")
    h = hashlib.sha256()
    for part in (sc.source, f"{sc.fps}|{sc.look}|{sc.width}x{sc.height}|{sc.noise}|{sc.blur}|{cal}|"
                 f"{RENDERER_VERSION}|{sc.face}|{faces.FACES[sc.face].sha256}"):
        h.update(part.encode())
    h.update(DEFAULT_FACE.read_bytes() if sc.face == "astronaut" else faces.landmarks_file(sc.face).read_bytes())
    tag = "" if sc.face == "astronaut" else f"-{sc.face}"
    stem = f"{sc.name}{tag}-{sc.fps:g}fps-{sc.look}-{h.hexdigest()[:12]}"
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    video, truth = cache / f"{stem}.mp4", cache / f"{stem}.truth.jsonl"
    if not (video.is_file() and truth.is_file()):
        stats = write_clip(sc, video, truth, cal, models_dir=models_dir)
        log.info("rendered %s: %d frames in %.1f s", video, stats["frames"], stats["seconds"])
    return video, truth


def read_truth(path: str | Path) -> tuple[dict, list[dict]]:
    """(scenario header, frame rows) of a ground-truth JSONL."""
    path = Path(path)
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        raise InputError(f"ground truth not found: {path}") from None
    except json.JSONDecodeError as err:
        raise InputError(f"ground truth {path} is not JSONL: {err}") from None
    if not rows or rows[0].get("type") != "scenario":
        raise InputError(f"ground truth {path} does not start with a scenario header")
    return rows[0], [r for r in rows[1:] if r.get("type") == "frame"]
