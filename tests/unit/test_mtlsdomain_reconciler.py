"""MtlsDomain reconciler pieces that need no AWS: spec parsing, expiry gauges, and the HybridApi side of
"Who writes what" (the effective disableExecuteApiEndpoint)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from tests.fakes import FakeKube
from tests.mtls_certs import make_ca

from hybrid_gateway.api.v1alpha1 import HybridApiSpec, MtlsDomainSpec
from hybrid_gateway.errors import Stalled
from hybrid_gateway.parts.base import Observed
from hybrid_gateway.parts.certificate import CertificateState
from hybrid_gateway.reconcilers.base import KubeObject, Runtime, parse_spec
from hybrid_gateway.reconcilers.hybridapi import HybridApiReconciler
from hybrid_gateway.reconcilers.mtlsdomain import MtlsDomainReconciler
from hybrid_gateway.truststore import Source, assemble


def runtime(kube: Any = None) -> Runtime:
    return Runtime(aws=None, kube=kube or FakeKube())  # type: ignore[arg-type]


def domain_body(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "region": "ap-northeast-1",
        "domainName": "API.example.com.",
        "hostedZoneId": "/hostedzone/Z0123456789ABCDEFGHIJ",
        "certificate": {"secretRef": {"name": "api-tls"}},
        "truststore": {
            "sources": [
                {"secretRef": {"name": "a", "key": "ca.crt"}},
                {"configMapRef": {"name": "b", "key": "ca.pem"}},
            ],
            "bucket": "team-a-truststores",
        },
        "mappings": [{"hybridApiRef": {"name": "orders"}, "stage": "prod", "basePath": "orders"}],
    }
    base.update(spec)
    return {"apiVersion": "hybridgateway.io/v1alpha1", "kind": "MtlsDomain",
            "metadata": {"name": "partner-api", "namespace": "team-a", "uid": "u-1", "generation": 1}, "spec": base}


def test_spec_defaults_and_normalisation() -> None:
    spec = parse_spec(MtlsDomainSpec, KubeObject(domain_body()))
    assert spec.domain_name == "api.example.com" and spec.hosted_zone_id == "Z0123456789ABCDEFGHIJ"
    assert spec.truststore_key == "api.example.com/truststore.pem"
    assert spec.truststore_uri.startswith("s3://team-a-truststores/")
    assert [s.label for s in spec.truststore.sources] == ["Secret/a/ca.crt", "ConfigMap/b/ca.pem"]
    truststore = spec.truststore
    assert spec.security_policy == "TLS_1_2" and truststore.expiry_warning_days == 30 and not truststore.create_bucket
    assert spec.disable_default_endpoints and spec.ownership_arn is None and not spec.retain
    assert spec.certificate.secret_name == "api-tls"


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"certificate": {}}, "InvalidCertificateSource"),
        ({"certificate": {"request": {}, "acmCertificateArn": "arn:x"}}, "InvalidCertificateSource"),
        ({"mappings": [{"hybridApiRef": {"name": "a"}, "stage": "prod", "basePath": "x"},
                       {"hybridApiRef": {"name": "b"}, "stage": "prod", "basePath": "/x/"}]}, "DuplicateBasePath"),
    ],
)
def test_spec_problems_a_schema_cannot_catch(override: dict[str, Any], reason: str) -> None:
    with pytest.raises(Stalled) as caught:
        parse_spec(MtlsDomainSpec, KubeObject(domain_body(**override)))
    assert caught.value.reason == reason


def test_maps_honours_disable_default_endpoints() -> None:
    spec = domain_body()["spec"]

    def maps(raw: dict[str, Any], hybrid_api: str) -> bool:
        return MtlsDomainSpec.model_validate(raw).disables_default_endpoint_of(hybrid_api)

    assert maps(spec, "orders") and not maps(spec, "other")
    assert maps({**spec, "disableDefaultEndpoints": True}, "orders")
    assert not maps({**spec, "disableDefaultEndpoints": False}, "orders")


def with_metadata(**metadata: Any) -> dict[str, Any]:
    body = domain_body()
    body["metadata"].update(metadata)
    return body


def hybrid_api(disable: bool) -> KubeObject:
    return KubeObject({
        "kind": "HybridApi",
        "metadata": {"name": "orders", "namespace": "team-a", "uid": "h-1", "generation": 1},
        "spec": {
            "region": "ap-northeast-1",
            "network": {"vpcId": "vpc-1", "subnetIds": ["s-a", "s-c"]},
            "backend": {"targets": [{"ip": "192.168.10.5", "port": 443}]},
            "frontDoor": {
                "hostname": "orders-backend.example.com", "hostedZoneId": "Z1", "certificate": {"request": {}},
            },
            "api": {"routes": [{"path": "/{proxy+}", "methods": ["ANY"]}], "disableExecuteApiEndpoint": disable},
        },
    })


@pytest.mark.parametrize(
    ("own", "domains", "expected"),
    [
        (False, [], False),
        (True, [], True),
        (False, [domain_body()], True),
        (False, [domain_body(disableDefaultEndpoints=False)], False),
        (True, [domain_body(disableDefaultEndpoints=False)], True),
        (False, [with_metadata(deletionTimestamp="2026-01-01T00:00:00Z")], False),
        (False, [with_metadata(namespace="team-b")], False),
        (False, [domain_body(mappings=[])], False),
    ],
)
def test_effective_disable_execute_api(own: bool, domains: list[dict[str, Any]], expected: bool) -> None:
    obj = hybrid_api(own)
    kube = FakeKube()
    for domain in domains:
        kube.add_object("mtlsdomains", domain)
    reconciler = HybridApiReconciler(runtime(kube))
    assert reconciler.effective_disable_execute_api(obj, parse_spec(HybridApiSpec, obj)) is expected


def days(labels: dict[str, str]) -> float | None:
    return REGISTRY.get_sample_value("hybrid_gateway_certificate_days_to_expiry", labels)


def test_expiry_gauges_for_the_domain_certificate_and_each_truststore_ca() -> None:
    reconciler = MtlsDomainReconciler(runtime())
    obj = KubeObject(domain_body())
    now = datetime.now(UTC)
    in_ten = make_ca("Soon CA", not_before=now - timedelta(days=355), days=365)
    later = make_ca("Later CA")
    store = assemble([Source("Secret/a/ca.crt", in_ten.pem + later.pem)])
    not_after = (now + timedelta(days=90)).isoformat()
    arn = "arn:aws:acm:ap-northeast-1:1:certificate/x"
    reconciler._domain_expiry_metric(obj, Observed(arn, CertificateState(arn, not_after=not_after)))
    reconciler._truststore_metrics(obj, store)

    base = {"kind": "MtlsDomain", "namespace": "team-a", "name": "partner-api"}
    domain = days({**base, "certificate": arn, "role": "domain"})
    assert domain is not None and 89.9 < domain <= 90
    soon = next(c for c in store.certificates if c.subject == "CN=Soon CA")
    soon_labels = {**base, "certificate": f"CN=Soon CA sha256:{soon.fingerprint[:16]}", "role": "truststore"}
    value = days(soon_labels)
    assert value is not None and 9 < value <= 10
    assert REGISTRY.get_sample_value("hybrid_gateway_certificate_expiry_timestamp_seconds", soon_labels) == (
        soon.not_after.timestamp()
    )

    # A CA taken out of the truststore stops being reported; so does everything once the object is deleted.
    reconciler._truststore_metrics(obj, assemble([Source("Secret/a/ca.crt", later.pem)]))
    assert days(soon_labels) is None
    reconciler._forget_gauges(obj.uid, set())
    assert days({**base, "certificate": arn, "role": "domain"}) is None
