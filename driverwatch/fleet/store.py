"""Writing a batch of parsed messages to PostgreSQL in one transaction, idempotently.

Events are keyed by (vehicle_id, event_id, seq): a duplicate inserts nothing and touches no
incident. Only newly inserted events are merged into their incident, and the merge is commutative
(severity: the highest reached; start from the lowest seq; end from the end message; evidence from
the highest seq), so consumers of one group may see one condition's messages in any order, in
parallel. Rows are written in key order, table by table, so concurrent batches cannot deadlock on
each other (a deadlock is retried all the same).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import psycopg
from psycopg.types.json import Jsonb

from driverwatch.fleet.payloads import AvailRec, EventRec, StateRec, StatsRec, rank

INSERT_EVENT = """
INSERT INTO events (vehicle_id, event_id, seq, type, kind, severity, t, t_start, t_end, time, time_source,
                    delayed, delay_s, evidence, payload, consumer)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT DO NOTHING
RETURNING vehicle_id, event_id, seq
"""

UPSERT_INCIDENT = """
INSERT INTO incidents AS i (vehicle_id, event_id, kind, severity, severity_rank, driver_id, started_at, ended_at,
                            t_start, t_end, first_seq, last_seq, messages, evidence, delayed)
VALUES (%(vehicle_id)s, %(event_id)s, %(kind)s, %(severity)s, %(rank)s,
        coalesce(%(driver)s, (SELECT s.driver_id FROM driver_shifts s WHERE s.vehicle_id = %(vehicle_id)s
                              AND s.starts_at <= %(started_at)s AND (s.ends_at IS NULL OR s.ends_at > %(started_at)s)
                              ORDER BY s.starts_at DESC LIMIT 1)),
        %(started_at)s, %(ended_at)s, %(t_start)s, %(t_end)s, %(first_seq)s, %(last_seq)s, %(messages)s,
        %(evidence)s, %(delayed)s)
ON CONFLICT (vehicle_id, event_id) DO UPDATE SET
    severity = CASE WHEN EXCLUDED.severity_rank > i.severity_rank THEN EXCLUDED.severity ELSE i.severity END,
    severity_rank = greatest(i.severity_rank, EXCLUDED.severity_rank),
    driver_id = coalesce(i.driver_id, EXCLUDED.driver_id),
    started_at = CASE WHEN EXCLUDED.first_seq < i.first_seq THEN EXCLUDED.started_at ELSE i.started_at END,
    t_start = CASE WHEN EXCLUDED.first_seq < i.first_seq THEN EXCLUDED.t_start ELSE i.t_start END,
    first_seq = least(i.first_seq, EXCLUDED.first_seq),
    ended_at = coalesce(EXCLUDED.ended_at, i.ended_at),
    t_end = coalesce(EXCLUDED.t_end, i.t_end),
    evidence = CASE WHEN EXCLUDED.last_seq > i.last_seq THEN EXCLUDED.evidence ELSE i.evidence END,
    last_seq = greatest(i.last_seq, EXCLUDED.last_seq),
    messages = i.messages + EXCLUDED.messages,
    delayed = i.delayed OR EXCLUDED.delayed,
    updated_at = now()
"""

INSERT_STATS = """
INSERT INTO stats (vehicle_id, time, uptime_s, payload) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING
RETURNING vehicle_id
"""

UPSERT_STATE = """
INSERT INTO vehicle_state AS s (vehicle_id, time, payload) VALUES (%s, %s, %s)
ON CONFLICT (vehicle_id) DO UPDATE SET time = EXCLUDED.time, payload = EXCLUDED.payload, received_at = now()
WHERE EXCLUDED.time > s.time
"""

TOUCH_VEHICLE = """
INSERT INTO vehicles AS v (vehicle_id) VALUES (%s)
ON CONFLICT (vehicle_id) DO UPDATE SET last_seen_at = now()
"""

INSERT_REJECT = """
INSERT INTO rejected (digest, topic, payload, error, consumer) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (digest) DO NOTHING
"""

UPSERT_CONSUMER = """
INSERT INTO consumers AS c (client_id, started_at, last_batch_at, received, stored, duplicates, rejected)
VALUES (%s, %s, now(), %s, %s, %s, %s)
ON CONFLICT (client_id) DO UPDATE SET last_batch_at = now(), started_at = EXCLUDED.started_at,
    received = c.received + EXCLUDED.received, stored = c.stored + EXCLUDED.stored,
    duplicates = c.duplicates + EXCLUDED.duplicates, rejected = c.rejected + EXCLUDED.rejected
"""


@dataclass(slots=True)
class Reject:
    topic: str
    payload: bytes
    error: str

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.topic.encode() + b"\0" + self.payload).digest()


@dataclass
class BatchResult:
    received: int = 0
    stored: int = 0  # new event / stats / state / availability rows
    duplicates: int = 0  # event or stats messages already in the database
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)  # also those the database refused


_REFUSED = (psycopg.errors.DataError, psycopg.errors.IntegrityError, UnicodeError, OverflowError)


def _event_row(r: EventRec, consumer: str) -> tuple:
    e = r.ev
    return (r.vehicle_id, e.id, e.seq, e.type, e.kind, e.severity, e.t, e.t_start, e.t_end, r.time, r.time_source,
            e.delayed, e.delay_s, Jsonb(e.evidence), Jsonb(r.payload), consumer)


def incident_deltas(new: list[EventRec]) -> list[dict]:
    """The new events merged per incident, in key order (the SQL upsert merges them into the row)."""
    by_key: dict[tuple[str, str], list[EventRec]] = {}
    for r in new:
        by_key.setdefault((r.vehicle_id, r.ev.id), []).append(r)
    out = []
    for (vehicle, event_id), recs in sorted(by_key.items()):
        first = min(recs, key=lambda r: r.ev.seq)
        last = max(recs, key=lambda r: r.ev.seq)
        worst = max(recs, key=lambda r: rank(r.ev.severity))
        ended = next((r for r in sorted(recs, key=lambda r: -r.ev.seq) if r.ev.t_end is not None), None)
        out.append({
            "vehicle_id": vehicle, "event_id": event_id, "kind": first.ev.kind,
            "severity": worst.ev.severity, "rank": rank(worst.ev.severity),
            "driver": next((r.ev.driver for r in recs if r.ev.driver), None),
            "started_at": first.wall(first.ev.t_start), "t_start": first.ev.t_start,
            "ended_at": ended.wall(ended.ev.t_end) if ended else None,
            "t_end": ended.ev.t_end if ended else None,
            "first_seq": first.ev.seq, "last_seq": last.ev.seq, "messages": len(recs),
            "evidence": Jsonb(last.ev.evidence), "delayed": any(r.ev.delayed for r in recs),
        })
    return out


def _write(cur: psycopg.Cursor, records: list, consumer: str, res: BatchResult) -> None:
    events = sorted((r for r in records if isinstance(r, EventRec)), key=lambda r: r.key)
    # within one batch, a duplicate of a message would conflict with itself: keep the first copy
    unique: dict[tuple, EventRec] = {}
    for r in events:
        unique.setdefault(r.key, r)
    res.duplicates += len(events) - len(unique)
    new: list[EventRec] = []
    if unique:
        recs = list(unique.values())
        cur.executemany(INSERT_EVENT, [_event_row(r, consumer) for r in recs], returning=True)
        inserted = set()
        while True:
            inserted.update(tuple(row) for row in cur.fetchall())
            if not cur.nextset():
                break
        new = [r for r in recs if r.key in inserted]
        res.duplicates += len(recs) - len(new)
        res.stored += len(new)
    deltas = incident_deltas(new)
    if deltas:
        cur.executemany(UPSERT_INCIDENT, deltas)

    stats = sorted((r for r in records if isinstance(r, StatsRec)), key=lambda r: (r.vehicle_id, r.time))
    stats_rows = list({(r.vehicle_id, r.time): (r.vehicle_id, r.time, r.uptime_s, Jsonb(r.payload))
                       for r in stats}.values())
    if stats_rows:
        cur.executemany(INSERT_STATS, stats_rows, returning=True)
        new_stats = 0
        while True:
            new_stats += len(cur.fetchall())
            if not cur.nextset():
                break
        res.stored += new_stats
        res.duplicates += len(stats_rows) - new_stats
    res.duplicates += len(stats) - len(stats_rows)

    states: dict[str, StateRec] = {}
    for r in records:
        if isinstance(r, StateRec) and (r.vehicle_id not in states or r.time > states[r.vehicle_id].time):
            states[r.vehicle_id] = r
    for vehicle in sorted(states):
        r = states[vehicle]
        cur.execute(UPSERT_STATE, (vehicle, r.time, Jsonb(r.payload)))
        res.stored += cur.rowcount

    vehicles = sorted({r.vehicle_id for r in records if not isinstance(r, Reject)})
    if vehicles:
        cur.executemany(TOUCH_VEHICLE, [(v,) for v in vehicles])
    avail: dict[str, list[str]] = {}
    for r in records:
        if isinstance(r, AvailRec):
            avail.setdefault(r.vehicle_id, []).append(r.status)
    for vehicle in sorted(avail):
        status = cur.execute("SELECT status FROM vehicles WHERE vehicle_id = %s FOR UPDATE", (vehicle,)).fetchone()[0]
        changed = False
        for s in avail[vehicle]:
            if s != status:
                cur.execute("INSERT INTO availability (vehicle_id, status) VALUES (%s, %s)", (vehicle, s))
                status, changed = s, True
                res.stored += 1
        if changed:
            cur.execute("UPDATE vehicles SET status = %s, status_at = now() WHERE vehicle_id = %s", (status, vehicle))


def write_batch(conn: psycopg.Connection, items: list[tuple[str, bytes, object]], consumer: str,
                started_at) -> BatchResult:
    """Write `items` ((topic, payload, parsed record or Reject)) and the consumer's counters in one
    transaction. A record the database refuses (a value out of its range, ...) is retried alone and,
    if it fails again, kept aside as rejected: one bad message never blocks the others. Connection
    errors and deadlocks propagate (the caller retries the whole batch)."""
    rejects = [rec for _, _, rec in items if isinstance(rec, Reject)]
    good = [(topic, payload, rec) for topic, payload, rec in items if not isinstance(rec, Reject)]
    res = BatchResult(received=len(items), rejects=list(rejects))
    try:
        with conn.transaction(), conn.cursor() as cur:
            _write(cur, [rec for _, _, rec in good], consumer, res)
            _finish(cur, res, consumer, started_at)
        return res
    except _REFUSED:
        pass
    # one record at a time, each in a savepoint
    res = BatchResult(received=len(items), rejects=list(rejects))
    with conn.transaction(), conn.cursor() as cur:
        for topic, payload, rec in good:
            try:
                one = BatchResult()
                with conn.transaction():
                    _write(cur, [rec], consumer, one)
                res.stored += one.stored
                res.duplicates += one.duplicates
            except _REFUSED as err:
                res.rejects.append(Reject(topic, payload, f"database refused it: {str(err).strip()}"))
        _finish(cur, res, consumer, started_at)
    return res


def _finish(cur: psycopg.Cursor, res: BatchResult, consumer: str, started_at) -> None:
    rejects = sorted({r.digest: r for r in res.rejects}.items())
    for digest, r in rejects:
        cur.execute(INSERT_REJECT, (digest, r.topic, r.payload, r.error[:2000], consumer))
    res.rejected = len(res.rejects)
    cur.execute(UPSERT_CONSUMER, (consumer, started_at, res.received, res.stored, res.duplicates, res.rejected))
