"""Optional GPIO buzzer and LED on a Raspberry Pi: gpiozero if importable, else lgpio, else a no-op
(one log line). Pins are BCM numbers; `set()` only touches the hardware when a level changes."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class GpioOutputs:
    def __init__(self, buzzer_pin: int | None = None, led_pin: int | None = None):
        self.pins = {"buzzer": buzzer_pin, "led": led_pin}
        self.backend: str | None = None
        self.error: str | None = None
        self._state = {"buzzer": False, "led": False}
        self._devices: dict = {}
        self._chip = None
        wanted = {k: p for k, p in self.pins.items() if p is not None}
        if not wanted:
            return
        errors = []
        for name, opener in (("gpiozero", self._open_gpiozero), ("lgpio", self._open_lgpio)):
            try:
                opener(wanted)
            except Exception as err:  # ImportError, or no GPIO chip on this machine
                self.close()
                errors.append(f"{name}: {type(err).__name__}: {err}")
                continue
            self.backend = name
            log.info("GPIO outputs via %s: %s", name, ", ".join(f"{k} on BCM {p}" for k, p in wanted.items()))
            return
        self.error = "; ".join(errors)
        log.warning("GPIO buzzer/LED disabled (no usable GPIO library: %s)", self.error)

    def _open_gpiozero(self, wanted: dict) -> None:
        from gpiozero import OutputDevice

        for k, pin in wanted.items():
            self._devices[k] = OutputDevice(pin, active_high=True, initial_value=False)

    def _open_lgpio(self, wanted: dict) -> None:
        import lgpio

        self._chip = lgpio.gpiochip_open(0)
        for k, pin in wanted.items():
            lgpio.gpio_claim_output(self._chip, pin, 0)
            self._devices[k] = pin

    @property
    def active(self) -> bool:
        return self.backend is not None

    def set(self, buzzer: bool = False, led: bool = False) -> None:
        if self.backend is None:
            return
        for k, on in (("buzzer", buzzer), ("led", led)):
            if k not in self._devices or self._state[k] == on:
                continue
            self._state[k] = on
            try:
                if self.backend == "gpiozero":
                    self._devices[k].value = on
                else:
                    import lgpio

                    lgpio.gpio_write(self._chip, self._devices[k], int(on))
            except Exception as err:
                self.error = f"{k}: {err}"
                log.warning("GPIO %s write failed: %s", k, err)

    def close(self) -> None:
        if self.backend is not None:
            self.set(False, False)
        for dev in self._devices.values():
            if hasattr(dev, "close"):
                dev.close()
        if self._chip is not None:
            import lgpio

            lgpio.gpiochip_close(self._chip)
            self._chip = None
        self._devices = {}
