"""The three face models and the `driverwatch models` command.

The models are Google's MediaPipe face models (Apache-2.0). They are not redistributed here: they
are extracted from the `mediapipe==0.10.18` wheel on PyPI (identical in every platform's wheel) or
from a wheel the user already has, and checked against pinned SHA-256 digests.
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

from driverwatch.daemon.paths import models_dir
from driverwatch.errors import ConfigError, InputError

MEDIAPIPE_VERSION = "0.10.18"
MODELS: dict[str, str] = {
    "face_detection_short_range.tflite": "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "face_landmark.tflite": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    "iris_landmark.tflite": "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
}
INSTALL_HINT = "run `driverwatch models install`"


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
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in blobs.items():
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
    verify_models(dest)
    return dest


# ---- CLI: driverwatch models {install,verify,path} ------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="models_cmd", metavar="ACTION", required=True)
    p = sub.add_parser("install", help=f"extract the face models from the mediapipe {MEDIAPIPE_VERSION} wheel")
    p.add_argument("--from-wheel", metavar="PATH", type=Path,
                   help="use this mediapipe wheel instead of downloading it from PyPI")
    p.add_argument("--dest", metavar="DIR", type=Path, help="models directory (default: from config)")
    p = sub.add_parser("verify", help="check that the models are present and intact")
    p.add_argument("--dir", metavar="DIR", type=Path, help="models directory (default: from config)")
    sub.add_parser("path", help="print the models directory")


def main(args: argparse.Namespace) -> int:
    from driverwatch.config import load_config

    configured = resolve_models_dir(load_config(args.config).vision)
    if args.models_cmd == "path":
        print(configured)
    elif args.models_cmd == "verify":
        d = args.dir or configured
        verify_models(d)
        print(f"face models OK in {d}")
    else:
        d = install_models(args.dest or configured, args.from_wheel)
        print(f"installed {len(MODELS)} face models into {d}")
    return 0
