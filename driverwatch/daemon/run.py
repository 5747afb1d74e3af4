"""`driverwatch run`: the in-car daemon.

Threads only at the edges: the camera thread (newest frame wins), the heart sensor thread, the
chime player and the MQTT sender. The main loop does vision and the monitor, sends systemd's
watchdog ping from the loop itself (a stalled pipeline stops the pings and gets restarted), and
hands events to the sinks, which only queue. SIGTERM / SIGINT stop cleanly. SIGHUP reloads the
config: the parts whose sections changed are built anew first and swapped in only if that worked,
otherwise the running ones are kept; the monitor (and the driver's calibration) is kept unless its
own section changed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import statistics
import time
import uuid
from collections import deque
from pathlib import Path

from driverwatch import __version__
from driverwatch.clock import utc_iso, wall_time_of
from driverwatch.daemon.wiring import JsonlWriter
from driverwatch.errors import DriverwatchError, InputError
from driverwatch.sinks.registry import SinkContext, SinkSet

log = logging.getLogger(__name__)

CAMERA_TIMEOUT_S = 1.0  # no frame for this long = camera unavailable (reported well within 2 s)
STATE_INTERVAL_S = 1.0
START_EXTEND_S = 15.0  # start-up time asked of systemd at a time while waiting for the first frame
START_MAX_S = 300.0  # ... for at most this long: then systemd fails the start and restarts us


def add_arguments(p) -> None:
    p.add_argument("--camera", metavar="DEVICE", help="override camera.device (index, /dev path, URL or video file)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (benchmarks)")
    p.add_argument("--record", metavar="FILE.jsonl",
                   help="record every monitor input (face and heart features, camera health, commands) "
                        "for `driverwatch replay --from-inputs`")
    p.add_argument("--frames-out", metavar="FILE.jsonl", help="also write per-frame features (debugging)")
    p.add_argument("--events-out", metavar="FILE.jsonl", help="also write monitor events (without wall time)")
    p.add_argument("--stats-out", metavar="FILE.json", help="write health stats here at each stats interval and on exit")


class Daemon:
    def __init__(self, args):
        self.args = args
        self.stop_requested = False
        self.reload_requested = False
        self.cfg = self._load()
        # Outputs that live as long as the process (a reload must not truncate them).
        self.frames_out = JsonlWriter(args.frames_out) if args.frames_out else None
        self.events_out = JsonlWriter(args.events_out) if args.events_out else None
        self.record = JsonlWriter(args.record) if args.record else None
        self.vision = self.camera = self.heart = self.speed = self.sinks = self.pipeline = None
        self.frames = self.bad_frames = 0
        self.latency_ms: deque[float] = deque(maxlen=60)
        self.live = None  # the terminal and the status file (daemon/live.py)
        self.profiles = None  # the driver at the wheel and their stored baselines (profiles.py)

    def _load(self):
        from driverwatch.config import load_config

        cfg = load_config(self.args.config)
        if self.args.camera is not None:
            cfg.camera.device = int(self.args.camera) if self.args.camera.isdigit() else self.args.camera
        return cfg

    # -- building: one method per part, so a reload can rebuild just what changed ---------------
    def _build_vision(self, cfg):
        from driverwatch.vision.pipeline import FacePipeline

        return FacePipeline(cfg.vision)  # verifies the models: ConfigError (exit 78) if missing

    def _build_camera(self, cfg):
        from driverwatch.sources.camera import CameraSource, check_device_access

        check_device_access(cfg.camera.device)  # missing / no permission / busy: one clear line
        return CameraSource(cfg.camera)

    def _build_speed(self, cfg):
        if cfg.speed.source == "obd":
            from driverwatch.sources.obd import ObdSpeed

            return ObdSpeed(cfg.speed.obd_port, cfg.speed.obd_baud, cfg.speed.obd_interval_s).start()
        if cfg.speed.source != "gpsd":
            return None
        from driverwatch.sources.speed import GpsdSpeed

        return GpsdSpeed(cfg.speed.gpsd_host, cfg.speed.gpsd_port).start()

    def _build_heart(self, cfg):
        if not cfg.heart.port:
            return None
        from driverwatch.sources.heart import HeartSensor

        return HeartSensor(cfg.heart).start()  # PermissionDeniedError (exit 77)

    def _sink_ctx(self, cfg) -> SinkContext:
        from driverwatch.paths import log_dir, state_dir

        return SinkContext(cfg, state_dir(cfg), log_dir(cfg), cfg.daemon.vehicle_id)

    def _build_sink(self, spec, cfg):
        """One sink (sinks/registry.py), started; None when the config turns it off."""
        return self.sinks.build(spec, self._sink_ctx(cfg))

    def _build_sinks(self, cfg) -> SinkSet:
        return SinkSet(extra=[x for x in (self.events_out, self.live) if x]).build_all(self._sink_ctx(cfg))

    def _build_pipeline(self, cfg, sinks: SinkSet):
        from driverwatch.daemon.wiring import Pipeline

        drive_id = uuid.uuid4().hex[:12]  # new for every monitor: event ids never repeat
        pipeline = Pipeline(cfg, drive_id=drive_id, sinks=sinks.handlers(), record=self.record,
                            to_utc=lambda t: utc_iso(wall_time_of(t)))
        if self.profiles:
            self.profiles.apply(pipeline)
        return pipeline

    def build(self) -> None:
        # Fail fast, before anything else starts or logs: models, camera access, serial permission.
        cfg = self.cfg
        self.vision = self._build_vision(cfg)
        self.camera = self._build_camera(cfg)
        self.heart = self._build_heart(cfg)
        self.speed = self._build_speed(cfg)
        from driverwatch.daemon.live import Live

        self.live = Live(cfg)
        self.sinks = self._build_sinks(cfg)
        from driverwatch.profiles import DriverProfiles

        self.profiles = DriverProfiles(cfg)
        self._tell_driver()
        self.pipeline = self._build_pipeline(cfg, self.sinks)
        self.live.announce(cfg, getattr(self.sinks.get("eventlog"), "path", None), self.sinks.get("mqtt"),
                           self.sinks.get("web"))
        self.camera.start()

    def close(self) -> None:
        """Stop everything; safe to call twice."""
        if self.camera:
            self.camera.stop()
        for part in (self.heart, self.speed):
            if part:
                part.stop()
        if self.pipeline:
            if self.profiles:
                self.profiles.save(self.pipeline)
            self.pipeline.finish()
        if self.sinks:
            self.sinks.close()
        self.camera = self.heart = self.speed = self.pipeline = self.sinks = None

    # -- signals -------------------------------------------------------------------------------
    def _on_stop(self, signum, _frame) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        self.stop_requested = True

    def _on_hup(self, _signum, _frame) -> None:
        self.reload_requested = True

    def reload(self, notifier, ready: bool) -> None:
        self.reload_requested = False
        notifier.reloading()
        try:
            self._reload(notifier)
        finally:
            if ready:
                notifier.ready()
            notifier.watchdog(force=True)

    def _swap(self, section: str, stop_old, build, new_cfg, fallback=None):
        """Stop a running part, then build it from the new settings; if that fails, build it again
        from the running settings (which worked) and say so. Returns (part, applied)."""
        stop_old()
        try:
            return build(new_cfg), True
        except (DriverwatchError, OSError) as err:
            log.error("config reload: keeping the running [%s] settings: %s", section, err)
        try:
            return (fallback or build)(self.cfg), False
        except (DriverwatchError, OSError) as err:
            log.error("config reload: [%s] could not be restarted either, running without it: %s", section, err)
            return None, False

    def _reload(self, notifier) -> None:
        try:
            new = self._load()
        except DriverwatchError as err:
            log.error("config reload rejected, keeping the running config: %s", err)
            return
        changed = {k for k in type(new).model_fields if getattr(new, k) != getattr(self.cfg, k)}
        if not changed:
            log.info("config reloaded; nothing changed")
            return
        kept: set[str] = set()
        if "vision" in changed:  # no side effects: build first, swap if it worked
            try:
                self.vision = self._build_vision(new)
            except DriverwatchError as err:
                log.error("config reload: keeping the running [vision] settings: %s", err)
                kept.add("vision")
        if "camera" in changed:
            from driverwatch.sources.camera import CameraSource

            # the fallback skips the access check: the device was ours until a moment ago
            self.camera, ok = self._swap("camera", self.camera.stop, self._build_camera, new,
                                         fallback=lambda c: CameraSource(c.camera))
            self.camera.start()
            kept |= set() if ok else {"camera"}
        notifier.watchdog(force=True)
        if "heart" in changed:
            self.heart, ok = self._swap("heart", lambda: self.heart and self.heart.stop(), self._build_heart, new)
            kept |= set() if ok else {"heart"}
        if "speed" in changed:
            self.speed, _ = self._swap("speed", lambda: self.speed and self.speed.stop(), self._build_speed, new)
        for spec in self.sinks.specs():
            if changed & spec.sections:
                part, ok = self._swap(spec.name, lambda n=spec.name: self.sinks.close_one(n),
                                      lambda c, s=spec: self._build_sink(s, c), new)
                self.sinks.parts[spec.name] = part
                kept |= set() if ok else spec.sections & changed
        self._tell_driver()  # a rebuilt sink starts without the driver
        notifier.watchdog(force=True)
        self.cfg = new.model_copy(update={k: getattr(self.cfg, k) for k in kept})
        log.info("config reloaded; changed sections: %s%s", ", ".join(sorted(changed - kept)),
                 f" (kept: {', '.join(sorted(kept))})" if kept else "")
        if "monitor" in changed - kept:
            log.warning("monitor settings changed: a new monitor starts (the driver is calibrated again)")
            old = self.pipeline.monitor
            self.pipeline.finish()
            self.pipeline = self._build_pipeline(self.cfg, self.sinks)
            if old.snooze_until is not None and old.last_t is not None and old.snooze_until > old.last_t:
                self.pipeline.command(old.last_t, "snooze", old.snooze_until - old.last_t)  # the snooze holds on
        else:
            self.pipeline.sinks = self.sinks.handlers()

    # -- the loop --------------------------------------------------------------------------------
    def run(self) -> int:
        from driverwatch.daemon.sdnotify import Notifier

        notifier = Notifier()
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        t_begin = time.monotonic()
        try:
            self.build()
            self._loop(notifier, t_begin)
        finally:
            notifier.stopping()
            if self.pipeline:
                self._publish_stats(time.monotonic() - t_begin)
            if self.live:
                self.live.close(self)
            self.close()
            for w in (self.frames_out, self.events_out, self.record):
                if w:
                    w.close()
            notifier.close()
        return 0

    def _loop(self, notifier, t_begin: float) -> None:
        ready = False
        last_frame_t = t_begin
        camera_ok = True
        next_state = next_stats = next_extend = t_begin
        while not self.stop_requested:
            if self.reload_requested:
                self.reload(notifier, ready)
            frame = self.camera.get(timeout=0.1)
            now = time.monotonic()
            if frame is not None:
                if not camera_ok:
                    camera_ok = True
                    self.pipeline.health(frame.t, "camera", True)
                last_frame_t = now
                self._process(frame)
                if not ready:
                    ready = True
                    notifier.ready("watching the driver")
                    log.info("first frame processed: ready")
            elif self.camera.ended:
                log.info("camera source ended")
                break
            elif camera_ok and now - last_frame_t > CAMERA_TIMEOUT_S:
                camera_ok = False
                detail = self.camera.last_error or f"no frame for {now - last_frame_t:.1f} s"
                self.pipeline.health(now, "camera", False, detail)
                notifier.status(f"camera unavailable: {detail}")
            if self.heart:
                # The sensor's loss travels in the data (HeartFeatures.sensor_ok), so replays reproduce it.
                for hf in self.heart.drain():
                    self.pipeline.heart(hf)
            if self.speed and (s := self.speed.take()):
                self.pipeline.speed(s)
            self._commands(now)
            notifier.watchdog()  # from the loop itself: a stall stops the pings
            if not ready and now >= next_extend and now - t_begin < START_MAX_S:
                # No frame yet (camera absent at boot): the loop is alive and reports the camera
                # unavailable, so ask systemd for more start-up time instead of failing the start.
                next_extend = now + START_EXTEND_S / 3
                notifier.notify(f"EXTEND_TIMEOUT_USEC={int(START_EXTEND_S * 1e6)}")
            if now >= next_state and self.sinks.has("publish_state"):
                next_state = now + STATE_INTERVAL_S
                self.sinks.call("publish_state", self.pipeline.snapshot())
            if now >= next_stats:
                next_stats = now + self.cfg.mqtt.stats_interval_s
                self._publish_stats(now - t_begin)
            if self.pipeline:
                self.live.tick(now, self)
            if self.args.duration and now - t_begin >= self.args.duration:
                break

    def _process(self, frame) -> None:
        self.sinks.call("add_frame", frame)
        try:
            result = self.vision.process(frame)
        except InputError as err:  # one odd frame (a corrupt capture) is skipped, not fatal
            self.bad_frames += 1
            if self.bad_frames in (1, 10, 100) or self.bad_frames % 1000 == 0:
                log.warning("skipped a frame the vision stage cannot use (%d so far): %s", self.bad_frames, err)
            return
        self.frames += 1
        if self.frames_out:
            self.frames_out.write(result.features.to_json())
        self.pipeline.face(result.features)
        self.latency_ms.append((time.monotonic() - frame.t) * 1000)
        self.sinks.call("add_result", frame, result)  # the live page keeps it by reference, if open

    def _commands(self, now: float) -> None:
        """Commands from any sink that takes them (MQTT `set/...`), applied in arrival order."""
        for source in self.sinks.running():
            queue = getattr(source, "commands", None)
            while queue is not None and not queue.empty():
                cmd = queue.get_nowait()
                name = cmd.get("command")
                seconds = float(cmd.get("seconds", 0.0))
                if name == "driver":
                    applied = self.profiles.switch(self.pipeline, now, cmd.get("driver"))
                    self._tell_driver()
                else:
                    applied = self.pipeline.command(now, name, seconds)
                if name == "snooze":  # the monitor's cap may have shortened it: say what holds
                    applied = {"minutes": round(applied["seconds"] / 60, 2), **applied}
                if hasattr(source, "command_result"):
                    source.command_result(cmd, applied)
                log.info("command %s applied%s", name, f": {applied}" if applied else "")

    def _tell_driver(self) -> None:
        """The driver at the wheel to the sinks that stamp it on what they send (MQTT `driver`)."""
        if self.sinks and self.profiles:
            self.sinks.call("set_driver", self.profiles.driver)

    def _publish_stats(self, uptime: float) -> None:
        try:
            stats = self.stats(uptime)
            if self.sinks:
                self.sinks.call("publish_stats", stats)
            if self.args.stats_out:
                tmp = Path(self.args.stats_out + ".tmp")
                tmp.write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")
                tmp.replace(self.args.stats_out)
        except Exception:  # health reporting must never stop the monitor
            log.exception("could not publish the stats")

    def stats(self, uptime: float) -> dict:
        cam = self.camera.stats() if self.camera else {}
        sinks = self.sinks.health() if self.sinks else {}
        return {
            "uptime_s": round(uptime, 1),
            "fps": round(self.frames / max(uptime, 1e-6), 2),  # processed frames
            "frames": self.frames,
            "bad_frames": self.bad_frames,
            "dropped_frames": cam.get("dropped"),
            "camera_connected": cam.get("connected"),
            "camera_reconnects": cam.get("reconnects"),
            "heart": self.heart.counters() if self.heart else None,
            "chime": sinks.get("chime", None),
            "mqtt": sinks.get("mqtt", None),
            "web": sinks.get("web", None),
            "driver": _figures(self.pipeline.snapshot()) if self.pipeline else None,  # the heartbeat's figures
            "event_log_error": (sinks.get("eventlog") or {}).get("last_error"),
            "latency_ms_p50": round(statistics.median(self.latency_ms), 1) if self.latency_ms else None,
            "monitor_ms_per_frame": round(self.pipeline.monitor_ms / max(self.pipeline.frames, 1), 3)
            if self.pipeline else None,
            "cpu_temp_c": _cpu_temp_c(),
            "load": round(os.getloadavg()[0], 2),
            "version": __version__,
        }


def _figures(snap: dict) -> dict:
    """The driver figures that change all the time (and so do not trigger a `state` message)."""
    return {k: snap.get(k) for k in ("t", "eyes", "perclos", "blink_rate_per_min", "hr_bpm", "rmssd_ms", "speed_kmh")}


def _cpu_temp_c() -> float | None:
    """The SoC temperature (a Pi in a hot car throttles), where the kernel exposes it."""
    try:
        return round(int(Path("/sys/class/thermal/thermal_zone0/temp").read_text()) / 1000, 1)
    except (OSError, ValueError):
        return None


def main(args) -> int:
    return Daemon(args).run()
