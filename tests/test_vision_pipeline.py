"""FacePipeline on real images: the astronaut portrait (frontal, eyes open), mirrored and gray."""

import cv2
import numpy as np
import pytest
from fixtures.data import shared_file

from driverwatch.errors import InputError
from driverwatch.samples import Frame
from driverwatch.vision.pipeline import FacePipeline


@pytest.fixture(scope="module")
def pipe(vision_config):
    return FacePipeline(vision_config)


@pytest.fixture(scope="module")
def astronaut():
    return cv2.imread(str(shared_file("data/image/astronaut.png")), cv2.IMREAD_COLOR)


def run(pipe, image):
    pipe.reset()
    return pipe.process(Frame(1.5, image))


def test_frontal_face_features(pipe, astronaut):
    res = run(pipe, astronaut)
    f = res.features
    assert f.face and f.t == 1.5 and f.face_score > 0.9
    # 468 mesh points, or 478 with the iris from FaceMesh V2
    assert res.landmarks.shape in ((468, 3), (478, 3)) and res.landmarks.dtype == np.float32
    # the face is in the upper middle of the portrait
    x, y, w, h = f.face_box
    assert 0.25 < x + w / 2 < 0.75 and 0.1 < y + h / 2 < 0.5 and 0.1 < w < 0.5
    # eyes open, mouth closed-ish, looking at the camera, head frontal
    assert 0.2 < f.ear_left < 0.4 and 0.2 < f.ear_right < 0.4
    assert 0.2 < f.eye_open_left < 0.5 and 0.2 < f.eye_open_right < 0.5
    assert f.mar < 0.3
    assert abs(f.yaw) < 10 and abs(f.pitch) < 10 and abs(f.roll) < 10
    assert abs(f.gaze_yaw) < 10 and abs(f.gaze_pitch) < 10
    assert f.eye_visibility_left > 0.8 and f.eye_visibility_right > 0.8
    for eye in res.eyes:
        # the iris model's 71-point refined contour, or FaceMesh V2's 16 lid points in the same order
        assert eye.contour.shape in ((71, 2), (16, 2)) and eye.iris.shape == (5, 2)
        # the iris centre lies between the eye corners
        lo, hi = sorted((eye.contour[0, 0], eye.contour[8, 0]))
        assert lo < eye.iris[0, 0] < hi
    assert set(res.timings) == {"detect", "roi", "landmarks", "iris", "blendshapes", "features"}


def test_gray_input(pipe, astronaut):
    color = run(pipe, astronaut)
    gray = run(pipe, cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY))
    assert gray.features.face
    iod = np.linalg.norm(color.landmarks[33, :2] - color.landmarks[263, :2])
    err = np.linalg.norm(gray.landmarks[:, :2] - color.landmarks[:, :2], axis=1).mean()
    assert err < 0.05 * iod


def test_mirrored_view_and_single_channel_shapes(pipe, astronaut):
    assert run(pipe, astronaut[:, ::-1]).features.face  # a negative-stride view
    assert run(pipe, cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)[:, :, None]).features.face  # HxWx1


def test_no_face_still_reports_brightness(pipe):
    res = run(pipe, np.full((480, 640, 3), 7, np.uint8))
    assert not res.features.face and res.landmarks is None and res.eyes is None
    assert res.features.ear_left is None and res.features.yaw is None
    assert res.features.brightness == pytest.approx(7, abs=0.01)


@pytest.mark.parametrize("image, match", [
    (np.zeros((0, 0, 3), np.uint8), "empty or too small"),
    (np.zeros((480, 640, 3), np.float32), "must be uint8"),
    (np.zeros((480, 640, 4), np.uint8), "HxW gray or HxWx3"),
    ("frame.png", "numpy array"),
])
def test_bad_input_is_a_clear_error(pipe, image, match):
    with pytest.raises(InputError, match=match):
        pipe.process(Frame(0.0, image))


def with_sunglasses(image, lm, luma, raised=0.0):
    """Dark lenses (flat, `luma`) over both eyes and a bridge, drawn from the eye corners and raised
    by `raised` eye widths."""
    out = image.copy()
    up = np.array([0.0, raised * np.linalg.norm(lm[33, :2] - lm[133, :2])])
    for a, b in ((33, 133), (362, 263)):
        c, w = (lm[a, :2] + lm[b, :2]) / 2 - up, np.linalg.norm(lm[a, :2] - lm[b, :2])
        cv2.ellipse(out, (int(c[0]), int(c[1])), (int(w * 0.85), int(w * 0.6)), 0, 0, 360,
                    (luma,) * 3, -1, cv2.LINE_AA)
    cv2.line(out, tuple((lm[133, :2] - up).astype(int)), tuple((lm[362, :2] - up).astype(int)), (luma,) * 3, 3)
    return out


@pytest.mark.parametrize("gray", [False, True])
def test_sunglasses_make_the_eyes_unobservable(pipe, astronaut, gray):
    lm = run(pipe, astronaut).landmarks
    img = with_sunglasses(astronaut, lm, 30)
    if gray:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    f = run(pipe, img).features
    assert f.face  # the face is still tracked...
    assert f.eye_visibility_left < 0.2 and f.eye_visibility_right < 0.2  # ...but not its eyes


def test_a_lens_whose_rim_crosses_the_eye_still_hides_it(pipe, astronaut):
    """Raised lenses leave bright skin in the lower rows of the eye patch (the mesh put a rendered
    face's lower lids on the rim): the eye is still hidden while the lens covers most of it."""
    lm = run(pipe, astronaut).landmarks
    f = run(pipe, with_sunglasses(astronaut, lm, 30, raised=0.5)).features
    assert f.face and f.eye_visibility_left < 0.2 and f.eye_visibility_right < 0.2
    f = run(pipe, with_sunglasses(astronaut, lm, 30, raised=0.8)).features  # lenses up on the brow
    assert f.eye_visibility_left > 0.8 and f.eye_visibility_right > 0.8
