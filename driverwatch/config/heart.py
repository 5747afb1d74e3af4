from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from driverwatch.config.base import PATH_MAX, Section, _empty_is_default

MAX_BAUD = 4_000_000  # the fastest USB serial chips (FTDI FT232H class); Linux termios takes any rate up to it


def _device_path(v: str | None) -> str | None:
    if v is None:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in v):
        raise ValueError("a device path cannot contain a NUL byte or other control characters")
    if len(v.encode("utf-8", "surrogateescape")) > PATH_MAX:
        raise ValueError(f"path longer than the system's limit of {PATH_MAX} bytes")
    return v


# A serial device path; empty = none. NUL / control characters and over-long paths are rejected.
DevicePath = Annotated[str | None, BeforeValidator(_empty_is_default), AfterValidator(_device_path)]


class HeartConfig(Section):
    """The serial heart-rate sensor, beat detection and HRV (stress rules: [monitor.stress])."""

    port: DevicePath = Field(
        None, title="Serial port",
        description="Device path, preferably the stable /dev/serial/by-id/... link (ttyUSB/ttyACM numbers "
        "change between boots); empty = no heart sensor.")
    baud: int = Field(
        115200, ge=50, le=MAX_BAUD, title="Baud rate",
        description="Serial speed in bit/s. 115200 is what Arduino-class PPG/ECG sketches use; 500 Hz raw "
        "samples as 'millis,value' lines need ~70 kbit/s, so 9600 is too slow for raw signals. 50 to 4000000.")
    protocol: Literal["auto", "bpm", "rr", "raw", "json"] = Field(
        "auto", title="Protocol",
        description="Line format: 'bpm' (one heart rate per line: 72, BPM:72, HR=72.5), 'rr' (beat-to-beat "
        "interval in ms per line), 'raw' (PPG/ECG samples, optionally 'millis,value'), 'json' (objects with "
        "hr, rr list, ts), or 'auto' to recognise it from the first lines.")
    signal: Literal["ppg", "ecg"] = Field(
        "ppg", title="Raw signal kind",
        description="What 'raw' samples are: 'ppg' (pulse, e.g. a finger/ear clip; most hobby sensors) or "
        "'ecg' (chest/hand electrodes). Selects the beat detector's band and windows (Elgendi 2013).")
    sample_rate: float = Field(
        100.0, gt=0, le=5000, title="Raw sample rate",
        description="Hz of 'raw' samples when lines carry no time column; samples are then timed by this "
        "rate (with a time column the rate is measured). 100 Hz is the usual PPG rate of hobby sensors; use "
        ">= 250 Hz for ECG so that R-peak times (and so RMSSD) are accurate to a few ms.")
    time_unit: Literal["ms", "us", "s"] = Field(
        "ms", title="Device time unit",
        description="Unit of a device timestamp column in 'raw' lines ('millis,value' from Arduino millis() "
        "is ms) and of 'ts' in 'json' objects.")
    hr_min: float = Field(25.0, gt=0, le=300, title="Minimum heart rate",
                          description="bpm; lower values are counted as invalid and skipped (below any "
                          "awake adult, even trained athletes).")
    hr_max: float = Field(240.0, gt=0, le=300, title="Maximum heart rate",
                          description="bpm; higher values are counted as invalid and skipped (above the "
                          "physiological maximum, ~220 minus age).")
    rr_min_ms: float = Field(250.0, ge=100, le=6000, title="Minimum RR",
                             description="ms; shorter beat intervals are artefacts (240 bpm).")
    rr_max_ms: float = Field(2400.0, ge=100, le=6000, title="Maximum RR",
                             description="ms; longer beat intervals are artefacts or missed beats (25 bpm).")
    ectopic_threshold: float = Field(
        0.2, gt=0, lt=1, title="Ectopic threshold",
        description="An RR interval differing from the median of the recent accepted ones by more than this "
        "fraction is rejected as ectopic or artefact (Malik et al. 1989 use 20 %).")
    hr_window_s: float = Field(
        10.0, ge=2, le=600, title="HR window",
        description="Seconds of beats averaged into the heart rate: short enough to follow changes, long "
        "enough to span ~10 beats.")
    hrv_window_s: float = Field(
        60.0, ge=10, le=600, title="HRV window",
        description="Seconds of RR intervals for RMSSD, SDNN and pNN50; ultra-short RMSSD agrees well with "
        "5-min values from about 30-60 s on (Munoz et al. 2015; Shaffer & Ginsberg 2017), SDNN needs longer.")
    lf_hf_window_s: float = Field(
        300.0, ge=30, le=3600, title="LF/HF window",
        description="Seconds of RR intervals for the LF/HF ratio; the 1996 Task Force standard for short-term "
        "spectral HRV is 5 min.")
    lf_hf_min_s: float = Field(
        120.0, gt=0, le=3600, title="LF/HF minimum",
        description="Seconds of clean RR needed before LF/HF is reported (unknown before): LF reaches down to "
        "0.04 Hz, so a window must hold several of its 25 s cycles (Task Force 1996: >= 2 min).")
    update_s: float = Field(1.0, ge=0.1, le=60, title="Update interval",
                            description="Seconds between heart feature outputs.")
    lost_after_s: float = Field(
        2.0, gt=0, le=10, title="Sensor lost after",
        description="Seconds without a valid value before the sensor is reported lost; 2 s keeps the report "
        "within 3 s while tolerating a slow 1 Hz bpm sensor missing one line.")
    queue_size: int = Field(
        64, gt=0, le=100_000, title="Queue size",
        description="Feature records buffered for the consumer; when it falls behind the oldest are dropped "
        "and counted, so the serial thread never blocks the camera path (64 s at 1 Hz).")

    @model_validator(mode="after")
    def _ranges(self):
        if self.hr_min >= self.hr_max:
            raise ValueError("hr_min must be below hr_max")
        if self.rr_min_ms >= self.rr_max_ms:
            raise ValueError("rr_min_ms must be below rr_max_ms")
        return self
