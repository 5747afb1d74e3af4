"""Frame rendering: the face mesh posed and deformed by a `State`, seen by a pinhole camera.

Per frame: deform the mesh (lids, jaw) in the head frame, rotate it (yaw, pitch, roll about a
pivot behind the face), project it, cull back faces, paint the triangles' ids far-to-near into an
id buffer (painter's order, so a turned head hides its far side), then fetch every face pixel's
texel through its triangle's affine map in one `cv2.remap`. Eyeballs (iris moved for gaze) and the
mouth interior are drawn first and show through the mesh's holes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from driverwatch.sources.scenario import face as fm

RENDERER_VERSION = "8"
FACE_WIDTH_CM = 14.0
# A full yawn: the jaw rotates ~25 degrees (incisal opening ~45 mm), the lip corners draw in
# towards an oval (~30 % narrower), the upper lip lifts a few mm. Speech opens the jaw a little
# and keeps the corners, so the pinch grows with jaw**2 (negligible at speech-sized openings).
JAW_MAX_DEG = 20.0
JAW_PIVOT = (3.8, -6.0)  # jaw joints: cm above the lip line, cm behind the canonical origin
JAW_SLIDE_CM = np.array([0.0, -0.6, 1.2])  # the mandible's slide (down, forward) at jaw = 1
LIP_PINCH = 0.3  # share of the mouth's half-width the corners move in at jaw = 1
LIP_LIFT_CM = 0.5  # upper lip rise at jaw = 1
NOISE_BANK = 6  # noise fields per renderer, each frame takes one at a random offset
MOUTH_BGR, TONGUE_BGR, TEETH_BGR = (22, 16, 34), (38, 34, 78), (170, 180, 190)
PIVOT = np.array([0.0, -3.0, -3.0])  # head rotation centre (cm, canonical frame): behind the face


@dataclass(slots=True)
class State:
    """What the driver does at one instant (the ground truth of a frame)."""

    closure_left: float = 0.0  # 0 open .. 1 closed (driver's left eye)
    closure_right: float = 0.0
    jaw: float = 0.0  # 0 closed .. 1 wide open (yawn)
    yaw: float = 0.0  # degrees, + = to the driver's left
    pitch: float = 0.0  # + = up
    roll: float = 0.0  # + = tilt to the driver's left
    gaze_yaw: float = 0.0  # eye-in-head, degrees
    gaze_pitch: float = 0.0
    tx: float = 0.0  # head position, cm: + = driver's left (image right), up, towards the camera
    ty: float = 0.0
    tz: float = 0.0
    shades: float = 0.0  # 1 = sunglasses on
    brightness: float = 1.0  # scene gain
    # expressions, 0 .. 1 (FACS action units; the blendshape the face model reports in brackets)
    brow: float = 0.0  # AU4 brow lowerer: brows down and together (browDownLeft/Right)
    press: float = 0.0  # AU24 lip presser: lips pressed thin (mouthPressLeft/Right)
    sneer: float = 0.0  # AU9 nose wrinkler: nose wings and upper lip up, brows a little down (noseSneer*)
    smile: float = 0.0  # AU12 + AU6: lip corners up and out, cheeks up (mouthSmileLeft/Right, cheekSquint*)


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = (math.radians(a) for a in (yaw, pitch, roll))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), math.sin(r), 0], [-math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


class Renderer:
    def __init__(self, face: fm.FaceModel, width: int = 640, height: int = 480, look: str = "color",
                 noise: float = 2.0, blur: float = 0.0, face_frac: float = 0.3, seed: int = 0):
        if look not in ("color", "ir"):
            raise ValueError(f"look must be 'color' or 'ir', not {look!r}")
        self.face, self.w, self.h, self.look = face, int(width), int(height), look
        self.noise, self.blur = float(noise), float(blur)
        self.f = float(width)  # ~53 degrees horizontal field of view
        self.dist = FACE_WIDTH_CM * self.f / (face_frac * width)
        self.cx, self.cy = width / 2.0, height / 2.0  # principal point: the image centre, as in a real camera
        self.rng = np.random.default_rng(seed)
        self._noise = None  # NOISE_BANK sensor-noise fields, made on the first frame
        self.tris = fm.triangles()
        v = face.vertices
        self.base = v.copy()
        # scale of the photo's face in cm (eye width) for sizing irises
        self.eye_w = float(np.mean([np.linalg.norm(v[r[0]] - v[r[8]]) for r in fm.EYE_RING1]))
        self.eye_centre = [v[r].mean(0) for r in fm.EYE_RING1]
        # close the photo's mouth at rest: inner lips meet at their midline
        up, lo = fm.LIP_UPPER_INNER[1:-1], fm.LIP_LOWER_INNER[1:-1]
        mid = (v[up] + v[lo]) / 2
        self.base[up], self.base[lo] = mid, mid
        self.mouth_y = float(mid[:, 1].mean())
        self.mouth_half_w = float(abs(v[308, 0] - v[78, 0]) / 2)
        # The jaw: the mandible (lower lip, chin, jawline) turns rigidly about the jaw joints (in
        # front of the ears, level with the cheekbones, `JAW_PIVOT`) and slides forward a little
        # (the condyles ride onto the eminence at wide opening), so the lower lip and the chin drop
        # together and the face lengthens; the cheeks beside and above the mouth corners stretch
        # between. The lower lip moves fully across its width (the opening is an oval, not a V),
        # the corners half way; the upper lip stays, lifting a little at its centre.
        b = self.base
        hw, dy = self.mouth_half_w, b[:, 1] - self.mouth_y
        e = np.sqrt(np.clip(1 - (b[:, 0] / hw) ** 2, 0, 1))
        upper = dy > 1e-6
        upper[lo], upper[up] = False, True
        dx = np.clip(np.abs(b[:, 0]) - hw, 0, None)
        below = np.clip(-dy / (0.4 + 0.5 * dx), 0, 1)  # under the line from the corners out to the jaw angles
        w = np.where(upper, 0.0, np.maximum(below, np.clip(0.5 + 0.5 * e, 0, 1) * (dx <= 0)))
        w[lo] = np.clip(0.5 + 0.5 * e[lo] ** 0.5, 0, 1)
        w[fm.LIP_CORNERS] = 0.5
        self.jaw_w = w
        self.jaw_pivot = np.array([0.0, self.mouth_y + JAW_PIVOT[0], JAW_PIVOT[1]])
        # lip-corner pinch: full on the lips, fading over 2 cm into the cheeks and 2.2 cm up/down
        self.pinch_w = np.clip(1 - dx / 2.0, 0, 1) * np.clip(1 - np.abs(dy) / 2.2, 0, 1)
        # upper-lip lift at the centre, fading out 1.2 cm above the lip line
        self.lift_w = upper * e * np.clip(1 - dy / 1.2, 0, 1)
        # a yawn undoes the photo's smile: corners raised above the lip line come down to it
        self.unsmile_cm = max(0.0, float(b[fm.LIP_CORNERS, 1].mean()) - self.mouth_y)
        self._expression_weights()
        self.lid_target = []
        for e in range(2):  # closed lid rests just above the lower lid
            lo_v = self.base[fm.LOWER_LID[e]]
            up_v = self.base[fm.UPPER_LID[e][0]]
            self.lid_target.append(lo_v + 0.03 * (up_v - lo_v))
        self.ref_sign = np.sign(self._areas(self._project(self.base)[0]))  # front-facing winding
        self.background = self._cabin()
        self.uv = face.uv.astype(np.float64)
        self.tex = _lips_closed_texture(face.texture, self.uv)
        # A closing upper lid is skin unrolling over the eye, not the photo's lash band stretched:
        # at full closure its rings take their texture from higher up (the margin from just above
        # the photo's crease ring, the crease ring from a third of the way to the brow), so the lid shows
        # lid skin and the lashes are drawn at the margin (`_lashes`).
        self.lid_uv = []
        for e in range(2):
            r1, r2, r3 = (self.uv[r] for r in fm.UPPER_LID[e])
            self.lid_uv.append((r2 + 0.1 * (r1 - r2) - r1, 0.35 * (r3 - r2)))
        self.lash_bgr = _lash_colour(self.tex, self.uv)

    # geometry ------------------------------------------------------------------------------
    def _expression_weights(self) -> None:
        """Per-vertex displacement fields (cm, head frame) of each expression at full strength.
        Sizes from FACS descriptions: brows lower ~7 mm and draw in ~3 mm (AU4, strong); pressed lips
        lose about two thirds of their red height (AU24); the nose wings rise ~6 mm, the upper lip ~3 mm
        and the brows follow a little (AU9); smiling lip corners
        rise ~5 mm and move out ~4 mm, cheeks ~3 mm (AU12 + AU6). The eye openings' rims stay (a
        frown is not a closure), except the lower lid a smile pushes up ~1 mm."""
        b = self.base
        eye_y = float(np.mean([c[1] for c in self.eye_centre]))
        keep = np.ones(len(b))
        for e in range(2):
            keep[fm.EYE_RING1[e]] = 0.0

        def near(idx, sigma):
            d = np.linalg.norm(b[:, None, :2] - b[idx][None, :, :2], axis=2).min(1)
            return np.exp(-((d / sigma) ** 2))

        brows = [70, 63, 105, 66, 107, 46, 53, 52, 65, 55, 300, 293, 334, 296, 336, 276, 283, 282, 295, 285]
        w = near(brows, 1.1) * np.clip((b[:, 1] - eye_y - 0.3) / 0.6, 0, 1) * keep
        inner = 1.0 + 0.4 * np.clip(1 - np.abs(b[:, 0]) / 3.0, 0, 1)  # inner brows move more
        self.expr = {"brow": np.stack([-np.sign(b[:, 0]) * 0.3 * w * inner, -0.7 * w * inner, 0 * w], 1)}
        dy = b[:, 1] - self.mouth_y
        band = np.clip(1 - (np.abs(b[:, 0]) - self.mouth_half_w) / 0.8, 0, 1)
        band *= np.clip((1.8 - np.abs(dy)) / 0.8, 0, 1)
        self.expr["press"] = np.stack([0 * dy, -0.7 * dy * band, 0 * dy], 1)
        w_nose = near([129, 358, 98, 327], 1.0) * keep
        w_lip = near([0, 37, 267], 0.7)
        self.expr["sneer"] = np.stack([0 * dy, 0.6 * w_nose + 0.3 * w_lip, 0 * dy], 1) + 0.4 * self.expr["brow"]
        w_c = near([61, 291], 1.2)
        w_cheek = near([50, 280, 101, 330], 1.5)
        up = 0.5 * w_c + 0.3 * w_cheek * np.clip((b[:, 1] - self.mouth_y) / 1.0, 0, 1)
        lower_lid = np.zeros(len(b))
        for e in range(2):
            lower_lid[fm.LOWER_LID[e]] = 0.1
        self.expr["smile"] = np.stack([np.sign(b[:, 0]) * 0.4 * w_c, up * keep + lower_lid, 0.15 * w_cheek], 1)

    def _deform(self, s: State) -> np.ndarray:
        v = self.base.copy()
        for k in ("brow", "press", "sneer", "smile"):
            a = getattr(s, k)
            if a > 0:
                v += a * self.expr[k]
        for e, c in ((0, s.closure_right), (1, s.closure_left)):
            if c > 0:
                rings = fm.UPPER_LID[e]
                d = c * (self.lid_target[e] - v[rings[0]])
                for ring, k in zip(rings, (1.0, 0.75, 0.3), strict=True):
                    v[ring] += k * d
        if s.jaw > 0:
            a = -math.radians(JAW_MAX_DEG * s.jaw)
            r = rotation(0, math.degrees(a), 0)
            rel = v - self.jaw_pivot
            v += self.jaw_w[:, None] * ((rel @ r.T + self.jaw_pivot) - v + s.jaw * JAW_SLIDE_CM)
            v[:, 0] *= 1 - LIP_PINCH * s.jaw**2 * self.pinch_w
            v[:, 1] += LIP_LIFT_CM * s.jaw * self.lift_w - self.unsmile_cm * s.jaw * self.pinch_w
        return v

    def _pose(self, s: State, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = rotation(s.yaw, s.pitch, s.roll)
        return (v - PIVOT) @ r.T + PIVOT + np.array([s.tx, s.ty, s.tz]), r

    def _project(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = self.dist - v[:, 2]
        uv = np.stack([self.cx + self.f * v[:, 0] / z, self.cy - self.f * v[:, 1] / z], axis=1)
        return uv, z

    def _areas(self, p: np.ndarray) -> np.ndarray:
        a, b, c = p[self.tris[:, 0]], p[self.tris[:, 1]], p[self.tris[:, 2]]
        return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])

    # drawing -------------------------------------------------------------------------------
    def _cabin(self) -> np.ndarray:
        w, h = self.w, self.h
        y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
        x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
        g = 38 + 30 * (1 - y) + 10 * x
        img = np.repeat(g[:, :, None], 3, axis=2)
        img[..., 0] += 6  # cool cabin light
        win = (y < 0.38) & (x > 0.62)
        img[np.broadcast_to(win, (h, w))] = (150, 140, 125)  # rear side window
        img = img.astype(np.uint8)
        s = w / 640
        cv2.rectangle(img, (int(590 * s), 0), (int(640 * s), int(260 * h / 480)), (30, 30, 34), -1)  # B-pillar
        cv2.ellipse(img, (int(w * 0.5), int(h * 0.32)), (int(120 * s), int(100 * s)), 0, 0, 360,
                    (45, 44, 48), -1, cv2.LINE_AA)  # headrest
        cv2.ellipse(img, (int(w * 0.5), int(h * 1.02)), (int(260 * s), int(150 * s)), 0, 180, 360,
                    (52, 50, 55), -1, cv2.LINE_AA)  # seat back
        return img

    def _body(self, img: np.ndarray, s: State, z: float) -> None:
        k = self.f / z
        cx, cy = self.cx + k * s.tx, self.cy - k * s.ty
        col = tuple(int(c * 0.8) for c in self.face.skin_bgr)
        neck = np.array([[cx - 4.8 * k, cy + 4 * k], [cx + 4.8 * k, cy + 4 * k],
                         [cx + 5.5 * k, cy + 16 * k], [cx - 5.5 * k, cy + 16 * k]])
        cv2.fillConvexPoly(img, (neck * 16).astype(np.int32), col, cv2.LINE_AA, 4)
        cv2.ellipse(img, (int(cx), int(cy + 24 * k)), (int(24 * k), int(10 * k)), 0, 180, 360,
                    (40, 70, 150), -1, cv2.LINE_AA)  # shoulders (jacket)
        cv2.rectangle(img, (int(cx - 24 * k), int(cy + 24 * k)), (int(cx + 24 * k), self.h), (40, 70, 150), -1)
        belt = np.array([[cx + 14 * k, cy + 14 * k], [cx + 19 * k, cy + 15 * k],
                         [cx - 6 * k, self.h + 10], [cx - 12 * k, self.h + 10]])
        cv2.fillConvexPoly(img, belt.astype(np.int32), (25, 25, 28), cv2.LINE_AA)

    def _head_back(self, img, s: State, rot: np.ndarray) -> None:
        c = (np.array([0.0, 1.5, -3.0]) - PIVOT) @ rot.T + PIVOT + np.array([s.tx, s.ty, s.tz])
        uv, z = self._project(c[None])
        k = self.f / z[0]
        cv2.ellipse(img, (int(uv[0, 0]), int(uv[0, 1])), (int(9.0 * k), int(11.0 * k)), -s.roll, 0, 360,
                    self.face.hair_bgr, -1, cv2.LINE_AA)

    def _eyes(self, img, s: State, rot, tr, v_posed) -> None:
        g = np.array([math.sin(math.radians(s.gaze_yaw)) * math.cos(math.radians(s.gaze_pitch)),
                      math.sin(math.radians(s.gaze_pitch)),
                      math.cos(math.radians(s.gaze_yaw)) * math.cos(math.radians(s.gaze_pitch))])
        for e in range(2):
            hole, _ = self._project(v_posed[fm.EYE_RING1[e]])
            pts = (hole * 16).astype(np.int32)
            cv2.fillPoly(img, [pts], (190, 196, 205), cv2.LINE_AA, 4)  # sclera
            r_iris = 0.21 * self.eye_w
            centre = self.eye_centre[e] - np.array([0, 0, 1.0]) + 1.0 * g
            c = (centre - PIVOT) @ rot.T + PIVOT + tr
            cuv, cz = self._project(c[None])
            d = rot @ g
            k = self.f / cz[0]
            ax = (max(1, int(16 * r_iris * k * math.sqrt(max(0.05, 1 - d[0] ** 2)))),
                  max(1, int(16 * r_iris * k * math.sqrt(max(0.05, 1 - d[1] ** 2)))))
            x0, y0, x1, y1 = self._box(hole, 3)
            if x1 <= x0 or y1 <= y0:
                continue
            off = np.array([x0 * 16, y0 * 16], np.int32)
            ctr = (int(cuv[0, 0] * 16) - int(off[0]), int(cuv[0, 1] * 16) - int(off[1]))
            sub = img[y0:y1, x0:x1]  # the eye's box only: the iris is drawn and kept inside the hole
            mask = np.zeros(sub.shape[:2], np.uint8)
            cv2.fillPoly(mask, [pts - off], 255, cv2.LINE_8, 4)
            layer = sub.copy()
            cv2.ellipse(layer, ctr, ax, 0, 0, 360, (45, 70, 95), -1, cv2.LINE_AA, 4)  # iris
            cv2.ellipse(layer, ctr, (int(ax[0] * 0.45), int(ax[1] * 0.45)), 0, 0, 360, (12, 12, 14), -1,
                        cv2.LINE_AA, 4)  # pupil
            glint = (ctr[0] + int(ax[0] * 0.3), ctr[1] - int(ax[1] * 0.3))
            cv2.circle(layer, glint, max(16, ax[0] // 6), (235, 235, 235), -1, cv2.LINE_AA, 4)
            m = mask > 0
            sub[m] = layer[m]

    def _box(self, pts: np.ndarray, margin: int) -> tuple[int, int, int, int]:
        """Pixel box around points, widened by `margin`, clipped to the frame."""
        lo, hi = np.floor(pts.min(0)).astype(int) - margin, np.ceil(pts.max(0)).astype(int) + margin + 1
        return max(0, lo[0]), max(0, lo[1]), min(self.w, hi[0]), min(self.h, hi[1])

    def _mouth(self, img, v_posed) -> None:
        """The oral cavity behind the lips' hole, dark and shadowed: the upper teeth's edges under the
        upper lip, the lower teeth's above the lower lip and the tongue between them, all dim. A
        brighter, busier interior reads to the face model as lips and shrinks the measured gap."""
        up, _ = self._project(v_posed[fm.LIP_UPPER_INNER])
        lo, _ = self._project(v_posed[fm.LIP_LOWER_INNER])
        ring = np.concatenate([up, lo[-2:0:-1]])
        pts = (ring * 16).astype(np.int32)
        cv2.fillPoly(img, [pts], MOUTH_BGR, cv2.LINE_AA, 4)
        gap = float(np.max(lo[:, 1] - up[:, 1]))
        if gap <= 2:
            return
        x0, y0, x1, y1 = self._box(ring, 2)
        if x1 <= x0 or y1 <= y0:
            return
        off = np.array([x0, y0])
        sub = img[y0:y1, x0:x1]
        w = float(np.ptp(ring[:, 0]))
        layer = sub.copy()
        u, l_ = up - off, lo - off
        tongue = (np.array([(u[0, 0] + u[-1, 0]) / 2, l_[5, 1] - 0.05 * gap]) * 16).astype(np.int32).tolist()
        cv2.ellipse(layer, tongue, (int(w * 5.5), int(gap * 4)), 0, 180, 360, TONGUE_BGR, -1, cv2.LINE_AA, 4)
        t_up = min(0.12 * gap, 0.07 * w)
        teeth = np.concatenate([u[2:-2], u[-3:1:-1] + [0, t_up]])
        cv2.fillPoly(layer, [(teeth * 16).astype(np.int32)], TEETH_BGR, cv2.LINE_AA, 4)
        t_lo = min(0.08 * gap, 0.05 * w)
        teeth = np.concatenate([l_[3:-3], l_[-4:2:-1] - [0, t_lo]])
        cv2.fillPoly(layer, [(teeth * 16).astype(np.int32)], tuple(int(0.7 * c) for c in TEETH_BGR), cv2.LINE_AA, 4)
        mask = np.zeros(sub.shape[:2], np.uint8)
        cv2.fillPoly(mask, [pts - off * 16], 255, cv2.LINE_8, 4)
        m = mask > 0
        sub[m] = layer[m]

    def _frame_uv(self, s: State) -> np.ndarray:
        uv = self.uv
        for e, c in ((0, s.closure_right), (1, s.closure_left)):
            if c > 0:
                if uv is self.uv:
                    uv = self.uv.copy()
                d1, d2 = self.lid_uv[e]
                r1, r2, _ = fm.UPPER_LID[e]
                uv[r1] += c * d1
                uv[r2] += c * d2
        return uv

    def _lashes(self, img, s: State, p: np.ndarray) -> None:
        """The lash line of a closing lid: a dark band along the lid margin, thickest at the middle
        and tapering to the corners, with a soft shadow just below (the lashes over the lower lid)."""
        for e, c in ((0, s.closure_right), (1, s.closure_left)):
            if c <= 0.3:
                continue
            line = p[[fm.EYE_RING1[e][0]] + fm.UPPER_LID[e][0] + [fm.EYE_RING1[e][8]]]
            width = float(np.linalg.norm(line[-1] - line[0]))
            if width < 3:
                continue
            u = np.linspace(0, 1, len(line))
            taper = np.sin(np.pi * u) ** 0.7
            t = max(0.6, 0.045 * width) * taper  # half thickness, px (~1.4 px at 640x480)
            up, down = line - np.c_[0 * t, t], line + np.c_[0 * t, 0.6 * t]
            band = np.concatenate([up, down[::-1]])
            q = np.concatenate([line, (line + np.c_[0 * t, 2.2 * t + 0.8])[::-1]])  # shadow below
            x0, y0, x1, y1 = self._box(np.concatenate([band, q]), 4)
            if x1 <= x0 or y1 <= y0:
                continue
            off = np.array([x0, y0])
            sh, bd = ((q - off) * 16).astype(np.int32), ((band - off) * 16).astype(np.int32)
            sub = img[y0:y1, x0:x1]
            layer = sub.copy()
            cv2.fillPoly(layer, [sh], tuple(int(0.6 * x) for x in self.face.skin_bgr), cv2.LINE_AA, 4)
            cv2.fillPoly(layer, [bd], self.lash_bgr, cv2.LINE_AA, 4)
            a = min(1.0, (c - 0.3) / 0.4)
            mask = np.zeros(sub.shape[:2], np.uint8)
            cv2.fillPoly(mask, [sh, bd], 255, cv2.LINE_AA, 4)
            m = cv2.GaussianBlur(mask, (0, 0), 0.5).astype(np.float32)[..., None] * (a / 255)
            sub[:] = (sub * (1 - m) + layer * m).astype(np.uint8)

    def _shades(self, img, v_posed) -> None:
        for e in range(2):
            p, _ = self._project(v_posed[fm.EYE_RING3[e]])
            hull = cv2.convexHull(p.astype(np.float32))
            c = hull.mean(0)
            hull = (c + (hull - c) * 1.25)
            cv2.fillConvexPoly(img, (hull * 16).astype(np.int32), (18, 18, 20), cv2.LINE_AA, 4)
        a, _ = self._project(v_posed[[fm.EYE_RING3[0][8], fm.EYE_RING3[1][8]]])
        cv2.line(img, tuple(int(x) for x in a[0]), tuple(int(x) for x in a[1]), (18, 18, 20),
                 max(2, int(self.w / 200)), cv2.LINE_AA)

    def render(self, s: State) -> np.ndarray:
        v = self._deform(s)
        vp, rot = self._pose(s, v)
        tr = np.array([s.tx, s.ty, s.tz])
        p, z = self._project(vp)
        img = self.background.copy()
        self._body(img, s, self.dist - s.tz)
        self._head_back(img, s, rot)
        self._eyes(img, s, rot, tr, vp)
        self._mouth(img, vp)

        area = self._areas(p)
        vis = (np.sign(area) == self.ref_sign) & (np.abs(area) > 0.05)
        idx = np.nonzero(vis)[0]
        x0, y0 = np.floor(p.min(0)).astype(int)
        x1, y1 = np.ceil(p.max(0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, self.w), min(y1, self.h)
        if len(idx) and x1 > x0 and y1 > y0:
            depth = z[self.tris[idx]].mean(1)
            idx = idx[np.argsort(-depth)]  # far first
            ids = np.full((self.h, self.w), -1, np.int32)
            pts = (p * 16).round().astype(np.int32)
            for k in idx:
                cv2.fillConvexPoly(ids, pts[self.tris[k]], int(k), cv2.LINE_8, 4)
            roi = ids[y0:y1, x0:x1]
            yy, xx = np.nonzero(roi >= 0)
            if len(yy):
                t = roi[yy, xx]
                aff = self._affines(p, idx, self._frame_uv(s))
                xs, ys = xx + x0 + 0.0, yy + y0 + 0.0
                a = aff[t]
                mx = np.full(roi.shape, -1.0, np.float32)
                my = np.full(roi.shape, -1.0, np.float32)
                mx[yy, xx] = a[:, 0, 0] * xs + a[:, 1, 0] * ys + a[:, 2, 0]
                my[yy, xx] = a[:, 0, 1] * xs + a[:, 1, 1] * ys + a[:, 2, 1]
                texel = cv2.remap(self.tex, mx, my, cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
                img[yy + y0, xx + x0] = texel[yy, xx]
        self._lashes(img, s, p)
        if s.shades > 0.5:
            self._shades(img, vp)
        return self._finish(img, s)

    def _affines(self, p: np.ndarray, idx: np.ndarray, uv: np.ndarray) -> np.ndarray:
        """Per triangle, the 3x2 matrix taking output pixel (x, y, 1) to its texel."""
        aff = np.zeros((len(self.tris), 3, 2))
        tri = self.tris[idx]
        m = np.concatenate([p[tri], np.ones((len(idx), 3, 1))], axis=2)
        ok = np.abs(np.linalg.det(m)) > 1e-6
        aff[idx[ok]] = np.linalg.solve(m[ok], uv[tri[ok]])
        return aff

    def _finish(self, img: np.ndarray, s: State) -> np.ndarray:
        if self.look == "ir":  # 850 nm illuminator: gray, skin bright, centre-weighted
            g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
            g = 255.0 * (g / 255.0) ** 0.8
            img = cv2.cvtColor(np.clip(g, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        elif self.face.gray:  # a grayscale photo: a monochrome camera
            img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        if s.brightness != 1.0:
            img = cv2.convertScaleAbs(img, alpha=s.brightness)
        if self.blur > 0:
            img = cv2.GaussianBlur(img, (0, 0), self.blur)
        if self.noise > 0:  # from the renderer's own seeded generator: a clip renders the same every time
            if self._noise is None:
                self._noise = np.round(self.rng.normal(0, self.noise, (NOISE_BANK, *img.shape))).astype(np.int16)
            k, dy, dx = int(self.rng.integers(NOISE_BANK)), int(self.rng.integers(self.h)), int(self.rng.integers(self.w))
            n = np.roll(self._noise[k], (dy, dx), axis=(0, 1))
            img = cv2.add(img, n, dtype=cv2.CV_8U)
        return img


LIP_OUTER_UPPER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LIP_OUTER_LOWER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
LIP_BGR = np.array([95.0, 95.0, 170.0])
LOWER_LIP_K = 0.6  # resting lower lip height / the smile's (photo's) lower lip band


def _lash_colour(tex: np.ndarray, uv: np.ndarray) -> tuple[int, int, int]:
    """The photo's own lash / lid-margin colour: the darkest tenth along both upper lid margins,
    never lighter than half the skin (blond lashes still draw a line)."""
    pts = [fm._sample(tex, *uv[i, :2], r=1) for e in range(2) for i in fm.UPPER_LID[e][0]]
    dark = np.percentile(np.array(pts, float), 10, axis=0)
    skin = np.array(fm._sample(tex, *uv[50, :2]), float)
    return tuple(int(c) for c in np.minimum(dark, 0.45 * skin))


def _lips_closed_texture(tex: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """The photo with its lips painted shut below the upper lip. A smile's teeth between the lip
    contours would be stretched over the lips when the mouth moves, and the smile's lower lip
    contour runs far below a resting lower lip (the face model then reads the closed mouth as ajar:
    MAR 0.13; painted: 0.055). The lower lip: the photo's upper-lip colour pulled half way to a
    typical lip red, a touch lighter, 60 % as tall, chin skin below. The upper lip stays the
    photo's: painting it too lowers the resting MAR to 0.02 but biases the measured head pitch
    (pitch-up overestimated by up to 8.5 degrees instead of 6)."""
    tex = tex.copy()
    inner, outer = uv[fm.LIP_UPPER_INNER], uv[LIP_OUTER_LOWER]
    upper = np.concatenate([uv[LIP_OUTER_UPPER], inner[::-1]])
    m = np.zeros(tex.shape[:2], np.uint8)
    cv2.fillPoly(m, [(upper * 16).astype(np.int32)], 255, cv2.LINE_8, 4)
    photo = np.median(tex[m > 0], axis=0) if (m > 0).sum() > 10 else LIP_BGR
    colour = 0.5 * photo + 0.5 * LIP_BGR
    edge = inner + LOWER_LIP_K * (outer - inner)
    skin = np.array(fm._sample(tex, *uv[200, :2]), float)  # below the lower lip
    for ring, c, sigma in ((np.concatenate([inner, outer[::-1]]), colour * 1.08 + 6, 1.0),
                           (np.concatenate([edge, outer[::-1]]), skin, 1.5)):
        m[:] = 0
        cv2.fillPoly(m, [(ring * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        a = cv2.GaussianBlur(m, (0, 0), sigma).astype(np.float32)[..., None] / 255
        tex[:] = np.clip(tex * (1 - a) + np.clip(c, 0, 255) * a, 0, 255).astype(np.uint8)
    return tex
