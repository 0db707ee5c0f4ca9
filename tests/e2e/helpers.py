"""Manifests and small waits shared by the end-to-end tests."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hybrid_gateway_devenv import certs
from hybrid_gateway_devenv.cluster import LocalCluster
from hybrid_gateway_devenv.seed import SeededAccount


def front_door_hostname(name: str, account: SeededAccount) -> str:
    """The front-door name `hybridapi(name, ...)` uses. Names are owned (docs/dns-ownership.md), and objects
    of earlier tests stay in their namespaces, so each test gets names of its own: stable within the test
    (re-applying an object keeps its name), different between tests, parametrized cases included."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    return f"{name}-{hashlib.sha256(test.encode()).hexdigest()[:6]}-backend.{account.zone_name}"


BACKEND_TARGETS = [{"ip": "192.168.10.5", "port": 443}, {"ip": "192.168.10.6", "port": 443}]
"""The on-prem targets of :func:`hybridapi` (the ``onprem`` fixture maps them to its backend)."""


def hybridapi(name: str, account: SeededAccount, link_version: str | None = "V1", **overrides: Any) -> dict[str, Any]:
    """A valid HybridApi for the seeded account; `overrides` replace top-level spec keys. `link_version` is
    spec.network.vpcLink.version: V1 (the chain most tests were written for, pinned since V2 is the default
    for new objects), V2, or None (the field left out)."""
    network: dict[str, Any] = {"vpcId": account.vpc_id, "subnetIds": list(account.subnet_ids)}
    if link_version is not None:
        network["vpcLink"] = {"version": link_version}
    spec: dict[str, Any] = {
        "region": account.region,
        "network": network,
        "backend": {
            "targets": [dict(t) for t in BACKEND_TARGETS],
            "healthCheck": {"path": "/healthz", "matcher": "200-399"},
        },
        "frontDoor": {
            "hostname": front_door_hostname(name, account),
            "hostedZoneId": account.hosted_zone_id,
            "certificate": {"request": {}},
        },
        "api": {
            "routes": [
                {"path": "/orders", "methods": ["GET", "POST"], "backendPath": "/api/orders"},
                {"path": "/{proxy+}", "methods": ["ANY"]},
            ],
            "stage": {"name": "prod", "throttling": {"rateLimit": 100, "burstLimit": 200}},
            "gatewaySecretHeader": {"name": "X-Gateway-Secret", "secretRef": {"name": f"{name}-gw", "key": "token"}},
        },
        "driftCheckInterval": "2s",
    }
    spec.update(overrides)
    return {"apiVersion": "hybridgateway.io/v1alpha1", "kind": "HybridApi", "metadata": {"name": name}, "spec": spec}


def mtls_domain(
    name: str, namespace: str, account: SeededAccount, certificate: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    """A valid MtlsDomain `<namespace>.<zone>` for the seeded account, mapping HybridApi "orders" (stage prod);
    its truststore reads Secret partner-a-ca (ca.crt) and ConfigMap partner-b-ca (ca.pem). `overrides` replace
    top-level spec keys."""
    spec: dict[str, Any] = {
        "region": account.region,
        "domainName": f"{namespace}.{account.zone_name}",
        "hostedZoneId": account.hosted_zone_id,
        "certificate": certificate,
        "securityPolicy": "TLS_1_2",
        "truststore": {
            "sources": [
                {"secretRef": {"name": "partner-a-ca", "key": "ca.crt"}},
                {"configMapRef": {"name": "partner-b-ca", "key": "ca.pem"}},
            ],
            "bucket": f"{namespace}-truststores",
            "createBucket": True,
            "expiryWarningDays": 30,
        },
        "mappings": [{"hybridApiRef": {"name": "orders"}, "stage": "prod", "basePath": "orders"}],
        "disableDefaultEndpoints": True,
        "deletionPolicy": "Delete",
        "driftCheckInterval": "2s",
    }
    spec.update(overrides)
    return {"apiVersion": "hybridgateway.io/v1alpha1", "kind": "MtlsDomain", "metadata": {"name": name}, "spec": spec}


def secret(name: str, data: dict[str, str], type_: str = "Opaque") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": type_, "stringData": data}


def manifests(*objects: dict[str, Any]) -> str:
    """Objects for `kubectl apply -f -`, as one JSON `v1` List: PyYAML leaves a string such as the run id
    "33841e76" unquoted, and kubectl's YAML parser then reads it as a number (kubectl reads a stream that
    starts with `{` as JSON, so JSON documents cannot be separated by `---`)."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})


def apply(cluster: LocalCluster, namespace: str, *objects: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=manifests(*objects))


def get(cluster: LocalCluster, namespace: str, kind: str, name: str) -> dict[str, Any]:
    out = cluster.kubectl("get", "-n", namespace, kind, name, "-o", "json")
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == type_), {})


def wait_until(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.5, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}; last={last!r}")


def events(cluster: LocalCluster, namespace: str, name: str) -> list[dict[str, Any]]:
    out = cluster.kubectl(
        "get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}", "-o", "json"
    )
    return list(json.loads(out.stdout)["items"])


# --- AWS side: what the emulator holds ---------------------------------------------------------------

UID_TAG = "hybridgateway.io/uid"


def aws(endpoint_url: str, service: str, region: str = "ap-northeast-1") -> Any:
    """A plain boto3 client straight to the emulator (what a user poking at AWS would use)."""
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=endpoint_url)


def _elb_owned(elbv2: Any, arns: list[str], uids: set[str]) -> list[str]:
    owned = []
    for i in range(0, len(arns), 20):
        for desc in elbv2.describe_tags(ResourceArns=arns[i : i + 20])["TagDescriptions"]:
            if {t["Key"]: t["Value"] for t in desc.get("Tags", [])}.get(UID_TAG) in uids:
                owned.append(desc["ResourceArn"])
    return owned


def _listeners(elbv2: Any, lb: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return list(elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"])
    except elbv2.exceptions.LoadBalancerNotFoundException:
        return []  # deleted while being listed


def wait_until_nothing_left(endpoint_url: str, uid: str | set[str], hosted_zone_id: str, hostname: str | None,
                            region: str = "ap-northeast-1", timeout: float = 60.0) -> dict[str, int]:
    """What `uid` owned, once AWS has finished deleting it: a deleted load balancer is still described for
    a while and a VPC link is DELETING first (docs/aws-behaviour.md), so "nothing left" is eventual."""
    left: dict[str, int] = {}

    def nothing() -> bool:
        left.clear()
        left.update(counts(inventory(endpoint_url, uid, hosted_zone_id, hostname, region)))
        return left == NOTHING

    wait_until(nothing, timeout=timeout, what=f"every resource of {uid} deleted (left: {left})")
    return left


def inventory(endpoint_url: str, uid: str | set[str], hosted_zone_id: str, hostname: str | None,
              region: str = "ap-northeast-1") -> dict[str, list[dict[str, Any]]]:
    """Every AWS resource tagged with owner `uid` (or any of a set of uids), found by listing, not from
    status; plus the front-door alias record of `hostname` (records cannot be tagged: found by name)."""
    uids = {uid} if isinstance(uid, str) else set(uid)
    apigw, elbv2 = aws(endpoint_url, "apigateway", region), aws(endpoint_url, "elbv2", region)
    ec2, acm = aws(endpoint_url, "ec2", region), aws(endpoint_url, "acm", region)
    result: dict[str, list[dict[str, Any]]] = {}
    result["rest_apis"] = [a for a in apigw.get_rest_apis(limit=500)["items"]
                           if (a.get("tags") or {}).get(UID_TAG) in uids]
    result["vpc_links"] = [v for v in apigw.get_vpc_links(limit=500)["items"]
                           if (v.get("tags") or {}).get(UID_TAG) in uids]
    # Shared V2 links count for every HybridApi whose user tag they carry (parts/vpc_link_v2.py).
    result["vpc_links_v2"] = [v for v in vpc_links_v2(endpoint_url, region)
                              if any(f"{USER_TAG_PREFIX}{u}" in (v.get("Tags") or {}) for u in uids)]
    lbs = [lb for page in elbv2.get_paginator("describe_load_balancers").paginate() for lb in page["LoadBalancers"]]
    owned = set(_elb_owned(elbv2, [lb["LoadBalancerArn"] for lb in lbs], uids)) if lbs else set()
    result["albs"] = [lb for lb in lbs if lb["LoadBalancerArn"] in owned and lb["Type"] == "application"]
    result["nlbs"] = [lb for lb in lbs if lb["LoadBalancerArn"] in owned and lb["Type"] == "network"]
    tgs = [tg for page in elbv2.get_paginator("describe_target_groups").paginate() for tg in page["TargetGroups"]]
    owned_tgs = set(_elb_owned(elbv2, [tg["TargetGroupArn"] for tg in tgs], uids)) if tgs else set()
    result["target_groups"] = [tg for tg in tgs if tg["TargetGroupArn"] in owned_tgs]
    result["listeners"] = [listener for lb in result["albs"] + result["nlbs"] for listener in _listeners(elbv2, lb)]
    result["security_groups"] = ec2.describe_security_groups(
        Filters=[{"Name": f"tag:{UID_TAG}", "Values": sorted(uids)}])["SecurityGroups"]
    certs = []
    key_types = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]
    pages = acm.get_paginator("list_certificates").paginate(Includes={"keyTypes": key_types})
    for summary in (s for page in pages for s in page["CertificateSummaryList"]):
        tags = acm.list_tags_for_certificate(CertificateArn=summary["CertificateArn"]).get("Tags", [])
        if {t["Key"]: t.get("Value") for t in tags}.get(UID_TAG) in uids:
            certs.append(summary)
    result["certificates"] = certs
    result["alias_records"] = alias_records(endpoint_url, hosted_zone_id, hostname, region) if hostname else []
    result["ownership_records"] = [r for r in ownership_records(endpoint_url, hosted_zone_id, hostname, region)
                                   if any(f"hybridgateway.io/uid={u}" in v for v in txt_values(r) for u in uids)
                                   ] if hostname else []
    return result


USER_TAG_PREFIX = "hybridgateway.io/user/"
KEY_TAG = "hybridgateway.io/vpc-link-key"


def vpc_links_v2(endpoint_url: str, region: str = "ap-northeast-1") -> list[dict[str, Any]]:
    """Every VPC link V2 (all pages)."""
    client, found, token = aws(endpoint_url, "apigatewayv2", region), [], ""
    while True:
        page = client.get_vpc_links(**({"NextToken": token} if token else {}))
        found += page.get("Items", [])
        token = page.get("NextToken") or ""
        if not token:
            return found


def own_subnets(endpoint_url: str, account: SeededAccount) -> list[str]:
    """Two new subnets of the seeded VPC (in two zones): a HybridApi on them has a VPC link V2 key no other
    test's object shares, so that its link's life is the test's own."""
    ec2 = aws(endpoint_url, "ec2", account.region)
    used = {s["CidrBlock"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [account.vpc_id]}])["Subnets"]}
    free = (f"10.20.{n}.0/24" for n in range(100, 250) if f"10.20.{n}.0/24" not in used)
    return [ec2.create_subnet(VpcId=account.vpc_id, CidrBlock=next(free), AvailabilityZone=f"{account.region}{z}")
            ["Subnet"]["SubnetId"] for z in ("a", "c")]


def records(endpoint_url: str, hosted_zone_id: str, region: str = "ap-northeast-1") -> list[dict[str, Any]]:
    """Every record set of the zone (all pages)."""
    r53 = aws(endpoint_url, "route53", region)
    return [r for page in r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=hosted_zone_id)
            for r in page["ResourceRecordSets"]]


def alias_records(endpoint_url: str, hosted_zone_id: str, hostname: str,
                  region: str = "ap-northeast-1") -> list[dict[str, Any]]:
    return [r for r in records(endpoint_url, hosted_zone_id, region)
            if r["Name"].rstrip(".").lower() == hostname.lower() and r["Type"] == "A"]


def ownership_records(endpoint_url: str, hosted_zone_id: str, hostname: str,
                      region: str = "ap-northeast-1") -> list[dict[str, Any]]:
    """The ownership TXT beside the alias of `hostname` (docs/dns-ownership.md), whoever it names."""
    name = f"_hybridgateway-a.{hostname.lower()}"
    return [r for r in records(endpoint_url, hosted_zone_id, region)
            if r["Name"].rstrip(".").lower() == name and r["Type"] == "TXT"]


def txt_values(rrset: dict[str, Any]) -> list[str]:
    return [v["Value"] for v in rrset.get("ResourceRecords", [])]


def counts(found: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    return {kind: len(items) for kind, items in found.items()}


# Exactly one of each chain resource: 1 REST API, VPC link, NLB, ALB, ALB security group, certificate,
# alias record and its ownership TXT naming the owner's uid; 2 target groups (ip + alb); 2 listeners
# (ALB HTTPS + NLB TCP).
ONE_OF_EACH = {
    "rest_apis": 1, "vpc_links": 1, "vpc_links_v2": 0, "albs": 1, "nlbs": 1, "target_groups": 2, "listeners": 2,
    "security_groups": 1, "certificates": 1, "alias_records": 1, "ownership_records": 1,
}
# The V2 chain: no NLB, NLB listener, alb-type target group or V1 link; one shared V2 link (its security group
# carries no owner: not counted here).
ONE_OF_EACH_V2 = {**ONE_OF_EACH, "vpc_links": 0, "vpc_links_v2": 1, "nlbs": 0, "target_groups": 1, "listeners": 1}
NOTHING = dict.fromkeys(ONE_OF_EACH, 0)


def wait_ready(cluster: LocalCluster, namespace: str, name: str, timeout: int = 180,
               kind: str = "hybridapi") -> None:
    """`kubectl wait --for=condition=Ready`, as a user would; on failure, show the object."""
    done = cluster.kubectl("wait", "-n", namespace, f"{kind}/{name}", "--for=condition=Ready",
                           f"--timeout={timeout}s", check=False, timeout=timeout + 30)
    if done.returncode != 0:
        obj = get(cluster, namespace, kind, name)
        raise AssertionError(f"{kind}/{name} not Ready after {timeout}s: {done.stderr}\n"
                             f"{json.dumps(obj.get('status'), indent=1)[:4000]}")


def ready_for_generation(cluster: LocalCluster, namespace: str, name: str, kind: str = "hybridapi") -> bool:
    obj = get(cluster, namespace, kind, name)
    ready = condition(obj, "Ready")
    return (ready.get("status") == "True"
            and ready.get("observedGeneration") == obj["metadata"]["generation"]
            and obj["status"].get("observedGeneration") == obj["metadata"]["generation"])


def self_signed(hostname: str, days: int = 90) -> tuple[str, str]:
    """A throwaway self-signed server certificate for `hostname`: (certificate PEM, private key PEM)."""
    return certs.self_signed(hostname, dns_names=(hostname,), not_after=datetime.now(UTC) + timedelta(days=days))


def public_certificate(control: Any, hostname: str) -> tuple[str, str, str]:
    """(leaf PEM, chain PEM, key PEM) for `hostname` from the emulator's public CA: a front-door
    certificate API Gateway trusts (the operator is told the emulator's CA is a public one)."""
    issued = control.issue_public_certificate(hostname)
    return issued["certificate"], issued["certificateChain"], issued["privateKey"]


def import_certificate(endpoint_url: str, hostname: str, region: str = "ap-northeast-1") -> str:
    """Import a self-signed certificate for `hostname` into ACM with boto3 (not owned by anyone)."""
    cert_pem, key_pem = self_signed(hostname)
    acm = aws(endpoint_url, "acm", region)
    return str(acm.import_certificate(Certificate=cert_pem.encode(), PrivateKey=key_pem.encode())["CertificateArn"])


# The first AWS call of every HybridApi pass is its certificate step's DescribeCertificate (of a requested
# certificate, as in `hybridapi()`): it marks pass boundaries. Only the operator's calls count (a test's own
# reads go to the same emulator). Not DescribeSubnets: the subnets are validated once per generation.
PASS_MARKER = "DescribeCertificate"
OPERATOR_AGENT = "hybrid-gateway-operator/"


def passes_since(control: Any, since: int, marker: str = PASS_MARKER, per_pass: int = 1) -> list[int]:
    """Request-log sequence numbers of the passes started after `since`: each pass's first call of
    operation `marker`, of which a pass makes `per_pass` (the default: a HybridApi's pass)."""
    seqs = [e["seq"] for e in control.requests(since)
            if e["operation"] == marker and OPERATOR_AGENT in e.get("userAgent", "")]
    return seqs[::per_pass]


def steady_state_calls(control: Any, since: int, checks: int, timeout: float,
                       marker: str = PASS_MARKER, per_pass: int = 1) -> dict[str, Any]:
    """Wait for `checks` whole passes after `since` (marked as `passes_since` says); return their calls:
    total reads and writes, and reads per pass by "service:operation"."""
    markers = wait_until(lambda: (m := passes_since(control, since, marker, per_pass)) and len(m) > checks and m,
                         timeout=timeout, interval=1.0, what=f"{checks} drift checks")
    first, end = markers[0], markers[checks]
    return window_calls([e for e in control.requests(first - 1) if e["seq"] < end], checks)


def window_calls(window: list[dict[str, Any]], checks: int) -> dict[str, Any]:
    """The calls of a window of the request log that holds `checks` passes: total reads and writes, reads
    by "service:operation" (`calls`) and per pass."""
    reads: dict[str, int] = {}
    for entry in window:
        if not entry["write"]:
            key = f"{entry['service']}:{entry['operation']}"
            reads[key] = reads.get(key, 0) + 1
    return {
        "checks": checks,
        "writes": [f"{e['service']}:{e['operation']}" for e in window if e["write"]],
        "reads": sum(reads.values()),
        "calls": reads,
        "reads_per_check": {k: v / checks for k, v in sorted(reads.items(), key=lambda kv: (-kv[1], kv[0]))},
        "faults": sum(1 for e in window if e.get("fault")),
    }


def assert_steady_reads(control: Any, checks: int, expected: dict[str, float], ceiling: float,
                        marker: str = PASS_MARKER) -> dict[str, Any]:
    """On a settled object: skip two passes (the window then holds only checks of it as it is), then
    measure `checks` more and assert they write nothing, meet no fault, and read exactly `expected` per
    check by "service:operation" (so that a read added anywhere fails), at most `ceiling` per check."""
    since = control.last_seq()
    wait_until(lambda: len(passes_since(control, since, marker)) >= 2, timeout=30, what="two checks of the object")
    since = control.last_seq()
    calls = steady_state_calls(control, since, checks, timeout=checks * 3 + 30, marker=marker)
    print("\n" + format_reads(calls))
    assert calls["writes"] == []
    assert control.count(write=True, since=since) == 0
    assert calls["faults"] == 0
    assert calls["reads_per_check"] == expected
    assert calls["reads"] == checks * sum(expected.values()) <= checks * ceiling
    return calls


def quiet_seq(control: Any, quiet: float = 1.0, timeout: float = 120.0) -> int:
    """The request log's last sequence number once `quiet` seconds have passed with no new entry: a point
    between two rounds of drift checks (handlers.next_round), when no pass is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seq = control.last_seq()
        time.sleep(quiet)
        if control.last_seq() == seq:
            return int(seq)
    raise AssertionError(f"the request log was never quiet for {quiet}s in {timeout}s")


def round_calls(control: Any, objects: int, rounds: int, timeout: float, marker: str = PASS_MARKER) -> dict[str, Any]:
    """The calls of `rounds` whole rounds of drift checks of `objects` objects (between two quiet points of
    the request log): total reads and writes, reads per pass and calls per round by "service:operation"."""
    since = quiet_seq(control)
    wait_until(lambda: len(passes_since(control, since, marker)) >= objects * rounds, timeout=timeout,
               interval=1.0, what=f"{rounds} rounds of drift checks")
    end = quiet_seq(control)
    window = [e for e in control.requests(since) if e["seq"] <= end and OPERATOR_AGENT in e.get("userAgent", "")]
    passes = sum(1 for e in window if e["operation"] == marker)
    return {**window_calls(window, passes), "rounds": passes / objects}


def format_reads(calls: dict[str, Any]) -> str:
    lines = [f"reads per drift check: {calls['reads'] / calls['checks']:.1f} "
             f"({calls['reads']} reads, {len(calls['writes'])} writes in {calls['checks']} checks)"]
    lines += [f"  {per:5.1f}  {op}" for op, per in calls["reads_per_check"].items()]
    return "\n".join(lines)
