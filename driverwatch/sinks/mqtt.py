"""Fleet telemetry over MQTT (paho-mqtt 2.x, callback API v2), store-and-forward.

Topics, under `mqtt.topic_prefix` (default `driverwatch/<vehicle_id>/`):
  available       "online" (retained) after connect; "offline" is the last will; "stopped" on a clean stop
  events          monitor events of at least `mqtt.min_severity` and the remedies' automation events
                  (calm_suggestion, break_suggestion), QoS 1, in order, from the outbox;
                  late ones carry delayed/delay_s; `driver` (the id set_driver() was given) while
                  a driver is selected, as it was when the event was queued
  state           compact driver-state snapshot, retained, when a driver-facing field changes
                  (telemetry.STATE_CHANGE_KEYS, `driver` among them), at most once per state_interval_s;
                  numbered `state_seq`
  stats           health snapshot (the daemon calls publish_stats at mqtt.stats_interval_s)
  set/<command>   validated remote commands (see commands.py) -> MqttSink.commands
  command_result  the verdict on each command: a rejected one at once, an accepted one once the
                  daemon applied it (`command_result()`, with what was applied)
Payloads are JSON with a schema version (telemetry.py: the allow-lists); credentials and TLS in
mqtt_tls.py.

Threads: the caller only commits to the SQLite outbox (well under 1 ms) and never touches the
network. paho's network thread connects and reconnects with exponential backoff; a sender thread
drains the outbox in order through a bounded in-flight window and deletes each message when its
PUBACK arrives with a success reason code (failed ones are sent again).
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import math
import queue
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from driverwatch.clock import utc_now_iso
from driverwatch.config.mqtt import MqttConfig
from driverwatch.errors import ConfigError
from driverwatch.monitor.events import SEVERITY_RANK, Event
from driverwatch.monitor.remedies import AUTOMATION_KINDS
from driverwatch.ratelimit import RateLimitedLog
from driverwatch.sinks.commands import CommandError, parse_command
from driverwatch.sinks.discovery import discovery_config, discovery_topic
from driverwatch.sinks.mqtt_tls import connect_hint, read_password, tls_context
from driverwatch.sinks.outbox import PRIORITY, PRIORITY_STATS, Outbox
from driverwatch.sinks.telemetry import (  # noqa: F401 (re-exported)
    MAX_STR,
    TELEMETRY_SCHEMA,
    event_payload,
    state_change_key,
    state_payload,
    stats_payload,
)
from driverwatch.sinks.telemetry import dumps as _dumps

log = logging.getLogger(__name__)

FLUSH_S = 1.0  # how long stop(clean=True) waits for the backlog and the 'stopped' message
DELETE_BATCH, DELETE_EVERY_S = 200, 0.1  # acknowledged messages are deleted in batches

# PUBACK reason codes after which resending cannot help: the message is dropped (logged).
_PERMANENT = {"Not authorized", "Topic Name invalid", "Packet too large", "Payload format invalid"}


_paho_log = logging.getLogger(__name__ + ".paho")
# paho logs this at ERROR whenever its loop runs between a drop and the reconnect: noise; we log drops.
_paho_log.addFilter(lambda r: not str(r.msg).startswith("Client is not connected"))


class _Client(paho.Client):
    """paho's client, reporting why a connection attempt failed (paho's loop swallows it)."""

    on_connect_error = None

    def reconnect(self):
        try:
            return super().reconnect()
        except OSError as err:
            if self.on_connect_error:
                self.on_connect_error(err)
            raise


class MqttSink:
    def __init__(self, cfg: MqttConfig, vehicle_id: str, state_dir: Path, affective: bool = False):
        """`affective`: privacy.affective_telemetry (off: no affective event, state or stats field)."""
        if not cfg.host:
            raise ConfigError("mqtt.host is empty: no broker configured")
        self.cfg = cfg
        self.affective = affective
        self.vehicle_id = vehicle_id
        self.prefix = cfg.topic_prefix.replace("{vehicle_id}", vehicle_id)
        p = self.prefix
        self.t_available, self.t_events, self.t_state = p + "available", p + "events", p + "state"
        self.t_stats, self.t_set, self.t_result = p + "stats", p + "set/", p + "command_result"
        self.t_ha_status = cfg.discovery.prefix.rstrip("/") + "/status"
        self.port = cfg.port or (8883 if cfg.tls.enabled else 1883)
        self.client_id = cfg.client_id or f"driverwatch-{vehicle_id}"
        self.commands: queue.Queue[dict] = queue.Queue(maxsize=32)
        self.driver: str | None = None  # the driver at the wheel (set_driver), stamped on events and state

        self.min_rank = SEVERITY_RANK[cfg.min_severity]
        self.last_error: str | None = None
        # A credential problem must not stop the daemon (chimes come first): say so, queue events in
        # the outbox, and never connect. `driverwatch check` reports the same problem as an error.
        self._password, self._tls, self._offline = None, None, False
        try:
            self._password = read_password(cfg)
            self._tls = tls_context(cfg) if cfg.tls.enabled else None
        except ConfigError as err:
            self._offline = True
            self.last_error = f"{err}; not connecting (events are kept in the outbox)"
            log.error("MQTT: %s", self.last_error)
        path = cfg.outbox.path or Path(state_dir) / "outbox.sqlite"
        self.outbox = Outbox(path, cfg.outbox.max_bytes, cfg.outbox.max_age_days * 86400, cfg.outbox.sync)

        self._warn = RateLimitedLog(log)
        self._warn_once = RateLimitedLog(log, interval=86400.0)
        self._wake = threading.Event()
        self._stop_evt = threading.Event()
        self._lock = threading.Lock()  # guards the state snapshot
        self._acks: collections.deque = collections.deque()  # (mid, reason) from paho's thread
        self._inflight: dict[int, int] = {}  # mid -> outbox seq (sender thread only)
        self._cursor = 0  # highest seq handed to paho (sender thread only)
        self._acked: list[int] = []  # acknowledged, not yet deleted (sender thread only)
        self._acked_since = 0.0
        self._retry_at = 0.0
        self._connected = False
        self._stopping = False
        self._state_key = None
        self.state_seq = 0  # states published since start; also in each stats message (the heartbeat)
        self._state_pending: bytes | None = None
        self._state_last: bytes | None = None
        self._state_sent_at = -math.inf
        self._discovery_due = False
        self._started = time.monotonic()
        self._client: _Client | None = None
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.rejected_commands = 0
        self._clearing: set[str] = set()  # topics of retained commands we cleared (paho's thread)
        self.filtered_keys = 0

    # -- public API (caller side: never blocks on the network) -------------------------------------
    def start(self) -> None:
        if self._thread or self._offline:
            return
        self._client = self._make_client()
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="mqtt-outbox", daemon=True)
        self._thread.start()

    def set_driver(self, driver: str | None) -> None:
        """The driver now at the wheel (profiles.driver, `set/driver`; None: no profile selected).
        Events queued from now on carry it as `driver`; those already in the outbox keep what they had."""
        self.driver = driver

    def publish_event(self, event: dict) -> int | None:
        """Queue one event (Event.to_json() + extras); returns its outbox seq, None if it was dropped
        or is below `mqtt.min_severity` (automation events, remedies.AUTOMATION_KINDS, always go)."""
        if SEVERITY_RANK.get(event.get("severity"), 0) < self.min_rank and event.get("kind") not in AUTOMATION_KINDS:
            return None
        if self.driver is not None:
            event = {**event, "driver": self.driver}
        payload, dropped = event_payload(event, self.affective)
        if payload is None:  # an affective event, kept on the device
            return None
        self._note_dropped("event", dropped)
        payload.setdefault("time", utc_now_iso())
        prio = PRIORITY.get(payload.get("severity"), PRIORITY["info"])
        seq = self.outbox.put(self.t_events, _dumps(payload), prio)
        self._wake.set()
        return seq

    def handle(self, event: Event) -> None:
        self.publish_event(event.record())

    def publish_state(self, snapshot: dict) -> None:
        """Retained snapshot; sent only when it changed (ignoring t/time), at most once per interval."""
        if self.driver is not None:
            snapshot = {**snapshot, "driver": self.driver}
        payload, dropped = state_payload(snapshot, self.affective)
        self._note_dropped("state", dropped)
        key = state_change_key(payload)
        payload.setdefault("time", utc_now_iso())
        with self._lock:
            if key == self._state_key:
                return
            self._state_key = key
            self.state_seq += 1
            payload["state_seq"] = self.state_seq
            self._state_pending = self._state_last = _dumps(payload)
        self._wake.set()

    def publish_stats(self, stats: dict) -> int | None:
        stats = {k: v for k, v in stats.items() if k != "mqtt"}  # the sink's own figures replace them
        payload, dropped = stats_payload(stats, self.affective)
        self._note_dropped("stats", dropped)
        payload.setdefault("time", utc_now_iso())
        payload.setdefault("uptime_s", round(time.monotonic() - self._started, 1))
        payload["state_seq"] = self.state_seq  # the retained state with this number still holds
        payload["mqtt"] = {"connected": self._connected, "outbox_depth": self.outbox.depth(),
                           "outbox_bytes": self.outbox.bytes, "outbox_dropped": self.outbox.dropped}
        seq = self.outbox.put(self.t_stats, _dumps(payload), PRIORITY_STATS)
        self._wake.set()
        return seq

    def health(self) -> dict:
        return {"connected": self._connected, "outbox_depth": self.outbox.depth(),
                "outbox_bytes": self.outbox.bytes, "dropped": self.outbox.dropped, "sent": self.sent,
                "rejected_commands": self.rejected_commands, "last_error": self.last_error}

    def close(self) -> None:
        self.stop(clean=True)

    def stop(self, clean: bool = True) -> None:
        """clean: flush the backlog for up to ~1 s, publish 'stopped', disconnect. Otherwise (a
        fatal error) publish 'offline' and disconnect; what is not sent stays in the outbox."""
        if self._thread is None:
            self.outbox.close()
            return
        client = self._client
        deadline = time.monotonic() + FLUSH_S
        self._stopping = True
        if self._connected:
            while clean and time.monotonic() < deadline and self._connected and self.outbox.depth():
                self._wake.set()
                time.sleep(0.02)
            # 'offline' is what the will would say; sent explicitly since a DISCONNECT discards the will
            info = client.publish(self.t_available, "stopped" if clean else "offline", qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(max(0.05, deadline - time.monotonic()))
        self._stop_evt.set()
        self._wake.set()
        self._thread.join(timeout=2)
        if self._connected:
            client.disconnect()
        stopper = threading.Thread(target=client.loop_stop, daemon=True)
        stopper.start()
        stopper.join(timeout=2)  # paho may sit in a connect() to an unreachable host: do not wait for it
        self._thread = None
        self.outbox.close()

    # -- sender thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        next_expire = next_checkpoint = 0.0
        timeout = 0.25
        while not self._stop_evt.is_set():
            self._wake.wait(timeout=timeout)
            self._wake.clear()
            timeout = 0.25
            try:
                self._handle_acks()
                if self._acked:
                    timeout = DELETE_EVERY_S
                if self._connected:
                    timeout = min(timeout, self._send_state())
                    self._send_discovery()
                    self._fill_window()
                now = time.monotonic()
                if now >= next_checkpoint:
                    next_checkpoint = now + 1.0
                    self.outbox.checkpoint()
                if now >= next_expire:
                    next_expire = now + 60
                    self.outbox.expire()
            except Exception as err:  # keep telemetry alive whatever happens; say what broke
                self.last_error = f"sender: {err!r}"
                log.exception("MQTT sender: unexpected error (continuing)")
                time.sleep(1)
        self._handle_acks(final=True)

    def _handle_acks(self, final: bool = False) -> None:
        done, failed = [], []
        while self._acks:
            mid, rc = self._acks.popleft()
            seq = self._inflight.pop(mid, None)
            if seq is None:
                continue  # availability / state / discovery message
            if not rc.is_failure:
                done.append(seq)
            elif rc.getName() in _PERMANENT:
                done.append(seq)
                self.outbox.dropped += 1
                self._error("puback", f"broker refused message {seq}: {rc.getName()}; dropped it")
            else:
                failed.append(seq)
                self._error("puback", f"broker did not accept message {seq}: {rc.getName()}; will resend")
        self.sent += len(done)
        if done and not self._acked:
            self._acked_since = time.monotonic()
        self._acked += done
        # Deletes are batched: each takes the outbox's write lock, which the caller's insert needs.
        if self._acked and (final or len(self._acked) >= DELETE_BATCH
                            or time.monotonic() - self._acked_since >= DELETE_EVERY_S):
            self.outbox.delete(self._acked)
            self._acked = []
        if failed:  # resend from the first failure on, to keep the order
            self._cursor = min(self._cursor, min(failed) - 1)
            self._retry_at = time.monotonic() + self.cfg.reconnect_min_s

    def _fill_window(self) -> None:
        room = self.cfg.inflight - len(self._inflight)
        if room <= 0 or time.monotonic() < self._retry_at:
            return
        now = time.time()
        for m in self.outbox.peek(self._cursor, room, exclude=set(self._inflight.values())):
            payload = m.payload
            delay = now - m.queued
            if delay > self.cfg.delayed_after_s and m.topic == self.t_events:
                d = json.loads(payload)
                d["delayed"], d["delay_s"] = True, round(delay, 1)
                payload = _dumps(d)
            info = self._client.publish(m.topic, payload, qos=self.cfg.qos, retain=False)
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                self._error("publish", f"cannot hand message {m.seq} to paho: {paho.error_string(info.rc)}")
                break
            self._inflight[info.mid] = m.seq  # NO_CONN: paho keeps it and sends it after reconnecting
            self._cursor = m.seq

    def _send_state(self) -> float:
        """Publish the pending snapshot if the rate limit allows; returns seconds until it may."""
        with self._lock:
            payload = self._state_pending
            wait = self._state_sent_at + self.cfg.state_interval_s - time.monotonic()
            if payload is None or wait > 0:
                return max(wait, 0.01) if payload is not None else math.inf
            self._state_pending = None
            self._state_sent_at = time.monotonic()
        self._client.publish(self.t_state, payload, qos=1, retain=True)
        return math.inf

    def _send_discovery(self) -> None:
        if self._discovery_due:
            self._discovery_due = False
            cfg = discovery_config(self.vehicle_id, self.prefix)
            self._client.publish(discovery_topic(self.cfg.discovery.prefix, self.vehicle_id), _dumps(cfg),
                                 qos=1, retain=True)
            log.info("MQTT: published Home Assistant discovery config")

    # -- paho callbacks (paho's network thread) ----------------------------------------------------
    def _make_client(self) -> _Client:
        cfg = self.cfg
        v5 = cfg.protocol == "5"
        client = _Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                         protocol=paho.MQTTv5 if v5 else paho.MQTTv311, clean_session=None if v5 else False)
        client.enable_logger(_paho_log)
        client.max_inflight_messages_set(cfg.inflight)
        client.reconnect_delay_set(cfg.reconnect_min_s, cfg.reconnect_max_s)
        client.will_set(self.t_available, "offline", qos=1, retain=True)
        if cfg.username:
            client.username_pw_set(cfg.username, self._password)
        if self._tls is not None:
            client.tls_set_context(self._tls)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_connect_error = self._on_connect_error
        props = None
        if v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = cfg.session_expiry_s
        client.connect_async(cfg.host, self.port, keepalive=cfg.keepalive, properties=props)
        return client

    def _error(self, key: str, msg: str, level: int = logging.WARNING) -> None:
        self.last_error = msg
        self._warn(key, level, "MQTT: %s", msg)

    def _on_connect_error(self, err: OSError) -> None:
        self._error("connect:" + type(err).__name__,
                    f"cannot connect to {self.cfg.host}:{self.port}: {err}{connect_hint(err)}; "
                    f"retrying every {self.cfg.reconnect_min_s:g}..{self.cfg.reconnect_max_s:g} s")

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            hint = " (check mqtt.username and the password file)" if reason.value in (134, 135, 4, 5) else ""
            self._error("connack", f"broker {self.cfg.host}:{self.port} refused the connection: "
                        f"{reason.getName()}{hint}; retrying", logging.ERROR)
            return
        self._connected = True
        self.last_error = None
        for key in ("connack", "disconnect"):
            self._warn.reset(key)
        log.info("MQTT: connected to %s:%d as %s (session %s)", self.cfg.host, self.port, self.client_id,
                 "resumed" if flags.session_present else "new")
        client.publish(self.t_available, "online", qos=1, retain=True)
        client.subscribe(self.t_set + "#", qos=1)
        if self.cfg.discovery.enabled:
            client.subscribe(self.t_ha_status, qos=1)
            self._discovery_due = True
        with self._lock:
            self._state_pending = self._state_last
        self._wake.set()

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        was = self._connected
        self._connected = False
        if was and not self._stopping:
            self._error("disconnect", f"lost the broker ({reason.getName()}); events stay in the outbox")

    def _on_publish(self, client, userdata, mid, reason, properties) -> None:
        self._acks.append((mid, reason))
        self._wake.set()

    def _on_message(self, client, userdata, msg) -> None:
        if msg.topic == self.t_ha_status:
            if msg.payload.strip() == b"online":
                self._discovery_due = True
                self._wake.set()
            return
        name = msg.topic[len(self.t_set):] if msg.topic.startswith(self.t_set) else msg.topic
        payload = bytes(msg.payload)
        if not payload and msg.topic in self._clearing:  # our own clearing of a retained command
            self._clearing.discard(msg.topic)
            return
        if msg.retain and payload:
            # Refused below; cleared from the broker (a zero-length retained message) so that it is
            # not replayed, and refused again, at every connect. Needs publish rights on set/#.
            self._clearing.add(msg.topic)
            client.publish(msg.topic, b"", qos=1, retain=True)
            log.warning("MQTT: cleared the retained command on %s (commands must not be retained)", msg.topic)
        try:
            cmd = parse_command(name, payload, retained=bool(msg.retain))
            self.commands.put_nowait(cmd)
        except (CommandError, queue.Full) as err:
            reason = str(err) if isinstance(err, CommandError) else "command queue full"
            self.rejected_commands += 1
            self._warn("command:" + reason.split(":")[0], logging.WARNING, "MQTT: rejected command on %s (%r): %s", msg.topic,
                       payload[:80], reason)
            result = {"schema": TELEMETRY_SCHEMA, "command": name[:MAX_STR], "ok": False, "error": reason}
            result["time"] = utc_now_iso()
            client.publish(self.t_result, _dumps(result), qos=1)
        else:
            log.info("MQTT: accepted command %s", cmd)  # answered by command_result() once applied

    def command_result(self, cmd: dict, applied: dict | None = None) -> None:
        """The verdict on an accepted command, after the daemon applied it: `applied` says what was
        (a snooze: minutes and seconds actually applied, and whether the request was capped)."""
        result = {"schema": TELEMETRY_SCHEMA, "command": cmd.get("command"), "ok": True, "id": cmd.get("id")}
        if applied:
            result["applied"] = applied
        result["time"] = utc_now_iso()
        if self._client is not None:
            self._client.publish(self.t_result, _dumps(result), qos=1)

    def _note_dropped(self, what: str, dropped: list[str]) -> None:
        """Warn once per distinct set of dropped keys (they recur with every snapshot)."""
        if not dropped:
            return
        self.filtered_keys += len(dropped)
        keys = ", ".join(sorted(dropped))
        self._warn_once(f"{what}:{keys}", logging.WARNING, "MQTT: not sending %s keys %s (not in the allow-list "
                        "or not a scalar: images and raw biometric signals never leave the vehicle)", what, keys)


def create_sink(cfg: MqttConfig, vehicle_id: str, state_dir: Path, affective: bool = False) -> MqttSink | None:
    """The MQTT sink, or None (said once, at INFO) when no broker is configured."""
    if not cfg.host:
        log.info("MQTT: no broker configured (mqtt.host is empty); events go to the local log only")
        return None
    return MqttSink(cfg, vehicle_id, state_dir, affective)
