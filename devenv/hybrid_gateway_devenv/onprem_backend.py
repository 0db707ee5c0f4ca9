"""A small on-prem HTTPS backend on loopback, for the sandbox and the data-plane tests.

Self-signed; answers 200 ``{"ok": true, "path": ...}``. It can require a header value
(``required_header=("X-Gateway-Secret", "s3cret")``: 403 otherwise) and, for ALB mutual-TLS
passthrough, a forwarded client certificate chain (``X-Amzn-Mtls-Clientcert``, URL-encoded PEM) whose
certificate is one of ``trusted_bundle`` (PEM) or is signed, through the forwarded chain, by a CA in it:
403 otherwise. Every request is recorded.

The load balancer's health checks (User-Agent ``ELB-HealthChecker/2.0``, as the ALB sends them) are
answered ``health_status`` (200 unless a test sets another) without those checks: a health check
carries neither the gateway's header nor a client certificate.
"""

from __future__ import annotations

import json
import os
import ssl
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from hybrid_gateway_devenv import certs

HEALTH_CHECKER = "ELB-HealthChecker/"


def _self_signed() -> tuple[bytes, bytes]:
    now = datetime.now(UTC)
    cert, key = certs.self_signed("onprem.backend.internal", key=ec.generate_private_key(ec.SECP256R1()),
                                  not_before=now - timedelta(hours=1), not_after=now + timedelta(days=2))
    return cert.encode(), key.encode()


def _certificates(bundle: str) -> list[x509.Certificate]:
    found: list[x509.Certificate] = []
    for block in bundle.split("-----END CERTIFICATE-----"):
        if "-----BEGIN CERTIFICATE-----" in block:
            pem = block[block.index("-----BEGIN CERTIFICATE-----") :] + "-----END CERTIFICATE-----\n"
            found.append(x509.load_pem_x509_certificate(pem.encode()))
    return found


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except Exception:  # wrong issuer name, bad signature or unsupported key: not issued by it
        return False
    return True


def trusts(bundle: str, chain: str) -> bool:
    """Whether a presented chain (leaf first) is trusted by `bundle`: the leaf is pinned in it (an API
    Gateway-generated certificate), or it chains by signatures, through the presented intermediates, to a
    CA certificate in it (a CA-signed certificate: the backend trusts the CA)."""
    presented, trusted = _certificates(chain), _certificates(bundle)
    if not presented:
        return False
    pinned = {c.fingerprint(hashes.SHA256()) for c in trusted}
    current = presented[0]
    if current.fingerprint(hashes.SHA256()) in pinned:
        return True
    pool = presented[1:]
    for _ in range(len(pool) + 1):
        if any(_issued_by(current, ca) for ca in trusted):
            return True
        parent = next((c for c in pool if _issued_by(current, c)), None)
        if parent is None:
            return False
        pool.remove(parent)
        current = parent
    return False


class OnPremBackend:
    def __init__(self) -> None:
        self.required_header: tuple[str, str] | None = None
        self.trusted_bundle: str | None = None
        self.health_status = 200
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def address(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.server_address[1]}"

    def _verdict(self, headers: dict[str, str]) -> tuple[int, str]:
        if headers.get("user-agent", "").startswith(HEALTH_CHECKER):
            return self.health_status, "health check"
        if self.required_header is not None:
            name, value = self.required_header
            if headers.get(name.lower()) != value:
                return 403, f"missing or wrong {name}"
        if self.trusted_bundle is not None:
            forwarded = headers.get("x-amzn-mtls-clientcert")
            if not forwarded:
                return 403, "no client certificate forwarded"
            if not trusts(self.trusted_bundle, unquote(forwarded)):
                return 403, "client certificate not trusted by the published bundle"
        return 200, "ok"

    def start(self, port: int = 0) -> OnPremBackend:
        """Serve on ``port`` (0: any free one; give the old port to bring a stopped backend back)."""
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                length = int(headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                status, reason = backend._verdict(headers)
                with backend._lock:
                    backend.requests.append(
                        {"method": self.command, "path": self.path, "headers": headers, "body": body, "status": status}
                    )
                payload = json.dumps({"ok": status == 200, "path": self.path, "reason": reason}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return None

        cert, key = _self_signed()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory(prefix="onprem-") as folder:
            paths = [os.path.join(folder, n) for n in ("cert.pem", "key.pem")]
            for path, data in zip(paths, (cert, key), strict=True):
                with open(path, "wb") as handle:
                    handle.write(data)
            context.load_cert_chain(*paths)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, name="onprem-backend", daemon=True).start()
        return self

    def traffic(self) -> list[dict[str, Any]]:
        """The recorded requests that are not the load balancer's health checks."""
        with self._lock:
            return [r for r in self.requests if not r["headers"].get("user-agent", "").startswith(HEALTH_CHECKER)]

    def health_checks(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["headers"].get("user-agent", "").startswith(HEALTH_CHECKER)]

    @property
    def port(self) -> int:
        return int(self.address.rpartition(":")[2])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
