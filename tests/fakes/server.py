"""A Starlette app served by uvicorn in a background thread: what the fake Telegram, Zalo and Graph APIs run on."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette


class ThreadedServer:
    """Serve ``app`` on ``host:port`` in a daemon thread with its own event loop; ``start`` waits until it listens.

    ``on_loop`` runs in that thread with the new loop before serving (for fakes that keep loop-bound objects).
    """

    def __init__(
        self,
        app: Starlette,
        *,
        host: str,
        port: int,
        name: str,
        grace: float = 1.0,
        on_loop: Callable[[asyncio.AbstractEventLoop], None] | None = None,
    ) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                                timeout_graceful_shutdown=grace)
        self._server = uvicorn.Server(config)
        self._name = name
        self._on_loop = on_loop
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start serving and wait (10 s at most) until the server accepts connections."""

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            if self._on_loop is not None:
                self._on_loop(loop)
            loop.run_until_complete(self._server.serve())
            loop.close()

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self._name} server did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        """Ask the server to exit and join its thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
