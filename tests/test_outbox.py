"""The SQLite outbox on its own: order, persistence, priority eviction, full disk, age, bad files."""

from __future__ import annotations

import logging
import os
import subprocess
import time

import pytest

from driverwatch.errors import InputError
from driverwatch.sinks.outbox import PRIORITY, PRIORITY_STATS, Outbox


def _payload(i: int, size: int = 200) -> bytes:
    return (f'{{"id":"d:x:{i}","pad":"' + "x" * size + '"}').encode()


def test_order_and_persistence_across_reopen(tmp_path):
    path = tmp_path / "o.sqlite"
    ob = Outbox(path)
    seqs = [ob.put("t/events", _payload(i), PRIORITY["info"]) for i in range(50)]
    assert seqs == sorted(seqs) and None not in seqs
    ob.delete(seqs[:10])
    ob.close()

    ob = Outbox(path)  # like after a reboot
    assert ob.depth() == 40
    msgs = ob.peek(0, 100)
    assert [m.payload for m in msgs] == [_payload(i) for i in range(10, 50)]
    assert [m.seq for m in ob.peek(msgs[4].seq, 3)] == [m.seq for m in msgs[5:8]]
    assert [m.seq for m in ob.peek(0, 3, exclude={msgs[0].seq})] == [m.seq for m in msgs[1:4]]
    assert ob.bytes == sum(len("t/events") + len(m.payload) + 32 for m in msgs)
    ob.close()


def test_size_cap_drops_stats_first_and_critical_last(tmp_path, caplog):
    ob = Outbox(tmp_path / "o.sqlite", max_bytes=20_000)
    critical = [ob.put("t/events", _payload(i), PRIORITY["critical"]) for i in range(20)]
    with caplog.at_level(logging.WARNING, logger="driverwatch.sinks.outbox"):
        t0 = time.perf_counter()
        for i in range(300):
            ob.put("t/stats", _payload(i), PRIORITY_STATS)
            ob.put("t/events", _payload(i), PRIORITY["info"])
        elapsed = time.perf_counter() - t0
    assert ob.bytes <= 20_000
    left = {m.seq for m in ob.peek(0, 1000)}
    assert set(critical) <= left, "a critical event was dropped while lower priorities were queued"
    assert ob.dropped > 0
    full = [r for r in caplog.records if "full" in r.getMessage()]
    assert len(full) == 1, "the full-outbox line must be rate-limited"  # one line, not one per message
    assert "cap 20000 bytes" in full[0].getMessage()
    assert elapsed / 600 < 0.01  # still cheap per message while evicting
    # Filling it with critical events only: the oldest critical ones go, the newest stay.
    for i in range(200):
        ob.put("t/events", _payload(1000 + i), PRIORITY["critical"])
    newest = ob.peek(0, 1000)[-1]
    assert newest.payload == _payload(1199)
    assert ob.bytes <= 20_000
    ob.close()


def test_expire_by_age(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite", max_age_s=3600)
    ob.put("t/events", _payload(1), PRIORITY["warning"], queued=time.time() - 7200)
    keep = ob.put("t/events", _payload(2), PRIORITY["info"])
    assert ob.expire() == 1
    assert [m.seq for m in ob.peek()] == [keep]
    assert ob.dropped == 1
    ob.close()


def test_corrupt_file_is_moved_aside_and_a_fresh_outbox_starts(tmp_path, caplog):
    bad = tmp_path / "o.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    (tmp_path / "o.sqlite.corrupt-1").write_bytes(b"an earlier one")
    with caplog.at_level(logging.ERROR, logger="driverwatch.sinks.outbox"):
        ob = Outbox(bad)
    assert ob.depth() == 0
    assert ob.put("t/events", _payload(1), PRIORITY["info"]) is not None
    ob.close()
    assert (tmp_path / "o.sqlite.corrupt-2").read_bytes() == b"this is not a database" * 100
    assert (tmp_path / "o.sqlite.corrupt-1").read_bytes() == b"an earlier one"
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "damaged" in lines[0] and "o.sqlite.corrupt-2" in lines[0]
    assert Outbox(bad).depth() == 1  # the fresh file is a good outbox


def test_damaged_pages_fail_quick_check_and_are_moved_aside(tmp_path):
    path = tmp_path / "o.sqlite"
    ob = Outbox(path)
    for i in range(300):
        ob.put("t/events", _payload(i), PRIORITY["info"])
    ob.checkpoint()
    ob.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 8 * page
    data[3 * page:6 * page] = bytes(range(256)) * (3 * page // 256)  # header intact, b-tree pages garbage
    path.write_bytes(bytes(data))
    ob = Outbox(path)
    assert ob.depth() == 0
    assert (tmp_path / "o.sqlite.corrupt-1").exists()
    ob.close()


def test_unusable_outbox_path_is_a_clear_error(tmp_path):
    bad = tmp_path / "o.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    tmp_path.chmod(0o500)  # cannot rename the file nor create a new one
    try:
        if os.access(tmp_path, os.W_OK):
            pytest.skip("running as root: directory permissions are not enforced")
        with pytest.raises(InputError, match="outbox .*o.sqlite.*cannot open SQLite"):
            Outbox(bad)
    finally:
        tmp_path.chmod(0o700)


@pytest.fixture
def tiny_fs(tmp_path):
    """A real 192 KiB file system (tmpfs), where the outbox runs out of disk."""
    d = tmp_path / "tiny"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(d)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): the size-cap test covers the logic")
    yield d
    subprocess.run(["umount", "-l", str(d)], check=False)


def test_full_disk_is_logged_once_and_operation_continues(tiny_fs, caplog):
    filler = tiny_fs / "filler"  # something else filled the card
    filler.write_bytes(b"\0" * 96 * 1024)
    ob = Outbox(tiny_fs / "o.sqlite", max_bytes=100_000_000)  # the cap is not what stops it here
    results, costs = [], []
    with caplog.at_level(logging.WARNING, logger="driverwatch.sinks.outbox"):
        for i in range(1000):
            t0 = time.perf_counter()
            results.append(ob.put("t/events", _payload(i, 400), PRIORITY["info"]))
            costs.append(time.perf_counter() - t0)
    msgs = [r.getMessage() for r in caplog.records]
    assert None in results, "the disk never filled up"
    assert any("disk full?" in m and "continuing" in m for m in msgs), msgs
    assert len(msgs) <= 4, msgs  # rate-limited: a few lines, not one per event
    assert ob.dropped >= results.count(None)
    assert max(costs) < 0.5
    stored = ob.depth()
    assert stored > 0  # what fitted is still there
    # Space comes back: the outbox stores again without a restart.
    filler.unlink()
    assert ob.put("t/events", _payload(9999), PRIORITY["critical"]) is not None
    assert ob.depth() == stored + 1
    ob.close()
