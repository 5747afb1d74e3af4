from pathlib import Path
from typing import Literal

from pydantic import Field

from driverwatch.config.base import Section


class ChimeConfig(Section):
    """In-cab chimes (ALSA) and optional GPIO buzzer / LED. Tones are synthesised, no sound files."""

    enabled: bool = Field(
        True, title="Enabled",
        description="Play notice and warning chimes. Critical alarms (e.g. microsleep, sleep) always sound: "
        "they cannot be disabled, only the output can be absent.",
    )
    output: Literal["alsa", "wav", "none"] = Field(
        "alsa", title="Output",
        description="'alsa': play through `player` (aplay). 'wav': write what would have been played into "
        "`wav_path` when the daemon stops (demo on a machine without a sound card). 'none': silent "
        "(no speaker fitted; `driverwatch check` then warns that alarms are not audible).",
    )
    device: str = Field(
        "default", title="ALSA device",
        description="ALSA PCM name given to the player as {device}, e.g. 'default', 'plughw:1,0' (USB speaker). "
        "'default' follows the system's ALSA configuration.",
    )
    player: str = Field(
        "aplay -q -t raw -f S16_LE -r {rate} -c 1 -D {device}", title="Player command",
        description="Command that plays raw signed 16-bit little-endian mono PCM from stdin ({rate} and "
        "{device} are filled in). aplay (alsa-utils) is on every Raspberry Pi OS image and runs out of "
        "process, so a stuck sound device can never block the monitor.",
    )
    volume: float = Field(
        0.8, ge=0.0, le=1.0, title="Volume",
        description="Peak amplitude of the warning and alarm tones, 0..1 of full scale (notices play 10 dB "
        "softer). 0.8 leaves headroom against clipping in cheap amplifiers; set the cab level with alsamixer.",
    )
    sample_rate: int = Field(
        22050, ge=8000, le=48000, title="Sample rate",
        description="Hz. 22050 reproduces every tone used (all below 3 kHz) with a wide margin at half the "
        "CPU and pipe traffic of 44100.",
    )
    notice_hz: float = Field(
        660.0, ge=200, le=4000, title="Notice pitch",
        description="Hz of the soft two-note notice chime (the second note is a fourth higher). Kept inside the "
        "500-3000 Hz band ISO 15006 recommends for in-vehicle auditory signals.",
    )
    warning_hz: float = Field(
        1000.0, ge=200, le=4000, title="Warning pitch",
        description="Hz of the insistent warning beeps (two bursts of three). Higher pitch and faster pulses "
        "are heard as more urgent (Edworthy, Loxley & Dennis 1991, Human Factors 33(2)). Lower it for "
        "drivers with high-frequency hearing loss.",
    )
    critical_hz: float = Field(
        1600.0, ge=200, le=4000, title="Alarm pitch",
        description="Hz of the continuous critical alarm (fast pulses alternating with a tone a fourth below), "
        "played until the condition ends.",
    )
    repeat_s: float = Field(
        20.0, ge=1.0, title="Repeat interval",
        description="Seconds: an update of a condition that is still active chimes again only after this long "
        "(or at once if its severity rose), so periodic updates do not chime every time yet a driver who "
        "ignored the first chime is reminded.",
    )
    max_delay_s: float = Field(
        2.0, ge=0.0, title="Maximum delay",
        description="Seconds a chime may wait behind another sound before it is dropped: a late chime "
        "no longer relates to what the driver just did.",
    )
    wav_path: Path = Field(
        Path("chimes.wav"), title="WAV file",
        description="Where output = 'wav' writes the chimes (relative paths are under the state directory).",
    )
    gpio_buzzer_pin: int | None = Field(
        None, ge=0, le=53, title="GPIO buzzer pin",
        description="BCM pin number of an active buzzer that sounds with the chimes (warning and critical "
        "only). Empty = none. Needs gpiozero or lgpio; without them it is skipped with one log line.",
    )
    gpio_led_pin: int | None = Field(
        None, ge=0, le=53, title="GPIO LED pin",
        description="BCM pin number of a warning LED, lit while any notice/warning/critical condition is active. "
        "Empty = none.",
    )
