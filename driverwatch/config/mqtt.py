from pydantic import Field

from driverwatch.config.base import Section


class MqttConfig(Section):
    """Fleet telemetry over MQTT, with an on-disk outbox."""

    host: str | None = Field(None, title="Broker host", description="Empty = no broker; events go to the local log only.")
