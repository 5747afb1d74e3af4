"""Expression scores: MediaPipe's face_blendshapes.tflite (in the Face Landmarker bundle).

Input: x, y in image pixels of 146 of the 478 face-mesh points (468 mesh + 10 iris), in
MediaPipe's order (face_blendshapes_graph.cc, kLandmarksSubsetIdxs); the model normalises them
itself, so only their shape matters. Output: 52 scores 0..1 (sigmoid applied) named as in ARKit.
"""

from __future__ import annotations

import numpy as np

from driverwatch.vision.litert import Model

INPUT_INDICES = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70,
    78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146, 148,
    149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173, 176, 178, 181, 185,
    191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295,
    296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362,
    365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400,
    402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
)
NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
    "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft",
    "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)
# The scores FaceFeatures.blendshapes carries (what the eyes / drowsiness and affect stages use).
# "Left"/"Right" are the driver's, as everywhere in driverwatch (MediaPipe names them so too:
# eyeBlinkLeft follows the eye of mesh points 263/362).
USED = (
    "eyeBlinkLeft", "eyeBlinkRight",  # lid closure (drowsiness)
    "eyeSquintLeft", "eyeSquintRight", "cheekSquintLeft", "cheekSquintRight",  # laughing, squeezing
    "eyeLookDownLeft", "eyeLookDownRight",  # a look at the instruments is not a closure
    "eyeWideLeft", "eyeWideRight",
    "browDownLeft", "browDownRight", "browInnerUp",  # brow lowering (stress cue)
    "mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper",  # lip pressing
    "noseSneerLeft", "noseSneerRight",
    "jawOpen", "mouthClose",  # yawns, talking
    "mouthSmileLeft", "mouthSmileRight",  # laughing
)
_USED_IDX = np.array([NAMES.index(n) for n in USED])
_INPUT = np.array(INPUT_INDICES)
N_POINTS = 478  # 468 mesh + 5 iris points per eye (468-472 driver's right, 473-477 driver's left)


class BlendshapeModel:
    def __init__(self, model, num_threads: int = 2):
        """`model`: a .tflite path or (name, bytes) from the bundle."""
        self.model = Model(model, num_threads)
        (self._out,) = self.model.outputs.values()

    def scores(self, points: np.ndarray) -> np.ndarray:
        """All 52 scores (NAMES order) from (478, 2+) image-pixel points."""
        interp = self.model.interp
        interp.set_tensor(self.model.input_index, points[_INPUT, :2].astype(np.float32)[None])
        interp.invoke()
        return interp.get_tensor(self._out)

    def __call__(self, points: np.ndarray) -> dict[str, float]:
        """The USED scores by name, rounded to 1e-4 (far below the model's noise; short frame files)."""
        return dict(zip(USED, np.round(self.scores(points)[_USED_IDX].astype(np.float64), 4).tolist(),
                        strict=True))
