"""Time- and frequency-domain HRV from accepted RR intervals (ms).

Why no HRV library: RMSSD, SDNN and pNN50 are one-liners on numpy arrays; hrv-analysis / neurokit2 /
pyhrv would add pandas (and more) to the Pi image for these, and LF/HF is one scipy call (Lomb-Scargle,
which needs no resampling of the uneven RR series; Task Force 1996 bands LF 0.04-0.15, HF 0.15-0.4 Hz).
"""

from __future__ import annotations

import numpy as np

_FREQS = np.arange(0.04, 0.4001, 0.005)
_LF = (_FREQS >= 0.04) & (_FREQS < 0.15)
_HF = (_FREQS >= 0.15) & (_FREQS <= 0.40)


def rmssd(diffs: np.ndarray) -> float | None:
    """Root mean square of successive differences, from the differences of adjacent accepted RRs."""
    return float(np.sqrt(np.mean(diffs * diffs))) if diffs.size >= 2 else None


def sdnn(rr: np.ndarray) -> float | None:
    return float(np.std(rr, ddof=1)) if rr.size >= 3 else None


def pnn50(diffs: np.ndarray) -> float | None:
    return float(np.mean(np.abs(diffs) > 50.0)) if diffs.size >= 2 else None


def lf_hf(t: np.ndarray, rr: np.ndarray) -> float | None:
    """LF/HF power ratio of RR intervals `rr` (ms) at beat times `t` (s), Lomb-Scargle periodogram."""
    if rr.size < 30:
        return None
    from scipy import signal  # on first use: a vision-only replay skips scipy's ~1-3 s import

    x = signal.detrend(rr)
    p = signal.lombscargle(t, x, 2 * np.pi * _FREQS)
    lf, hf = p[_LF].sum(), p[_HF].sum()
    return float(lf / hf) if hf > 0 else None
