"""Network parts (certificate, target groups, security group, load balancers, listeners, DNS).

Pure `diff` functions are tested as tables of cases, each with a reason. Each part then runs its
whole life against an in-process AWS: `hybrid_gateway_devenv.emulator.EmulatorServer` when it can
be imported, else a plain moto server. Every AWS call our clients make is recorded (botocore
`before-parameter-build`), so "a second ensure() makes no write call" is checked exactly.
"""

from __future__ import annotations

import datetime
import time
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from tests.parts.contract import ContractCase, Recorder, walk_contract

from hybrid_gateway.aws import AwsClients
from hybrid_gateway.aws.shared_reads import SharedReads
from hybrid_gateway.aws.tags import Owner, as_dict, as_list
from hybrid_gateway.errors import Stalled
from hybrid_gateway.parts._elbv2 import elb_name, elb_tags
from hybrid_gateway.parts.base import Observed, Part, PartContext, Replacement
from hybrid_gateway.parts.certificate import (
    CertificateState,
    ExistingCertificate,
    ExistingCertificateDesired,
    ImportedCertificate,
    ImportedCertificateDesired,
    RequestedCertificate,
    RequestedCertificateDesired,
    certificate_state,
    check_covers,
    covers,
    diff_imported,
    diff_requested,
)
from hybrid_gateway.parts.dns import (
    DnsRecord,
    RecordDesired,
    RecordState,
    diff_record,
    norm_name,
    ownership_value,
    validation_record,
)
from hybrid_gateway.parts.listeners import AlbListener, ListenerDesired, ListenerState, diff_listener, listener_state
from hybrid_gateway.parts.load_balancers import (
    Alb,
    LoadBalancer,
    LoadBalancerDesired,
    LoadBalancerState,
    Nlb,
    diff_load_balancer,
)
from hybrid_gateway.parts.security_group import (
    ALL_TRAFFIC,
    Rule,
    SecurityGroup,
    SecurityGroupDesired,
    SecurityGroupState,
    diff_security_group,
    permissions_from_rules,
    rules_from_permissions,
)
from hybrid_gateway.parts.target_groups import (
    AlbTargetGroup,
    BackendTargetGroup,
    HealthCheck,
    ObservedHealthCheck,
    TargetGroupDesired,
    TargetGroupState,
    TargetHealth,
    diff_target_group,
)
from hybrid_gateway.parts.trust_bundle import compose, digest
from hybrid_gateway.parts.trust_store import TrustStore, TrustStoreDesired, TrustStoreState, diff_trust_store

REGION = "ap-northeast-1"
HOST = "orders-backend.example.com"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
OTHER_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
HC = HealthCheck(path="/healthz", matcher="200-399", interval_seconds=30, healthy_threshold=3, unhealthy_threshold=3)
TARGETS = (("192.168.10.5", 443), ("192.168.10.6", 443))


def owner() -> Owner:
    return Owner("HybridApi", "team-a", "orders", str(uuid.uuid4()))


# --- certificates for tests ---


@dataclass(frozen=True)
class Pem:
    cert: str
    key: str


def make_cert(cn: str, sans: tuple[str, ...] = (), *, rsa_key: bool = False) -> Pem:
    key: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa_key
        else ec.generate_private_key(ec.SECP256R1())
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Pem(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode())


# --- pure: names and coverage ---


def test_elb_names_are_short_deterministic_and_vary_with_immutable_fields() -> None:
    o = owner()
    name = elb_name(o, "tg-alb", "vpc-1", "TCP", 443, "alb")
    assert len(name) <= 32 and name.startswith("hg-") and name.replace("-", "").isalnum()
    assert name == elb_name(o, "tg-alb", "vpc-1", "TCP", 443, "alb")
    assert name != elb_name(o, "tg-alb", "vpc-1", "TCP", 8443, "alb")
    assert name != elb_name(owner(), "tg-alb", "vpc-1", "TCP", 443, "alb")


@pytest.mark.parametrize(
    ("reason", "name", "hostname", "expected"),
    [
        ("exact", "orders-backend.example.com", HOST, True),
        ("case and trailing dot do not matter", "Orders-Backend.Example.COM.", HOST, True),
        ("wildcard covers one label", "*.example.com", HOST, True),
        ("wildcard does not cover the apex", "*.example.com", "example.com", False),
        ("wildcard does not cover two labels", "*.example.com", "a.orders-backend.example.com", False),
        ("another name", "api.example.com", HOST, False),
        ("a suffix is not a match", "example.com", HOST, False),
        ("wildcard of another zone", "*.example.org", "orders.example.org.", True),
    ],
)
def test_covers(reason: str, name: str, hostname: str, expected: bool) -> None:
    assert covers(name, hostname) is expected, reason


@pytest.mark.parametrize(
    ("reason", "state", "ok"),
    [
        ("domain name", CertificateState("arn", domain_name=HOST), True),
        ("wildcard domain name", CertificateState("arn", domain_name="*.example.com"), True),
        (
            "SAN only",
            CertificateState(
                "arn", domain_name="api.example.com", subject_alternative_names=("api.example.com", HOST)
            ),
            True,
        ),
        (
            "wildcard SAN",
            CertificateState("arn", domain_name="x.example.org", subject_alternative_names=("*.example.com",)),
            True,
        ),
        (
            "neither",
            CertificateState(
                "arn", domain_name="api.example.com", subject_alternative_names=("*.api.example.com",)
            ),
            False,
        ),
    ],
)
def test_check_covers(reason: str, state: CertificateState, ok: bool) -> None:
    if ok:
        check_covers(HOST, state)
    else:
        with pytest.raises(Stalled) as err:
            check_covers(HOST, state)
        assert err.value.reason == "CertificateDoesNotCoverHostname" and HOST in err.value.message, reason


# --- pure: certificate desired state and diffs ---


def test_imported_desired_validates_before_any_call_and_never_shows_the_key() -> None:
    pem = make_cert(HOST, (HOST,))
    desired = ImportedCertificateDesired.from_pem(HOST, pem.cert, pem.key)
    assert desired.key_algorithm == "EC_prime256v1" and HOST in desired.domain_names
    assert len(desired.fingerprint) == 64
    body = pem.key.split("-----")[2].strip().splitlines()[0]
    assert body not in repr(desired) and "private_key_pem" not in repr(desired)

    other = make_cert("api.example.com", ("api.example.com",))
    cases: list[tuple[str, str, str, str]] = [
        ("not a certificate", "garbage", pem.key, "InvalidCertificate"),
        (
            "not a key",
            pem.cert,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "InvalidPrivateKey",
        ),
        ("key of another certificate", pem.cert, other.key, "KeyDoesNotMatchCertificate"),
        ("certificate for another name", other.cert, other.key, "CertificateDoesNotCoverHostname"),
    ]
    for reason, cert, key, expected in cases:
        with pytest.raises(Stalled) as err:
            ImportedCertificateDesired.from_pem(HOST, cert, key)
        assert err.value.reason == expected, reason
        assert body not in str(err.value) and err.value.__cause__ is None, reason


def test_imported_desired_splits_a_bundle_into_leaf_and_chain() -> None:
    leaf, ca = make_cert(HOST), make_cert("Test CA")
    desired = ImportedCertificateDesired.from_pem(HOST, leaf.cert + ca.cert, leaf.key)
    assert desired.certificate_pem.strip() == leaf.cert.strip()
    assert desired.chain_pem.strip() == ca.cert.strip()
    assert desired.key_algorithm == "EC_prime256v1"


@pytest.mark.parametrize(
    ("reason", "state", "expected"),
    [
        ("same body", CertificateState("arn", key_algorithm="EC_prime256v1", fingerprint="f1"), []),
        (
            "renewed body is re-imported",
            CertificateState("arn", key_algorithm="EC_prime256v1", fingerprint="f0"),
            ["fingerprint"],
        ),
        (
            "new key type needs a new certificate",
            CertificateState("arn", key_algorithm="RSA_2048", fingerprint="f1"),
            ["key_algorithm"],
        ),
    ],
)
def test_diff_imported(reason: str, state: CertificateState, expected: list[str]) -> None:
    desired = ImportedCertificateDesired("c", "k", "", "f1", "EC_prime256v1", (HOST,))
    assert diff_imported(desired, state) == expected, reason


def _cert(**fields: Any) -> CertificateState:
    return CertificateState("arn", **fields)


@pytest.mark.parametrize(
    ("reason", "state", "expected"),
    [
        ("same", _cert(domain_name=HOST, key_algorithm="RSA_2048"), []),
        ("case of the name does not matter", _cert(domain_name=HOST.upper(), key_algorithm="RSA_2048"), []),
        ("hostname changed", _cert(domain_name="api.example.com", key_algorithm="RSA_2048"), ["domain_name"]),
        ("key type changed", _cert(domain_name=HOST, key_algorithm="EC_prime256v1"), ["key_algorithm"]),
        ("status is not compared", _cert(domain_name=HOST, key_algorithm="RSA_2048", status="FAILED"), []),
    ],
)
def test_diff_requested(reason: str, state: CertificateState, expected: list[str]) -> None:
    assert diff_requested(RequestedCertificateDesired(HOST), state) == expected, reason
    assert set(expected) <= RequestedCertificate.replace_on


# --- pure: target groups ---


def _tg_state(**overrides: Any) -> TargetGroupState:
    state: dict[str, Any] = {
        "protocol": "HTTPS",
        "port": 443,
        "vpc_id": "vpc-1",
        "target_type": "ip",
        "health_check": {
            "protocol": "HTTPS",
            "path": "/healthz",
            "port": "traffic-port",
            "matcher": "200-399",
            "interval_seconds": 30,
            "healthy_threshold": 3,
            "unhealthy_threshold": 3,
            "timeout_seconds": 5,
        },
        "targets": [
            {"id": "192.168.10.5", "port": 443, "state": "healthy"},
            {"id": "192.168.10.6", "port": 443, "state": "unhealthy"},
        ],
    }
    state.update(overrides)
    return TargetGroupState(
        "arn:tg",
        **{**state, "health_check": ObservedHealthCheck(**state["health_check"]),
           "targets": tuple(TargetHealth(**t) for t in state["targets"])},
    )


def _targets(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": t.id, "port": t.port, "state": t.state} for t in _tg_state().targets] + list(extra)


def _hc(**changes: Any) -> dict[str, Any]:
    return {**asdict(_tg_state().health_check), **changes}


@pytest.mark.parametrize(
    ("reason", "state", "expected"),
    [
        ("in sync (health state and AWS's timeout are not compared)", _tg_state(), []),
        ("health check path drift", _tg_state(health_check=_hc(path="/")), ["health_check.path"]),
        (
            "matcher and thresholds",
            _tg_state(health_check=_hc(matcher="200", healthy_threshold=5)),
            ["health_check.healthy_threshold", "health_check.matcher"],
        ),
        ("numbers may come back as strings", _tg_state(health_check=_hc(interval_seconds="30")), []),
        (
            "a target was deregistered out of band",
            _tg_state(targets=[{"id": "192.168.10.5", "port": 443}]),
            ["targets"],
        ),
        (
            "an extra target",
            _tg_state(targets=_targets({"id": "10.9.9.9", "port": 443})),
            ["targets"],
        ),
        (
            "a draining target counts as gone",
            _tg_state(targets=_targets({"id": "10.9.9.9", "port": 443, "state": "draining"})),
            [],
        ),
        (
            "port of a target",
            _tg_state(targets=[{"id": "192.168.10.5", "port": 443}, {"id": "192.168.10.6", "port": 8443}]),
            ["targets"],
        ),
        (
            "protocol, port, VPC and type are replacements",
            _tg_state(protocol="HTTP", port=80, vpc_id="vpc-2", target_type="instance"),
            ["protocol", "port", "vpc_id", "target_type"],
        ),
    ],
)
def test_diff_target_group(reason: str, state: TargetGroupState, expected: list[str]) -> None:
    desired = TargetGroupDesired.backend("vpc-1", TARGETS, HC)
    assert sorted(diff_target_group(desired, state)) == sorted(expected), reason


def test_target_group_desired_shapes() -> None:
    backend = TargetGroupDesired.backend("vpc-1", TARGETS, HC)
    assert {t.availability_zone for t in backend.targets} == {"all"}
    assert (backend.protocol, backend.target_type) == ("HTTPS", "ip")
    alb = TargetGroupDesired.alb("vpc-1", "arn:alb", HC)
    assert (alb.protocol, alb.port, alb.target_type) == ("TCP", 443, "alb")
    assert [(t.id, t.port, t.availability_zone) for t in alb.targets] == [("arn:alb", 443, None)]
    assert {"protocol", "port", "vpc_id", "target_type"} == BackendTargetGroup.replace_on


# --- pure: load balancers ---


def _lb_state(**overrides: Any) -> LoadBalancerState:
    state: dict[str, Any] = {
        "type": "application",
        "scheme": "internal",
        "vpc_id": "vpc-1",
        "subnet_ids": ("s-a", "s-c"),
        "security_group_ids": ("sg-1", "sg-2"),
        "state": "active",
    }
    return LoadBalancerState("arn:lb", **{**state, **overrides})


@pytest.mark.parametrize(
    ("reason", "state", "expected"),
    [
        (
            "in sync, order does not matter",
            _lb_state(subnet_ids=["s-c", "s-a"], security_group_ids=["sg-2", "sg-1"]),
            [],
        ),
        ("provisioning is not a difference", _lb_state(state="provisioning"), []),
        ("subnet moved", _lb_state(subnet_ids=["s-a", "s-d"]), ["subnets"]),
        ("security group removed out of band", _lb_state(security_group_ids=["sg-1"]), ["security_groups"]),
        (
            "scheme, type and VPC need a new load balancer",
            _lb_state(scheme="internet-facing", type="network", vpc_id="vpc-2"),
            ["type", "scheme", "vpc_id"],
        ),
    ],
)
def test_diff_load_balancer(reason: str, state: LoadBalancerState, expected: list[str]) -> None:
    desired = LoadBalancerDesired("vpc-1", ("s-a", "s-c"), ("sg-1", "sg-2"))
    assert diff_load_balancer(desired, "application", state) == expected, reason
    assert set(expected) - {"subnets", "security_groups"} <= LoadBalancer.replace_on


@pytest.mark.parametrize(
    ("reason", "code", "ready", "waiting_for"),
    [
        ("active", "active", True, ""),
        ("impaired still serves", "active_impaired", True, ""),
        ("provisioning", "provisioning", False, "load balancer provisioning"),
        ("failed", "failed", False, "load balancer failed"),
    ],
)
def test_load_balancer_readiness(reason: str, code: str, ready: bool, waiting_for: str) -> None:
    lb = {
        "LoadBalancerArn": "arn:lb",
        "Type": "application",
        "State": {"Code": code},
        "AvailabilityZones": [],
    }
    observed = LoadBalancer._observe(lb)
    assert (observed.ready, observed.waiting_for) == (ready, waiting_for), reason


# --- pure: listeners ---


def _listener_state(**overrides: Any) -> ListenerState:
    state: dict[str, Any] = {
        "protocol": "HTTPS",
        "target_group_arn": "tg-1",
        "default_action_count": 1,
        "certificate_arn": "cert-1",
        "ssl_policy": TLS_POLICY,
    }
    return ListenerState("arn:listener", **{**state, **overrides})


@pytest.mark.parametrize(
    ("reason", "desired", "state", "expected"),
    [
        ("https in sync", ListenerDesired.https("tg-1", "cert-1", TLS_POLICY), _listener_state(), []),
        (
            "certificate renewed into a new ARN",
            ListenerDesired.https("tg-1", "cert-2", TLS_POLICY),
            _listener_state(),
            ["certificate_arn"],
        ),
        (
            "policy drift",
            ListenerDesired.https("tg-1", "cert-1", TLS_POLICY),
            _listener_state(ssl_policy="ELBSecurityPolicy-2016-08"),
            ["ssl_policy"],
        ),
        (
            "forwards elsewhere",
            ListenerDesired.https("tg-2", "cert-1", TLS_POLICY),
            _listener_state(),
            ["target_group_arn"],
        ),
        (
            "extra default actions",
            ListenerDesired.https("tg-1", "cert-1", TLS_POLICY),
            _listener_state(default_action_count=2),
            ["target_group_arn"],
        ),
        (
            "protocol changed out of band",
            ListenerDesired.https("tg-1", "cert-1", TLS_POLICY),
            _listener_state(protocol="HTTP", certificate_arn=None, ssl_policy=None),
            ["protocol", "certificate_arn", "ssl_policy"],
        ),
        (
            "tcp ignores certificate and policy",
            ListenerDesired.tcp("tg-1"),
            _listener_state(protocol="TCP", certificate_arn=None, ssl_policy=None),
            [],
        ),
        (
            "mutual TLS off is what a listener without MutualAuthentication has",
            ListenerDesired.https("tg-1", "cert-1", TLS_POLICY, "off"),
            _listener_state(),
            [],
        ),
        (
            "passthrough asked for, listener still off",
            ListenerDesired.https("tg-1", "cert-1", TLS_POLICY, "passthrough"),
            _listener_state(),
            ["mutual_tls"],
        ),
        (
            "passthrough turned off out of band",
            ListenerDesired.https("tg-1", "cert-1", TLS_POLICY, "passthrough"),
            _listener_state(mutual_tls_mode="off"),
            ["mutual_tls"],
        ),
        (
            "passthrough in sync",
            ListenerDesired.https("tg-1", "cert-1", TLS_POLICY, "passthrough"),
            _listener_state(mutual_tls_mode="passthrough"),
            [],
        ),
        (
            "a listener whose mode nobody manages (the NLB's TCP one) is not compared",
            ListenerDesired.tcp("tg-1"),
            _listener_state(protocol="TCP", certificate_arn=None, ssl_policy=None, mutual_tls_mode="verify"),
            [],
        ),
    ],
)
def test_diff_listener(reason: str, desired: ListenerDesired, state: ListenerState, expected: list[str]) -> None:
    assert diff_listener(desired, state) == expected, reason


@pytest.mark.parametrize(
    ("reason", "answered", "mode"),
    [
        ("no MutualAuthentication in the answer: off", {}, "off"),
        ("AWS's shape for off", {"MutualAuthentication": {"Mode": "off", "IgnoreClientCertificateExpiry": False}},
         "off"),
        ("passthrough", {"MutualAuthentication": {"Mode": "passthrough"}}, "passthrough"),
    ],
)
def test_listener_state_reads_the_mutual_tls_mode(reason: str, answered: dict[str, Any], mode: str) -> None:
    listener = {"ListenerArn": "arn:listener", "Protocol": "HTTPS", "Port": 443, "DefaultActions": [], **answered}
    assert listener_state(listener).mutual_tls_mode == mode, reason


# --- pure: security group ---


def _sg_state(**overrides: Any) -> SecurityGroupState:
    state: dict[str, Any] = {
        "vpc_id": "vpc-1",
        "vpc_cidrs": ["10.0.0.0/16"],
        "ingress": [["tcp", 443, 443, "10.0.0.0/16"]],
        "egress": [["tcp", 443, 443, "192.168.10.5/32"], ["tcp", 443, 443, "192.168.10.6/32"]],
        **overrides,
    }
    return SecurityGroupState(
        "sg-1", vpc_id=state["vpc_id"], vpc_cidrs=tuple(state["vpc_cidrs"]),
        ingress=frozenset(Rule(*r) for r in state["ingress"]), egress=frozenset(Rule(*r) for r in state["egress"]),
    )


EGRESS = SecurityGroupDesired.egress_to_targets(TARGETS)


@pytest.mark.parametrize(
    ("reason", "desired", "state", "expected"),
    [
        ("in sync", SecurityGroupDesired("vpc-1", egress=EGRESS), _sg_state(), []),
        (
            "ingress follows a second VPC CIDR",
            SecurityGroupDesired("vpc-1", egress=EGRESS),
            _sg_state(vpc_cidrs=["10.0.0.0/16", "10.1.0.0/16"]),
            ["ingress"],
        ),
        (
            "explicit ingress CIDRs win over the VPC's",
            SecurityGroupDesired("vpc-1", ingress_cidrs=("10.0.1.0/24",), egress=EGRESS),
            _sg_state(),
            ["ingress"],
        ),
        (
            "an extra ingress rule added by hand",
            SecurityGroupDesired("vpc-1", egress=EGRESS),
            _sg_state(ingress=[["tcp", 443, 443, "10.0.0.0/16"], ["tcp", 22, 22, "0.0.0.0/0"]]),
            ["ingress"],
        ),
        (
            "egress open while targets-only is wanted",
            SecurityGroupDesired("vpc-1", egress=EGRESS),
            _sg_state(egress=[["-1", -1, -1, "0.0.0.0/0"]]),
            ["egress"],
        ),
        (
            "egress None means AWS's open default",
            SecurityGroupDesired("vpc-1"),
            _sg_state(egress=[["-1", -1, -1, "0.0.0.0/0"]]),
            [],
        ),
        (
            "another VPC needs a new group",
            SecurityGroupDesired("vpc-2", egress=EGRESS),
            _sg_state(),
            ["vpc_id"],
        ),
    ],
)
def test_diff_security_group(
    reason: str, desired: SecurityGroupDesired, state: SecurityGroupState, expected: list[str]
) -> None:
    assert diff_security_group(desired, state) == expected, reason


def test_security_group_rules_round_trip() -> None:
    rules = {
        Rule.tcp(443, "10.0.0.0/16"),
        Rule.tcp(443, "sg-123"),
        Rule.tcp(443, "2001:db8::/32"),
        Rule.tcp(443, "pl-123"),
        *ALL_TRAFFIC,
    }
    assert rules_from_permissions(permissions_from_rules(rules)) == rules


# --- pure: DNS ---


def _record(**fields: Any) -> RecordState:
    return RecordState(**{"hosted_zone_id": "ZONE", **fields, "values": tuple(fields.get("values", ()))})


def _alias_state(**overrides: Any) -> RecordState:
    state: dict[str, Any] = {
        "name": HOST,
        "type": "A",
        "ttl": None,
        "values": [],
        "alias_dns_name": "dualstack.hg-nlb-1.elb.ap-northeast-1.amazonaws.com.",
        "alias_hosted_zone_id": "Z31USIVHYNEOWT",
        "evaluate_target_health": False,
    }
    return _record(**{**state, **overrides})


ALIAS = RecordDesired.alias_to(
    "Orders-Backend.example.com.", "HG-NLB-1.elb.ap-northeast-1.amazonaws.com", "/hostedzone/Z31USIVHYNEOWT"
)
CNAME = RecordDesired.cname("_abc.orders-backend.example.com.", "_xyz.acm-validations.aws.")


@pytest.mark.parametrize(
    ("reason", "desired", "record_type", "state", "expected"),
    [
        ("alias in sync despite dots, case, dualstack. and zone id prefix", ALIAS, "A", _alias_state(), []),
        (
            "alias points at another NLB",
            ALIAS,
            "A",
            _alias_state(alias_dns_name="other.elb.amazonaws.com"),
            ["alias.dns_name"],
        ),
        (
            "alias zone changed",
            ALIAS,
            "A",
            _alias_state(alias_hosted_zone_id="ZOTHER"),
            ["alias.hosted_zone_id"],
        ),
        (
            "someone turned on target health",
            ALIAS,
            "A",
            _alias_state(evaluate_target_health=True),
            ["alias.evaluate_target_health"],
        ),
        ("record was renamed: replace", ALIAS, "A", _alias_state(name="old.example.com"), ["name"]),
        (
            "cname in sync despite trailing dots",
            CNAME,
            "CNAME",
            _record(name="_abc.orders-backend.example.com", type="CNAME", ttl=300, values=["_xyz.acm-validations.aws"]),
            [],
        ),
        (
            "cname value drift and ttl",
            CNAME,
            "CNAME",
            _record(
                name="_abc.orders-backend.example.com", type="CNAME", ttl=60, values=["_other.acm-validations.aws."]
            ),
            ["values", "ttl"],
        ),
        (
            "a plain record where an alias is wanted",
            ALIAS,
            "A",
            _alias_state(alias_dns_name=None, alias_hosted_zone_id=None, ttl=300, values=["10.0.0.1"]),
            ["alias.dns_name", "alias.hosted_zone_id"],
        ),
        (
            "an alias where a plain record is wanted",
            CNAME,
            "CNAME",
            replace(_alias_state(), name="_abc.orders-backend.example.com", type="CNAME"),
            ["alias", "values", "ttl"],
        ),
    ],
)
def test_diff_record(
    reason: str, desired: RecordDesired, record_type: str, state: RecordState, expected: list[str]
) -> None:
    assert diff_record(desired, record_type, state) == expected, reason


def test_norm_name_undoes_route53_escapes() -> None:
    assert norm_name("\\052.Example.COM.") == "*.example.com"


# --- pure: batched tag reads ---


class FakeElb:
    """DescribeTags like AWS: at most 20 ARNs, and the whole batch fails if one ARN is gone."""

    def __init__(self, arns: list[str], gone: set[str]) -> None:
        self.arns, self.gone = arns, gone
        self.batches: list[list[str]] = []

    def describe_tags(self, ResourceArns: list[str]) -> dict[str, Any]:
        assert len(ResourceArns) <= 20
        self.batches.append(ResourceArns)
        if self.gone & set(ResourceArns):
            raise ClientError({"Error": {"Code": "TargetGroupNotFound", "Message": "gone"}}, "DescribeTags")
        return {"TagDescriptions": [{"ResourceArn": a, "Tags": [{"Key": "k", "Value": a}]} for a in ResourceArns]}


def test_elb_tags_batches_by_20_and_skips_arns_deleted_meanwhile() -> None:
    arns = [f"arn:tg/{i:02d}" for i in range(45)]
    fake = FakeElb(arns, set())
    assert elb_tags(fake, arns) == {a: {"k": a} for a in arns} and len(fake.batches) == 3
    fake = FakeElb(arns, {"arn:tg/07"})
    tags = elb_tags(fake, arns)
    assert set(tags) == set(arns) - {"arn:tg/07"}
    assert len(fake.batches) == 3 + 20  # the failing batch is asked again one ARN at a time


# --- pure: the base contract's replacement orders ---


@dataclass(frozen=True)
class FakeDesired:
    kind: str
    size: int


class FakePart(Part[FakeDesired, dict[str, Any]]):
    """In-memory resources keyed by id (= kind); `kind` cannot change in place, `size` can."""

    name = "fake"
    replace_on: ClassVar[frozenset[str]] = frozenset({"kind"})

    def __init__(self, replacement: Replacement) -> None:
        self.replacement = replacement  # type: ignore[misc]  # declared per class; varied here
        self.store: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []

    def _obs(self, rid: str) -> Observed[dict[str, Any]]:
        return Observed(id=rid, state=dict(self.store[rid]))

    def find(
        self, ctx: PartContext, desired: FakeDesired | None, known_id: str | None
    ) -> Observed[dict[str, Any]] | None:
        for rid in (known_id, desired.kind if desired else None):
            if rid in self.store:
                return self._obs(rid)
        return self._obs(sorted(self.store)[0]) if known_id is None and self.store else None

    def create(self, ctx: PartContext, desired: FakeDesired) -> Observed[dict[str, Any]]:
        self.calls.append(f"create {desired.kind}")
        self.store[desired.kind] = {"kind": desired.kind, "size": desired.size}
        return self._obs(desired.kind)

    def diff(self, desired: FakeDesired, observed: Observed[dict[str, Any]]) -> list[str]:
        return [k for k in ("kind", "size") if getattr(desired, k) != observed.state[k]]

    def update(
        self, ctx: PartContext, desired: FakeDesired, observed: Observed[dict[str, Any]], changes: list[str]
    ) -> Observed[dict[str, Any]]:
        self.calls.append(f"update {observed.id}")
        self.store[observed.id]["size"] = desired.size
        return self._obs(observed.id)

    def delete(self, ctx: PartContext, observed: Observed[dict[str, Any]]) -> None:
        self.calls.append(f"delete {observed.id}")
        self.store.pop(observed.id, None)


@pytest.mark.parametrize(
    ("reason", "replacement", "calls", "superseded"),
    [
        ("delete first: nothing may point at the old one", Replacement.DELETE_FIRST, ["delete a", "create b"], None),
        ("create first: the old one goes at once", Replacement.CREATE_FIRST, ["create b", "delete a"], None),
        ("create first, retire later: dependents still point at the old one",
         Replacement.CREATE_FIRST_RETIRE_LATER, ["create b"], "a"),
    ],
)
def test_replacement_orders(reason: str, replacement: Replacement, calls: list[str], superseded: str | None) -> None:
    ctx = PartContext(aws=AwsClients(), region=REGION, owner=owner())
    part = FakePart(replacement)
    assert part.ensure(ctx, FakeDesired("a", 1), None).action == "Created"
    assert part.ensure(ctx, FakeDesired("a", 1), "a").action is None
    assert part.ensure(ctx, FakeDesired("a", 2), "a").action == "Updated"
    part.calls.clear()
    out = part.ensure(ctx, FakeDesired("b", 2), "a")
    assert (out.action, out.observed.id, part.calls) == ("Replaced", "b", calls), reason
    assert (out.superseded.id if out.superseded else None) == superseded, reason
    assert ("a" in part.store) == (superseded is not None), reason


def test_a_replacement_made_before_a_crash_is_adopted_not_twinned() -> None:
    ctx = PartContext(aws=AwsClients(), region=REGION, owner=owner())
    part = FakePart(Replacement.CREATE_FIRST_RETIRE_LATER)
    part.ensure(ctx, FakeDesired("a", 1), None)
    part.ensure(ctx, FakeDesired("b", 2), "a")
    # A crash before status recorded "b": the next pass adopts b (updating it) instead of a twin.
    part.calls.clear()
    again = part.ensure(ctx, FakeDesired("b", 3), "a")
    assert again.action == "Replaced" and again.observed.id == "b" and part.calls == ["update b"]
    # Without a known id the one the desired state names is found first.
    assert part.ensure(ctx, FakeDesired("b", 3), None).action is None
    assert part.remove(ctx, "a") == "a" and part.remove(ctx, "a") is None


# --- the AWS side ---


@dataclass
class Aws:
    endpoint_url: str
    emulator: bool
    vpc_id: str
    subnets: dict[str, str]  # AZ letter -> subnet id
    zone_id: str


@pytest.fixture(scope="module")
def aws(emulator_endpoint: str) -> Aws:
    url = emulator_endpoint
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=url)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = {
        az: ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for az, cidr in (("a", "10.0.1.0/24"), ("c", "10.0.2.0/24"), ("d", "10.0.3.0/24"))
    }
    r53 = boto3.client("route53", region_name=REGION, endpoint_url=url)
    zone = r53.create_hosted_zone(Name="example.com", CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"]
    return Aws(url, True, vpc, subnets, zone.rsplit("/", 1)[-1])


@pytest.fixture()
def ctx(aws: Aws) -> PartContext:
    limits = {"elbv2": 1000.0, "ec2": 1000.0, "acm": 1000.0, "route53": 1000.0}
    return PartContext(aws=AwsClients(max_attempts=2, rate_limits=limits), region=REGION, owner=owner())


@pytest.fixture()
def rec(ctx: PartContext) -> Recorder:
    return Recorder().attach(ctx, "elbv2", "ec2", "acm", "route53")


@pytest.fixture()
def raw(aws: Aws) -> dict[str, Any]:
    return {
        s: boto3.client(s, region_name=REGION, endpoint_url=aws.endpoint_url)
        for s in ("elbv2", "ec2", "acm", "route53")
    }


def _control(aws: Aws) -> Any:
    from hybrid_gateway_devenv.emulator import EmulatorControl

    return EmulatorControl(aws.endpoint_url)


def _alb(ctx: PartContext, aws: Aws, raw: dict[str, Any]) -> str:
    """An ALB for tests of other parts (made through the part: it is tested on its own below)."""
    sg = raw["ec2"].create_security_group(GroupName=f"t-{uuid.uuid4().hex[:8]}", Description="t", VpcId=aws.vpc_id)[
        "GroupId"
    ]
    desired = LoadBalancerDesired(aws.vpc_id, (aws.subnets["a"], aws.subnets["c"]), (sg,))
    return Alb().ensure(ctx, desired, None).observed.id


# --- target groups against AWS ---


def test_backend_target_group_lifecycle(aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any]) -> None:
    part, desired = BackendTargetGroup(), TargetGroupDesired.backend(aws.vpc_id, TARGETS, HC)
    created = part.ensure(ctx, desired, None)
    arn = created.observed.id
    assert created.action == "Created" and rec.writes() == ["CreateTargetGroup", "RegisterTargets"]
    assert rec.params("CreateTargetGroup")[0]["Tags"] and len(rec.params("CreateTargetGroup")[0]["Name"]) <= 32
    registered = rec.params("RegisterTargets")[0]["Targets"]
    assert {(t["Id"], t["Port"], t["AvailabilityZone"]) for t in registered} == {
        ("192.168.10.5", 443, "all"),
        ("192.168.10.6", 443, "all"),
    }
    state = created.observed.state
    assert (state.protocol, state.target_type, state.health_check.path) == (
        "HTTPS",
        "ip",
        "/healthz",
    )
    assert state.total == 2 and state.healthy >= 0
    tags = as_dict(raw["elbv2"].describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"])
    assert ctx.owner.owns(tags, "backend-target-group")

    rec.clear()
    again = part.ensure(ctx, desired, arn)
    assert again.action is None and rec.writes() == []
    assert rec.names() == ["DescribeTargetGroups", "DescribeTags", "DescribeTargetHealth"]

    rec.clear()
    changed = TargetGroupDesired.backend(
        aws.vpc_id, [TARGETS[0], ("192.168.10.7", 443)], replace(HC, path="/ready", unhealthy_threshold=2)
    )
    updated = part.ensure(ctx, changed, arn)
    assert updated.action == "Updated" and updated.observed.id == arn
    assert sorted(updated.changes) == ["health_check.path", "health_check.unhealthy_threshold", "targets"]
    assert rec.writes() == ["ModifyTargetGroup", "RegisterTargets", "DeregisterTargets"]
    assert rec.params("RegisterTargets")[0]["Targets"] == [
        {"Id": "192.168.10.7", "Port": 443, "AvailabilityZone": "all"}
    ]
    assert rec.params("DeregisterTargets")[0]["Targets"] == [{"Id": "192.168.10.6", "Port": 443}]
    rec.clear()
    assert part.ensure(ctx, changed, arn).action is None and rec.writes() == []

    # Status lost after a crash: found by its deterministic name, then by owner tags.
    assert part.ensure(ctx, changed, None).observed.id == arn and rec.writes() == []
    found = part.find(ctx, None, None)
    assert found is not None and found.id == arn
    assert part.remove(ctx, arn) == arn
    assert part.remove(ctx, arn) is None and part.remove(ctx, None) is None


def test_target_group_owner_tag_search_batches_describe_tags(
    aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any]
) -> None:
    for i in range(23):  # other people's target groups
        raw["elbv2"].create_target_group(
            Name=f"noise-{uuid.uuid4().hex[:8]}-{i}",
            Protocol="HTTPS",
            Port=443,
            VpcId=aws.vpc_id,
            TargetType="ip",
        )
    part = BackendTargetGroup()
    arn = part.ensure(ctx, TargetGroupDesired.backend(aws.vpc_id, TARGETS, HC), None).observed.id
    total = len(raw["elbv2"].describe_target_groups()["TargetGroups"])
    rec.clear()
    found = part.find(ctx, None, None)
    assert found is not None and found.id == arn and rec.writes() == []
    tag_calls = rec.params("DescribeTags")
    assert len(tag_calls) == -(-total // 20) and all(len(c["ResourceArns"]) <= 20 for c in tag_calls)
    part.remove(ctx, arn)


def test_target_group_replacement_keeps_the_old_one_until_removed(aws: Aws, ctx: PartContext, rec: Recorder) -> None:
    part = BackendTargetGroup()
    first = part.ensure(ctx, TargetGroupDesired.backend(aws.vpc_id, TARGETS, HC), None).observed.id
    moved = TargetGroupDesired.backend(aws.vpc_id, TARGETS, HC, port=8443)
    rec.clear()
    out = part.ensure(ctx, moved, first)
    assert out.action == "Replaced" and out.changes == ["port"] and out.observed.id != first
    assert out.superseded is not None and out.superseded.id == first and "DeleteTargetGroup" not in rec.writes()
    assert part.find(ctx, None, first) is not None  # a listener may still forward to it
    # Crash before status recorded the new ARN: the next pass adopts the replacement, no twin.
    rec.clear()
    again = part.ensure(ctx, moved, first)
    assert again.observed.id == out.observed.id and rec.writes() == []
    assert part.remove(ctx, first) == first
    assert part.remove(ctx, out.observed.id) == out.observed.id


# --- security group against AWS ---


def test_security_group_lifecycle(aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any]) -> None:
    part, desired = SecurityGroup(), SecurityGroupDesired(aws.vpc_id, egress=EGRESS)
    created = part.ensure(ctx, desired, None)
    gid = created.observed.id
    assert created.action == "Created"
    assert rec.writes() == [
        "CreateSecurityGroup",
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroupEgress",
    ]
    assert rec.params("CreateSecurityGroup")[0]["TagSpecifications"][0]["ResourceType"] == "security-group"
    group = raw["ec2"].describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    assert ctx.owner.owns(as_dict(group["Tags"]), "alb-security-group")
    assert rules_from_permissions(group["IpPermissions"]) == {Rule.tcp(443, "10.0.0.0/16")}
    assert rules_from_permissions(group["IpPermissionsEgress"]) == set(EGRESS)

    rec.clear()
    assert part.ensure(ctx, desired, gid).action is None and rec.writes() == []
    assert rec.names() == ["DescribeSecurityGroups", "DescribeVpcs"]

    # Drift: someone opened SSH. Plus a spec change: a third target.
    raw["ec2"].authorize_security_group_ingress(
        GroupId=gid, IpPermissions=permissions_from_rules([Rule.tcp(22, "0.0.0.0/0")])
    )
    changed = replace(desired, egress=SecurityGroupDesired.egress_to_targets([*TARGETS, ("192.168.10.7", 8443)]))
    rec.clear()
    updated = part.ensure(ctx, changed, gid)
    assert updated.action == "Updated" and updated.observed.id == gid and updated.changes == ["ingress", "egress"]
    assert sorted(rec.writes()) == ["AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress"]
    rec.clear()
    assert part.ensure(ctx, changed, gid).action is None and rec.writes() == []

    adopted = part.ensure(ctx, changed, None)
    assert adopted.action is None and adopted.observed.id == gid
    assert part.remove(ctx, gid) == gid and part.remove(ctx, gid) is None


def test_security_group_in_a_missing_vpc_is_an_input_error(ctx: PartContext, rec: Recorder) -> None:
    with pytest.raises(Stalled) as err:
        SecurityGroup().ensure(ctx, SecurityGroupDesired("vpc-0123456789abcdef0"), None)
    assert err.value.reason == "VpcNotFound" and rec.writes() == []


# --- load balancers against AWS ---


def test_alb_lifecycle(aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any]) -> None:
    sgs = [
        raw["ec2"].create_security_group(GroupName=f"t-{uuid.uuid4().hex[:8]}", Description="t", VpcId=aws.vpc_id)[
            "GroupId"
        ]
        for _ in range(2)
    ]
    part = Alb()
    desired = LoadBalancerDesired(aws.vpc_id, (aws.subnets["a"], aws.subnets["c"]), (sgs[0],))
    created = part.ensure(ctx, desired, None)
    arn = created.observed.id
    assert created.action == "Created" and rec.writes() == ["CreateLoadBalancer"]
    # A fresh load balancer is provisioning: not ready, and nothing waited for it.
    assert not created.observed.ready and created.observed.waiting_for == "load balancer provisioning"
    params = rec.params("CreateLoadBalancer")[0]
    assert (params["Scheme"], params["Type"]) == ("internal", "application") and len(params["Name"]) <= 32
    state = created.observed.state
    assert state.dns_name and state.canonical_hosted_zone_id

    rec.clear()
    again = part.ensure(ctx, desired, arn)
    assert again.action is None and rec.writes() == [] and rec.names() == ["DescribeLoadBalancers", "DescribeTags"]
    assert again.observed.ready  # moto: active from the first describe

    rec.clear()
    changed = LoadBalancerDesired(aws.vpc_id, (aws.subnets["a"], aws.subnets["d"]), tuple(sgs))
    updated = part.ensure(ctx, changed, arn)
    assert updated.action == "Updated" and updated.observed.id == arn
    assert updated.changes == ["subnets", "security_groups"] and rec.writes() == [
        "SetSubnets",
        "SetSecurityGroups",
    ]
    assert updated.observed.state.subnet_ids == tuple(sorted([aws.subnets["a"], aws.subnets["d"]]))
    rec.clear()
    assert part.ensure(ctx, changed, arn).action is None and rec.writes() == []

    assert part.ensure(ctx, changed, None).observed.id == arn  # adopted by name
    found = part.find(ctx, None, None)  # and by owner tags
    assert found is not None and found.id == arn
    assert Nlb().find(ctx, None, None) is None  # the other role's part does not adopt it
    assert part.remove(ctx, arn) == arn and part.remove(ctx, arn) is None


def test_nlb_lifecycle(aws: Aws, ctx: PartContext, rec: Recorder) -> None:
    part, desired = Nlb(), LoadBalancerDesired(aws.vpc_id, (aws.subnets["a"], aws.subnets["c"]))
    created = part.ensure(ctx, desired, None)
    assert created.action == "Created" and "SecurityGroups" not in rec.params("CreateLoadBalancer")[0]
    assert rec.params("CreateLoadBalancer")[0]["Type"] == "network"
    rec.clear()
    assert part.ensure(ctx, desired, created.observed.id).action is None and rec.writes() == []
    assert part.remove(ctx, created.observed.id) == created.observed.id


def test_load_balancer_with_a_missing_subnet_is_an_input_error(aws: Aws, ctx: PartContext) -> None:
    desired = LoadBalancerDesired(aws.vpc_id, (aws.subnets["a"], "subnet-0123456789abcdef0"))
    with pytest.raises(Stalled) as err:
        Nlb().ensure(ctx, desired, None)
    assert err.value.reason == "SubnetNotFound"


def test_load_balancer_stays_not_ready_while_the_emulator_provisions(aws: Aws, ctx: PartContext) -> None:
    if not aws.emulator:
        pytest.skip(
            "plain moto turns provisioning into active on the first describe; "
            "needs hybrid_gateway_devenv.emulator provisioning delays"
        )
    from hybrid_gateway_devenv.emulator import EmulatorControl

    control = EmulatorControl(aws.endpoint_url)
    part, desired = Nlb(), LoadBalancerDesired(aws.vpc_id, (aws.subnets["a"], aws.subnets["c"]))
    control.set_provisioning_delay(600)
    try:
        arn = part.ensure(ctx, desired, None).observed.id
        seq = control.last_seq()
        again = part.ensure(ctx, desired, arn)
        assert again.action is None and not again.observed.ready
        assert again.observed.waiting_for == "load balancer provisioning"
        assert control.count(write=True, since=seq) == 0
    finally:
        control.set_provisioning_delay(0)
    assert part.ensure(ctx, desired, arn).observed.ready
    assert part.remove(ctx, arn) == arn


# --- certificates against AWS ---


def test_existing_certificate_checks_hostname_status_and_is_never_deleted(
    aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any]
) -> None:
    def imported(pem: Pem) -> str:
        return str(
            raw["acm"].import_certificate(Certificate=pem.cert.encode(), PrivateKey=pem.key.encode())["CertificateArn"]
        )

    wildcard = imported(make_cert("*.example.com"))
    san = imported(make_cert("api.example.com", ("api.example.com", HOST)))
    other = imported(make_cert("api.example.com", ("api.example.com",)))
    part = ExistingCertificate(HOST)
    for arn in (wildcard, san):
        out = part.ensure(ctx, ExistingCertificateDesired(arn), None)
        assert out.action is None and out.observed.id == arn and out.observed.ready
    with pytest.raises(Stalled) as err:
        part.ensure(ctx, ExistingCertificateDesired(other), None)
    assert err.value.reason == "CertificateDoesNotCoverHostname"
    missing = wildcard.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    with pytest.raises(Stalled) as err:
        part.ensure(ctx, ExistingCertificateDesired(missing), None)
    assert err.value.reason == "CertificateNotFound"
    pending = raw["acm"].request_certificate(DomainName=HOST, ValidationMethod="DNS")["CertificateArn"]
    out = part.ensure(ctx, ExistingCertificateDesired(pending), None)
    assert not out.observed.ready and out.observed.waiting_for == f"certificate {pending} is PENDING_VALIDATION"
    assert part.remove(ctx, wildcard) is None
    assert rec.writes() == []
    raw["acm"].describe_certificate(CertificateArn=wildcard)  # still there


def test_imported_certificate_lifecycle_reimports_into_the_same_arn(
    aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any]
) -> None:
    host = f"imp-{uuid.uuid4().hex[:6]}.example.com"
    part = ImportedCertificate(host)
    first = make_cert(host, (host,))
    desired = ImportedCertificateDesired.from_pem(host, first.cert, first.key)
    created = part.ensure(ctx, desired, None)
    arn = created.observed.id
    assert created.action == "Created" and rec.writes() == ["ImportCertificate"] and created.observed.ready
    assert created.observed.state.fingerprint == desired.fingerprint
    assert ctx.owner.owns(as_dict(raw["acm"].list_tags_for_certificate(CertificateArn=arn)["Tags"]), "certificate")

    rec.clear()
    again = part.ensure(ctx, desired, arn)
    assert again.action is None and rec.writes() == []
    # Issue 12: the body (GetCertificate) is read only when DescribeCertificate's serial or validity differ
    # from the desired certificate's; the renewal below differs, and is found.
    assert rec.names() == ["DescribeCertificate", "ListTagsForCertificate"]

    renewed = make_cert(host, (host,))  # e.g. cert-manager renewed the Secret
    new_desired = ImportedCertificateDesired.from_pem(host, renewed.cert, renewed.key)
    rec.clear()
    updated = part.ensure(ctx, new_desired, arn)
    assert updated.action == "Updated" and updated.observed.id == arn and updated.changes == ["fingerprint"]
    assert rec.writes() == ["ImportCertificate", "AddTagsToCertificate"]
    reimport = rec.params("ImportCertificate")[0]
    assert reimport["CertificateArn"] == arn and "Tags" not in reimport
    rec.clear()
    assert part.ensure(ctx, new_desired, arn).action is None and rec.writes() == []

    adopted = part.ensure(ctx, new_desired, None)  # status lost: found by owner tags for the hostname
    assert adopted.action is None and adopted.observed.id == arn
    assert ImportedCertificate("unrelated.example.org").find(ctx, None, None) is None
    assert RequestedCertificate(host).find(ctx, None, None) is None  # another source's part does not adopt it
    assert part.remove(ctx, arn) == arn and part.remove(ctx, arn) is None


def test_imported_certificate_key_type_change_is_a_new_certificate(aws: Aws, ctx: PartContext) -> None:
    host = f"kt-{uuid.uuid4().hex[:6]}.example.com"
    part = ImportedCertificate(host)
    ec_pem, rsa_pem = make_cert(host, (host,)), make_cert(host, (host,), rsa_key=True)
    first = part.ensure(ctx, ImportedCertificateDesired.from_pem(host, ec_pem.cert, ec_pem.key), None).observed.id
    out = part.ensure(ctx, ImportedCertificateDesired.from_pem(host, rsa_pem.cert, rsa_pem.key), first)
    assert out.action == "Replaced" and out.changes == ["key_algorithm", "fingerprint"]
    assert out.observed.id != first and out.superseded is not None and out.superseded.id == first
    assert part.remove(ctx, first) == first and part.remove(ctx, out.observed.id) == out.observed.id


def test_requested_certificate_waits_for_its_dns_validation(
    aws: Aws, ctx: PartContext, rec: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = f"req-{uuid.uuid4().hex[:6]}.example.com"
    part, desired = RequestedCertificate(host), RequestedCertificateDesired(host)
    created = part.ensure(ctx, desired, None)
    arn = created.observed.id
    assert created.action == "Created" and rec.writes() == ["RequestCertificate"]
    request = rec.params("RequestCertificate")[0]
    assert request["ValidationMethod"] == "DNS" and len(request["IdempotencyToken"]) == 32 and request["Tags"]
    assert not created.observed.ready and created.observed.waiting_for == f"certificate {arn} is PENDING_VALIDATION"

    rec.clear()
    again = part.ensure(ctx, desired, arn)
    assert again.action is None and rec.writes() == [] and not again.observed.ready
    record = validation_record(again.observed.state)
    assert record is not None and record.name.rstrip(".").endswith(host) and record.values

    # The reconciler writes the validation CNAME with the DNS part ...
    dns = DnsRecord(aws.zone_id, "CNAME")
    written = dns.ensure(ctx, record, None)
    assert written.action == "Created" and dns.ensure(ctx, record, written.observed.id).action is None
    # ... and ACM validates it (the emulator on its own; plain moto after its validation wait).
    if not aws.emulator:
        import moto.settings

        monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", 0)
    issued = part.ensure(ctx, desired, arn)
    assert issued.action is None and issued.observed.ready and issued.observed.state.status == "ISSUED"

    assert part.ensure(ctx, desired, None).observed.id == arn  # adopted by owner tags
    assert part.remove(ctx, arn) == arn and part.remove(ctx, arn) is None
    assert dns.remove(ctx, written.observed.id) == written.observed.id


# --- listeners against AWS ---


def test_alb_listener_lifecycle(aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any]) -> None:
    alb = _alb(ctx, aws, raw)
    tg1 = BackendTargetGroup().ensure(ctx, TargetGroupDesired.backend(aws.vpc_id, TARGETS, HC), None).observed.id
    tg2 = raw["elbv2"].create_target_group(
        Name=f"t-{uuid.uuid4().hex[:8]}", Protocol="HTTPS", Port=443, VpcId=aws.vpc_id, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    pem = make_cert(HOST, (HOST,))
    cert = ImportedCertificate(HOST).ensure(ctx, ImportedCertificateDesired.from_pem(HOST, pem.cert, pem.key), None)
    part, desired = AlbListener(alb), ListenerDesired.https(tg1, cert.observed.id, TLS_POLICY)

    rec.clear()
    created = part.ensure(ctx, desired, None)
    arn = created.observed.id
    assert created.action == "Created" and rec.writes() == ["CreateListener"]
    params = rec.params("CreateListener")[0]
    assert (params["Protocol"], params["Port"], params["SslPolicy"]) == ("HTTPS", 443, TLS_POLICY)
    assert params["Certificates"] == [{"CertificateArn": cert.observed.id}] and params["Tags"]

    rec.clear()
    assert part.ensure(ctx, desired, arn).action is None and rec.writes() == []
    rec.clear()
    changed = ListenerDesired.https(tg2, cert.observed.id, OTHER_TLS_POLICY)
    updated = part.ensure(ctx, changed, arn)
    assert updated.action == "Updated" and updated.observed.id == arn
    assert updated.changes == ["target_group_arn", "ssl_policy"] and rec.writes() == ["ModifyListener"]
    assert part.ensure(ctx, changed, arn).action is None
    found = part.find(ctx, None, None)  # by load balancer + port
    assert found is not None and found.id == arn
    assert part.remove(ctx, arn) == arn and part.remove(ctx, arn) is None and part.remove(ctx, None) is None
    Alb().remove(ctx, alb)
    assert AlbListener(alb).find(ctx, None, arn) is None  # its load balancer is gone: nothing, no error


@pytest.mark.parametrize("version", ["V1", "V2"])
def test_the_hybridapi_chain_in_dependency_order_then_reverse(
    aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any], version: str
) -> None:
    """Seed 000's chain as the HybridApi reconciler declares it (`hybridapi.CHAIN`, the same list it
    runs), for each VPC link version (issue 13): every step is made in order, a second pass writes
    nothing, drift on one hop is put back in one write, and finalize removes everything in reverse order."""
    from hybrid_gateway.api.v1alpha1 import HybridApiSpec
    from hybrid_gateway.reconcilers.hybridapi import CHAIN, Inputs

    host = f"chain-{uuid.uuid4().hex[:6]}.example.com"
    pem = make_cert(host, (host,))
    spec = HybridApiSpec.model_validate({
        "region": REGION,
        "network": {"vpcId": aws.vpc_id, "subnetIds": [aws.subnets["a"], aws.subnets["c"]]},
        "backend": {"targets": [{"ip": ip, "port": port} for ip, port in TARGETS], "healthCheck": {"path": "/healthz"}},
        "frontDoor": {"hostname": host, "hostedZoneId": aws.zone_id, "certificate": {"secretRef": {"name": "tls"}}},
        "api": {"routes": [{"path": "/{proxy+}", "methods": ["ANY"]}]},
    })
    inputs = Inputs(spec, api_name="team-a-orders",
                    certificate_desired=ImportedCertificateDesired.from_pem(host, pem.cert, pem.key),
                    link_versions=frozenset({version}), owner_uid=ctx.owner.uid, owner_ref="team-a/orders")

    run = CHAIN.ensure(ctx, inputs, {})
    for _ in range(20):  # bounded: the emulator provisions load balancers and the VPC link for a while
        if not run.waiting:
            break
        time.sleep(0.5)
        run = CHAIN.ensure(ctx, inputs, run.resources, run.retiring)
    assert not run.waiting, run.hops
    # No validation record (an imported certificate) and no trust store (mutual TLS is not verify).
    # Only the steps of the link version.
    assert list(run.resources) == [s.key for s in CHAIN.steps if s.when(inputs)
                                   and s.key not in ("validationRecordName", "trustStoreArn")]
    alias = raw["route53"].list_resource_record_sets(
        HostedZoneId=aws.zone_id, StartRecordName=host, StartRecordType="A", MaxItems="1"
    )["ResourceRecordSets"][0]
    target = run.found["nlbArn" if version == "V1" else "albArn"]
    assert norm_name(alias["AliasTarget"]["DNSName"]) == norm_name(target.state.dns_name)

    rec.clear()
    seq = _control(aws).last_seq()
    second = CHAIN.ensure(ctx, inputs, run.resources, run.retiring)
    assert [o.part for o in second.outcomes if o.action] == [] and rec.writes() == []
    assert _control(aws).count(write=True, since=seq) == 0  # the emulator's own request log agrees

    # Out-of-band drift on the alias is corrected in place, and nothing else is touched.
    raw["route53"].change_resource_record_sets(HostedZoneId=aws.zone_id, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {"Name": host, "Type": "A", "AliasTarget": {
            "DNSName": "elsewhere.elb.amazonaws.com", "HostedZoneId": "ZOTHER", "EvaluateTargetHealth": True}}}]})
    rec.clear()
    third = CHAIN.ensure(ctx, inputs, run.resources, run.retiring)
    assert [(o.part, o.action) for o in third.outcomes if o.action] == [("dns-record", "Updated")]
    assert rec.writes() == ["ChangeResourceRecordSets"]

    teardown = CHAIN.finalize(ctx, inputs, third.resources)
    deleted = list(teardown.deleted)  # over every walk: a later walk does not repeat what went
    for _ in range(20):  # the VPC link and load balancers may still be in use by what is being deleted
        if teardown.done:
            break
        time.sleep(0.5)
        teardown = CHAIN.finalize(ctx, inputs, third.resources)
        deleted += teardown.deleted
    assert teardown.done, teardown.waiting_for
    removed = [what.split(" ", 1)[0] for what in deleted]
    assert removed == (["rest-api", "vpc-link", "dns-record", "nlb", "alb-target-group", "alb",
                        "alb-security-group", "backend-target-group", "certificate"] if version == "V1" else
                       ["rest-api", "vpc-link-v2", "dns-record", "alb", "alb-security-group",
                        "vpc-link-security-group", "backend-target-group", "certificate"])
    assert DnsRecord(aws.zone_id, "A").remove(ctx, host) is None


# --- DNS against AWS ---


def test_alias_record_lifecycle(aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any]) -> None:
    host = f"dns-{uuid.uuid4().hex[:6]}.example.com"
    part = DnsRecord(f"/hostedzone/{aws.zone_id}", "A")
    desired = RecordDesired.alias_to(host.upper() + ".", "NLB-1.elb.ap-northeast-1.amazonaws.com.", "Z31USIVHYNEOWT")
    created = part.ensure(ctx, desired, None)
    assert created.action == "Created" and created.observed.id == host and rec.writes() == ["ChangeResourceRecordSets"]
    # One batch: CREATE the alias and CREATE its ownership TXT (docs/dns-ownership.md).
    alias, claim = rec.params("ChangeResourceRecordSets")[0]["ChangeBatch"]["Changes"]
    assert alias["Action"] == "CREATE" and alias["ResourceRecordSet"]["AliasTarget"]["EvaluateTargetHealth"] is False
    assert (claim["Action"], claim["ResourceRecordSet"]["Name"], claim["ResourceRecordSet"]["Type"]) == (
        "CREATE", f"_hybridgateway-a.{host}", "TXT")
    assert claim["ResourceRecordSet"]["ResourceRecords"] == [{"Value": ownership_value(ctx.owner)}]

    rec.clear()
    again = part.ensure(ctx, desired, host)
    assert again.action is None and rec.writes() == []
    listed = rec.params("ListResourceRecordSets")  # the alias, then its ownership TXT
    assert [(p["StartRecordName"], p["StartRecordType"], p["MaxItems"]) for p in listed] == [
        (host, "A", "1"), (f"_hybridgateway-a.{host}", "TXT", "1")]
    assert part.ensure(ctx, desired, None).action is None  # no known id: looked up by the desired name

    moved = RecordDesired.alias_to(host, "nlb-2.elb.ap-northeast-1.amazonaws.com", "Z31USIVHYNEOWT")
    updated = part.ensure(ctx, moved, host)
    assert updated.action == "Updated" and updated.observed.id == host and updated.changes == ["alias.dns_name"]
    assert part.ensure(ctx, moved, host).action is None

    # Renaming the hostname writes the new record first, then deletes the old one.
    new_host = f"dns2-{uuid.uuid4().hex[:6]}.example.com"
    rec.clear()
    renamed = part.ensure(ctx, replace(moved, name=new_host), host)
    assert renamed.action == "Replaced" and renamed.observed.id == new_host
    batches = [[(c["Action"], c["ResourceRecordSet"]["Type"]) for c in p["ChangeBatch"]["Changes"]]
               for p in rec.params("ChangeResourceRecordSets")]
    assert batches == [[("CREATE", "A"), ("CREATE", "TXT")], [("DELETE", "A"), ("DELETE", "TXT")]]
    assert part.find(ctx, None, host) is None and _txt(raw, aws, f"_hybridgateway-a.{host}") is None

    stale = part.find(ctx, None, new_host)
    assert stale is not None and part.remove(ctx, new_host) == new_host
    assert _txt(raw, aws, f"_hybridgateway-a.{new_host}") is None  # the alias and its TXT went together
    part.delete(ctx, stale)  # already gone: DELETE's "not found" counts as success
    assert part.remove(ctx, new_host) is None and part.remove(ctx, None) is None


def _txt(raw: dict[str, Any], aws: Aws, name: str) -> list[str] | None:
    """The values of TXT record `name` as Route 53 lists them (None: there is none)."""
    answer = raw["route53"].list_resource_record_sets(
        HostedZoneId=aws.zone_id, StartRecordName=name, StartRecordType="TXT", MaxItems="1")["ResourceRecordSets"]
    found = [r for r in answer if norm_name(r["Name"]) == name and r["Type"] == "TXT"]
    return [v["Value"] for v in found[0]["ResourceRecords"]] if found else None


# --- the part contract, walked by every network part ---


def _network_cases(aws: Aws, ctx: PartContext, raw: dict[str, Any]) -> list[ContractCase]:
    elbv2, ec2, acm, r53 = raw["elbv2"], raw["ec2"], raw["acm"], raw["route53"]
    subnets = (aws.subnets["a"], aws.subnets["c"])
    other = replace(ctx, owner=owner())  # what the cases need, made by another owner so no case adopts it
    alb = _alb(other, aws, raw)
    tg = BackendTargetGroup().ensure(other, TargetGroupDesired.backend(aws.vpc_id, TARGETS, HC), None).observed.id
    host = f"contract-{uuid.uuid4().hex[:6]}.example.com"
    pem, renewed = make_cert(host, (host,)), make_cert(host, (host,))
    cert = ImportedCertificate(host).ensure(other, ImportedCertificateDesired.from_pem(host, pem.cert, pem.key), None)
    # AWS registers an ALB in a target group only once it has a listener on the group's port (ELB user
    # guide, "Use an Application Load Balancer as a target"; docs/aws-behaviour.md).
    listened = _alb(replace(ctx, owner=owner()), aws, raw)
    AlbListener(listened).ensure(other, ListenerDesired.https(tg, cert.observed.id, TLS_POLICY), None)
    group = raw["ec2"].create_security_group(GroupName=f"c-{uuid.uuid4().hex[:8]}", Description="c", VpcId=aws.vpc_id)
    nlb_name = f"c-{uuid.uuid4().hex[:8]}"
    nlb_target = elbv2.create_load_balancer(Name=nlb_name, Subnets=list(subnets), Scheme="internal", Type="network")
    nlb_dns = nlb_target["LoadBalancers"][0]["DNSName"]

    def upsert(name: str, rrset: dict[str, Any]) -> None:
        r53.change_resource_record_sets(HostedZoneId=aws.zone_id, ChangeBatch={
            "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {"Name": name, **rrset}}]})

    def reimport(arn: str) -> None:
        acm.import_certificate(CertificateArn=arn, Certificate=pem.cert.encode(), PrivateKey=pem.key.encode())
        # AWS keeps a certificate's tags across a re-import; moto drops them, so put them back.
        acm.add_tags_to_certificate(CertificateArn=arn, Tags=as_list(ctx.owner.tags("certificate")))

    return [
        ContractCase(
            "backend target group: a target deregistered by hand", BackendTargetGroup(),
            TargetGroupDesired.backend(aws.vpc_id, [("192.168.20.5", 443)], HC),
            lambda o: elbv2.deregister_targets(TargetGroupArn=o.id, Targets=[{"Id": "192.168.20.5", "Port": 443}]),
            create_reads=TG_CREATE_READS, adopt_reads=TG_ADOPT_READS,
        ),
        ContractCase(
            "alb target group: health check path changed by hand", AlbTargetGroup(),
            TargetGroupDesired.alb(aws.vpc_id, listened, HealthCheck(path="/healthz")),
            lambda o: elbv2.modify_target_group(TargetGroupArn=o.id, HealthCheckPath="/other"),
            create_reads=TG_CREATE_READS, adopt_reads=TG_ADOPT_READS,
        ),
        ContractCase(
            "security group: an extra ingress rule", SecurityGroup(), SecurityGroupDesired(aws.vpc_id, egress=EGRESS),
            lambda o: ec2.authorize_security_group_ingress(
                GroupId=o.id, IpPermissions=permissions_from_rules({Rule.tcp(22, "0.0.0.0/0")})),
        ),
        ContractCase(
            "alb: a security group swapped by hand", Alb(),
            LoadBalancerDesired(aws.vpc_id, subnets, (group["GroupId"],)),
            lambda o: elbv2.set_security_groups(LoadBalancerArn=o.id, SecurityGroups=[_other_group(aws, raw)]),
            lingers=True, create_reads=LB_CREATE_READS, adopt_reads=LB_ADOPT_READS,
        ),
        ContractCase(
            "nlb: a subnet moved by hand", Nlb(), LoadBalancerDesired(aws.vpc_id, subnets),
            lambda o: elbv2.set_subnets(LoadBalancerArn=o.id, Subnets=[aws.subnets["a"], aws.subnets["d"]]),
            lingers=True, create_reads=LB_CREATE_READS, adopt_reads=LB_ADOPT_READS,
        ),
        ContractCase(
            "alb listener: TLS policy lowered by hand", AlbListener(alb),
            ListenerDesired.https(tg, cert.observed.id, TLS_POLICY),
            lambda o: elbv2.modify_listener(ListenerArn=o.id, SslPolicy="ELBSecurityPolicy-2016-08"),
        ),
        ContractCase(
            "front-door alias: pointed elsewhere by hand", DnsRecord(aws.zone_id, "A"),
            RecordDesired.alias_to(host, nlb_dns, "Z31USIVHYNEOWT"),
            lambda o: upsert(host, {"Type": "A", "AliasTarget": {
                "DNSName": "elsewhere.elb.amazonaws.com", "HostedZoneId": "Z31USIVHYNEOWT",
                "EvaluateTargetHealth": False}}),
        ),
        ContractCase(
            "validation CNAME: value changed by hand", DnsRecord(aws.zone_id, "CNAME"),
            RecordDesired.cname(f"_v.{host}", "_x.acm-validations.aws"),
            lambda o: upsert(
                f"_v.{host}", {"Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": "_y.example"}]}
            ),
        ),
        ContractCase(
            "imported certificate: another body imported into its ARN by hand", ImportedCertificate(host),
            ImportedCertificateDesired.from_pem(host, renewed.cert, renewed.key),
            lambda o: reimport(o.id),
        ),
    ]


def _other_group(aws: Aws, raw: dict[str, Any]) -> str:
    return str(raw["ec2"].create_security_group(
        GroupName=f"o-{uuid.uuid4().hex[:8]}", Description="o", VpcId=aws.vpc_id)["GroupId"])


# Creating and adopting a load balancer or target group (issue 12): one Describe by its deterministic name
# (and, once found, one DescribeTags for that one candidate), never a listing of the region's resources.
# A new target group's health is read once (creating it observes its targets).
LB_CREATE_READS = ("DescribeLoadBalancers",)
LB_ADOPT_READS = ("DescribeLoadBalancers", "DescribeTags")
TG_CREATE_READS = ("DescribeTargetGroups", "DescribeTargetHealth")
TG_ADOPT_READS = ("DescribeTargetGroups", "DescribeTags", "DescribeTargetHealth")


def test_every_network_part_walks_the_contract(
    aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any]
) -> None:
    cases = _network_cases(aws, ctx, raw)
    for case in cases:
        walk_contract(case, ctx, rec)
    # RequestedCertificate has nothing that can change in place, and a re-request after an out-of-band
    # delete meets its idempotency token: its lifecycle is tested on its own above.
    assert len({type(c.part) for c in cases}) == 8


def test_a_referenced_certificate_is_only_read(
    aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any]
) -> None:
    pem = make_cert(HOST, (HOST,))
    arn = raw["acm"].import_certificate(Certificate=pem.cert.encode(), PrivateKey=pem.key.encode())["CertificateArn"]
    part = ExistingCertificate(HOST)
    rec.clear()
    assert part.ensure(ctx, ExistingCertificateDesired(arn), None).action is None
    assert part.remove(ctx, arn) is None and rec.writes() == []
    with pytest.raises(Stalled) as missing:
        part.ensure(ctx, ExistingCertificateDesired(arn.replace(arn[-6:], "000000")), arn)
    assert missing.value.reason == "CertificateNotFound" and rec.writes() == []


# --- ACM answers spell key algorithms with a hyphen ---


@pytest.mark.parametrize(
    ("reason", "answer", "desired"),
    [
        ("requested certificate: ACM answers RSA-2048 for the RSA_2048 it was asked for", "RSA-2048",
         RequestedCertificateDesired(HOST)),
        ("imported EC certificate: EC-prime256v1 for EC_prime256v1", "EC-prime256v1",
         ImportedCertificateDesired("c", "k", "", "f1", "EC_prime256v1", (HOST,))),
    ],
)
def test_acm_hyphenated_key_algorithm_is_no_difference(reason: str, answer: str, desired: Any) -> None:
    """ACM's answers spell KeyAlgorithm with a hyphen while its requests take the underscore enum
    (responses recorded against real AWS: localstack tests/aws/services/acm/test_acm.snapshot.json,
    test_certificate_for_subdomain_wildcard and test_import_certificate; docs/aws-behaviour.md). Compared
    raw, every pass would see a key-type change and replace or re-import the certificate."""
    state = certificate_state({"CertificateArn": "arn", "DomainName": HOST, "KeyAlgorithm": answer},
                              fingerprint="f1")
    differences = diff_requested(desired, state) if isinstance(desired, RequestedCertificateDesired) else (
        diff_imported(desired, state))
    assert differences == [], reason


# --- one pass's reads (issue 12): a reconciler gives its parts a read cache and the recorded ids ---


def _pass(ctx: PartContext, *recorded: str, trusted: bool = True) -> PartContext:
    """The context a reconciler builds for one pass of an object whose status recorded `recorded`."""
    return PartContext(ctx.aws, ctx.region, ctx.owner, recorded=frozenset(recorded), trust_recorded=trusted,
                       reads={})


def _load_balancers(aws: Aws, ctx: PartContext, raw: dict[str, Any]) -> tuple[LoadBalancerDesired, ...]:
    group = raw["ec2"].create_security_group(GroupName=f"t-{uuid.uuid4().hex[:8]}", Description="t",
                                             VpcId=aws.vpc_id)["GroupId"]
    subnets = (aws.subnets["a"], aws.subnets["c"])
    return LoadBalancerDesired(aws.vpc_id, subnets, (group,)), LoadBalancerDesired(aws.vpc_id, subnets)


def test_recorded_load_balancers_are_described_with_one_call_and_no_tag_read(
        aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any]) -> None:
    alb_desired, nlb_desired = _load_balancers(aws, ctx, raw)
    alb = Alb().ensure(ctx, alb_desired, None).observed.id
    nlb = Nlb().ensure(ctx, nlb_desired, None).observed.id

    rec.clear()
    one_pass = _pass(ctx, alb, nlb)
    assert Alb().ensure(one_pass, alb_desired, alb).observed.id == alb
    assert Nlb().ensure(one_pass, nlb_desired, nlb).observed.id == nlb
    assert rec.reads() == ["DescribeLoadBalancers"] and rec.writes() == []
    assert sorted(rec.params("DescribeLoadBalancers")[0]["LoadBalancerArns"]) == sorted([alb, nlb])

    # Not yet trusted (the status is from an older generation): batched still, but each one's tags are read.
    rec.clear()
    Alb().ensure(_pass(ctx, alb, nlb, trusted=False), alb_desired, alb)
    assert rec.reads() == ["DescribeLoadBalancers", "DescribeTags"]


def test_a_recorded_target_group_gone_is_asked_alone_and_the_other_found(
        aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any]) -> None:
    backend = TargetGroupDesired.backend(aws.vpc_id, [("192.168.30.5", 443)], HC)
    # Another port makes another target group (its name hashes protocol and port).
    other = TargetGroupDesired.backend(aws.vpc_id, [("192.168.30.6", 8443)], HC, port=8443)
    kept = BackendTargetGroup().ensure(ctx, backend, None).observed.id
    gone = AlbTargetGroup().ensure(ctx, other, None).observed.id
    raw["elbv2"].delete_target_group(TargetGroupArn=gone)

    rec.clear()
    found = BackendTargetGroup().ensure(_pass(ctx, kept, gone), backend, kept)
    assert found.action is None and found.observed.id == kept
    # TargetGroupNotFound fails the whole batch (docs/aws-behaviour.md): then one ARN at a time.
    assert rec.reads() == ["DescribeTargetGroups"] * 3 + ["DescribeTargetHealth"]


def test_one_listing_answers_for_the_alias_its_ownership_record_and_the_validation_record(
        aws: Aws, ctx: PartContext, rec: Recorder) -> None:
    host = f"pass-{uuid.uuid4().hex[:6]}.example.com"
    alias = RecordDesired.alias_to(host, "nlb-1.elb.ap-northeast-1.amazonaws.com", "Z31USIVHYNEOWT")
    validation = RecordDesired.cname(f"_v{uuid.uuid4().hex[:6]}.{host}", "_x.acm-validations.aws")
    a_record, cname = DnsRecord(aws.zone_id, "A"), DnsRecord(aws.zone_id, "CNAME")
    a_record.ensure(ctx, alias, None)
    cname.ensure(ctx, validation, None)

    rec.clear()
    one_pass = _pass(ctx, host, validation.name)
    assert cname.ensure(one_pass, validation, validation.name).action is None
    assert a_record.ensure(one_pass, alias, host).action is None
    assert rec.reads() == ["ListResourceRecordSets"] and rec.writes() == []
    assert rec.params("ListResourceRecordSets")[0]["StartRecordName"] == host

    # A change batch drops what the pass listed: the next lookup reads the zone again and sees it.
    r53 = boto3.client("route53", region_name=REGION, endpoint_url=aws.endpoint_url)
    r53.change_resource_record_sets(HostedZoneId=aws.zone_id, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {"Name": host, "Type": "A", "AliasTarget": {
            "DNSName": "elsewhere.elb.amazonaws.com", "HostedZoneId": "Z31USIVHYNEOWT",
            "EvaluateTargetHealth": False}}}]})
    rec.clear()
    one_pass = _pass(ctx, host, validation.name)
    repaired = a_record.ensure(one_pass, alias, host)
    assert repaired.action == "Updated" and rec.writes() == ["ChangeResourceRecordSets"]
    rec.clear()
    assert a_record.ensure(one_pass, alias, host).action is None and rec.writes() == []
    assert rec.reads() == ["ListResourceRecordSets"]  # listed again after its own change


# --- the ELB trust store (frontDoor.mutualTls verify) ---


def _client_certificate_pem(name: str) -> str:
    """A self-signed certificate shaped like API Gateway's generated ones: X.509 v3, RSA 2048, SHA-256, no
    extensions at all (docs/mutual-tls.md)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                         x509.NameAttribute(NameOID.LOCALITY_NAME, "Seattle"),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_trust_store_walks_the_contract(aws: Aws, ctx: PartContext) -> None:
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=aws.endpoint_url)
    elbv2 = boto3.client("elbv2", region_name=REGION, endpoint_url=aws.endpoint_url)
    bucket = f"trust-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    bundle = compose([_client_certificate_pem("ApiGateway"), _client_certificate_pem("ApiGateway")])
    s3.put_object(Bucket=bucket, Key="orders.pem", Body=bundle.encode())
    s3.put_object(Bucket=bucket, Key="other.pem", Body=_client_certificate_pem("Someone").encode())
    rec = Recorder().attach(ctx, "elbv2", "s3")
    part = TrustStore()
    case = ContractCase(
        "trust store: loaded with another bundle by hand", part,
        TrustStoreDesired(bucket, "orders.pem", digest(bundle)),
        lambda o: elbv2.modify_trust_store(TrustStoreArn=o.id, CaCertificatesBundleS3Bucket=bucket,
                                           CaCertificatesBundleS3Key="other.pem"),
        create_reads=("DescribeTrustStores", "GetObject"), adopt_reads=("DescribeTrustStores", "DescribeTags"),
    )
    walk_contract(case, ctx, rec)


@pytest.mark.parametrize(
    ("reason", "desired_sha", "state", "expected"),
    [
        ("same bundle, same count", "a", TrustStoreState("ts", "ACTIVE", 2, "a", 2), []),
        ("a new bundle was published", "b", TrustStoreState("ts", "ACTIVE", 2, "a", 2), ["bundle"]),
        ("not known what it was loaded from (status lost)", "a", TrustStoreState("ts", "ACTIVE", 2, "", -1),
         ["bundle"]),
        ("loaded with something else out of band", "a", TrustStoreState("ts", "ACTIVE", 1, "a", 2), ["bundle"]),
    ],
)
def test_diff_trust_store(reason: str, desired_sha: str, state: TrustStoreState, expected: list[str]) -> None:
    assert diff_trust_store(TrustStoreDesired("b", "k", desired_sha), state) == expected, reason


def test_another_objects_target_group_gone_is_answered_missing_to_it_and_ours_found(
        aws: Aws, ctx: PartContext, rec: Recorder, raw: dict[str, Any]) -> None:
    """Issue 12, reads shared across objects: a round of two objects' passes describes both target groups in
    one call; when the other's was deleted out of band the call fails whole (TargetGroupNotFound), is asked one
    ARN at a time, and the other pass takes "missing" from it without asking again, then repairs."""
    other_ctx = PartContext(ctx.aws, ctx.region, owner())
    desired = TargetGroupDesired.backend(aws.vpc_id, [("192.168.30.5", 443)], HC)
    ours = BackendTargetGroup().ensure(ctx, desired, None).observed.id
    theirs = BackendTargetGroup().ensure(other_ctx, desired, None).observed.id
    shared = SharedReads()

    def one_pass(c: PartContext, recorded: str, scope: Any) -> PartContext:
        return PartContext(c.aws, c.region, c.owner, recorded=frozenset({recorded}), trust_recorded=True,
                           reads={}, shared=scope)

    for c, arn in ((ctx, ours), (other_ctx, theirs)):  # a first check of each: what they read is learnt
        with shared.pass_scope(c.owner.uid, c.region) as scope:
            BackendTargetGroup().ensure(one_pass(c, arn, scope), desired, arn)
    raw["elbv2"].delete_target_group(TargetGroupArn=theirs)

    with shared.pass_scope(ctx.owner.uid, REGION) as ours_scope, \
            shared.pass_scope(other_ctx.owner.uid, REGION) as their_scope:
        rec.clear()
        found = BackendTargetGroup().ensure(one_pass(ctx, ours, ours_scope), desired, ours)
        assert found.action is None and found.observed.id == ours
        asked = [sorted(p["TargetGroupArns"]) for p in rec.params("DescribeTargetGroups")]
        # docs/aws-behaviour.md: the call fails whole, then each ARN is asked alone
        assert asked[0] == sorted([ours, theirs]) and sorted(asked[1:]) == sorted([[ours], [theirs]])
        rec.clear()
        repaired = BackendTargetGroup().ensure(one_pass(other_ctx, theirs, their_scope), desired, theirs)
        assert repaired.action == "Created" and repaired.observed.id != theirs
        assert not any("TargetGroupArns" in p for p in rec.params("DescribeTargetGroups"))  # taken, not asked
