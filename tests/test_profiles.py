"""Driver profiles: what a drive learnt (resting heart, neutral face, eye levels) kept per driver on
the device, applied to the next drive, with a retention limit, `profiles list|forget` and `set/driver`."""

from __future__ import annotations

import pytest
from support.util import run_cli
from test_affect import drive

from driverwatch.config import Config
from driverwatch.daemon.wiring import Pipeline
from driverwatch.errors import UsageError
from driverwatch.profiles import DriverProfiles, ProfileStore
from driverwatch.samples import HeartFeatures
from driverwatch.sinks.commands import CommandError, parse_command


def calm(t):
    return HeartFeatures(t=t, hr=62.0, rmssd=70.0, quality=1.0)


@pytest.fixture(scope="module")
def learned():
    _, m = drive(duration=150.0, heart=calm, fps=10.0, finish=False)
    return m.learned_profile()


def test_a_drive_learns_what_a_profile_holds(learned):
    assert learned["heart"] == {"hr": 62.0, "rmssd": 70.0}
    assert set(learned["face"]) >= {"brow_down", "lip_press", "jaw", "smile"}
    assert learned["eyes"]["eye_open_left"] == pytest.approx(0.3, abs=0.01)


def test_the_next_drive_starts_from_the_profile(tmp_path, learned):
    store = ProfileStore(tmp_path)
    store.save("anna", learned)
    cfg = Config.model_validate({"profiles": {"driver": "anna", "dir": str(tmp_path)}})
    p = Pipeline(cfg, "d2")
    assert DriverProfiles(cfg, store).apply(p)
    m = p.monitor
    assert m._stress.calibrated and m._stress.baseline_source == "profile"
    assert m.snapshot()["affect"]["frustration_like"]["neutral"] == "profile"
    assert m.calib.eye_level("eye_open_left") is None  # until a second of face, as without a profile
    # a racing heart is judged at once against the stored rest, no 2 min of calibration first
    ev = []
    for t in range(60):
        ev += p.heart(HeartFeatures(t=float(t), hr=90.0, rmssd=25.0, quality=1.0))
    st = [e for e in ev if e.kind == "stress"]
    assert st and st[0].evidence["heart"]["baseline_source"] == "profile" and st[0].t < 40


def test_store_merges_drives_and_forgets_by_age_and_count(tmp_path):
    now = [1_000_000.0]
    store = ProfileStore(tmp_path, retention_days=30, max_drivers=2, clock=lambda: now[0])
    for hr in (60.0, 70.0, 64.0):
        prof = store.save("anna", {"heart": {"hr": hr, "rmssd": 50.0}, "face": None, "eyes": None})
    assert prof["drives"] == 3 and prof["heart"]["hr"] == 64.0  # the median of the drives' resting rates
    now[0] += 10
    store.save("ben", {"heart": None, "face": {"brow_down": 0.1}, "eyes": None})
    now[0] += 10
    store.save("cleo", {"heart": None, "face": None, "eyes": None})
    assert [d["driver"] for d in store.list()] == ["cleo", "ben"]  # anna, least recently used, is gone
    now[0] += 31 * 86400
    assert store.load("ben") is None and store.list() == []  # past the retention time
    with pytest.raises(UsageError):
        store.load("../etc/passwd")


def test_profiles_cli_lists_and_forgets(tmp_path, learned):
    ProfileStore(tmp_path / "p").save("anna", learned)
    ProfileStore(tmp_path / "p").save("ben", {"heart": None, "face": None, "eyes": None})
    conf = tmp_path / "c.toml"
    conf.write_text(f'[profiles]\ndir = "{tmp_path / "p"}"\n')
    out = run_cli("-c", conf, "profiles", "list", check=True).stdout
    assert "anna" in out and "heart, face, eyes" in out and "ben" in out
    assert run_cli("-c", conf, "profiles", "forget", "anna", check=True).stdout.strip() == "forgot anna"
    assert "anna" not in run_cli("-c", conf, "profiles", "list", check=True).stdout
    assert run_cli("-c", conf, "profiles", "forget", "nobody").returncode == 1
    run_cli("-c", conf, "profiles", "forget", "--all", check=True)
    assert "no driver profiles" in run_cli("-c", conf, "profiles", "list", check=True).stdout


def test_set_driver_command_switches_profiles(tmp_path, learned):
    assert parse_command("driver", b'{"driver": "anna"}') == {"command": "driver", "driver": "anna", "id": None}
    assert parse_command("driver", b'{"driver": null}')["driver"] is None
    for bad in (b'{"driver": "a/b"}', b'{"driver": 3}', b'{"who": "anna"}'):
        with pytest.raises(CommandError):
            parse_command("driver", bad)
    store = ProfileStore(tmp_path)
    store.save("anna", learned)
    cfg = Config.model_validate({"profiles": {"dir": str(tmp_path)}})
    profiles = DriverProfiles(cfg, store)
    p = Pipeline(cfg, "d")
    assert profiles.switch(p, 5.0, "anna") == {"driver": "anna", "profile": True}
    assert p.monitor._stress.baseline_hr == 62.0
    assert profiles.switch(p, 9.0, "ben") == {"driver": "ben", "profile": False}  # ben has none yet
    assert not p.monitor._stress.calibrated  # ben's heart is learnt afresh
    assert store.load("anna")["drives"] == 1  # 4 s at the wheel taught nothing: anna's profile unchanged
