"""Configuration: defaults run, unknown keys and bad values fail with their key path, and the
documented default file in config/ is exactly what the models generate."""


import pytest
from support.util import run_cli

from driverwatch.config import Config, load_config, parse_config
from driverwatch.config.document import render_default_config
from driverwatch.errors import ConfigError


def test_committed_default_config_is_generated_from_the_models(repo_dir):
    committed = (repo_dir / "config" / "driverwatch.toml").read_text()
    assert committed == render_default_config(), "run: driverwatch config default > config/driverwatch.toml"


def test_default_file_parses_to_the_defaults(repo_dir):
    assert load_config(repo_dir / "config" / "driverwatch.toml") == Config()


def test_empty_config_is_valid(tmp_path):
    f = tmp_path / "empty.toml"
    f.write_text("")
    assert load_config(f) == Config()


def test_unknown_key_is_rejected_with_its_path():
    with pytest.raises(ConfigError) as err:
        parse_config({"camera": {"widht": 640}}, "x.toml")
    assert "camera.widht: unknown key" in str(err.value)


def test_bad_value_names_the_key_path():
    with pytest.raises(ConfigError) as err:
        parse_config({"camera": {"fps": -5}}, "x.toml")
    assert "camera.fps" in str(err.value) and "greater than 0" in str(err.value)


def test_every_field_is_documented():
    missing = []

    def walk(model_cls, path):
        for name, field in model_cls.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, Config.__mro__[1]):  # a Section
                walk(ann, f"{path}{name}.")
            elif not field.description:
                missing.append(path + name)

    walk(Config, "")
    assert not missing, f"fields without a description: {missing}"


@pytest.mark.parametrize(
    "content, expected",
    [
        ("[camera\nwidth = 3", "not valid TOML"),
        ("[monitor]\nno_such_setting = 1", "monitor.no_such_setting: unknown key"),
        ("[daemon]\nvehicle_id = 'has spaces'", "daemon.vehicle_id"),
    ],
)
def test_cli_invalid_config_is_one_line_and_exit_78(tmp_path, content, expected):
    f = tmp_path / "bad.toml"
    f.write_text(content)
    proc = run_cli("-c", str(f), "config", "validate")
    assert proc.returncode == 78
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in proc.stderr


def test_cli_missing_config_file(tmp_path):
    proc = run_cli("-c", str(tmp_path / "nope.toml"), "config", "validate")
    assert proc.returncode == 78 and "config file not found" in proc.stderr


@pytest.mark.parametrize(
    "content, expected",
    [
        ("[monitor.eyes]\nsleep_s = inf", "monitor.eyes.sleep_s: Input should be a finite number"),
        ("[monitor.eyes]\nmicrosleep_s = nan", "monitor.eyes.microsleep_s"),
        ('[daemon]\nstate_dir = "/var/lib/a\\u0000b"', "daemon.state_dir: Value error, a path cannot contain a NUL"),
        ('[daemon]\nlog_dir = "x\\u0000"', "daemon.log_dir"),
        ("[mqtt]\nsession_expiry_s = 99999999999", "mqtt.session_expiry_s: Input should be less than or equal to 4294967295"),
        ('[mqtt]\nhost = "broker\\u0000"', "mqtt.host"),
        ("a = " + "[" * 5000 + "]" * 5000, "nested too deeply"),
        ("x = " + "{ a = " * 40 + "1" + " }" * 40, "nested deeper than"),
        ("[monitor.attention]\nvats_window_s = 5", "vats_window_s must be >= vats_total_s"),
        ("version = 99", "version: Input should be less than or equal to"),
    ],
)
def test_configs_that_would_crash_or_switch_an_alarm_off_are_rejected(tmp_path, content, expected):
    f = tmp_path / "bad.toml"
    f.write_text(content)
    proc = run_cli("-c", str(f), "config", "validate")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 78, proc.stderr
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in proc.stderr, proc.stderr


# Alarm times with their regulatory ceilings: no config may set them so high that the alarm is off.
SAFETY_CEILINGS = {
    ("eyes", "long_blink_s"): 1.0, ("eyes", "microsleep_s"): 3.0, ("eyes", "sleep_s"): 6.0,
    ("attention", "long_glance_s"): 6.0, ("attention", "vats_total_s"): 10.0,
    ("attention", "unresponsive_s"): 10.0, ("attention", "face_missing_s"): 10.0,
    ("attention", "min_speed_kmh"): 20.0, ("alerts", "warning_after_s"): 10.0,
    ("alerts", "critical_after_s"): 10.0,
}


@pytest.mark.parametrize("section, key", sorted(SAFETY_CEILINGS))
def test_safety_thresholds_have_regulatory_ceilings(section, key):
    ceiling = SAFETY_CEILINGS[(section, key)]
    with pytest.raises(ConfigError, match=f"monitor.{section}.{key}"):
        parse_config({"monitor": {section: {key: ceiling * 10}}})
    with pytest.raises(ConfigError, match="long_glance_bands"):
        parse_config({"monitor": {"attention": {"long_glance_bands": [{"from_kmh": 20, "glance_s": 60}]}}})


def test_empty_paths_mean_the_documented_default(tmp_path):
    cfg = parse_config({"mqtt": {"outbox": {"path": ""}}, "daemon": {"state_dir": "", "log_dir": " "}})
    assert cfg.mqtt.outbox.path is None and cfg.daemon.state_dir is None and cfg.daemon.log_dir is None


def test_an_old_config_is_migrated_with_a_warning(tmp_path, caplog):
    """Version 1 kept the stress rules under [heart.stress]; they are [monitor.stress] now."""
    cfg = parse_config({"heart": {"stress": {"min_quality": 0.9}}})
    assert cfg.monitor.stress.min_quality == 0.9 and cfg.version == 2
    assert "heart.stress is now monitor.stress" in caplog.text
    with pytest.raises(ConfigError, match="both heart.stress and its new name monitor.stress"):
        parse_config({"heart": {"stress": {}}, "monitor": {"stress": {}}})
    with pytest.raises(ConfigError, match="heart.stress: unknown key"):
        parse_config({"version": 2, "heart": {"stress": {"min_quality": 0.9}}})
