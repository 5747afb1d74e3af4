import ipaddress

from pydantic import Field, model_validator

from driverwatch.config.base import Section


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebConfig(Section):
    """The local live page for installers and bench testers: the camera image with the face the
    monitor sees, an alignment guide, the live driver state and a recalibrate button. Frames go only
    to this page, only while it is open; they are never stored or sent over MQTT."""

    enabled: bool = Field(
        False, title="Enabled",
        description="Serve the live page at http://<host>:<port>/. Off by default: a vehicle in service "
        "needs no page; turn it on to aim the camera or to watch a bench test.",
    )
    host: str = Field(
        "127.0.0.1", min_length=1, max_length=253, pattern=r"^[A-Za-z0-9_.:-]+$", title="Address",
        description="Address to listen on. Loopback by default, so only this computer can see the camera; "
        "any other address (e.g. 0.0.0.0 for a laptop on the car's Wi-Fi) requires `token`.",
    )
    port: int = Field(8470, ge=1, le=65535, title="Port", description="TCP port of the page.")
    token: str = Field(
        "", max_length=200, pattern=r"^[A-Za-z0-9_.~-]*$", title="Access token",
        description="Required (at least 16 characters) when `host` is not loopback: open the page as "
        "http://<host>:<port>/?token=<token>. Letters, digits and _ . ~ - only (it travels in the URL).",
    )
    max_fps: float = Field(
        10.0, gt=0, le=30, title="Image rate",
        description="At most this many camera images per second to the page. 10 is smooth enough to aim a "
        "camera; each image is encoded (JPEG) on the page's own thread, never in the frame loop.",
    )
    width: int = Field(
        640, ge=160, le=1920, title="Image width",
        description="The page's image is scaled down to at most this many pixels wide (less to encode and send).",
    )

    @model_validator(mode="after")
    def _token_off_loopback(self):
        if not is_loopback(self.host) and len(self.token) < 16:
            raise ValueError(f"host {self.host!r} is not loopback: set a token of at least 16 characters "
                             "(anyone on the network could otherwise watch the camera)")
        return self
