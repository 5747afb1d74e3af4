"""The local live page (`[web]`): see server.py. aiohttp is imported only when the page is on."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def build(ctx):
    """The registry's builder (sinks/registry.py): the page started, or None when `web.enabled`
    is off or its address cannot be bound (said in one line; the daemon monitors on without it)."""
    cfg = ctx.cfg.web
    if not cfg.enabled:
        return None
    from driverwatch.errors import DriverwatchError
    from driverwatch.sinks.web.server import LivePage

    try:
        return LivePage(cfg).start()
    except DriverwatchError as err:
        log.error("%s; running without the page", err)
        return None
