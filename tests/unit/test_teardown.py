"""Issue 11, item 5: deletion is never blocked by a spec that no longer parses.

A stored object may hold a spec that the current model refuses (written before a model or schema
tightening, or a value only the model checks): finalize still finds and removes what the object made,
from the fields that locate the AWS resources and the ids in status.resources.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.fakes import DataObject, FakeKube
from tests.unit.test_bad_inputs import hybridapi_body

from hybrid_gateway.api.v1alpha1 import ClientCertRotationSpec, HybridApiSpec, MtlsDomainSpec
from hybrid_gateway.errors import Stalled
from hybrid_gateway.reconcilers import clientcertrotation, hybridapi, mtlsdomain
from hybrid_gateway.reconcilers.base import KubeObject, Runtime, parse_spec, teardown_spec
from hybrid_gateway.reconcilers.clientcertrotation import ClientCertRotationReconciler
from hybrid_gateway.reconcilers.mtlsdomain import MtlsDomainReconciler


def body(kind: str, spec: dict[str, Any], name: str = "partner-api") -> dict[str, Any]:
    return {"apiVersion": "hybridgateway.io/v1alpha1", "kind": kind,
            "metadata": {"name": name, "namespace": "team-a", "uid": "u-1", "generation": 2,
                         "deletionTimestamp": "2026-01-01T00:00:00Z"},
            "spec": spec}


def domain_spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "region": "ap-northeast-1", "domainName": "api.example.com", "hostedZoneId": "Z0123456789",
        "certificate": {"request": {}},
        "truststore": {"sources": [{"secretRef": {"name": "partner-ca", "key": "ca.crt"}}],
                       "bucket": "team-a-truststores"},
        # The schema's list-map keys "orders" and "/orders" differ; the model normalises both to "orders".
        "mappings": [{"hybridApiRef": {"name": "orders"}, "stage": "prod", "basePath": "orders"},
                     {"hybridApiRef": {"name": "billing"}, "stage": "prod", "basePath": "/orders"}],
    }
    spec.update(changes)
    return spec


@pytest.mark.parametrize(
    ("reason", "model", "obj", "fields"),
    [
        ("a base path only the model sees twice", MtlsDomainSpec, body("MtlsDomain", domain_spec()),
         mtlsdomain.TEARDOWN_FIELDS),
        ("an interval stored before the schema refused it, and a truststore source the model refuses",
         MtlsDomainSpec, body("MtlsDomain", domain_spec(driftCheckInterval="1 minute", truststore={
             "sources": [{"secretRef": {"name": "a", "key": "ca.crt"}, "configMapRef": {"name": "b", "key": "c"}}],
             "bucket": "team-a-truststores", "key": "custom/truststore.pem"})), mtlsdomain.TEARDOWN_FIELDS),
        ("routes the model refuses", HybridApiSpec, hybridapi_body(api={"routes": "everything"}),
         hybridapi.TEARDOWN_FIELDS),
        ("a stage named twice", ClientCertRotationSpec, body("ClientCertRotation", {
            "region": "ap-northeast-1", "deletionPolicy": "Retain",
            "stages": [{"hybridApiRef": {"name": "orders"}, "stage": "prod"}] * 2,
            "backendTrust": {"secretRef": {"name": "orders-backend-trust", "key": "ca.pem"}}}),
         clientcertrotation.TEARDOWN_FIELDS),
    ],
)
def test_a_spec_that_no_longer_parses_still_gives_what_finalize_reads(
        reason: str, model: Any, obj: dict[str, Any], fields: tuple[str, ...]) -> None:
    with pytest.raises(Stalled):
        parse_spec(model, KubeObject(obj))
    spec = teardown_spec(model, KubeObject(obj), fields)
    assert spec.region == "ap-northeast-1", reason
    for path in fields:
        value: Any = spec
        for name in path.split("."):
            value = getattr(value, name)  # every field finalize reads is there (absent ones: the default)


def test_the_partial_spec_keeps_defaults_and_normalisation() -> None:
    spec = teardown_spec(MtlsDomainSpec, KubeObject(body("MtlsDomain", domain_spec(domainName="API.example.com."))),
                         mtlsdomain.TEARDOWN_FIELDS)
    assert spec.domain_name == "api.example.com" and not spec.retain and spec.certificate.requested
    assert spec.truststore_uri == "s3://team-a-truststores/api.example.com/truststore.pem"
    assert spec.ownership_arn is None


def test_when_the_fields_that_locate_the_resources_do_not_parse_the_message_names_them() -> None:
    obj = KubeObject(body("MtlsDomain", domain_spec(hostedZoneId=None, certificate={})))
    with pytest.raises(Stalled) as caught:
        teardown_spec(MtlsDomainSpec, obj, mtlsdomain.TEARDOWN_FIELDS)
    assert "spec.hostedZoneId" in caught.value.message


def test_such_a_deletion_is_reported_not_raised() -> None:
    kube = FakeKube()
    obj = body("MtlsDomain", domain_spec(region=None))
    kube.add_object("mtlsdomains", obj)
    result = MtlsDomainReconciler(Runtime(aws=None, kube=kube)).run_finalize(obj)  # type: ignore[arg-type]
    assert not result.done
    ready = next(c for c in kube.status("mtlsdomains", "team-a", "partner-api")["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "Deleting" and "spec.region" in ready["message"]
    assert "fix it so that deletion can find the AWS resources" in ready["message"]


def test_an_unparsable_retained_domain_is_deleted_and_its_hybridapis_are_asked_to_reconcile() -> None:
    kube = FakeKube()
    for name in ("orders", "billing"):
        kube.add_object("hybridapis", hybridapi_body() | {"metadata": {"name": name, "namespace": "team-a"}})
    obj = body("MtlsDomain", domain_spec(deletionPolicy="Retain"))
    result = MtlsDomainReconciler(Runtime(aws=None, kube=kube)).finalize(KubeObject(obj))  # type: ignore[arg-type]
    assert result.done
    assert sorted(kube.writes) == ["annotate hybridapis/billing", "annotate hybridapis/orders"]


def test_an_unparsable_retained_rotation_releases_its_trust_bundle() -> None:
    """Today: "invalid spec: nothing was created to delete", although the spec was valid when the trust
    bundle Secret got its owner reference (garbage collection would then delete a bundle that is kept)."""
    kube = FakeKube()
    kube.data[("Secret", "team-a", "orders-backend-trust")] = DataObject({"ca.pem": "PEM"}, [{"uid": "u-1"}])
    obj = body("ClientCertRotation", {
        "region": "ap-northeast-1", "deletionPolicy": "Retain",
        "stages": [{"hybridApiRef": {"name": "orders"}, "stage": "prod"}] * 2,
        "backendTrust": {"secretRef": {"name": "orders-backend-trust", "key": "ca.pem"}}})
    result = ClientCertRotationReconciler(Runtime(aws=None, kube=kube)).finalize(  # type: ignore[arg-type]
        KubeObject(obj))
    assert result.done
    assert kube.data[("Secret", "team-a", "orders-backend-trust")].owners == []
    assert "kept" in result.events[0].message
