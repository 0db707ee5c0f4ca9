"""Issue 3, "Done when" 7: input that cannot work is reported as Stalled with a message that says
what to fix, and the operator makes no AWS write for it (not on the first pass, not on drift checks).

One operator watches one namespace for the module; each case applies its own object. Since no case
may write anything, the request log must show no write at all while the module runs.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from hybrid_gateway_devenv.cluster import LocalCluster
from hybrid_gateway_devenv.operator_process import OperatorProcess
from hybrid_gateway_devenv.seed import SeededAccount, seed_account
from tests.e2e.helpers import (
    alias_records,
    apply,
    aws,
    condition,
    events,
    front_door_hostname,
    get,
    hybridapi,
    import_certificate,
    secret,
    self_signed,
    wait_until,
)

pytestmark = pytest.mark.e2e
REGION = "ap-northeast-1"


@dataclass
class Env:
    cluster: LocalCluster
    namespace: str
    account: SeededAccount
    endpoint_url: str
    control: Any


@pytest.fixture(scope="module")
def env(cluster: LocalCluster, emulator: Any, control: Any,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", namespace)
    account = seed_account(emulator.endpoint_url, REGION)
    operator = OperatorProcess(
        kubeconfig=cluster.operator_kubeconfig, aws_endpoint_url=emulator.endpoint_url,
        log_path=tmp_path_factory.mktemp("stalled") / "operator.log", namespaces=[namespace],
    ).start()
    try:
        yield Env(cluster, namespace, account, emulator.endpoint_url, control)
    finally:
        operator.stop()


THIRD_SUBNET_CIDR = "10.20.3.0/24"


def _subnet_in_same_zone(env: Env) -> str:
    """A third subnet of the seeded VPC, in the same Availability Zone as the first one."""
    ec2 = aws(env.endpoint_url, "ec2")
    first = ec2.describe_subnets(SubnetIds=[env.account.subnet_ids[0]])["Subnets"][0]
    for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [env.account.vpc_id]}])["Subnets"]:
        if subnet["CidrBlock"] == THIRD_SUBNET_CIDR:
            return str(subnet["SubnetId"])
    created = ec2.create_subnet(VpcId=env.account.vpc_id, CidrBlock=THIRD_SUBNET_CIDR,
                                AvailabilityZone=first["AvailabilityZone"])
    return str(created["Subnet"]["SubnetId"])


@pytest.fixture(autouse=True)
def _no_third_subnet_left(env: Env) -> Iterator[None]:
    """seed_account() takes the seeded VPC's first two subnets: a third one must not outlive its case."""
    yield
    ec2 = aws(env.endpoint_url, "ec2")
    for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [env.account.vpc_id]}])["Subnets"]:
        if subnet["CidrBlock"] == THIRD_SUBNET_CIDR:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])


def subnets_in_one_zone(env: Env, name: str) -> list[dict[str, Any]]:
    obj = hybridapi(name, env.account)
    obj["spec"]["network"]["subnetIds"] = [env.account.subnet_ids[0], _subnet_in_same_zone(env)]
    return [secret(f"{name}-gw", {"token": "t"}), obj]


def hostname_outside_zone(env: Env, name: str) -> list[dict[str, Any]]:
    obj = hybridapi(name, env.account)
    obj["spec"]["frontDoor"]["hostname"] = f"{name}.elsewhere.example.org"
    return [secret(f"{name}-gw", {"token": "t"}), obj]


def missing_gateway_secret(env: Env, name: str) -> list[dict[str, Any]]:
    return [hybridapi(name, env.account)]


def tls_secret_for_another_name(env: Env, name: str) -> list[dict[str, Any]]:
    cert, key = self_signed("not-the-front-door.example.com")
    obj = hybridapi(name, env.account)
    obj["spec"]["frontDoor"]["certificate"] = {"secretRef": {"name": f"{name}-tls"}}
    return [secret(f"{name}-gw", {"token": "t"}),
            secret(f"{name}-tls", {"tls.crt": cert, "tls.key": key}, "kubernetes.io/tls"), obj]


def self_signed_front_door(env: Env, name: str) -> list[dict[str, Any]]:
    cert, key = self_signed(front_door_hostname(name, env.account))
    obj = hybridapi(name, env.account)
    obj["spec"]["frontDoor"]["certificate"] = {"secretRef": {"name": f"{name}-tls"}}
    return [secret(f"{name}-gw", {"token": "t"}),
            secret(f"{name}-tls", {"tls.crt": cert, "tls.key": key}, "kubernetes.io/tls"), obj]


def acm_arn_for_another_name(env: Env, name: str) -> list[dict[str, Any]]:
    arn = import_certificate(env.endpoint_url, "not-the-front-door.example.com")  # before the window
    obj = hybridapi(name, env.account)
    obj["spec"]["frontDoor"]["certificate"] = {"acmCertificateArn": arn}
    return [secret(f"{name}-gw", {"token": "t"}), obj]


# What cert-manager writes beside tls.crt and tls.key when asked for a PKCS#12 keystore: not UTF-8 text.
KEYSTORE_P12 = bytes([0x30, 0x82, 0x0A, 0xFF, 0xFE]) + bytes(range(128, 256))


def binary_secret(name: str, data: dict[str, bytes], type_: str = "Opaque") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": type_,
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}


def binary_key_beside_tls(env: Env, name: str) -> list[dict[str, Any]]:
    """Only the keys the spec names are decoded: the pass reads tls.crt and tls.key and stalls on what
    they hold (a certificate for another name), not on the keystore beside them."""
    cert, key = self_signed("not-the-front-door.example.com")
    obj = hybridapi(name, env.account)
    obj["spec"]["frontDoor"]["certificate"] = {"secretRef": {"name": f"{name}-tls"}}
    tls = binary_secret(f"{name}-tls", {"tls.crt": cert.encode(), "tls.key": key.encode(),
                                        "keystore.p12": KEYSTORE_P12}, "kubernetes.io/tls")
    return [secret(f"{name}-gw", {"token": "t"}), tls, obj]


def binary_tls_crt(env: Env, name: str) -> list[dict[str, Any]]:
    _, key = self_signed(front_door_hostname(name, env.account))
    obj = hybridapi(name, env.account)
    obj["spec"]["frontDoor"]["certificate"] = {"secretRef": {"name": f"{name}-tls"}}
    return [secret(f"{name}-gw", {"token": "t"}),
            binary_secret(f"{name}-tls", {"tls.crt": KEYSTORE_P12, "tls.key": key.encode()}), obj]


def gateway_secret(value: str) -> Callable[[Env, str], list[dict[str, Any]]]:
    """A HybridApi whose gateway secret header value is `value` (refused before the load balancers)."""
    return lambda env, name: [secret(f"{name}-gw", {"token": value}), hybridapi(name, env.account)]


@dataclass(frozen=True)
class Case:
    name: str
    objects: Callable[[Env, str], list[dict[str, Any]]]
    reason: str
    says: Callable[[Env, str], list[str]]  # fragments the message must contain


CASES = [
    Case("subnets-in-one-az", subnets_in_one_zone, "SubnetsInOneAvailabilityZone",
         lambda env, name: ["spec.network.subnetIds", "two or more Availability Zones"]),
    Case("hostname-outside-zone", hostname_outside_zone, "HostnameOutsideHostedZone",
         lambda env, name: [f"{name}.elsewhere.example.org", "is not inside hosted zone example.com"]),
    Case("missing-gateway-secret", missing_gateway_secret, "MissingInput",
         lambda env, name: [f"Secret {env.namespace}/{name}-gw does not exist"]),
    Case("tls-secret-does-not-cover-hostname", tls_secret_for_another_name, "CertificateDoesNotCoverHostname",
         lambda env, name: ["not-the-front-door.example.com", f"not {front_door_hostname(name, env.account)}"]),
    Case("acm-arn-does-not-cover-hostname", acm_arn_for_another_name, "CertificateDoesNotCoverHostname",
         lambda env, name: ["not-the-front-door.example.com", f"not {front_door_hostname(name, env.account)}"]),
    # API Gateway trusts only public CAs at the front door (docs/aws-behaviour.md): callers would get 500.
    Case("self-signed-front-door", self_signed_front_door, "CertificateNotPubliclyTrusted",
         lambda env, name: ["self-signed", "trusts only certificates from public CAs", "certificate.request"]),
    # Issue 11: a binary key the spec does not name is never decoded; one it names is Stalled.
    Case("binary-key-beside-tls", binary_key_beside_tls, "CertificateDoesNotCoverHostname",
         lambda env, name: ["not-the-front-door.example.com"]),
    Case("binary-tls-crt", binary_tls_crt, "InvalidInput",
         lambda env, name: [f"Secret {env.namespace}/{name}-tls key 'tls.crt' is not UTF-8 text"]),
    # API Gateway's static header value is a single-quoted literal (docs/aws-behaviour.md): refused
    # before the load balancers and the VPC link are made.
    Case("empty-gateway-secret", gateway_secret(""), "InvalidGatewaySecretHeader",
         lambda env, name: [f"Secret {env.namespace}/{name}-gw key 'token'", "the value is empty"]),
    Case("quoted-gateway-secret", gateway_secret("it's-a-secret"), "InvalidGatewaySecretHeader",
         lambda env, name: [f"Secret {env.namespace}/{name}-gw key 'token'", "without '"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_stalled_with_a_message_and_no_write(env: Env, case: Case) -> None:
    name = case.name[:20].rstrip("-")
    objects = case.objects(env, name)  # may use boto3 to set the scene: before `since`
    since = env.control.last_seq()
    apply(env.cluster, env.namespace, *objects)
    waited = env.cluster.kubectl("wait", "-n", env.namespace, f"hybridapi/{name}", "--for=condition=Stalled",
                                 "--timeout=60s", check=False)
    assert waited.returncode == 0, waited.stderr

    obj = get(env.cluster, env.namespace, "hybridapi", name)
    stalled = condition(obj, "Stalled")
    assert stalled["reason"] == case.reason, stalled
    for fragment in case.says(env, name):
        assert fragment in stalled["message"], (fragment, stalled["message"])
    assert condition(obj, "Ready")["status"] == "False"
    assert condition(obj, "Ready")["message"] == stalled["message"]
    assert condition(obj, "Reconciling")["status"] == "False"
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    assert [e["message"] for e in events(env.cluster, env.namespace, name) if e["reason"] == "Stalled"] == [
        stalled["message"]]

    # Two more drift checks (2 s each) still write nothing, and do not repeat the Event.
    checked = obj["status"]["drift"]["lastCheckTime"]
    for _ in range(2):
        checked = wait_until(
            lambda prev=checked: (t := get(env.cluster, env.namespace, "hybridapi", name)["status"]["drift"][
                "lastCheckTime"]) != prev and t,
            timeout=30, what="a drift check")
    assert env.control.write_calls(since) == []
    assert len([e for e in events(env.cluster, env.namespace, name) if e["reason"] == "Stalled"]) == 1


def test_deleting_a_stalled_object_writes_nothing_and_keeps_a_record_it_never_made(env: Env) -> None:
    """Route 53 records carry no tags: a record of the front-door name that the operator did not make
    (here: an existing A record, the object stalled before any write) must survive the object's deletion."""
    name = "foreign"
    hostname = front_door_hostname(name, env.account)
    r53 = aws(env.endpoint_url, "route53")
    existing = {"Name": hostname, "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "10.9.8.7"}]}
    r53.change_resource_record_sets(HostedZoneId=env.account.hosted_zone_id, ChangeBatch={
        "Changes": [{"Action": "UPSERT", "ResourceRecordSet": existing}]})
    since = env.control.last_seq()
    apply(env.cluster, env.namespace, hybridapi(name, env.account))  # its gateway Secret is missing
    env.cluster.kubectl("wait", "-n", env.namespace, f"hybridapi/{name}", "--for=condition=Stalled",
                        "--timeout=60s")
    env.cluster.kubectl("delete", "-n", env.namespace, f"hybridapi/{name}", "--timeout=60s", timeout=90)

    assert env.control.write_calls(since) == []
    found = alias_records(env.endpoint_url, env.account.hosted_zone_id, hostname)  # every A record of the name
    assert [r["ResourceRecords"] for r in found] == [[{"Value": "10.9.8.7"}]]
