"""Issue 4: an MtlsDomain in front of a HybridApi, end to end (real API server, emulator, operator process).

- example-like objects become Ready; AWS shows the pinned S3 version, TLS_1_2, the ownership
  verification certificate, the mapping, execute-api disabled on the mapped API and the alias;
- a CA added to a source makes exactly one new S3 version and moves the domain; unchanged passes write
  nothing; a bad CA stalls with TruststoreValid=False and uploads nothing;
- drift (version, mapping, alias, security policy, execute-api) is put back with DriftCorrected Events;
- deletion removes what the MtlsDomain made and the HybridApi goes back to its own endpoint setting.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import ec

from hybrid_gateway.truststore import MAX_CERTIFICATES
from tests.e2e.helpers import apply, condition, events, get, hybridapi, mtls_domain, secret, wait_until
from tests.mtls_certs import make_ca, rsa_key, server_certificate

pytestmark = pytest.mark.e2e

REGION = "ap-northeast-1"
ROOT = Path(__file__).resolve().parents[2]
HOOPS = ("TruststoreValid", "CertificateReady", "DomainReady", "MappingsReady", "DefaultEndpointsDisabled", "DnsReady")


def client(emulator: Any, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=emulator.endpoint_url)


def configmap(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def orders_api(namespace: str, account: Any) -> dict[str, Any]:
    """A HybridApi "orders" with a front-door name of its own (tests run side by side in one zone).

    Its drift check is hourly: whatever it does about its default endpoint within a test happens
    because the MtlsDomain asked it to reconcile (the reconcile-request annotation), not by its timer.
    """
    obj = hybridapi("orders", account, driftCheckInterval="1h")
    obj["spec"]["frontDoor"]["hostname"] = f"orders-{namespace}.{account.zone_name}"
    return obj


def ready(cluster: Any, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
    obj = get(cluster, namespace, kind, name)
    ok = (condition(obj, "Ready").get("status") == "True"
          and (obj.get("status") or {}).get("observedGeneration") == obj["metadata"]["generation"])
    return obj if ok else None


def wait_ready(cluster: Any, namespace: str, kind: str, name: str, timeout: float = 120) -> dict[str, Any]:
    return wait_until(lambda: ready(cluster, namespace, kind, name), timeout=timeout, what=f"{kind}/{name} Ready")


def drift_checks_after(cluster: Any, namespace: str, name: str, count: int = 2) -> None:
    """Wait until the MtlsDomain's drift check has run `count` more times."""
    seen: list[str] = []

    def check() -> bool:
        status = get(cluster, namespace, "mtlsdomain", name).get("status") or {}
        stamp = (status.get("drift") or {}).get("lastCheckTime")
        if stamp and stamp not in seen:
            seen.append(stamp)
        return len(seen) > count

    wait_until(check, timeout=30, interval=0.3, what=f"{count} drift checks")


def delete_and_wait(cluster: Any, namespace: str, name: str) -> None:
    cluster.kubectl("delete", "-n", namespace, "mtlsdomain", name, "--wait=false")
    wait_until(lambda: cluster.kubectl("get", "-n", namespace, "mtlsdomain", name, check=False).returncode != 0,
               timeout=60, what=f"MtlsDomain {name} gone")


def has_event(cluster: Any, namespace: str, name: str, reason: str, text: str) -> bool:
    return any(e["reason"] == reason and text in e.get("message", "") for e in events(cluster, namespace, name))


def s3_versions(s3: Any, bucket: str, key: str) -> list[str]:
    """The object's real versions, newest first. S3 may not version writes made just after versioning was
    first enabled ("wait for 15 minutes", PutBucketVersioning; docs/aws-behaviour.md): such a write is
    the `null` version, which the operator never pins and writes again once versioning holds."""
    answer = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return [v["VersionId"] for v in answer.get("Versions", []) if v["Key"] == key and v["VersionId"] != "null"]


def update_domain_like_a_user(apigw: Any, domain: str, patch: list[dict[str, str]]) -> None:
    """UpdateDomainName as a user's tool does it: AWS refuses a second update while one is in progress
    (ConflictException) and allows about one per 30 s (TooManyRequestsException; docs/aws-behaviour.md),
    so wait for AVAILABLE and try again. Any other refusal is raised."""

    def attempt() -> bool:
        if apigw.get_domain_name(domainName=domain).get("domainNameStatus") != "AVAILABLE":
            return False
        try:
            apigw.update_domain_name(domainName=domain, patchOperations=patch)
        except ClientError as err:
            if err.response["Error"]["Code"] in ("ConflictException", "TooManyRequestsException"):
                return False
            raise
        return True

    wait_until(attempt, timeout=60, interval=0.5, what=f"UpdateDomainName {domain} accepted")


def alias_of(route53: Any, zone_id: str, name: str) -> dict[str, Any] | None:
    rrsets = route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=name, StartRecordType="A",
                                               MaxItems="1")["ResourceRecordSets"]
    found = [r for r in rrsets if r["Name"].rstrip(".") == name and r["Type"] == "A"]
    return found[0] if found else None


def test_mtls_domain_lifecycle(cluster, namespace, account, emulator, control, start_operator) -> None:
    apigw, s3, acm, r53 = (client(emulator, s) for s in ("apigateway", "s3", "acm", "route53"))
    domain = f"{namespace}.{account.zone_name}"
    bucket, key = f"{namespace}-truststores", f"{domain}/truststore.pem"
    ca_a, ca_b, ca_c = make_ca("Partner A Client CA"), make_ca("Partner B Client CA"), make_ca("Partner C Client CA")
    tls_crt, tls_key = server_certificate(domain)
    operator = start_operator(namespace)
    apply(
        cluster, namespace,
        secret("orders-gw", {"token": "mtls-e2e-gateway-secret"}),
        orders_api(namespace, account),
        secret("api-tls", {"tls.crt": tls_crt, "tls.key": tls_key}, "kubernetes.io/tls"),
        secret("partner-a-ca", {"ca.crt": ca_a.pem}),
        configmap("partner-b-ca", {"ca.pem": ca_b.pem}),
        mtls_domain("partner-api", namespace, account, {"secretRef": {"name": "api-tls"}}),
    )

    # --- Ready, and AWS shows what the spec asks for --------------------------------------------------
    try:
        obj = wait_ready(cluster, namespace, "mtlsdomain", "partner-api")
    except AssertionError:
        print(operator.logs()[-4000:])
        raise
    orders = wait_ready(cluster, namespace, "hybridapi", "orders")
    status = obj["status"]
    assert all(condition(obj, t)["status"] == "True" for t in HOOPS), status["conditions"]
    api_id = orders["status"]["resources"]["restApiId"]

    got = apigw.get_domain_name(domainName=domain)
    [version] = s3_versions(s3, bucket, key)
    assert got["mutualTlsAuthentication"]["truststoreUri"] == f"s3://{bucket}/{key}"
    assert got["mutualTlsAuthentication"]["truststoreVersion"] == version == status["truststore"]["version"]
    assert got["securityPolicy"] == "TLS_1_2" and got["endpointConfiguration"]["types"] == ["REGIONAL"]
    regional = acm.describe_certificate(CertificateArn=got["regionalCertificateArn"])["Certificate"]
    assert regional["Type"] == "IMPORTED" and got["regionalCertificateArn"] == status["certificate"]["arn"]
    ownership = acm.describe_certificate(CertificateArn=got["ownershipVerificationCertificateArn"])["Certificate"]
    assert ownership["Type"] == "AMAZON_ISSUED" and ownership["Status"] == "ISSUED"
    assert got["ownershipVerificationCertificateArn"] == status["ownershipVerificationCertificateArn"]
    mappings = apigw.get_base_path_mappings(domainName=domain)["items"]
    assert [(m["basePath"], m["restApiId"], m["stage"]) for m in mappings] == [("orders", api_id, "prod")]
    assert apigw.get_rest_api(restApiId=api_id)["disableExecuteApiEndpoint"] is True
    alias = alias_of(r53, account.hosted_zone_id, domain)
    assert alias is not None and alias["AliasTarget"]["DNSName"].rstrip(".") == got["regionalDomainName"]
    assert alias["AliasTarget"]["HostedZoneId"] == got["regionalHostedZoneId"] == status["regionalHostedZoneId"]
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == status["truststore"]["sha256"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert sorted((c["subject"], c["source"]) for c in status["truststore"]["certificates"]) == [
        ("CN=Partner A Client CA", "Secret/partner-a-ca/ca.crt"),
        ("CN=Partner B Client CA", "ConfigMap/partner-b-ca/ca.pem"),
    ]

    # --- Unchanged: passes write nothing ---------------------------------------------------------------
    since = control.last_seq()
    drift_checks_after(cluster, namespace, "partner-api", 3)
    assert control.count(write=True, since=since) == 0, control.write_calls(since)

    # --- A CA added to a source: exactly one new S3 version, and the domain moves to it ----------------
    since = control.last_seq()
    apply(cluster, namespace, secret("partner-a-ca", {"ca.crt": ca_a.pem + ca_c.pem}))
    moved = wait_until(
        lambda: (o := ready(cluster, namespace, "mtlsdomain", "partner-api"))
        and len(o["status"]["truststore"]["certificates"]) == 3 and o,
        timeout=60, what="three CAs in status",
    )
    drift_checks_after(cluster, namespace, "partner-api", 2)
    assert control.count(operation="PutObject", since=since) == 1
    versions = s3_versions(s3, bucket, key)
    assert len(versions) == 2 and version in versions
    new_version = next(v for v in versions if v != version)
    assert moved["status"]["truststore"]["version"] == new_version
    assert apigw.get_domain_name(domainName=domain)["mutualTlsAuthentication"]["truststoreVersion"] == new_version

    # --- A bad CA: TruststoreValid=False + Stalled, nothing uploaded, the pinned version stays -----------
    since = control.last_seq()
    weak = make_ca("Legacy SHA1 CA", key=rsa_key(), sha1=True)
    apply(cluster, namespace, configmap("partner-b-ca", {"ca.pem": ca_b.pem + weak.pem}))
    stalled = wait_until(
        lambda: (o := get(cluster, namespace, "mtlsdomain", "partner-api"))
        and condition(o, "Stalled").get("status") == "True" and o,
        timeout=60, what="Stalled",
    )
    invalid = condition(stalled, "TruststoreValid")
    assert invalid["status"] == "False" and invalid["reason"] == "TruststoreInvalid"
    assert "certificate 'CN=Legacy SHA1 CA' (ConfigMap/partner-b-ca/ca.pem)" in invalid["message"]
    assert "rule: signatures must use SHA-256 or stronger" in invalid["message"]
    assert condition(stalled, "Stalled")["message"] == invalid["message"]
    assert condition(stalled, "Ready")["status"] == "False"
    drift_checks_after(cluster, namespace, "partner-api", 2)
    assert control.count(service="s3", write=True, since=since) == 0
    assert control.count(write=True, since=since) == 0, control.write_calls(since)
    assert s3_versions(s3, bucket, key) == versions
    assert apigw.get_domain_name(domainName=domain)["mutualTlsAuthentication"]["truststoreVersion"] == new_version
    assert get(cluster, namespace, "mtlsdomain", "partner-api")["status"]["truststore"]["version"] == new_version
    assert has_event(cluster, namespace, "partner-api", "Stalled", "Legacy SHA1 CA")

    apply(cluster, namespace, configmap("partner-b-ca", {"ca.pem": ca_b.pem}))  # fixed: the same bundle as before
    wait_ready(cluster, namespace, "mtlsdomain", "partner-api")
    assert control.count(operation="PutObject", since=since) == 0

    # A new bundle from the sources is not drift: Updated Events, nothing in the drift record.
    assert has_event(cluster, namespace, "partner-api", "Updated", f"Updated truststore s3://{bucket}/{key}")
    assert has_event(cluster, namespace, "partner-api", "Updated", f"Updated domain-name {domain}: truststoreVersion")
    assert get(cluster, namespace, "mtlsdomain", "partner-api")["status"]["drift"].get("corrections", 0) == 0

    # --- Drift on the domain, its mapping and its alias: put back, each with a DriftCorrected Event -----
    seen = {e["metadata"]["uid"] for e in events(cluster, namespace, "partner-api")}
    with pytest.raises(ClientError) as refused:  # mutual TLS cannot run with TLS_1_0: refused, as AWS does
        update_domain_like_a_user(apigw, domain, [{"op": "replace", "path": "/securityPolicy", "value": "TLS_1_0"}])
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    update_domain_like_a_user(apigw, domain, [
        {"op": "replace", "path": "/securityPolicy", "value": "SecurityPolicy_TLS13_1_2_2021_06"},
        {"op": "replace", "path": "/mutualTlsAuthentication/truststoreUri", "value": f"s3://{bucket}/{key}"},
        {"op": "replace", "path": "/mutualTlsAuthentication/truststoreVersion", "value": version},
    ])
    apigw.delete_base_path_mapping(domainName=domain, basePath="orders")
    r53.change_resource_record_sets(HostedZoneId=account.hosted_zone_id, ChangeBatch={"Changes": [
        {"Action": "DELETE", "ResourceRecordSet": alias}]})

    def domain_repaired() -> bool:
        now = apigw.get_domain_name(domainName=domain)
        return (now["securityPolicy"] == "TLS_1_2"
                and now["mutualTlsAuthentication"]["truststoreVersion"] == new_version
                and len(apigw.get_base_path_mappings(domainName=domain).get("items", [])) == 1
                and alias_of(r53, account.hosted_zone_id, domain) is not None)

    wait_until(domain_repaired, timeout=30, what="domain, mapping and alias put back")

    def corrections() -> list[str]:
        return [e["message"] for e in events(cluster, namespace, "partner-api")
                if e["reason"] == "DriftCorrected" and e["metadata"]["uid"] not in seen]

    wait_until(lambda: len(corrections()) >= 3, timeout=30, what="DriftCorrected events")
    assert sorted(corrections()) == sorted([
        f"Corrected drift on Updated base-path-mappings {domain}: mapping /orders missing",
        f"Corrected drift on Created dns-record {domain}",
        f"Corrected drift on Updated domain-name {domain}: securityPolicy, truststoreVersion",
    ])
    corrected = get(cluster, namespace, "mtlsdomain", "partner-api")["status"]["drift"]
    assert corrected["corrections"] == 3
    assert "domain-name: securityPolicy, truststoreVersion" in corrected["lastCorrected"]

    # --- execute-api turned back on out of band: the HybridApi (its only writer) turns it off again -----
    wait_ready(cluster, namespace, "mtlsdomain", "partner-api")
    seen = {e["metadata"]["uid"] for e in events(cluster, namespace, "orders")}
    apigw.update_rest_api(restApiId=api_id, patchOperations=[
        {"op": "replace", "path": "/disableExecuteApiEndpoint", "value": "false"}])
    wait_until(lambda: apigw.get_rest_api(restApiId=api_id)["disableExecuteApiEndpoint"] is True,
               timeout=30, what="execute-api disabled again")
    wait_until(lambda: any(e["reason"] == "DriftCorrected" and "disableExecuteApiEndpoint" in e["message"]
                           and e["metadata"]["uid"] not in seen for e in events(cluster, namespace, "orders")),
               timeout=30, what="DriftCorrected on the HybridApi")
    wait_ready(cluster, namespace, "mtlsdomain", "partner-api")

    # --- Deletion: the MtlsDomain's AWS resources go; the HybridApi's own setting (enabled) comes back --
    stage_before = apigw.get_stage(restApiId=api_id, stageName="prod")["deploymentId"]
    certs = [got["regionalCertificateArn"], got["ownershipVerificationCertificateArn"]]
    delete_and_wait(cluster, namespace, "partner-api")
    with pytest.raises(ClientError):
        apigw.get_domain_name(domainName=domain)
    assert alias_of(r53, account.hosted_zone_id, domain) is None
    for arn in certs:
        with pytest.raises(ClientError):
            acm.describe_certificate(CertificateArn=arn)
    cnames = [r for r in r53.list_resource_record_sets(HostedZoneId=account.hosted_zone_id)["ResourceRecordSets"]
              if r["Type"] == "CNAME" and r["Name"].rstrip(".").endswith("." + domain)]
    assert cnames == []
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=bucket)  # ours, and empty once the truststore versions were deleted
    wait_until(lambda: apigw.get_rest_api(restApiId=api_id)["disableExecuteApiEndpoint"] is False,
               timeout=30, what="execute-api enabled again (the HybridApi's own spec)")
    wait_until(lambda: apigw.get_stage(restApiId=api_id, stageName="prod")["deploymentId"] != stage_before,
               timeout=30, what="the stage redeployed with the endpoint setting")
    assert has_event(cluster, namespace, "partner-api", "Deleted", "domain-name")


def test_waits_for_its_hybridapi_and_stalls_on_a_bad_truststore_before_any_write(
    cluster, namespace, account, emulator, control, start_operator
) -> None:
    apigw, s3 = client(emulator, "apigateway"), client(emulator, "s3")
    domain = f"{namespace}.{account.zone_name}"
    small = make_ca("Small Key CA", key=rsa_key(1024))
    start_operator(namespace)
    since = control.last_seq()
    apply(
        cluster, namespace,
        secret("partner-a-ca", {"ca.crt": small.pem}),
        configmap("partner-b-ca", {"ca.pem": make_ca("Partner B Client CA").pem}),
        mtls_domain("partner-api", namespace, account, {"request": {}}, deletionPolicy="Retain"),
    )
    stalled = wait_until(
        lambda: (o := get(cluster, namespace, "mtlsdomain", "partner-api"))
        and condition(o, "Stalled").get("status") == "True" and o,
        timeout=60, what="Stalled",
    )
    message = condition(stalled, "TruststoreValid")["message"]
    assert "certificate 'CN=Small Key CA' (Secret/partner-a-ca/ca.crt): RSA key of 1024 bits" in message
    assert control.count(write=True, since=since) == 0, control.write_calls(since)

    # Fixed truststore (one CA expires in 10 days), but the HybridApi it maps does not exist yet:
    # everything else converges, the mapping waits.
    soon = make_ca("Expiring CA", not_before=datetime.now(UTC) - timedelta(days=355), days=365)
    apply(cluster, namespace, secret("partner-a-ca", {"ca.crt": make_ca("Partner A Client CA").pem + soon.pem}))
    waiting = wait_until(
        lambda: (o := get(cluster, namespace, "mtlsdomain", "partner-api"))
        and condition(o, "DnsReady").get("status") == "True" and o,
        timeout=60, what="domain and alias while the mapping waits",
    )
    assert condition(waiting, "MappingsReady")["status"] == "False"
    assert "HybridApi orders does not exist yet" in condition(waiting, "MappingsReady")["message"]
    assert condition(waiting, "Ready")["status"] == "False" and condition(waiting, "Reconciling")["status"] == "True"
    assert apigw.get_base_path_mappings(domainName=domain).get("items", []) == []
    assert not apigw.get_domain_name(domainName=domain).get("ownershipVerificationCertificateArn")  # ACM-issued
    [warning] = waiting["status"]["truststore"]["warnings"]
    assert warning.startswith("certificate 'CN=Expiring CA' (Secret/partner-a-ca/ca.crt) expires ")
    drift_checks_after(cluster, namespace, "partner-api", 3)
    expiring = [e for e in events(cluster, namespace, "partner-api") if e["reason"] == "ExpiringSoon"]
    assert [(e["message"], e.get("count", 1), e["type"]) for e in expiring] == [(warning, 1, "Warning")]  # once

    # The HybridApi appears: created with its default endpoint off (an MtlsDomain maps it), then mapped.
    apply(cluster, namespace, secret("orders-gw", {"token": "mtls-e2e-gateway-secret"}), orders_api(namespace, account))
    wait_ready(cluster, namespace, "mtlsdomain", "partner-api")
    api_id = get(cluster, namespace, "hybridapi", "orders")["status"]["resources"]["restApiId"]
    assert apigw.get_rest_api(restApiId=api_id)["disableExecuteApiEndpoint"] is True
    assert [m["restApiId"] for m in apigw.get_base_path_mappings(domainName=domain)["items"]] == [api_id]

    # Retain: the domain stays in AWS, but the HybridApi no longer has a domain asking to disable its endpoint.
    delete_and_wait(cluster, namespace, "partner-api")
    assert apigw.get_domain_name(domainName=domain)["domainName"] == domain
    assert s3.head_bucket(Bucket=f"{namespace}-truststores")
    wait_until(lambda: apigw.get_rest_api(restApiId=api_id)["disableExecuteApiEndpoint"] is False,
               timeout=30, what="execute-api enabled again")


def test_a_truststore_over_api_gateways_quota_stalls_before_any_write(
    cluster, namespace, account, emulator, control, start_operator
) -> None:
    """Issue 11: 1,001 CA certificates (API Gateway takes 1,000 per truststore, docs/aws-behaviour.md) are
    refused before the upload, and the message fits in the status however many problems there are."""
    key = ec.generate_private_key(ec.SECP256R1())  # one key: fast, and allowed
    half = MAX_CERTIFICATES // 2 + 1
    start_operator(namespace)
    since = control.last_seq()
    apply(
        cluster, namespace,
        secret("partner-a-ca", {"ca.crt": "".join(make_ca(f"Partner A {n}", key=key).pem for n in range(half))}),
        configmap("partner-b-ca", {"ca.pem": "".join(make_ca(f"Partner B {n}", key=key).pem for n in range(half))}),
        mtls_domain("partner-api", namespace, account, {"request": {}}),
    )
    stalled = wait_until(
        lambda: (o := get(cluster, namespace, "mtlsdomain", "partner-api"))
        and condition(o, "Stalled").get("status") == "True" and o,
        timeout=60, what="Stalled",
    )
    message = condition(stalled, "TruststoreValid")["message"]
    assert condition(stalled, "Stalled")["reason"] == "TruststoreInvalid"
    assert (f"Secret/partner-a-ca/ca.crt, ConfigMap/partner-b-ca/ca.pem hold {2 * half} distinct certificates; "
            f"rule: API Gateway takes at most {MAX_CERTIFICATES} certificates in a truststore") in message
    drift_checks_after(cluster, namespace, "partner-api", 2)
    assert control.count(write=True, since=since) == 0, control.write_calls(since)


@contextlib.contextmanager
def base_paths_with_slashes_accepted(cluster: Any) -> Iterator[None]:
    """The MtlsDomain CRD without the basePath pattern while the block runs (then the real one again): a
    schema that accepts what the model refuses, as an object stored before a tightening of the schema or
    a check only the model makes. The model strips the slashes, so "orders" and "/orders" collide."""
    crd = yaml.safe_load((ROOT / "crds" / "mtlsdomains.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["mappings"]["items"]["properties"]["basePath"].pop("pattern")
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(crd))
    try:
        yield
    finally:
        cluster.install_crds(ROOT / "crds")


def test_a_domain_whose_spec_no_longer_parses_is_still_deleted(
    cluster, namespace, account, emulator, control, start_operator
) -> None:
    """Issue 11: deletion is never blocked by a spec the model refuses (here two base paths that differ
    for the CRD schema, "orders" and "/orders", and are one for the model). Finalize works from the
    fields that locate the AWS resources and the ids in status.resources, and removes what the domain made."""
    apigw, r53 = client(emulator, "apigateway"), client(emulator, "route53")
    domain = f"{namespace}.{account.zone_name}"
    start_operator(namespace)
    apply(
        cluster, namespace,
        secret("partner-a-ca", {"ca.crt": make_ca("Partner A Client CA").pem}),
        configmap("partner-b-ca", {"ca.pem": make_ca("Partner B Client CA").pem}),
        mtls_domain("partner-api", namespace, account, {"request": {}}, mappings=[]),
    )
    wait_until(lambda: condition(get(cluster, namespace, "mtlsdomain", "partner-api"), "DnsReady").get("status")
               == "True", timeout=120, what="the domain and its alias")
    assert apigw.get_domain_name(domainName=domain)["domainName"] == domain

    unparsable = [{"hybridApiRef": {"name": "orders"}, "stage": "prod", "basePath": "orders"},
                  {"hybridApiRef": {"name": "billing"}, "stage": "prod", "basePath": "/orders"}]
    with base_paths_with_slashes_accepted(cluster):
        wait_until(lambda: cluster.kubectl("apply", "-n", namespace, "-f", "-", check=False, input=yaml.safe_dump(
            mtls_domain("partner-api", namespace, account, {"request": {}}, mappings=unparsable))).returncode == 0,
            timeout=30, what="the looser schema in force")
        stalled = wait_until(
            lambda: (o := get(cluster, namespace, "mtlsdomain", "partner-api"))
            and condition(o, "Stalled").get("reason") == "DuplicateBasePath" and o,
            timeout=60, what="Stalled on the spec",
        )
        assert "basePath 'orders' twice" in condition(stalled, "Stalled")["message"]
        delete_and_wait(cluster, namespace, "partner-api")

    def gone() -> bool:
        try:
            apigw.get_domain_name(domainName=domain)
        except ClientError as exc:
            return exc.response["Error"]["Code"] == "NotFoundException"
        return False

    wait_until(gone, timeout=60, what="the domain name deleted")
    assert alias_of(r53, account.hosted_zone_id, domain) is None
