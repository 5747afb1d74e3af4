"""ECG or PPG: a CSV's column name is honoured and an unnamed signal is judged by its waveform, so an ECG
is not run through the PPG detector (which counts T waves as beats). Real recordings from ../shared."""

import numpy as np
import pytest
from fixtures.data import shared_file
from support.util import run_cli

from driverwatch.physio.recording import load_recording
from driverwatch.physio.wfdb_io import read_record

BEAT_CODES = set("NLRBAaJSVrFejnE/fQ?")  # MIT-BIH beat annotations
_MIN = 5  # minutes of record 100 written out (its annotations are the truth)


def _write_csv(path, t, v, header):
    rows = "".join(f"{a:.5f},{b:.4f}\n" for a, b in zip(t, v, strict=True))
    path.write_text((f"{header}\n" if header else "") + rows)
    return path


def _se_ppv(ref, found, tol=0.150):
    used = np.zeros(found.size, bool)
    tp = 0
    for x in ref:
        k = np.searchsorted(found, x)
        c = [j for j in (k - 1, k) if 0 <= j < found.size and not used[j] and abs(found[j] - x) <= tol]
        if c:
            used[min(c, key=lambda j: abs(found[j] - x))] = True
            tp += 1
    return tp / ref.size, tp / found.size


@pytest.fixture(scope="module")
def rec100():
    shared_file("data/ecg/100.dat")
    return read_record(shared_file("data/ecg/100.hea"))


def _csv100(tmp_path, rec100, channel, header, minutes=_MIN):
    ch = rec100.channel(channel)
    n = int(minutes * 60 * ch.fs)
    return _write_csv(tmp_path / "holter.csv", np.arange(n) / ch.fs, ch.data[:n], header), ch.fs, n


@pytest.mark.parametrize("channel", ["MLII", "V5"])
@pytest.mark.parametrize("header", ["t_s,ecg_mv", "time,value", None], ids=["ecg_mv", "unnamed", "no-header"])
def test_an_ecg_csv_is_ecg(tmp_path, rec100, channel, header):
    csv, fs, _ = _csv100(tmp_path, rec100, channel, header, minutes=1)
    assert load_recording(csv, rate=fs).kind == "ecg"


@pytest.mark.slow
@pytest.mark.parametrize("channel,header", [("MLII", "t_s,ecg_mv"), ("V5", None)])
def test_replayed_ecg_csv_beats_match_the_annotations(tmp_path, rec100, channel, header):
    """Read as PPG, MLII gave +P 59 % (T waves counted)."""
    wfdb = pytest.importorskip("wfdb")
    csv, fs, n = _csv100(tmp_path, rec100, channel, header)
    beats = tmp_path / "beats.txt"
    run_cli("replay", "--heart", csv, "--heart-rate", fs, "--beats-out", beats, check=True)
    found = np.loadtxt(beats)
    ann = wfdb.rdann(str(shared_file("data/ecg/100.atr"))[:-4], "atr", sampto=n)
    ref = np.array([s for s, c in zip(ann.sample, ann.symbol, strict=True) if c in BEAT_CODES]) / fs
    se, ppv = _se_ppv(ref, found)
    print(f"record 100 {channel}, {header or 'no header'}: {ref.size} annotated beats, Se {se:.4f}, +P {ppv:.4f}")
    assert se >= 0.99 and ppv >= 0.99, (se, ppv)


def test_the_drive_ecg_unnamed_is_ecg(tmp_path):
    shared_file("data/ecg/drive17b.dat")
    ch = read_record(shared_file("data/ecg/drive17b.hea")).channel("ECG")
    n = int(120 * ch.fs)
    v = np.nan_to_num(ch.data[:n], nan=float(np.nanmedian(ch.data[:n])))
    csv = _write_csv(tmp_path / "drive.csv", np.arange(n) / ch.fs, v, "time,value")
    assert load_recording(csv).kind == "ecg"


@pytest.mark.parametrize("name,rate", [("heartpy_data.csv", 100.0), ("heartpy_data2.csv", None),
                                       ("heartpy_data3.csv", None)])
def test_ppg_recordings_are_ppg(name, rate):
    """HeartPy's column is called "hr" but holds the raw PPG: the waveform decides."""
    assert load_recording(shared_file(f"data/ppg/{name}"), rate=rate).kind == "ppg"


def test_the_column_name_wins_over_the_waveform(tmp_path, rec100):
    ch = rec100.channel("MLII")
    n = int(30 * ch.fs)
    csv = _write_csv(tmp_path / "x.csv", np.arange(n) / ch.fs, ch.data[:n], "t,ppg")
    assert load_recording(csv).kind == "ppg"
    tab = np.loadtxt(shared_file("data/ppg/heartpy_data2.csv"), delimiter=",", skiprows=1)
    csv = _write_csv(tmp_path / "y.csv", tab[:, 0] / 1000, tab[:, 1], "t,ECG")
    assert load_recording(csv).kind == "ecg"


def test_too_short_or_too_slow_to_judge_is_left_to_the_config(tmp_path, rec100):
    ch = rec100.channel("MLII")
    n = int(2 * ch.fs)
    assert load_recording(_write_csv(tmp_path / "a.csv", np.arange(n) / ch.fs, ch.data[:n], None)).kind is None
    v = ch.data[: int(60 * ch.fs): 12]  # 30 Hz
    assert load_recording(_write_csv(tmp_path / "b.csv", np.arange(v.size) / 30.0, v, None)).kind is None
