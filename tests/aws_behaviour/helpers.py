"""Building blocks of the AWS behaviour tests: clients, waits scaled to where we run, cleanup, networks.

Everything here talks to AWS through boto3 only, so the same test runs against the emulator and
against a real account. ``Aws.wait(..., emulated=S, real=R)`` waits up to ``S`` seconds against the
emulator (its delays are seconds) and ``R`` against AWS (minutes).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from hybrid_gateway_devenv.emulator import EmulatorControl

EMULATOR_REGION = "ap-northeast-1"
TAG_KEY = "hybrid-gateway-behaviour-test"
logger = logging.getLogger(__name__)

RETRYING = Config(retries={"mode": "standard", "max_attempts": 10})
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def run_id() -> str:
    return "hgb" + secrets.token_hex(3)


@dataclass
class Aws:
    """Where the tests run: the emulator (``control`` set) or a real account (``control`` None)."""

    region: str
    endpoint_url: str | None
    control: EmulatorControl | None
    run: str
    domain: str | None = None  # real AWS: a name in a public zone of the account
    zone_id: str | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def real(self) -> bool:
        return self.control is None

    def client(self, service: str, *, retries: bool = True) -> Any:
        """A boto3 client; with ``retries`` botocore's standard mode retries throttling as an SDK does."""
        key = (service, "retry" if retries else "once")
        if key not in self._clients:
            factory: Any = boto3.client  # boto3-stubs types client() per literal service name
            self._clients[key] = factory(
                service,
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=RETRYING if retries else NO_RETRIES,
            )
        return self._clients[key]

    def name(self, what: str) -> str:
        """A unique resource name (<= 32 characters, as ELB names must be)."""
        return f"{self.run}-{what}-{secrets.token_hex(2)}"[:32]

    def tags(self) -> list[dict[str, str]]:
        return [{"Key": TAG_KEY, "Value": self.run}]

    def wait(
        self,
        predicate: Callable[[], Any],
        *,
        emulated: float,
        real: float,
        interval: float | None = None,
        what: str = "condition",
    ) -> Any:
        """Poll ``predicate`` until it is truthy; fail after ``emulated`` / ``real`` seconds."""
        timeout = real if self.real else emulated
        pause = interval if interval is not None else (10.0 if self.real else 0.1)
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not met within {timeout:g}s")
            time.sleep(pause)


class Cleanup:
    """Callables run last-in first-out after the test; each is retried while AWS says the resource
    is still in use, and a resource that is already gone is fine."""

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self._actions: list[tuple[str, Callable[[], Any]]] = []

    def add(self, what: str, action: Callable[[], Any]) -> None:
        self._actions.append((what, action))

    def run(self) -> None:
        budget = 1200.0 if self.aws.real else 30.0
        while self._actions:
            what, action = self._actions.pop()
            deadline = time.monotonic() + budget
            while True:
                try:
                    action()
                    break
                except ClientError as err:
                    code = error_code(err)
                    if code in GONE_CODES:
                        break
                    if time.monotonic() > deadline or code not in BUSY_CODES:
                        logger.warning("cleanup of %s failed: %s", what, err)
                        break
                    time.sleep(10 if self.aws.real else 0.2)


GONE_CODES = frozenset(
    {
        "NotFoundException",
        "LoadBalancerNotFound",
        "TargetGroupNotFound",
        "ListenerNotFound",
        "ResourceNotFoundException",
        "InvalidVpcID.NotFound",
        "InvalidSubnetID.NotFound",
        "NoSuchBucket",
        "NoSuchHostedZone",
        "TrustStoreNotFound",
    }
)
BUSY_CODES = frozenset(
    {
        "ResourceInUse",
        "ResourceInUseException",
        "DependencyViolation",
        "BadRequestException",  # "Cannot delete vpc link ... is referenced", domain name still updating
        "ConflictException",
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "BucketNotEmpty",
        "TrustStoreInUse",
    }
)


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return (
        str(response["Error"]["Code"]),
        int(response["ResponseMetadata"]["HTTPStatusCode"]),
        str(response["Error"].get("Message", "")),
    )


# -- networks and load balancers -------------------------------------------------------------------
@dataclass
class Network:
    vpc_id: str
    subnet_ids: list[str]


def network(aws: Aws, cleanup: Cleanup, cidr_prefix: str = "10.199") -> Network:
    """A VPC with two subnets in two Availability Zones (no internet gateway: everything is internal)."""
    ec2 = aws.client("ec2")
    vpc_id = ec2.create_vpc(
        CidrBlock=f"{cidr_prefix}.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": aws.tags()}],
    )["Vpc"]["VpcId"]
    cleanup.add(f"VPC {vpc_id}", lambda: ec2.delete_vpc(VpcId=vpc_id))
    zones = [
        z["ZoneName"]
        for z in ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])[
            "AvailabilityZones"
        ]
        if z.get("ZoneType", "availability-zone") == "availability-zone"
    ][:2]
    subnets = []
    for index, zone in enumerate(zones):
        subnet_id = ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=f"{cidr_prefix}.{index + 1}.0/24",
            AvailabilityZone=zone,
            TagSpecifications=[{"ResourceType": "subnet", "Tags": aws.tags()}],
        )["Subnet"]["SubnetId"]
        cleanup.add(f"subnet {subnet_id}", lambda s=subnet_id: ec2.delete_subnet(SubnetId=s))
        subnets.append(subnet_id)
    return Network(vpc_id, subnets)


def load_balancer(aws: Aws, cleanup: Cleanup, net: Network, kind: str, what: str = "lb") -> dict[str, Any]:
    """An internal load balancer (``kind`` network or application), deleted after the test."""
    elbv2 = aws.client("elbv2")
    params: dict[str, Any] = {
        "Name": aws.name(what),
        "Subnets": net.subnet_ids,
        "Scheme": "internal",
        "Type": kind,
        "Tags": aws.tags(),
    }
    balancer = dict(elbv2.create_load_balancer(**params)["LoadBalancers"][0])
    arn = balancer["LoadBalancerArn"]

    def delete() -> None:
        elbv2.delete_load_balancer(LoadBalancerArn=arn)
        aws.wait(lambda: not described(elbv2, arn), emulated=30, real=900, what=f"{arn} gone")

    cleanup.add(f"load balancer {arn}", delete)
    return balancer


def described(elbv2: Any, arn: str) -> dict[str, Any] | None:
    """The load balancer as DescribeLoadBalancers answers it, None on LoadBalancerNotFound."""
    try:
        return dict(elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0])
    except ClientError as err:
        if error_code(err) == "LoadBalancerNotFound":
            return None
        raise


def lb_state(elbv2: Any, arn: str) -> str:
    balancer = described(elbv2, arn)
    return str(balancer["State"]["Code"]) if balancer else "gone"


def wait_active(aws: Aws, arn: str) -> None:
    elbv2 = aws.client("elbv2")
    aws.wait(lambda: lb_state(elbv2, arn) == "active", emulated=20, real=900, what=f"{arn} active")


# -- certificates -------------------------------------------------------------------------------------
def self_signed(
    common_name: str, *, elliptic: bool = False, days: int = 30, organization: str | None = None
) -> tuple[bytes, bytes]:
    """A self-signed server certificate and its key (PEM) for ACM ImportCertificate."""
    key: Any = ec.generate_private_key(ec.SECP256R1()) if elliptic else rsa.generate_private_key(65537, 2048)
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)] if organization else []
    name = x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def import_certificate(
    aws: Aws, cleanup: Cleanup, common_name: str, *, elliptic: bool = False, organization: str | None = None
) -> str:
    acm = aws.client("acm")
    cert, key = self_signed(common_name, elliptic=elliptic, organization=organization)
    arn = str(acm.import_certificate(Certificate=cert, PrivateKey=key, Tags=aws.tags())["CertificateArn"])
    cleanup.add(f"certificate {arn}", lambda: acm.delete_certificate(CertificateArn=arn))
    return arn
