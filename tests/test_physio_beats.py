"""Beat detection, WFDB reading and heart features on real PhysioNet recordings."""

import numpy as np
import pytest
from fixtures.data import shared_file

from driverwatch.config.affect import StressConfig
from driverwatch.config.heart import HeartConfig
from driverwatch.monitor.stress import StressMonitor
from driverwatch.physio.beats import BeatDetector, RRFilter, detect_beats
from driverwatch.physio.pipeline import HeartPipeline
from driverwatch.physio.wfdb_io import read_record

# MIT-BIH beat annotation codes (non-beat annotations such as rhythm changes are excluded)
BEAT_CODES = set("NLRBAaJSVrFejnE/fQ?")


def _match(ref: np.ndarray, found: np.ndarray, tol: float) -> int:
    """Number of reference beats with a detected beat within `tol` s (each detection used once)."""
    used = np.zeros(found.size, bool)
    tp = 0
    for x in ref:
        k = np.searchsorted(found, x)
        cands = [j for j in (k - 1, k) if 0 <= j < found.size and not used[j] and abs(found[j] - x) <= tol]
        if cands:
            used[min(cands, key=lambda j: abs(found[j] - x))] = True
            tp += 1
    return tp


@pytest.fixture(scope="module")
def rec100():
    shared_file("data/ecg/100.dat")
    return read_record(shared_file("data/ecg/100.hea"))


@pytest.fixture(scope="module")
def drive17b():
    shared_file("data/ecg/drive17b.dat")
    return read_record(shared_file("data/ecg/drive17b.hea"))


@pytest.mark.slow
def test_wfdb_reader_matches_the_wfdb_package(rec100, drive17b):
    wfdb = pytest.importorskip("wfdb")
    ref = wfdb.rdrecord(str(shared_file("data/ecg/100.hea"))[:-4])
    for i, name in enumerate(ref.sig_name):
        np.testing.assert_allclose(rec100.channel(name).data, ref.p_signal[:, i], atol=1e-9)
    ref = wfdb.rdrecord(str(shared_file("data/ecg/drive17b.hea"))[:-4], smooth_frames=False)
    assert [c.name for c in drive17b.channels] == ref.sig_name
    for i, ch in enumerate(drive17b.channels):
        assert ch.fs == pytest.approx(ref.fs * ref.samps_per_frame[i])
        np.testing.assert_allclose(ch.data, ref.e_p_signal[i], atol=1e-9, equal_nan=True)


@pytest.mark.slow
def test_record_100_r_peaks_match_cardiologist_annotations(rec100):
    wfdb = pytest.importorskip("wfdb")
    ann = wfdb.rdann(str(shared_file("data/ecg/100.atr"))[:-4], "atr")
    ref = np.array([s for s, c in zip(ann.sample, ann.symbol, strict=True) if c in BEAT_CODES]) / 360.0
    assert ref.size == 2273
    ch = rec100.channel("MLII")
    found = detect_beats(ch.data, ch.fs, "ecg")
    tp = _match(ref, found, 0.150)
    sensitivity, ppv = tp / ref.size, tp / found.size
    assert sensitivity >= 0.995, f"Se {sensitivity:.4f}"
    assert ppv >= 0.995, f"+P {ppv:.4f}"


@pytest.mark.slow
def test_streaming_gives_the_same_beats_whatever_the_chunking(rec100):
    ch = rec100.channel("MLII")
    x = ch.data[: int(300 * ch.fs)]
    whole = detect_beats(x, ch.fs, "ecg")
    det = BeatDetector(ch.fs, "ecg")
    rng = np.random.default_rng(1)
    out, i = [], 0
    while i < x.size:
        n = int(rng.integers(1, 900))
        out += det.feed(x[i:i + n])
        i += n
    out += det.flush()
    assert whole.size > 300
    np.testing.assert_array_equal(np.asarray(out) / ch.fs, whole)


def _drive17b_features(rec, cfg):
    ecg = rec.channel("ECG")
    t = np.arange(ecg.data.size) / ecg.fs
    pipe = HeartPipeline(cfg, kind="ecg")
    feats, beats = [], []
    step = int(ecg.fs)
    for i in range(0, t.size, step):
        feats += pipe.add_raw(t[i:i + step], ecg.data[i:i + step])
        beats += pipe.new_beats
        pipe.new_beats.clear()
    feats += pipe.finish()
    beats += pipe.new_beats
    return feats, np.array(beats)


@pytest.fixture(scope="module")
def drive17b_feats(drive17b):
    cfg = HeartConfig(signal="ecg")
    feats, beats = _drive17b_features(drive17b, cfg)
    return cfg, feats, beats


@pytest.mark.slow
def test_drive17b_heart_rate_matches_the_recorders_hr_channel(drive17b, drive17b_feats):
    _, _, beats = drive17b_feats
    hr = drive17b.channel("HR")
    th = np.arange(hr.data.size) / hr.fs
    rr = np.diff(beats) * 1000.0
    f = RRFilter()
    ok = np.array([f.accept(x) for x in rr])
    diffs = []
    for s in np.arange(0.0, th[-1] - 10.0, 10.0):
        m = (beats[1:] >= s) & (beats[1:] < s + 10) & ok
        ref = hr.data[(th >= s) & (th < s + 10)]
        if m.sum() >= 3 and np.isfinite(ref).any():
            diffs.append(abs(60000.0 / rr[m].mean() - np.nanmean(ref)))
    assert len(diffs) >= 140  # nearly all of the 25 min
    assert np.mean(diffs) <= 2.0, f"mean |HR - device HR| = {np.mean(diffs):.2f} bpm"


@pytest.mark.slow
def test_drive17b_stress_is_higher_while_driving_than_in_the_final_rest(drive17b_feats):
    """Learned in time order as the daemon does, from the first 2 min of the record (mid-drive) on: the
    baseline moves to the calmest stretch, so the rest is judged against rest and never reads elevated."""
    cfg, feats, _ = drive17b_feats
    sm = StressMonitor(StressConfig())
    drive, rest, events, rest_levels = [], [], [], []
    for hf in feats:
        events += sm.update(hf)
        if sm.score is None:
            continue
        if hf.t < 10.1 * 60:
            drive.append(sm.score)
        elif hf.t > 10.2 * 60 + cfg.hrv_window_s:  # once the HRV window holds only rest
            rest.append(sm.score)
            rest_levels.append(sm.level)
    assert sm.calibrated and len(drive) > 200 and len(rest) > 500
    # judged as it goes (the baseline is still mid-drive then): 0.37 against -0.11 in the rest
    assert np.mean(drive) > np.mean(rest) + 0.3, (np.mean(drive), np.mean(rest))
    assert sm.baseline_hr < 72.0, sm.baseline_hr  # the rest's rate, not the 76 bpm of the first minutes
    assert set(rest_levels) == {"normal"}
    stress = [e for e in events if e.kind == "stress"]
    assert stress and all(e.t_start < 10.1 * 60 for e in stress)  # the elevated stretch is in the drive
    # ...and ends where the rate falls as the rest begins (~10.4 min), reported once confirmed
    assert [e.type for e in stress] == ["start", "end"] and stress[1].t_end <= 10.5 * 60, stress[1]


@pytest.mark.slow
def test_drive17b_levels_against_a_resting_baseline(drive17b_feats):
    """A stored resting baseline (4 min of good features from the last 5 min of rest, 20.4-25.4 min) marks most of the
    drive as elevated or high, and the rest at 11.2-20 min (not used for it) mostly as normal."""
    cfg, feats, _ = drive17b_feats
    learn = StressMonitor(StressConfig().model_copy(update={"calibration_s": 240.0}))
    for hf in feats:
        if hf.t >= 20.4 * 60 and not learn.calibrated:  # its first stretch: the median of 4 min
            learn.update(hf)
    assert learn.calibrated
    sm = StressMonitor(StressConfig())
    sm.set_baseline(learn.baseline_hr, learn.baseline_rmssd)
    levels = {"drive": [], "rest": []}
    events = []
    for hf in feats:
        events += sm.update(hf)
        if sm.level is None:
            continue
        if hf.t < 10.1 * 60:
            levels["drive"].append(sm.level != "normal")
        elif 11.2 * 60 < hf.t < 20 * 60:
            levels["rest"].append(sm.level != "normal")
    # the rest's score jitters +-0.25 around the hysteresis line: a level is left once it held 80 % of 30 s
    assert np.mean(levels["drive"]) > 0.7, np.mean(levels["drive"])
    assert np.mean(levels["rest"]) < 0.2, np.mean(levels["rest"])
    starts = [e for e in events if e.kind == "stress" and e.type == "start"]
    assert starts and starts[0].t < 10.1 * 60
    assert all(e.evidence["baseline_hr"] == pytest.approx(learn.baseline_hr, abs=1e-3) for e in starts)


def test_rr_filter_rejects_a_premature_beat_and_its_compensatory_pause():
    f = RRFilter()
    rr = [800, 810, 790, 805, 800, 480, 1120, 800, 795, 810]
    accepted = [f.accept(x) for x in rr]
    assert accepted == [True] * 5 + [False, False] + [True] * 3


def test_rr_filter_follows_a_real_change_of_rate():
    f = RRFilter()
    rr = [1000] * 6 + [600] * 12
    accepted = [f.accept(x) for x in rr]
    assert not accepted[6] and all(accepted[-5:])


@pytest.mark.slow
def test_new_beats_stays_bounded_when_nobody_clears_it():
    """The live sensor never reads `new_beats`: a day of beats must not pile up in memory. (LF/HF off and
    features every 30 s, so that hours of beats take a second.)"""
    pipe = HeartPipeline(HeartConfig(lf_hf_window_s=30.0, lf_hf_min_s=60.0, update_s=30.0))
    t = 0.0
    for _ in range(20_000):  # ~4.6 h at 72 bpm
        t += 0.833
        pipe.add_rr(t, 833.0)
    assert pipe.n_beats == 20_000
    assert 0 < len(pipe.new_beats) <= 5000
    assert pipe.new_beats[-1] == pytest.approx(t)  # the newest are kept, the oldest forgotten
