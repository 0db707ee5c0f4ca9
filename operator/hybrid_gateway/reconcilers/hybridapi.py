"""HybridApi: API Gateway -> VPC link V2 -> ALB (or VPC link V1 -> NLB -> ALB) -> on-prem, HTTPS on every
hop (seeds 000, 002; issue 13).

spec.network.vpcLink.version picks the link side of the chain (`effective_link_version`): the V1 steps
(alb-type target group, NLB, NLB listener, V1 link) and the V2 steps (the shared link and its security group)
carry `when=` predicates. Switching moves the other side's ids to status.retiring: they keep serving
until the new side is ready and the integrations and the DNS alias have moved, then they go.

Parts are ensured in dependency order; a part whose inputs are not ready yet (a certificate still
validating, a VPC link still PENDING) is skipped this pass and its hop reported as waiting, while
every part that does not depend on it goes ahead, so independent waits overlap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from hybrid_gateway import metrics, tenancy
from hybrid_gateway.api.v1alpha1.clientcertrotation import CLIENT_CERT_ROTATION, ClientCertRotationSpec
from hybrid_gateway.api.v1alpha1.hybridapi import (
    HYBRID_API,
    VPC_LINK_V1,
    VPC_LINK_V2,
    ConditionType,
    HybridApiSpec,
    Resource,
    Throttling,
    VpcLinkVersion,
)
from hybrid_gateway.api.v1alpha1.mtlsdomain import MTLS_DOMAIN, MtlsDomainSpec
from hybrid_gateway.aws.errors import error_code
from hybrid_gateway.errors import Stalled
from hybrid_gateway.parts import (
    certificate,
    dns,
    listeners,
    load_balancers,
    probe,
    rest_api,
    stage,
    target_groups,
    trust_store,
)
from hybrid_gateway.parts import security_group as sg
from hybrid_gateway.parts.base import Observed, PartContext
from hybrid_gateway.parts.truststore_object import s3_uri
from hybrid_gateway.parts.vpc_link import VpcLinkDesired, VpcLinkPart
from hybrid_gateway.parts.vpc_link_v2 import (
    LinkSecurityGroup,
    LinkSecurityGroupDesired,
    VpcLinkV2Desired,
    VpcLinkV2Part,
)
from hybrid_gateway.public_trust import ADVICE
from hybrid_gateway.reconcilers.base import (
    Event,
    FinalizeResult,
    KubeObject,
    PassResult,
    Reconciler,
    parse_spec,
    recorded_ids,
    teardown_spec,
)
from hybrid_gateway.reconcilers.chain import Chain, ChainRun, Found, Step
from hybrid_gateway.reconcilers.inputs import (
    certificate_desired,
    certificate_part,
    check_name_in_zone,
    validation_record_to_delete,
)
from hybrid_gateway.status import conditions as cond
from hybrid_gateway.status.conditions import Condition

VERIFY = "verify"


@dataclass(frozen=True)
class TrustBundleSource:
    """Where the ALB trust store's CA bundle comes from in verify mode: the S3 copy of the trust bundle
    that the ClientCertRotation naming this stage publishes, and the sha256 its status says it holds."""

    client_cert_rotation: str
    bucket: str
    key: str
    sha256: str


@dataclass(frozen=True)
class Inputs:
    """What the steps read: the spec, plus what this pass read from Kubernetes (None in finalize,
    which needs neither the certificate Secret nor the gateway secret)."""

    spec: HybridApiSpec
    api_name: str  # the REST API's (and VPC link's) name
    certificate_desired: Any = None
    secret_header: tuple[str, str] | None = None
    disable_execute_api_endpoint: bool = False
    # (deployment id, definition hash) that status recorded: the stage step reads no deployment for it.
    recorded_deployment: tuple[str, str] | None = None
    # (VPC id, CIDR blocks) as read for this generation (status.vpcCidrs): not read again.
    known_vpc_cidrs: tuple[str, tuple[str, ...]] | None = None
    # frontDoor.mutualTls verify: the bundle (None: none published yet, `trust_bundle_waits` says why), the
    # bundle the trust store was last loaded from (status.trustStore) and the stage's client certificate
    # as status recorded it.
    trust_bundle: TrustBundleSource | None = None
    trust_bundle_waits: str = ""
    loaded_trust_store: trust_store.Loaded | None = None
    stage_certificate: str = ""
    trust_store_recorded: bool = False  # status.resources has a trustStoreArn
    # The link side(s) the steps serve: the effective version in a pass, every recorded one in finalize.
    link_versions: frozenset[str] = frozenset({VPC_LINK_V1})
    # What a switch still retires and the ALB's security group keeps admitting meanwhile: the NLB (V1, by the
    # VPC's CIDRs) and the V2 link's security group.
    retiring_v1: bool = False
    retiring_link_security_group: str = ""
    owner_uid: str = ""
    owner_ref: str = ""  # namespace/name: the value of this object's user tag on a shared V2 link

    def health_check(self) -> target_groups.HealthCheck:
        hc = self.spec.backend.health_check
        return target_groups.HealthCheck(
            protocol="HTTPS", path=hc.path, matcher=hc.matcher, interval_seconds=hc.interval_seconds,
            healthy_threshold=hc.healthy_threshold, unhealthy_threshold=hc.unhealthy_threshold,
            timeout_seconds=hc.timeout_seconds,
        )


def _our_nlb(ctx: PartContext, known: dict[str, Any]) -> Callable[[], dns.AliasTarget | None]:
    """Where an older operator pointed our alias: our NLB (by status, else by tags), looked up on demand."""
    def target() -> dns.AliasTarget | None:
        nlb = load_balancers.Nlb().find(ctx, None, known.get(Resource.NLB_ARN))
        return dns.AliasTarget(nlb.state.dns_name, nlb.state.canonical_hosted_zone_id) if nlb else None
    return target


def _alias_to_delete(ctx: PartContext, inputs: Inputs, known: dict[str, Any]) -> str | None:
    """The front-door record to delete, if its ownership record says it is ours (an older
    operator's alias to our NLB, without one, is adopted first: docs/dns-ownership.md)."""
    front = inputs.spec.front_door
    name = str(known.get(Resource.DNS_RECORD_NAME) or front.hostname)
    return dns.alias_to_delete(ctx, dns.DnsRecord(front.hosted_zone_id, "A"), name, _our_nlb(ctx, known))


def _validation_record_to_delete(ctx: PartContext, inputs: Inputs, known: dict[str, Any]) -> str | None:
    hostname = inputs.spec.front_door.hostname
    return validation_record_to_delete(ctx, certificate.RequestedCertificate(hostname), hostname,
                                       known.get(Resource.VALIDATION_RECORD_NAME), known.get(Resource.CERTIFICATE_ARN))


def _trust_store_desired(i: Inputs, f: Found) -> trust_store.TrustStoreDesired | None:
    if i.spec.front_door.mutual_tls.mode != VERIFY or i.trust_bundle is None:
        return None  # nothing to build (a trust store of a former verify mode stays until deletion)
    return trust_store.TrustStoreDesired(i.trust_bundle.bucket, i.trust_bundle.key, i.trust_bundle.sha256)


def verify_waits_for(i: Inputs, f: Found) -> str:
    """Why the listener is not in verify mode yet ("" once it can be): the rotation invariant holds only when
    the trust store holds the bundle the ClientCertRotation published and the stage presents one of its
    certificates; before that, verify would refuse every call API Gateway makes."""
    if i.spec.front_door.mutual_tls.mode != VERIFY:
        return ""
    if i.trust_bundle is None:
        return i.trust_bundle_waits
    store = f.observed.get(Resource.TRUST_STORE_ARN)
    if store is None or not store.ready or store.state.bundle_sha256 != i.trust_bundle.sha256:
        return f"the trust store does not hold ClientCertRotation {i.trust_bundle.client_cert_rotation}'s bundle yet"
    if not i.stage_certificate:
        return (f"stage {i.spec.api.stage.name} presents no client certificate yet "
                f"(ClientCertRotation {i.trust_bundle.client_cert_rotation} sets it)")
    return ""


def _alb_listener_desired(i: Inputs, f: Found) -> listeners.ListenerDesired:
    mode: str = i.spec.front_door.mutual_tls.mode
    store = None
    if mode == VERIFY:
        # Off until verify can accept what the stage presents (verify_waits_for; LoadBalancersReady says so).
        mode, store = ("off", None) if verify_waits_for(i, f) else (VERIFY, f.id(Resource.TRUST_STORE_ARN))
    desired = listeners.ListenerDesired.https(
        f.id(Resource.BACKEND_TARGET_GROUP_ARN), f.id(Resource.CERTIFICATE_ARN), i.spec.front_door.ssl_policy, mode)
    return replace(desired, trust_store_arn=store)


def _has_trust_store(i: Inputs) -> bool:
    """Verify mode, or a trust store status recorded (of a former verify mode: finalize deletes it). Without
    either, neither a pass nor finalize looks for one."""
    return i.spec.front_door.mutual_tls.mode == VERIFY or i.trust_store_recorded


def _subnet_ids(i: Inputs) -> tuple[str, ...]:
    return tuple(i.spec.network.subnet_ids)


V1_KEYS = (Resource.ALB_TARGET_GROUP_ARN, Resource.NLB_ARN, Resource.NLB_LISTENER_ARN, Resource.VPC_LINK_ID)
V2_KEYS = (Resource.VPC_LINK_SECURITY_GROUP_ID, Resource.VPC_LINK_V2_ID)


def effective_link_version(spec: HybridApiSpec, status: Mapping[str, Any]) -> VpcLinkVersion:
    """spec.network.vpcLink.version; without it, what status says this object runs (an object an older operator
    made has a V1 chain: vpcLinkId or nlbArn recorded), else V2 for a new object."""
    if spec.network.vpc_link.version is not None:
        return spec.network.vpc_link.version
    recorded = status.get("vpcLinkVersion")
    if recorded in (VPC_LINK_V1, VPC_LINK_V2):
        return VPC_LINK_V1 if recorded == VPC_LINK_V1 else VPC_LINK_V2
    resources = status.get("resources") or {}
    return VPC_LINK_V1 if resources.get(Resource.VPC_LINK_ID) or resources.get(Resource.NLB_ARN) else VPC_LINK_V2


def switch_retiring(version: str, known: dict[str, Any], retiring: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """The ids of the other version's steps, moved from `known` to status.retiring, where they stay until the new
    side serves (chain.py). In `known` they become "" (a status merge patch cannot drop a key: the writer leaves
    None out), which every reader takes as "none"."""
    moved = {k: list(v or ()) for k, v in (retiring or {}).items()}
    for key in V1_KEYS if version == VPC_LINK_V2 else V2_KEYS:
        if known.get(key):
            moved.setdefault(key, []).append(str(known[key]))
            known[key] = ""
    return {k: v for k, v in moved.items() if v}


def _v1(i: Inputs) -> bool:
    return VPC_LINK_V1 in i.link_versions


def _v2(i: Inputs) -> bool:
    return VPC_LINK_V2 in i.link_versions


def _alb_security_group_desired(i: Inputs, f: Found) -> sg.SecurityGroupDesired:
    """V1: HTTPS in from the VPC's CIDRs (the NLB's nodes); V2: from the link's security group; both while a
    switch still has the other side serving."""
    groups = [f.id(Resource.VPC_LINK_SECURITY_GROUP_ID)] if _v2(i) else []
    if i.retiring_link_security_group:
        groups.append(i.retiring_link_security_group)
    return sg.SecurityGroupDesired(vpc_id=i.spec.network.vpc_id, ingress_cidrs=None if _v1(i) or i.retiring_v1 else (),
                                   ingress_groups=tuple(sorted(set(groups))))


def _alias_desired(i: Inputs, f: Found) -> dns.RecordDesired:
    """The front-door name resolves to the load balancer API Gateway's link reaches: the NLB (V1), the ALB (V2)."""
    target = f[Resource.NLB_ARN if _v1(i) else Resource.ALB_ARN].state
    return dns.RecordDesired.alias_to(i.spec.front_door.hostname, target.dns_name, target.canonical_hosted_zone_id)


def _rest_api_desired(i: Inputs, f: Found) -> rest_api.RestApiDesired:
    v2 = _v2(i)
    return rest_api.RestApiDesired(
        name=i.api_name, hostname=i.spec.front_door.hostname,
        vpc_link_id=f.id(Resource.VPC_LINK_V2_ID if v2 else Resource.VPC_LINK_ID),
        integration_target=f.id(Resource.ALB_ARN) if v2 else "",
        routes=tuple(rest_api.Route(r.path, r.methods, r.backend_path) for r in i.spec.api.routes),
        disable_execute_api_endpoint=i.disable_execute_api_endpoint, secret_header=i.secret_header)


def _load_balancers_ok(i: Inputs, f: Found) -> str:
    return ("internal ALB (HTTPS) and NLB (TCP 443) are active" if _v1(i)
            else "internal ALB (HTTPS) is active")


def _stage_desired(i: Inputs, f: Found) -> stage.StageDesired:
    s, api = i.spec.api.stage, f[Resource.REST_API_ID]
    throttling = s.throttling or Throttling()
    return stage.StageDesired(
        rest_api_id=api.id, stage_name=s.name, api_definition_hash=api.state.api_definition_hash,
        variables=dict(s.variables or {}), rate_limit=throttling.rate_limit, burst_limit=throttling.burst_limit,
        access_log_destination_arn=s.access_log_destination_arn or None,
    )


# The chain in dependency order (seed 000); finalize walks it backwards. Listeners and the stage go
# with their load balancer and REST API.
CHAIN: Chain[Inputs] = Chain(
    [
        Step(Resource.CERTIFICATE_ARN,
             lambda i, f: certificate_part(i.spec.front_door.certificate, i.spec.front_door.hostname),
             lambda i, f: i.certificate_desired, hop=ConditionType.CERTIFICATE_READY),
        Step(Resource.VALIDATION_RECORD_NAME, lambda i, f: dns.DnsRecord(i.spec.front_door.hosted_zone_id, "CNAME"),
             lambda i, f: dns.validation_record(f[Resource.CERTIFICATE_ARN].state), after=(Resource.CERTIFICATE_ARN,),
             hop=ConditionType.CERTIFICATE_READY, when=lambda i: i.spec.front_door.certificate.requested,
             finalize_id=_validation_record_to_delete),
        Step(Resource.BACKEND_TARGET_GROUP_ARN, lambda i, f: target_groups.BackendTargetGroup(),
             lambda i, f: target_groups.TargetGroupDesired.backend(
                 i.spec.network.vpc_id, [(t.ip, t.port) for t in i.spec.backend.targets], i.health_check(),
                 port=i.spec.backend.targets[0].port)),
        # VPC link V2: the shared link's security group, which the ALB's group admits (so it comes first).
        Step(Resource.VPC_LINK_SECURITY_GROUP_ID, lambda i, f: LinkSecurityGroup(),
             lambda i, f: LinkSecurityGroupDesired(i.spec.network.vpc_id, _subnet_ids(i)),
             hop=ConditionType.VPC_LINK_READY, when=_v2),
        Step(Resource.ALB_SECURITY_GROUP_ID, lambda i, f: sg.SecurityGroup(i.known_vpc_cidrs),
             _alb_security_group_desired, after=(Resource.VPC_LINK_SECURITY_GROUP_ID,)),
        # frontDoor.mutualTls verify: the ELB trust store, from the ClientCertRotation's S3 bundle. Before the
        # ALB, so that finalize deletes it after the ALB (with its listener: DeleteTrustStore of a trust store a
        # listener uses is TrustStoreInUse).
        Step(Resource.TRUST_STORE_ARN, lambda i, f: trust_store.TrustStore(i.loaded_trust_store), _trust_store_desired,
             hop=ConditionType.LOAD_BALANCERS_READY, when=_has_trust_store),
        Step(Resource.ALB_ARN, lambda i, f: load_balancers.Alb(),
             lambda i, f: load_balancers.LoadBalancerDesired(
                 i.spec.network.vpc_id, _subnet_ids(i),
                 (f.id(Resource.ALB_SECURITY_GROUP_ID), *(i.spec.network.security_group_ids or ()))),
             after=(Resource.ALB_SECURITY_GROUP_ID,), hop=ConditionType.LOAD_BALANCERS_READY),
        Step(Resource.ALB_LISTENER_ARN, lambda i, f: listeners.AlbListener(f.id(Resource.ALB_ARN)),
             _alb_listener_desired,
             after=(Resource.ALB_ARN, Resource.BACKEND_TARGET_GROUP_ARN), ready=(Resource.CERTIFICATE_ARN,),
             hop=ConditionType.LOAD_BALANCERS_READY, removed_with=Resource.ALB_ARN),
        # An ALB can be registered only once it has a listener on the target group's port.
        Step(Resource.ALB_TARGET_GROUP_ARN, lambda i, f: target_groups.AlbTargetGroup(),
             lambda i, f: target_groups.TargetGroupDesired.alb(
                 i.spec.network.vpc_id, f.id(Resource.ALB_ARN), target_groups.HealthCheck(
                     protocol="HTTPS", path=i.spec.backend.health_check.path,
                     matcher=i.spec.backend.health_check.matcher)),
             after=(Resource.ALB_LISTENER_ARN,), hop=ConditionType.LOAD_BALANCERS_READY, when=_v1),
        Step(Resource.NLB_ARN, lambda i, f: load_balancers.Nlb(),
             lambda i, f: load_balancers.LoadBalancerDesired(i.spec.network.vpc_id, _subnet_ids(i)),
             hop=ConditionType.LOAD_BALANCERS_READY, when=_v1),
        Step(Resource.NLB_LISTENER_ARN, lambda i, f: listeners.NlbListener(f.id(Resource.NLB_ARN)),
             lambda i, f: listeners.ListenerDesired("TCP", f.id(Resource.ALB_TARGET_GROUP_ARN)),
             after=(Resource.NLB_ARN, Resource.ALB_TARGET_GROUP_ARN), hop=ConditionType.LOAD_BALANCERS_READY,
             removed_with=Resource.NLB_ARN, when=_v1),
        # The hostname the certificate covers resolves to the NLB (V1) or the ALB (V2).
        Step(Resource.DNS_RECORD_NAME, lambda i, f: dns.DnsRecord(i.spec.front_door.hosted_zone_id, "A"),
             _alias_desired, after=(Resource.NLB_ARN, Resource.ALB_ARN), hop=ConditionType.DNS_READY,
             finalize_id=_alias_to_delete),
        Step(Resource.VPC_LINK_ID, lambda i, f: VpcLinkPart(),
             lambda i, f: VpcLinkDesired(name=i.api_name, target_arn=f.id(Resource.NLB_ARN)),
             # A link made while its NLB still provisions goes FAILED for good (docs/aws-behaviour.md).
             ready=(Resource.NLB_ARN,), hop=ConditionType.VPC_LINK_READY, when=_v1),
        # The shared V2 link of (VPC, subnets): this object joins it with its user tag (parts/vpc_link_v2.py).
        Step(Resource.VPC_LINK_V2_ID, lambda i, f: VpcLinkV2Part(),
             lambda i, f: VpcLinkV2Desired(i.spec.network.vpc_id, _subnet_ids(i),
                                           f.id(Resource.VPC_LINK_SECURITY_GROUP_ID), i.owner_uid, i.owner_ref),
             after=(Resource.VPC_LINK_SECURITY_GROUP_ID,), hop=ConditionType.VPC_LINK_READY, when=_v2),
        # HTTP_PROXY integrations over the VPC link to https://<hostname>/... (V2: integrationTarget the ALB),
        # then deployment and stage. They move to a new link only once it is AVAILABLE.
        Step(Resource.REST_API_ID, lambda i, f: rest_api.RestApiPart(), _rest_api_desired,
             after=(Resource.ALB_ARN,), ready=(Resource.VPC_LINK_ID, Resource.VPC_LINK_V2_ID),
             hop=ConditionType.API_DEPLOYED),
        Step(Resource.STAGE_NAME, lambda i, f: stage.StagePart(f.id(Resource.REST_API_ID), i.recorded_deployment),
             _stage_desired,
             after=(Resource.REST_API_ID,), hop=ConditionType.API_DEPLOYED, removed_with=Resource.REST_API_ID),
    ],
    ok={
        ConditionType.CERTIFICATE_READY: "the front-door certificate is ISSUED",
        ConditionType.LOAD_BALANCERS_READY: _load_balancers_ok,
        ConditionType.DNS_READY: lambda i, f: f"the front-door hostname resolves to the {'NLB' if _v1(i) else 'ALB'}",
        ConditionType.VPC_LINK_READY: lambda i, f: f"the VPC link {'' if _v1(i) else 'V2 '}is AVAILABLE",
        ConditionType.API_DEPLOYED: "the stage serves the current definition",
    },
)


def check_subnets(subnets: Sequence[Mapping[str, Any]], wanted: Sequence[str], vpc_id: str) -> None:
    """Subnets must exist, be in the VPC, and span two or more Availability Zones (ALB and NLB need it)."""
    found = {s["SubnetId"]: s for s in subnets}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise Stalled("SubnetNotFound", f"subnets {', '.join(missing)} do not exist in {vpc_id}'s region")
    outside = [s for s in wanted if found[s].get("VpcId") != vpc_id]
    if outside:
        raise Stalled("SubnetOutsideVpc", f"subnets {', '.join(outside)} are not in {vpc_id}")
    zones = {found[s]["AvailabilityZone"] for s in wanted}
    if len(zones) < 2:
        raise Stalled(
            "SubnetsInOneAvailabilityZone",
            f"spec.network.subnetIds are all in {', '.join(sorted(zones))}: "
            "an internal ALB needs subnets in two or more Availability Zones",
        )


# What finalize reads from the spec (with the ids in status.resources): enough to find every resource.
TEARDOWN_FIELDS = ("region", "deletion_policy", "front_door.hostname", "front_door.hosted_zone_id",
                   "front_door.certificate", "front_door.mutual_tls")


class HybridApiReconciler(Reconciler):
    kind = HYBRID_API.kind
    plural = HYBRID_API.plural

    # ---- inputs ---------------------------------------------------------------------------------
    def _secret_header(self, obj: KubeObject, spec: HybridApiSpec) -> tuple[str, str] | None:
        header = spec.api.gateway_secret_header
        if header is None:
            return None
        ref = header.secret_ref
        value = self.runtime.kube.secret_value(obj.namespace, ref.name, ref.key)
        # Checked here, before the first write: the REST API that carries it comes after the load
        # balancers and the VPC link.
        problem = rest_api.secret_header_problem(header.name, value)
        if problem:
            raise Stalled("InvalidGatewaySecretHeader",
                          f"spec.api.gatewaySecretHeader (Secret {obj.namespace}/{ref.name} key {ref.key!r}): "
                          f"{problem}")
        return header.name, value

    def _validate(self, ctx: PartContext, spec: HybridApiSpec) -> None:
        """Checks that need AWS reads; each raises Stalled before anything is written."""
        try:
            subnets = ctx.client("ec2").describe_subnets(SubnetIds=list(spec.network.subnet_ids))["Subnets"]
        except ClientError as exc:
            if error_code(exc).startswith("InvalidSubnet"):
                message = exc.response["Error"].get("Message")
                raise Stalled("SubnetNotFound", f"spec.network.subnetIds: {message}") from None
            raise
        check_subnets(subnets, spec.network.subnet_ids, spec.network.vpc_id)
        front = spec.front_door
        check_name_in_zone(ctx, front.hostname, front.hosted_zone_id, name_field="spec.frontDoor.hostname",
                           zone_field="spec.frontDoor.hostedZoneId", reason="HostnameOutsideHostedZone")

    def _check_publicly_trusted(self, ctx: PartContext, spec: HybridApiSpec, desired: Any) -> None:
        """Stalled, before any write, for a front-door certificate API Gateway will not trust (public_trust.py).
        A requested certificate is ACM's public one; a missing one or one for another name is reported by
        the certificate step first."""
        front, roots = spec.front_door, self.runtime.public_roots
        why = None
        if isinstance(desired, certificate.ImportedCertificateDesired):
            why = roots.why_untrusted(front.hostname, desired.certificate_pem, desired.chain_pem)
        elif isinstance(desired, certificate.ExistingCertificateDesired):
            given = certificate.ExistingCertificate(front.hostname).find(ctx, desired, None)
            if given is None or certificate.uncovered(front.hostname, given.state) is not None:
                return
            if given.state.type == "PRIVATE":
                why = f"ACM certificate {given.id} is issued by a private CA"
            elif given.state.type == "IMPORTED":
                body = ctx.client("acm").get_certificate(CertificateArn=given.id)
                why = roots.why_untrusted(front.hostname, body["Certificate"], body.get("CertificateChain", ""))
        if why:
            raise Stalled("CertificateNotPubliclyTrusted", f"spec.frontDoor.certificate: {why}. {ADVICE}")

    # ---- the pass -------------------------------------------------------------------------------
    def reconcile(self, obj: KubeObject) -> PassResult:
        spec = parse_spec(HybridApiSpec, obj)
        self.check_tenancy(obj, tenancy.hybridapi_uses(spec))
        front = spec.front_door
        inputs = Inputs(
            spec,
            api_name=spec.rest_api_name(obj.namespace, obj.name),
            certificate_desired=certificate_desired(front.certificate, self.runtime.kube, obj.namespace,
                                                    front.hostname),
            secret_header=self._secret_header(obj, spec),
            disable_execute_api_endpoint=self.effective_disable_execute_api(obj, spec),
        )
        known = dict(obj.status.get("resources") or {})
        version = effective_link_version(spec, obj.status)
        # A switch: the other side's ids go to status.retiring and keep serving until the new side does.
        retiring = switch_retiring(version, known, obj.status.get("retiring"))
        inputs = replace(inputs, trust_store_recorded=bool(known.get(Resource.TRUST_STORE_ARN)),
                         link_versions=frozenset({version}), owner_uid=obj.owner.uid,
                         owner_ref=f"{obj.namespace}/{obj.name}",
                         retiring_v1=any(retiring.get(k) for k in V1_KEYS),
                         retiring_link_security_group=(retiring.get(Resource.VPC_LINK_SECURITY_GROUP_ID) or [""])[0]
                         if retiring.get(Resource.VPC_LINK_V2_ID) else "")
        validated = obj.status.get("validatedGeneration") == obj.generation
        # The pass shares its reads with the other objects' passes running now (aws/shared_reads.py).
        with self.runtime.shared_reads.pass_scope(obj.owner.uid, spec.region) as shared:
            ctx = PartContext(self.runtime.aws, spec.region, obj.owner, recorded=recorded_ids(known, retiring),
                              trust_recorded=validated, reads={}, shared=shared)
            if not validated:
                # Subnets and hosted zone are spec fields: checked once per generation, not on every drift check.
                self._validate(ctx, spec)
            self._check_publicly_trusted(ctx, spec, inputs.certificate_desired)
            deployment = (known.get(Resource.DEPLOYMENT_ID), obj.status.get("deployedDefinitionHash"))
            if all(deployment):
                inputs = replace(inputs, recorded_deployment=(str(deployment[0]), str(deployment[1])))
            if validated and obj.status.get("vpcCidrs"):
                inputs = replace(inputs, known_vpc_cidrs=(spec.network.vpc_id, tuple(obj.status["vpcCidrs"])))
            if spec.front_door.mutual_tls.mode == VERIFY:
                inputs = self._verify_inputs(obj, spec, inputs)
            # A front-door name someone else has stalls the object before its first write, not at the DNS step.
            dns.check_name_free(ctx, dns.DnsRecord(front.hosted_zone_id, "A"), front.hostname,
                                known.get(Resource.DNS_RECORD_NAME), _our_nlb(ctx, known))
            run = CHAIN.ensure(ctx, inputs, known, retiring)
            found = run.found.observed
            status: dict[str, Any] = {"frontDoorUrl": f"https://{front.hostname}", "resources": run.resources,
                                      "retiring": run.retiring_status(retiring) or None, "vpcLinkVersion": version,
                                      # Written only by a pass that got this far: its inputs passed every check.
                                      "validatedGeneration": obj.generation}
            self._trust_store_status(inputs, run, status)
            group = found[Resource.ALB_SECURITY_GROUP_ID].state
            if group.vpc_id == spec.network.vpc_id and group.vpc_cidrs:
                status["vpcCidrs"] = list(group.vpc_cidrs)
            cert = found[Resource.CERTIFICATE_ARN]
            status["certificate"] = {"arn": cert.id, "notAfter": cert.state.not_after}
            self._expiry_metric(obj, cert)
            # The target group part has just read its targets' health: no second DescribeTargetHealth.
            backend = found[Resource.BACKEND_TARGET_GROUP_ARN].state
            status["backendHealth"] = {"healthy": backend.healthy, "total": backend.total}
            if Resource.STAGE_NAME in found:
                deployed = found[Resource.STAGE_NAME].state
                run.resources[Resource.DEPLOYMENT_ID] = deployed.deployment_id
                status["deployedDefinitionHash"] = deployed.deployed_hash or None
                status["invokeUrl"] = deployed.invoke_url
                status["clientCertificateId"] = deployed.client_certificate_id
            info = [self._backend_condition(status["backendHealth"])]
            gates = self._probe(obj, spec, ctx, run, status, info)
            return PassResult(hops=run.hops, status=status, outcomes=run.outcomes, info=info, gates=gates)

    # ---- mutual TLS verify (frontDoor.mutualTls) -------------------------------------------------------
    def _verify_inputs(self, obj: KubeObject, spec: HybridApiSpec, inputs: Inputs) -> Inputs:
        """The ClientCertRotation that names this stage (its S3 bundle is the trust store's CA bundle), what
        the trust store was loaded from and the certificate the stage presents, as status recorded them."""
        stage_name = spec.api.stage.name
        source, waits = None, (f"no ClientCertRotation names stage {stage_name} of HybridApi {obj.name}: create one "
                               "with spec.backendTrust.s3 (its bundle is the ALB trust store's CA bundle)")
        for body in self.runtime.kube.list_objects(CLIENT_CERT_ROTATION.plural, obj.namespace):
            if (body.get("metadata") or {}).get("deletionTimestamp"):
                continue
            try:
                rotation = ClientCertRotationSpec.model_validate(body.get("spec") or {})
            except ValidationError:
                continue  # stalled on its own spec
            if not any(s.hybrid_api == obj.name and s.stage == stage_name for s in rotation.stages):
                continue
            name = str(body["metadata"]["name"])
            sha = str((body.get("status") or {}).get("trustBundleSha256") or "")
            s3 = rotation.backend_trust.s3
            if s3 is None:
                waits = (f"ClientCertRotation {name} names this stage but has no spec.backendTrust.s3: set it "
                         "(the ALB trust store is built from that S3 copy of the bundle)")
            elif not sha:
                waits = f"ClientCertRotation {name} has not published its trust bundle yet"
            else:
                source, waits = TrustBundleSource(name, s3.bucket, s3.key, sha), ""
            break
        recorded = obj.status.get("trustStore") or {}
        loaded = None
        if recorded.get("arn") and recorded.get("bundleSha256"):
            loaded = trust_store.Loaded(str(recorded["arn"]), str(recorded["bundleSha256"]),
                                        int(recorded.get("certificates") or 0))
        return replace(inputs, trust_bundle=source, trust_bundle_waits=waits, loaded_trust_store=loaded,
                       stage_certificate=str(obj.status.get("clientCertificateId") or ""))

    @staticmethod
    def _trust_store_status(inputs: Inputs, run: ChainRun, status: dict[str, Any]) -> None:
        """status.trustStore (what the next pass hands the part back), and verify's wait in LoadBalancersReady."""
        store = run.found.observed.get(Resource.TRUST_STORE_ARN)
        source = inputs.trust_bundle
        if store is not None and store.state.bundle_sha256:
            status["trustStore"] = {
                "arn": store.id, "bundleSha256": store.state.bundle_sha256,
                "certificates": store.state.loaded_certificates,
                "bundleUri": s3_uri(source.bucket, source.key) if source else None,
                "clientCertRotation": source.client_cert_rotation if source else None,
            }
        waits = verify_waits_for(inputs, run.found)
        if not waits:
            return
        for index, hop in enumerate(run.hops):
            if hop.type == ConditionType.LOAD_BALANCERS_READY:
                message = "; ".join(m for m in (hop.message if hop.status is not True else "",
                                                f"mutual TLS verify waits (the listener is off meanwhile): {waits}")
                                    if m)
                run.hops[index] = Condition(hop.type, False, "WaitingForTrustBundle"
                                            if hop.status is True else hop.reason, message)

    # ---- the probe (spec.probe) -----------------------------------------------------------------
    @staticmethod
    def _probe_due(obj: KubeObject, every: int, changed: bool) -> bool:
        """After a change, for a new generation, while failing, and at every `every`-th check otherwise."""
        last = obj.status.get("probe") or {}
        if changed or last.get("probedGeneration") != obj.generation:
            return True
        if not cond.is_true(obj.status.get("conditions"), ConditionType.TRAFFIC_FLOWS):
            return True
        return int(last.get("checksSince") or 0) + 1 >= every

    def _probe(self, obj: KubeObject, spec: HybridApiSpec, ctx: PartContext, run: ChainRun,
               status: dict[str, Any],
               info: list[Condition]) -> list[Condition]:
        """TrafficFlows: one TestInvokeMethod through the converged chain when due (probe.py); [] without a probe.
        Its verdict gates Ready; while the chain itself is not converged the hops gate it and no call is made."""
        check = spec.probe
        previous = cond.get(obj.status.get("conditions"), ConditionType.TRAFFIC_FLOWS)
        if check is None:
            if previous is not None:  # a probe was removed: say so rather than keep its last verdict
                info.append(Condition(ConditionType.TRAFFIC_FLOWS, None, "NoProbe", "spec.probe is not set"))
            status["probe"] = None
            return []
        found = run.found.observed
        pending = [h for h in run.hops if h.status is not True]
        if pending or Resource.STAGE_NAME not in found:
            first = pending[0].type if pending else ConditionType.API_DEPLOYED
            info.append(Condition(ConditionType.TRAFFIC_FLOWS, None, "WaitingForChain",
                                  f"the probe runs once {first} is True"))
            return []
        last = dict(obj.status.get("probe") or {})
        if not self._probe_due(obj, check.every_nth_drift_check, any(o.action for o in run.outcomes)):
            last["checksSince"] = int(last.get("checksSince") or 0) + 1
            status["probe"] = last
            # The last verdict still stands (it was True, or the probe would be due).
            return [Condition(ConditionType.TRAFFIC_FLOWS, True, str((previous or {}).get("reason") or "ProbePassed"),
                              str((previous or {}).get("message") or ""))]
        rest_api_id = found[Resource.REST_API_ID].id
        cert_id = found[Resource.STAGE_NAME].state.client_certificate_id or None
        try:
            answer, route = probe.run(ctx, rest_api_id, found[Resource.REST_API_ID].state, check.path, check.method,
                                      cert_id)
        except ClientError as exc:
            if error_code(exc) != "BadRequestException":
                raise
            # E.g. a client certificate deleted between the stage read and the call: a verdict, not a stall.
            message = exc.response.get("Error", {}).get("Message") or error_code(exc)
            status["probe"] = {"lastProbeTime": cond.now_rfc3339(), "clientCertificateId": cert_id, "checksSince": 0,
                               "probedGeneration": obj.generation}
            return [Condition(ConditionType.TRAFFIC_FLOWS, False, "ProbeRejected",
                              f"API Gateway refused the test invocation of {check.method} {check.path}: {message}")]
        health = status["backendHealth"]
        header = spec.api.gateway_secret_header
        verdict = probe.diagnose(answer, route, check.expect_status, probe.ChainFacts(
            hostname=spec.front_door.hostname, healthy_targets=health["healthy"], total_targets=health["total"],
            secret_header=header.name if header else None, mutual_tls_mode=spec.front_door.mutual_tls.mode,
            client_certificate_id=cert_id))
        status["probe"] = {"lastProbeTime": cond.now_rfc3339(), "statusCode": answer.status,
                           "latencyMs": answer.latency_ms, "clientCertificateId": cert_id, "checksSince": 0,
                           "probedGeneration": obj.generation}
        return [Condition(ConditionType.TRAFFIC_FLOWS, verdict.ok, verdict.reason, verdict.message)]

    def effective_disable_execute_api(self, obj: KubeObject, spec: HybridApiSpec) -> bool:
        """This object's own wish, OR'ed with every MtlsDomain that maps it (api.md: one writer).

        An MtlsDomain counts while it is not being deleted, maps this HybridApi and has
        disableDefaultEndpoints (default true). The value is part of the REST API's definition hash,
        so a change redeploys the stage (AWS applies the setting on deployment). An MtlsDomain whose
        mappings change asks this HybridApi to reconcile (annotation reconcile.hybridgateway.io/requested-at).
        """
        if spec.api.disable_execute_api_endpoint:
            return True
        for domain in self.runtime.kube.list_objects(MTLS_DOMAIN.plural, obj.namespace):
            if (domain.get("metadata") or {}).get("deletionTimestamp"):
                continue
            try:
                domain_spec = MtlsDomainSpec.model_validate(domain.get("spec") or {})
            except ValidationError:
                continue  # stalled on its own spec: it maps nothing yet
            if domain_spec.disables_default_endpoint_of(obj.name):
                return True
        return False

    # ---- status helpers -------------------------------------------------------------------------
    @staticmethod
    def _backend_condition(health: dict[str, int]) -> Condition:
        healthy, total = health["healthy"], health["total"]
        if total and healthy == total:
            return Condition(ConditionType.BACKEND_HEALTHY, True, "AllTargetsHealthy",
                             f"{healthy}/{total} targets healthy")
        return Condition(ConditionType.BACKEND_HEALTHY, False, "TargetsUnhealthy",
                         f"{healthy}/{total} targets healthy: check the on-prem load balancer and Direct Connect")

    @staticmethod
    def _expiry_metric(obj: KubeObject, cert: Observed[certificate.CertificateState]) -> None:
        not_after = cert.state.not_after
        if not not_after:
            return
        when = dt.datetime.fromisoformat(str(not_after).replace("Z", "+00:00"))
        labels = (obj.kind, obj.namespace, obj.name, cert.id, "front-door")
        metrics.CERTIFICATE_EXPIRY_TIMESTAMP.labels(*labels).set(when.timestamp())
        metrics.CERTIFICATE_EXPIRY_DAYS.labels(*labels).set(
            (when - dt.datetime.now(dt.UTC)).total_seconds() / 86400)

    # ---- deletion -------------------------------------------------------------------------------
    def finalize(self, obj: KubeObject) -> FinalizeResult:
        spec = teardown_spec(HybridApiSpec, obj, TEARDOWN_FIELDS)
        if spec.retain:
            return FinalizeResult(True, [Event("Deleted", "deletionPolicy Retain: AWS resources kept")])
        ctx = PartContext(self.runtime.aws, spec.region, obj.owner)
        # The REST API and the VPC link are found by their ids and owner tags, not by name.
        known = dict(obj.status.get("resources") or {})
        retiring = obj.status.get("retiring") or {}
        # Every link side this object has (or still retires) ids of; an object an older operator made is V1.
        versions = {str(obj.status.get("vpcLinkVersion") or VPC_LINK_V1)}
        versions |= {VPC_LINK_V1} if any(retiring.get(k) for k in V1_KEYS) else set()
        versions |= {VPC_LINK_V2} if any(retiring.get(k) or known.get(k) for k in V2_KEYS) else set()
        inputs = Inputs(spec, api_name="", trust_store_recorded=bool(known.get(Resource.TRUST_STORE_ARN)),
                        link_versions=frozenset(versions), owner_uid=obj.owner.uid)
        teardown = CHAIN.finalize(ctx, inputs, known, retiring)
        events = [Event("Deleted", f"Deleted {what}") for what in teardown.deleted]
        return FinalizeResult(teardown.done, events, teardown.waiting_for)
