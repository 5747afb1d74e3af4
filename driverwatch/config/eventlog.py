from pydantic import Field

from driverwatch.config.base import Section


class EventLogConfig(Section):
    """The local JSONL event log (works with or without a broker)."""

    enabled: bool = Field(
        True, title="Enabled",
        description="Write every event as one JSON line to <daemon.log_dir>/events.jsonl. On by default: it "
        "is the record for installs without a broker and costs little.",
    )
    max_bytes: int = Field(
        5_000_000, ge=10_000, title="File size",
        description="Bytes per log file before it is rotated (events.jsonl -> events.jsonl.1 ...). 5 MB is "
        "~12 000 events and opens quickly in any editor.",
    )
    backups: int = Field(
        5, ge=0, le=100, title="Rotated files kept",
        description="Old files kept besides the current one, so the log uses at most "
        "(backups + 1) x max_bytes on disk (30 MB by default).",
    )
