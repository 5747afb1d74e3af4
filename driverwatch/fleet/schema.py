"""The fleet database schema, created and migrated by the tool itself.

`schema_version` records every migration applied; `migrate` applies the missing ones in order, each
in its own transaction, under an advisory lock so that consumers starting together do not race.

Tables
  events        one row per event message (vehicle_id, event_id, seq): QoS 1 duplicates add nothing
  incidents     one row per condition (vehicle_id, event_id): the merge of its start/update/end
  vehicles      last availability ('online' | 'offline' | 'stopped') and when anything was last heard
  availability  availability changes as received (the payload has no time: received_at is the broker's
                delivery to us)
  stats         health snapshots (vehicle_id, time): uptime gives the monitored (driving) hours
  vehicle_state the newest retained state snapshot per vehicle
  rejected      payloads that could not be stored, with the reason (one row per distinct topic+payload)
  consumers     per consumer client id: counters and the last batch
  driver_shifts who drove which vehicle when (filled by the operator or `fleet report --roster`)
"""

from __future__ import annotations

import psycopg

LOCK_KEY = 0x64776C66  # advisory lock id for migrations ("dwlf")

MIGRATIONS: list[str] = [
    # 1: the initial schema
    """
    CREATE TABLE events (
        vehicle_id   text NOT NULL,
        event_id     text NOT NULL,
        seq          integer NOT NULL,
        type         text NOT NULL CHECK (type IN ('start', 'update', 'end')),
        kind         text NOT NULL,
        severity     text NOT NULL CHECK (severity IN ('info', 'notice', 'warning', 'critical')),
        t            double precision NOT NULL,
        t_start      double precision NOT NULL,
        t_end        double precision,
        time         timestamptz NOT NULL,
        time_source  text NOT NULL CHECK (time_source IN ('vehicle', 'received')),
        delayed      boolean NOT NULL DEFAULT false,
        delay_s      double precision,
        evidence     jsonb NOT NULL DEFAULT '{}',
        payload      jsonb NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now(),
        consumer     text NOT NULL,
        PRIMARY KEY (vehicle_id, event_id, seq)
    );
    CREATE INDEX events_time ON events (time);
    CREATE TABLE incidents (
        vehicle_id      text NOT NULL,
        event_id        text NOT NULL,
        kind            text NOT NULL,
        severity        text NOT NULL,
        severity_rank   smallint NOT NULL,
        driver_id       text,
        started_at      timestamptz NOT NULL,
        ended_at        timestamptz,
        t_start         double precision NOT NULL,
        t_end           double precision,
        duration_s      double precision GENERATED ALWAYS AS (t_end - t_start) STORED,
        first_seq       integer NOT NULL,
        last_seq        integer NOT NULL,
        messages        integer NOT NULL,
        evidence        jsonb NOT NULL DEFAULT '{}',
        delayed         boolean NOT NULL DEFAULT false,
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (vehicle_id, event_id)
    );
    CREATE INDEX incidents_started ON incidents (started_at);
    CREATE TABLE vehicles (
        vehicle_id        text PRIMARY KEY,
        status            text,
        status_at         timestamptz,
        first_seen_at     timestamptz NOT NULL DEFAULT now(),
        last_seen_at      timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE availability (
        vehicle_id   text NOT NULL,
        status       text NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX availability_vehicle ON availability (vehicle_id, received_at);
    CREATE TABLE stats (
        vehicle_id   text NOT NULL,
        time         timestamptz NOT NULL,
        uptime_s     double precision,
        payload      jsonb NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (vehicle_id, time)
    );
    CREATE TABLE vehicle_state (
        vehicle_id   text PRIMARY KEY,
        time         timestamptz NOT NULL,
        payload      jsonb NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE rejected (
        id           bigserial PRIMARY KEY,
        digest       bytea NOT NULL UNIQUE,
        topic        text NOT NULL,
        payload      bytea NOT NULL,
        error        text NOT NULL,
        consumer     text NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE consumers (
        client_id      text PRIMARY KEY,
        started_at     timestamptz NOT NULL,
        last_batch_at  timestamptz,
        received       bigint NOT NULL DEFAULT 0,
        stored         bigint NOT NULL DEFAULT 0,
        duplicates     bigint NOT NULL DEFAULT 0,
        rejected       bigint NOT NULL DEFAULT 0
    );
    CREATE TABLE driver_shifts (
        vehicle_id   text NOT NULL,
        driver_id    text NOT NULL,
        starts_at    timestamptz NOT NULL,
        ends_at      timestamptz,
        PRIMARY KEY (vehicle_id, starts_at)
    );
    """,
]
VERSION = len(MIGRATIONS)


def current_version(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not row[0]:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def migrate(conn: psycopg.Connection) -> tuple[int, int]:
    """Bring the schema to VERSION; returns (version before, version after). Refuses a database
    migrated by a newer driverwatch."""
    from driverwatch.errors import ConfigError

    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
                     "applied_at timestamptz NOT NULL DEFAULT now())")
        before = current_version(conn)
        if before > VERSION:
            raise ConfigError(f"the fleet database has schema version {before}, newer than this driverwatch "
                              f"knows ({VERSION}): upgrade driverwatch")
        for version in range(before + 1, VERSION + 1):
            conn.execute(MIGRATIONS[version - 1])
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
    return before, VERSION
