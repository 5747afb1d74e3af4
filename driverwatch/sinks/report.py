"""A timeline plot of a drive's per-frame features and monitor events (`render_report`; the
`driverwatch report` command is daemon/report.py, the demo uses it too).

Panels: eye openness (EAR, both eyes) with PERCLOS, mouth (MAR), head yaw / pitch and gaze, and
heart rate when a heart file is given; every event is a shaded span across all panels, coloured
by severity and labelled with its kind. `-o x.html` embeds the PNG and adds an event table.
matplotlib (the `report` extra) is imported lazily.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from driverwatch.errors import InputError, UsageError

SEVERITY_COLOURS = {"info": "#9e9e9e", "notice": "#1e88e5", "warning": "#fb8c00", "critical": "#e53935"}
PERCLOS_WINDOW_S = 60.0  # rolling window of the plotted PERCLOS (Wierwille P80 over 1 min)


def read_jsonl(path: str | Path, what: str) -> list[dict]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} file not found: {path}") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise InputError(f"{what} file {path} line {n} is not JSON") from None
    return rows


def event_spans(events: list[dict]) -> list[dict]:
    """One span per condition id: kind, worst severity, start, end (None = still open)."""
    spans: dict[str, dict] = {}
    rank = {k: i for i, k in enumerate(SEVERITY_COLOURS)}
    for e in sorted(events, key=lambda e: (e.get("t", 0), e.get("seq", 0))):
        s = spans.setdefault(e["id"], {"id": e["id"], "kind": e["kind"], "severity": e["severity"],
                                       "t_start": e["t_start"], "t_end": e.get("t_end")})
        if rank.get(e["severity"], 0) > rank.get(s["severity"], 0):
            s["severity"] = e["severity"]
        if e.get("t_end") is not None:
            s["t_end"] = e["t_end"]
    return sorted(spans.values(), key=lambda s: s["t_start"])


def _series(rows: list[dict], key: str):
    import numpy as np

    return np.array([np.nan if r.get(key) is None else float(r[key]) for r in rows])


def _perclos(t, closed, window: float):
    """Share of the last `window` seconds with eyes closed (time-weighted, unknown frames skipped)."""
    import numpy as np

    out = np.full(len(t), np.nan)
    dt = np.diff(t, append=t[-1] if len(t) else 0)
    known = ~np.isnan(closed)
    j = 0
    for i in range(len(t)):
        while t[j] < t[i] - window:
            j += 1
        k = known[j:i + 1]
        if k.any():
            w = dt[j:i + 1][k]
            out[i] = float((closed[j:i + 1][k] * w).sum() / max(w.sum(), 1e-9))
    return out


def render_report(frames: str | Path, events: str | Path | None, out: str | Path, heart: str | Path | None = None,
                  title: str | None = None) -> Path:
    """Plot the timeline into `out` (.png, or .html with the PNG embedded and an event table)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("the report needs matplotlib: pip install 'driverwatch[report]'") from None
    import numpy as np

    rows = [r for r in read_jsonl(frames, "frames") if "t" in r]
    if not rows:
        raise InputError(f"frames file has no frame rows: {frames}")
    spans = event_spans(read_jsonl(events, "events")) if events else []
    hr_rows = [r for r in read_jsonl(heart, "heart") if r.get("hr") is not None] if heart else []

    t = _series(rows, "t")
    ear = np.nanmean(np.vstack([_series(rows, "ear_left"), _series(rows, "ear_right")]), axis=0) \
        if len(rows) else t * np.nan
    # closure relative to the drive's own open-eye level (70th percentile, as the monitor's baseline)
    open_level = np.nanpercentile(ear, 70) if np.isfinite(ear).any() else np.nan
    closed = np.where(np.isnan(ear), np.nan, (ear < 0.7 * open_level).astype(float))
    perclos = _perclos(t, closed, PERCLOS_WINDOW_S)

    panels = [("eyes", "EAR"), ("mouth", "MAR"), ("pose", "degrees")] + ([("heart", "bpm")] if hr_rows else [])
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 2.1 * len(panels) + 0.8), sharex=True, squeeze=False)
    axes = axes[:, 0]
    ax = axes[0]
    ax.plot(t, _series(rows, "ear_right"), lw=0.8, color="#455a64", label="EAR right")
    ax.plot(t, _series(rows, "ear_left"), lw=0.8, color="#8d6e63", label="EAR left")
    ax2 = ax.twinx()
    ax2.plot(t, perclos, color="#6a1b9a", lw=1.4, label=f"PERCLOS ({PERCLOS_WINDOW_S:g} s)")
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("PERCLOS")
    ax2.legend(loc="upper right", fontsize=7)
    ax = axes[1]
    ax.plot(t, _series(rows, "mar"), lw=0.9, color="#c62828", label="mouth (MAR)")
    ax = axes[2]
    ax.plot(t, _series(rows, "yaw"), lw=0.9, color="#1565c0", label="head yaw (+ = left)")
    ax.plot(t, _series(rows, "pitch"), lw=0.9, color="#2e7d32", label="head pitch (+ = up)")
    ax.plot(t, _series(rows, "gaze_yaw"), lw=0.7, ls="--", color="#64b5f6", label="gaze yaw")
    ax.plot(t, _series(rows, "gaze_pitch"), lw=0.7, ls="--", color="#81c784", label="gaze pitch")
    ax.axhline(0, color="#bbb", lw=0.5)
    face = np.array([bool(r.get("face")) for r in rows])
    if (~face).any():  # no face: hatch along the bottom of the pose panel
        ax.fill_between(t, 0, 1, where=~face, transform=ax.get_xaxis_transform(), color="#000", alpha=0.08,
                        step="mid", label="no face")
    if hr_rows:
        ax = axes[3]
        ax.plot([r["t"] for r in hr_rows], [r["hr"] for r in hr_rows], color="#ad1457", lw=1.0, label="heart rate")
    for ax, (_name, unit) in zip(axes, panels, strict=True):
        ax.set_ylabel(unit)
        ax.legend(loc="upper left", fontsize=7, ncol=4)
        ax.grid(alpha=0.25)
    t_max = float(np.nanmax(t))
    for s in spans:  # events as shaded spans on every panel, labelled once at the top
        end = s["t_end"] if s["t_end"] is not None else t_max
        end = max(end, s["t_start"] + 0.15)  # make instants visible
        col = SEVERITY_COLOURS.get(s["severity"], "#9e9e9e")
        for ax in axes:
            ax.axvspan(s["t_start"], end, color=col, alpha=0.22, lw=0)
        axes[0].text(s["t_start"], 1.02, s["kind"], transform=axes[0].get_xaxis_transform(), fontsize=7,
                     rotation=30, color=col, ha="left", va="bottom")
    axes[-1].set_xlabel("time (s, source clock)")
    axes[0].set_xlim(float(np.nanmin(t)), t_max)
    fig.suptitle(title or Path(frames).name, y=0.995, fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.4) for c in SEVERITY_COLOURS.values()]
    fig.legend(handles, list(SEVERITY_COLOURS), loc="lower right", ncol=4, fontsize=7, title="event severity",
               title_fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".html":
        out.write_text(_html(buf.getvalue(), spans, title or Path(frames).name), encoding="utf-8")
    else:
        out.write_bytes(buf.getvalue())
    return out


def _html(png: bytes, spans: list[dict], title: str) -> str:
    def end(s):
        return "" if s["t_end"] is None else f"{s['t_end']:.2f}"

    rows = "".join(
        f"<tr><td>{s['t_start']:.2f}</td><td>{end(s)}</td>"
        f"<td style='color:{SEVERITY_COLOURS.get(s['severity'], '#000')}'>{html.escape(s['severity'])}</td>"
        f"<td>{html.escape(s['kind'])}</td><td>{html.escape(s['id'])}</td></tr>" for s in spans)
    b64 = base64.b64encode(png).decode()
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><img alt='timeline' style='max-width:100%' src='data:image/png;base64,{b64}'>"
            f"<h2>Events ({len(spans)})</h2><table><tr><th>start (s)</th><th>end (s)</th><th>severity</th>"
            f"<th>kind</th><th>id</th></tr>{rows}</table></body></html>")
