"""driverwatch: driver-state monitoring for in-car computers.

Data flows through the sub-packages in this order:
sources (camera, heart sensor) -> vision / physio (landmarks, beats) -> monitor (drowsiness,
attention, stress, calibration, escalation) -> sinks (chime, MQTT, outbox, log), wired by daemon.
"""

__version__ = "0.1.0"
