"""The API Gateway regional custom domain name with mutual TLS (seed 001).

CreateDomainName with a regional certificate, ``endpointConfiguration: REGIONAL``, the ``TLS_1_2``
security policy (the only legacy policy mutual TLS accepts), ``mutualTlsAuthentication`` pointing at
the truststore object *and its version*, and — for an imported or private-CA certificate — the
public ACM certificate that proves ownership of the name. Everything but the endpoint type is
changed in place with UpdateDomainName patch operations, so the domain's regional target (what the
alias record points at) never changes.

A domain name is unique per account and Region, so the name is the id; the owner tags decide
whether an existing name is ours (adopt it) or someone else's (an input error: never touched).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from hybrid_gateway.parts._apigateway import (
    PatchOperation,
    delete_ignoring_not_found,
    get_or_none,
    owned,
    owner_tags,
    patch_op,
)
from hybrid_gateway.parts._elbv2 import InputError
from hybrid_gateway.parts.base import Observed, Outcome, Part, PartContext
from hybrid_gateway.parts.certificate import RequestedCertificate

AVAILABLE = "AVAILABLE"
TRUSTSTORE_URI = ("mutualTlsAuthentication", "truststoreUri")
TRUSTSTORE_VERSION = ("mutualTlsAuthentication", "truststoreVersion")


@dataclass(frozen=True)
class DomainNameDesired:
    domain_name: str
    regional_certificate_arn: str
    truststore_uri: str
    truststore_version: str
    ownership_verification_certificate_arn: str | None = None
    security_policy: str = "TLS_1_2"


def observe(domain: dict[str, Any], owner_matches: bool) -> Observed:
    mtls = domain.get("mutualTlsAuthentication") or {}
    status = str(domain.get("domainNameStatus") or AVAILABLE)
    state = {
        "domainName": domain["domainName"],
        "regionalDomainName": domain.get("regionalDomainName") or "",
        "regionalHostedZoneId": domain.get("regionalHostedZoneId") or "",
        "regionalCertificateArn": domain.get("regionalCertificateArn") or "",
        "ownershipVerificationCertificateArn": domain.get("ownershipVerificationCertificateArn") or None,
        "securityPolicy": domain.get("securityPolicy") or "",
        "endpointTypes": list((domain.get("endpointConfiguration") or {}).get("types") or []),
        "truststoreUri": mtls.get("truststoreUri") or "",
        "truststoreVersion": mtls.get("truststoreVersion") or "",
        "truststoreWarnings": list(mtls.get("truststoreWarnings") or []),
        "status": status,
        "statusMessage": domain.get("domainNameStatusMessage") or "",
        "owned": owner_matches,
    }
    name = str(domain["domainName"])
    if status == AVAILABLE:
        return Observed(id=name, state=state)
    waiting = f"domain name {name} is {status}"
    if state["statusMessage"]:
        waiting += f" ({state['statusMessage']})"
    return Observed(id=name, state=state, ready=False, waiting_for=waiting)


def diff(desired: DomainNameDesired, state: dict[str, Any]) -> list[str]:
    """Pure comparison; names are what Events and the drift record show."""
    changes = []
    if state.get("endpointTypes") != ["REGIONAL"]:
        changes.append("endpointType")
    if state.get("securityPolicy") != desired.security_policy:
        changes.append("securityPolicy")
    if state.get("regionalCertificateArn") != desired.regional_certificate_arn:
        changes.append("regionalCertificateArn")
    if (state.get("ownershipVerificationCertificateArn") or None) != desired.ownership_verification_certificate_arn:
        changes.append("ownershipVerificationCertificateArn")
    if state.get("truststoreUri") != desired.truststore_uri:
        changes.append("truststoreUri")
    if state.get("truststoreVersion") != desired.truststore_version:
        changes.append("truststoreVersion")
    return changes


def domain_patch(desired: DomainNameDesired, changes: list[str]) -> list[PatchOperation]:
    """UpdateDomainName operations for `changes` (pure). The truststore URI and version always go
    together: replacing the URI alone makes API Gateway drop the pinned version."""
    ops: list[PatchOperation] = []
    if "securityPolicy" in changes:
        ops.append(patch_op("replace", "securityPolicy", value=desired.security_policy))
    if "regionalCertificateArn" in changes:
        ops.append(patch_op("replace", "regionalCertificateArn", value=desired.regional_certificate_arn))
    if "ownershipVerificationCertificateArn" in changes:
        if desired.ownership_verification_certificate_arn:
            ops.append(patch_op("replace", "ownershipVerificationCertificateArn",
                                value=desired.ownership_verification_certificate_arn))
        else:
            ops.append(patch_op("remove", "ownershipVerificationCertificateArn"))
    if "truststoreUri" in changes or "truststoreVersion" in changes:
        ops.append(patch_op("replace", *TRUSTSTORE_URI, value=desired.truststore_uri))
        ops.append(patch_op("replace", *TRUSTSTORE_VERSION, value=desired.truststore_version))
    return ops


class DomainNamePart(Part[DomainNameDesired]):
    """One regional custom domain name (id: the name)."""

    name = "domain-name"
    replace_on: ClassVar[frozenset[str]] = frozenset({"endpointType"})

    def find(self, ctx: PartContext, known_id: str | None) -> Observed | None:
        if not known_id:
            return None
        domain = get_or_none(ctx.client("apigateway").get_domain_name, domainName=known_id)
        if domain is None:
            return None
        return observe(domain, owned(ctx.owner, domain.get("tags"), self.name))

    def check(self, ctx: PartContext, domain_name: str) -> Observed | None:
        """Read only: the domain name if it exists, `InputError` when it exists and is not ours."""
        observed = self.find(ctx, domain_name)
        if observed is not None and not observed.state["owned"]:
            raise InputError(
                "DomainNameInUse",
                f"API Gateway domain name {domain_name} already exists in {ctx.region} and is not "
                "owned by this MtlsDomain: delete it or choose another spec.domainName",
            )
        return observed

    def ensure(self, ctx: PartContext, desired: DomainNameDesired, known_id: str | None) -> Outcome:
        return self.converge(ctx, desired, self.check(ctx, desired.domain_name))

    def create(self, ctx: PartContext, desired: DomainNameDesired) -> Observed:
        params: dict[str, Any] = {
            "domainName": desired.domain_name,
            "regionalCertificateArn": desired.regional_certificate_arn,
            "endpointConfiguration": {"types": ["REGIONAL"]},
            "securityPolicy": desired.security_policy,
            "mutualTlsAuthentication": {
                "truststoreUri": desired.truststore_uri,
                "truststoreVersion": desired.truststore_version,
            },
            "tags": owner_tags(ctx.owner, self.name),
        }
        if desired.ownership_verification_certificate_arn:
            params["ownershipVerificationCertificateArn"] = desired.ownership_verification_certificate_arn
        domain = ctx.client("apigateway").create_domain_name(**params)
        return observe(domain, True)

    def diff(self, desired: DomainNameDesired, observed: Observed) -> list[str]:
        return diff(desired, observed.state)

    def update(
        self, ctx: PartContext, desired: DomainNameDesired, observed: Observed, changes: list[str]
    ) -> Observed:
        ops = domain_patch(desired, changes)
        if not ops:
            return observed
        domain = ctx.client("apigateway").update_domain_name(domainName=observed.id, patchOperations=ops)
        return observe(domain, True)

    def delete(self, ctx: PartContext, observed: Observed) -> None:
        delete_ignoring_not_found(
            ctx.client("apigateway").delete_domain_name, self.name, observed.id, domainName=observed.id
        )

    def remove(self, ctx: PartContext, known_id: str | None) -> str | None:
        observed = self.find(ctx, known_id)
        if observed is None or not observed.state["owned"]:
            return None  # someone else's domain of the same name: never ours to delete
        self.delete(ctx, observed)
        return observed.id


class OwnershipCertificate(RequestedCertificate):
    """The public ACM certificate that proves ownership of a domain name whose regional certificate is
    imported or from a private CA (API Gateway requires one for mutual TLS). It is the requested
    certificate part under another part tag, so it is never mistaken for a requested regional
    certificate of the same name (a spec that switches certificate sources may briefly have both)."""

    name = "ownership-certificate"


__all__ = ["DomainNameDesired", "DomainNamePart", "OwnershipCertificate", "diff", "domain_patch", "observe"]
