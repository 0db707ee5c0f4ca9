"""frontDoor.mutualTls in the HybridApi chain (reconcilers/hybridapi.py), pure: which mode the ALB listener
gets, and what verify waits for. The listener verifies only once the trust store holds the bundle the
ClientCertRotation published and the stage presents a certificate: before that, verify would refuse every
call API Gateway makes (docs/mutual-tls.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from tests.unit.test_api_defaults import MINIMAL

from hybrid_gateway.api.v1alpha1.hybridapi import HybridApiSpec, Resource
from hybrid_gateway.parts.base import Observed
from hybrid_gateway.parts.trust_store import TrustStoreState
from hybrid_gateway.reconcilers.chain import Found
from hybrid_gateway.reconcilers.hybridapi import Inputs, TrustBundleSource, _alb_listener_desired, verify_waits_for

SOURCE = TrustBundleSource("cert", "team-a-trust", "orders/trust.pem", "sha-new")
STORE_ARN = "arn:aws:elasticloadbalancing:ap-northeast-1:111122223333:truststore/hg-ts/0123"


def _inputs(mode: str, **fields: Any) -> Inputs:
    body = {**MINIMAL["HybridApi"], "frontDoor": {**MINIMAL["HybridApi"]["frontDoor"], "mutualTls": {"mode": mode}}}
    return replace(Inputs(HybridApiSpec.model_validate(body), api_name="team-a-orders"), **fields)


def _found(store_sha: str | None, ready: bool = True) -> Found:
    found = Found({Resource.BACKEND_TARGET_GROUP_ARN: "tg", Resource.CERTIFICATE_ARN: "cert"})
    if store_sha is not None:
        found.observed[Resource.TRUST_STORE_ARN] = Observed(
            STORE_ARN, TrustStoreState("hg-ts", "ACTIVE" if ready else "CREATING", 1, store_sha, 1), ready=ready)
    return found


@pytest.mark.parametrize(
    ("reason", "inputs", "found", "mode", "store", "waits"),
    [
        ("off", _inputs("off"), _found(None), "off", None, ""),
        ("passthrough", _inputs("passthrough"), _found(None), "passthrough", None, ""),
        ("verify, every condition met", _inputs("verify", trust_bundle=SOURCE, stage_certificate="c1"),
         _found("sha-new"), "verify", STORE_ARN, ""),
        ("verify without a ClientCertRotation: off, and says so",
         _inputs("verify", trust_bundle_waits="no ClientCertRotation names stage prod"), _found(None), "off", None,
         "no ClientCertRotation"),
        ("verify, the trust store holds an older bundle",
         _inputs("verify", trust_bundle=SOURCE, stage_certificate="c1"),
         _found("sha-old"), "off", None, "does not hold ClientCertRotation cert's bundle"),
        ("verify, the trust store still creating", _inputs("verify", trust_bundle=SOURCE, stage_certificate="c1"),
         _found("sha-new", ready=False), "off", None, "does not hold"),
        ("verify, the stage presents no certificate yet", _inputs("verify", trust_bundle=SOURCE),
         _found("sha-new"), "off", None, "presents no client certificate"),
    ],
)
def test_the_listener_verifies_only_when_the_stage_is_accepted(
    reason: str, inputs: Inputs, found: Found, mode: str, store: str | None, waits: str
) -> None:
    desired = _alb_listener_desired(inputs, found)
    assert (desired.mutual_tls_mode, desired.trust_store_arn) == (mode, store), reason
    got = verify_waits_for(inputs, found)
    assert (waits in got) if waits else got == "", (reason, got)
