"""Helpers for the emulator tests: raw answers + botocore shape checks, test CAs, fixtures' building blocks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
from botocore.model import Shape
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from hybrid_gateway_devenv import certs

REGION = "ap-northeast-1"
_SESSION = botocore.session.get_session()


def call_raw(client: Any, method: str, **params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Call ``client.<method>(**params)``; return (parsed answer, raw JSON body of the HTTP answer)."""
    captured: dict[str, Any] = {}

    def grab(http_response: Any, **kwargs: Any) -> None:
        captured["body"] = http_response.content

    event = f"after-call.{client.meta.service_model.service_name}"
    client.meta.events.register(event, grab)
    try:
        parsed = getattr(client, method)(**params)
    finally:
        client.meta.events.unregister(event, grab)
    body = captured.get("body") or b"{}"
    return parsed, json.loads(body)


def _type_problem(shape: Shape, value: Any, where: str) -> list[str]:
    kind = shape.type_name
    ok = {
        "string": lambda v: isinstance(v, str),
        "blob": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "double": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "timestamp": lambda v: isinstance(v, int | float | str) and not isinstance(v, bool),
        "structure": lambda v: isinstance(v, dict),
        "list": lambda v: isinstance(v, list),
        "map": lambda v: isinstance(v, dict),
    }[kind]
    if not ok(value):
        return [f"{where}: {value!r} is not a {kind}"]
    problems: list[str] = []
    if kind == "structure":
        problems += shape_problems(shape, value, where)
    elif kind == "list":
        for i, item in enumerate(value):
            problems += _type_problem(shape.member, item, f"{where}[{i}]")  # type: ignore[attr-defined]
    elif kind == "map":
        for key, item in value.items():
            problems += _type_problem(shape.value, item, f"{where}.{key}")  # type: ignore[attr-defined]
    return problems


def shape_problems(shape: Shape, raw: dict[str, Any], where: str = "$") -> list[str]:
    """Members of ``raw`` that the botocore shape does not declare, or whose JSON type is wrong."""
    by_wire_name = {}
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        if member.serialization.get("location") in ("header", "headers", "statusCode"):
            continue
        by_wire_name[member.serialization.get("name", name)] = member
    problems: list[str] = []
    for key, value in raw.items():
        if value is None:
            continue
        member = by_wire_name.get(key)
        if member is None:
            problems.append(f"{where}.{key}: not a member of {shape.name}")
            continue
        problems += _type_problem(member, value, f"{where}.{key}")
    return problems


def output_problems(service: str, operation: str, raw: dict[str, Any]) -> list[str]:
    model = _SESSION.get_service_model(service).operation_model(operation)
    assert model.output_shape is not None
    return shape_problems(model.output_shape, raw)


def make_cert(
    common_name: str,
    *,
    key_size: int = 2048,
    algorithm: Any = None,
    not_before: datetime | None = None,
    days: int = 365,
    elliptic: bool = False,
) -> str:
    """A self-signed CA certificate (PEM) with the given weaknesses, for truststores."""
    key: Any = ec.generate_private_key(ec.SECP256R1()) if elliptic else rsa.generate_private_key(65537, key_size)
    if isinstance(algorithm, hashes.SHA1):
        return resign_sha1(key, make_cert_with_key(common_name, key, not_before, days))
    return make_cert_with_key(common_name, key, not_before, days, algorithm)


_SHA256_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")
_SHA1_RSA = bytes.fromhex("300d06092a864886f70d0101050500")


def resign_sha1(key: rsa.RSAPrivateKey, pem: str) -> str:
    """Turn a SHA-256/RSA certificate into a SHA-1/RSA one signed by ``key`` (its issuer's; cryptography
    refuses to sign with SHA-1).

    Both algorithm identifiers have the same length and so has the RSA signature, so the DER can be
    patched in place: swap the identifier in the TBS part and outside it, and sign the new TBS.
    """
    cert = x509.load_pem_x509_certificate(pem.encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    tbs = cert.tbs_certificate_bytes
    new_tbs = tbs.replace(_SHA256_RSA, _SHA1_RSA)
    signature = key.sign(new_tbs, padding.PKCS1v15(), hashes.SHA1())
    der = der.replace(tbs, new_tbs).replace(_SHA256_RSA, _SHA1_RSA).replace(cert.signature, signature)
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()


def make_cert_with_key(
    common_name: str,
    key: Any,
    not_before: datetime | None = None,
    days: int = 365,
    algorithm: Any = None,
) -> str:
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, algorithm or hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_server_cert_and_key(common_name: str) -> tuple[bytes, bytes]:
    """A self-signed server certificate and its key (PEM), for ACM ImportCertificate."""
    cert, key = certs.self_signed(common_name, dns_names=(common_name,))
    return cert.encode(), key.encode()


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy; return its value or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def network(ec2: Any) -> tuple[str, list[str]]:
    vpc_id = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for cidr, az in (("10.30.1.0/24", "a"), ("10.30.2.0/24", "c"))
    ]
    return vpc_id, subnets


def create_nlb(ec2: Any, elbv2: Any, name: str = "front-nlb") -> str:
    _, subnets = network(ec2)
    balancer = elbv2.create_load_balancer(Name=name, Subnets=subnets, Type="network", Scheme="internal")
    return str(balancer["LoadBalancers"][0]["LoadBalancerArn"])


def public_zone(route53: Any, name: str = "example.com") -> str:
    zone = route53.create_hosted_zone(Name=name, CallerReference=f"ref-{name}-{time.time()}")
    return str(zone["HostedZone"]["Id"].split("/")[-1])


def upsert_validation_record(route53: Any, zone_id: str, record: dict[str, str]) -> None:
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": record["Name"],
                        "Type": record["Type"],
                        "TTL": 300,
                        "ResourceRecords": [{"Value": record["Value"]}],
                    },
                }
            ]
        },
    )


def validation_record(acm: Any, arn: str) -> dict[str, str]:
    options = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]
    return dict(options[0]["ResourceRecord"])


def issued_certificate(acm: Any, route53: Any, domain: str, zone_id: str | None = None) -> str:
    """Request a DNS-validated certificate and validate it in a public zone; return its ARN."""
    arn = str(acm.request_certificate(DomainName=domain, ValidationMethod="DNS")["CertificateArn"])
    zone_id = zone_id or public_zone(route53, domain.split(".", 1)[1] if domain.count(".") > 1 else domain)
    upsert_validation_record(route53, zone_id, validation_record(acm, arn))
    wait_for(lambda: acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "ISSUED")
    return arn


def imported_certificate(acm: Any, domain: str) -> str:
    cert, key = make_server_cert_and_key(domain)
    return str(acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"])
