"""MtlsDomain parts: truststore bucket + object (S3), domain name, base path mappings, ownership certificate.

Pure diffs first, then each part against the emulator (moto + our extension, in process), with every
call our clients make recorded so that "no write when nothing changed" is checked exactly.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from tests.mtls_certs import make_ca, server_certificate

from hybrid_gateway.aws import AwsClients
from hybrid_gateway.aws.tags import Owner
from hybrid_gateway.errors import RetryLater, Stalled
from hybrid_gateway.parts import base_path_mapping as bpm
from hybrid_gateway.parts import dns
from hybrid_gateway.parts.base import Observed, PartContext
from hybrid_gateway.parts.certificate import (
    ImportedCertificate,
    ImportedCertificateDesired,
    RequestedCertificateDesired,
)
from hybrid_gateway.parts.domain_name import (
    DomainNameDesired,
    DomainNamePart,
    DomainNameState,
    OwnershipCertificate,
    domain_patch,
)
from hybrid_gateway.parts.domain_name import diff as domain_diff
from hybrid_gateway.parts.truststore_object import (
    REPUT_UNVERSIONED_SECONDS,
    BucketDesired,
    BucketState,
    TruststoreBucket,
    TruststoreObject,
    TruststoreObjectDesired,
    TruststoreObjectState,
    diff_bucket,
    diff_object,
    observe_object,
)

REGION = "ap-northeast-1"
READ_PREFIXES = ("Describe", "List", "Get", "Head")


def owner(name: str = "partner-api") -> Owner:
    return Owner("MtlsDomain", "team-a", name, str(uuid.uuid4()))


# --- pure diffs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("versioning", "region", "expected"),
    [
        ("Enabled", REGION, []),
        ("Suspended", REGION, ["versioning"]),
        ("", REGION, ["versioning"]),
        ("Enabled", "us-east-1", ["region"]),
    ],
)
def test_bucket_diff(versioning: str, region: str, expected: list[str]) -> None:
    assert diff_bucket(BucketDesired("b", REGION), BucketState("b", versioning, region)) == expected


def test_object_diff_uses_sha256_metadata_then_the_etag() -> None:
    desired = TruststoreObjectDesired("b", "k", "PEM", hashlib.sha256(b"PEM").hexdigest())
    now = datetime.now(UTC)

    def state(sha256: str, etag: str) -> TruststoreObjectState:
        return TruststoreObjectState("b", "k", "v1", sha256, etag, now)

    assert diff_object(desired, state(desired.sha256, "whatever"), now) == []
    assert diff_object(desired, state("other", desired.md5), now) == ["content"]
    assert diff_object(desired, state("", desired.md5), now) == []  # written by someone else, same bytes
    assert diff_object(desired, state("", "other"), now) == ["content"]


@pytest.mark.parametrize(
    ("reason", "version", "age", "expected", "ready"),
    [
        ("a real version is pinned", "3sL4kqtJlcpXroDTDmJ", 60.0, [], True),
        ("written during S3's versioning window: wait", "", 1.0, [], False),
        ("still unversioned after a while: write it again", "", REPUT_UNVERSIONED_SECONDS + 1, ["version"], False),
        ("S3's null version of an unversioned write is no version", "null", REPUT_UNVERSIONED_SECONDS + 1,
         ["version"], False),
    ],
)
def test_an_object_s3_did_not_version_is_never_pinned(
    reason: str, version: str, age: float, expected: list[str], ready: bool
) -> None:
    """S3 asks to wait after enabling versioning before writing (PutBucketVersioning API reference), and a
    PutObject to a bucket that does not version yet answers no VersionId (localstack
    tests/aws/services/s3 snapshots; docs/aws-behaviour.md): such an object is not ready, so the domain
    waits instead of pinning an empty or null version, and it is written again after a while."""
    desired = TruststoreObjectDesired("b", "k", "PEM", hashlib.sha256(b"PEM").hexdigest())
    now = datetime.now(UTC)
    state = TruststoreObjectState("b", "k", version, desired.sha256, desired.md5, now - timedelta(seconds=age))
    assert diff_object(desired, state, now) == expected, reason
    assert observe_object("s3://b/k", state).ready is ready, reason


DOMAIN = DomainNameDesired("api.example.com", "arn:cert", "s3://b/k", "v2", "arn:own", "TLS_1_2")
DOMAIN_STATE = DomainNameState(
    domain_name="api.example.com",
    regional_domain_name="d-1.execute-api.ap-northeast-1.amazonaws.com",
    regional_hosted_zone_id="Z1YSHQZHG15GKL",
    regional_certificate_arn="arn:cert",
    ownership_verification_certificate_arn="arn:own",
    security_policy="TLS_1_2",
    endpoint_types=("REGIONAL",),
    truststore_uri="s3://b/k",
    truststore_version="v2",
    truststore_warnings=(),
    status="AVAILABLE",
    status_message="",
)


def test_a_domain_name_that_is_updating_is_not_updated_again() -> None:
    """UpdateDomainName while the domain is UPDATING answers ConflictException "There is already an update
    in progress" (aws/chalice #1986; docs/aws-behaviour.md): the part waits for it (RetryLater), no call."""
    ctx = PartContext(aws=AwsClients(), region=REGION, owner=Owner("MtlsDomain", "ns", "n", "u"))
    updating = Observed("api.example.com", replace(DOMAIN_STATE, status="UPDATING", truststore_version="v1"),
                        ready=False)
    changes = domain_diff(DOMAIN, updating.state)
    assert changes == ["truststoreVersion"]
    with pytest.raises(RetryLater) as waiting:
        DomainNamePart().update(ctx, DOMAIN, updating, changes)
    assert waiting.value.reason == "DomainNameUpdating"


@pytest.mark.parametrize(
    ("change", "expected", "ops"),
    [
        ({}, [], []),
        ({"truststore_version": "v1"}, ["truststoreVersion"], [
            {"op": "replace", "path": "/mutualTlsAuthentication/truststoreUri", "value": "s3://b/k"},
            {"op": "replace", "path": "/mutualTlsAuthentication/truststoreVersion", "value": "v2"},
        ]),
        ({"security_policy": "TLS_1_0"}, ["securityPolicy"],
         [{"op": "replace", "path": "/securityPolicy", "value": "TLS_1_2"}]),
        ({"regional_certificate_arn": "arn:old"}, ["regionalCertificateArn"],
         [{"op": "replace", "path": "/regionalCertificateArn", "value": "arn:cert"}]),
        ({"ownership_verification_certificate_arn": None}, ["ownershipVerificationCertificateArn"],
         [{"op": "replace", "path": "/ownershipVerificationCertificateArn", "value": "arn:own"}]),
        ({"endpoint_types": ("EDGE",)}, ["endpointType"], []),
    ],
)
def test_domain_diff_and_patch(change: dict[str, Any], expected: list[str], ops: list[dict[str, str]]) -> None:
    changes = domain_diff(DOMAIN, replace(DOMAIN_STATE, **change))
    assert changes == expected
    assert domain_patch(DOMAIN, changes) == ops
    assert DomainNamePart.replace_on == {"endpointType"}


def test_domain_patch_removes_an_ownership_certificate_no_longer_needed() -> None:
    desired = DomainNameDesired("api.example.com", "arn:cert", "s3://b/k", "v2", None)
    changes = domain_diff(desired, DOMAIN_STATE)
    assert changes == ["ownershipVerificationCertificateArn"]
    assert domain_patch(desired, changes) == [{"op": "remove", "path": "/ownershipVerificationCertificateArn"}]


def test_base_path_plan_root_retarget_remove_and_keep() -> None:
    desired = bpm.MappingsDesired(
        "api.example.com",
        {"": bpm.MappingTarget("a1", "prod"), "orders": bpm.MappingTarget("a2", "prod")},
        keep=frozenset({"pending"}),
    )
    state = bpm.MappingsState({
        "orders": bpm.MappingTarget("a9", "prod"),
        "old": bpm.MappingTarget("a3", "prod"),
        "pending": bpm.MappingTarget("a4", "prod"),
    })
    assert [(c.kind, c.base_path) for c in bpm.plan(desired, state)] == [
        ("add", ""), ("retarget", "orders"), ("remove", "old")
    ]
    assert bpm.diff(desired, Observed("api.example.com", state))[0] == "mapping / (root) missing"
    assert bpm.to_api("") == "(none)" and bpm.from_api("(none)") == "" and bpm.from_api("x") == "x"
    assert bpm.retarget_patch(bpm.MappingTarget("a2", "prod")) == [
        {"op": "replace", "path": "/restapiId", "value": "a2"},
        {"op": "replace", "path": "/stage", "value": "prod"},
    ]


# --- against the emulator ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint(emulator_endpoint: str) -> str:
    return emulator_endpoint


@dataclass
class Recorder:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.append((model.name, params))

    def writes(self) -> list[str]:
        return [name for name, _ in self.calls if not name.startswith(READ_PREFIXES)]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [p for name, p in self.calls if name == operation]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture()
def ctx(endpoint: str) -> PartContext:
    limits = {s: 1000.0 for s in ("apigateway", "s3", "acm", "route53")}
    return PartContext(aws=AwsClients(max_attempts=2, rate_limits=limits), region=REGION, owner=owner())


@pytest.fixture()
def rec(ctx: PartContext) -> Recorder:
    recorder = Recorder()
    for service in ("apigateway", "s3", "acm", "route53"):
        ctx.client(service).meta.events.register("before-parameter-build", recorder)
    return recorder


@pytest.fixture()
def raw(endpoint: str) -> dict[str, Any]:
    services = ("apigateway", "s3", "acm", "route53")
    return {s: boto3.client(s, region_name=REGION, endpoint_url=endpoint) for s in services}


def bucket_name() -> str:
    return f"trust-{uuid.uuid4().hex[:10]}"


def test_bucket_created_versioned_private_and_tagged_then_left_alone(ctx: PartContext, rec: Recorder,
                                                                     raw: dict[str, Any]) -> None:
    name, part = bucket_name(), TruststoreBucket()
    created = part.ensure(ctx, BucketDesired(name, REGION, create=True), name)
    assert created.action == "Created"
    assert rec.writes() == ["CreateBucket", "PutBucketTagging", "PutPublicAccessBlock", "PutBucketVersioning"]
    assert raw["s3"].get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    block = raw["s3"].get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert all(block.values())

    rec.clear()
    again = part.ensure(ctx, BucketDesired(name, REGION, create=True), name)
    assert again.action is None and rec.writes() == []

    # Versioning suspended out of band on OUR bucket: put back (drift).
    raw["s3"].put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    fixed = part.ensure(ctx, BucketDesired(name, REGION, create=True), name)
    assert fixed.action == "Updated" and fixed.changes == ["versioning"]
    assert raw["s3"].get_bucket_versioning(Bucket=name)["Status"] == "Enabled"


def test_bucket_inputs_that_cannot_work(ctx: PartContext, rec: Recorder, raw: dict[str, Any]) -> None:
    part = TruststoreBucket()
    missing = bucket_name()
    with pytest.raises(Stalled) as caught:
        part.ensure(ctx, BucketDesired(missing, REGION, create=False), missing)
    assert caught.value.reason == "TruststoreBucketNotFound" and "createBucket" in caught.value.message

    users = bucket_name()  # the user's bucket, without versioning: never changed by us, even with createBucket
    raw["s3"].create_bucket(Bucket=users, CreateBucketConfiguration={"LocationConstraint": REGION})
    rec.clear()
    for create in (False, True):
        with pytest.raises(Stalled) as caught:
            part.ensure(ctx, BucketDesired(users, REGION, create=create), users)
        assert caught.value.reason == "TruststoreBucketNotVersioned"
        assert f"put-bucket-versioning --bucket {users}" in caught.value.message
    assert rec.writes() == []
    # remove() never deletes a bucket it did not create.
    assert part.remove(ctx, users) is None
    raw["s3"].head_bucket(Bucket=users)

    elsewhere = bucket_name()
    boto3.client("s3", region_name="eu-west-1", endpoint_url=raw["s3"].meta.endpoint_url).create_bucket(
        Bucket=elsewhere, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(Stalled) as caught:
        part.ensure(ctx, BucketDesired(elsewhere, REGION, create=True), elsewhere)
    assert caught.value.reason == "TruststoreBucketInOtherRegion" and "eu-west-1" in caught.value.message


def test_a_recorded_bucket_is_one_read_while_versioned_and_every_drift_still_counts(
        ctx: PartContext, rec: Recorder, raw: dict[str, Any]) -> None:
    """Issue 12: a bucket this generation recorded is one GetBucketVersioning while it keeps versioning;
    anything else (suspended, gone, a user's bucket) is read in full and handled as before."""
    part, ours, users = TruststoreBucket(), bucket_name(), bucket_name()
    part.ensure(ctx, BucketDesired(ours, REGION, create=True), ours)
    raw["s3"].create_bucket(Bucket=users, CreateBucketConfiguration={"LocationConstraint": REGION})
    raw["s3"].put_bucket_versioning(Bucket=users, VersioningConfiguration={"Status": "Enabled"})
    trusted = replace(ctx, recorded=frozenset({ours, users}), trust_recorded=True, reads={})

    rec.clear()
    for name in (ours, users):
        assert part.ensure(trusted, BucketDesired(name, REGION, create=True), name).action is None
    assert [name for name, _ in rec.calls] == ["GetBucketVersioning", "GetBucketVersioning"]

    # Suspended on our bucket: read in full, put back.
    raw["s3"].put_bucket_versioning(Bucket=ours, VersioningConfiguration={"Status": "Suspended"})
    fixed = part.ensure(trusted, BucketDesired(ours, REGION, create=True), ours)
    assert fixed.action == "Updated" and fixed.changes == ["versioning"]
    # Suspended on the user's bucket: still refused, never written.
    raw["s3"].put_bucket_versioning(Bucket=users, VersioningConfiguration={"Status": "Suspended"})
    rec.clear()
    with pytest.raises(Stalled) as caught:
        part.ensure(trusted, BucketDesired(users, REGION, create=True), users)
    assert caught.value.reason == "TruststoreBucketNotVersioned" and rec.writes() == []
    # Gone: made again.
    raw["s3"].delete_bucket(Bucket=ours)
    assert part.ensure(trusted, BucketDesired(ours, REGION, create=True), ours).action == "Created"


def test_truststore_object_written_only_when_its_content_changes(ctx: PartContext, rec: Recorder,
                                                                  raw: dict[str, Any]) -> None:
    name = bucket_name()
    TruststoreBucket().ensure(ctx, BucketDesired(name, REGION, create=True), name)
    part, pem_a, pem_b = TruststoreObject(), make_ca("A").pem, make_ca("B").pem

    def desired(pem: str) -> TruststoreObjectDesired:
        sha = hashlib.sha256(pem.encode()).hexdigest()
        return TruststoreObjectDesired(name, "api.example.com/truststore.pem", pem, sha)

    rec.clear()
    first = part.ensure(ctx, desired(pem_a), None)
    assert first.action == "Created" and rec.writes() == ["PutObject"]
    v1 = first.observed.state.version_id
    head = raw["s3"].head_object(Bucket=name, Key="api.example.com/truststore.pem")
    assert head["VersionId"] == v1 and head["Metadata"]["sha256"] == desired(pem_a).sha256

    rec.clear()
    same = part.ensure(ctx, desired(pem_a), None)
    assert same.action is None and rec.writes() == [] and same.observed.state.version_id == v1

    rec.clear()
    changed = part.ensure(ctx, desired(pem_a + pem_b), None)
    assert changed.action == "Updated" and rec.writes() == ["PutObject"]
    v2 = changed.observed.state.version_id
    assert v2 != v1
    versions = raw["s3"].list_object_versions(Bucket=name)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == sorted([v1, v2])

    # The same bytes written by someone else (no sha256 metadata): recognised by the ETag, not rewritten.
    raw["s3"].put_object(Bucket=name, Key="api.example.com/truststore.pem", Body=(pem_a + pem_b).encode())
    rec.clear()
    assert part.ensure(ctx, desired(pem_a + pem_b), None).action is None and rec.writes() == []

    # ... and then it is not ours: remove() leaves it. Ours again after one more upload.
    assert part.remove(ctx, desired(pem_a).uri) is None
    part.ensure(ctx, desired(pem_b), None)
    assert part.remove(ctx, desired(pem_a).uri) == desired(pem_a).uri
    assert "Versions" not in raw["s3"].list_object_versions(Bucket=name)
    assert TruststoreBucket().remove(ctx, name) == name


def _issued_ownership_certificate(ctx: PartContext, zone_id: str, domain: str) -> str:
    part = OwnershipCertificate(domain)
    cert = part.ensure(ctx, RequestedCertificateDesired(domain), None).observed
    record = dns.validation_record(cert.state)
    assert record is not None
    dns.DnsRecord(zone_id, "CNAME").ensure(ctx, record, record.name)
    issued = part.ensure(ctx, RequestedCertificateDesired(domain), cert.id).observed
    assert issued.ready, issued.waiting_for
    return issued.id


@pytest.fixture(scope="module")
def zone_id(endpoint: str) -> str:
    r53 = boto3.client("route53", region_name=REGION, endpoint_url=endpoint)
    zone = r53.create_hosted_zone(Name="example.com", CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"]
    return str(zone).rsplit("/", 1)[-1]


@pytest.fixture()
def truststore_version(ctx: PartContext) -> tuple[str, list[str]]:
    name = bucket_name()
    TruststoreBucket().ensure(ctx, BucketDesired(name, REGION, create=True), name)
    versions = []
    for pem in (make_ca("A").pem, make_ca("B").pem):
        desired = TruststoreObjectDesired(name, "t.pem", pem, hashlib.sha256(pem.encode()).hexdigest())
        versions.append(TruststoreObject().ensure(ctx, desired, None).observed.state.version_id)
    return f"s3://{name}/t.pem", versions


def test_domain_name_with_imported_certificate_and_ownership_verification(
    ctx: PartContext, rec: Recorder, raw: dict[str, Any], zone_id: str, truststore_version: tuple[str, list[str]]
) -> None:
    domain = f"d{uuid.uuid4().hex[:8]}.example.com"
    cert_pem, key_pem = server_certificate(domain)
    imported = ImportedCertificate(domain).ensure(
        ctx, ImportedCertificateDesired.from_pem(domain, cert_pem, key_pem), None
    ).observed
    assert imported.state.type == "IMPORTED"
    ownership = _issued_ownership_certificate(ctx, zone_id, domain)
    uri, (v1, v2) = truststore_version
    part = DomainNamePart()
    desired = DomainNameDesired(domain, imported.id, uri, v1, ownership)

    rec.clear()
    created = part.ensure(ctx, desired, domain)
    assert created.action == "Created" and rec.writes() == ["CreateDomainName"]
    [params] = rec.params("CreateDomainName")
    assert params["endpointConfiguration"] == {"types": ["REGIONAL"]} and params["securityPolicy"] == "TLS_1_2"
    assert params["mutualTlsAuthentication"] == {"truststoreUri": uri, "truststoreVersion": v1}
    got = raw["apigateway"].get_domain_name(domainName=domain)
    assert got["ownershipVerificationCertificateArn"] == ownership
    assert got["mutualTlsAuthentication"]["truststoreVersion"] == v1
    assert created.observed.state.regional_hosted_zone_id == "Z1YSHQZHG15GKL"  # API Gateway's, not CloudFront's

    rec.clear()
    assert part.ensure(ctx, desired, domain).action is None and rec.writes() == []

    # A new truststore version moves the domain with one UpdateDomainName; the regional name stays.
    rec.clear()
    moved = part.ensure(ctx, DomainNameDesired(domain, imported.id, uri, v2, ownership), domain)
    assert moved.action == "Updated" and moved.changes == ["truststoreVersion"] and rec.writes() == ["UpdateDomainName"]
    assert raw["apigateway"].get_domain_name(domainName=domain)["mutualTlsAuthentication"]["truststoreVersion"] == v2
    assert moved.observed.state.regional_domain_name == created.observed.state.regional_domain_name

    # Someone else's domain of the same name is never adopted nor deleted.
    stranger = PartContext(ctx.aws, REGION, owner("stranger"))
    with pytest.raises(Stalled) as caught:
        part.ensure(stranger, desired, domain)
    assert caught.value.reason == "DomainNameInUse" and "choose another spec.domainName" in caught.value.message
    assert part.remove(stranger, domain) is None

    assert part.remove(ctx, domain) == domain
    assert part.find(ctx, None, domain) is None


def test_base_path_mappings(ctx: PartContext, rec: Recorder, raw: dict[str, Any], zone_id: str,
                            truststore_version: tuple[str, list[str]]) -> None:
    domain = f"m{uuid.uuid4().hex[:8]}.example.com"
    uri, (version, _) = truststore_version
    cert = _issued_ownership_certificate(ctx, zone_id, domain)  # a public certificate: no ownership needed
    DomainNamePart().ensure(ctx, DomainNameDesired(domain, cert, uri, version), domain)
    apis = []
    for name in ("one", "two"):
        api = raw["apigateway"].create_rest_api(name=name)["id"]
        root = raw["apigateway"].get_resources(restApiId=api)["items"][0]["id"]
        raw["apigateway"].put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
        raw["apigateway"].put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
        raw["apigateway"].create_deployment(restApiId=api, stageName="prod")
        apis.append(api)
    part = BasePathMappingsHelper(ctx, domain)

    rec.clear()
    assert part.ensure({"": apis[0], "orders": apis[1]}).action == "Updated"
    assert sorted(rec.writes()) == ["CreateBasePathMapping", "CreateBasePathMapping"]
    assert "basePath" not in rec.params("CreateBasePathMapping")[0]  # the root: no basePath at all
    assert part.aws_view(raw) == {"(none)": (apis[0], "prod"), "orders": (apis[1], "prod")}

    rec.clear()
    assert part.ensure({"": apis[0], "orders": apis[1]}).action is None and rec.writes() == []

    # Retarget one, drop the root; a base path whose target is unknown yet is kept as it is.
    raw["apigateway"].create_base_path_mapping(domainName=domain, restApiId=apis[0], stage="prod", basePath="later")
    rec.clear()
    outcome = part.ensure({"orders": apis[0]}, keep={"later"})
    assert sorted(outcome.changes) == ["mapping / (root) not in spec", f"mapping /orders -> {apis[1]}/prod"]
    assert sorted(rec.writes()) == ["DeleteBasePathMapping", "UpdateBasePathMapping"]
    assert part.aws_view(raw) == {"orders": (apis[0], "prod"), "later": (apis[0], "prod")}

    assert bpm.BasePathMappings().remove(ctx, domain) == domain
    assert part.aws_view(raw) == {}


@dataclass
class BasePathMappingsHelper:
    ctx: PartContext
    domain: str

    def ensure(self, targets: dict[str, str], keep: set[str] | None = None) -> Any:
        desired = bpm.MappingsDesired(
            self.domain, {bp: bpm.MappingTarget(api, "prod") for bp, api in targets.items()}, frozenset(keep or ())
        )
        return bpm.BasePathMappings().ensure(self.ctx, desired, self.domain)

    def aws_view(self, raw: dict[str, Any]) -> dict[str, tuple[str, str]]:
        items = raw["apigateway"].get_base_path_mappings(domainName=self.domain).get("items", [])
        return {m["basePath"]: (m["restApiId"], m.get("stage", "")) for m in items}
