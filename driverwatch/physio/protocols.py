"""Serial line protocols of heart sensors: parse one line into timed samples. No I/O, no clock.

  bpm   one heart rate per line: "72", "BPM:72", "HR=72.5", "72 bpm"
  rr    one beat-to-beat interval in ms per line: "812", "RR:812", "IBI=812"
  raw   PPG/ECG samples, one per line, optionally with a device time column: "512" or "millis,512"
  json  one object per line with any of "hr" (bpm), "rr" (list of ms), "ts" (device time)
`auto` recognises the protocol from the first lines (JSON braces, prefixes, a time column, the values'
range and how fast lines arrive). Bad lines are counted by reason and logged at most once a minute per reason.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter

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
_AUTO_LINES = 8  # plain numbers looked at before `auto` decides
_RESYNC_S = 2.0  # device/sample clock this far behind arrival (a gap) or jumping: re-anchor

Sample = tuple[str, float, float]  # (kind "raw" | "rr" | "hr", time s, value)


class LineParser:
    def __init__(self, cfg: HeartConfig | None = None):
        self.cfg = cfg = cfg or HeartConfig()
        self.protocol: str | None = None if cfg.protocol == "auto" else cfg.protocol
        self.counts: Counter[str] = Counter()
        self._warn = RateLimitedLog(log)
        self._auto: list[tuple[float, str]] = []
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
        return self._parse(text, t)

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

    def _detect(self, text: str, t: float) -> list[Sample]:
        proto = None
        buffered = False
        if text.startswith("{"):
            proto = "json"
        elif _BPM_PREFIX.search(text) and _BPM.match(text):
            proto = "bpm"
        elif _RR_PREFIX.search(text) and _RR.match(text):
            proto = "rr"
        else:
            m = _RAW.match(text)
            if not m:
                return self._bad("garbage", text)
            if m[2] is not None:
                proto = "raw"
            else:
                self._auto.append((t, text))
                buffered = True
                if len(self._auto) < _AUTO_LINES:
                    return []
                vals = [float(x) for _, x in self._auto]
                span = self._auto[-1][0] - self._auto[0][0]
                c = self.cfg
                if span < 1.0:  # >= 8 lines per second: a sampled signal
                    proto = "raw"
                elif all(c.rr_min_ms <= v <= c.rr_max_ms for v in vals):
                    proto = "rr"
                elif all(c.hr_min <= v <= c.hr_max for v in vals):
                    proto = "bpm"
                else:
                    proto = "raw"
        self.protocol = proto
        log.info("heart sensor: protocol recognised as %s", proto)
        out: list[Sample] = []
        for tt, tx in self._auto:
            out += self._parse(tx, tt)
        self._auto = []
        return out if buffered else out + self._parse(text, t)

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
