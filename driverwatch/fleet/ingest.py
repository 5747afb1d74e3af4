"""`driverwatch fleet ingest`: vehicles' MQTT telemetry into PostgreSQL, at least once, stored once.

One consumer = one MQTT 5 client (paho 2, manual acknowledgement) in a shared-subscription group
($share/<group>/<root>/+/events, available, state, stats) and one database connection. Any number
of consumers with distinct, stable client ids form one group; the broker gives each a share.

Delivery: the broker keeps the session (subscriptions and unacknowledged messages) for
`session_expiry_s` (clean start off). paho's network thread hands messages to a queue; the writer
(the calling thread) takes a batch, writes it in one transaction and only after the COMMIT sends
the PUBACKs. Whatever was not acknowledged when a consumer dies, the broker delivers again, and
the database ignores what it already has (keys: see store.py). A PUBACK never goes out on a
connection other than the one the message came on (packet ids are per connection).
A message that cannot be parsed or stored is kept aside in `rejected` (and acknowledged);
a database outage stops the flow (nothing is acknowledged) and the batch is retried on reconnect.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import signal
import ssl
import threading
import time
from datetime import UTC, datetime

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from driverwatch.errors import ConfigError
from driverwatch.fleet.config import FleetSettings, one_line
from driverwatch.fleet.payloads import TOPICS, BadPayload, parse
from driverwatch.fleet.schema import migrate
from driverwatch.fleet.store import Reject, write_batch
from driverwatch.ratelimit import RateLimitedLog

log = logging.getLogger("driverwatch.fleet.ingest")


def connect_db(settings: FleetSettings, application: str) -> psycopg.Connection:
    db = settings.database
    return psycopg.connect(db.dsn, autocommit=True, connect_timeout=db.connect_timeout_s,
                           application_name=application[:63])


def subscriptions(settings: FleetSettings) -> list[str]:
    m = settings.mqtt
    return [f"$share/{m.group}/{m.topic_root}/+/{what}" for what in TOPICS]


class Consumer:
    def __init__(self, settings: FleetSettings):
        self.settings = settings
        self.client_id = settings.mqtt.client_id
        self.started_at = datetime.now(UTC)
        self.stop_event = threading.Event()
        self.queue: queue.Queue = queue.Queue()
        self._gen = 0  # connection generation: a PUBACK only on the connection that delivered
        self._gen_lock = threading.Lock()
        self._warn = RateLimitedLog(log, interval=30.0)
        self.counts = {"received": 0, "stored": 0, "duplicates": 0, "rejected": 0, "batches": 0,
                       "unacked_after_reconnect": 0}
        self.subscribed = threading.Event()
        self.conn: psycopg.Connection | None = None
        self.client = self._make_client()

    # -- MQTT (paho's network thread) ----------------------------------------------------------
    def _make_client(self) -> paho.Client:
        m = self.settings.mqtt
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=m.client_id, protocol=paho.MQTTv5, manual_ack=True)
        c.reconnect_delay_set(0.25, 1)  # back within 1 s of a broker restart (vehicles: 1..30 s)
        if m.username:
            password = None
            if m.password_file:
                try:
                    password = m.password_file.read_text(encoding="utf-8").splitlines()[0]
                except (OSError, IndexError) as err:
                    raise ConfigError(f"mqtt.password_file: cannot read {m.password_file}: {err}") from None
            c.username_pw_set(m.username, password)
        if m.tls:
            try:
                c.tls_set_context(ssl.create_default_context(cafile=str(m.ca_file) if m.ca_file else None))
            except (OSError, ssl.SSLError) as err:
                raise ConfigError(f"mqtt.ca_file: cannot load {m.ca_file}: {err}") from None
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        return c

    def _bump(self) -> None:
        with self._gen_lock:
            self._gen += 1

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            self._warn("connack", logging.ERROR, "fleet ingest: broker refused the connection: %s", reason.getName())
            return
        self._bump()
        log.info("fleet ingest: connected as %s (session %s)", self.client_id,
                 "resumed" if flags.session_present else "new")
        # Subscribe on every connect, also when the session was resumed: mosquitto 2.0 does not
        # restore shared subscriptions from its persistence file after a restart (their queued and
        # in-flight messages it does restore).
        opts = SubscribeOptions(qos=1)
        client.subscribe([(t, opts) for t in subscriptions(self.settings)])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        bad = [rc.getName() for rc in reason_codes if rc.is_failure]
        if bad:
            log.error("fleet ingest: broker refused the subscriptions: %s", ", ".join(bad))
            return
        log.info("fleet ingest: subscribed %s", " ".join(subscriptions(self.settings)))
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        self._bump()
        self.subscribed.clear()
        if not self.stop_event.is_set():
            self._warn("disconnect", logging.WARNING, "fleet ingest: lost the broker (%s); reconnecting",
                       reason.getName())

    def _on_message(self, client, userdata, msg) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = repr(msg._topic)[:300]
        self.queue.put((self._gen, msg.mid, msg.qos, topic, bytes(msg.payload), datetime.now(UTC)))

    # -- database ------------------------------------------------------------------------------
    def _ensure_db(self) -> bool:
        """A connected, migrated database, retried with backoff; False if asked to stop first."""
        if self.conn is not None and not self.conn.closed and not self.conn.broken:
            return True
        delay = 0.2
        while not self.stop_event.is_set():
            try:
                self.conn = connect_db(self.settings, self.client_id)
                before, after = migrate(self.conn)
                if before != after:
                    log.info("fleet ingest: database schema migrated from version %d to %d", before, after)
                return True
            except psycopg.OperationalError as err:
                self._close_db()
                self._warn("db-connect", logging.WARNING, "fleet ingest: cannot reach the database: %s; retrying",
                           one_line(err))
                self.stop_event.wait(delay)
                delay = min(delay * 2, self.settings.ingest.retry_max_s)
        return False

    def _close_db(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(psycopg.Error):
                self.conn.close()
        self.conn = None

    # -- writer (the calling thread) -----------------------------------------------------------
    def _collect(self, timeout: float) -> list:
        try:
            batch = [self.queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        size, linger = self.settings.ingest.batch_size, self.settings.ingest.batch_linger_ms / 1000
        deadline = time.monotonic() + linger
        while len(batch) < size:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(self.queue.get(timeout=left))
                except queue.Empty:
                    break
        return batch

    def _items(self, batch: list) -> list:
        root = self.settings.mqtt.topic_root
        items = []
        for _gen, _mid, _qos, topic, payload, received in batch:
            try:
                rec = parse(topic, payload, root, received)
            except BadPayload as err:
                rec = Reject(topic, payload, str(err))
                self._warn("bad:" + str(err)[:30], logging.WARNING, "fleet ingest: rejected a message on %s: %s",
                           topic[:120], err)
            items.append((topic, payload, rec))
        return items

    def write(self, batch: list) -> bool:
        """Store `batch` durably, then acknowledge it; False if asked to stop before it was stored."""
        items = self._items(batch)
        while True:
            if not self._ensure_db():
                return False
            try:
                res = write_batch(self.conn, items, self.client_id, self.started_at)
                break
            except psycopg.OperationalError as err:
                self._warn("db-write", logging.WARNING, "fleet ingest: batch not stored (%s); retrying",
                           one_line(err))
                if self.conn is None or self.conn.closed or self.conn.broken:
                    self._close_db()
                elif self.stop_event.wait(0.05):
                    return False
        with self._gen_lock:
            for gen, mid, qos, *_ in batch:
                if qos == 0:
                    continue
                if gen == self._gen:
                    self.client.ack(mid, qos)
                else:  # that connection is gone: the broker delivers it again, the database ignores it
                    self.counts["unacked_after_reconnect"] += 1
        for k in ("received", "stored", "duplicates", "rejected"):
            self.counts[k] += getattr(res, k)
        self.counts["batches"] += 1
        return True

    def run(self) -> int:
        m = self.settings.mqtt
        if not self._ensure_db():
            return 0
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = m.session_expiry_s
        props.ReceiveMaximum = m.receive_maximum
        self.client.connect_async(m.host, m.port, keepalive=m.keepalive, clean_start=False, properties=props)
        self.client.loop_start()
        log.info("fleet ingest: %s consuming from %s:%d into the database", self.client_id, m.host, m.port)
        next_status = time.monotonic() + self.settings.ingest.status_interval_s
        try:
            while not self.stop_event.is_set():
                batch = self._collect(timeout=0.2)
                if batch and not self.write(batch):
                    break
                if time.monotonic() >= next_status:
                    next_status = time.monotonic() + self.settings.ingest.status_interval_s
                    log.info("fleet ingest: %s", self.status())
            # what is queued already: store and acknowledge it before leaving
            while not self.queue.empty() and self.conn is not None:
                batch = self._collect(timeout=0)
                if not batch or not self.write(batch):
                    break
        finally:
            self.client.disconnect()  # after the PUBACKs already queued; the session stays for its expiry
            self.client.loop_stop()
            self._close_db()
            log.info("fleet ingest: stopped; %s", self.status())
        return 0

    def status(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.counts.items())

    def stop(self, *_args) -> None:
        self.stop_event.set()


def main(settings: FleetSettings) -> int:
    consumer = Consumer(settings)
    signal.signal(signal.SIGTERM, consumer.stop)
    signal.signal(signal.SIGINT, consumer.stop)
    return consumer.run()
