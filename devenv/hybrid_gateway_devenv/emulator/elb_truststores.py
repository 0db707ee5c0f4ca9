"""ELBv2 trust stores and a listener's ``MutualAuthentication``, which moto 5.2 lacks.

Sources (catalogue: ``docs/aws-behaviour.md``, "ELBv2 trust stores and mutual TLS"):

- ELB API reference ``CreateTrustStore`` / ``ModifyTrustStore`` / ``DescribeTrustStores`` /
  ``DeleteTrustStore`` / ``GetTrustStoreCaCertificatesBundle`` / ``DescribeTrustStoreAssociations``:
  parameters, the name's pattern (1-32 characters, ``^([a-zA-Z0-9]+-)*[a-zA-Z0-9]+$``, unique per
  Region) and the error codes (``CaCertificatesBundleNotFound``, ``InvalidCaCertificatesBundle``,
  ``DuplicateTrustStoreName``, ``TrustStoreNotFound``, ``TrustStoreInUse``, all HTTP 400).
- ELB guide "Mutual authentication with TLS in Application Load Balancer": the CA bundle is PEM;
  certificates are X.509v3 ("X.509v1 client certificates are not supported"), RSA 2K-8K or ECDSA
  secp256r1 / secp384r1 / secp521r1 keys, SHA-256/384/512 signatures.
- ``MutualAuthenticationAttributes`` (API reference): ``Mode`` off | passthrough | verify;
  ``TrustStoreArn``; ``IgnoreClientCertificateExpiry``. Passthrough refuses ignoring expiry with
  ``ValidationError`` "Mutual Authentication mode passthrough does not support ignoring certificate
  expiry" ([WEAK] terraform-provider-aws #34861, real-account error output).

Implementation: moto's query-protocol dispatcher calls ``ELBV2Response.<snake_case action>``, so
the trust store actions are methods added to that class (``patches.py`` table) and moto's own
serialiser answers them in AWS's XML shape from botocore's model. State is process-wide, like moto's.
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .truststore import _PEM_BLOCK, TruststoreError, read_s3_object

NAME_PATTERN = re.compile(r"^([a-zA-Z0-9]+-)*[a-zA-Z0-9]+$")
MODES = ("off", "passthrough", "verify")
PASSTHROUGH_EXPIRY_MESSAGE = "Mutual Authentication mode passthrough does not support ignoring certificate expiry"
_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)
_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)
BUNDLE_PATH = "/_emulator/elb-trust-stores/bundle"


def _errors() -> Any:
    from moto.elbv2.exceptions import ELBClientError

    return ELBClientError


def error(code: str, message: str) -> Exception:
    """An ELB error moto serialises with the status botocore's model gives ``code`` (400 here)."""
    made: Exception = _errors()(code, message)
    return made


@dataclass(eq=False)  # identity: moto keeps per-object extras
class TrustStore:
    name: str
    arn: str
    bucket: str
    key: str
    version: str | None
    bundle: bytes
    certificates: list[x509.Certificate] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "TrustStoreArn": self.arn,
            "Status": "ACTIVE",
            "NumberOfCaCertificates": len(self.certificates),
            "TotalRevokedEntries": 0,
        }


def parse_ca_bundle(data: bytes) -> list[x509.Certificate]:
    """The certificates of a CA bundle, or ``InvalidCaCertificatesBundle`` naming what is wrong."""
    blocks = list(_PEM_BLOCK.finditer(data))
    if not blocks:
        raise error("InvalidCaCertificatesBundle", "The CA certificates bundle contains no PEM-encoded certificates")
    found: list[x509.Certificate] = []
    for number, match in enumerate(blocks, start=1):
        if match.group(1) != b"CERTIFICATE":
            raise error(
                "InvalidCaCertificatesBundle",
                f"Entry {number} of the CA certificates bundle is a '{match.group(1).decode()}' PEM block",
            )
        try:
            cert = x509.load_pem_x509_certificate(match.group(0))
        except ValueError as err:
            raise error(
                "InvalidCaCertificatesBundle", f"Certificate {number} is not a valid X.509 certificate: {err}"
            ) from None
        problem = _unsupported(cert)
        if problem:
            subject = cert.subject.rfc4514_string() or "<empty subject>"
            raise error("InvalidCaCertificatesBundle", f"Certificate {number} ('{subject}') {problem}")
        found.append(cert)
    return found


def _unsupported(cert: x509.Certificate) -> str | None:
    if cert.version != x509.Version.v3:
        return "is not an X.509v3 certificate"
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if not 2048 <= key.key_size <= 8192:
            return f"has an RSA key of {key.key_size} bits; RSA 2048 to 8192 bits are supported"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, _CURVES):
            return f"uses the curve {key.curve.name}; secp256r1, secp384r1 and secp521r1 are supported"
    else:
        return f"has an unsupported key type ({type(key).__name__})"
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        algorithm = None
    if not isinstance(algorithm, _HASHES):
        name = algorithm.name.upper() if algorithm is not None else "unknown"
        return f"is signed with {name}; SHA-256, SHA-384 or SHA-512 signatures are supported"
    return None


class TrustStores:
    """Every emulated trust store, per (account, Region)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stores: dict[tuple[str, str], dict[str, TrustStore]] = {}

    def reset(self) -> None:
        with self._lock:
            self._stores.clear()

    def _region(self, account: str, region: str) -> dict[str, TrustStore]:
        return self._stores.setdefault((account, region), {})

    @staticmethod
    def _read(account: str, bucket: str, key: str, version: str | None) -> tuple[bytes, list[x509.Certificate]]:
        if not bucket or not key:
            raise error("ValidationError", "CaCertificatesBundleS3Bucket and CaCertificatesBundleS3Key are required")
        try:
            data = read_s3_object(account, bucket, key, version or None)
        except TruststoreError:
            raise error("CaCertificatesBundleNotFound", "The specified ca certificate bundle does not exist.") from None
        return data, parse_ca_bundle(data)

    def create(self, account: str, region: str, name: str, bucket: str, key: str, version: str | None) -> TrustStore:
        if not name or len(name) > 32 or not NAME_PATTERN.match(name):
            raise error(
                "ValidationError",
                f"Trust store name '{name}' must be 1 to 32 alphanumeric characters or hyphens, "
                "and must not begin or end with a hyphen",
            )
        data, certificates = self._read(account, bucket, key, version)
        with self._lock:
            stores = self._region(account, region)
            if any(s.name == name for s in stores.values()):
                raise error("DuplicateTrustStoreName", f"A trust store with the name '{name}' already exists")
            arn = f"arn:aws:elasticloadbalancing:{region}:{account}:truststore/{name}/{secrets.token_hex(8)}"
            store = TrustStore(name, arn, bucket, key, version or None, data, certificates)
            stores[arn] = store
            return store

    def get(self, account: str, region: str, arn: str) -> TrustStore:
        with self._lock:
            store = self._region(account, region).get(arn)
        if store is None:
            raise error("TrustStoreNotFound", f"Trust store '{arn}' not found")
        return store

    def find(self, arn: str) -> TrustStore | None:
        """A trust store by ARN in any account and Region (the data plane's look-up)."""
        with self._lock:
            for stores in self._stores.values():
                if arn in stores:
                    return stores[arn]
        return None

    def describe(self, account: str, region: str, arns: list[str], names: list[str]) -> list[TrustStore]:
        with self._lock:
            stores = list(self._region(account, region).values())
        if not arns and not names:
            return stores
        by_arn = {s.arn: s for s in stores}
        by_name = {s.name: s for s in stores}
        missing = [a for a in arns if a not in by_arn] + [n for n in names if n not in by_name]
        if missing:
            raise error("TrustStoreNotFound", f"One or more trust stores not found: {', '.join(missing)}")
        wanted = [by_arn[a] for a in arns] + [by_name[n] for n in names]
        return list(dict.fromkeys(wanted))

    def modify(self, account: str, region: str, arn: str, bucket: str, key: str, version: str | None) -> TrustStore:
        store = self.get(account, region, arn)
        data, certificates = self._read(account, bucket, key, version)
        with self._lock:
            store.bucket, store.key, store.version = bucket, key, version or None
            store.bundle, store.certificates = data, certificates
        return store

    def delete(self, account: str, region: str, arn: str) -> None:
        self.get(account, region, arn)
        if associations(account, region, arn):
            raise error("TrustStoreInUse", f"Trust store '{arn}' is in use")
        with self._lock:
            self._region(account, region).pop(arn, None)


TRUST_STORES = TrustStores()


# -- listeners -------------------------------------------------------------------------------------
def listener_mutual_authentication(listener: Any) -> dict[str, Any] | None:
    """What DescribeListeners answers: the stored setting; ``{"Mode": "off"}`` for an HTTPS listener
    that never set one; nothing for other protocols."""
    from .patches import extras

    stored = extras(listener).get("mutual_authentication")
    if stored is not None:
        return dict(stored)
    if str(getattr(listener, "protocol", "")).upper() == "HTTPS":
        return {"Mode": "off"}
    return None


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def requested_mutual_authentication(
    raw: dict[str, Any] | None, protocol: str, account: str, region: str
) -> dict[str, Any] | None:
    """Validate a request's ``MutualAuthentication`` and return what the listener keeps (None: keep
    the current setting, as when the request does not name it)."""
    if not raw:
        return None
    mode = str(raw.get("Mode") or "off")
    if mode not in MODES:
        raise error("ValidationError", f"Mutual Authentication mode '{mode}' is not one of {', '.join(MODES)}")
    if mode != "off" and protocol.upper() != "HTTPS":
        raise error("ValidationError", "Mutual Authentication is supported only on HTTPS listeners")
    ignore = raw.get("IgnoreClientCertificateExpiry")
    if mode == "off":
        return {"Mode": "off"}
    if mode == "passthrough":
        if ignore is not None and _truthy(ignore):
            raise error("ValidationError", PASSTHROUGH_EXPIRY_MESSAGE)
        return {"Mode": "passthrough"}
    arn = str(raw.get("TrustStoreArn") or "")
    if not arn:
        raise error("ValidationError", "A trust store is required for Mutual Authentication mode verify")
    TRUST_STORES.get(account, region, arn)
    return {
        "Mode": "verify",
        "TrustStoreArn": arn,
        "IgnoreClientCertificateExpiry": _truthy(ignore) if ignore is not None else False,
        "TrustStoreAssociationStatus": "active",
        "AdvertiseTrustStoreCaNames": str(raw.get("AdvertiseTrustStoreCaNames") or "off"),
    }


def associations(account: str, region: str, arn: str) -> list[str]:
    """ARNs of the load balancers whose listeners verify clients with trust store ``arn``."""
    from moto.elbv2.models import elbv2_backends

    users: list[str] = []
    for balancer in list(elbv2_backends[account][region].load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            setting = listener_mutual_authentication(listener) or {}
            if setting.get("TrustStoreArn") == arn:
                users.append(balancer.arn)
                break
    return users


# -- moto response methods (bound onto ELBV2Response by patches.apply) ------------------------------
def _context(response: Any) -> tuple[str, str]:
    return str(response.current_account), str(response.region)


def create_trust_store(self: Any) -> Any:
    from moto.core.responses import ActionResult

    account, region = _context(self)
    store = TRUST_STORES.create(
        account,
        region,
        str(self._get_param("Name") or ""),
        str(self._get_param("CaCertificatesBundleS3Bucket") or ""),
        str(self._get_param("CaCertificatesBundleS3Key") or ""),
        self._get_param("CaCertificatesBundleS3ObjectVersion"),
    )
    tags = self._get_param("Tags") or []
    if tags:
        self.elbv2_backend.tagging_service.tag_resource(store.arn, tags)
    return ActionResult({"TrustStores": [store.to_json()]})


def describe_trust_stores(self: Any) -> Any:
    from moto.core.responses import ActionResult

    account, region = _context(self)
    stores = TRUST_STORES.describe(
        account, region, list(self._get_param("TrustStoreArns") or []), list(self._get_param("Names") or [])
    )
    return ActionResult({"TrustStores": [s.to_json() for s in stores]})


def modify_trust_store(self: Any) -> Any:
    from moto.core.responses import ActionResult

    account, region = _context(self)
    store = TRUST_STORES.modify(
        account,
        region,
        str(self._get_param("TrustStoreArn") or ""),
        str(self._get_param("CaCertificatesBundleS3Bucket") or ""),
        str(self._get_param("CaCertificatesBundleS3Key") or ""),
        self._get_param("CaCertificatesBundleS3ObjectVersion"),
    )
    return ActionResult({"TrustStores": [store.to_json()]})


def delete_trust_store(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    account, region = _context(self)
    arn = str(self._get_param("TrustStoreArn") or "")
    TRUST_STORES.delete(account, region, arn)
    self.elbv2_backend.tagging_service.delete_all_tags_for_resource(arn)
    return EmptyResult()


def get_trust_store_ca_certificates_bundle(self: Any) -> Any:
    """AWS answers a pre-signed S3 URL; the emulator a URL of its own control API that serves the bundle."""
    from moto.core.responses import ActionResult

    account, region = _context(self)
    store = TRUST_STORES.get(account, region, str(self._get_param("TrustStoreArn") or ""))
    host = self.headers.get("Host") or "127.0.0.1"
    return ActionResult({"Location": f"http://{host}{BUNDLE_PATH}?arn={quote(store.arn, safe='')}"})


def describe_trust_store_associations(self: Any) -> Any:
    from moto.core.responses import ActionResult

    account, region = _context(self)
    arn = str(self._get_param("TrustStoreArn") or "")
    TRUST_STORES.get(account, region, arn)
    return ActionResult({"TrustStoreAssociations": [{"ResourceArn": a} for a in associations(account, region, arn)]})


RESPONSE_METHODS = {
    "create_trust_store": create_trust_store,
    "describe_trust_stores": describe_trust_stores,
    "modify_trust_store": modify_trust_store,
    "delete_trust_store": delete_trust_store,
    "get_trust_store_ca_certificates_bundle": get_trust_store_ca_certificates_bundle,
    "describe_trust_store_associations": describe_trust_store_associations,
}


def _with_mutual_authentication(name: str) -> Any:
    """Wrap moto's CreateListener / ModifyListener: validate ``MutualAuthentication`` before moto
    acts, then keep it on the listener it answers (moto serialises the answer after we return)."""

    def wrapper(self: Any) -> Any:
        from .patches import _original, extras

        account, region = _context(self)
        raw = self._get_param("MutualAuthentication")
        protocol = str(self._get_param("Protocol") or "")
        if not protocol and name == "modify_listener":
            listener = self.elbv2_backend.describe_listeners(None, [self._get_param("ListenerArn")])[0]
            protocol = str(listener.protocol)
        setting = requested_mutual_authentication(raw, protocol, account, region)
        result = _original(f"ELBV2Response.{name}")(self)
        if setting is not None:
            for listener in list(getattr(result, "result", {}).get("Listeners") or []):
                extras(listener)["mutual_authentication"] = setting
        return result

    wrapper.__name__ = name
    return wrapper


def tagged_resource(backend: Any, arn: str) -> Any | None:
    """moto's ``_get_resource_by_arn`` for trust store ARNs (AddTags / RemoveTags on them)."""
    if ":truststore/" not in arn:
        return None
    store = TRUST_STORES.find(arn)
    if store is None:
        raise error("TrustStoreNotFound", f"Trust store '{arn}' not found")
    return store
