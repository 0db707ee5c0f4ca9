"""The CRDs in crds/ against a real kube-apiserver (v1.20): what they reject, with which message,
what they accept, and which defaults they fill in.

The rejection table is also checked offline with ``jsonschema`` (no API server needed) for the
cases a plain JSON Schema can express, so that a broken pattern shows up even where no API
server is available.

Fixtures (tests/conftest.py): ``cluster`` (session; CRDs installed and established) with
``cluster.kubectl(*args, input=None, check=True, as_operator=False)``, and ``namespace`` (a fresh
namespace per test).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CRD_DIR = ROOT / "crds"
EXAMPLES_DIR = ROOT / "examples"
API_VERSION = "hybridgateway.io/v1alpha1"

Obj = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Valid base objects: as small as the schemas allow, so that the defaults get exercised.
# --------------------------------------------------------------------------------------------

BASES: dict[str, Obj] = {
    "HybridApi": {
        "apiVersion": API_VERSION,
        "kind": "HybridApi",
        "metadata": {"name": "orders"},
        "spec": {
            "region": "ap-northeast-1",
            "network": {
                "vpcId": "vpc-0123456789abcdef0",
                "subnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
            },
            "backend": {"targets": [{"ip": "192.168.10.5", "port": 443}]},
            "frontDoor": {
                "hostname": "orders-backend.example.com",
                "hostedZoneId": "Z0123456789ABCDEFGHIJ",
                "certificate": {
                    "acmCertificateArn": (
                        "arn:aws:acm:ap-northeast-1:111122223333:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
                    )
                },
            },
            "api": {"routes": [{"path": "/{proxy+}"}]},
        },
    },
    "MtlsDomain": {
        "apiVersion": API_VERSION,
        "kind": "MtlsDomain",
        "metadata": {"name": "partner-api"},
        "spec": {
            "region": "ap-northeast-1",
            "domainName": "api.example.com",
            "hostedZoneId": "Z0123456789ABCDEFGHIJ",
            "certificate": {"secretRef": {"name": "api-example-com-tls"}},
            "truststore": {
                "sources": [{"secretRef": {"name": "partner-a-ca", "key": "ca.crt"}}],
                "bucket": "team-a-truststores",
            },
            "mappings": [{"hybridApiRef": {"name": "orders"}, "stage": "prod", "basePath": "orders"}],
        },
    },
    "ClientCertRotation": {
        "apiVersion": API_VERSION,
        "kind": "ClientCertRotation",
        "metadata": {"name": "orders-backend-cert"},
        "spec": {
            "region": "ap-northeast-1",
            "stages": [{"hybridApiRef": {"name": "orders"}, "stage": "prod"}],
            "backendTrust": {"secretRef": {"name": "orders-backend-trust", "key": "ca.pem"}},
            "verification": {"hybridApiRef": {"name": "orders"}},
        },
    },
}

# Cluster-scoped kinds: the API server keeps one object for the whole cluster, and a stored TenancyPolicy
# would change what every other test's namespace may use. Their bases are only ever sent with
# --dry-run=server or rejected; test_tenancy_policy_printer_columns deletes the one it makes.
CLUSTER_BASES: dict[str, Obj] = {
    "TenancyPolicy": {
        "apiVersion": API_VERSION,
        "kind": "TenancyPolicy",
        "metadata": {"name": "team-a"},
        "spec": {
            "namespaces": {"names": ["team-a"], "selector": {"matchLabels": {"hybridgateway.io/tenant": "team-a"}}},
            "allowed": {
                "vpcIds": ["vpc-0123456789abcdef0"],
                "subnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
                "targetCidrs": ["192.168.10.0/24"],
                "hostedZoneIds": ["Z0123456789ABCDEFGHIJ"],
                "hostnameSuffixes": ["team-a.example.com"],
            },
        },
    },
}
ALL_BASES: dict[str, Obj] = {**BASES, **CLUSTER_BASES}

# The defaults each minimal base object must come back with (dotted path -> value).
EXPECTED_DEFAULTS: dict[str, dict[str, Any]] = {
    "HybridApi": {
        "spec.deletionPolicy": "Delete",
        "spec.frontDoor.sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "spec.backend.healthCheck.path": "/",
        "spec.backend.healthCheck.matcher": "200-399",
        "spec.backend.healthCheck.intervalSeconds": 30,
        "spec.backend.healthCheck.timeoutSeconds": 5,
        "spec.backend.healthCheck.healthyThreshold": 3,
        "spec.backend.healthCheck.unhealthyThreshold": 3,
        "spec.api.stage.name": "prod",
        "spec.api.disableExecuteApiEndpoint": False,
        "spec.api.routes.0.methods": ["ANY"],
        "spec.frontDoor.mutualTls.mode": "off",
    },
    "MtlsDomain": {
        "spec.deletionPolicy": "Delete",
        "spec.securityPolicy": "TLS_1_2",
        "spec.disableDefaultEndpoints": True,
        "spec.truststore.createBucket": False,
        "spec.truststore.expiryWarningDays": 30,
    },
    "ClientCertRotation": {
        "spec.deletionPolicy": "Delete",
        "spec.renewBefore": "720h",
        "spec.gracePeriod": "10m",
        "spec.verification.method": "GET",
        "spec.verification.path": "/",
        "spec.verification.expectStatus": [200],
    },
}

# --------------------------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------------------------

DELETE = object()  # value that removes the field
Op = tuple[str, Any]


def _split(path: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in path.split(".")]


def get_path(document: Any, path: str) -> Any:
    for part in _split(path):
        document = document[part]
    return document


def mutate(document: Obj, ops: list[Op]) -> Obj:
    result = copy.deepcopy(document)
    for path, value in ops:
        *parents, last = _split(path)
        target: Any = result
        for part in parents:
            target = target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = copy.deepcopy(value)
    return result


@dataclass(frozen=True)
class Rejection:
    reason: str
    kind: str
    ops: list[Op]
    expect: list[str]
    # False where plain JSON Schema cannot say it (x-kubernetes-list-type uniqueness).
    offline: bool = True


ARN = "arn:aws:acm:ap-northeast-1:111122223333:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
SHOULD_MATCH = "in body should match"
# 1.20 reports oneOf failures without a field path ("<nil>: Invalid value: \"\": ...").
ONE_OF = '"{}" must validate one and only one schema (oneOf)'

REJECTIONS: list[Rejection] = [
    # ---- HybridApi
    Rejection(
        "hostname-upper-case",
        "HybridApi",
        [("spec.frontDoor.hostname", "Orders-Backend.example.com")],
        [f"spec.frontDoor.hostname {SHOULD_MATCH}"],
    ),
    Rejection(
        "hostname-underscore",
        "HybridApi",
        [("spec.frontDoor.hostname", "orders_backend.example.com")],
        [f"spec.frontDoor.hostname {SHOULD_MATCH}"],
    ),
    Rejection(
        "hostname-without-dot",
        "HybridApi",
        [("spec.frontDoor.hostname", "orders-backend")],
        [f"spec.frontDoor.hostname {SHOULD_MATCH}"],
    ),
    Rejection(
        "hostname-wildcard",
        "HybridApi",
        [("spec.frontDoor.hostname", "*.example.com")],
        [f"spec.frontDoor.hostname {SHOULD_MATCH}"],
    ),
    Rejection(
        "hostname-too-long",
        "HybridApi",
        [("spec.frontDoor.hostname", ".".join(["a" * 60] * 5))],
        ["spec.frontDoor.hostname in body should be at most 253 chars long"],
    ),
    Rejection(
        "target-ip-octet-256",
        "HybridApi",
        [("spec.backend.targets.0.ip", "256.1.1.1")],
        [f"spec.backend.targets.ip {SHOULD_MATCH}"],
    ),
    Rejection(
        "target-ip-not-dotted-quad",
        "HybridApi",
        [("spec.backend.targets.0.ip", "192.168.10")],
        [f"spec.backend.targets.ip {SHOULD_MATCH}"],
    ),
    Rejection(
        "target-port-0",
        "HybridApi",
        [("spec.backend.targets.0.port", 0)],
        ["spec.backend.targets.port in body should be greater than or equal to 1"],
    ),
    Rejection(
        "target-port-70000",
        "HybridApi",
        [("spec.backend.targets.0.port", 70000)],
        ["spec.backend.targets.port in body should be less than or equal to 65535"],
    ),
    Rejection(
        "target-duplicate",
        "HybridApi",
        [
            (
                "spec.backend.targets",
                [{"ip": "192.168.10.5", "port": 443}, {"ip": "192.168.10.5", "port": 443}],
            )
        ],
        ["spec.backend.targets[1]: Duplicate value"],
        offline=False,
    ),
    Rejection("targets-empty", "HybridApi", [("spec.backend.targets", [])], ["should have at least 1 items"]),
    Rejection("region-missing", "HybridApi", [("spec.region", DELETE)], ["spec.region: Required value"]),
    Rejection("region-bad", "HybridApi", [("spec.region", "Tokyo")], [f"spec.region {SHOULD_MATCH}"]),
    Rejection(
        "hostname-missing",
        "HybridApi",
        [("spec.frontDoor.hostname", DELETE)],
        ["spec.frontDoor.hostname: Required value"],
    ),
    Rejection(
        "deletion-policy-keep",
        "HybridApi",
        [("spec.deletionPolicy", "Keep")],
        ['spec.deletionPolicy: Unsupported value: "Keep"', '"Delete", "Retain"'],
    ),
    Rejection(
        "one-subnet",
        "HybridApi",
        [("spec.network.subnetIds", ["subnet-0123456789abcdef0"])],
        ["spec.network.subnetIds in body should have at least 2 items"],
    ),
    Rejection(
        "duplicate-subnet",
        "HybridApi",
        [("spec.network.subnetIds", ["subnet-0123456789abcdef0", "subnet-0123456789abcdef0"])],
        ['spec.network.subnetIds[1]: Duplicate value: "subnet-0123456789abcdef0"'],
        offline=False,
    ),
    Rejection(
        "subnet-id-bad",
        "HybridApi",
        [("spec.network.subnetIds.1", "subnet-cccc")],
        [f"spec.network.subnetIds {SHOULD_MATCH}"],
    ),
    Rejection("vpc-id-bad", "HybridApi", [("spec.network.vpcId", "vpc_123")], [f"spec.network.vpcId {SHOULD_MATCH}"]),
    Rejection(
        "hosted-zone-id-lower-case",
        "HybridApi",
        [("spec.frontDoor.hostedZoneId", "z0123456789abc")],
        [f"spec.frontDoor.hostedZoneId {SHOULD_MATCH}"],
    ),
    Rejection(
        "routes-empty",
        "HybridApi",
        [("spec.api.routes", [])],
        ["spec.api.routes in body should have at least 1 items"],
    ),
    Rejection(
        "route-path-without-slash",
        "HybridApi",
        [("spec.api.routes.0.path", "orders")],
        [f"spec.api.routes.path {SHOULD_MATCH}"],
    ),
    Rejection(
        "route-greedy-not-last",
        "HybridApi",
        [("spec.api.routes.0.path", "/{proxy+}/items")],
        [f"spec.api.routes.path {SHOULD_MATCH}"],
    ),
    Rejection(
        "route-duplicate-path",
        "HybridApi",
        [("spec.api.routes", [{"path": "/orders"}, {"path": "/orders", "methods": ["GET"]}])],
        ["spec.api.routes[1]: Duplicate value"],
        offline=False,
    ),
    Rejection(
        "method-not-in-enum",
        "HybridApi",
        [("spec.api.routes.0.methods", ["GET", "CONNECT"])],
        ['spec.api.routes.methods: Unsupported value: "CONNECT"'],
    ),
    Rejection(
        "methods-empty",
        "HybridApi",
        [("spec.api.routes.0.methods", [])],
        ["spec.api.routes.methods in body should have at least 1 items"],
    ),
    Rejection(
        "certificate-two-sources",
        "HybridApi",
        [("spec.frontDoor.certificate", {"acmCertificateArn": ARN, "request": {}})],
        [ONE_OF.format("spec.frontDoor.certificate"), "Found 2 valid alternatives"],
    ),
    Rejection(
        "certificate-no-source",
        "HybridApi",
        [("spec.frontDoor.certificate", {})],
        [ONE_OF.format("spec.frontDoor.certificate"), "Found none valid"],
    ),
    Rejection(
        "acm-arn-bad",
        "HybridApi",
        [("spec.frontDoor.certificate.acmCertificateArn", "arn:aws:iam::111122223333:server-certificate/x")],
        [f"spec.frontDoor.certificate.acmCertificateArn {SHOULD_MATCH}"],
    ),
    Rejection(
        "ssl-policy-bad",
        "HybridApi",
        [("spec.frontDoor.sslPolicy", "TLS13-1-2-2021-06")],
        [f"spec.frontDoor.sslPolicy {SHOULD_MATCH}"],
    ),
    Rejection(
        "health-check-interval-too-short",
        "HybridApi",
        [("spec.backend.healthCheck", {"intervalSeconds": 1})],
        ["spec.backend.healthCheck.intervalSeconds in body should be greater than or equal to 5"],
    ),
    Rejection(
        "health-check-matcher-bad",
        "HybridApi",
        [("spec.backend.healthCheck", {"matcher": "200-599"})],
        [f"spec.backend.healthCheck.matcher {SHOULD_MATCH}"],
    ),
    Rejection(
        "drift-check-interval-bad",
        "HybridApi",
        [("spec.driftCheckInterval", "1 minute")],
        [f"spec.driftCheckInterval {SHOULD_MATCH}"],
    ),
    # A 1ms interval would drain the AWS rate limits every object shares: the schema refuses sub-second
    # units for every kind; the operator's floor (30s by default) is a Stalled (tests/unit/test_drift_interval.py).
    *(
        Rejection(f"drift-check-interval-{value}-{kind}", kind, [("spec.driftCheckInterval", value)],
                  [f"spec.driftCheckInterval {SHOULD_MATCH}"])
        for kind in ("HybridApi", "MtlsDomain", "ClientCertRotation")
        for value in ("1ms", "100µs", "1m1ms")
    ),
    Rejection(
        "gateway-secret-header-name-with-space",
        "HybridApi",
        [("spec.api.gatewaySecretHeader", {"name": "X Gateway", "secretRef": {"name": "s", "key": "token"}})],
        [f"spec.api.gatewaySecretHeader.name {SHOULD_MATCH}"],
    ),
    Rejection(
        "gateway-secret-without-key",
        "HybridApi",
        [("spec.api.gatewaySecretHeader", {"secretRef": {"name": "s"}})],
        ["spec.api.gatewaySecretHeader.secretRef.key: Required value"],
    ),
    Rejection(
        "throttling-negative",
        "HybridApi",
        [("spec.api.stage", {"throttling": {"rateLimit": -1}})],
        ["spec.api.stage.throttling.rateLimit in body should be greater than or equal to 0"],
    ),
    Rejection(
        "access-log-destination-not-logs",
        "HybridApi",
        [("spec.api.stage", {"accessLogDestinationArn": "arn:aws:s3:::team-a-logs"})],
        [f"spec.api.stage.accessLogDestinationArn {SHOULD_MATCH}"],
    ),
    # ---- MtlsDomain
    Rejection(
        "truststore-no-sources",
        "MtlsDomain",
        [("spec.truststore.sources", [])],
        ["spec.truststore.sources in body should have at least 1 items"],
    ),
    Rejection(
        "truststore-source-two-refs",
        "MtlsDomain",
        [
            (
                "spec.truststore.sources.0",
                {"secretRef": {"name": "a", "key": "ca.crt"}, "configMapRef": {"name": "b", "key": "ca.pem"}},
            )
        ],
        [ONE_OF.format("spec.truststore.sources"), "Found 2 valid alternatives"],
    ),
    Rejection(
        "security-policy-tls-1-0",
        "MtlsDomain",
        [("spec.securityPolicy", "TLS_1_0")],
        ['spec.securityPolicy: Unsupported value: "TLS_1_0"'],
    ),
    Rejection(
        "security-policy-enhanced",
        "MtlsDomain",
        [("spec.securityPolicy", "SecurityPolicy_TLS13_1_2_2021_06")],
        ['spec.securityPolicy: Unsupported value: "SecurityPolicy_TLS13_1_2_2021_06"'],
    ),
    Rejection(
        "mutual-tls-mode-unknown",
        "HybridApi",
        [("spec.frontDoor.mutualTls", {"mode": "required"})],
        ['spec.frontDoor.mutualTls.mode: Unsupported value: "required"', '"off", "passthrough", "verify"'],
    ),
    Rejection(
        "vpc-link-version-unknown",
        "HybridApi",
        [("spec.network.vpcLink", {"version": "V3"})],
        ['spec.network.vpcLink.version: Unsupported value: "V3"', '"V1", "V2"'],
    ),
    Rejection(
        "probe-every-nth-zero",
        "HybridApi",
        [("spec.probe", {"everyNthDriftCheck": 0})],
        ["spec.probe.everyNthDriftCheck in body should be greater than or equal to 1"],
    ),
    Rejection(
        "probe-expect-status-600",
        "HybridApi",
        [("spec.probe", {"expectStatus": [600]})],
        ["spec.probe.expectStatus in body should be less than or equal to 599"],
    ),
    Rejection(
        "probe-method-any",
        "HybridApi",
        [("spec.probe", {"method": "ANY"})],
        ['spec.probe.method: Unsupported value: "ANY"'],
    ),
    Rejection(
        "domain-name-wildcard",
        "MtlsDomain",
        [("spec.domainName", "*.example.com")],
        [f"spec.domainName {SHOULD_MATCH}"],
    ),
    Rejection(
        "domain-certificate-none",
        "MtlsDomain",
        [("spec.certificate", {})],
        [ONE_OF.format("spec.certificate"), "Found none valid"],
    ),
    Rejection(
        "bucket-upper-case",
        "MtlsDomain",
        [("spec.truststore.bucket", "Team-A-Truststores")],
        [f"spec.truststore.bucket {SHOULD_MATCH}"],
    ),
    Rejection(
        # API Gateway v1 refuses "/" in a base path ("use API Gateway V2"; docs/aws-behaviour.md): the
        # schema stops it before the MtlsDomain would write anything.
        "base-path-multi-level",
        "MtlsDomain",
        [("spec.mappings.0.basePath", "orders/v2")],
        [f"spec.mappings.basePath {SHOULD_MATCH}"],
    ),
    Rejection(
        "base-path-leading-slash",
        "MtlsDomain",
        [("spec.mappings.0.basePath", "/orders")],
        [f"spec.mappings.basePath {SHOULD_MATCH}"],
    ),
    Rejection(
        "base-path-duplicate",
        "MtlsDomain",
        [
            (
                "spec.mappings",
                [
                    {"hybridApiRef": {"name": "orders"}, "stage": "prod", "basePath": "orders"},
                    {"hybridApiRef": {"name": "billing"}, "stage": "prod", "basePath": "orders"},
                ],
            )
        ],
        ["spec.mappings[1]: Duplicate value"],
        offline=False,
    ),
    Rejection(
        "expiry-warning-days-0",
        "MtlsDomain",
        [("spec.truststore.expiryWarningDays", 0)],
        ["spec.truststore.expiryWarningDays in body should be greater than or equal to 1"],
    ),
    # ---- ClientCertRotation
    Rejection(
        "stages-empty",
        "ClientCertRotation",
        [("spec.stages", [])],
        ["spec.stages in body should have at least 1 items"],
    ),
    Rejection(
        "stage-name-with-dash",
        "ClientCertRotation",
        [("spec.stages.0.stage", "prod-1")],
        [f"spec.stages.stage {SHOULD_MATCH}"],
    ),
    Rejection(
        "renew-before-in-days",
        "ClientCertRotation",
        [("spec.renewBefore", "30 days")],
        [f"spec.renewBefore {SHOULD_MATCH}"],
    ),
    Rejection(
        "expect-status-700",
        "ClientCertRotation",
        [("spec.verification.expectStatus", [200, 700])],
        ["spec.verification.expectStatus in body should be less than or equal to 599"],
    ),
    Rejection(
        "verification-method-any",
        "ClientCertRotation",
        [("spec.verification.method", "ANY")],
        ['spec.verification.method: Unsupported value: "ANY"'],
    ),
    Rejection(
        "backend-trust-two-refs",
        "ClientCertRotation",
        [("spec.backendTrust.configMapRef", {"name": "orders-backend-trust", "key": "ca.pem"})],
        [ONE_OF.format("spec.backendTrust"), "Found 2 valid alternatives"],
    ),
    Rejection(
        "backend-trust-no-ref",
        "ClientCertRotation",
        [("spec.backendTrust", {"s3": {"bucket": "team-a-trust", "key": "orders/backend-trust.pem"}})],
        [ONE_OF.format("spec.backendTrust"), "Found none valid"],
    ),
    Rejection(
        "rotate-requested-at-not-rfc3339",
        "ClientCertRotation",
        [("spec.rotateRequestedAt", "tomorrow")],
        [f"spec.rotateRequestedAt {SHOULD_MATCH}"],
    ),
    Rejection(
        "stages-missing",
        "ClientCertRotation",
        [("spec.stages", DELETE)],
        ["spec.stages: Required value"],
    ),
    # ---- TenancyPolicy
    Rejection("namespaces-missing", "TenancyPolicy", [("spec.namespaces", DELETE)],
              ["spec.namespaces: Required value"]),
    Rejection("namespaces-empty", "TenancyPolicy", [("spec.namespaces", {})],
              ["spec.namespaces in body should have at least 1 properties"]),
    Rejection("allowed-missing", "TenancyPolicy", [("spec.allowed", DELETE)], ["spec.allowed: Required value"]),
    Rejection("namespace-name-upper-case", "TenancyPolicy", [("spec.namespaces.names", ["Team-A"])],
              [f"spec.namespaces.names {SHOULD_MATCH}"]),
    Rejection("selector-operator-equals", "TenancyPolicy",
              [("spec.namespaces.selector", {"matchExpressions": [{"key": "tenant", "operator": "Equals"}]})],
              ['spec.namespaces.selector.matchExpressions.operator: Unsupported value: "Equals"']),
    Rejection("selector-label-value-with-space", "TenancyPolicy",
              [("spec.namespaces.selector", {"matchLabels": {"tenant": "team a"}})],
              [f"spec.namespaces.selector.matchLabels.tenant {SHOULD_MATCH}"]),
    Rejection("cidr-without-prefix", "TenancyPolicy", [("spec.allowed.targetCidrs", ["192.168.10.0"])],
              [f"spec.allowed.targetCidrs {SHOULD_MATCH}"]),
    Rejection("cidr-prefix-33", "TenancyPolicy", [("spec.allowed.targetCidrs", ["192.168.10.0/33"])],
              [f"spec.allowed.targetCidrs {SHOULD_MATCH}"]),
    Rejection("cidr-octet-256", "TenancyPolicy", [("spec.allowed.targetCidrs", ["192.168.256.0/24"])],
              [f"spec.allowed.targetCidrs {SHOULD_MATCH}"]),
    Rejection("cidr-ipv6", "TenancyPolicy", [("spec.allowed.targetCidrs", ["fd00::/8"])],
              [f"spec.allowed.targetCidrs {SHOULD_MATCH}"]),
    Rejection("cidr-duplicate", "TenancyPolicy",
              [("spec.allowed.targetCidrs", ["192.168.10.0/24", "192.168.10.0/24"])],
              ['spec.allowed.targetCidrs[1]: Duplicate value: "192.168.10.0/24"'], offline=False),
    Rejection("suffix-leading-dot", "TenancyPolicy", [("spec.allowed.hostnameSuffixes", [".example.com"])],
              [f"spec.allowed.hostnameSuffixes {SHOULD_MATCH}"]),
    Rejection("suffix-wildcard", "TenancyPolicy", [("spec.allowed.hostnameSuffixes", ["*.example.com"])],
              [f"spec.allowed.hostnameSuffixes {SHOULD_MATCH}"]),
    Rejection("suffix-underscore", "TenancyPolicy", [("spec.allowed.hostnameSuffixes", ["team_a.example.com"])],
              [f"spec.allowed.hostnameSuffixes {SHOULD_MATCH}"]),
    Rejection("policy-vpc-id-bad", "TenancyPolicy", [("spec.allowed.vpcIds", ["vpc_123"])],
              [f"spec.allowed.vpcIds {SHOULD_MATCH}"]),
    Rejection("policy-zone-lower-case", "TenancyPolicy", [("spec.allowed.hostedZoneIds", ["z0123"])],
              [f"spec.allowed.hostedZoneIds {SHOULD_MATCH}"]),
    Rejection("policy-acm-arn-bad", "TenancyPolicy",
              [("spec.allowed.acmCertificateArns", ["arn:aws:iam::111122223333:server-certificate/x"])],
              [f"spec.allowed.acmCertificateArns {SHOULD_MATCH}"]),
]


def _case_id(case: Rejection) -> str:
    return f"{case.kind}-{case.reason}"


def to_yaml(*documents: Obj) -> str:
    return yaml.safe_dump_all(documents, sort_keys=False)


# --------------------------------------------------------------------------------------------
# Offline: the same table against the CRD schemas with jsonschema
# --------------------------------------------------------------------------------------------


def _load_crd_schemas() -> dict[str, Obj]:
    schemas: dict[str, Obj] = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        schemas[crd["spec"]["names"]["kind"]] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schemas


def _to_jsonschema(schema: Any) -> Any:
    """openAPIV3Schema -> JSON Schema: drop Kubernetes extensions, a set list means unique items."""
    if isinstance(schema, list):
        return [_to_jsonschema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _to_jsonschema(value) for key, value in schema.items() if not key.startswith("x-kubernetes-")}
    if schema.get("x-kubernetes-list-type") == "set":
        result["uniqueItems"] = True
    return result


def _offline_errors(document: Obj) -> list[str]:
    schema = _to_jsonschema(_load_crd_schemas()[document["kind"]])
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [error.message for error in validator.iter_errors(document)]


@pytest.mark.parametrize("kind", sorted(ALL_BASES))
def test_base_objects_valid_offline(kind: str) -> None:
    assert _offline_errors(ALL_BASES[kind]) == []


@pytest.mark.parametrize("case", [c for c in REJECTIONS if c.offline], ids=_case_id)
def test_rejected_offline(case: Rejection) -> None:
    assert _offline_errors(mutate(ALL_BASES[case.kind], case.ops)), f"{case.reason}: accepted by the schema"


# --------------------------------------------------------------------------------------------
# Against the API server
# --------------------------------------------------------------------------------------------


def _apply(cluster: Any, namespace: str, document: Obj, *extra: str, check: bool = False) -> Any:
    # --validate=false: let the API server, not kubectl's client-side checks, judge the object.
    return cluster.kubectl(
        "apply", "--validate=false", "-n", namespace, "-f", "-", *extra, input=to_yaml(document), check=check
    )


@pytest.mark.parametrize("case", REJECTIONS, ids=_case_id)
def test_rejected_by_api_server(cluster: Any, namespace: str, case: Rejection) -> None:
    document = mutate(ALL_BASES[case.kind], case.ops)
    result = _apply(cluster, namespace, document)
    assert result.returncode != 0, f"{case.reason}: accepted:\n{result.stdout}"
    for expected in case.expect:
        assert expected in result.stderr, f"{case.reason}: {expected!r} not in:\n{result.stderr}"
    assert "is invalid" in result.stderr


@pytest.mark.parametrize("kind", sorted(BASES))
def test_base_object_accepted_with_defaults(cluster: Any, namespace: str, kind: str) -> None:
    _apply(cluster, namespace, BASES[kind], check=True)
    name = BASES[kind]["metadata"]["name"]
    stored = json.loads(cluster.kubectl("get", "-n", namespace, kind.lower(), name, "-o", "json").stdout)
    for path, value in EXPECTED_DEFAULTS[kind].items():
        assert get_path(stored, path) == value, path
    # What was sent comes back unchanged (nothing pruned).
    for key, value in BASES[kind]["spec"].items():
        if isinstance(value, dict):
            for sub, sub_value in value.items():
                if not isinstance(sub_value, dict | list):
                    assert stored["spec"][key][sub] == sub_value


@pytest.mark.parametrize("kind", sorted(BASES))
def test_drift_check_interval_unset_means_the_operator_default(cluster: Any, namespace: str, kind: str) -> None:
    """The CRD fills in no driftCheckInterval, so an object without one is checked every --drift-interval."""
    from hybrid_gateway.handlers import drift_interval

    _apply(cluster, namespace, BASES[kind], check=True)
    name = BASES[kind]["metadata"]["name"]
    stored = json.loads(cluster.kubectl("get", "-n", namespace, kind.lower(), name, "-o", "json").stdout)
    assert "driftCheckInterval" not in stored["spec"]
    assert drift_interval(stored["spec"], 42.0) == 42.0
    assert drift_interval({**stored["spec"], "driftCheckInterval": "90s"}, 42.0) == 90.0


def test_empty_strings_accepted(cluster: Any, namespace: str) -> None:
    """Optional strings documented as "" (empty) and the root base path are accepted."""
    documents = [
        mutate(BASES["HybridApi"], [("spec.api.stage", {"accessLogDestinationArn": ""})]),
        mutate(
            BASES["MtlsDomain"],
            [("spec.ownershipVerificationCertificateArn", ""), ("spec.mappings.0.basePath", "")],
        ),
        mutate(BASES["ClientCertRotation"], [("spec.rotateRequestedAt", "")]),
    ]
    for document in documents:
        result = _apply(cluster, namespace, document, "--dry-run=server")
        # 'must be of type string: "null"' here means a kube-apiserver built with Go >= 1.16 without
        # the fix of kubernetes/kubernetes#99804 (go-openapi's type validator takes "" for null).
        assert result.returncode == 0, result.stderr


def test_tenancy_policy_accepted_as_sent(cluster: Any, namespace: str) -> None:
    """A cluster-scoped policy (server-side dry run: see CLUSTER_BASES) comes back as sent, without defaults;
    suffixes in any case and with Route 53's trailing dot are accepted (the operator normalises them)."""
    base = CLUSTER_BASES["TenancyPolicy"]
    sent = mutate(base, [("spec.allowed.hostnameSuffixes", ["Team-A.Example.com."]),
                         ("spec.namespaces.selector", {"matchExpressions": [
                             {"key": "hybridgateway.io/tenant", "operator": "In", "values": ["team-a"]}]})])
    result = _apply(cluster, namespace, sent, "--dry-run=server", "-o", "json")
    assert result.returncode == 0, result.stderr
    stored = json.loads(result.stdout)
    assert stored["spec"] == sent["spec"]
    assert "namespace" not in stored["metadata"]


@pytest.mark.parametrize("example", sorted(str(p.relative_to(EXAMPLES_DIR)) for p in EXAMPLES_DIR.rglob("*.yaml")))
def test_example_accepted(cluster: Any, namespace: str, example: str) -> None:
    text = (EXAMPLES_DIR / example).read_text(encoding="utf-8")
    result = cluster.kubectl("apply", "-n", namespace, "-f", "-", "--dry-run=server", input=text, check=False)
    assert result.returncode == 0, result.stderr


def _retry(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_kubectl_explain_shows_descriptions(cluster: Any) -> None:
    def explain() -> str:
        result = cluster.kubectl("explain", "hybridapi.spec.backend", check=False)
        assert result.returncode == 0, result.stderr
        assert "on-premises HTTPS load balancer" in result.stdout
        assert "targets" in result.stdout and "healthCheck" in result.stdout
        return result.stdout

    _retry(explain)
    targets = cluster.kubectl("explain", "hybridapi.spec.backend.targets.port").stdout
    assert "1 to 65535" in targets
    allowed = cluster.kubectl("explain", "tenancypolicy.spec.allowed").stdout
    for field in ("vpcIds", "subnetIds", "targetCidrs", "hostedZoneIds", "hostnameSuffixes", "acmCertificateArns"):
        assert field in allowed
    suffixes = cluster.kubectl("explain", "tenancypolicy.spec.allowed.hostnameSuffixes").stdout
    assert "evil-example.com" in suffixes


REALISTIC_STATUS: dict[str, Obj] = {
    "HybridApi": {
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Converged",
                "message": "",
                "observedGeneration": 1,
                "lastTransitionTime": "2024-05-01T09:00:00Z",
            },
            {
                "type": "Reconciling",
                "status": "False",
                "reason": "Converged",
                "message": "",
                "observedGeneration": 1,
                "lastTransitionTime": "2024-05-01T09:00:00Z",
            },
        ],
        "invokeUrl": "https://abc123.execute-api.ap-northeast-1.amazonaws.com/prod",
        "vpcLinkVersion": "V2",
        "frontDoorUrl": "https://orders-backend.example.com",
        "backendHealth": {"healthy": 1, "total": 1},
        "certificate": {"arn": ARN, "notAfter": "2025-05-01T00:00:00Z"},
        "clientCertificateId": "ndiqef",
        "resources": {
            "certificateArn": ARN,
            "albArn": "arn:aws:elasticloadbalancing:ap-northeast-1:111122223333:loadbalancer/app/x/1",
            "vpcLinkId": "abc123",
            "restApiId": "abc123",
            "stageName": "prod",
            "validationRecordName": "_0a1b2c3d.orders-backend.example.com.",
        },
        "drift": {
            "lastCheckTime": "2024-05-01T09:01:00.123456+00:00",
            "lastCorrectionTime": "2024-05-01T09:01:00Z",
            "corrections": 1,
            "lastCorrected": ["alb-listener: sslPolicy", "stage: methodSettings"],
        },
    },
    "MtlsDomain": {
        "observedGeneration": 1,
        "conditions": [{"type": "Ready", "status": "False", "reason": "TruststoreInvalid", "message": "fix it"}],
        "regionalDomainName": "d-abc123.execute-api.ap-northeast-1.amazonaws.com",
        "regionalHostedZoneId": "Z1YSHQZHG15GKL",
        "certificate": {"arn": ARN, "notAfter": "2025-05-01T00:00:00Z"},
        "ownershipVerificationCertificateArn": ARN,
        "truststore": {
            "uri": "s3://team-a-truststores/api.example.com/truststore.pem",
            "version": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
            "sha256": "0" * 64,
            "certificates": [
                {
                    "subject": "CN=Partner A Client CA",
                    "issuer": "CN=Partner A Client CA",
                    "notAfter": "2034-12-30T00:00:00Z",
                    "source": "Secret/partner-a-ca/ca.crt",
                }
            ],
            "warnings": [],
        },
        "drift": {"lastCheckTime": "2024-05-01T09:01:00Z", "corrections": 0, "lastCorrected": []},
    },
    "ClientCertRotation": {
        "observedGeneration": 1,
        "conditions": [{"type": "Rotating", "status": "True", "reason": "PublishingTrust", "message": ""}],
        "phase": "PublishingTrust",
        "current": {
            "clientCertificateId": "abc123",
            "createdDate": "2024-05-01T09:00:00Z",
            "expirationDate": "2025-05-01T09:00:00Z",
            "pemSha256": "1" * 64,
        },
        "previous": {},
        "pending": {"clientCertificateId": "def456", "createdDate": "2025-04-01T09:00:00Z"},
        "trustBundleSha256": "2" * 64,
        "nextRotationTime": "2025-04-01T09:00:00Z",
        "lastRotationTime": "2024-05-01T09:10:00Z",
        "lastHandledRotateRequest": "",
        "history": [
            {
                "from": "xyz789",
                "to": "abc123",
                "startedTime": "2024-05-01T09:00:00Z",
                "completedTime": "2024-05-01T09:10:00Z",
            }
        ],
    },
}


@pytest.mark.parametrize("kind", sorted(BASES))
def test_status_subresource_keeps_a_realistic_status(cluster: Any, namespace: str, kind: str) -> None:
    base = BASES[kind]
    name = base["metadata"]["name"]
    _apply(cluster, namespace, base, check=True)
    patch = json.dumps({"status": REALISTIC_STATUS[kind]})
    cluster.kubectl("patch", "-n", namespace, kind.lower(), name, "--subresource=status", "--type=merge", "-p", patch)
    stored = json.loads(cluster.kubectl("get", "-n", namespace, kind.lower(), name, "-o", "json").stdout)
    assert stored["status"] == REALISTIC_STATUS[kind]
    # The main resource ignores status; the status subresource ignores spec.
    assert stored["metadata"]["generation"] == 1


def test_status_subresource_rejects_a_bad_status(cluster: Any, namespace: str) -> None:
    base = BASES["ClientCertRotation"]
    _apply(cluster, namespace, base, check=True)
    patch = json.dumps({"status": {"phase": "Exploding"}})
    result = cluster.kubectl(
        "patch",
        "-n",
        namespace,
        "clientcertrotation",
        base["metadata"]["name"],
        "--subresource=status",
        "--type=merge",
        "-p",
        patch,
        check=False,
    )
    assert result.returncode != 0
    assert 'status.phase: Unsupported value: "Exploding"' in result.stderr


def test_printer_columns_short_names_and_category(cluster: Any, namespace: str) -> None:
    for kind in sorted(BASES):
        _apply(cluster, namespace, BASES[kind], check=True)
    patch = json.dumps({"status": REALISTIC_STATUS["HybridApi"]})
    cluster.kubectl("patch", "-n", namespace, "hapi", "orders", "--subresource=status", "--type=merge", "-p", patch)

    table = cluster.kubectl("get", "-n", namespace, "hapi").stdout
    header, row = table.splitlines()[:2]
    assert header.split() == ["NAME", "READY", "REASON", "INVOKE", "URL", "LINK", "AGE"]
    assert row.split()[:5] == [
        "orders",
        "True",
        "Converged",
        "https://abc123.execute-api.ap-northeast-1.amazonaws.com/prod",
        "V2",
    ]
    assert "REGIONAL DOMAIN" in cluster.kubectl("get", "-n", namespace, "mtlsd").stdout
    ccr = cluster.kubectl("get", "-n", namespace, "ccr").stdout.splitlines()[0]
    for column in ("READY", "REASON", "PHASE", "CERTIFICATE", "EXPIRES", "AGE"):
        assert column in ccr

    everything = cluster.kubectl("get", "-n", namespace, "hybridgateway", "-o", "name").stdout.split()
    assert sorted(everything) == [
        "clientcertrotation.hybridgateway.io/orders-backend-cert",
        "hybridapi.hybridgateway.io/orders",
        "mtlsdomain.hybridgateway.io/partner-api",
    ]


def test_tenancy_policy_printer_columns(cluster: Any) -> None:
    """kubectl get shows what a policy allows; a cluster-scoped kind (no namespace, no Ready column). The
    object is deleted at once: a stored policy applies to every namespace of the session's cluster."""
    base = CLUSTER_BASES["TenancyPolicy"]
    cluster.kubectl("apply", "-f", "-", input=to_yaml(mutate(base, [("metadata.name", "columns-only")])))
    try:
        table = cluster.kubectl("get", "tp", "columns-only").stdout
        wide = cluster.kubectl("get", "tenancypolicies", "columns-only", "-o", "wide").stdout
    finally:
        cluster.kubectl("delete", "tenancypolicy", "columns-only", "--wait=true")
    header, row = table.splitlines()[:2]
    assert header.split() == ["NAME", "NAMESPACES", "VPCS", "SUFFIXES", "AGE"]
    assert row.split()[:4] == ["columns-only", '["team-a"]', '["vpc-0123456789abcdef0"]', '["team-a.example.com"]']
    assert "TARGET CIDRS" in wide.splitlines()[0] and "192.168.10.0/24" in wide
    scope = cluster.kubectl("api-resources", "--api-group=hybridgateway.io", "--namespaced=false", "-o", "name")
    assert scope.stdout.split() == ["tenancypolicies.hybridgateway.io"]
