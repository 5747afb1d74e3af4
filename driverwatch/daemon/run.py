"""`driverwatch run`: the in-car daemon.

Threads only at the edges: the camera thread (newest frame wins), the heart sensor thread, the
chime player and the MQTT sender. The main loop does vision, physio features and the monitor,
sends systemd's watchdog ping from the loop itself (a stalled pipeline stops the pings and gets
restarted), and hands events to the sinks, which only queue. SIGTERM / SIGINT stop cleanly,
SIGHUP reloads the config (an invalid one is rejected and the old one kept).
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
from datetime import UTC, datetime
from pathlib import Path

from driverwatch import __version__
from driverwatch.daemon.wiring import JsonlWriter
from driverwatch.errors import ConfigError

log = logging.getLogger(__name__)

CAMERA_TIMEOUT_S = 1.0  # no frame for this long = camera unavailable (reported well within 2 s)
STATE_INTERVAL_S = 1.0
START_EXTEND_S = 15.0  # start-up time asked of systemd at a time while waiting for the first frame


def add_arguments(p) -> None:
    p.add_argument("--camera", metavar="DEVICE", help="override camera.device (index, /dev path, URL or video file)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (benchmarks)")
    p.add_argument("--frames-out", metavar="FILE.jsonl", help="also write per-frame features (debugging)")
    p.add_argument("--events-out", metavar="FILE.jsonl", help="also write monitor events (without wall time)")
    p.add_argument("--stats-out", metavar="FILE.json", help="write health stats here at each stats interval and on exit")


class WallClock:
    """Maps monitor time (monotonic seconds) to UTC for the sinks; the monitor never sees it."""

    def __init__(self, mono=time.monotonic, wall=time.time):
        self.offset = wall() - mono()

    def iso(self, t: float) -> str:
        return datetime.fromtimestamp(t + self.offset, UTC).isoformat(timespec="milliseconds")


class EventFanout:
    """Adapts monitor events to the dict-based sinks (MQTT, event log) with a UTC `time`."""

    def __init__(self, clock: WallClock, targets):
        self.clock = clock
        self.targets = targets  # callables taking a dict

    def handle(self, event) -> None:
        d = event.to_json()
        d["time"] = self.clock.iso(event.t)
        for fn in self.targets:
            fn(d)


class Daemon:
    def __init__(self, args):
        self.args = args
        self.stop_requested = False
        self.reload_requested = False
        self.cfg = self._load()
        # Debug outputs live as long as the process (a reload must not truncate them).
        self.frames_out = JsonlWriter(args.frames_out) if args.frames_out else None
        self.events_out = JsonlWriter(args.events_out) if args.events_out else None

    def _load(self):
        from driverwatch.config import load_config

        cfg = load_config(self.args.config)
        if self.args.camera is not None:
            cfg.camera.device = int(self.args.camera) if self.args.camera.isdigit() else self.args.camera
        return cfg

    # -- building ------------------------------------------------------------------------------
    def build(self) -> None:
        from driverwatch.daemon.paths import log_dir, state_dir
        from driverwatch.daemon.wiring import Pipeline
        from driverwatch.sinks.chime import ChimeSink
        from driverwatch.sinks.eventlog import EventLog
        from driverwatch.sinks.mqtt import create_sink
        from driverwatch.sources.camera import CameraSource, check_device_access
        from driverwatch.vision.pipeline import FacePipeline

        cfg = self.cfg
        # Fail fast, before anything else starts or logs: models, camera access, serial permission.
        self.vision = FacePipeline(cfg.vision)  # verifies the models: ConfigError (exit 78) if missing
        check_device_access(cfg.camera.device)
        self.heart = None
        if cfg.heart.port:
            from driverwatch.sources.heart import HeartSensor

            self.heart = HeartSensor(cfg.heart).start()  # PermissionDeniedError (exit 77)
        self.camera = CameraSource(cfg.camera)
        self.clock = WallClock()

        self.chime = ChimeSink(cfg.chime)
        self.eventlog = EventLog(log_dir(cfg), cfg.log.max_bytes, cfg.log.backups) if cfg.log.enabled else None
        targets = [self.eventlog.write] if self.eventlog else []
        self.mqtt = create_sink(cfg.mqtt, cfg.daemon.vehicle_id, state_dir(cfg))
        if self.mqtt:
            targets.append(self.mqtt.publish_event)
        sinks = [self.chime, EventFanout(self.clock, targets)]
        self.clips = None
        if cfg.daemon.save_frames:
            from driverwatch.sinks.clips import ClipSink

            d = cfg.daemon
            self.clips = ClipSink(state_dir(cfg) / "clips", d.clip_s, d.clip_fps, d.max_clips)
            sinks.append(self.clips)
            log.warning("save_frames is on: frames before alerts are stored in %s", state_dir(cfg) / "clips")
        if self.events_out:
            sinks.append(self.events_out)
        self.latency_ms: deque[float] = deque(maxlen=60)
        self.drive_id = uuid.uuid4().hex[:12]  # new after a reload too: event ids never repeat
        self.pipeline = Pipeline(cfg, drive_id=self.drive_id, sinks=sinks)

    def start(self) -> None:
        self.camera.start()
        self.chime.start()
        if self.mqtt:
            self.mqtt.start()

    def close(self) -> None:
        for part in (self.camera, self.heart):
            if part:
                part.stop()
        self.pipeline.finish()
        self.chime.stop()
        if self.mqtt:
            self.mqtt.stop(clean=True)
        for w in (self.eventlog, self.clips):
            if w:
                w.close()

    # -- signals -------------------------------------------------------------------------------
    def _on_stop(self, signum, _frame) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        self.stop_requested = True

    def _on_hup(self, _signum, _frame) -> None:
        self.reload_requested = True

    def reload(self, notifier) -> None:
        self.reload_requested = False
        notifier.reloading()
        try:
            new = self._load()
        except ConfigError as err:
            log.error("config reload rejected, keeping the running config: %s", err)
        else:
            changed = [k for k in type(new).model_fields if getattr(new, k) != getattr(self.cfg, k)]
            if changed:
                log.info("config reloaded; changed sections: %s (restarting them)", ", ".join(changed))
                self.close()
                self.cfg = new
                self.build()
                self.start()
            else:
                log.info("config reloaded; nothing changed")
        notifier.ready()

    # -- the loop --------------------------------------------------------------------------------
    def run(self) -> int:
        from driverwatch.daemon.sdnotify import Notifier

        notifier = Notifier()
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        self.build()
        self.start()
        t_begin = time.monotonic()
        ready = False
        last_frame_t = t_begin
        camera_ok = True
        next_state = next_stats = next_extend = t_begin
        stats_interval = float(getattr(self.cfg.mqtt, "stats_interval_s", 60.0))
        try:
            while not self.stop_requested:
                if self.reload_requested:
                    self.reload(notifier)
                frame = self.camera.get(timeout=0.1)
                now = time.monotonic()
                if frame is not None:
                    if not camera_ok:
                        camera_ok = True
                        self.pipeline.health(frame.t, "camera", True)
                    last_frame_t = now
                    if self.clips:
                        self.clips.add_frame(frame)
                    result = self.vision.process(frame)
                    if self.frames_out:
                        self.frames_out.write(result.features.to_json())
                    self.pipeline.face(result.features)
                    self.latency_ms.append((time.monotonic() - frame.t) * 1000)
                    if not ready:
                        ready = True
                        notifier.ready()
                        notifier.status("watching the driver")
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
                    self._drain_heart()
                self._commands(now)
                notifier.watchdog()  # from the loop itself: a stall stops the pings
                if not ready and now >= next_extend:
                    # No frame yet (camera absent at boot): the loop is alive and reports the camera
                    # unavailable, so ask systemd for more start-up time instead of failing the start.
                    next_extend = now + START_EXTEND_S / 3
                    notifier.notify(f"EXTEND_TIMEOUT_USEC={int(START_EXTEND_S * 1e6)}")
                if self.mqtt and now >= next_state:
                    next_state = now + STATE_INTERVAL_S
                    self.mqtt.publish_state(self.pipeline.snapshot())
                if now >= next_stats:
                    next_stats = now + stats_interval
                    self._publish_stats(now - t_begin)
                if self.args.duration and now - t_begin >= self.args.duration:
                    break
        finally:
            notifier.stopping()
            self._publish_stats(time.monotonic() - t_begin)
            self.close()
            for w in (self.frames_out, self.events_out):
                if w:
                    w.close()
        return 0

    def _publish_stats(self, uptime: float) -> None:
        stats = self.stats(uptime)
        if self.mqtt:
            self.mqtt.publish_stats(stats)
        if self.args.stats_out:
            Path(self.args.stats_out).write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")

    def _drain_heart(self) -> None:
        # The sensor's loss travels in the data (HeartFeatures.sensor_ok), so replays reproduce it.
        for hf in self.heart.drain():
            self.pipeline.heart(hf)

    def _commands(self, now: float) -> None:
        if not self.mqtt:
            return
        while not self.mqtt.commands.empty():
            cmd = self.mqtt.commands.get_nowait()
            name = cmd.get("command")
            if name == "snooze":
                seconds = float(cmd.get("seconds", 0))
                self.pipeline.monitor.snooze(now, seconds)
                self.chime.snooze(seconds)
            elif name == "recalibrate":
                self.pipeline.monitor.recalibrate(now)
            log.info("command %s applied", name)

    def stats(self, uptime: float) -> dict:
        cam = self.camera.stats()
        return {
            "uptime_s": round(uptime, 1),
            "fps": round(cam["frames"] / max(uptime, 1e-6), 2),
            "frames": cam["frames"],
            "dropped_frames": cam["dropped"],
            "camera_connected": cam["connected"],
            "camera_reconnects": cam["reconnects"],
            "heart": self.heart.counters() if self.heart else None,
            "chime": self.chime.health(),
            "mqtt": self.mqtt.health() if self.mqtt else None,
            "latency_ms_p50": round(statistics.median(self.latency_ms), 1) if self.latency_ms else None,
            "monitor_ms_per_frame": round(self.pipeline.monitor_ms / max(cam["frames"], 1), 3),
            "cpu_temp_c": _cpu_temp_c(),
            "load": round(os.getloadavg()[0], 2),
            "version": __version__,
        }


def _cpu_temp_c() -> float | None:
    """The SoC temperature (a Pi in a hot car throttles), where the kernel exposes it."""
    try:
        return round(int(Path("/sys/class/thermal/thermal_zone0/temp").read_text()) / 1000, 1)
    except (OSError, ValueError):
        return None


def main(args) -> int:
    return Daemon(args).run()
