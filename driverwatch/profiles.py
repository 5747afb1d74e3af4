"""Driver profiles: the baselines a monitor learnt for one driver (resting heart, neutral face, eye
levels), kept on the device so calibration is not relearnt every drive. One JSON file per driver id
under `[profiles] dir` (default `<state_dir>/profiles/`), deleted `retention_days` after last use and
beyond `max_drivers` (least recently used first). Never sent anywhere.

`driverwatch profiles list | forget ID... | forget --all`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

from driverwatch.config.profiles import DRIVER_ID
from driverwatch.errors import UsageError

log = logging.getLogger(__name__)
SCHEMA = 1
HISTORY = 5  # drives whose calmest heart stretch the resting baseline is the median of


class ProfileStore:
    def __init__(self, directory: str | Path, retention_days: float = 90.0, max_drivers: int = 50,
                 clock=time.time):
        self.dir = Path(directory)
        self.retention_s = retention_days * 86400
        self.max_drivers = max_drivers
        self._clock = clock

    def _path(self, driver: str) -> Path:
        if not DRIVER_ID.match(driver or ""):
            raise UsageError(f"invalid driver id {driver!r}: letters, digits, '.', '_' and '-', 1-64 characters")
        return self.dir / f"{driver}.json"

    def load(self, driver: str) -> dict | None:
        self.prune()
        try:
            data = json.loads(self._path(driver).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) and data.get("schema") == SCHEMA else None

    def save(self, driver: str, learned: dict) -> dict:
        """Merge what a drive learnt into the driver's profile and write it (atomically)."""
        old = self.load(driver) or {}
        prof = {"schema": SCHEMA, "driver": driver, "last_used": self._clock(), "drives": old.get("drives", 0) + 1}
        hist = list(old.get("heart_history", []))
        if learned.get("heart"):
            hist = (hist + [learned["heart"]])[-HISTORY:]
        prof["heart_history"] = hist
        if hist:
            hrs = sorted(h["hr"] for h in hist)
            rms = sorted(h["rmssd"] for h in hist if h.get("rmssd") is not None)
            prof["heart"] = {"hr": hrs[len(hrs) // 2], "rmssd": rms[len(rms) // 2] if rms else None}
        for key in ("face", "eyes"):
            prof[key] = learned.get(key) or old.get(key)
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self._path(driver)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(prof, indent=1) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(path)
        self.prune()
        return prof

    def touch(self, driver: str) -> None:
        prof = self.load(driver)
        if prof is not None:
            prof["last_used"] = self._clock()
            self._path(driver).write_text(json.dumps(prof, indent=1) + "\n", encoding="utf-8")

    def list(self) -> list[dict]:
        out = []
        for p in sorted(self.dir.glob("*.json")):
            try:
                d = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(d, dict) and d.get("schema") == SCHEMA:
                out.append(d)
        return sorted(out, key=lambda d: -d.get("last_used", 0))

    def forget(self, driver: str) -> bool:
        try:
            self._path(driver).unlink()
            return True
        except FileNotFoundError:
            return False

    def prune(self) -> list[str]:
        """Delete profiles past the retention time, then the least recently used beyond max_drivers."""
        if not self.dir.is_dir():
            return []
        now, gone = self._clock(), []
        profs = self.list()
        for i, d in enumerate(profs):
            old = now - d.get("last_used", 0) > self.retention_s or i >= self.max_drivers
            if old and self.forget(d["driver"]):
                gone.append(d["driver"])
        return gone


def store_for(cfg) -> ProfileStore:
    from driverwatch.paths import state_dir, under_state

    c, state = cfg.profiles, state_dir(cfg)
    return ProfileStore(under_state(c.dir, state) if c.dir else state / "profiles", c.retention_days, c.max_drivers)


class DriverProfiles:
    """The daemon's side: which driver is at the wheel, their profile applied to each new monitor and
    what it learnt saved back at the end (or when another driver takes over: `set/driver`)."""

    def __init__(self, cfg, store: ProfileStore | None = None):
        self.store = store or store_for(cfg)
        self.driver: str | None = cfg.profiles.driver

    def apply(self, pipeline, t: float = 0.0) -> bool:
        prof = self.store.load(self.driver) if self.driver else None
        if prof:
            pipeline.profile(t, {k: prof.get(k) for k in ("heart", "face", "eyes")})
            self.store.touch(self.driver)
        return prof is not None

    def save(self, pipeline) -> None:
        if not self.driver or pipeline is None:
            return
        learned = pipeline.monitor.learned_profile()
        if any(learned.values()) or self.store.load(self.driver) is None:
            try:
                self.store.save(self.driver, learned)
            except OSError as err:  # a full or read-only disk must not stop the daemon
                log.error("could not save the profile of driver %s: %s", self.driver, err)

    def switch(self, pipeline, t: float, driver: str | None) -> dict:
        """Another driver: save the current one's profile, forget the baselines, apply the new one's."""
        self.save(pipeline)
        pipeline.command(t, "recalibrate")
        self.driver = driver
        return {"driver": driver, "profile": self.apply(pipeline, t)}


# --- `driverwatch profiles` --------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="list the stored driver profiles (id, last use, drives, what they hold)")
    f = sub.add_parser("forget", help="delete driver profiles")
    f.add_argument("drivers", nargs="*", metavar="ID")
    f.add_argument("--all", action="store_true", help="delete every profile")


def main(args: argparse.Namespace) -> int:
    from driverwatch.config import load_config

    store = store_for(load_config(getattr(args, "config", None)))
    if args.action == "list":
        store.prune()
        rows = store.list()
        if not rows:
            print(f"no driver profiles in {store.dir}")
        for d in rows:
            used = time.strftime("%Y-%m-%d %H:%M", time.localtime(d.get("last_used", 0)))
            held = ", ".join(k for k in ("heart", "face", "eyes") if d.get(k)) or "nothing yet"
            print(f"{d['driver']}\tlast used {used}\t{d.get('drives', 0)} drives\t{held}")
        return 0
    if not args.all and not args.drivers:
        raise UsageError("profiles forget: name driver ids or --all")
    ids = [d["driver"] for d in store.list()] if args.all else args.drivers
    missing = [i for i in ids if not store.forget(i)]
    for i in ids:
        if i not in missing:
            print(f"forgot {i}")
    if missing:
        print(f"no profile for: {', '.join(missing)}")
        return 1
    return 0
