"""`heart.protocol = "auto"`: recognition that survives bad first lines and decides again when wrong
(arrival times given, so these run in no time; tests/test_heart_serial.py does it on a pseudo-terminal)."""

import numpy as np
import pytest

from driverwatch.config.heart import HeartConfig
from driverwatch.physio.protocols import LineParser


def _feed(lines, times):
    p = LineParser(HeartConfig(protocol="auto"))
    out = []
    for line, t in zip(lines, times, strict=True):
        out += [(t, *s) for s in p.parse(str(line).encode(), float(t))]
    return p, out


def _first(out, kind):
    return next((t for t, k, _, _ in out if k == kind), None)


@pytest.mark.parametrize("bad", [[9999, -5], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0] * 40, [300, 20]])
def test_slow_lines_with_bad_values_are_bpm_from_the_third_plausible_one(bad):
    good = [72, 73, 71, 74, 72, 70] * 5
    lines = [good[0], *bad, *good[1:]]
    p, out = _feed(lines, range(len(lines)))
    assert p.protocol == "bpm" and p.changes == 0
    assert _first(out, "hr") == len(bad) + 2  # the third plausible value
    assert [v for _, k, _, v in out] == good  # every good value, none of the bad ones
    c = p.counts
    assert c["valid"] == len(good) and c["lines"] == len(lines)
    assert sum(v for k, v in c.items() if k not in ("lines", "valid")) == len(bad)  # each bad one counted once


def test_rr_lines_with_bad_values():
    lines = [812, 0, 790, 99999, 805, 820, 798]
    p, out = _feed(lines, range(len(lines)))
    assert p.protocol == "rr" and [v for _, k, _, v in out] == [812, 790, 805, 820, 798]


def test_a_burst_of_stale_bpm_lines_at_connect_is_not_a_sampled_signal():
    lines = [70 + i % 5 for i in range(40)]
    times = [0.0] * 20 + [float(i) for i in range(1, 21)]  # 20 lines read at once, then 1 Hz
    p, out = _feed(lines, times)
    assert p.protocol == "bpm" and p.changes == 0
    assert p.counts["valid"] + p.counts["undecided"] == 40


def test_raw_taken_by_mistake_is_given_up_for_bpm_within_seconds():
    """A sensor streaming zeros fast (no finger) and then one heart rate per second."""
    lines = [0] * 100 + [70 + i % 5 for i in range(20)]
    times = [i * 0.01 for i in range(100)] + [1.0 + i for i in range(20)]
    p, out = _feed(lines, times)
    assert p.protocol == "bpm" and p.changes == 1
    t_hr = _first(out, "hr")
    assert t_hr is not None and t_hr <= 1.0 + 5  # slow for 3 s, then the plausible lines since then
    assert p.counts["lines"] == 120


def test_bpm_taken_by_mistake_is_given_up_for_a_fast_signal():
    """A PPG whose values lie in the bpm range, arriving first at 1 line/s (a slow start), then at 100 Hz
    in 50 ms reads."""
    slow = [100, 110, 120]
    fast = [int(100 + 50 * np.sin(i / 10)) for i in range(600)]
    times = [0.0, 1.0, 2.0] + [3.0 + (i // 5) * 0.05 for i in range(600)]
    p, out = _feed(slow + fast, times)
    assert p.protocol == "raw" and p.changes == 1
    assert _first(out, "raw") <= 3.0 + 2.5


def test_bpm_taken_by_mistake_is_given_up_for_rr():
    lines = [80, 90, 85] + [800 + i % 7 for i in range(20)]
    p, out = _feed(lines, range(len(lines)))
    assert p.protocol == "rr" and p.changes == 1
    assert _first(out, "rr") <= 3 + 5


def test_a_raw_signal_with_a_pause_stays_raw():
    v = [int(500 + 100 * np.sin(i / 10)) for i in range(1000)]
    times = [i * 0.01 for i in range(500)] + [10.0 + i * 0.01 for i in range(500)]  # a 5 s gap
    p, _ = _feed(v, times)
    assert p.protocol == "raw" and p.changes == 0


def test_heart_rates_with_occasional_misfits_stay_bpm():
    lines = [72, 73, 71] + [900 if i % 5 == 0 else 72 for i in range(60)]
    p, _ = _feed(lines, range(len(lines)))
    assert p.protocol == "bpm" and p.changes == 0
