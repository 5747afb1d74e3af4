"""`driverwatch status`: the running daemon's state, from the status file it rewrites every
STATUS_EVERY_S seconds (`status.json`, written to a temporary name and renamed, so a reader never
sees half a file).

Where: `<daemon.state_dir>/status.json` when the state dir is configured; else in the runtime
directory ($RUNTIME_DIRECTORY under systemd with RuntimeDirectory=driverwatch, i.e.
/run/driverwatch; $XDG_RUNTIME_DIR/driverwatch on a desktop: RAM, no SD card wear); else in the
default state dir. `status` looks where `run` with the same config writes, then in
/run/driverwatch and /var/lib/driverwatch (the service's directories). The file holds states and figures only, never images.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

from driverwatch.errors import DriverwatchError

STATUS_EVERY_S = 2.0
STALE_S = 10.0  # older than this: the daemon is not running (or hangs)
# where the service's file is when `status` runs outside it (RuntimeDirectory=, else StateDirectory=)
SYSTEM_PLACES = (Path("/run/driverwatch"), Path("/var/lib/driverwatch"))


class NotRunning(DriverwatchError):
    exit_code = 3  # LSB: "program is not running"


def status_path(cfg) -> Path:
    from driverwatch.paths import state_dir

    if cfg.daemon.state_dir:
        return state_dir(cfg) / "status.json"
    rt = os.environ.get("RUNTIME_DIRECTORY")
    if rt:
        return Path(rt.split(":")[0]) / "status.json"
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.access(xdg, os.W_OK):
        return Path(xdg) / "driverwatch" / "status.json"
    return state_dir(cfg) / "status.json"


class StatusFile:
    """Rewritten by the daemon's loop; the last write says `running: false` on a clean stop."""

    def __init__(self, path: Path):
        self.path = path
        self.error: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            self.error = str(err)

    def write(self, status: dict) -> None:
        if self.error and not self.path.parent.is_dir():
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(status, separators=(",", ":")) + "\n", encoding="utf-8")
            tmp.replace(self.path)
            self.error = None
        except OSError as err:  # a full or read-only disk never stops the monitor
            self.error = str(err)


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print the status file as JSON")
    p.add_argument("--file", metavar="PATH", help="read this status file (default: where `run` writes it)")


def _pid_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except PermissionError:
        return True
    except (OSError, ValueError, TypeError):
        return False
    return True


def find_status(cfg, explicit: str | None = None) -> Path:
    if explicit:
        return Path(explicit)
    p = status_path(cfg)
    if not p.exists():
        for place in SYSTEM_PLACES:
            with contextlib.suppress(OSError):
                if (place / "status.json").exists():
                    return place / "status.json"
    return p


def read_status(path: Path) -> dict:
    try:
        st = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotRunning(f"no running daemon: {path} does not exist (is `driverwatch run` started, "
                         "with the same config?)") from None
    except (OSError, ValueError) as err:
        raise NotRunning(f"cannot read the status file {path}: {err}") from None
    age = time.time() - float(st.get("written", 0))
    if not st.get("running"):
        raise NotRunning(f"driverwatch is not running: it stopped {_ago(age)} ({path})")
    if age > STALE_S or not _pid_alive(st.get("pid")):
        raise NotRunning(f"driverwatch is not running: its status file is {_ago(age)} old and process "
                         f"{st.get('pid')} is {'alive but not updating it' if _pid_alive(st.get('pid')) else 'gone'} ({path})")
    return st


def _ago(s: float) -> str:
    return f"{s:.0f} s ago" if s < 120 else f"{s / 60:.0f} min ago" if s < 7200 else f"{s / 3600:.1f} h ago"


def _v(v, unit: str = "", nd: int = 0) -> str:
    if v is None:
        return "unknown"
    return (f"{v:.{nd}f}" if isinstance(v, float) else str(v)) + unit


def format_status(st: dict) -> list[str]:
    s = st.get("state") or {}
    k = st.get("stats") or {}
    cal = s.get("calibration") or {}
    lines = [f"driverwatch {k.get('version', '')}: running, pid {st.get('pid')}, up {_v(k.get('uptime_s'), ' s')}, "
             f"{_v(st.get('fps'), ' fps', 1)}, camera {'connected' if k.get('camera_connected') else 'NOT connected'}"]
    face = s.get("face_present")
    lines.append(f"  face        {'unknown' if face is None else 'yes' if face else 'NO'}, eyes {_v(s.get('eyes'))}, attention {_v(s.get('attention'))}")
    lines.append(f"  drowsiness  {_v(s.get('drowsiness'))}, PERCLOS {_v(s.get('perclos'), '', 2)}")
    lines.append(f"  calibration {_v(cal.get('status'))} ({100 * (cal.get('progress') or 0):.0f} %)"
                 + ("" if cal.get("heart") is None else f", heart baseline {'done' if cal['heart'] else 'learning'}"))
    lines.append(f"  heart       HR {_v(s.get('hr_bpm'), ' bpm')}, RMSSD {_v(s.get('rmssd_ms'), ' ms', 1)}, "
                 f"stress {_v(s.get('stress'))}, sensor {_v(s.get('heart_sensor') or 'none')}")
    lines.append(f"  speed       {_v(s.get('speed_kmh'), ' km/h')}")
    active = ", ".join(f"{a['kind']} ({a['severity']})" for a in s.get("active") or []) or "none"
    lines.append(f"  alerts      {active}" + (" (snoozed)" if s.get("snoozed") else ""))
    for e in st.get("recent") or []:
        lines.append(f"  recent      {e.get('time', '')}  {e.get('severity', ''):<8} {e.get('kind', '')}")
    out = st.get("outputs") or {}
    if out.get("event_log"):
        lines.append(f"  event log   {out['event_log']}")
    if out.get("mqtt"):
        m = k.get("mqtt") or {}
        lines.append(f"  MQTT        {out['mqtt']} ({'connected' if m.get('connected') else 'not connected'}, "
                     f"outbox {_v(m.get('outbox_depth'))})")
    if out.get("web"):
        lines.append(f"  live page   {out['web']}")
    return lines


def main(args) -> int:
    from driverwatch.config import load_config

    path = find_status(load_config(args.config) if not args.file else None, args.file)
    st = read_status(path)
    if args.json:
        print(json.dumps(st, indent=1))
    else:
        print("\n".join(format_status(st)))
    return 0
