"""Mutual TLS as API Gateway's custom domain names do it (catalogue: docs/aws-behaviour.md, "Custom
domain names with mutual TLS"): the handshake asks for a client certificate and completes with
whatever the client presents, or with none; API Gateway then checks the certificate against the
domain's truststore, and every request on a connection whose certificate fails is denied with
403 ``{"message":"Forbidden"}``, the reason (as API Gateway's execution log words it) in the
emulator's log. Python's ``ssl`` cannot complete a handshake with a certificate it did not verify,
so these handshakes are OpenSSL's through pyOpenSSL.
"""

from __future__ import annotations

import contextlib
import io
import logging
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL, crypto

from ..truststore import WEAK_SIGNATURE_HASHES
from .endpoints import FORBIDDEN
from .listener import HANDSHAKE_TIMEOUT_SECONDS, Accepted, Handshake
from .path import Outcome

logger = logging.getLogger(__name__)

# The execution log's reasons ([DOC] Knowledge Center "Troubleshoot HTTP 403 Forbidden errors from an
# API Gateway custom domain name that requires mutual TLS"); the last three are worded by us (assumed).
NO_ISSUER = "Access denied. Reason: Could not find issuer for certificate"
SELF_SIGNED = "Access denied. Reason: self signed certificate"
INSECURE_SIGNATURE = "Access denied. Reason: Client cert using an insecure Signature Algorithm"
EXPIRED = "Access denied. Reason: certificate has expired"
NOT_YET_VALID = "Access denied. Reason: certificate is not yet valid"
NO_CERTIFICATE = "Access denied. Reason: No client certificate presented"

# OpenSSL's X509_V_ERR_* codes -> the reason API Gateway gives
_VERIFY_REASONS = {
    2: NO_ISSUER,  # unable to get issuer certificate
    20: NO_ISSUER,  # unable to get local issuer certificate
    18: SELF_SIGNED,  # depth zero self-signed certificate
    19: SELF_SIGNED,  # self-signed certificate in chain
    9: NOT_YET_VALID,
    10: EXPIRED,
}


def trust_store(bundle_pem: str) -> crypto.X509Store:
    """An OpenSSL trust store of the CA certificates in ``bundle_pem``."""
    store = crypto.X509Store()
    for certificate in x509.load_pem_x509_certificates(bundle_pem.encode()):
        store.add_cert(crypto.X509.from_cryptography(certificate))
    return store


def _insecure_signature(certificate: x509.Certificate) -> bool:
    try:
        return isinstance(certificate.signature_hash_algorithm, WEAK_SIGNATURE_HASHES)
    except UnsupportedAlgorithm:
        return True


def client_certificate_denial(presented: list[x509.Certificate], trust: crypto.X509Store) -> str | None:
    """Why API Gateway denies a client that presented ``presented`` (its certificate first, then the
    intermediates it sent), or None when the certificate chains to ``trust`` and is valid now."""
    if not presented:
        return NO_CERTIFICATE
    if any(_insecure_signature(certificate) for certificate in presented):
        return INSECURE_SIGNATURE
    leaf, *intermediates = (crypto.X509.from_cryptography(certificate) for certificate in presented)
    try:
        crypto.X509StoreContext(trust, leaf, intermediates).verify_certificate()
    except crypto.X509StoreContextError as failure:
        code, _depth, message = failure.errors
        return _VERIFY_REASONS.get(int(code), f"Access denied. Reason: {message}")
    return None


@dataclass(frozen=True)
class MutualTlsIdentity:
    """What one name serves (its context: certificate, TLS 1.2+) and trusts."""

    name: str
    context: SSL.Context
    trust: crypto.X509Store


def _accept_any(_connection: SSL.Connection, _certificate: crypto.X509, _error: int, _depth: int, _ok: int) -> bool:
    return True  # the handshake takes any certificate: client_certificate_denial judges it afterwards


def server_context(chain_pem: str | None = None, key_pem: str | None = None) -> SSL.Context:
    """TLS 1.2 or later, asking for a client certificate without requiring or verifying one."""
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)  # TLS_1_2: 1.2 and 1.3 (mutual TLS requires it)
    context.set_verify(SSL.VERIFY_PEER, _accept_any)
    context.set_session_id(b"hybrid-gateway-mtls")  # OpenSSL needs one when it asks for certificates
    if chain_pem and key_pem:
        leaf, *chain = x509.load_pem_x509_certificates(chain_pem.encode())
        context.use_certificate(leaf)
        for certificate in chain:
            context.add_extra_chain_cert(certificate)
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
        context.use_privatekey(key)  # type: ignore[arg-type]  # an RSA / EC key: what ACM holds
        context.check_privatekey()
    return context


class _RawReader(io.RawIOBase):
    """The byte source under ``makefile('rb')`` (pyOpenSSL connections have no makefile)."""

    def __init__(self, connection: SSL.Connection) -> None:
        super().__init__()
        self._connection = connection

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return int(self._connection.recv_into(buffer))
        except (SSL.ZeroReturnError, SSL.SysCallError):
            return 0  # the client closed (cleanly or not): end of stream


class OpenSslStream:
    """A handshaken pyOpenSSL connection as the HTTP handler uses a socket."""

    def __init__(self, connection: SSL.Connection, raw: socket.socket) -> None:
        self._connection = connection
        self._raw = raw

    def makefile(self, mode: str, buffering: int = -1) -> io.BufferedReader:
        return io.BufferedReader(_RawReader(self._connection), buffering if buffering > 0 else io.DEFAULT_BUFFER_SIZE)

    def sendall(self, data: bytes, /) -> None:
        self._connection.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(SSL.Error):  # the client may be gone already
            self._connection.shutdown()
        self._raw.close()


def _handshake_within(connection: SSL.Connection, raw: socket.socket, seconds: float) -> None:
    """``do_handshake`` on a non-blocking socket, waiting for the client at most ``seconds``."""
    deadline = time.monotonic() + seconds
    raw.setblocking(False)
    while True:
        try:
            connection.do_handshake()
            break
        except SSL.WantReadError:
            readable, writable = [raw], []
        except SSL.WantWriteError:
            readable, writable = [], [raw]
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not any(select.select(readable, writable, [], remaining)):
            raise TimeoutError("TLS handshake timed out")
    raw.setblocking(True)


def mutual_tls_handshake(identity_for: Callable[[str | None], MutualTlsIdentity | None]) -> Handshake:
    """The handshake of a listener whose names require mutual TLS: SNI picks the name's identity (an
    unknown name finds no certificate, so its handshake fails); the client certificate is judged
    after the handshake and a denied one gets 403 for every request on the connection."""
    dispatcher = server_context()

    def pick(connection: SSL.Connection) -> None:
        name = connection.get_servername()
        try:
            identity = identity_for(name.decode() if name else None)
        except Exception:
            identity = None
        if identity is not None:
            connection.set_context(identity.context)
            connection.set_app_data(identity)

    dispatcher.set_tlsext_servername_callback(pick)

    def handshake(raw: socket.socket) -> Accepted:
        connection = SSL.Connection(dispatcher, raw)
        connection.set_accept_state()
        _handshake_within(connection, raw, HANDSHAKE_TIMEOUT_SECONDS)
        identity = connection.get_app_data()
        if not isinstance(identity, MutualTlsIdentity):
            raise SSL.Error("no mutual-TLS name was chosen")
        leaf = connection.get_peer_certificate(as_cryptography=True)
        sent = connection.get_peer_cert_chain(as_cryptography=True) or []
        # On the server side OpenSSL's peer chain leaves the client's own certificate out (mostly).
        presented = [leaf, *(certificate for certificate in sent if certificate != leaf)] if leaf else []
        denial = client_certificate_denial(presented, identity.trust)
        if denial is None:
            return Accepted(OpenSslStream(connection, raw))
        logger.warning("%s: %s", identity.name, denial)  # API Gateway's execution log line
        return Accepted(OpenSslStream(connection, raw), verdict=Outcome(403, FORBIDDEN))

    return handshake
