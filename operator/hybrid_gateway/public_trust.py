"""Which front-door certificates API Gateway will trust: only those that chain to a public CA.

API Gateway calls `https://<frontDoor.hostname>` and accepts only a certificate issued by a publicly
trusted CA ("API Gateway-supported certificate authorities for HTTP and HTTP proxy integrations", API
Gateway Developer Guide; docs/aws-behaviour.md). A self-signed certificate, one from a private CA, or an
imported one whose chain does not end at a public root answers every caller 500 ("PKIX path building
failed" in the execution log), which is the whole reason the seed 000 chain exists. So such a
certificate is Stalled before anything is written.

The public roots are certifi's copy of Mozilla's CA list, plus what `--public-ca-bundle` adds (another
partition's roots, or the emulator's public CA in the test suite).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

ADVICE = ("API Gateway calls the front door over HTTPS and trusts only certificates from public CAs: use "
          "certificate.request (a public ACM certificate), or a certificate whose chain ends at a public CA")


@dataclass(frozen=True)
class PublicRoots:
    roots: tuple[x509.Certificate, ...]

    @classmethod
    def load(cls, extra_bundles: Iterable[str] = ()) -> PublicRoots:
        pems = [Path(certifi.where()).read_bytes(), *(Path(p).read_bytes() for p in extra_bundles)]
        with warnings.catch_warnings():  # a few old public roots have a non-positive serial number
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return cls(tuple(cert for pem in pems for cert in x509.load_pem_x509_certificates(pem)))

    def why_untrusted(self, hostname: str, certificate_pem: str, chain_pem: str = "") -> str | None:
        """None when the certificate chains to a public root for `hostname`; else why not."""
        leaf = x509.load_pem_x509_certificate(certificate_pem.encode())
        chain = x509.load_pem_x509_certificates(chain_pem.encode()) if chain_pem.strip() else []
        if leaf.issuer == leaf.subject and not chain:
            return "the certificate is self-signed"
        verifier = (PolicyBuilder().store(Store(list(self.roots))).time(dt.datetime.now(dt.UTC))
                    .build_server_verifier(x509.DNSName(hostname)))
        try:
            verifier.verify(leaf, chain)
        except VerificationError as exc:
            return f"its chain does not end at a public CA ({exc})"
        return None
