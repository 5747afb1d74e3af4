"""Heart samples in, `HeartFeatures` out: a deterministic function of timestamped samples (no clock).

Inputs, each with its time in seconds: raw ECG/PPG samples (beats are detected here), beat-to-beat
intervals (ms), or heart rates (bpm). Features are emitted every `update_s` of sample time over windows
ending at that time.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from driverwatch.config.heart import HeartConfig
from driverwatch.errors import InputError
from driverwatch.physio import hrv
from driverwatch.physio.beats import BeatDetector, RRFilter, heart_rate
from driverwatch.samples import HeartFeatures

_FS_ESTIMATE_S = 2.0  # seconds of raw samples used to measure their rate
_MIN_RR_FOR_HRV = 10  # accepted intervals needed for RMSSD / SDNN / pNN50
_LF_HF_MIN_QUALITY = 0.9
_LF_HF_EVERY_S = 10.0  # LF/HF over a 5 min window moves slowly: recomputed every 10 s of sample time
_NEW_BEATS_MAX = 4096  # ~30 min of beats at 140 bpm; callers clear it every chunk
_MIN_FS = 20.0  # Hz; PPG peaks need >= ~20 Hz, the detector's band reaches 8 Hz (ECG: 20 Hz)


class HeartPipeline:
    def __init__(self, cfg: HeartConfig | None = None, kind: str | None = None):
        self.cfg = cfg = cfg or HeartConfig()
        self.kind = kind or cfg.signal
        self.rr_filter = RRFilter(cfg.rr_min_ms, cfg.rr_max_ms, cfg.ectopic_threshold)
        self.detector: BeatDetector | None = None
        self.fs: float | None = None
        self._raw_t: list[np.ndarray] = []  # raw timestamps awaiting the rate estimate / for beat timing
        self._raw_v: list[np.ndarray] = []
        self._t_hist = np.zeros(0)  # timestamps of recent raw samples; index of [0] is _t_hist0
        self._t_hist0 = 0
        # (t, rr_ms or nan, accepted, seq): a beat or a bpm value turned into an equivalent interval
        self._beats: deque[tuple[float, float, bool, int]] = deque()
        self._seq = 0
        self._last_beat_t: float | None = None
        self._next_emit: float | None = None
        self._t_first: float | None = None
        self._lf_hf: tuple[float, float | None] | None = None  # (time computed, value)
        # Beat times since the caller last cleared it (replay's --beats-out). Bounded: the live
        # path never reads it, and an unattended daemon must not grow by one float per beat.
        self.new_beats: deque[float] = deque(maxlen=_NEW_BEATS_MAX)
        self.n_beats = 0

    # -- inputs ------------------------------------------------------------------------------------
    def feed(self, samples: list[tuple[str, float, float]]) -> list[HeartFeatures]:
        """Samples from `LineParser.parse`: ("raw" | "rr" | "hr", t, value); runs of raw go in as arrays."""
        out: list[HeartFeatures] = []
        raw_t: list[float] = []
        raw_v: list[float] = []
        for kind, t, v in samples:
            if kind == "raw":
                raw_t.append(t)
                raw_v.append(v)
                continue
            if raw_t:
                out += self.add_raw(raw_t, raw_v)
                raw_t, raw_v = [], []
            out += self.add_rr(t, v) if kind == "rr" else self.add_hr(t, v)
        if raw_t:
            out += self.add_raw(raw_t, raw_v)
        return out

    def add_raw(self, t, v) -> list[HeartFeatures]:
        t = np.asarray(t, dtype=float)
        v = np.asarray(v, dtype=float)
        if t.size == 0:
            return []
        self._started(float(t[0]))
        if self.detector is None:
            self._raw_t.append(t)
            self._raw_v.append(v)
            tt = np.concatenate(self._raw_t)
            if tt[-1] - tt[0] < _FS_ESTIMATE_S or tt.size < 50:
                return []
            self.fs = round((tt.size - 1) / (tt[-1] - tt[0]), 2)
            if self.fs < _MIN_FS:
                raise InputError(f"raw heart samples at {self.fs:g} Hz: too slow for beat detection "
                                 f"(need >= {_MIN_FS:g} Hz; is this really a raw signal?)")
            self.detector = BeatDetector(self.fs, self.kind)
            t, v = tt, np.concatenate(self._raw_v)
            self._raw_t, self._raw_v = [], []
        self._t_hist = np.concatenate([self._t_hist, t])
        idx = self.detector.feed(v)
        out = self._raw_beats(idx)
        return out + self._advance(float(t[-1]))

    def add_beat(self, t: float, rr_ms: float | None = None) -> list[HeartFeatures]:
        """A beat at `t`; its interval from the previous beat unless the sensor measured it (`rr_ms`)."""
        self._started(t)
        out = self._advance(t)  # features due before this beat see only the earlier ones
        if rr_ms is None and self._last_beat_t is not None:
            rr_ms = (t - self._last_beat_t) * 1000.0
        self._last_beat_t = t
        self.new_beats.append(t)
        self.n_beats += 1
        if rr_ms is not None:
            self._push(t, rr_ms)
        return out

    def add_rr(self, t: float, rr_ms: float) -> list[HeartFeatures]:
        return self.add_beat(t, rr_ms)

    def add_hr(self, t: float, bpm: float) -> list[HeartFeatures]:
        """A heart rate reported by the sensor (no beats): HR and quality only, no HRV."""
        self._started(t)
        out = self._advance(t)
        self._push(t, 60000.0 / bpm, is_beat=False)
        return out

    def finish(self) -> list[HeartFeatures]:
        """End of a recording: release the detector's last beats and emit the final features."""
        out: list[HeartFeatures] = []
        if self.detector is None and self._raw_t:  # shorter than the rate estimate: use what there is
            tt, vv = np.concatenate(self._raw_t), np.concatenate(self._raw_v)
            self._raw_t, self._raw_v = [], []
            if tt.size > 10 and tt[-1] > tt[0]:
                self.fs = round((tt.size - 1) / (tt[-1] - tt[0]), 2)
                self.detector = BeatDetector(self.fs, self.kind)
                self._t_hist = np.concatenate([self._t_hist, tt])
                out += self._raw_beats(self.detector.feed(vv))
        if self.detector is not None:
            out += self._raw_beats(self.detector.flush())
        return out

    # -- internals ---------------------------------------------------------------------------------
    def _started(self, t: float) -> None:
        if self._t_first is None:
            self._t_first = t
            self._next_emit = t + self.cfg.update_s

    def _raw_beats(self, idx: list[float]) -> list[HeartFeatures]:
        out: list[HeartFeatures] = []
        n = self._t_hist.size
        if idx and n:
            k = np.arange(self._t_hist0, self._t_hist0 + n)
            for i in idx:
                out += self.add_beat(float(np.interp(i, k, self._t_hist)))
        keep = max(0, n - round(10 * (self.fs or 100)))  # keep ~10 s of sample times
        if keep:
            self._t_hist = self._t_hist[keep:]
            self._t_hist0 += keep
        return out

    def _push(self, t: float, rr_ms: float, is_beat: bool = True) -> None:
        ok = self.rr_filter.accept(rr_ms)
        self._seq += 1
        self._beats.append((t, rr_ms, ok, self._seq if is_beat else -self._seq))
        horizon = t - max(self.cfg.lf_hf_window_s, self.cfg.hrv_window_s, self.cfg.hr_window_s) - 5.0
        while self._beats and self._beats[0][0] < horizon:
            self._beats.popleft()

    def _advance(self, t: float) -> list[HeartFeatures]:
        if self._next_emit is None or t < self._next_emit:
            return []
        u = self.cfg.update_s
        te = self._next_emit + np.floor((t - self._next_emit) / u) * u  # latest due time (skip gaps)
        self._next_emit = te + u
        return [self.features(float(te))]

    def features(self, t: float) -> HeartFeatures:
        cfg = self.cfg
        if not self._beats:
            return HeartFeatures(t=t, window_s=0.0)
        b = np.array([(bt, rr, ok, seq) for bt, rr, ok, seq in self._beats if bt <= t], dtype=float)
        if b.size == 0:
            return HeartFeatures(t=t, window_s=0.0)
        bt, rr, ok, seq = b[:, 0], b[:, 1], b[:, 2] > 0, b[:, 3]
        hf = HeartFeatures(t=t)
        w = bt > t - cfg.hr_window_s
        beats = w & (seq > 0)
        if beats.any():  # beats: counted over the time they span, detector slips corrected
            hf.hr = heart_rate(rr[beats], cfg.rr_min_ms, cfg.rr_max_ms)
        elif (w & ok).any():  # heart rates from the sensor
            hf.hr = 60000.0 / float(np.mean(rr[w & ok]))
        w = bt > t - cfg.hrv_window_s
        hf.n_beats = int(np.count_nonzero(w & (seq > 0)))
        if w.any():
            hf.quality = float(np.count_nonzero(w & ok) / np.count_nonzero(w))
            start = max(t - cfg.hrv_window_s, t if self._t_first is None else self._t_first)
            hf.window_s = t - start
        good = w & ok & (seq > 0)
        if np.count_nonzero(good) >= _MIN_RR_FOR_HRV:
            r = rr[good]
            s = seq[good]
            adjacent = np.diff(s) == 1  # successive differences only between neighbouring beats
            d = np.diff(r)[adjacent]
            hf.rmssd, hf.sdnn, hf.pnn50 = hrv.rmssd(d), hrv.sdnn(r), hrv.pnn50(d)
        if self._lf_hf is None or not 0 <= t - self._lf_hf[0] < _LF_HF_EVERY_S:
            self._lf_hf = (t, self._lf_hf_at(t, bt, rr, ok, seq))
        hf.lf_hf = self._lf_hf[1]
        return hf

    def _lf_hf_at(self, t, bt, rr, ok, seq) -> float | None:
        cfg = self.cfg
        w = (bt > t - cfg.lf_hf_window_s) & (seq > 0)
        if not w.any():
            return None
        clean_s = float(rr[w & ok].sum()) / 1000.0
        q = np.count_nonzero(w & ok) / np.count_nonzero(w)
        if clean_s >= cfg.lf_hf_min_s and q >= _LF_HF_MIN_QUALITY:
            return hrv.lf_hf(bt[w & ok], rr[w & ok])
        return None
