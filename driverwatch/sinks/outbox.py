"""Store-and-forward outbox: an SQLite (WAL) queue on the device.

A message is committed here before it is sent and deleted only once the broker acknowledged it, so
it survives broker outages, process kills and reboots. Order is the insertion order (`seq`). The
queue is bounded by bytes and age; over the cap the lowest priority goes first, oldest first within
a priority (stats snapshots, then info ... critical safety events last). A full disk is logged
(rate-limited) and the message dropped: the caller never sees an exception.

Thread-safe. Two connections: all writes (the caller's inserts, the sender's deletes) go through one
behind a lock, so SQLite never busy-waits; reads and WAL checkpoints use the other and never hold
up an insert.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from driverwatch.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

# Priorities: higher survives longer when the outbox is full.
PRIORITY_STATS = 0
PRIORITY = {"info": 1, "notice": 2, "warning": 3, "critical": 4}
ROW_OVERHEAD = 32  # bytes counted per row on top of topic + payload (seq, times, SQLite record header)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    topic    TEXT    NOT NULL,
    payload  BLOB    NOT NULL,
    priority INTEGER NOT NULL,
    queued   REAL    NOT NULL,   -- wall clock (epoch seconds) when written
    size     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_evict ON outbox (priority, seq);
"""


@dataclass(frozen=True, slots=True)
class Message:
    seq: int
    topic: str
    payload: bytes
    priority: int
    queued: float


class Outbox:
    def __init__(self, path: str | Path, max_bytes: int = 20_000_000, max_age_s: float = 7 * 86400,
                 sync: str = "normal"):
        self.path = Path(path)
        self.max_bytes = int(max_bytes)
        self.max_age_s = float(max_age_s)
        self.dropped = 0  # messages lost to the caps, a full disk or age
        self._warn = RateLimitedLog(log)
        self._lock = threading.Lock()  # the writer connection
        self._rlock = threading.Lock()  # the reader connection
        self._closed: int | None = None  # depth at close()
        try:
            self._open(sync)
        except sqlite3.DatabaseError as err:
            # A power cut on an SD card can leave a damaged file: losing queued telemetry beats a
            # daemon that cannot start (the chimes must not depend on the outbox).
            try:
                aside = self._move_aside()
                self._open(sync)
            except (OSError, sqlite3.DatabaseError) as err2:
                from driverwatch.errors import InputError

                raise InputError(f"outbox {self.path}: cannot open SQLite database: {err}; "
                                 f"starting a fresh one failed too: {err2}") from None
            log.error("outbox %s is damaged (%s): moved it to %s and started an empty outbox",
                      self.path, err, aside.name)

    def _open(self, sync: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = self._rdb = None
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
            # Hard ceiling on the file (4x the logical cap: pages, index, fragmentation) so that a
            # miscount can never fill the SD card; hitting it is handled like a full disk.
            page = self._db.execute("PRAGMA page_size").fetchone()[0]
            self._db.execute(f"PRAGMA max_page_count={max(64, 4 * self.max_bytes // page)}")
            self._db.executescript(_SCHEMA)
            check = self._db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check}")
            self._bytes = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM outbox").fetchone()[0]
            self._db.execute("PRAGMA wal_autocheckpoint=0")  # checkpoint() does it, off the caller's path
            self._rdb = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5.0)
            self._rdb.execute("PRAGMA wal_autocheckpoint=0")
        except sqlite3.DatabaseError:
            for db in (self._rdb, self._db):
                if db is not None:
                    with contextlib.suppress(sqlite3.Error):
                        db.close()
            raise

    def _move_aside(self) -> Path:
        """Rename the damaged file (and its WAL/SHM) to <name>.corrupt-<n>, n the first free number."""
        n = 1
        while self.path.with_name(f"{self.path.name}.corrupt-{n}").exists():
            n += 1
        aside = self.path.with_name(f"{self.path.name}.corrupt-{n}")
        self.path.rename(aside)
        for ext in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + ext)
            if side.exists():
                side.rename(aside.with_name(aside.name + ext))
        return aside

    # -- caller side -------------------------------------------------------------------------------
    def put(self, topic: str, payload: bytes, priority: int, queued: float | None = None) -> int | None:
        """Commit one message; returns its seq, or None when it could not be stored (logged)."""
        size = len(topic) + len(payload) + ROW_OVERHEAD
        queued = time.time() if queued is None else queued
        with self._lock:
            for attempt in (0, 1):
                try:
                    cur = self._db.execute(
                        "INSERT INTO outbox (topic, payload, priority, queued, size) VALUES (?, ?, ?, ?, ?)",
                        (topic, payload, priority, queued, size))
                    self._bytes += size
                    seq = cur.lastrowid
                    break
                except sqlite3.OperationalError as err:
                    full = "full" in str(err).lower()
                    if full and attempt == 0 and self._evict_locked(max(self.max_bytes // 10, size)):
                        continue  # made room: retry once
                    self.dropped += 1
                    self._warn("put", logging.ERROR, "outbox %s: cannot store message for %s: %s%s; "
                               "dropped it (%d dropped so far), continuing", self.path, topic, err,
                               " (disk full?)" if full else "", self.dropped)
                    return None
                except sqlite3.DatabaseError as err:
                    self.dropped += 1
                    self._warn("put", logging.ERROR, "outbox %s: cannot store message for %s: %s; dropped it "
                               "(%d dropped so far), continuing", self.path, topic, err, self.dropped)
                    return None
            if self._bytes > self.max_bytes:
                self._evict_locked(self._bytes - int(self.max_bytes * 0.9))
            return seq

    # -- sender side -------------------------------------------------------------------------------
    def peek(self, after_seq: int = 0, limit: int = 100, exclude: set[int] | frozenset = frozenset()) -> list[Message]:
        """The oldest messages with seq > after_seq, in order, skipping `exclude` (in flight)."""
        with self._rlock:
            rows = self._rdb.execute(
                "SELECT seq, topic, payload, priority, queued FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit + len(exclude))).fetchall()
        return [Message(s, t, bytes(p), pr, q) for s, t, p, pr, q in rows if s not in exclude][:limit]

    def delete(self, seqs) -> None:
        seqs = list(seqs)
        if not seqs:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN")
                freed = 0
                for i in range(0, len(seqs), 500):
                    chunk = seqs[i:i + 500]
                    marks = ",".join("?" * len(chunk))
                    freed += self._db.execute(f"SELECT COALESCE(SUM(size), 0) FROM outbox WHERE seq IN ({marks})",
                                              chunk).fetchone()[0]
                    self._db.execute(f"DELETE FROM outbox WHERE seq IN ({marks})", chunk)
                self._db.execute("COMMIT")
                self._bytes -= freed
            except sqlite3.DatabaseError as err:
                self._rollback()
                self._warn("delete", logging.ERROR, "outbox %s: cannot delete acknowledged messages: %s "
                           "(they may be sent again)", self.path, err)

    def expire(self, now: float | None = None) -> int:
        """Drop messages older than max_age_s (wall clock). Returns how many."""
        cutoff = (time.time() if now is None else now) - self.max_age_s
        with self._lock:
            try:
                freed, n = self._db.execute(
                    "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM outbox WHERE queued < ?", (cutoff,)).fetchone()
                if n:
                    self._db.execute("DELETE FROM outbox WHERE queued < ?", (cutoff,))
                    self._bytes -= freed
                    self.dropped += n
            except sqlite3.DatabaseError as err:
                self._warn("expire", logging.ERROR, "outbox %s: cannot expire old messages: %s", self.path, err)
                return 0
        if n:
            self._warn("expire", logging.WARNING, "outbox %s: dropped %d messages older than %.1f days "
                       "(broker unreachable that long?)", self.path, n, self.max_age_s / 86400)
        return n

    def depth(self) -> int:
        with self._rlock:
            if self._closed is not None:
                return self._closed
            return self._rdb.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def checkpoint(self) -> None:
        """Copy the WAL into the database (PASSIVE: never blocks the writer). The sender calls it."""
        with self._rlock:
            if self._closed is None:
                try:
                    self._rdb.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.DatabaseError as err:
                    self._warn("checkpoint", logging.WARNING, "outbox %s: checkpoint failed: %s", self.path, err)

    @property
    def bytes(self) -> int:
        return self._bytes

    def close(self) -> None:
        with self._lock, self._rlock:
            if self._closed is not None:
                return
            self._closed = 0
            with contextlib.suppress(sqlite3.Error):
                self._closed = self._rdb.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
            for db in (self._rdb, self._db):
                with contextlib.suppress(sqlite3.Error):
                    db.close()

    # -- internals ---------------------------------------------------------------------------------
    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")

    def _evict_locked(self, need: int) -> bool:
        """Delete lowest-priority, oldest messages until `need` bytes are freed. Caller holds the lock."""
        try:
            self._db.execute("BEGIN")
            freed, gone, worst = 0, 0, None
            while freed < need:
                rows = self._db.execute(
                    "SELECT seq, size, priority FROM outbox ORDER BY priority, seq LIMIT 256").fetchall()
                if not rows:
                    break
                batch = []
                for seq, size, prio in rows:
                    batch.append(seq)
                    freed += size
                    worst = prio if worst is None else max(worst, prio)
                    if freed >= need:
                        break
                marks = ",".join("?" * len(batch))
                self._db.execute(f"DELETE FROM outbox WHERE seq IN ({marks})", batch)
                gone += len(batch)
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as err:
            self._rollback()
            self._warn("evict", logging.ERROR, "outbox %s: cannot make room: %s", self.path, err)
            return False
        self._bytes -= freed
        self.dropped += gone
        if gone:
            self._warn("evict", logging.WARNING,
                       "outbox %s full (cap %d bytes): dropped %d oldest messages of priority <= %s "
                       "(%d dropped so far); continuing", self.path, self.max_bytes, gone,
                       _priority_name(worst), self.dropped)
        return gone > 0


def _priority_name(p: int | None) -> str:
    if p == PRIORITY_STATS:
        return "stats"
    return next((k for k, v in PRIORITY.items() if v == p), str(p))
