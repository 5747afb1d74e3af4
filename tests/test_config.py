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
