"""The API Gateway regional custom domain name with mutual TLS (seed 001).

CreateDomainName with a regional certificate, ``endpointConfiguration: REGIONAL``, the ``TLS_1_2``
security policy (the only legacy policy mutual TLS accepts), ``mutualTlsAuthentication`` pointing at
the truststore object *and its version*, and — for an imported or private-CA certificate — the
public ACM certificate that proves ownership of the name. Everything but the endpoint type is
changed in place with UpdateDomainName patch operations, so the domain's regional target (what the
alias record points at) never changes.

A domain name is unique per account and Region, so the name is the id (`find` looks up the name the
desired state gives); the owner tags decide whether an existing name is ours (adopt it) or someone
else's (`owned` False: refused with Stalled `DomainNameInUse`, never changed nor deleted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from hybrid_gateway.errors import RetryLater, Stalled
from hybrid_gateway.parts._apigateway import delete_ignoring_not_found, get_or_none, owned, owner_tags, patch_op
from hybrid_gateway.parts.base import Observed, Ownership, Part, PartContext, Replacement, differing
from hybrid_gateway.parts.base_path_mapping import forget_mappings
from hybrid_gateway.parts.certificate import RequestedCertificate

if TYPE_CHECKING:
    from hybrid_gateway.parts._apigateway import PatchOperation

AVAILABLE = "AVAILABLE"
UPDATING = "UPDATING"
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


@dataclass(frozen=True)
class DomainNameState:
    domain_name: str
    regional_domain_name: str  # what the alias record points at
    regional_hosted_zone_id: str
    regional_certificate_arn: str
    ownership_verification_certificate_arn: str | None
    security_policy: str
    endpoint_types: tuple[str, ...]
    truststore_uri: str
    truststore_version: str
    truststore_warnings: tuple[str, ...]
    status: str
    status_message: str


def observe(domain: Mapping[str, Any], owner_matches: bool) -> Observed[DomainNameState]:
    mtls = domain.get("mutualTlsAuthentication") or {}
    status = str(domain.get("domainNameStatus") or AVAILABLE)
    name = str(domain["domainName"])
    state = DomainNameState(
        domain_name=name,
        regional_domain_name=str(domain.get("regionalDomainName") or ""),
        regional_hosted_zone_id=str(domain.get("regionalHostedZoneId") or ""),
        regional_certificate_arn=str(domain.get("regionalCertificateArn") or ""),
        ownership_verification_certificate_arn=domain.get("ownershipVerificationCertificateArn") or None,
        security_policy=str(domain.get("securityPolicy") or ""),
        endpoint_types=tuple((domain.get("endpointConfiguration") or {}).get("types") or ()),
        truststore_uri=str(mtls.get("truststoreUri") or ""),
        truststore_version=str(mtls.get("truststoreVersion") or ""),
        truststore_warnings=tuple(mtls.get("truststoreWarnings") or ()),
        status=status,
        status_message=str(domain.get("domainNameStatusMessage") or ""),
    )
    if status == AVAILABLE:
        return Observed(id=name, state=state, owned=owner_matches)
    waiting = f"domain name {name} is {status}"
    if state.status_message:
        waiting += f" ({state.status_message})"
    return Observed(id=name, state=state, ready=False, waiting_for=waiting, owned=owner_matches)


def diff(desired: DomainNameDesired, state: DomainNameState) -> list[str]:
    """Pure comparison; names are what Events and the drift record show."""
    return differing(
        ("endpointType", tuple(state.endpoint_types), ("REGIONAL",)),
        ("securityPolicy", state.security_policy, desired.security_policy),
        ("regionalCertificateArn", state.regional_certificate_arn, desired.regional_certificate_arn),
        ("ownershipVerificationCertificateArn", state.ownership_verification_certificate_arn or None,
         desired.ownership_verification_certificate_arn),
        ("truststoreUri", state.truststore_uri, desired.truststore_uri),
        ("truststoreVersion", state.truststore_version, desired.truststore_version),
    )


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


class DomainNamePart(Part[DomainNameDesired, DomainNameState]):
    """One regional custom domain name (id: the name)."""

    name = "domain-name"
    ownership: ClassVar[Ownership] = Ownership.OWNED
    # A new endpoint type needs a new domain; nothing can map to the old one meanwhile.
    replace_on: ClassVar[frozenset[str]] = frozenset({"endpointType"})
    replacement: ClassVar[Replacement] = Replacement.DELETE_FIRST

    def find(
        self, ctx: PartContext, desired: DomainNameDesired | None, known_id: str | None
    ) -> Observed[DomainNameState] | None:
        """The domain of the desired name (else `known_id`); `owned` says whether our tags are on it."""
        name = desired.domain_name if desired is not None else known_id
        if not name:
            return None
        domain = get_or_none(ctx.client("apigateway").get_domain_name, domainName=name)
        if domain is None:
            return None
        return observe(domain, owned(ctx.owner, domain.get("tags"), self.name))

    def refuse(
        self,
        ctx: PartContext,
        desired: DomainNameDesired,
        observed: Observed[DomainNameState] | None,
        changes: list[str],
    ) -> Stalled | None:
        """Someone else's domain of the same name: never adopted, changed nor deleted."""
        if observed is not None and not observed.owned:
            return Stalled(
                "DomainNameInUse",
                f"API Gateway domain name {observed.id} already exists in {ctx.region} and is not "
                "owned by this MtlsDomain: delete it or choose another spec.domainName",
            )
        return None

    def create(self, ctx: PartContext, desired: DomainNameDesired) -> Observed[DomainNameState]:
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
        forget_mappings(ctx, desired.domain_name)
        domain = ctx.client("apigateway").create_domain_name(**params)
        return observe(domain, True)

    def diff(self, desired: DomainNameDesired, observed: Observed[DomainNameState]) -> list[str]:
        return diff(desired, observed.state)

    def update(
        self,
        ctx: PartContext,
        desired: DomainNameDesired,
        observed: Observed[DomainNameState],
        changes: list[str],
    ) -> Observed[DomainNameState]:
        ops = domain_patch(desired, changes)
        if not ops:
            return observed
        if observed.state.status == UPDATING:
            # AWS refuses another update while one is in progress (ConflictException, "There is already an
            # update in progress"; docs/aws-behaviour.md): wait for it instead of asking.
            raise RetryLater("DomainNameUpdating", f"domain name {observed.id} is UPDATING: the change waits for it")
        domain = ctx.client("apigateway").update_domain_name(domainName=observed.id, patchOperations=ops)
        return observe(domain, True)

    def delete(self, ctx: PartContext, observed: Observed[DomainNameState]) -> None:
        forget_mappings(ctx, observed.id)
        delete_ignoring_not_found(
            ctx.client("apigateway").delete_domain_name, self.name, observed.id, domainName=observed.id
        )


class OwnershipCertificate(RequestedCertificate):
    """The public ACM certificate that proves ownership of a domain name whose regional certificate is
    imported or from a private CA (API Gateway requires one for mutual TLS). It is the requested
    certificate part under another part tag, so it is never mistaken for a requested regional
    certificate of the same name (a spec that switches certificate sources may briefly have both)."""

    name = "ownership-certificate"


__all__ = [
    "DomainNameDesired",
    "DomainNamePart",
    "DomainNameState",
    "OwnershipCertificate",
    "diff",
    "domain_patch",
    "observe",
]
