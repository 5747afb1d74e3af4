"""`driverwatch fleet ingest|report` (the `fleet` extra: pip install 'driverwatch[fleet]').

Settings: `--settings fleet.toml` ([mqtt], [database], [ingest]; see driverwatch/fleet/config.py)
and the flags below, which win over the file.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from driverwatch.errors import ConfigError, UsageError
from driverwatch.fleet.config import one_line


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="fleet_command", metavar="{ingest,report}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--settings", metavar="FLEET.toml", help="fleet settings file ([mqtt], [database], [ingest])")
    common.add_argument("--database", metavar="DSN", help="PostgreSQL connection string or URI "
                        "(default: the PG* environment variables)")

    ing = sub.add_parser("ingest", parents=[common], help="consume vehicles' MQTT telemetry into PostgreSQL",
                         description="An MQTT 5 shared-subscription consumer writing to PostgreSQL. Run as many "
                         "as needed, each with its own stable --client-id.")
    ing.add_argument("--broker", metavar="HOST[:PORT]", help="MQTT broker (default 127.0.0.1:1883)")
    ing.add_argument("--group", help="shared-subscription group (default driverwatch-fleet)")
    ing.add_argument("--client-id", help="stable, unique client id of this consumer (default: "
                     "driverwatch-fleet-<hostname>)")
    ing.add_argument("--topic-root", help="vehicles publish under ROOT/<vehicle_id>/ (default driverwatch)")
    ing.add_argument("--session-expiry", type=int, metavar="S", help="seconds the broker keeps this consumer's "
                     "session while it is away (default 86400)")
    ing.add_argument("--batch-size", type=int, help="most messages per transaction (default 500)")
    ing.add_argument("--batch-linger-ms", type=float, help="wait for more messages before committing (default 20)")
    ing.add_argument("--migrate-only", action="store_true", help="create or migrate the schema, then exit")

    rep = sub.add_parser("report", parents=[common], help="incidents per driving hour, worst episodes, offline "
                         "vehicles: HTML with plots and a CSV",
                         description="Per vehicle and driver over a period: drowsiness, distraction and stress "
                         "incidents per driving hour, the worst episodes and the vehicles offline.")
    rep.add_argument("--since", metavar="TIME", help="start of the period, ISO 8601 UTC (default: 7 days before --until)")
    rep.add_argument("--until", metavar="TIME", help="end of the period, ISO 8601 UTC (default: now)")
    rep.add_argument("-o", "--out", default="fleet-report", metavar="DIR",
                     help="output folder for report.html and report.csv (default fleet-report)")
    rep.add_argument("--roster", metavar="CSV", help="who drove which vehicle: vehicle_id,driver_id,starts_at[,ends_at]; "
                     "stored in driver_shifts")
    rep.add_argument("--offline-after", type=float, default=900.0, metavar="S",
                     help="a vehicle not heard from for this long at the end of the period is offline (default 900)")
    rep.add_argument("--worst", type=int, default=20, metavar="N", help="episodes in the worst list (default 20)")


def _time(v: str | None, what: str) -> datetime | None:
    if v is None:
        return None
    try:
        t = datetime.fromisoformat(v)
    except ValueError:
        raise UsageError(f"{what}: not an ISO 8601 time: {v!r}") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _settings(args):
    from driverwatch.fleet.config import load_settings

    over: dict[str, dict] = {"database": {"dsn": args.database}}
    if args.fleet_command == "ingest":
        host = port = None
        if args.broker:
            host, _, p = args.broker.rpartition(":") if ":" in args.broker else (args.broker, "", "")
            if p:
                try:
                    port = int(p)
                except ValueError:
                    raise ConfigError(f"--broker: bad port in {args.broker!r}") from None
        over["mqtt"] = {"host": host, "port": port, "group": args.group, "client_id": args.client_id,
                        "topic_root": args.topic_root, "session_expiry_s": args.session_expiry}
        over["ingest"] = {"batch_size": args.batch_size, "batch_linger_ms": args.batch_linger_ms}
    return load_settings(args.settings, over)


def main(args: argparse.Namespace) -> int:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ConfigError("driverwatch fleet needs the fleet extra: pip install 'driverwatch[fleet]'") from None
    if args.fleet_command is None:
        raise UsageError("driverwatch fleet: say ingest or report (see driverwatch fleet --help)")
    settings = _settings(args)
    if args.fleet_command == "ingest":
        from driverwatch.fleet import ingest

        if args.migrate_only:
            import psycopg

            from driverwatch.fleet.schema import migrate
            try:
                with ingest.connect_db(settings, "driverwatch-fleet-migrate") as conn:
                    before, after = migrate(conn)
            except psycopg.OperationalError as err:
                raise ConfigError(f"cannot reach the database: {one_line(err)}") from None
            print(f"schema version {after}" + (f" (was {before})" if before != after else ""))
            return 0
        return ingest.main(settings)
    from driverwatch.fleet import report

    until = _time(args.until, "--until") or datetime.now(UTC)
    since = _time(args.since, "--since") or until - timedelta(days=7)
    if since >= until:
        raise UsageError("--since must be before --until")
    return report.main(settings, since, until, args)
