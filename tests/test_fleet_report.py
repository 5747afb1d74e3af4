"""`driverwatch fleet report` on a simulated fleet stored in a real PostgreSQL: the CSV's counts and
rates match what the vehicles published, stress only where it was published, drivers from a roster,
offline vehicles listed; the HTML page checked in a real browser (DOM and screenshot pixels)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pytest
from support.util import run_cli
from test_fleet import NOW, _items

from driverwatch.fleet.report import category
from driverwatch.fleet.simulate import simulate_fleet


@pytest.fixture
def fleet_db(pg_dsn):
    import psycopg

    from driverwatch.fleet.schema import migrate
    from driverwatch.fleet.store import write_batch

    fleet = simulate_fleet(12, 40, seed=21, affective_every=2)  # odd vehicles: affective telemetry off
    items = _items(fleet.messages + [("driverwatch/v003/available", b"offline"),
                                     ("driverwatch/v005/available", b"stopped")])
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        migrate(conn)
        for i in range(0, len(items), 200):
            write_batch(conn, items[i:i + 200], "report-test", NOW)
    return pg_dsn, fleet


@pytest.mark.slow
def test_fleet_report_csv_and_page(fleet_db, tmp_path, browser):
    dsn, fleet = fleet_db
    roster = tmp_path / "roster.csv"
    roster.write_text("vehicle_id,driver_id,starts_at,ends_at\nv000,alice,2026-11-01T00:00:00Z,\n"
                      "v001,bob,2026-11-01T00:00:00Z,2026-11-30T00:00:00Z\n")
    out = tmp_path / "report"
    run_cli("fleet", "report", "--database", dsn, "--since", "2026-11-02T00:00:00Z", "--until",
            "2026-11-03T00:00:00Z", "-o", out, "--roster", roster, check=True)
    rows = {r["vehicle_id"]: r for r in csv.DictReader(io.StringIO((out / "report.csv").read_text()))}
    assert set(rows) == {f"v{i:03d}" for i in range(12)}
    assert rows["v000"]["driver_id"] == "alice" and rows["v001"]["driver_id"] == "bob"
    assert rows["v002"]["driver_id"] == "unknown"
    for v, r in rows.items():
        want = Counter(category(x.kind) for (veh, _), x in fleet.incidents.items() if veh == v)
        hours = float(r["driving_hours"])
        up = [json.loads(p)["uptime_s"] for t, p in fleet.messages if t == f"driverwatch/{v}/stats"]
        true_h = (max(up) - min(up)) / 3600
        assert hours == pytest.approx(true_h, abs=0.001)  # the stats heartbeats' span
        assert int(r["drowsiness"]) == want["drowsiness"] and int(r["distraction"]) == want["distraction"]
        assert float(r["drowsiness_per_hour"]) == pytest.approx(want["drowsiness"] / true_h, abs=0.006)
        if int(v[1:]) % 2 == 0:  # published affective telemetry
            assert int(r["stress"]) == want["stress"]
        else:  # never published: not a zero, nothing
            assert want["stress"] == 0 and r["stress"] == "" and r["stress_per_hour"] == ""

    browser.get((out / "report.html").as_uri())
    page = browser.find_element("tag name", "body").text
    assert "Fleet report" in page and "Worst episodes" in page
    for img in ("plot-rates", "plot-timeline"):
        assert browser.execute_script(f"return document.getElementById('{img}').naturalWidth") >= 800
    table_rows = browser.find_elements("css selector", "#rates tr[data-vehicle]")
    assert len(table_rows) == 12
    not_published = [r.get_attribute("data-vehicle") for r in table_rows if "not published" in r.text]
    assert not_published == [f"v{i:03d}" for i in range(1, 12, 2)]
    worst = browser.find_elements("css selector", "#worst tr")[1:]
    assert len(worst) == 20 and worst[0].text.startswith("critical")
    offline = browser.find_element("id", "offline").text
    assert "v003" in offline and "lost link" in offline and "v005" in offline and "stopped" in offline
    # what a user sees: the bar chart's category colours are on screen
    browser.set_window_size(1280, 900)
    browser.execute_script("document.getElementById('plot-rates').scrollIntoView()")
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    import numpy as np
    from PIL import Image

    px = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3).astype(int)

    def near(rgb, tol=12):
        return int((np.abs(px - np.array(rgb)).max(axis=1) <= tol).sum())

    assert near((0x8e, 0x24, 0xaa)) > 200, "no drowsiness bars on screen"  # purple
    assert near((0xfb, 0x8c, 0x00)) > 200, "no distraction bars on screen"  # orange
    assert near((0x00, 0x89, 0x7b)) > 50, "no stress bars on screen"  # teal (only the even vehicles)


@pytest.mark.slow
def test_fleet_report_empty_period_and_bad_roster(fleet_db, tmp_path):
    dsn, _ = fleet_db
    out = tmp_path / "empty"
    run_cli("fleet", "report", "--database", dsn, "--since", "2020-01-01T00:00:00Z", "--until",
            "2020-01-02T00:00:00Z", "-o", out, check=True)
    assert (out / "report.csv").read_text().splitlines()[1:] == []
    assert "0 incidents" in (out / "report.html").read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text("v000,alice\n")
    proc = run_cli("fleet", "report", "--database", dsn, "--roster", bad, "-o", out)
    assert proc.returncode == 66 and "line 1" in proc.stderr and "Traceback" not in proc.stderr
