"""`driverwatch report`: plot a drive's per-frame features and monitor events (PNG, or HTML with an
event table). The plotting is sinks/report.py."""

from __future__ import annotations

import argparse
from pathlib import Path

from driverwatch.errors import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("frames", help="per-frame features (JSONL, from replay/run --frames-out)")
    p.add_argument("events", nargs="?", help="monitor events (JSONL, from --events-out)")
    p.add_argument("-o", "--out", default="report.png", help="report.png or report.html (default: report.png)")
    p.add_argument("--heart", metavar="HEART.jsonl", help="heart features (rows with t, hr)")
    p.add_argument("--title", help="plot title (default: the frames file's name)")


def main(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".html"):
        raise UsageError(f"-o must end in .png or .html: {out}")
    from driverwatch.sinks.report import render_report

    render_report(args.frames, args.events, out, heart=args.heart, title=args.title)
    print(out)
    return 0
