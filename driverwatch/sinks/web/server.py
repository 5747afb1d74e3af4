"""The live page's server: aiohttp on its own thread and event loop.

Why aiohttp: a small, well-kept server that does HTTP/1.1 keep-alive, routing, middleware and
clean shutdown, so this module holds only the page's logic; it is imported only when `[web]` is on.

Cost off the frame loop: the loop hands over the newest frame, landmarks and features *by
reference* (`offer`, one assignment) and only while a page has asked for something in the last
few seconds; scaling, drawing and JPEG encoding happen here, on request, paced to `max_fps`. The
page fetches one JPEG at a time (the next when the last has arrived), so a slow link or a hidden
tab costs nothing and nothing is queued. Frames are served with `Cache-Control: no-store` and are
never written anywhere.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import queue
import threading
import time
from collections import deque
from importlib import resources

import cv2

from driverwatch.config.web import WebConfig, is_loopback
from driverwatch.errors import DeviceError
from driverwatch.sinks.web import overlay

log = logging.getLogger(__name__)

WATCH_S = 3.0  # a page that asked for nothing for this long is closed: no more frames handed over
FIRST_FRAME_WAIT_S = 1.5  # a frame request right after the page opened waits this long for one
JPEG_QUALITY = 75
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


class LivePage:
    """The page and its data. The daemon's loop calls `offer`, `publish` and `handle` (cheap, never
    blocking) and drains `commands`; everything else runs on the page's thread."""

    def __init__(self, cfg: WebConfig):
        self.cfg = cfg
        self.commands: queue.Queue = queue.Queue(maxsize=8)
        self.events: deque[dict] = deque(maxlen=12)
        self._latest = None  # (image, landmarks, eyes, features), the loop's own objects
        self._state: dict | None = None
        self._seen = -1e9  # monotonic time of the page's last request
        self._last_encode = 0.0
        self.images = 0
        self.requests = 0
        self.frames = 0
        self._fps = (time.monotonic(), 0, None)  # (since, frames then, last rate)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: str | None = None

    # -- the frame loop's side: cheap and non-blocking --------------------------------------------
    @property
    def watching(self) -> bool:
        return time.monotonic() - self._seen < WATCH_S

    def add_result(self, frame, result) -> None:
        """Each processed frame and what vision found in it: kept by reference (nothing copied or
        encoded here), and only while the page is open."""
        self.frames += 1
        if time.monotonic() - self._seen < WATCH_S:
            self._latest = (frame.image, result.landmarks, result.eyes, result.features)
        elif self._latest is not None:
            self._latest = None

    def publish_state(self, snapshot: dict) -> None:
        self._state = snapshot

    def handle(self, event) -> None:
        if event.kind == "blink" or event.type == "update":
            return
        span = None if event.t_end is None else round(event.t_end - event.t_start, 2)
        self.events.appendleft({"t": round(event.t, 2), "type": event.type, "kind": event.kind,
                                "severity": event.severity, "duration_s": span, "time": time.strftime("%H:%M:%S")})

    def command_result(self, cmd: dict, applied: dict | None = None) -> None:
        """The daemon applied a command from this page (the page's request was answered already)."""
        log.info("live page: %s applied", cmd.get("command"))

    @property
    def url(self) -> str:
        host = f"[{self.cfg.host}]" if ":" in self.cfg.host else self.cfg.host
        return f"http://{host}:{self.cfg.port}/"

    def health(self) -> dict:
        return {"url": self.url, "watching": self.watching, "served": self.images}

    def fps(self) -> float | None:
        """Processed frames per second over the last few seconds (computed on request)."""
        since, n, rate = self._fps
        now = time.monotonic()
        if now - since >= 2.0:
            rate = round((self.frames - n) / (now - since), 1)
            self._fps = (now, self.frames, rate)
        return rate

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> LivePage:
        """Bind and serve; DeviceError (one line) when the address cannot be bound."""
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error:
            raise DeviceError(f"live page: cannot listen on {self.cfg.host}:{self.cfg.port}: {self._error}")
        return self

    def close(self) -> None:
        if self._loop and self._thread and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        self._latest = None

    def _run(self) -> None:
        from aiohttp import web

        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(self._app(), access_log=None, handle_signals=False, shutdown_timeout=0.5)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, self.cfg.host, self.cfg.port).start())
        except OSError as err:
            self._error = err.strerror or str(err)
            self._ready.set()
            loop.run_until_complete(runner.cleanup())
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    # -- the page's side -------------------------------------------------------------------------------
    def _app(self):
        from aiohttp import web

        page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")

        @web.middleware
        async def guard(request, handler):
            if self.cfg.token:
                given = request.query.get("token") or request.headers.get("X-Driverwatch-Token", "")
                if not hmac.compare_digest(given.encode(), self.cfg.token.encode()):
                    raise web.HTTPForbidden(text="driverwatch: open the page as /?token=<web.token>\n")
            elif not is_loopback(request.url.host or ""):
                # bound to loopback without a token: refuse other Host names (DNS rebinding)
                raise web.HTTPForbidden(text="driverwatch: open the page as http://127.0.0.1:<port>/\n")
            self.requests += 1
            self._seen = time.monotonic()
            return await handler(request)

        async def index(_request):
            return web.Response(text=page, content_type="text/html", headers={
                **NO_STORE, "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                "script-src 'self' 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'"})

        async def frame(_request):
            wait = self._last_encode + 1.0 / self.cfg.max_fps - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            end = time.monotonic() + FIRST_FRAME_WAIT_S
            while self._latest is None and time.monotonic() < end:
                await asyncio.sleep(0.03)
            latest = self._latest
            if latest is None:
                return web.Response(status=503, text="no camera frame yet\n", headers=NO_STORE)
            image, landmarks, eyes, feats = latest
            self._last_encode = time.monotonic()
            pic = overlay.render(image, landmarks, eyes, feats.face_box, self.cfg.width)
            ok, jpeg = cv2.imencode(".jpg", pic, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if not ok:
                return web.Response(status=500, text="JPEG encoding failed\n", headers=NO_STORE)
            self.images += 1
            return web.Response(body=jpeg.tobytes(), content_type="image/jpeg", headers=NO_STORE)

        async def state(_request):
            return web.Response(text=json.dumps(_finite(self.page_state())), content_type="application/json",
                                headers=NO_STORE)

        async def recalibrate(request):
            if request.headers.get("X-Driverwatch") != "1":  # a custom header: no cross-site form posts
                raise web.HTTPForbidden(text="driverwatch: missing X-Driverwatch header\n")
            try:
                self.commands.put_nowait({"command": "recalibrate", "source": "web"})
            except queue.Full:
                return web.json_response({"ok": False, "error": "busy: try again"}, status=503, headers=NO_STORE)
            return web.json_response({"ok": True}, headers=NO_STORE)

        app = web.Application(middlewares=[guard], client_max_size=4096)
        app.add_routes([web.get("/", index), web.get("/frame.jpg", frame), web.get("/api/state", state),
                        web.post("/api/recalibrate", recalibrate)])
        return app

    def page_state(self) -> dict:
        """What the page shows besides the image (JSON-safe)."""
        latest = self._latest
        face = guide = None
        if latest is not None:
            image, _lm, _eyes, feats = latest
            face = overlay.readout(feats)
            guide = overlay.guide(feats, image.shape, overlay.face_luma(image, feats.face_box))
        return {"state": self._state, "face": face, "guide": guide, "events": list(self.events),
                "fps": self.fps(), "max_fps": self.cfg.max_fps}


def _finite(v):
    """NaN and infinities as null: the browser's JSON.parse rejects them."""
    if isinstance(v, float):
        return v if v == v and abs(v) != float("inf") else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v
