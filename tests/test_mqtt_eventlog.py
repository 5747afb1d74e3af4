"""The local JSONL event log (for installs with or without a broker)."""

from __future__ import annotations

import json
import logging

from driverwatch.monitor.events import Condition, EventIds
from driverwatch.sinks.eventlog import EventLog


def test_jsonl_rotated_by_size_keeping_n_files(tmp_path):
    log = EventLog(tmp_path / "log", max_bytes=4000, backups=2)
    cond = Condition(EventIds("d"), "yawn")
    written = []
    for i in range(100):
        ev = cond.instant(i, i + 1.5, "info", {"mar": 0.71, "n": i})
        written.append(ev.to_json())
        log.write(ev.to_json())
    log.close()
    files = sorted((tmp_path / "log").iterdir())
    assert [f.name for f in files] == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    assert all(f.stat().st_size <= 4000 for f in files)
    lines = [json.loads(line) for f in reversed(files) for line in f.read_text().splitlines()]
    assert lines[-1]["evidence"]["n"] == 99  # newest last, oldest rotated away
    assert 0 < len(lines) < 100 and [e["evidence"]["n"] for e in lines] == list(range(100 - len(lines), 100))
    assert all(e["time"].endswith("Z") for e in lines)
    assert {k: v for k, v in lines[-1].items() if k != "time"} == written[-1]


def test_nan_evidence_and_keeps_given_time(tmp_path):
    log = EventLog(tmp_path, max_bytes=100_000, backups=1)
    log.write({"id": "a", "time": "2026-01-01T00:00:00.000Z", "evidence": {"perclos": float("nan")}})
    log.close()
    line = json.loads((tmp_path / "events.jsonl").read_text())
    assert line == {"id": "a", "time": "2026-01-01T00:00:00.000Z", "evidence": {"perclos": None}}


def test_unwritable_dir_is_logged_once_and_writes_are_skipped(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with caplog.at_level(logging.ERROR, logger="driverwatch.sinks.eventlog"):
        log = EventLog(blocker / "log")
        for i in range(3):
            log.write({"id": str(i)})
        log.close()
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 1 and "event log" in msgs[0] and "cannot open" in msgs[0]
    assert log.error is not None and "cannot open" in log.error
    assert blocker.read_text() == "x"


def test_write_failure_is_logged_not_raised(tmp_path, caplog):
    log = EventLog(tmp_path, max_bytes=100_000, backups=1)
    log._handler.stream.close()  # e.g. the file system went read-only under us
    with caplog.at_level(logging.ERROR, logger="driverwatch.sinks.eventlog"):
        for _ in range(5):
            log.write({"id": "x"})
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 1 and "cannot write" in msgs[0]
