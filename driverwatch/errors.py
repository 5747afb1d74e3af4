"""Errors a user can act on. The CLI prints them as one line and exits with `exit_code`
(sysexits.h values, so systemd's RestartPreventExitStatus can tell a bad config from a crash)."""


class DriverwatchError(Exception):
    exit_code = 1


class UsageError(DriverwatchError):
    exit_code = 64  # EX_USAGE


class InputError(DriverwatchError):
    """An input file is missing, empty, truncated or not what it claims to be."""

    exit_code = 66  # EX_NOINPUT


class DeviceError(DriverwatchError):
    """A camera, serial port or audio device cannot be opened."""

    exit_code = 69  # EX_UNAVAILABLE


class PermissionDeniedError(DeviceError):
    exit_code = 77  # EX_NOPERM


class ConfigError(DriverwatchError):
    """Invalid configuration (including missing or corrupt model files)."""

    exit_code = 78  # EX_CONFIG
