"""The live page's server without a browser: the token, the Host check, the image only while the page
is open, the recalibrate command and the config rules (the browser test: test_web_page.py)."""

import json
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
from support.util import free_port, wait_for

from driverwatch.config import parse_config
from driverwatch.config.web import WebConfig
from driverwatch.errors import ConfigError
from driverwatch.samples import FaceFeatures, Frame
from driverwatch.sinks.web import server
from driverwatch.vision.pipeline import FaceResult

TOKEN = "s3cret-token-0123456789"


def _req(url: str, method: str = "GET", **headers) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method, headers=headers), timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture()
def page(monkeypatch):
    monkeypatch.setattr(server, "WATCH_S", 0.5)
    monkeypatch.setattr(server, "FIRST_FRAME_WAIT_S", 0.2)
    p = server.LivePage(WebConfig(enabled=True, port=free_port(), token=TOKEN)).start()
    yield p
    p.close()


def _result(t: float) -> tuple[Frame, FaceResult]:
    img = np.full((480, 640, 3), 90, np.uint8)
    ff = FaceFeatures(t=t, face=True, face_box=(0.3, 0.25, 0.4, 0.5), eye_visibility_left=1.0,
                      eye_visibility_right=1.0, yaw=2.0, pitch=-3.0, roll=0.5)
    return Frame(t, img), FaceResult(ff)


def test_token_host_and_frames_only_while_open(page):
    url = page.url
    assert _req(url)[0] == 403  # no token
    assert _req(url + "?token=wrong")[0] == 403
    status, body = _req(url + f"?token={TOKEN}")
    assert status == 200 and b"driverwatch live" in body
    # nothing offered yet: the image request says so instead of hanging
    assert _req(url + f"frame.jpg?token={TOKEN}")[0] == 503
    page.add_result(*_result(1.0))  # the page asked just now: the frame is kept
    status, jpeg = _req(url + f"frame.jpg?token={TOKEN}")
    assert status == 200
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (480, 640, 3)
    g = img[:, :, 1].astype(int)
    assert ((g > 200) & (img[:, :, 2] < 80)).sum() > 500  # the green face box
    st = json.loads(_req(url + f"api/state?token={TOKEN}")[1])
    assert st["guide"]["checks"]["centred"]["ok"] is True and st["face"]["yaw"] == 2.0
    # nobody asks for a while: frames are no longer kept (nothing to encode, nothing held)
    assert wait_for(lambda: not page.watching, 3)
    page.add_result(*_result(2.0))
    assert page._latest is None
    assert page.health()["served"] == 1


def test_recalibrate_needs_the_page_header(page):
    url = page.url + f"api/recalibrate?token={TOKEN}"
    assert _req(url, "POST")[0] == 403  # a cross-site form cannot set the header
    assert page.commands.empty()
    status, body = _req(url, "POST", **{"X-Driverwatch": "1"})
    assert status == 200 and json.loads(body)["ok"] is True
    assert page.commands.get_nowait() == {"command": "recalibrate", "source": "web"}


def test_loopback_without_token_refuses_other_host_names(monkeypatch):
    p = server.LivePage(WebConfig(enabled=True, port=free_port())).start()
    try:
        assert _req(p.url)[0] == 200
        assert _req(p.url, Host="driverwatch.attacker.example")[0] == 403
    finally:
        p.close()


def test_config_requires_a_token_off_loopback():
    with pytest.raises(ConfigError, match=r"web: .*not loopback: set a token"):
        parse_config({"web": {"enabled": True, "host": "0.0.0.0"}})
    with pytest.raises(ConfigError, match="web.token"):
        parse_config({"web": {"token": "has spaces in it!!"}})
    assert parse_config({"web": {"host": "0.0.0.0", "token": TOKEN}}).web.host == "0.0.0.0"
    assert not parse_config({}).web.enabled


def test_a_busy_port_disables_the_page_not_the_daemon(caplog):
    from driverwatch.sinks.web import build

    first = server.LivePage(WebConfig(enabled=True, port=free_port())).start()
    try:
        ctx = type("Ctx", (), {"cfg": parse_config({"web": {"enabled": True, "port": first.cfg.port}})})()
        assert build(ctx) is None
        assert "live page: cannot listen on 127.0.0.1" in caplog.text
    finally:
        first.close()
