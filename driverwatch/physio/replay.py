"""Heart recordings through the same physio code as a live run (the library part of
`driverwatch replay --heart FILE`; the command line is daemon/heart_replay.py).

`HeartReplay(path, cfg, ...).features()` yields time-ordered `HeartFeatures` (deterministic) and
writes `heart_out` (one JSON object per feature record, with the stress level) and `beats_out` (beat
times in seconds, one per line) as it goes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from driverwatch.config import Config
from driverwatch.errors import InputError
from driverwatch.monitor.events import EventIds
from driverwatch.monitor.stress import StressMonitor
from driverwatch.physio.pipeline import HeartPipeline
from driverwatch.physio.protocols import TIME_UNIT_S, LineParser
from driverwatch.physio.recording import load_recording
from driverwatch.samples import HeartFeatures

_CHUNK_S = 1.0


def _samples(rec, cfg) -> Iterator[tuple[str, list]]:
    """("raw", (t, v)) chunks or ("lines", samples) from the parser, in time order."""
    if rec.is_raw:
        n = max(1, round(_CHUNK_S * rec.t.size / max(rec.duration, 1e-9)))
        for i in range(0, rec.t.size, n):
            yield "raw", (rec.t[i:i + n], rec.v[i:i + n])
        return
    parser = LineParser(cfg)
    for t, line in rec.lines:
        yield "lines", parser.parse(line, t)


class HeartReplay:
    """One heart recording through the live pipeline. `features()` yields the `HeartFeatures` and
    writes `heart_out` / `beats_out` as it goes; `close()` (or the `with` block) closes them."""

    def __init__(self, path: str | Path, cfg: Config, *, rate: float | None = None, channel: str | None = None,
                 protocol: str | None = None, signal: str | None = None, heart_out: str | Path | None = None,
                 beats_out: str | Path | None = None, drive_id: str = "replay"):
        """`protocol` / `signal` override heart.protocol / the recording's kind; `rate` and `channel`
        are those of a CSV without a time column / a WFDB record."""
        hcfg = cfg.heart
        if protocol:
            hcfg = hcfg.model_copy(update={"protocol": protocol})
        path = Path(path)
        if not path.exists() and not path.with_suffix(".hea").exists() and not Path(f"{path}.hea").exists():
            raise InputError(f"heart recording not found: {path}")
        self.cfg = hcfg
        self.rec = load_recording(path, rate=rate, channel=channel,
                                  time_unit=TIME_UNIT_S[hcfg.time_unit], protocol=hcfg.protocol)
        kind = signal or self.rec.kind or hcfg.signal
        self.pipeline = HeartPipeline(hcfg, kind=kind)
        # The stress level in heart_out rows: the same StressMonitor the daemon's Monitor runs.
        self.stress = StressMonitor(cfg.monitor.stress, EventIds(drive_id)) if heart_out else None
        self._heart = open(heart_out, "w", encoding="utf-8") if heart_out else None  # noqa: SIM115
        self._beats = open(beats_out, "w", encoding="utf-8") if beats_out else None  # noqa: SIM115

    def __enter__(self) -> HeartReplay:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for f in (self._heart, self._beats):
            if f:
                f.close()
        self._heart = self._beats = None

    def features(self) -> Iterator[HeartFeatures]:
        pipe = self.pipeline
        for what, item in _samples(self.rec, self.cfg):
            yield from self._emit(pipe.add_raw(*item) if what == "raw" else pipe.feed(item))
        yield from self._emit(pipe.finish())
        if pipe.n_beats == 0 and self.rec.is_raw:
            raise InputError(f"no heart beats found in {self.rec.source} "
                             f"(wrong --heart-channel or --heart-signal?)")

    def _emit(self, feats: list[HeartFeatures]) -> Iterator[HeartFeatures]:
        beats = self.pipeline.new_beats
        if self._beats and beats:
            self._beats.write("".join(f"{b:.4f}\n" for b in beats))
        beats.clear()
        for hf in feats:
            if self.stress is not None and self._heart:
                self.stress.update(hf)
                row = hf.to_json()
                row["stress"] = self.stress.level
                row["stress_score"] = self.stress.snapshot()["score"]
                self._heart.write(json.dumps(row) + "\n")
            yield hf
