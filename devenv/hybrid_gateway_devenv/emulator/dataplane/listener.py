"""One HTTPS listener on loopback, started on first use, that picks its TLS identity by SNI.

Shared by the stages' default endpoint (:mod:`.endpoints`) and the custom domain names
(:mod:`.domains`). The TLS handshake runs in the connection's own thread (not in the accept loop),
so a client that stalls or fails its handshake holds up nobody else.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .path import Outcome

HOP_BY_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "te", "upgrade", "content-length"}
HANDSHAKE_TIMEOUT_SECONDS = 10.0

# (Host header, method, request target, headers, body) -> the answer
Answer = Callable[[str, str, str, dict[str, str], str], Outcome]
# SNI server name -> the context that serves it, or None (the handshake is refused)
ContextFor = Callable[[str | None], ssl.SSLContext | None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
            request.do_handshake()
            request.settimeout(None)
        except (ssl.SSLError, OSError):
            request.close()  # the client sees the handshake fail (alert or closed connection)
            return
        super().finish_request(request, client_address)


class HttpsListener:
    """``address()`` starts it (once); ``stop()`` ends its thread; it starts again on next use."""

    def __init__(
        self, name: str, answer: Answer, context_for: ContextFor, dispatcher: Callable[[], ssl.SSLContext]
    ) -> None:
        self._name = name
        self._dispatcher = dispatcher
        self._answer = answer
        self._context_for = context_for
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def address(self) -> tuple[str, int]:
        with self._lock:
            if self._server is None:
                self._server = self._start()
            return "127.0.0.1", int(self._server.server_address[1])

    def to_json(self) -> dict[str, Any]:
        host, port = self.address()
        return {"host": host, "port": port}

    def stop(self) -> None:
        with self._lock:
            server, thread = self._server, self._thread
            self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    def _start(self) -> _Server:
        answer = self._answer

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                host = self.headers.get("Host", "")
                outcome = answer(host, self.command, self.path, dict(self.headers.items()), body)
                payload = outcome.body.encode()
                self.send_response(outcome.status)
                for key, value in outcome.headers.items():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                if not any(k.lower() == "content-type" for k in outcome.headers):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return None

        # The listening socket's own context dispatches: each handshake switches to the context of
        # its SNI name (certificate, trusted CAs), or is refused when nothing serves that name.
        # OpenSSL keeps the first context's protocol versions and verify mode, so ``dispatcher``
        # sets those for every name of this listener.
        dispatcher = self._dispatcher()

        def pick(connection: ssl.SSLObject, server_name: str | None, _context: ssl.SSLContext) -> int | None:
            try:
                context = self._context_for(server_name)
            except Exception:
                context = None
            if context is None:
                return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
            connection.context = context
            return None

        dispatcher.sni_callback = pick
        server = _Server(("127.0.0.1", 0), Handler, bind_and_activate=True)
        server.socket = dispatcher.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        thread = threading.Thread(target=server.serve_forever, name=self._name, daemon=True)
        thread.start()
        self._thread = thread
        return server


def forwarded_headers(headers: dict[str, str]) -> dict[str, str]:
    """The client's request headers API Gateway passes on (hop-by-hop ones dropped)."""
    return {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}

