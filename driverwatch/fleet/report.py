"""`driverwatch fleet report`: per vehicle and driver over a period, from the fleet database.

- incidents per driving hour: drowsiness, distraction and stress (see CATEGORIES). Driving hours are
  the monitored hours: the time covered by a vehicle's `stats` heartbeats (consecutive snapshots at
  most MAX_GAP_S apart), since the daemon runs while the vehicle does.
- the worst episodes (highest severity reached, then longest)
- vehicles offline: lost link (last will `offline`), stopped, or silent for --offline-after seconds
  at the end of the period
Only what vehicles published is shown: a vehicle that never published affective telemetry (no
stress-type incident, no `stress` in its state; `privacy.affective_telemetry` off) shows "not
published" for stress, never 0.
Drivers come from the events (`driver`, when a vehicle sends one) or `driver_shifts` (--roster);
otherwise "unknown". Output: report.html (plots as embedded PNG) and report.csv in the out folder.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from driverwatch.errors import ConfigError, InputError
from driverwatch.fleet.config import one_line
from driverwatch.fleet.schema import migrate

log = logging.getLogger(__name__)

CATEGORIES = {
    "drowsiness": {"long_blink", "microsleep", "sleep", "yawn", "nod", "drowsy"},
    "distraction": {"long_distraction", "vats", "phone", "phone_use", "mind_wandering"},
    "stress": {"stress", "frustration_like"},
}
# published only with the vehicle's privacy.affective_telemetry on (README: "Where it goes")
AFFECTIVE_KINDS = CATEGORIES["stress"] | {"mind_wandering", "calm_suggestion"}
MAX_GAP_S = 300.0
UNKNOWN = "unknown"
SEVERITY_COLOURS = {"info": "#9e9e9e", "notice": "#1e88e5", "warning": "#fb8c00", "critical": "#e53935"}
CATEGORY_COLOURS = {"drowsiness": "#8e24aa", "distraction": "#fb8c00", "stress": "#00897b"}


def category(kind: str) -> str | None:
    return next((c for c, kinds in CATEGORIES.items() if kind in kinds), None)


@dataclass
class Row:
    vehicle_id: str
    driver_id: str
    hours: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    other: int = 0
    worst: str | None = None
    affective: bool = False

    def rate(self, cat: str) -> float | None:
        if cat == "stress" and not self.affective:
            return None
        return self.counts[cat] / self.hours if self.hours > 0 else None


@dataclass
class Report:
    since: datetime
    until: datetime
    rows: list[Row]
    worst: list[dict]
    offline: list[dict]
    incidents: list[dict]
    vehicles: int


_DRIVER = """coalesce(i.driver_id, (SELECT s.driver_id FROM driver_shifts s WHERE s.vehicle_id = i.vehicle_id
    AND s.starts_at <= i.started_at AND (s.ends_at IS NULL OR s.ends_at > i.started_at)
    ORDER BY s.starts_at DESC LIMIT 1), %(unknown)s)"""


def load_roster(conn: psycopg.Connection, path: Path) -> int:
    """vehicle_id,driver_id,starts_at[,ends_at] rows (a header line is allowed) into driver_shifts."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"--roster: cannot read {path}: {err.strerror or err}") from None
    rows = []
    for n, rec in enumerate(csv.reader(io.StringIO(text)), 1):
        if not rec or rec[0].strip().lower() in ("vehicle_id", "") or rec[0].startswith("#"):
            continue
        if len(rec) not in (3, 4):
            raise InputError(f"--roster {path} line {n}: expected vehicle_id,driver_id,starts_at[,ends_at]")
        try:
            times = [datetime.fromisoformat(x.strip()) if x.strip() else None for x in rec[2:]]
        except ValueError:
            raise InputError(f"--roster {path} line {n}: times must be ISO 8601") from None
        if any(t is not None and t.tzinfo is None for t in times):
            raise InputError(f"--roster {path} line {n}: times need a time zone (e.g. Z)")
        rows.append((rec[0].strip(), rec[1].strip(), times[0], times[1] if len(times) > 1 else None))
    with conn.transaction():
        conn.cursor().executemany(
            "INSERT INTO driver_shifts (vehicle_id, driver_id, starts_at, ends_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (vehicle_id, starts_at) DO UPDATE SET driver_id = EXCLUDED.driver_id, ends_at = EXCLUDED.ends_at",
            rows)
    return len(rows)


def gather(conn: psycopg.Connection, since: datetime, until: datetime, offline_after_s: float,
           n_worst: int = 20) -> Report:
    p = {"since": since, "until": until, "unknown": UNKNOWN, "gap": MAX_GAP_S, "offline": offline_after_s}
    cur = conn.cursor()
    incidents = [dict(zip(("vehicle_id", "driver_id", "event_id", "kind", "severity", "rank", "started_at",
                           "ended_at", "duration_s", "evidence", "delayed"), r, strict=True))
                 for r in cur.execute(f"""
        SELECT i.vehicle_id, {_DRIVER}, i.event_id, i.kind, i.severity, i.severity_rank, i.started_at, i.ended_at,
               i.duration_s, i.evidence, i.delayed
        FROM incidents i WHERE i.started_at >= %(since)s AND i.started_at < %(until)s
        ORDER BY i.started_at""", p)]
    hours = cur.execute("""
        WITH s AS (SELECT vehicle_id, time, extract(epoch FROM time - lag(time) OVER
                       (PARTITION BY vehicle_id ORDER BY time)) AS gap
                   FROM stats WHERE time >= %(since)s AND time < %(until)s)
        SELECT s.vehicle_id, coalesce((SELECT d.driver_id FROM driver_shifts d WHERE d.vehicle_id = s.vehicle_id
                   AND d.starts_at <= s.time AND (d.ends_at IS NULL OR d.ends_at > s.time)
                   ORDER BY d.starts_at DESC LIMIT 1), %(unknown)s) AS driver,
               sum(s.gap) / 3600.0
        FROM s WHERE s.gap IS NOT NULL AND s.gap <= %(gap)s GROUP BY 1, 2""", p).fetchall()
    affective = {r[0] for r in cur.execute("""
        SELECT DISTINCT vehicle_id FROM incidents WHERE kind = ANY(%(kinds)s)
        UNION SELECT vehicle_id FROM vehicle_state WHERE payload ? 'stress' AND payload->'stress' <> 'null'::jsonb""",
                                           {"kinds": sorted(AFFECTIVE_KINDS)})}
    rows: dict[tuple[str, str], Row] = {}
    for vehicle, driver, h in hours:
        rows[(vehicle, driver)] = Row(vehicle, driver, hours=float(h or 0))
    for i in incidents:
        r = rows.setdefault((i["vehicle_id"], i["driver_id"]), Row(i["vehicle_id"], i["driver_id"]))
        c = category(i["kind"])
        if c:
            r.counts[c] += 1
        else:
            r.other += 1
        if r.worst is None or list(SEVERITY_COLOURS).index(i["severity"]) > list(SEVERITY_COLOURS).index(r.worst):
            r.worst = i["severity"]
    for r in rows.values():
        r.affective = r.vehicle_id in affective
    worst = sorted(incidents, key=lambda i: (-i["rank"], -(i["duration_s"] or 0), i["started_at"]))[:n_worst]
    offline = [dict(zip(("vehicle_id", "status", "status_at", "last_seen_at", "lost_links"), r, strict=True))
               for r in cur.execute("""
        SELECT v.vehicle_id, v.status, v.status_at, v.last_seen_at,
               (SELECT count(*) FROM availability a WHERE a.vehicle_id = v.vehicle_id AND a.status = 'offline'
                AND a.received_at >= %(since)s AND a.received_at < %(until)s)
        FROM vehicles v
        WHERE v.status IN ('offline', 'stopped') OR v.last_seen_at < %(until)s - make_interval(secs => %(offline)s)
        ORDER BY v.status = 'offline' DESC, v.last_seen_at""", p)]
    n_vehicles = cur.execute("SELECT count(*) FROM vehicles").fetchone()[0]
    return Report(since, until, sorted(rows.values(), key=lambda r: (r.vehicle_id, r.driver_id)), worst, offline,
                  incidents, n_vehicles)


# -- output ----------------------------------------------------------------------------------------
def _fmt_rate(v: float | None, published: bool = True) -> str:
    if not published:
        return "not published"
    return "" if v is None else f"{v:.2f}"


def write_csv(rep: Report, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        head = ["vehicle_id", "driver_id", "driving_hours"]
        for c in CATEGORIES:
            head += [c, f"{c}_per_hour"]
        w.writerow([*head, "other", "worst_severity"])
        for r in rep.rows:
            line = [r.vehicle_id, r.driver_id, f"{r.hours:.3f}"]
            for c in CATEGORIES:
                published = c != "stress" or r.affective
                line += [r.counts[c] if published else "", _fmt_rate(r.rate(c)) if published else ""]
            w.writerow([*line, r.other, r.worst or ""])


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode()


def plots(rep: Report) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    rated = [r for r in rep.rows if r.hours > 0]
    rated.sort(key=lambda r: -sum(r.rate(c) or 0 for c in CATEGORIES))
    top = rated[:30]
    fig, ax = plt.subplots(figsize=(11, 4.5), layout="constrained")
    if top:
        x = range(len(top))
        width = 0.8 / len(CATEGORIES)
        for k, c in enumerate(CATEGORIES):
            ax.bar([i + (k - 1) * width for i in x], [r.rate(c) or 0 for r in top], width, label=c,
                   color=CATEGORY_COLOURS[c])
        ax.set_xticks(list(x), [f"{r.vehicle_id}\n{r.driver_id}" if r.driver_id != UNKNOWN else r.vehicle_id
                                for r in top], rotation=90 if len(top) > 12 else 0, fontsize=8)
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no driving hours in this period", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("incidents per driving hour")
    ax.set_title(f"Incidents per driving hour (top {len(top)} of {len(rated)} vehicle/driver rows)")
    out["rates"] = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(11, 3.5), layout="constrained")
    if rep.incidents:
        span_h = (rep.until - rep.since).total_seconds() / 3600
        bin_h = 1 if span_h <= 72 else 24
        for c in CATEGORIES:
            ts = [(i["started_at"] - rep.since).total_seconds() / 3600 for i in rep.incidents
                  if category(i["kind"]) == c]
            if ts:
                ax.hist(ts, bins=max(1, int(span_h / bin_h)), range=(0, span_h), histtype="step", linewidth=2,
                        label=c, color=CATEGORY_COLOURS[c])
        ax.set_xlabel(f"hours since {rep.since:%Y-%m-%d %H:%M} UTC")
        ax.set_ylabel(f"incidents per {'hour' if bin_h == 1 else 'day'}")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no incidents in this period", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Fleet incidents over the period")
    out["timeline"] = _png(fig)
    plt.close(fig)
    return out


def _t(v: datetime | None) -> str:
    return "" if v is None else v.strftime("%Y-%m-%d %H:%M:%S")


def write_html(rep: Report, path: Path) -> None:
    e = html.escape
    imgs = plots(rep)
    parts = [f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>driverwatch fleet report {rep.since:%Y-%m-%d} to {rep.until:%Y-%m-%d}</title>
<style>body{{font-family:sans-serif;margin:1.5em;color:#222}} table{{border-collapse:collapse;margin:0.5em 0 1.5em}}
td,th{{border:1px solid #ccc;padding:2px 8px;font-size:13px}} th{{background:#eee}} td.n{{text-align:right}}
td.np{{color:#888;font-style:italic}} .sev-critical{{background:#e53935;color:#fff}} .sev-warning{{background:#fb8c00}}
.sev-notice{{background:#bbdefb}} img{{max-width:100%}}</style></head><body>
<h1>Fleet report</h1>
<p id="period">{rep.since:%Y-%m-%d %H:%M} to {rep.until:%Y-%m-%d %H:%M} UTC: {len(rep.incidents)} incidents,
{rep.vehicles} vehicles known, {sum(r.hours for r in rep.rows):.1f} driving hours.
Driving hours are monitored hours (the daemon's stats heartbeats). Stress shows only for vehicles that publish
affective telemetry.</p>
<img id="plot-rates" alt="incidents per driving hour" src="data:image/png;base64,{imgs['rates']}">
<img id="plot-timeline" alt="incidents over the period" src="data:image/png;base64,{imgs['timeline']}">
<h2>Per vehicle and driver</h2>
<table id="rates"><tr><th>vehicle</th><th>driver</th><th>driving h</th>"""]
    for c in CATEGORIES:
        parts.append(f"<th>{c}</th><th>{c} / h</th>")
    parts.append("<th>other</th><th>worst</th></tr>")
    for r in rep.rows:
        cells = [f"<td>{e(r.vehicle_id)}</td><td>{e(r.driver_id)}</td><td class=n>{r.hours:.2f}</td>"]
        for c in CATEGORIES:
            if c == "stress" and not r.affective:
                cells.append('<td class=np colspan=2 title="this vehicle does not publish affective telemetry">'
                             "not published</td>")
            else:
                cells.append(f"<td class=n>{r.counts[c]}</td><td class=n>{_fmt_rate(r.rate(c))}</td>")
        cells.append(f"<td class=n>{r.other}</td><td class='sev-{r.worst or ''}'>{r.worst or ''}</td>")
        parts.append(f"<tr data-vehicle='{e(r.vehicle_id)}'>{''.join(cells)}</tr>")
    parts.append("</table><h2>Worst episodes</h2><table id='worst'><tr><th>severity</th><th>kind</th><th>vehicle</th>"
                 "<th>driver</th><th>start (UTC)</th><th>duration s</th><th>delayed</th><th>evidence</th></tr>")
    for i in rep.worst:
        dur = "" if i["duration_s"] is None else f"{i['duration_s']:.1f}"
        parts.append(f"<tr><td class='sev-{i['severity']}'>{i['severity']}</td><td>{e(i['kind'])}</td>"
                     f"<td>{e(i['vehicle_id'])}</td><td>{e(i['driver_id'])}</td><td>{_t(i['started_at'])}</td>"
                     f"<td class=n>{dur}</td><td>{'yes' if i['delayed'] else ''}</td>"
                     f"<td><code>{e(json.dumps(i['evidence'])[:200])}</code></td></tr>")
    parts.append("</table><h2>Vehicles offline</h2>")
    if rep.offline:
        parts.append("<table id='offline'><tr><th>vehicle</th><th>status</th><th>since</th><th>last heard</th>"
                     "<th>lost links in period</th></tr>")
        for o in rep.offline:
            status = {"offline": "lost link (last will)", "stopped": "stopped", "online": "silent"}.get(o["status"],
                                                                                                       o["status"] or "silent")
            parts.append(f"<tr><td>{e(o['vehicle_id'])}</td><td>{e(status)}</td><td>{_t(o['status_at'])}</td>"
                         f"<td>{_t(o['last_seen_at'])}</td><td class=n>{o['lost_links']}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p id='offline-none'>none</p>")
    parts.append("</body></html>\n")
    path.write_text("".join(parts), encoding="utf-8")


def main(settings, since: datetime, until: datetime, args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        conn = psycopg.connect(settings.database.dsn, autocommit=True,
                               connect_timeout=settings.database.connect_timeout_s)
    except psycopg.OperationalError as err:
        raise ConfigError(f"cannot reach the database: {one_line(err)}") from None
    with conn:
        migrate(conn)
        if args.roster:
            n = load_roster(conn, Path(args.roster))
            log.info("fleet report: %d driver shifts from %s", n, args.roster)
        rep = gather(conn, since, until, args.offline_after, args.worst)
    write_csv(rep, out / "report.csv")
    write_html(rep, out / "report.html")
    print(out / "report.html")
    print(out / "report.csv")
    return 0
