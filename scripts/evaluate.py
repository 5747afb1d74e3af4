#!/usr/bin/env python3
"""Score the whole pipeline against rendered scenarios.

For each scenario (and each fps / look variant) this renders the clip (cached), runs
`driverwatch replay VIDEO --frames-out F --events-out E` in a subprocess, and compares with the
ground truth: per event kind recall / precision and onset / end error, per-frame errors of yaw,
pitch and EAR-based closure against the commanded values, and every scenario's must / must-not
verdict. Writes a Markdown report; exits 1 when any scenario's verdict fails (for CI: `--subset ci`).

  scripts/evaluate.py [--subset ci|faces|all] [NAMES...] [--fps 30 15 10] [--look color ir] [-o report.md]
  scripts/evaluate.py --variants 30:color 15:color 10:color 15:ir --jobs 2   # chosen fps:look pairs
  scripts/evaluate.py --subset faces --faces all --fps 10 --jobs 2            # every face (per-face table)
  scripts/evaluate.py --faces all --variants own:color 15:color 10:color 15:ir --jobs 2   # the full suite
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from driverwatch.config import load_config  # noqa: E402
from driverwatch.config.monitor import MonitorConfig  # noqa: E402
from driverwatch.sinks.report import event_spans, read_jsonl  # noqa: E402
from driverwatch.sources.scenario.clip import monitor_calibration_s, read_truth, render_cached  # noqa: E402
from driverwatch.sources.scenario.faces import face_names, fetch  # noqa: E402
from driverwatch.sources.scenario.script import scenario_names  # noqa: E402

SUBSETS = {"ci": ["normal", "microsleep", "footwell_glance", "yawns"],  # must-not, eyes, head, mouth
           "faces": ["microsleep", "footwell_glance", "smiling"],  # eyes, head, laughing: on every face
           "affect": ["frustration", "talking", "smiling", "blinking", "yawns", "stare", "normal_long"]}
ONSET_TOL_S = 1.0  # a detection matches an expectation when it overlaps it +- this
SCORED = ("microsleep", "sleep", "long_blink", "long_distraction", "vats", "unresponsive", "yawn", "nod",
          "face_missing", "eyes_unobservable")


def match(truth: dict, spans: list[dict]) -> dict:
    """Verdict of one clip: matched expectations, misses, forbidden detections, errors."""
    must, must_not, allow = truth["must"], set(truth["must_not"]), set(truth.get("allow", []))
    used: set[str] = set()
    hits, misses = [], []
    for m in must:
        cands = [s for s in spans if s["kind"] == m["kind"] and s["id"] not in used
                 and s["t_start"] <= m["t_end"] + ONSET_TOL_S
                 and (s["t_end"] if s["t_end"] is not None else 1e9) >= m["t_start"] - ONSET_TOL_S]
        if not cands:
            misses.append(m)
            continue
        s = min(cands, key=lambda s: abs(s["t_start"] - m["t_start"]))
        used.add(s["id"])
        hits.append({"kind": m["kind"], "onset_ms": 1000 * (s["t_start"] - m["t_start"]),
                     "end_ms": None if s["t_end"] is None else 1000 * (s["t_end"] - m["t_end"])})
    expected_kinds = {m["kind"] for m in must}
    false = [s for s in spans if s["id"] not in used and (
        s["kind"] in must_not or ("*" in must_not and s["kind"] not in allow) or s["kind"] in expected_kinds)]
    forbidden = [s for s in false if s["kind"] in must_not or ("*" in must_not and s["kind"] not in allow)]
    return {"hits": hits, "misses": misses, "false": false, "forbidden": forbidden,
            "ok": not misses and not forbidden}


def _nearest(tt: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index of the truth time nearest to each frame time (tt sorted)."""
    j = np.clip(np.searchsorted(tt, t), 1, len(tt) - 1)
    return np.where(np.abs(tt[j - 1] - t) <= np.abs(tt[j] - t), j - 1, j)


def feature_errors(truth_rows: list[dict], frames: list[dict], t0: float, mcfg: MonitorConfig | None = None) -> dict:
    """Per-frame errors against the commanded values (frames matched by time). The closure estimate
    is the monitor's: open level = its calibration percentile of EAR before `t0`, closed at
    `eyes.closed_level` of it, and "closed" past `eyes.open_closure`."""
    mcfg = mcfg or MonitorConfig()
    tt = np.array([r["t"] for r in truth_rows])
    out = {"yaw": [], "pitch": [], "closure": [], "closed_hit": [], "closed_n": 0}
    ears = [f for f in frames if f.get("ear_left") is not None and f["t"] < t0]
    pct = mcfg.calibration.open_eye_percentile
    open_ear = np.percentile([(f["ear_left"] + f["ear_right"]) / 2 for f in ears], pct) if ears else None
    span = 1.0 - mcfg.eyes.closed_level
    nearest = _nearest(tt, np.array([f["t"] for f in frames])) if frames and len(tt) > 1 else [0] * len(frames)
    for f, i in zip(frames, nearest, strict=True):
        r = truth_rows[i]
        if abs(tt[i] - f["t"]) > 0.02 or r["tx"] != 0 or r["shades"] > 0:
            continue
        if f.get("yaw") is not None and abs(r["yaw"]) <= 40 and abs(r["pitch"]) <= 25:
            out["yaw"].append(f["yaw"] - r["yaw"])
            out["pitch"].append(f["pitch"] - r["pitch"])
        if open_ear and f.get("ear_left") is not None and abs(r["yaw"]) < 25:
            ear = (f["ear_left"] + f["ear_right"]) / 2
            est = float(np.clip((open_ear - ear) / (span * open_ear), 0, 1))
            cmd = (r["closure_left"] + r["closure_right"]) / 2
            out["closure"].append(est - cmd)
            if cmd >= 0.8:
                out["closed_n"] += 1
                out["closed_hit"].append(est >= mcfg.eyes.open_closure)
    return out


def run_clip(name: str, fps: float | None, look: str, cal: float, work: Path, config: str | None,
             face: str = "astronaut") -> dict:
    t = time.perf_counter()
    video, truth_path = render_cached(name, fps=fps, look=look, calibration_s=cal, face=face)
    render_s = time.perf_counter() - t
    frames, events = work / f"{video.stem}.frames.jsonl", work / f"{video.stem}.events.jsonl"
    cmd = [sys.executable, "-m", "driverwatch"] + (["--config", config] if config else []) + [
        "replay", str(video), "--frames-out", str(frames), "--events-out", str(events), "--no-progress",
        "--summary", "none", "--speed-kmh", "80"]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    replay_s = time.perf_counter() - t
    header, truth_rows = read_truth(truth_path)
    if proc.returncode != 0:  # this clip fails with the reason; the others are still scored
        return {"name": name, "fps": header["fps"], "look": look, "face": face, "header": header, "spans": [],
                "hits": [], "misses": list(header["must"]), "false": [], "forbidden": [], "ok": False,
                "error": f"replay exit {proc.returncode}: {proc.stderr.strip()[-300:]}", "render_s": render_s,
                "replay_s": replay_s, "features": {"yaw": [], "pitch": [], "closure": [], "closed_hit": [],
                                                    "closed_n": 0}}
    spans = event_spans(read_jsonl(events, "events"))
    res = match(header, spans)
    res.update(name=name, fps=header["fps"], look=look, face=face, header=header, spans=spans, render_s=render_s, replay_s=replay_s,
               features=feature_errors(truth_rows, read_jsonl(frames, "frames"), header["t0"],
                                       load_config(config).monitor))
    return res


def variant(r: dict) -> str:
    return f"{r['fps']:g} fps {r['look']}"


def verdict_table(results: list[dict]) -> tuple[list[str], bool]:
    """Scenario (x face) x variant -> PASS / FAIL, and whether every scenario has one verdict throughout
    its variants. The face column is there when more than one face was run."""
    variants = list(dict.fromkeys(variant(r) for r in results))
    multi = len({r["face"] for r in results}) > 1
    by = {(r["name"], r["face"], variant(r)): r["ok"] for r in results}
    head = "| scenario | face | " if multi else "| scenario | "
    lines = [head + " | ".join(variants) + " | identical |", "|---" * (len(variants) + 2 + multi) + "|"]
    same_all = True
    for name, face in dict.fromkeys((r["name"], r["face"]) for r in results):
        vs = [by.get((name, face, v)) for v in variants]
        same = len({v for v in vs if v is not None}) == 1
        same_all &= same
        cells = ["–" if v is None else ("PASS" if v else "**FAIL**") for v in vs]
        lines.append(f"| {name} | " + (f"{face} | " if multi else "") + " | ".join(cells)
                     + f" | {'yes' if same else '**no**'} |")
    return lines, same_all


def face_table(results: list[dict]) -> list[str]:
    """Per face: clips passed, expectations met, closed frames read closed, pose errors, misses."""
    lines = ["| face | clips passed | expected events found | closed (cmd >= 0.8) read closed | yaw err p95 ° "
             "| pitch err p95 ° | missed / forbidden |", "|---|---|---|---|---|---|---|"]
    for face in dict.fromkeys(r["face"] for r in results):
        rs = [r for r in results if r["face"] == face]
        n_exp = sum(len(r["header"]["must"]) for r in rs)
        hits = sum(len(r["hits"]) for r in rs)
        closed = [h for r in rs for h in r["features"]["closed_hit"]]
        yaw = [e for r in rs for e in r["features"]["yaw"]]
        pitch = [e for r in rs for e in r["features"]["pitch"]]
        bad = [f"{r['name']}: -{m['kind']}" for r in rs for m in r["misses"]]
        bad += [f"{r['name']}: +{s['kind']}" for r in rs for s in r["forbidden"]]
        lines.append(f"| {face} | {sum(r['ok'] for r in rs)}/{len(rs)} | {hits}/{n_exp} | "
                     f"{f'{100 * np.mean(closed):.0f} % of {len(closed)}' if closed else '–'} | "
                     f"{f'{np.percentile(np.abs(yaw), 95):.1f}' if yaw else '–'} | "
                     f"{f'{np.percentile(np.abs(pitch), 95):.1f}' if pitch else '–'} | {', '.join(bad) or '–'} |")
    return lines


def summarise(results: list[dict]) -> str:
    table, same_all = verdict_table(results)
    lines = ["# Scenario evaluation", "", f"Identical verdicts across fps / looks: {'yes' if same_all else '**no**'}", ""]
    lines += table + ["", "## Per face", ""] + face_table(results) + ["", "## Detections", ""]
    lines += ["| scenario | face | fps | look | verdict | detected (kind@start s) | missed | forbidden |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results:
        det = ", ".join(f"{s['kind']}@{s['t_start']:.1f}" for s in r["spans"]) or "–"
        miss = ", ".join(f"{m['kind']}@{m['t_start']:.1f}" for m in r["misses"]) or "–"
        forb = ", ".join(f"{s['kind']}@{s['t_start']:.1f}" for s in r["forbidden"]) or "–"
        if r.get("error"):
            det = "**" + r["error"].replace("|", "/").replace("\n", " ") + "**"
        lines.append(f"| {r['name']} | {r['face']} | {r['fps']:g} | {r['look']} | {'PASS' if r['ok'] else '**FAIL**'} | "
                     f"{det} | {miss} | {forb} |")
    lines += ["", "## Per event kind", "", "| kind | expected | recall | precision | onset error ms (median / max |abs|) "
              "| end error ms (median) |", "|---|---|---|---|---|---|"]
    for kind in SCORED:
        n_exp = sum(1 for r in results for m in r["header"]["must"] if m["kind"] == kind)
        hits = [h for r in results for h in r["hits"] if h["kind"] == kind]
        false = [s for r in results for s in r["false"] if s["kind"] == kind]
        if not n_exp and not false:
            continue
        rec = f"{100 * len(hits) / n_exp:.0f} %" if n_exp else "–"
        prec = f"{100 * len(hits) / (len(hits) + len(false)):.0f} %" if hits or false else "–"
        on = [h["onset_ms"] for h in hits]
        ends = [h["end_ms"] for h in hits if h["end_ms"] is not None]
        ons = f"{statistics.median(on):+.0f} / {max(abs(x) for x in on):.0f}" if on else "–"
        lines.append(f"| {kind} | {n_exp} | {rec} | {prec} | {ons} | "
                     f"{f'{statistics.median(ends):+.0f}' if ends else '–'} |")
    lines += ["", "## Per-frame features vs commanded (|yaw| <= 40, |pitch| <= 25, face in view)", "",
              "| scenario | face | fps | look | yaw err ° (mean / p95 abs) | pitch err ° (mean / p95 abs) | closure MAE "
              "| closed (cmd >= 0.8) detected |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        f = r["features"]

        def stat(v):
            return f"{np.mean(v):+.1f} / {np.percentile(np.abs(v), 95):.1f}" if v else "–"

        closed = f"{100 * np.mean(f['closed_hit']):.0f} % of {f['closed_n']}" if f["closed_n"] else "–"
        mae = f"{np.mean(np.abs(f['closure'])):.2f}" if f["closure"] else "–"
        lines.append(f"| {r['name']} | {r['face']} | {r['fps']:g} | {r['look']} | {stat(f['yaw'])} | "
                     f"{stat(f['pitch'])} | {mae} | {closed} |")
    lines += ["", "## Timing", "", "| scenario | face | fps | look | render s (0 = cached) | replay s |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['face']} | {r['fps']:g} | {r['look']} | {r['render_s']:.1f} | {r['replay_s']:.1f} |"
              for r in results]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="scenario names (default: --subset)")
    ap.add_argument("--subset", choices=[*SUBSETS, "all"], default="all")
    ap.add_argument("--faces", nargs="+", default=["astronaut"], metavar="FACE",
                    help="faces to render every scenario on ('all' = every face; see `driverwatch render "
                    "--list-faces`); default: astronaut")
    ap.add_argument("--fps", type=float, nargs="+", default=[None],
                    help="frame rates (default: each scenario's own: 30, or 5 for the 10-minute ones)")
    ap.add_argument("--look", nargs="+", default=["color"], choices=["color", "ir"])
    ap.add_argument("--variants", nargs="+", metavar="FPS:LOOK",
                    help="explicit fps:look pairs (e.g. 30:color 15:ir) instead of --fps x --look")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="clips rendered / replayed in parallel")
    ap.add_argument("-c", "--config", help="driverwatch config (monitor rules, calibration time)")
    ap.add_argument("-o", "--out", default="evaluation.md", help="Markdown report (default: evaluation.md)")
    args = ap.parse_args(argv)
    names = args.names or (scenario_names() if args.subset == "all" else SUBSETS[args.subset])
    cal = monitor_calibration_s(args.config)
    if args.variants:
        try:
            pairs = [(float(v.split(":")[0]) if v.split(":")[0] != "own" else None, v.split(":")[1])
                     for v in args.variants]
        except (IndexError, ValueError):
            ap.error("--variants takes FPS:LOOK pairs, e.g. 15:ir")
        if any(look not in ("color", "ir") for _, look in pairs):
            ap.error("the look in --variants is color or ir")
    else:
        pairs = [(fps, look) for fps in args.fps for look in args.look]
    face_list = face_names() if "all" in args.faces else args.faces
    unknown = [f for f in face_list if f not in face_names()]
    if unknown:
        ap.error(f"unknown face {unknown[0]!r}: pick from {', '.join(face_names())}")
    fetch([f for f in face_list if f != "astronaut"])  # once, before the workers need them
    jobs = [(name, fps, look, face) for name in names for face in face_list for fps, look in pairs]
    results = []
    with tempfile.TemporaryDirectory() as tmp, \
            concurrent.futures.ProcessPoolExecutor(max(1, args.jobs)) as pool:
        futures = [pool.submit(run_clip, name, fps, look, cal, Path(tmp), args.config, face)
                   for name, fps, look, face in jobs]
        for fut in futures:
            r = fut.result()
            print(f"{r['name']:18s} {r['face']:15s} {r['fps']:4g} fps {r['look']:5s} {'PASS' if r['ok'] else 'FAIL'}  "
                  f"render {r['render_s']:.1f} s, replay {r['replay_s']:.1f} s", flush=True)
            results.append(r)
    report = summarise(results)
    Path(args.out).write_text(report, encoding="utf-8")
    print(report)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
