"""The face models and the `driverwatch models` command.

The models are Google's MediaPipe face models (Apache-2.0). They are not redistributed here:
- the three required ones are extracted from the `mediapipe==0.10.18` wheel on PyPI (identical in
  every platform's wheel) or from a wheel the user already has;
- the optional Face Landmarker bundle (FaceMesh V2 and the blendshape model: expression scores) is
  downloaded from Google's model storage or copied from a file the user has (`--from-file`).
All are checked against pinned SHA-256 digests.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from driverwatch.errors import ConfigError, InputError
from driverwatch.paths import models_dir

MEDIAPIPE_VERSION = "0.10.18"
MODELS: dict[str, str] = {
    "face_detection_short_range.tflite": "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "face_landmark.tflite": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    "iris_landmark.tflite": "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
}
INSTALL_HINT = "run `driverwatch models install`"

BUNDLE = "face_landmarker.task"
BUNDLE_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
BUNDLE_URL = ("https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/"
              "float16/1/face_landmarker.task")
BUNDLE_MEMBERS = ("face_landmarks_detector.tflite", "face_blendshapes.tflite")
BUNDLE_HINT = ("run `driverwatch models install` (with internet) or "
               "`driverwatch models install --from-file face_landmarker.task`")


def resolve_models_dir(cfg=None) -> Path:
    """`VisionConfig.models_dir`, else $STATE_DIRECTORY/models (systemd), else
    $XDG_DATA_HOME/driverwatch/models (default ~/.local/share/driverwatch/models)."""
    return models_dir(cfg.models_dir if cfg is not None else None)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_models(models_dir: Path) -> None:
    """Raise ConfigError naming the first missing or corrupt model and how to install it."""
    models_dir = Path(models_dir)
    for name, digest in MODELS.items():
        path = models_dir / name
        if not path.is_file():
            raise ConfigError(f"face model {name} missing in {models_dir}: {INSTALL_HINT}")
        if sha256_file(path) != digest:
            raise ConfigError(f"face model {path} is corrupt (SHA-256 mismatch): {INSTALL_HINT}")


def load_bundle(models_dir: Path) -> dict[str, bytes] | None:
    """The bundle's models by file name, None when it is not installed; ConfigError when corrupt."""
    path = Path(models_dir) / BUNDLE
    if not path.is_file():
        return None
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != BUNDLE_SHA256:
        raise ConfigError(f"face model bundle {path} is corrupt (SHA-256 mismatch): {BUNDLE_HINT}")
    return _bundle_members(data, str(path))


def _bundle_members(data: bytes, where: str) -> dict[str, bytes]:
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return {name: zf.read(name) for name in BUNDLE_MEMBERS}
    except (zipfile.BadZipFile, KeyError) as err:
        raise ConfigError(f"{where} is not a Face Landmarker bundle ({err})") from None


def install_bundle(dest: Path | None = None, from_file: Path | None = None, url: str = BUNDLE_URL,
                   timeout: float = 60.0) -> Path:
    """Copy `from_file`, or download `url`, into `dest` after checking the pinned SHA-256."""
    dest = Path(dest) if dest is not None else resolve_models_dir()
    if from_file is not None:
        try:
            data = Path(from_file).read_bytes()
        except OSError as err:
            raise InputError(f"cannot read {from_file}: {err.strerror or err}") from None
        where = str(from_file)
    else:
        import urllib.request

        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                data = resp.read()
        except (OSError, ValueError) as err:
            raise InputError(f"could not download {url} ({getattr(err, 'reason', None) or err}); "
                             "pass a copy with `driverwatch models install --from-file PATH`") from None
        where = url
    if hashlib.sha256(data).hexdigest() != BUNDLE_SHA256:
        raise InputError(f"{where} does not match the pinned SHA-256 of {BUNDLE} (float16 v1)")
    _bundle_members(data, where)
    _write_atomic(dest, BUNDLE, data)
    return dest / BUNDLE


def _write_atomic(dest: Path, name: str, data: bytes) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(dir=dest, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, dest / name)
    except BaseException:
        Path(tmp_path).unlink(missing_ok=True)
        raise


def download_wheel(dest: Path) -> Path:
    """Download the mediapipe wheel with pip (the host platform does not matter: the models
    are the same in every wheel, so ask for a fixed one that exists)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--platform", "manylinux2014_x86_64", "--python-version", "3.11",
           "--implementation", "cp", "--abi", "cp311", "--disable-pip-version-check",
           "-d", str(dest), f"mediapipe=={MEDIAPIPE_VERSION}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("mediapipe-*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InputError(f"could not download mediapipe=={MEDIAPIPE_VERSION} from PyPI ({tail[0]}); "
                         "pass a downloaded wheel with `driverwatch models install --from-wheel PATH`")
    return wheels[0]


def install_models(dest: Path | None = None, from_wheel: Path | None = None) -> Path:
    """Extract the models from a mediapipe wheel (downloaded from PyPI when `from_wheel` is None)
    into `dest`, verifying each digest; every file is written atomically (temp file + rename)."""
    dest = Path(dest) if dest is not None else resolve_models_dir()
    with tempfile.TemporaryDirectory(prefix="driverwatch-models-") as tmp:
        wheel = Path(from_wheel) if from_wheel is not None else download_wheel(Path(tmp))
        try:
            zf = zipfile.ZipFile(wheel)
        except FileNotFoundError:
            raise InputError(f"wheel not found: {wheel}") from None
        except (zipfile.BadZipFile, IsADirectoryError, PermissionError) as err:
            raise InputError(f"not a readable wheel (zip) file: {wheel} ({err})") from None
        with zf:
            members = {Path(n).name: n for n in zf.namelist() if n.startswith("mediapipe/modules/")}
            blobs = {}
            for name, digest in MODELS.items():
                if name not in members:
                    raise InputError(f"{wheel} has no mediapipe/modules/.../{name}: "
                                     f"is it a mediapipe {MEDIAPIPE_VERSION} wheel?")
                data = zf.read(members[name])
                if hashlib.sha256(data).hexdigest() != digest:
                    raise InputError(f"{name} in {wheel} does not match its pinned SHA-256 "
                                     f"(need mediapipe {MEDIAPIPE_VERSION})")
                blobs[name] = data
    for name, data in blobs.items():
        _write_atomic(dest, name, data)
    verify_models(dest)
    return dest


# ---- CLI: driverwatch models {install,verify,path} ------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="models_cmd", metavar="ACTION", required=True)
    p = sub.add_parser("install", help=f"install what is missing: the face models from the mediapipe "
                       f"{MEDIAPIPE_VERSION} wheel, the Face Landmarker bundle from its URL or a file")
    p.add_argument("--from-wheel", metavar="PATH", type=Path,
                   help="use this mediapipe wheel instead of downloading it from PyPI (reinstalls)")
    p.add_argument("--from-file", metavar="PATH", type=Path,
                   help=f"install this copy of {BUNDLE} instead of downloading it (reinstalls)")
    p.add_argument("--bundle-url", metavar="URL", default=BUNDLE_URL,
                   help="where to download the bundle from (default: Google's model storage)")
    p.add_argument("--dest", metavar="DIR", type=Path, help="models directory (default: from config)")
    p = sub.add_parser("verify", help="check that the models are present and intact")
    p.add_argument("--dir", metavar="DIR", type=Path, help="models directory (default: from config)")
    sub.add_parser("path", help="print the models directory")


def main(args: argparse.Namespace) -> int:
    from driverwatch.config import load_config

    vision = load_config(args.config).vision
    configured = resolve_models_dir(vision)
    if args.models_cmd == "path":
        print(configured)
    elif args.models_cmd == "verify":
        d = args.dir or configured
        verify_models(d)
        bundle = load_bundle(d)
        if bundle is None:
            print(f"face models OK in {d}; {BUNDLE} not installed: expression scores unknown, "
                  f"face_model {vision.face_model!r} runs as 'mesh-iris' ({BUNDLE_HINT})")
        else:
            print(f"face models OK in {d}, with {BUNDLE}")
    else:
        d = args.dest or configured
        try:
            if args.from_wheel is not None:
                raise ConfigError("reinstall")
            verify_models(d)
            print(f"face models already installed in {d}")
        except ConfigError:
            install_models(d, args.from_wheel)
            print(f"installed {len(MODELS)} face models into {d}")
        try:
            if args.from_file is None and load_bundle(d) is not None:
                print(f"{BUNDLE} already installed in {d}")
                return 0
        except ConfigError:
            pass  # corrupt: reinstall
        try:
            path = install_bundle(d, args.from_file, args.bundle_url)
        except InputError as err:
            if args.from_file is not None:
                raise
            print(f"warning: {err}; without {BUNDLE} expression scores are unknown", file=sys.stderr)
            return 0
        print(f"installed {BUNDLE} into {path.parent}")
    return 0
