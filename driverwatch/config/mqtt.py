from typing import Literal

from pydantic import Field, field_validator, model_validator

from driverwatch.config.base import OptionalPath, Section


class MqttTlsConfig(Section):
    """TLS to the broker. Relative file names are looked up in $CREDENTIALS_DIRECTORY first
    (systemd LoadCredential=), then the working directory."""

    enabled: bool = Field(
        False, title="TLS",
        description="Encrypt the connection (port 8883 unless `port` is set). Off by default because a "
        "fresh install usually talks to a broker on the same LAN; turn it on for any broker reached over "
        "a mobile network or the internet.",
    )
    ca_file: OptionalPath = Field(
        None, title="CA file",
        description="PEM file of the CA(s) that signed the broker's certificate. Empty: the system CA store "
        "(right for brokers with a public certificate).",
    )
    certfile: OptionalPath = Field(
        None, title="Client certificate",
        description="PEM client certificate, for brokers that authenticate devices by certificate (with `keyfile`).",
    )
    keyfile: OptionalPath = Field(
        None, title="Client key",
        description="PEM private key of the client certificate. Keep it readable only by the service "
        "(or pass it with LoadCredential=).",
    )
    insecure: bool = Field(
        False, title="Skip host-name check",
        description="Do not check that the broker's certificate matches `host`. Only for testing: it "
        "allows man-in-the-middle attacks.",
    )

    @model_validator(mode="after")
    def _pair(self):
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("certfile and keyfile must be given together")
        return self


class OutboxConfig(Section):
    """The on-device store-and-forward queue (SQLite, WAL): every event is written here before it is
    sent and deleted only when the broker acknowledges it."""

    path: OptionalPath = Field(
        None, title="Path",
        description="SQLite file. Empty: <daemon.state_dir>/outbox.sqlite.",
    )
    max_bytes: int = Field(
        20_000_000, ge=10_000, le=2**40, title="Size cap",
        description="Bytes of queued messages (topic + payload) kept while the broker is unreachable. An "
        "event is ~0.4 kB, so 20 MB holds ~50 000 events: weeks of alerts, and small next to a Pi's SD "
        "card. Over the cap the lowest-priority, oldest messages go first (stats snapshots, then info, "
        "notice, warning; critical safety events last).",
    )
    max_age_days: float = Field(
        7.0, gt=0, le=365, title="Maximum age",
        description="Days a message may wait for the broker before it is dropped. A week covers a vehicle "
        "parked out of coverage over a long weekend; older alerts no longer help a fleet operator act. "
        "Measured on the wall clock, so set the clock (NTP / RTC) on devices without a battery.",
    )
    sync: Literal["normal", "full"] = Field(
        "normal", title="Durability",
        description="SQLite `synchronous` mode. 'normal' (WAL): every event survives a crash or kill of "
        "the process; a power cut may lose the last few hundred milliseconds. 'full' fsyncs every event "
        "(survives power cuts too, but costs milliseconds per event on SD cards).",
    )


class DiscoveryConfig(Section):
    """Home Assistant MQTT discovery (device-based, HA 2024.12+)."""

    enabled: bool = Field(
        False, title="Enabled",
        description="Publish a retained device discovery config so that the driver state, drowsiness level "
        "and last alert appear in Home Assistant. Off by default: fleet brokers rarely run HA.",
    )
    prefix: str = Field(
        "homeassistant", title="Discovery prefix",
        description="Home Assistant's discovery prefix (its default is 'homeassistant'). The config is "
        "re-sent when HA's birth message (<prefix>/status = online) arrives.",
    )


class MqttConfig(Section):
    """Fleet telemetry over MQTT, with an on-disk outbox."""

    host: str | None = Field(
        None, max_length=253, title="Broker host",
        description="Empty = no broker; events go to the local log only.",
    )
    port: int | None = Field(
        None, ge=1, le=65535, title="Port",
        description="Broker TCP port. Empty: 1883, or 8883 with TLS (the IANA-registered MQTT ports).",
    )
    protocol: Literal["5", "3.1.1"] = Field(
        "5", title="Protocol",
        description="MQTT version. 5 lets the broker keep the session for `session_expiry_s` and returns "
        "reason codes for every publish; 3.1.1 for old brokers.",
    )
    keepalive: int = Field(
        30, ge=5, le=3600, title="Keep-alive",
        description="Seconds between pings when idle. The broker declares the vehicle `offline` (last will) "
        "after 1.5 x this without traffic; 30 s notices a lost link within a minute while costing a few "
        "bytes per minute on mobile data.",
    )
    client_id: str | None = Field(
        None, min_length=1, max_length=256, title="Client id",
        description="MQTT client id. Empty: driverwatch-<daemon.vehicle_id>. Must be unique per broker.",
    )
    username: str | None = Field(
        None, max_length=1024, title="Username",
        description="Broker user name. Empty: connect anonymously.",
    )
    password_file: OptionalPath = Field(
        None, title="Password file",
        description="File holding the broker password (first line). Never put the password in this file or "
        "on the command line. Empty: the credential `password_credential` if systemd passed one.",
    )
    password_credential: str = Field(
        "mqtt-password", title="Password credential",
        description="Name of the password under $CREDENTIALS_DIRECTORY (systemd LoadCredential=NAME:PATH), "
        "used when `password_file` is empty.",
    )
    topic_prefix: str = Field(
        "driverwatch/{vehicle_id}/", max_length=1024, title="Topic prefix",
        description="Prefix of every topic ({vehicle_id} is replaced): <prefix>available, events, state, "
        "stats, set/<command>, command_result.",
    )
    min_severity: Literal["info", "notice", "warning", "critical"] = Field(
        "notice", title="Minimum event severity",
        description="Events below this severity are neither sent nor queued in the outbox; the local event "
        "log keeps every event. 'notice' leaves out the info events (every blink, long blink, yawn): at 15-20 "
        "blinks a minute they are ~25 000 messages a day per vehicle, each a QoS-1 message on mobile data and "
        "an SQLite commit on the SD card, and they tell a fleet operator nothing the drowsiness alerts do not. "
        "The remedies' automation events (calm_suggestion, break_suggestion) are sent whatever this is.",
    )
    qos: Literal[1, 2] = Field(
        1, title="Event QoS",
        description="QoS of events and stats. 1 (at least once) is enough: subscribers de-duplicate by event "
        "id, and the outbox deletes an event only on PUBACK. 2 costs a second round trip per event.",
    )
    session_expiry_s: int = Field(
        3600, ge=0, le=0xFFFFFFFF, title="Session expiry",
        description="MQTT 5: seconds the broker keeps this client's session (subscriptions, queued commands) "
        "after a drop. One hour rides out tunnels and dead zones without leaving stale sessions forever. "
        "At most 4294967295 (a four-byte integer in MQTT 5; that value means never expire).",
    )
    reconnect_min_s: float = Field(
        1.0, gt=0, le=3600, title="Reconnect delay (min)",
        description="First wait before reconnecting; doubled after each failure up to `reconnect_max_s`.",
    )
    reconnect_max_s: float = Field(
        30.0, gt=0, le=3600, title="Reconnect delay (max)",
        description="Longest wait between reconnection attempts: 30 s bounds how late the backlog starts "
        "flowing after coverage returns without hammering a broker that is down.",
    )
    inflight: int = Field(
        20, ge=1, le=1000, title="In-flight window",
        description="Messages sent but not yet acknowledged. 20 (paho's and mosquitto's default) keeps a "
        "link with 100 ms round trips above 200 events/s.",
    )
    delayed_after_s: float = Field(
        5.0, ge=0, le=86400, title="Delayed after",
        description="An event published this many seconds after it was queued carries `delayed: true` and "
        "`delay_s`, so a dashboard does not mistake a backlog for live alerts.",
    )
    state_interval_s: float = Field(
        1.0, ge=0.1, le=3600, title="State rate limit",
        description="Minimum seconds between two retained `state` snapshots (sent only when they change).",
    )
    stats_interval_s: float = Field(
        60.0, ge=1, le=86400, title="Stats interval",
        description="Seconds between health snapshots on `stats` (fps, drops, sensor status, outbox depth, "
        "uptime): once a minute is enough for fleet monitoring and costs < 1 MB of data a month.",
    )
    tls: MqttTlsConfig = Field(default_factory=MqttTlsConfig, title="TLS")
    outbox: OutboxConfig = Field(default_factory=OutboxConfig, title="Outbox")
    discovery: DiscoveryConfig = Field(default_factory=DiscoveryConfig, title="Home Assistant discovery")

    @field_validator("protocol", mode="before")
    @classmethod
    def _protocol(cls, v):
        return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v

    @field_validator("host", "client_id", "username", "password_credential", "topic_prefix")
    @classmethod
    def _no_nul(cls, v):
        if v is not None and "\0" in v:  # MQTT strings must not contain U+0000
            raise ValueError("must not contain a NUL character")
        return v

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if "#" in v or "+" in v:
            raise ValueError("must not contain MQTT wildcards (# or +)")
        if v and not v.endswith("/"):
            v += "/"
        return v

    @model_validator(mode="after")
    def _delays(self):
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self
