"""One TLS connection between two ends in this process, over memory BIOs.

Both ends run OpenSSL's real handshake (certificate chain, hostname and client certificate checks);
the bytes only never touch a socket. Used for the API Gateway -> ALB listener hop.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from dataclasses import dataclass


def load_identity(context: ssl.SSLContext, certificate_chain_pem: str, key_pem: str) -> None:
    """``load_cert_chain`` from PEM text (the ssl module reads only files)."""
    with tempfile.TemporaryDirectory(prefix="hgw-tls-") as folder:
        cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        with open(cert_path, "w") as handle:
            handle.write(certificate_chain_pem)
        with open(key_path, "w") as handle:
            handle.write(key_pem)
        context.load_cert_chain(cert_path, key_path)


@dataclass
class HandshakeFailure(Exception):
    """Which end refused, and OpenSSL's reason."""

    side: str  # "client" (the caller refused the server) or "server" (the server refused the caller)
    reason: str
    verify_code: int | None = None


def handshake(client: ssl.SSLContext, server: ssl.SSLContext, server_hostname: str) -> None:
    """Run a full TLS handshake between ``client`` and ``server``; raise :class:`HandshakeFailure`."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client_end = client.wrap_bio(c_in, c_out, server_side=False, server_hostname=server_hostname)
    server_end = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(50):
        for side, end in (("client", client_end), ("server", server_end)):
            if done[side]:
                continue
            try:
                end.do_handshake()
                done[side] = True
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except ssl.SSLCertVerificationError as err:
                raise HandshakeFailure(side, str(err.verify_message or err), err.verify_code) from None
            except ssl.SSLError as err:
                raise HandshakeFailure(side, str(err.reason or err)) from None
        if c_out.pending:
            s_in.write(c_out.read())
        if s_out.pending:
            c_in.write(s_out.read())
        if all(done.values()) and not c_out.pending and not s_out.pending:
            # TLS 1.3: the server learns of a refused client certificate only after its handshake
            # returned; a read on each end surfaces the alert.
            for side, end in (("server", server_end), ("client", client_end)):
                try:
                    end.read(1)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
                except ssl.SSLError as err:
                    raise HandshakeFailure(side, str(err.reason or err)) from None
                if s_out.pending:
                    c_in.write(s_out.read())
                if c_out.pending:
                    s_in.write(c_out.read())
            return
    raise HandshakeFailure("client", "handshake did not complete")
