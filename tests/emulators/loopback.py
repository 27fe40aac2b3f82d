"""The HTTP plumbing the emulators share: a threaded server on 127.0.0.1 and a fixture helper."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackServer(ThreadingHTTPServer):
    """Serves `emulator` on a free port; sets `emulator.base_url` to root + `path`."""

    daemon_threads = True

    def __init__(self, emulator: Any, handler: type[BaseHTTPRequestHandler], path: str = "/"
                 ) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.emulator = emulator
        emulator.base_url = f"http://127.0.0.1:{self.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        # A client that timed out or hung up (the fault tests do it on purpose) is not an
        # emulator error; anything else still prints its traceback.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(5)


def drop(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection without an answer (the client sees a reset)."""
    handler.close_connection = True
    with suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)


@contextmanager
def serving(server: LoopbackServer) -> Iterator[Any]:
    try:
        yield server.emulator
    finally:
        server.close()
