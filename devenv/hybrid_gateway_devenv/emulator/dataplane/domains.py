"""Regional custom domain names with mutual TLS, on loopback: one HTTPS listener for every
domain name, routed by SNI (and the Host header) to the domain, started on first use
(``GET /_emulator/domain-endpoint``), as API Gateway serves them (catalogue: docs/aws-behaviour.md,
"Custom domain names with mutual TLS"):

- the domain's certificate: its ``regionalCertificateArn`` in ACM (issued by the emulated public
  CA, or the imported chain);
- TLS 1.2 or later (the ``TLS_1_2`` security policy accepts 1.2 and 1.3; mutual TLS requires it);
- a client certificate that chains to the CA bundle of the truststore as read when the domain was
  created or last updated (``truststoreUri`` at ``truststoreVersion``): a new object version in S3
  changes nothing until UpdateDomainName points the domain at it. The handshake takes any
  certificate (or none); one that does not chain to the bundle, is self-signed, expired or signed
  with SHA-1 or weaker, or no certificate at all, gets 403 ``{"message":"Forbidden"}`` for every
  request, with API Gateway's execution-log reason in the emulator's log (:mod:`.mtls`);
- then the base path mappings: the first path segment selects a mapping (``(none)`` maps the
  root), whose API and stage (or, with no stage in the mapping, the next path segment) answer the
  rest of the path over the same request path as the default endpoint (:func:`.endpoints.invoke_stage`).
  Disabling the API's default ``execute-api`` endpoint does not affect its custom domains.

Domain names without mutual TLS are not served here (the handshake fails: no certificate for the name).
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from ..patches import acm_certificate, extras
from ..truststore import TRUSTSTORE_PEM
from .endpoints import FORBIDDEN, invoke_stage
from .listener import HttpsListener
from .mtls import MutualTlsIdentity, mutual_tls_handshake, server_context, trust_store
from .path import Outcome

NONE_BASE_PATH = "(none)"


def find_domain(name: str) -> tuple[str, str, Any, Any] | None:
    """(account, region, API Gateway backend, domain name) of ``name`` in any account and Region."""
    from moto.apigateway.models import apigateway_backends

    wanted = name.lower().rstrip(".")
    for account, regions in list(apigateway_backends.items()):
        for region, backend in list(regions.items()):
            domain = backend.domain_names.get(wanted)
            if domain is not None:
                return account, region, backend, domain
    return None


def _mapping_for(backend: Any, domain_name: str, path: str) -> tuple[Any, str] | None:
    """(base path mapping, the path below it) for ``path``: the mapping named by the first
    segment, else the ``(none)`` mapping of the root."""
    mappings = dict(backend.base_path_mappings.get(domain_name) or {})
    first, _, rest = path.lstrip("/").partition("/")
    if first and first in mappings and first != NONE_BASE_PATH:
        return mappings[first], "/" + rest
    if NONE_BASE_PATH in mappings:
        return mappings[NONE_BASE_PATH], path
    return None


def answer(host: str, http_method: str, target: str, headers: dict[str, str], body: str) -> Outcome:
    """API Gateway's answer to ``http_method https://<domain>/target``."""
    found = find_domain(host.split(":")[0])
    if found is None:
        return Outcome(403, FORBIDDEN)
    account, region, backend, domain = found
    path, sep, query = target.partition("?")
    matched = _mapping_for(backend, domain.domain_name, path)
    if matched is None:
        return Outcome(403, FORBIDDEN)
    mapping, below = matched
    api = backend.apis.get(mapping.rest_api_id)
    if api is None:
        return Outcome(403, FORBIDDEN)
    stage_name = mapping.stage
    if not stage_name:  # a mapping to the whole API: the stage is the next path segment
        stage_name, _, rest = below.lstrip("/").partition("/")
        below = "/" + rest
    return invoke_stage(account, region, backend, api, stage_name, http_method, below + sep + query, headers, body)


class DomainEndpoint:
    """The one loopback listener of every mutual-TLS custom domain name, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._identities: dict[tuple[str, ...], MutualTlsIdentity] = {}
        self.listener = HttpsListener("domain-endpoint", answer, mutual_tls_handshake(self._identity_for))

    def _identity_for(self, server_name: str | None) -> MutualTlsIdentity | None:
        found = find_domain(server_name or "")
        if found is None:
            return None
        domain = found[3]
        bundle = extras(domain).get(TRUSTSTORE_PEM)
        cert = acm_certificate(domain.regional_certificate_arn)
        if not bundle or cert is None or not cert.key:
            return None  # no mutual TLS (or no certificate to serve): not served here
        chain = bytes(cert.cert).decode() + (bytes(cert.chain).decode() if cert.chain else "")
        key = bytes(cert.key).decode()
        # A new identity whenever what the domain serves or trusts changes (UpdateDomainName, re-import).
        fingerprint = hashlib.sha256((chain + bundle).encode()).hexdigest()
        cache_key = (domain.domain_name, fingerprint)
        with self._lock:
            identity = self._identities.get(cache_key)
            if identity is None:
                identity = MutualTlsIdentity(domain.domain_name, server_context(chain, key), trust_store(bundle))
                self._identities = {k: v for k, v in self._identities.items() if k[0] != domain.domain_name}
                self._identities[cache_key] = identity
            return identity

    def to_json(self) -> dict[str, Any]:
        return self.listener.to_json()

    def reset(self) -> None:
        with self._lock:
            self._identities.clear()

    def stop(self) -> None:
        self.listener.stop()
        self.reset()


DOMAIN_ENDPOINT = DomainEndpoint()
