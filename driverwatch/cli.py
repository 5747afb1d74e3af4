"""The `driverwatch` command. Each sub-command lives beside the stage it belongs to and exposes
`add_arguments(parser)` and `main(args) -> int`; modules keep heavy imports inside functions so
that `--help` stays fast. Errors a user can act on print as one line, never a traceback."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from driverwatch import __version__
from driverwatch.errors import DriverwatchError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("driverwatch.daemon.demo", "run the whole stack on the built-in demo drive"),
    "run": ("driverwatch.daemon.run", "watch the driver live (camera, heart sensor, chimes, MQTT)"),
    "replay": ("driverwatch.daemon.replay", "replay a recorded video, frames file or heart recording"),
    "check": ("driverwatch.daemon.check", "check config, devices, models, audio and broker"),
    "status": ("driverwatch.daemon.status", "show the running daemon's driver state and health"),
    "models": ("driverwatch.vision.models", "install or verify the face models"),
    "sensor-sim": ("driverwatch.physio.simulator", "play a heart recording into a pseudo-terminal"),
    "render": ("driverwatch.sources.scenario", "render a scripted driving scenario to video + ground truth"),
    "report": ("driverwatch.daemon.report", "plot a timeline of frames and events (PNG / HTML)"),
    "config": ("driverwatch.config.cli", "print the documented default config or validate a file"),
    "profiles": ("driverwatch.profiles", "list or forget the driver profiles kept on this device"),
    "fleet": ("driverwatch.fleet.cli", "fleet server side: ingest vehicles' MQTT events into PostgreSQL, report"),
}

log = logging.getLogger("driverwatch")


class UsageParser(argparse.ArgumentParser):
    """Usage errors exit 64 (EX_USAGE, as the README says), not argparse's 2; sub-parsers inherit it."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(64, f"{self.prog}: error: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen sub-command's module is imported (a fast, robust --help)."""
    parser = UsageParser(
        prog="driverwatch",
        description="Driver-state monitoring: drowsiness, inattention and stress, with chimes and MQTT.",
    )
    parser.add_argument("--version", action="version", version=f"driverwatch {__version__}")
    parser.add_argument("-c", "--config", metavar="PATH", help="config file (default: $DRIVERWATCH_CONFIG, "
                        "/etc/driverwatch/driverwatch.toml if present, else built-in defaults)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(_main=module.main)
    return parser


def setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.INFO if verbose < 2 else logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if level > logging.DEBUG:  # FFmpeg's own messages would break our one-line errors
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if a in COMMANDS), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if not getattr(args, "_main", None):
        parser.print_help()
        return 64
    setup_logging(args.verbose, args.quiet)
    try:
        return int(args._main(args) or 0)
    except DriverwatchError as err:
        print(f"driverwatch: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
