"""A camera stand-in: an MJPEG-over-HTTP stream (like an IP camera) that a test can cut and restore.

Run: python mjpeg_server.py PORT VIDEO [FPS]. Serves the video's frames in a loop at FPS as
multipart/x-mixed-replace JPEGs. Killing the process is "unplugging" the camera.
"""

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2


def load_jpegs(path: str, limit: int = 300) -> list[bytes]:
    cap = cv2.VideoCapture(path)
    out = []
    while len(out) < limit:
        ok, img = cap.read()
        if not ok:
            break
        img = cv2.resize(img, (640, 480))
        out.append(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
    if not out:  # a single image
        img = cv2.resize(cv2.imread(path), (640, 480))
        out.append(cv2.imencode(".jpg", img)[1].tobytes())
    return out


def main() -> None:
    port, video = int(sys.argv[1]), sys.argv[2]
    fps = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    frames = load_jpegs(video)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            i = 0
            next_t = time.monotonic()
            try:
                while True:
                    jpg = frames[i % len(frames)]
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                                     + str(len(jpg)).encode() + b"\r\n\r\n" + jpg + b"\r\n")
                    i += 1
                    next_t += 1.0 / fps
                    time.sleep(max(0.0, next_t - time.monotonic()))
            except (BrokenPipeError, ConnectionResetError):
                pass

    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
