"""Heart and speed settings that the protocol or the OS limits are bounded in the model: `run` with
such a config says what is wrong in one line, naming the key, and exits 78 (EX_CONFIG)."""

import pytest
from support.util import run_cli


@pytest.mark.parametrize("toml,key", [
    ('[heart]\nbaud = 9223372036854775807\n', "heart.baud"),  # OverflowError in termios before
    ('[heart]\nbaud = 0\n', "heart.baud"),
    ('[heart]\nport = "/dev/ttyUSB0\\u0000x"\n', "heart.port"),  # ValueError: embedded null byte before
    ('[heart]\nport = "/dev/tty\\nUSB0"\n', "heart.port"),
    (f'[heart]\nport = "/dev/{"x" * 5000}"\n', "heart.port"),
    ('[heart]\nhr_max = 1e9\n', "heart.hr_max"),
    ('[heart]\nrr_max_ms = 1e9\n', "heart.rr_max_ms"),
    ('[heart]\nqueue_size = 1000000000000\n', "heart.queue_size"),
    ('[heart]\nupdate_s = 1e-9\n', "heart.update_s"),
    ('[heart]\nhr_window_s = 1e12\n', "heart.hr_window_s"),
    ('[speed]\ngpsd_host = "gps host"\n', "speed.gpsd_host"),
    ('[speed]\ngpsd_host = ""\n', "speed.gpsd_host"),
    ('[speed]\nsource = "obd"\n', "speed"),
    ('[speed]\nsource = "obd"\nobd_port = "/dev/rfcomm0"\nobd_baud = 99999999999\n', "speed.obd_baud"),
    ('[speed]\nobd_port = "/dev/rfcomm\\u00000"\n', "speed.obd_port"),
    ('[speed]\nobd_interval_s = 0\n', "speed.obd_interval_s"),
])
def test_run_rejects_out_of_bounds_heart_and_speed_settings(tmp_path, toml, key):
    f = tmp_path / "bad.toml"
    f.write_text(toml)
    proc = run_cli("-c", f, "run", "--duration", "1", timeout=60)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 78, proc.stderr
    assert len(lines) == 1 and key in lines[0] and "Traceback" not in proc.stderr, proc.stderr


def test_the_bounds_admit_the_defaults_and_real_devices(tmp_path):
    f = tmp_path / "ok.toml"
    f.write_text('[heart]\nport = "/dev/serial/by-id/usb-Arduino_Uno-if00"\nbaud = 4000000\n'
                 '[speed]\nsource = "obd"\nobd_port = "/dev/rfcomm0"\n')
    proc = run_cli("-c", f, "config", "validate", timeout=60)
    assert proc.returncode == 0, proc.stderr
