"""`driverwatch fleet`: payload checks, settings, and the store against a real PostgreSQL (idempotent,
order-independent incidents; what the database refuses is kept aside), the consumer against a real
mosquitto (bad payloads never stop it), schema migration by the CLI."""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, datetime

import pytest
from support.util import run_cli, wait_for

from driverwatch.errors import ConfigError
from driverwatch.fleet.config import load_settings
from driverwatch.fleet.payloads import AvailRec, BadPayload, EventRec, StatsRec, parse
from driverwatch.fleet.simulate import simulate_fleet, with_duplicates

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
GOOD = {"schema": 1, "id": "d1:microsleep:1", "seq": 0, "type": "start", "kind": "microsleep", "severity": "critical",
        "t": 12.5, "t_start": 11.0, "t_end": None, "evidence": {"closed_s": 1.5}, "time": "2026-11-02T11:59:00.000Z"}


def _p(topic: str, payload) -> object:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse(topic, raw, "driverwatch", NOW)


def test_payloads_accepted_and_rejected_with_a_reason():
    rec = _p("driverwatch/van-7/events", GOOD)
    assert isinstance(rec, EventRec) and rec.vehicle_id == "van-7" and rec.time_source == "vehicle"
    assert rec.wall(rec.ev.t_start) == datetime(2026, 11, 2, 11, 58, 58, 500000, tzinfo=UTC)
    assert _p("driverwatch/van-7/events", {**GOOD, "delayed": True, "delay_s": 40.2, "newer_key": 1}).ev.delayed
    assert isinstance(_p("driverwatch/van-7/available", b"offline"), AvailRec)
    assert isinstance(_p("driverwatch/van-7/stats", {"time": "2026-11-02T11:00:00Z", "uptime_s": 60}), StatsRec)
    bad = [
        ("driverwatch/van-7/events", b"{not json", "not JSON"),
        ("driverwatch/van-7/events", b"[1, 2]", "not a JSON object"),
        ("driverwatch/van-7/events", {**GOOD, "severity": "doom"}, "severity"),
        ("driverwatch/van-7/events", {k: v for k, v in GOOD.items() if k != "id"}, "id"),
        ("driverwatch/van-7/events", {**GOOD, "t": float("1e300")}, "finite"),
        ("driverwatch/van-7/events", {**GOOD, "time": "2026-11-02T11:59:00"}, "time zone"),
        ("driverwatch/van-7/events", {**GOOD, "evidence": {"x": "a\x00b"}}, "NUL"),
        ("driverwatch/van-7/events", {**GOOD, "t_end": 1.0}, "t_end before t_start"),
        ("driverwatch/van-7/stats", {"time": 5}, "time"),
        ("driverwatch/van-7/available", b"maybe", "availability"),
        ("driverwatch/van-7/set/snooze", b"{}", "unexpected topic"),
        ("other/van-7/events", GOOD, "unexpected topic"),
    ]
    for topic, payload, reason in bad:
        with pytest.raises(BadPayload, match=reason):
            _p(topic, payload)


def test_settings_reject_unknown_keys_with_their_path(tmp_path):
    f = tmp_path / "fleet.toml"
    f.write_text('[mqtt]\nhost = "broker.example"\ngroup = "fleet-a"\n[database]\ndsn = "dbname=fleet"\n')
    s = load_settings(f, {"mqtt": {"client_id": "ingest-1", "port": None}})
    assert (s.mqtt.host, s.mqtt.group, s.mqtt.client_id, s.mqtt.port, s.database.dsn) == \
        ("broker.example", "fleet-a", "ingest-1", 1883, "dbname=fleet")
    f.write_text('[mqtt]\nhots = "x"\n')
    with pytest.raises(ConfigError, match=r"mqtt\.hots"):
        load_settings(f, {})
    with pytest.raises(ConfigError, match=r"mqtt\.group.*wildcard"):
        load_settings(None, {"mqtt": {"group": "a/#"}})
    with pytest.raises(ConfigError, match=r"ingest\.batch_size"):
        load_settings(None, {"ingest": {"batch_size": 0}})
    proc = run_cli("fleet", "ingest", "--settings", f)
    assert proc.returncode == 78 and "mqtt.hots" in proc.stderr and "Traceback" not in proc.stderr


# -- the store, against PostgreSQL ------------------------------------------------------------------
def _items(fleet_messages):
    from driverwatch.fleet.store import Reject

    out = []
    for topic, payload in fleet_messages:
        try:
            rec = parse(topic, payload, "driverwatch", NOW)
        except BadPayload as err:
            rec = Reject(topic, payload, str(err))
        out.append((topic, payload, rec))
    return out


def _snapshot(conn):
    return (conn.execute("SELECT vehicle_id, event_id, kind, severity, started_at, ended_at, t_start, t_end, "
                         "first_seq, last_seq, messages, evidence, delayed FROM incidents ORDER BY 1, 2").fetchall(),
            conn.execute("SELECT vehicle_id, event_id, seq FROM events ORDER BY 1, 2, 3").fetchall(),
            conn.execute("SELECT vehicle_id, time FROM stats ORDER BY 1, 2").fetchall())


def check_incidents(conn, fleet) -> None:
    """Every simulated condition is one incident with the right kind, severity reached, start, end
    and number of distinct messages; there are no others."""
    rows = {(r[0], r[1]): r[2:] for r in conn.execute(
        "SELECT vehicle_id, event_id, kind, severity, started_at, ended_at, messages FROM incidents")}
    assert len(rows) == len(fleet.incidents)
    wrong = []
    for key, x in fleet.incidents.items():
        got = rows.get(key)
        if got is None or got[0] != x.kind or got[1] != x.severity or got[4] != x.messages \
                or abs((got[2] - x.started_at).total_seconds()) > 0.002 \
                or (got[3] is None) != (x.ended_at is None) \
                or (got[3] is not None and abs((got[3] - x.ended_at).total_seconds()) > 0.002):
            wrong.append((key, got, x))
    assert not wrong, f"{len(wrong)} incidents wrong, e.g. {wrong[:2]}"


@pytest.mark.slow
def test_store_is_idempotent_and_order_independent(pg_dsn):
    import psycopg

    from driverwatch.fleet.schema import migrate
    from driverwatch.fleet.store import write_batch

    fleet = simulate_fleet(12, 30, seed=5)
    items = _items(with_duplicates(fleet.messages, 0.2))
    random.Random(3).shuffle(items)  # consumers of a group see a condition's messages in any order
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        assert migrate(conn) == (0, 1)
        assert migrate(conn) == (1, 1)
        dup = stored = 0
        for i in range(0, len(items), 37):
            res = write_batch(conn, items[i:i + 37], "c1", NOW)
            dup, stored = dup + res.duplicates, stored + res.stored
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == fleet.events
        assert dup == len(items) - len(fleet.messages)  # the copies, and nothing else
        check_incidents(conn, fleet)
        before = _snapshot(conn)
        for i in range(0, len(items), 101):  # everything again (a consumer that died before its PUBACKs)
            res = write_batch(conn, items[i:i + 101], "c2", NOW)
            assert res.stored == 0
        assert _snapshot(conn) == before
        counters = conn.execute("SELECT client_id, received, duplicates FROM consumers ORDER BY 1").fetchall()
        repeats = sum(1 for _, _, r in items if isinstance(r, EventRec | StatsRec))
        assert counters == [("c1", len(items), dup), ("c2", len(items), repeats)]


@pytest.mark.slow
def test_store_keeps_aside_what_the_database_refuses(pg_dsn):
    import psycopg

    from driverwatch.fleet.schema import migrate
    from driverwatch.fleet.store import write_batch

    good = _items([("driverwatch/v1/events", json.dumps({**GOOD, "id": f"d:yawn:{i}"}).encode()) for i in range(5)])
    # passes the payload model but not the database (the CHECK on severity): built around the model
    topic, payload, rec = _items([("driverwatch/v1/events", json.dumps(GOOD).encode())])[0]
    rec.ev = rec.ev.model_construct(**{**rec.ev.model_dump(by_alias=False), "severity": "doom"})
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        migrate(conn)
        res = write_batch(conn, [*good[:2], (topic, payload, rec), *good[2:]], "c1", NOW)
        assert (res.stored, res.rejected) == (5, 1)
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 5
        (err,) = conn.execute("SELECT error FROM rejected").fetchone()
        assert "database refused" in err and "severity" in err


@pytest.mark.slow
def test_consumer_keeps_bad_payloads_aside_and_goes_on(pg_dsn, broker):
    import paho.mqtt.client as paho
    import psycopg
    from paho.mqtt.enums import CallbackAPIVersion

    from driverwatch.fleet.config import FleetSettings
    from driverwatch.fleet.ingest import Consumer

    settings = FleetSettings.model_validate({"mqtt": {"port": broker.port, "client_id": "bad-test"},
                                             "database": {"dsn": pg_dsn}})
    consumer = Consumer(settings)
    th = threading.Thread(target=consumer.run, daemon=True)
    th.start()
    pub = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    try:
        assert consumer.subscribed.wait(20)
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        msgs = [("driverwatch/v1/events", b"\xff\xfe garbage"), ("driverwatch/v1/events", json.dumps([1]).encode()),
                ("driverwatch/v1/events", json.dumps({**GOOD, "seq": -1}).encode()),
                ("driverwatch/v1/available", b"sideways"),
                ("driverwatch/v1/events", json.dumps({**GOOD, "evidence": {"x": "\ud800"}}).encode()),
                ("driverwatch/v1/events", json.dumps(GOOD).encode()),
                ("driverwatch/v1/events", json.dumps({**GOOD, "seq": 1, "type": "end", "t": 14.0,
                                                      "t_end": 14.0, "time": "2026-11-02T11:59:01.500Z"}).encode())]
        for topic, payload in msgs:
            pub.publish(topic, payload, qos=1).wait_for_publish(5)
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            assert wait_for(lambda: conn.execute("SELECT count(*) FROM rejected").fetchone()[0] == 5
                            and conn.execute("SELECT count(*) FROM events").fetchone()[0] == 2, 20)
            reasons = [r[0] for r in conn.execute("SELECT error FROM rejected ORDER BY id")]
            assert any("not JSON" in r for r in reasons) and any("seq" in r for r in reasons)
            assert any("availability" in r for r in reasons) and any("surrogate" in r for r in reasons)
            inc = conn.execute("SELECT kind, severity, started_at, ended_at, evidence FROM incidents").fetchall()
            assert inc == [("microsleep", "critical", datetime(2026, 11, 2, 11, 58, 58, 500000, tzinfo=UTC),
                            datetime(2026, 11, 2, 11, 59, 1, 500000, tzinfo=UTC), {"closed_s": 1.5})]
            assert conn.execute("SELECT received, rejected FROM consumers").fetchone() == (7, 5)
        assert th.is_alive()
    finally:
        pub.loop_stop()
        consumer.stop()
        th.join(10)


@pytest.mark.slow
def test_cli_migrates_and_refuses_a_newer_schema(postgres):
    import psycopg

    dsn = postgres.create_database()
    proc = run_cli("fleet", "ingest", "--database", dsn, "--migrate-only", check=True)
    assert proc.stdout.strip() == "schema version 1 (was 0)"
    assert run_cli("fleet", "ingest", "--database", dsn, "--migrate-only", check=True).stdout.strip() == \
        "schema version 1"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (99)")
    proc = run_cli("fleet", "ingest", "--database", dsn, "--migrate-only")
    assert proc.returncode == 78 and "newer" in proc.stderr and "Traceback" not in proc.stderr
