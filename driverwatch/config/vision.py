from typing import Literal

from pydantic import Field

from driverwatch.config.base import OptionalPath, Section

FACE_MODELS = ("mesh-iris", "mesh-iris-blendshapes", "facemesh-v2")


class VisionConfig(Section):
    """Face detection, landmarks and per-frame features (LiteRT)."""

    face_model: Literal["mesh-iris", "mesh-iris-blendshapes", "facemesh-v2"] = Field(
        "facemesh-v2",
        title="Face model",
        description="'facemesh-v2' (default): the Face Landmarker bundle's FaceMesh V2 (256x256, 478 "
        "points incl. iris) + its blendshape model (expression scores such as eyeBlink, browDown, "
        "mouthPress, jawOpen, which the frustration-like cues need); a closed eye reads closed (lid gap "
        "<= 0.25 of open) on 7 of 11 faces measured against 1 for 'mesh-iris' (0.26-0.66 on the "
        "others; both read glasses and the gray face higher, which the per-driver closed level "
        "absorbs), at about the cost of mesh + iris. 'mesh-iris': the 468-point mesh + iris model "
        "from the mediapipe wheel, no expression scores. "
        "'mesh-iris-blendshapes': mesh-iris feeding the blendshape model (expression scores; its "
        "eyeBlink misses closures). Without the bundle the bundle options run as 'mesh-iris' and "
        "expression scores are unknown. Measured: scripts/compare_models.py, scripts/bench_vision.py.",
    )
    models_dir: OptionalPath = Field(
        None,
        title="Models directory",
        description="Where the .tflite models live (install them with `driverwatch models install`). "
        "Empty: $STATE_DIRECTORY/models under systemd, else $XDG_DATA_HOME/driverwatch/models "
        "(~/.local/share/driverwatch/models).",
    )
    num_threads: int = Field(
        2, ge=1, le=16,
        title="Inference threads",
        description="CPU threads per model invocation. 2 measured fastest per frame on a 2-core "
        "machine (landmarks 0.92 ms vs 1.28 ms on 1 thread); a Pi 4/5 has 4 cores but also runs "
        "the rest of the daemon, so 2 leaves headroom.",
    )
    driver_face: Literal["largest", "central"] = Field(
        "largest",
        title="Which face is the driver",
        description="When several faces are detected: 'largest' (the driver sits closest to a "
        "cabin camera aimed at them) or 'central' (the one nearest the image centre, for a camera "
        "that also sees passengers up close). Once chosen, the face is tracked until lost.",
    )
    min_detection_confidence: float = Field(
        0.5, gt=0, lt=1,
        title="Face detection threshold",
        description="BlazeFace score (0..1) needed to start tracking a face; 0.5 is MediaPipe's "
        "default for the short-range detector.",
    )
    min_tracking_confidence: float = Field(
        0.5, gt=0, lt=1,
        title="Face tracking threshold",
        description="Face-presence score (0..1) of the landmark model below which the face counts "
        "as lost and detection runs again; 0.5 is MediaPipe FaceMesh's default.",
    )
