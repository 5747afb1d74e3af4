"""Driver-state monitor: deterministic rules from timestamped samples to states and events."""

from driverwatch.monitor.monitor import Monitor

__all__ = ["Monitor"]
