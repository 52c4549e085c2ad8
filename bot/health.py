"""What ``/healthz`` reports besides the database ping: problems the running bot noticed, by component.

A component (``"storage"`` for failing writes, ``"telegram"`` while the Bot API cannot be reached at start, …)
is either fine or has one reason. The first time a component goes wrong, staff are alerted once (when an
alert function was set) and one warning is logged; repeated failures of the same incident stay quiet until
the component recovers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Alert = Callable[[str, str], Awaitable[None]]  # (component, reason): the composition root words it for staff


class Health:
    """The live problems of the bot; each component has at most one reason at a time."""

    def __init__(self) -> None:
        self._problems: dict[str, str] = {}
        self._alert: Alert | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def set_alert(self, alert: Alert | None) -> None:
        """Who to tell (once per incident) when a component with ``alert=True`` goes wrong."""
        self._alert = alert

    def problem(self, component: str, reason: str, *, alert: bool = False) -> None:
        """Record that ``component`` is failing for ``reason``; a new incident logs once and alerts staff once."""
        if component in self._problems:  # the same incident: its first reason says most
            return
        self._problems[component] = reason[:300]
        log.warning("%s is failing: %s", component, reason[:300])
        if alert and self._alert is not None:
            try:
                task = asyncio.get_running_loop().create_task(self._send(component, reason))
            except RuntimeError:  # no event loop (a command-line tool): the log line is all we can do
                return
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, component: str, reason: str) -> None:
        assert self._alert is not None
        try:
            await self._alert(component, reason)
        except Exception:  # the alert path may be broken too; the log line above already says it
            log.warning("could not alert staff about a failing component")

    def clear(self, component: str) -> None:
        """``component`` works again."""
        if self._problems.pop(component, None) is not None:
            log.info("%s works again", component)

    def problems(self) -> dict[str, str]:
        """Component → reason, for every failing component."""
        return dict(self._problems)

    @property
    def ok(self) -> bool:
        """True when nothing is failing."""
        return not self._problems
