"""Home Assistant MQTT discovery, device-based (`<prefix>/device/<object_id>/config`, HA 2024.12+).

One retained config announces the vehicle as a device with three sensors read from driverwatch's
own topics: driver state and drowsiness level (from the retained `state` snapshot) and the last
alert (from `events`). Availability follows `available` (anything but "online" is unavailable).
"""

from __future__ import annotations

import re

from driverwatch import __version__

# From the monitor's snapshot: the most recent active alert, else degraded / attentive / distracted.
DRIVER_STATE = ("{% if value_json.active %}{{ value_json.active[-1].kind }}"
                "{% elif value_json.degraded %}degraded"
                "{% elif value_json.attention == 'off_road' %}distracted{% else %}attentive{% endif %}")


def object_id(vehicle_id: str) -> str:
    return "driverwatch_" + re.sub(r"[^A-Za-z0-9_-]", "_", vehicle_id)


def discovery_topic(prefix: str, vehicle_id: str) -> str:
    return f"{prefix.rstrip('/')}/device/{object_id(vehicle_id)}/config"


def discovery_config(vehicle_id: str, topic_prefix: str) -> dict:
    oid = object_id(vehicle_id)
    state = topic_prefix + "state"

    def sensor(key: str, name: str, topic: str, template: str, icon: str) -> dict:
        return {"p": "sensor", "name": name, "unique_id": f"{oid}_{key}", "state_topic": topic,
                "value_template": template, "icon": icon}

    return {
        "dev": {"ids": [oid], "name": f"driverwatch {vehicle_id}", "mf": "driverwatch",
                "mdl": "driver-state monitor", "sw": __version__},
        "o": {"name": "driverwatch", "sw": __version__},
        "availability": [{
            "topic": topic_prefix + "available",
            "value_template": "{{ 'online' if value == 'online' else 'offline' }}",
        }],
        "qos": 1,
        "cmps": {
            f"{oid}_driver_state": sensor("driver_state", "Driver state", state, DRIVER_STATE, "mdi:account-eye"),
            f"{oid}_drowsiness": sensor("drowsiness", "Drowsiness level", state,
                                        "{{ value_json.drowsiness }}", "mdi:sleep"),
            f"{oid}_last_alert": sensor(
                "last_alert", "Last alert", topic_prefix + "events",
                "{{ value_json.kind if value_json.type == 'start' else this.state }}", "mdi:alert"),
        },
    }
