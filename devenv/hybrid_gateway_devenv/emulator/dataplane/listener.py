"""One HTTPS listener on loopback, started on first use, that picks its TLS identity by SNI.

Shared by the stages' default endpoint (:mod:`.endpoints`, Python's ``ssl``: :func:`ssl_handshake`)
and the custom domain names (:mod:`.domains`, OpenSSL through pyOpenSSL, which can accept any client
certificate and check it after the handshake). The TLS handshake runs in the connection's own thread
(not in the accept loop), so a client that stalls or fails its handshake holds up nobody else.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .path import Outcome

HOP_BY_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "te", "upgrade", "content-length"}
HANDSHAKE_TIMEOUT_SECONDS = 10.0

# (Host header, method, request target, headers, body) -> the answer
Answer = Callable[[str, str, str, dict[str, str], str], Outcome]
# SNI server name -> the context that serves it, or None (the handshake is refused)
ContextFor = Callable[[str | None], ssl.SSLContext | None]


@dataclass
class Accepted:
    """A connection whose TLS handshake completed."""

    stream: Any  # what the HTTP handler reads and writes: makefile("rb"), sendall, close (an ssl.SSLSocket)
    # An answer decided at the handshake, given to every request on the connection (a client
    # certificate that mutual TLS denies); the request then reaches nothing.
    verdict: Outcome | None = None


# The accepted TCP socket -> the connection after its TLS handshake; raises when the handshake fails
Handshake = Callable[[socket.socket], Accepted]


def ssl_handshake(context_for: ContextFor, dispatcher: Callable[[], ssl.SSLContext]) -> Handshake:
    """A TLS handshake with Python's ``ssl``: ``dispatcher`` (made on first use) switches each
    handshake to the context of its SNI name (certificate, trusted CAs), or refuses it
    (``unrecognized_name``) when nothing serves that name. OpenSSL keeps the first context's
    protocol versions and verify mode, so ``dispatcher`` sets those for every name."""
    made: list[ssl.SSLContext] = []
    lock = threading.Lock()

    def pick(connection: ssl.SSLObject, server_name: str | None, _context: ssl.SSLContext) -> int | None:
        try:
            context = context_for(server_name)
        except Exception:
            context = None
        if context is None:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        connection.context = context
        return None

    def handshake(raw: socket.socket) -> Accepted:
        with lock:
            if not made:
                made.append(dispatcher())
                made[0].sni_callback = pick
        tls = made[0].wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        try:
            tls.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
            tls.do_handshake()
            tls.settimeout(None)
        except BaseException:
            tls.close()
            raise
        return Accepted(tls)

    return handshake


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    handshake: Handshake

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            accepted = self.handshake(request)
        except Exception:  # ssl.SSLError, OpenSSL.SSL.Error, OSError: whichever TLS library refused
            request.close()  # the client sees the handshake fail (alert or closed connection)
            return
        try:
            super().finish_request(accepted, client_address)  # type: ignore[arg-type]  # Handler.setup unwraps it
        finally:
            accepted.stream.close()


class HttpsListener:
    """``address()`` starts it (once); ``stop()`` ends its thread; it starts again on next use."""

    def __init__(self, name: str, answer: Answer, handshake: Handshake) -> None:
        self._name = name
        self._answer = answer
        self._handshake = handshake
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
            def setup(self) -> None:
                self.accepted: Accepted = self.request
                self.request = self.accepted.stream
                super().setup()

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                host = self.headers.get("Host", "")
                headers = dict(self.headers.items())
                outcome = self.accepted.verdict or answer(host, self.command, self.path, headers, body)
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

        server = _Server(("127.0.0.1", 0), Handler, bind_and_activate=True)
        server.handshake = self._handshake
        thread = threading.Thread(target=server.serve_forever, name=self._name, daemon=True)
        thread.start()
        self._thread = thread
        return server


def forwarded_headers(headers: dict[str, str]) -> dict[str, str]:
    """The client's request headers API Gateway passes on (hop-by-hop ones dropped)."""
    return {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}

