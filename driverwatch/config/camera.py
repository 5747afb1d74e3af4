from typing import Literal

from pydantic import Field

from driverwatch.config.base import Section


class CameraConfig(Section):
    """The cabin camera (OpenCV / V4L2)."""

    device: int | str = Field(
        0, title="Device", description="Camera index (0 = /dev/video0), a device path, or a video file / URL."
    )
    width: int = Field(640, gt=0, title="Width", description="Requested frame width in pixels.")
    height: int = Field(480, gt=0, title="Height", description="Requested frame height in pixels.")
    fps: float = Field(30.0, gt=0, le=240, title="Frame rate", description="Requested frames per second.")
    loop: bool = Field(
        False, title="Loop a video file",
        description="With a video file as the device: play it again from the start when it ends (a bench "
                    "stand-in that lasts, e.g. for the heart's calibration); timestamps keep rising.",
    )
    backend: Literal["auto", "v4l2"] = Field(
        "auto", title="Backend", description="OpenCV capture backend; 'v4l2' forces Video4Linux2 on Linux."
    )
