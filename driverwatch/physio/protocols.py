"""Serial line protocols of heart sensors: parse one line into timed samples. No I/O, no clock.

  bpm   one heart rate per line: "72", "BPM:72", "HR=72.5", "72 bpm"
  rr    one beat-to-beat interval in ms per line: "812", "RR:812", "IBI=812"
  raw   PPG/ECG samples, one per line, optionally with a device time column: "512" or "millis,512"
  json  one object per line with any of "hr" (bpm), "rr" (list of ms), "ts" (device time)
`auto` recognises the protocol from the first lines (JSON braces, prefixes, a time column, how fast lines
arrive and the values' range). Plain numbers: >= 8 lines within 1 s are a sampled signal (raw); slower
lines are bpm or rr once 3 of them are plausible as one and more of them as that than as the other;
values plausible as neither (a "0" with no finger, 9999, -5) are counted but decide nothing. `auto` keeps
checking: plain lines that stay slow for 3 s after `raw`, fast for 2 s after bpm/rr, or 5 rejected lines in
a row that fit the other of bpm/rr send it back to recognition (`changes` counts the switches).
Bad lines are counted by reason and logged at most once a minute per reason.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter, deque

from driverwatch.config.heart import HeartConfig
from driverwatch.ratelimit import RateLimitedLog

log = logging.getLogger("driverwatch.heart")

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_BPM = re.compile(rf"^(?:(?:bpm|hr|heart ?rate|pulse)\s*[:=]?\s*)?({_NUM})\s*(?:bpm)?$", re.I)
_BPM_PREFIX = re.compile(r"^(?:bpm|hr|heart ?rate|pulse)\b|bpm$", re.I)
_RR = re.compile(rf"^(?:(?:rr|ibi)\s*[:=]?\s*)?({_NUM})\s*(?:ms)?$", re.I)
_RR_PREFIX = re.compile(r"^(?:rr|ibi)\b|ms$", re.I)
_RAW = re.compile(rf"^({_NUM})(?:\s*[,;\t ]\s*({_NUM}))?$")
TIME_UNIT_S = {"ms": 1e-3, "us": 1e-6, "s": 1.0}  # heart.time_unit -> seconds
_FAST_LINES = 8  # plain lines within _FAST_S: a sampled signal (raw), not one value per beat or second
_FAST_S = 1.0
_PLAUSIBLE = 3  # plain values plausible as bpm (or rr) before `auto` takes that protocol
_AUTO_KEEP = 16  # undecided plain lines kept for the decision
_WRONG_SLOW_S = 3.0  # `raw` from plain lines, but slow for this long: decide again
_WRONG_FAST_S = 2.0  # bpm / rr, but fast for this long: decide again
_WRONG_LINES = 5  # bpm / rr: this many rejected lines in a row that fit the other one: decide again
_RESYNC_S = 2.0  # device/sample clock this far behind arrival (a gap) or jumping: re-anchor

Sample = tuple[str, float, float]  # (kind "raw" | "rr" | "hr", time s, value)


class LineParser:
    def __init__(self, cfg: HeartConfig | None = None):
        self.cfg = cfg = cfg or HeartConfig()
        self.protocol: str | None = None if cfg.protocol == "auto" else cfg.protocol
        self.counts: Counter[str] = Counter()
        self._warn = RateLimitedLog(log)
        self._auto: list[tuple[float, str]] = []  # plain lines awaiting the decision
        self._auto_counted = 0  # how many of the first of them were counted under a wrong decision
        self.changes = 0  # protocol decisions by `auto` after the first (it was wrong)
        self._decisions = 0
        self._recheck = False  # `auto` decided from plain lines: keep checking the decision
        self._recent: deque[tuple[float, str]] = deque(maxlen=_AUTO_KEEP)  # plain lines since the decision
        self._since: float | None = None  # the current evidence against the decision started here
        self._misfits = 0  # rejected lines in a row that fit the other of bpm / rr
        self._unit = TIME_UNIT_S[cfg.time_unit]
        self._dev_anchor: tuple[float, float] | None = None  # (device s, local s)
        self._dev_last: float | None = None
        self._raw_anchor: float | None = None
        self._raw_k = 0
        self._last_t = -math.inf

    # -- public ------------------------------------------------------------------------------------
    def parse(self, line: bytes | str, t: float) -> list[Sample]:
        """Parse one line (without its newline) that arrived at time `t` (seconds)."""
        self.counts["lines"] += 1
        if isinstance(line, bytes):
            try:
                text = line.decode("ascii").strip()
            except UnicodeDecodeError:
                return self._bad("garbage", line)
        else:
            text = line.strip()
        if not text:
            self.counts["empty"] += 1
            return []
        if not text.isprintable():
            return self._bad("garbage", text)
        if self.protocol is None:
            return self._detect(text, t)
        out = self._parse(text, t)
        if self._recheck:
            again = self._check(text, t, bool(out))
            if again is not None:
                return again
        return out

    def invalid(self, reason: str, line: bytes | str = b"") -> None:
        """Count a line rejected before parsing (too long, cut off)."""
        self.counts["lines"] += 1
        self._bad(reason, line)

    # -- internals ---------------------------------------------------------------------------------
    def _bad(self, reason: str, line) -> list[Sample]:
        self.counts[reason] += 1
        self._warn(reason, logging.WARNING, "heart sensor: skipped %s line (%d so far): %.40r",
                   reason.replace("_", " "), self.counts[reason], line)
        return []

    def _plain(self, text: str) -> float | None:
        """The value of a line that is one bare number (the lines `auto` judges by rate and range)."""
        m = _RAW.match(text)
        return float(m[1]) if m and m[2] is None else None

    @staticmethod
    def _fast(lines, t: float) -> bool:
        """>= 8 plain lines within 1 s up to `t`, in more than one read (not one burst of stale lines)."""
        if len(lines) < _FAST_LINES:
            return False
        t0 = lines[-_FAST_LINES][0]
        return t - t0 < _FAST_S and t0 < t

    def _fits(self, kind: str, v: float) -> bool:
        c = self.cfg
        lo, hi = (c.hr_min, c.hr_max) if kind == "bpm" else (c.rr_min_ms, c.rr_max_ms)
        return math.isfinite(v) and lo <= v <= hi

    def _detect(self, text: str, t: float) -> list[Sample]:
        lines, n = [*self._auto, (t, text)], self._auto_counted
        if text.startswith("{"):
            return self._decided("json", lines, recheck=False, counted=n)
        if _BPM_PREFIX.search(text) and _BPM.match(text):
            return self._decided("bpm", lines, recheck=True, counted=n)
        if _RR_PREFIX.search(text) and _RR.match(text):
            return self._decided("rr", lines, recheck=True, counted=n)
        m = _RAW.match(text)
        if not m:
            return self._bad("garbage", text)
        if m[2] is not None:
            return self._decided("raw", lines, recheck=False, counted=n)
        if len(self._auto) >= _AUTO_KEEP:  # undecided for long: the oldest line fitting neither goes
            fits = [self._fits("bpm", float(x)) or self._fits("rr", float(x)) for _, x in self._auto]
            i = fits.index(False) if False in fits else 0
            old = self._auto.pop(i)[1]
            if i < self._auto_counted:  # counted once already
                self._auto_counted -= 1
            else:
                self._bad("undecided", old)
        self._auto.append((t, text))
        proto = self._judge(t)
        return [] if proto is None else self._decided(proto, self._auto, recheck=True, counted=self._auto_counted)

    def _decided(self, proto: str, lines: list[tuple[float, str]], recheck: bool,
                 counted: int = 0) -> list[Sample]:
        """`proto` from now on; `lines` (the first `counted` of them already counted) parsed with it."""
        if self._decisions:
            self.changes += 1
            log.warning("heart sensor: protocol now recognised as %s", proto)
        else:
            log.info("heart sensor: protocol recognised as %s", proto)
        self._decisions += 1
        self.protocol, self._recheck = proto, recheck
        self._recent.clear()
        self._since, self._misfits = None, 0
        self._auto, self._auto_counted = [], 0
        out: list[Sample] = []
        for i, (tt, tx) in enumerate(lines):
            if i < counted:  # counted under the old protocol: parse it again, count it once
                saved = self.counts.copy()
                out += self._parse(tx, tt)
                self.counts = saved
            else:
                out += self._parse(tx, tt)
            if self._plain(tx) is not None:
                self._recent.append((tt, tx))
        return out

    def _judge(self, t: float) -> str | None:
        """raw / bpm / rr from the buffered plain lines, or None to wait for more."""
        if self._fast(self._auto, t):
            return "raw"
        if t - self._auto[0][0] < _FAST_S:
            return None
        vals = [float(x) for _, x in self._auto]
        n_bpm = sum(self._fits("bpm", v) for v in vals)
        n_rr = sum(self._fits("rr", v) for v in vals)
        if n_bpm >= _PLAUSIBLE and n_bpm > n_rr:
            return "bpm"
        if n_rr >= _PLAUSIBLE and n_rr > n_bpm:
            return "rr"
        return None

    def _check(self, text: str, t: float, ok: bool) -> list[Sample] | None:
        """After an `auto` decision from plain lines: None while the line fits it, else the samples of
        the lines that prove it wrong, recognised again (and the decision starts over from them)."""
        v = self._plain(text)
        if v is None:
            return None
        self._recent.append((t, text))
        p = self.protocol
        if p == "raw":  # a sampled signal does not go slow for seconds while it keeps sending
            against = len(self._recent) >= _FAST_LINES and not self._fast(self._recent, t)
            limit = _WRONG_SLOW_S
        else:
            other = "rr" if p == "bpm" else "bpm"
            self._misfits = 0 if ok or not self._fits(other, v) else self._misfits + 1
            if self._misfits >= _WRONG_LINES:
                return self._again(list(self._recent)[-_WRONG_LINES:], t)
            against, limit = self._fast(self._recent, t), _WRONG_FAST_S
        if not against:
            self._since = None
            return None
        if self._since is None:
            self._since = t
        if t - self._since < limit:
            return None
        return self._again([x for x in self._recent if x[0] >= self._since], t)

    def _again(self, lines: list[tuple[float, str]], t: float) -> list[Sample]:
        log.warning("heart sensor: lines do not fit protocol %s any more; recognising it again", self.protocol)
        self.protocol, self._recheck = None, False
        self._auto, self._auto_counted, self._raw_anchor = lines, len(lines), None
        self._recent.clear()
        proto = self._judge(t)
        return [] if proto is None else self._decided(proto, self._auto, recheck=True, counted=len(lines))

    def _parse(self, text: str, t: float) -> list[Sample]:
        p = self.protocol
        if p == "raw":
            m = _RAW.match(text)
            if not m:
                return self._bad("garbage", text)
            if m[2] is None:
                return self._ok([("raw", self._raw_time(t), float(m[1]))])
            v = float(m[2])
            return self._ok([("raw", self._mono(self._dev_time(float(m[1]) * self._unit, t)), v)])
        if p == "bpm":
            m = _BPM.match(text)
            return self._ok(self._value("hr", float(m[1]), t)) if m else self._bad("garbage", text)
        if p == "rr":
            m = _RR.match(text)
            return self._ok(self._value("rr", float(m[1]), t)) if m else self._bad("garbage", text)
        return self._json(text, t)

    def _json(self, text: str, t: float) -> list[Sample]:
        try:
            d = json.loads(text)
        except ValueError:
            return self._bad("garbage", text)
        if not isinstance(d, dict):
            return self._bad("garbage", text)
        try:
            if d.get("ts") is not None:
                t = self._dev_time(float(d["ts"]) * self._unit, t)
            out: list[Sample] = []
            rr = d.get("rr") or []
            rr = rr if isinstance(rr, list) else [rr]
            # several intervals in one message: the last beat is at t, earlier ones before it
            ends = [sum(float(x) for x in rr[i + 1:]) / 1000.0 for i in range(len(rr))]
            for x, back in zip(rr, ends, strict=True):
                out += self._value("rr", float(x), t - back)
            if d.get("hr") is not None and not rr:
                out += self._value("hr", float(d["hr"]), t)
        except (TypeError, ValueError):
            return self._bad("garbage", text)
        if not out and "hr" not in d and "rr" not in d:
            return self._bad("garbage", text)
        return self._ok(out)

    def _value(self, kind: str, v: float, t: float) -> list[Sample]:
        c = self.cfg
        lo, hi = (c.hr_min, c.hr_max) if kind == "hr" else (c.rr_min_ms, c.rr_max_ms)
        if not math.isfinite(v) or not lo <= v <= hi:
            return self._bad("out_of_range", f"{kind}={v}")
        return [(kind, self._mono(t), v)]

    def _ok(self, samples: list[Sample]) -> list[Sample]:
        if samples:
            self.counts["valid"] += 1
        return samples

    def _mono(self, t: float) -> float:
        t = max(t, self._last_t)
        self._last_t = t
        return t

    def _dev_time(self, dev: float, t: float) -> float:
        """Map a device timestamp onto the local clock; re-anchor when the device clock jumps or resets."""
        if (self._dev_anchor is None or self._dev_last is None or dev < self._dev_last
                or dev - self._dev_last > _RESYNC_S):
            self._dev_anchor = (dev, t)
        self._dev_last = dev
        return self._dev_anchor[1] + dev - self._dev_anchor[0]

    def _raw_time(self, t: float) -> float:
        """Time of an untimed raw sample: the configured rate from an anchor; re-anchored after a gap."""
        fs = self.cfg.sample_rate
        if self._raw_anchor is None or t - (self._raw_anchor + self._raw_k / fs) > _RESYNC_S:
            self._raw_anchor, self._raw_k = t, 0
        ts = self._raw_anchor + self._raw_k / fs
        self._raw_k += 1
        return self._mono(ts)
