"""Reported heart rate against the truth: the rate of the reference beats in the same trailing window
(hr_window_s) at each feature time. Real ECG from ../shared: record 100 (cardiologists' annotations) and
drivedb drive17b (a real drive; reference beats from wfdb's XQRS, an independent detector)."""

import numpy as np
import pytest
from fixtures.data import shared_file

from driverwatch.config.heart import HeartConfig
from driverwatch.physio.pipeline import HeartPipeline
from driverwatch.physio.wfdb_io import read_record

BEAT_CODES = set("NLRBAaJSVrFejnE/fQ?")


def _truth(ref: np.ndarray, t: float, window: float) -> float | None:
    i = np.flatnonzero((ref > t - window) & (ref <= t))
    i = i[i > 0]
    return 60.0 / float(np.mean(ref[i] - ref[i - 1])) if i.size >= 3 else None


def _deviation(feats, ref, window: float, label: str) -> tuple[float, float]:
    d = []
    for hf in feats:
        tr = _truth(ref, hf.t, window)
        if hf.hr is not None and tr is not None:
            d.append(abs(hf.hr - tr))
    d = np.asarray(d)
    mean, p95 = float(d.mean()), float(np.percentile(d, 95))
    print(f"{label}: |HR - truth| over {d.size} feature records: mean {mean:.2f} bpm, p95 {p95:.2f} bpm, "
          f"max {d.max():.1f}")
    assert d.size > 0.9 * len(feats)
    return mean, p95


def _raw_features(ch, cfg):
    x = np.nan_to_num(ch.data, nan=float(np.nanmedian(ch.data)))
    t = np.arange(x.size) / ch.fs
    pipe = HeartPipeline(cfg, kind="ecg")
    feats = []
    step = int(ch.fs)
    for i in range(0, t.size, step):
        feats += pipe.add_raw(t[i:i + step], x[i:i + step])
    return feats + pipe.finish()


@pytest.fixture(scope="module")
def ann100():
    wfdb = pytest.importorskip("wfdb")
    shared_file("data/ecg/100.dat")
    ann = wfdb.rdann(str(shared_file("data/ecg/100.atr"))[:-4], "atr")
    return np.array([s for s, c in zip(ann.sample, ann.symbol, strict=True) if c in BEAT_CODES]) / 360.0


@pytest.mark.slow
def test_drive17b_heart_rate_is_within_3_bpm_of_the_reference_beats_at_p95():
    processing = pytest.importorskip("wfdb.processing")
    shared_file("data/ecg/drive17b.dat")
    ch = read_record(shared_file("data/ecg/drive17b.hea")).channel("ECG")
    x = np.nan_to_num(ch.data, nan=float(np.nanmedian(ch.data)))
    ref = processing.xqrs_detect(x, ch.fs, verbose=False) / ch.fs
    cfg = HeartConfig(signal="ecg")
    mean, p95 = _deviation(_raw_features(ch, cfg), ref, cfg.hr_window_s, "drive17b ECG")
    assert mean <= 1.0 and p95 <= 3.0  # before: mean 1.26, p95 6.94 (Malik's 20 % rule on the HR)


@pytest.mark.slow
def test_record_100_heart_rate_against_the_annotated_beats(ann100):
    ref = ann100
    cfg = HeartConfig(signal="ecg")
    ch = read_record(shared_file("data/ecg/100.hea")).channel("MLII")
    mean, p95 = _deviation(_raw_features(ch, cfg), ref, cfg.hr_window_s, "record 100 MLII")
    assert mean <= 1.0 and p95 <= 3.0  # before: mean 0.24, p95 1.73


@pytest.mark.parametrize("missed,extra", [(0.03, 0.0), (0.0, 0.03), (0.02, 0.02)])
def test_missed_and_false_beats_barely_move_the_rate(ann100, missed, extra):
    """A detector's slips on the annotated beats of record 100 (first 10 min): a beat left out, a false
    beat between two real ones. The rate follows the true beats, not the slips."""
    rng = np.random.default_rng(3)
    ref = ann100[ann100 < 600.0]
    beats = ref[rng.random(ref.size) >= missed]
    i = rng.integers(0, beats.size - 1, int(extra * ref.size))
    beats = np.sort(np.concatenate([beats, beats[i] + rng.uniform(0.15, 0.5, i.size) * (beats[i + 1] - beats[i])]))
    cfg = HeartConfig(signal="ecg", lf_hf_window_s=60.0)
    pipe = HeartPipeline(cfg, kind="ecg")
    feats = []
    for b in beats:
        feats += pipe.add_beat(float(b))
    mean, p95 = _deviation(feats, ref, cfg.hr_window_s, f"record 100 beats, {missed:.0%} missed, {extra:.0%} false")
    assert mean <= 1.0 and p95 <= 3.0
