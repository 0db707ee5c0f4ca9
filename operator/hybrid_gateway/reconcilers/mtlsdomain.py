"""MtlsDomain: an API Gateway regional custom domain that only clients of trusted CAs can call (seed 001).

One pass, in dependency order:

1. truststore: read the CA sources, check them like API Gateway does (nothing is written when a
   rule is broken: TruststoreValid=False + Stalled, and the domain keeps its pinned version), make
   sure the versioned bucket exists, upload the bundle only when its sha256 changed;
2. certificates: the regional certificate (an ACM ARN, a TLS Secret imported into ACM, or a
   DNS-validated request) and, when it is imported or private, the public ownership-verification
   certificate API Gateway requires (given, or requested and DNS-validated here);
3. the regional custom domain: TLS_1_2, mutual TLS pinned to the truststore object's version;
4. base path mappings to HybridApi stages (the HybridApi's REST API id comes from its status);
5. the default execute-api endpoints: written only by the HybridApi reconciler (api.md, "Who writes
   what"); this pass reports what AWS shows and asks the HybridApi to reconcile (an annotation) when
   the mapping set changes or an endpoint is still on;
6. the Route 53 alias: domain name -> regional domain name.

Waiting (a certificate being validated, a HybridApi without a REST API yet) is reported as a hop
condition and the pass comes back in a few seconds; nothing here sleeps.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError

from hybrid_gateway import metrics, tenancy
from hybrid_gateway.api.v1alpha1.hybridapi import HYBRID_API, HybridApiSpec
from hybrid_gateway.api.v1alpha1.hybridapi import Resource as HybridApiResource
from hybrid_gateway.api.v1alpha1.mtlsdomain import MTLS_DOMAIN, ConditionType, MtlsDomainSpec, Resource
from hybrid_gateway.errors import Stalled
from hybrid_gateway.kube import InvalidInput, MissingInput
from hybrid_gateway.parts import certificate, dns
from hybrid_gateway.parts._apigateway import get_or_none
from hybrid_gateway.parts.base import Observed, Outcome, Part, PartContext
from hybrid_gateway.parts.base_path_mapping import BasePathMappings, MappingsDesired, MappingTarget, label
from hybrid_gateway.parts.certificate import CertificateState
from hybrid_gateway.parts.domain_name import DomainNameDesired, DomainNamePart, DomainNameState, OwnershipCertificate
from hybrid_gateway.parts.truststore_object import (
    BucketDesired,
    TruststoreBucket,
    TruststoreObject,
    TruststoreObjectDesired,
)
from hybrid_gateway.reconcilers.base import (
    RECONCILE_REQUEST_ANNOTATION,
    Event,
    FinalizeResult,
    KubeObject,
    PassResult,
    Reconciler,
    parse_spec,
    recorded_ids,
    teardown_spec,
)
from hybrid_gateway.reconcilers.chain import Chain, Found, Step
from hybrid_gateway.reconcilers.inputs import (
    ISSUED_BY_ACM,
    certificate_desired,
    certificate_part,
    check_name_in_zone,
    unshared_validation_record,
    validation_record_to_delete,
)
from hybrid_gateway.status.conditions import Condition, summarize
from hybrid_gateway.truststore import Source, Truststore, TruststoreInvalid, assemble

log = logging.getLogger(__name__)


# While a mapped API still has its default endpoint on, ask its HybridApi again at most this often.
NUDGE_REPEAT_SECONDS = 10.0

D = TypeVar("D")


def truststore_stalled(reason: str, message: str) -> Stalled:
    """Stalled with TruststoreValid=False saying the same: nothing is uploaded."""
    return Stalled(reason, message, (Condition(ConditionType.TRUSTSTORE_VALID, False, reason, message),))


def refuse_early(ctx: PartContext, part: Part[D, Any], desired: D) -> None:
    """Raise now the Stalled that `part.ensure(desired)` would raise before its first write (its
    `find` and `refuse`, nothing written): so that a pass that cannot work writes nothing at all."""
    found = part.find(ctx, desired, None)
    refusal = part.refuse(ctx, desired, found, part.diff(desired, found) if found is not None else [])
    if refusal is not None:
        raise refusal


@dataclass
class MappingPlan:
    """The spec's mappings resolved against the HybridApis they name."""

    targets: dict[str, MappingTarget] = field(default_factory=dict)  # base path -> REST API + stage
    waiting: dict[str, str] = field(default_factory=dict)  # base path -> why its target is unknown
    released: dict[str, str] = field(default_factory=dict)  # base path -> why it is removed (HybridApi deleting)
    hybrid_apis: dict[str, str] = field(default_factory=dict)  # REST API id -> HybridApi name


@dataclass(frozen=True)
class Inputs:
    """What the steps read: the spec, plus what this pass read (None in finalize)."""

    spec: MtlsDomainSpec
    store: Truststore | None = None
    certificate_desired: Any = None
    plan: MappingPlan | None = None


def _needs_ownership(f: Found) -> bool:
    """API Gateway needs an ownership-verification certificate beside an imported or private one."""
    return f[Resource.CERTIFICATE_ARN].state.type not in ("", ISSUED_BY_ACM)


def _ownership_part(i: Inputs, f: Found) -> Part[Any, Any]:
    if i.spec.ownership_arn:  # checked in _validate: exists, public, covers the name
        return certificate.ExistingCertificate(i.spec.domain_name)
    return OwnershipCertificate(i.spec.domain_name)


def _ownership_desired(i: Inputs, f: Found) -> Any:
    if not _needs_ownership(f):
        return None
    if i.spec.ownership_arn:
        return certificate.ExistingCertificateDesired(i.spec.ownership_arn)
    return certificate.RequestedCertificateDesired(i.spec.domain_name)


def _ownership_record(i: Inputs, f: Found) -> dns.RecordDesired | None:
    own = f.observed.get(Resource.OWNERSHIP_CERTIFICATE_ARN)
    return dns.validation_record(own.state) if own is not None and not i.spec.ownership_arn else None


def _domain_desired(i: Inputs, f: Found) -> DomainNameDesired:
    own = f.observed.get(Resource.OWNERSHIP_CERTIFICATE_ARN)
    return DomainNameDesired(
        domain_name=i.spec.domain_name,
        regional_certificate_arn=f.id(Resource.CERTIFICATE_ARN),
        truststore_uri=i.spec.truststore_uri,
        truststore_version=f[Resource.TRUSTSTORE_URI].state.version_id,
        ownership_verification_certificate_arn=own.id if own is not None else None,
        security_policy=i.spec.security_policy,
    )


def _mappings_desired(i: Inputs, f: Found) -> MappingsDesired:
    plan = i.plan or MappingPlan()
    return MappingsDesired(i.spec.domain_name, plan.targets, frozenset(plan.waiting))


def _truststore_ok(i: Inputs, f: Found) -> str:
    count = len(i.store.certificates) if i.store is not None else 0
    version = f[Resource.TRUSTSTORE_URI].state.version_id
    return f"{count} CA certificate(s) at {i.spec.truststore_uri} version {version}"


def _domain_ok(i: Inputs, f: Found) -> str:
    return (f"{i.spec.domain_name} -> {f[Resource.DOMAIN_NAME].state.regional_domain_name} "
            f"({i.spec.security_policy}, mutual TLS)")


def _mappings_to_delete(ctx: PartContext, i: Inputs, known: dict[str, Any]) -> str | None:
    """The domain's mappings are ours only while the domain name is."""
    domain = DomainNamePart().find(ctx, None, i.spec.domain_name)
    return i.spec.domain_name if domain is not None and domain.owned else None


def _our_domain(ctx: PartContext, spec: MtlsDomainSpec) -> Callable[[], dns.AliasTarget | None]:
    """Where an older operator pointed our alias: our own domain name's regional name, on demand."""
    def target() -> dns.AliasTarget | None:
        domain = DomainNamePart().find(ctx, None, spec.domain_name)
        if domain is None or not domain.owned:
            return None
        return dns.AliasTarget(domain.state.regional_domain_name, domain.state.regional_hosted_zone_id)
    return target


def _alias_to_delete(ctx: PartContext, i: Inputs, known: dict[str, Any]) -> str | None:
    """The alias, if its ownership record says it is ours (an older operator's alias to our own
    domain, without one, is adopted first: docs/dns-ownership.md)."""
    name = str(known.get(Resource.DNS_RECORD_NAME) or i.spec.domain_name)
    return dns.alias_to_delete(ctx, dns.DnsRecord(i.spec.hosted_zone_id, "A"), name, _our_domain(ctx, i.spec))


def _record_of(cert_key: str, record_key: str, part: Callable[[Inputs], Part[Any, Any]]) -> Callable[
        [PartContext, Inputs, dict[str, Any]], str | None]:
    """finalize_id of the validation record of the certificate at `cert_key` (inputs.validation_record_to_delete)."""
    def record_to_delete(ctx: PartContext, i: Inputs, known: dict[str, Any]) -> str | None:
        return validation_record_to_delete(ctx, part(i), i.spec.domain_name, known.get(record_key),
                                           known.get(cert_key))
    return record_to_delete


# Dependency order (seed 001); finalize walks it backwards.
CHAIN: Chain[Inputs] = Chain(
    [
        Step(Resource.CERTIFICATE_ARN, lambda i, f: certificate_part(i.spec.certificate, i.spec.domain_name),
             lambda i, f: i.certificate_desired, hop=ConditionType.CERTIFICATE_READY),
        Step(Resource.VALIDATION_RECORD_NAME, lambda i, f: dns.DnsRecord(i.spec.hosted_zone_id, "CNAME"),
             lambda i, f: dns.validation_record(f[Resource.CERTIFICATE_ARN].state),
             after=(Resource.CERTIFICATE_ARN,), hop=ConditionType.CERTIFICATE_READY,
             when=lambda i: i.spec.certificate.requested,
             finalize_id=_record_of(Resource.CERTIFICATE_ARN, Resource.VALIDATION_RECORD_NAME,
                                    lambda i: certificate.RequestedCertificate(i.spec.domain_name))),
        Step(Resource.OWNERSHIP_CERTIFICATE_ARN, _ownership_part, _ownership_desired,
             after=(Resource.CERTIFICATE_ARN,), hop=ConditionType.CERTIFICATE_READY),
        Step(Resource.OWNERSHIP_VALIDATION_RECORD_NAME, lambda i, f: dns.DnsRecord(i.spec.hosted_zone_id, "CNAME"),
             _ownership_record, after=(Resource.OWNERSHIP_CERTIFICATE_ARN,), hop=ConditionType.CERTIFICATE_READY,
             when=lambda i: not i.spec.ownership_arn,
             finalize_id=_record_of(Resource.OWNERSHIP_CERTIFICATE_ARN, Resource.OWNERSHIP_VALIDATION_RECORD_NAME,
                                    lambda i: OwnershipCertificate(i.spec.domain_name))),
        Step(Resource.TRUSTSTORE_BUCKET, lambda i, f: TruststoreBucket(), lambda i, f: _bucket_desired(i.spec),
             hop=ConditionType.TRUSTSTORE_VALID, finalize_id=lambda ctx, i, known: i.spec.truststore.bucket),
        # The bundle is written only when its sha256 changed.
        Step(Resource.TRUSTSTORE_URI, lambda i, f: TruststoreObject(),
             lambda i, f: TruststoreObjectDesired(i.spec.truststore.bucket, i.spec.truststore_key, i.store.pem,
                                                  i.store.sha256) if i.store is not None else None,
             after=(Resource.TRUSTSTORE_BUCKET,), hop=ConditionType.TRUSTSTORE_VALID,
             finalize_id=lambda ctx, i, known: i.spec.truststore_uri),
        # Pinned to the truststore version just made sure of.
        Step(Resource.DOMAIN_NAME, lambda i, f: DomainNamePart(), _domain_desired, after=(Resource.TRUSTSTORE_URI,),
             # Pinned only to a version S3 really made (not "" or "null" during S3's versioning window).
             ready=(Resource.CERTIFICATE_ARN, Resource.OWNERSHIP_CERTIFICATE_ARN, Resource.TRUSTSTORE_URI),
             hop=ConditionType.DOMAIN_READY,
             finalize_id=lambda ctx, i, known: i.spec.domain_name),
        Step(Resource.BASE_PATH_MAPPINGS, lambda i, f: BasePathMappings(), _mappings_desired,
             after=(Resource.DOMAIN_NAME,), hop=ConditionType.MAPPINGS_READY, finalize_id=_mappings_to_delete),
        Step(Resource.DNS_RECORD_NAME, lambda i, f: dns.DnsRecord(i.spec.hosted_zone_id, "A"),
             lambda i, f: dns.RecordDesired.alias_to(
                 i.spec.domain_name, f[Resource.DOMAIN_NAME].state.regional_domain_name,
                 f[Resource.DOMAIN_NAME].state.regional_hosted_zone_id),
             after=(Resource.DOMAIN_NAME,), hop=ConditionType.DNS_READY, finalize_id=_alias_to_delete),
    ],
    ok={
        ConditionType.CERTIFICATE_READY: "the regional certificate (and its ownership verification) is ISSUED",
        ConditionType.TRUSTSTORE_VALID: _truststore_ok,
        ConditionType.DOMAIN_READY: _domain_ok,
        ConditionType.MAPPINGS_READY: "mappings in place",
        ConditionType.DNS_READY: "the domain name resolves to the regional domain name",
    },
)


# What finalize reads from the spec (with the ids in status.resources): enough to find every resource.
TEARDOWN_FIELDS = ("region", "deletion_policy", "domain_name", "hosted_zone_id", "certificate",
                   "ownership_verification_certificate_arn", "truststore.bucket", "truststore.key")


def mapped_hybrid_apis(spec: dict[str, Any]) -> set[str]:
    """The HybridApis spec.mappings names, read as they are (an unparsable spec is still deleted, and its
    HybridApis are asked to reconcile): each one is only nudged, so a name that is wrong costs nothing."""
    mappings = spec.get("mappings")
    return {str(name) for m in (mappings if isinstance(mappings, list) else [])
            if isinstance(m, dict) and (name := (m.get("hybridApiRef") or {}).get("name"))}


class MtlsDomainReconciler(Reconciler):
    kind = MTLS_DOMAIN.kind
    plural = MTLS_DOMAIN.plural

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard = threading.Lock()
        self._gauges: dict[str, set[tuple[str, ...]]] = {}  # object uid -> label sets it has set
        self._nudged: dict[tuple[str, str], float] = {}  # (namespace, HybridApi) -> monotonic time

    # ---- inputs ---------------------------------------------------------------------------------
    def _truststore(self, obj: KubeObject, spec: MtlsDomainSpec) -> Truststore:
        """Read and check the CA sources; Stalled with TruststoreValid=False before any write."""
        kube = self.runtime.kube
        sources = []
        try:
            for source in spec.truststore.sources:
                ref = source.ref
                if source.kind == "Secret":
                    pem = kube.secret_value(obj.namespace, ref.name, ref.key)
                else:
                    pem = kube.configmap_value(obj.namespace, ref.name, ref.key)
                sources.append(Source(source.label, pem))
        except MissingInput as exc:
            raise truststore_stalled("TruststoreSourceMissing",
                                     f"spec.truststore.sources: {exc.what}: create it or fix the reference") from None
        except InvalidInput as exc:
            raise truststore_stalled("TruststoreSourceInvalid", f"spec.truststore.sources: {exc.what}") from None
        try:
            return assemble(sources)
        except TruststoreInvalid as exc:
            pinned = (obj.status.get("truststore") or {}).get("version")
            keep = f" The domain keeps truststore version {pinned}." if pinned else ""
            message = (f"Truststore not uploaded: {summarize(exc.problems)}. Fix the CA sources in "
                       f"spec.truststore.sources.{keep}")
            raise truststore_stalled("TruststoreInvalid", message) from None

    def _validate(self, ctx: PartContext, spec: MtlsDomainSpec) -> None:
        check_name_in_zone(ctx, spec.domain_name, spec.hosted_zone_id, name_field="spec.domainName",
                           zone_field="spec.hostedZoneId", reason="DomainOutsideHostedZone")
        if spec.ownership_arn:
            given = certificate.ExistingCertificate(spec.domain_name).find(
                ctx, certificate.ExistingCertificateDesired(spec.ownership_arn), None)
            if given is None:
                raise Stalled("OwnershipCertificateNotFound",
                              f"spec.ownershipVerificationCertificateArn {spec.ownership_arn} does not exist in "
                              f"{spec.region}: give a public ACM certificate for {spec.domain_name}, or leave it "
                              "empty to have one requested")
            if given.state.type != ISSUED_BY_ACM:
                raise Stalled(
                    "OwnershipCertificateNotPublic",
                    f"spec.ownershipVerificationCertificateArn {spec.ownership_arn} is a {given.state.type} "
                    "certificate: API Gateway needs a public certificate issued by ACM for the domain name",
                )
            certificate.check_covers(spec.domain_name, given.state)
        # A bucket or a domain name we cannot use stalls the pass before any write.
        refuse_early(ctx, TruststoreBucket(), _bucket_desired(spec))
        # Only the name matters to the domain's refuse(): certificate and version are not known yet.
        refuse_early(ctx, DomainNamePart(), DomainNameDesired(spec.domain_name, "", spec.truststore_uri, "",
                                                              security_policy=spec.security_policy))

    def _mapping_plan(self, obj: KubeObject, spec: MtlsDomainSpec) -> MappingPlan:
        plan = MappingPlan()
        for mapping in spec.mappings or ():
            where = f"spec.mappings[basePath={mapping.base_path!r}]"
            body = self.runtime.kube.get_object(HYBRID_API.plural, obj.namespace, mapping.hybrid_api)
            if body is None:
                plan.waiting[mapping.base_path] = f"HybridApi {mapping.hybrid_api} does not exist yet"
                continue
            other = KubeObject(body)
            if other.deleting:
                # AWS will not delete a REST API that a domain still maps: let it go.
                plan.released[mapping.base_path] = f"HybridApi {mapping.hybrid_api} is being deleted: mapping removed"
                continue
            try:
                other_spec = HybridApiSpec.model_validate(other.spec)
            except ValidationError:
                plan.waiting[mapping.base_path] = f"HybridApi {mapping.hybrid_api} has an invalid spec (see its status)"
                continue
            region = other_spec.region
            if region != spec.region:
                raise Stalled("MappingInOtherRegion",
                              f"{where}: HybridApi {mapping.hybrid_api} is in {region}, the domain in {spec.region}: "
                              "map only HybridApis of the domain's Region")
            stage = other_spec.api.stage.name
            if stage != mapping.stage:
                raise Stalled("MappingStageNotFound",
                              f"{where}: HybridApi {mapping.hybrid_api} has stage {stage}, not {mapping.stage}: "
                              f"use stage: {stage}")
            resources = other.status.get("resources") or {}
            deployed = resources.get(HybridApiResource.STAGE_NAME) == mapping.stage
            if not resources.get(HybridApiResource.REST_API_ID) or not deployed:
                plan.waiting[mapping.base_path] = (
                    f"HybridApi {mapping.hybrid_api} has no deployed stage {mapping.stage} yet"
                )
                continue
            api_id = str(resources[HybridApiResource.REST_API_ID])
            plan.targets[mapping.base_path] = MappingTarget(api_id, mapping.stage)
            plan.hybrid_apis[api_id] = mapping.hybrid_api
        return plan

    # ---- the pass -------------------------------------------------------------------------------
    def reconcile(self, obj: KubeObject) -> PassResult:
        spec = parse_spec(MtlsDomainSpec, obj)
        self.check_tenancy(obj, tenancy.mtlsdomain_uses(spec))
        store = self._truststore(obj, spec)
        cert_desired = certificate_desired(spec.certificate, self.runtime.kube, obj.namespace, spec.domain_name)
        previous = obj.status
        known = self._known(previous)
        validated = previous.get("validatedGeneration") == obj.generation
        ctx = PartContext(self.runtime.aws, spec.region, obj.owner,
                          recorded=recorded_ids(known, previous.get("retiring")), trust_recorded=validated, reads={})
        if not validated:
            # Once per generation: afterwards each step's own refuse() guards its writes.
            self._validate(ctx, spec)
        plan = self._mapping_plan(obj, spec)
        # A domain name whose record someone else has stalls the object before its first write.
        dns.check_name_free(ctx, dns.DnsRecord(spec.hosted_zone_id, "A"), spec.domain_name,
                            known.get(Resource.DNS_RECORD_NAME), _our_domain(ctx, spec))
        # What is mapped before this pass: a HybridApi whose mapping goes away is asked to reconcile too.
        before = BasePathMappings().find(ctx, None, spec.domain_name) if known.get(Resource.DOMAIN_NAME) else None
        run = CHAIN.ensure(ctx, Inputs(spec, store, cert_desired, plan), known, previous.get("retiring"))
        found = run.found.observed
        mapped = Resource.BASE_PATH_MAPPINGS in found
        hops = [self._mappings_hop(h, plan) if h.type == ConditionType.MAPPINGS_READY and mapped else h
                for h in run.hops]
        info: list[Condition] = []
        events: list[Event] = []
        status: dict[str, Any] = {"resources": run.resources,
                                  "retiring": run.retiring_status(previous.get("retiring")) or None,
                                  # Written only by a pass that got this far: its inputs passed every check.
                                  "validatedGeneration": obj.generation}

        cert: Observed[CertificateState] = found[Resource.CERTIFICATE_ARN]
        status["certificate"] = {"arn": cert.id, "notAfter": cert.state.not_after}
        own = found.get(Resource.OWNERSHIP_CERTIFICATE_ARN)
        if own is not None:
            status["ownershipVerificationCertificateArn"] = own.id
        self._domain_expiry_metric(obj, cert)

        stored = found.get(Resource.TRUSTSTORE_URI)
        version = stored.state.version_id if stored is not None else None
        warnings = store.warnings(spec.truststore.expiry_warning_days)
        known_warnings = set((previous.get("truststore") or {}).get("warnings") or [])
        events += [Event("ExpiringSoon", w, "Warning") for w in warnings if w not in known_warnings]
        truststore_status: dict[str, Any] = {
            "uri": spec.truststore_uri,
            "version": version,
            "sha256": store.sha256,
            "certificates": [c.status() for c in store.certificates],
            "warnings": warnings,
        }
        status["truststore"] = truststore_status
        self._truststore_metrics(obj, store)

        domain: Observed[DomainNameState] | None = found.get(Resource.DOMAIN_NAME)
        if domain is not None:
            status["regionalDomainName"] = domain.state.regional_domain_name
            status["regionalHostedZoneId"] = domain.state.regional_hosted_zone_id
            truststore_status["version"] = domain.state.truststore_version or version
            truststore_status["warnings"] = warnings + [
                w for w in domain.state.truststore_warnings if w not in warnings
            ]
            # The domain no longer uses a certificate of a former source: it can go.
            self._retire_certificates(ctx, spec, cert, known.get(Resource.CERTIFICATE_ARN),
                                      known.get(Resource.OWNERSHIP_CERTIFICATE_ARN), own.id if own else None)
            nudge = self._mapped_apis(run.outcomes, before, plan, obj.generation != previous.get("observedGeneration"))
            self._default_endpoints(ctx, obj, spec, plan, hops, info, nudge)
            self._nudge(obj.namespace, nudge, plan.hybrid_apis)
        else:
            hops.append(Condition(ConditionType.DEFAULT_ENDPOINTS_DISABLED, False, "Waiting",
                                  "waits for the domain name"))

        if store.sha256 != (previous.get("truststore") or {}).get("sha256"):
            events += self._input_changes(run.outcomes)
        return PassResult(hops=hops, info=info, status=status, outcomes=run.outcomes, events=events)

    @staticmethod
    def _known(status: dict[str, Any]) -> dict[str, Any]:
        """status.resources, with the certificate ids an older status kept elsewhere."""
        known = {Resource.CERTIFICATE_ARN: (status.get("certificate") or {}).get("arn"),
                 Resource.OWNERSHIP_CERTIFICATE_ARN: status.get("ownershipVerificationCertificateArn"),
                 **(status.get("resources") or {})}
        return {k: v for k, v in known.items() if v}

    @staticmethod
    def _input_changes(outcomes: list[Outcome[Any]]) -> list[Event]:
        """A new bundle from the sources (not drift): its upload and the domain's move to it are reported
        as Created/Updated Events here and left out of the drift record."""
        found = []
        for outcome in outcomes:
            moved = (outcome.part == DomainNamePart.name and outcome.action == "Updated"
                     and set(outcome.changes) <= {"truststoreUri", "truststoreVersion"})
            if outcome.action and (outcome.part == TruststoreObject.name or moved):
                found.append(Event(outcome.action, outcome.message))
                outcome.action = None
        return found

    # ---- pieces of the pass ---------------------------------------------------------------------
    @staticmethod
    def _retire_certificates(
        ctx: PartContext, spec: MtlsDomainSpec, cert: Observed[CertificateState], known_cert: str | None,
        known_ownership: str | None, ownership_arn: str | None,
    ) -> None:
        """Delete certificates we made that the domain stopped using because the spec changed source
        (a replacement of the same source retires through the chain).

        Only an exact id that the part owns is deleted, so a certificate the user gave never is."""
        if known_cert and known_cert != cert.id:
            _remove_exact(ctx, spec, certificate.ImportedCertificate(spec.domain_name), known_cert) or _remove_exact(
                ctx, spec, certificate.RequestedCertificate(spec.domain_name), known_cert)
        if known_ownership and known_ownership != ownership_arn:
            _remove_exact(ctx, spec, OwnershipCertificate(spec.domain_name), known_ownership)

    @staticmethod
    def _mappings_hop(written: Condition, plan: MappingPlan) -> Condition:
        """MappingsReady once the mappings are written: it also waits for HybridApis not deployed yet."""
        pending = {**plan.waiting, **plan.released}
        if pending:
            return Condition(ConditionType.MAPPINGS_READY, False, "Waiting",
                             "; ".join(f"{label(bp)}: {why}" for bp, why in sorted(pending.items())))
        done = [f"{label(bp)} -> {t.rest_api_id}/{t.stage}" for bp, t in sorted(plan.targets.items())]
        return Condition(ConditionType.MAPPINGS_READY, True, "Ready", ", ".join(done) or "no mappings")

    @staticmethod
    def _mapped_apis(
        outcomes: list[Outcome[Any]], before: Observed[Any] | None, plan: MappingPlan, spec_changed: bool
    ) -> set[str]:
        """The REST API ids whose HybridApi should reconcile: every API mapped before or after, when the
        mappings or the spec changed."""
        changed = any(o.part == BasePathMappings.name and o.action for o in outcomes)
        if not (changed or spec_changed):
            return set()
        old = {t.rest_api_id for t in before.state.mappings.values()} if before is not None else set()
        return old | {t.rest_api_id for t in plan.targets.values()}

    def _default_endpoints(
        self, ctx: PartContext, obj: KubeObject, spec: MtlsDomainSpec, plan: MappingPlan,
        hops: list[Condition], info: list[Condition], nudge: set[str],
    ) -> None:
        """Report what AWS shows (GetRestApi); the HybridApi reconciler is the only writer."""
        client = ctx.client("apigateway")
        enabled: list[str] = []
        for api_id in sorted(set(plan.hybrid_apis)):
            api = get_or_none(client.get_rest_api, restApiId=api_id)
            if api is not None and not api.get("disableExecuteApiEndpoint", False):
                enabled.append(api_id)
        if not spec.disable_default_endpoints:
            info.append(Condition(ConditionType.DEFAULT_ENDPOINTS_DISABLED, False, "NotRequested",
                                  "spec.disableDefaultEndpoints is false: clients may bypass mutual TLS through "
                                  "the execute-api endpoint" + (f" of {', '.join(enabled)}" if enabled else "")))
            return
        if enabled:
            names = ", ".join(f"{plan.hybrid_apis[a]} ({a})" for a in enabled)
            hops.append(Condition(ConditionType.DEFAULT_ENDPOINTS_DISABLED, False, "WaitingForHybridApi",
                                  f"the default execute-api endpoint of {names} is still enabled: waiting for the "
                                  "HybridApi to turn it off"))
            now = time.monotonic()
            for api_id in enabled:
                key = (obj.namespace, plan.hybrid_apis[api_id])
                with self._guard:
                    if now - self._nudged.get(key, -NUDGE_REPEAT_SECONDS) >= NUDGE_REPEAT_SECONDS:
                        nudge.add(api_id)
        else:
            apis = ", ".join(sorted(plan.hybrid_apis)) or "no API"
            hops.append(Condition(ConditionType.DEFAULT_ENDPOINTS_DISABLED, True, "Ready",
                                  f"execute-api endpoint disabled on {apis}"))

    # ---- asking HybridApis to reconcile -----------------------------------------------------------
    def _nudge(self, namespace: str, api_ids: set[str], known: dict[str, str]) -> None:
        """Ask the HybridApis behind `api_ids` to reconcile; ids not in `known` (REST API id -> name,
        e.g. of a mapping just removed) are looked up in the namespace's HybridApis."""
        if not api_ids:
            return
        names = {known[a] for a in api_ids if a in known}
        unknown = api_ids - set(known)
        if unknown:
            for body in self.runtime.kube.list_objects(HYBRID_API.plural, namespace):
                if ((body.get("status") or {}).get("resources") or {}).get(HybridApiResource.REST_API_ID) in unknown:
                    names.add(str(body["metadata"]["name"]))
        self.request_reconcile(namespace, names)

    def request_reconcile(self, namespace: str, hybrid_apis: Iterable[str]) -> None:
        """Patch the reconcile-request annotation on each HybridApi (it then reconciles at once)."""
        for name in sorted(set(hybrid_apis)):
            stamp = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
            # False for a missing HybridApi: it has nothing to reconcile.
            self.runtime.kube.annotate(HYBRID_API.plural, namespace, name, {RECONCILE_REQUEST_ANNOTATION: stamp})
            with self._guard:
                self._nudged[(namespace, name)] = time.monotonic()
            log.info("asked HybridApi %s/%s to reconcile (its default endpoint setting may change)", namespace, name)

    # ---- metrics ----------------------------------------------------------------------------------
    def _set_gauge(self, obj: KubeObject, certificate_label: str, role: str, not_after: dt.datetime,
                   seen: set[tuple[str, ...]]) -> None:
        labels = (obj.kind, obj.namespace, obj.name, certificate_label, role)
        metrics.CERTIFICATE_EXPIRY_TIMESTAMP.labels(*labels).set(not_after.timestamp())
        metrics.CERTIFICATE_EXPIRY_DAYS.labels(*labels).set(
            (not_after - dt.datetime.now(dt.UTC)).total_seconds() / 86400)
        seen.add(labels)

    def _forget_gauges(self, uid: str, keep: set[tuple[str, ...]], role: str | None = None) -> None:
        with self._guard:
            had = self._gauges.setdefault(uid, set())
            for labels in list(had):
                if labels not in keep and (role is None or labels[4] == role):
                    for gauge in (metrics.CERTIFICATE_EXPIRY_TIMESTAMP, metrics.CERTIFICATE_EXPIRY_DAYS):
                        with contextlib.suppress(KeyError):
                            gauge.remove(*labels)
                    had.discard(labels)
            had.update(keep)

    def _domain_expiry_metric(self, obj: KubeObject, cert: Observed[CertificateState]) -> None:
        not_after = cert.state.not_after
        seen: set[tuple[str, ...]] = set()
        if not_after:
            when = dt.datetime.fromisoformat(str(not_after).replace("Z", "+00:00"))
            self._set_gauge(obj, cert.id, "domain", when, seen)
        self._forget_gauges(obj.uid, seen, "domain")

    def _truststore_metrics(self, obj: KubeObject, store: Truststore) -> None:
        seen: set[tuple[str, ...]] = set()
        for ca in store.certificates:
            self._set_gauge(obj, f"{ca.subject} sha256:{ca.fingerprint[:16]}", "truststore", ca.not_after, seen)
        self._forget_gauges(obj.uid, seen, "truststore")

    # ---- deletion -------------------------------------------------------------------------------
    def finalize(self, obj: KubeObject) -> FinalizeResult:
        spec = teardown_spec(MtlsDomainSpec, obj, TEARDOWN_FIELDS)
        mapped = mapped_hybrid_apis(obj.spec)
        if spec.retain:
            self._forget_gauges(obj.uid, set())
            self.request_reconcile(obj.namespace, mapped)
            return FinalizeResult(True, [Event("Deleted", "deletionPolicy Retain: AWS resources kept")])
        ctx = PartContext(self.runtime.aws, spec.region, obj.owner)
        teardown = CHAIN.finalize(ctx, Inputs(spec), self._known(obj.status), obj.status.get("retiring"))
        events = [Event("Deleted", f"Deleted {what}") for what in teardown.deleted]
        if not teardown.done:
            return FinalizeResult(False, events, teardown.waiting_for)
        self._forget_gauges(obj.uid, set())
        with self._guard:
            self._gauges.pop(obj.uid, None)
        # The domain is gone (or going): its HybridApis go back to their own default endpoint setting.
        self.request_reconcile(obj.namespace, mapped)
        return FinalizeResult(True, events)


def _bucket_desired(spec: MtlsDomainSpec) -> BucketDesired:
    return BucketDesired(spec.truststore.bucket, spec.region, spec.truststore.create_bucket)


def _remove_exact(ctx: PartContext, spec: MtlsDomainSpec, part: Part[Any, Any], arn: str) -> bool:
    """Delete certificate `arn` (and its validation record) only if `part` owns exactly it: `find`
    falls back to any certificate the part owns for the name, which may be the one in use."""
    found = part.find(ctx, None, arn)
    if found is None or found.id != arn:
        return False
    record = dns.validation_record(found.state) if found.state.type == ISSUED_BY_ACM else None
    part.delete(ctx, found)
    if record is not None and unshared_validation_record(ctx, spec.domain_name, record.name, leaving={arn}):
        dns.DnsRecord(spec.hosted_zone_id, "CNAME").remove(ctx, record.name)
    return True


__all__ = ["MtlsDomainReconciler"]
