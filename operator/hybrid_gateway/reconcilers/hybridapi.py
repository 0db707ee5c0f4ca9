"""HybridApi: API Gateway -> VPC link -> NLB -> ALB -> on-prem, HTTPS on every hop (seeds 000, 002).

Parts are ensured in dependency order; a part whose inputs are not ready yet (a certificate still
validating, a VPC link still PENDING) is skipped this pass and its hop reported as waiting, while
every part that does not depend on it goes ahead, so independent waits overlap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from hybrid_gateway import metrics
from hybrid_gateway.api.v1alpha1.hybridapi import HYBRID_API, ConditionType, HybridApiSpec, Resource, Throttling
from hybrid_gateway.api.v1alpha1.mtlsdomain import MTLS_DOMAIN, MtlsDomainSpec
from hybrid_gateway.aws.errors import error_code
from hybrid_gateway.errors import Stalled
from hybrid_gateway.parts import certificate, dns, listeners, load_balancers, rest_api, stage, target_groups
from hybrid_gateway.parts import security_group as sg
from hybrid_gateway.parts.base import Observed, Outcome, Part, PartContext, PartError
from hybrid_gateway.parts.vpc_link import VpcLinkDesired, VpcLinkPart
from hybrid_gateway.reconcilers.base import Event, FinalizeResult, KubeObject, PassResult, Reconciler, parse_spec
from hybrid_gateway.reconcilers.inputs import certificate_part, check_name_in_zone
from hybrid_gateway.status.conditions import Condition

CERTIFICATE_READY = ConditionType.CERTIFICATE_READY
LOAD_BALANCERS_READY = ConditionType.LOAD_BALANCERS_READY
BACKEND_HEALTHY = ConditionType.BACKEND_HEALTHY
DNS_READY = ConditionType.DNS_READY
VPC_LINK_READY = ConditionType.VPC_LINK_READY
API_DEPLOYED = ConditionType.API_DEPLOYED


@dataclass
class Chain:
    """Runs parts for one pass and remembers their ids (status.resources) and outcomes."""

    ctx: PartContext
    resources: dict[str, Any]
    outcomes: list[Outcome] = field(default_factory=list)

    def ensure(self, part: Part[Any], desired: Any, key: str) -> Observed:
        outcome = part.ensure(self.ctx, desired, self.resources.get(key))
        self.outcomes.append(outcome)
        self.resources[key] = outcome.observed.id
        superseded = outcome.observed.state.pop("supersedes", None)
        if superseded:
            # A replacement now carries the traffic; the resource it replaced can go.
            part.remove(self.ctx, superseded)
        return outcome.observed


def hop(type_: str, ready: bool, waiting_for: str, ok: str = "") -> Condition:
    if ready:
        return Condition(type_, True, "Ready", ok)
    return Condition(type_, False, "Waiting", waiting_for)


def check_subnets(subnets: list[dict[str, Any]], wanted: tuple[str, ...], vpc_id: str) -> None:
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


class HybridApiReconciler(Reconciler):
    kind = HYBRID_API.kind
    plural = HYBRID_API.plural

    # ---- inputs ---------------------------------------------------------------------------------
    def _secret_header(self, obj: KubeObject, spec: HybridApiSpec) -> tuple[str, str] | None:
        header = spec.api.gateway_secret_header
        if header is None:
            return None
        ref = header.secret_ref
        return header.name, self.runtime.kube.secret_value(obj.namespace, ref.name, ref.key)

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

    # ---- the pass -------------------------------------------------------------------------------
    def reconcile(self, obj: KubeObject) -> PassResult:
        spec = parse_spec(HybridApiSpec, obj)
        try:
            secret_header = self._secret_header(obj, spec)
            front = spec.front_door
            cert_part, cert_desired = certificate_part(front.certificate, self.runtime.kube, obj.namespace,
                                                       front.hostname)
            ctx = PartContext(self.runtime.aws, spec.region, obj.owner)
            self._validate(ctx, spec)
            return self._ensure_chain(obj, spec, ctx, cert_part, cert_desired, secret_header)
        except PartError as exc:
            if exc.retryable:
                raise
            raise Stalled(exc.reason, exc.message) from None

    def _ensure_chain(
        self, obj: KubeObject, spec: HybridApiSpec, ctx: PartContext,
        cert_part: Part[Any], cert_desired: Any, secret_header: tuple[str, str] | None,
    ) -> PassResult:
        chain = Chain(ctx, dict(obj.status.get("resources") or {}))
        front, backend, network, api_spec = spec.front_door, spec.backend, spec.network, spec.api
        health, stage_spec = backend.health_check, api_spec.stage
        throttling = stage_spec.throttling or Throttling()
        api_name = spec.rest_api_name(obj.namespace, obj.name)
        hops: list[Condition] = []
        status: dict[str, Any] = {"frontDoorUrl": f"https://{front.hostname}"}

        # 1. Front-door certificate (and its DNS validation record when ACM issues it).
        cert = chain.ensure(cert_part, cert_desired, Resource.CERTIFICATE_ARN)
        record = dns.validation_record(cert.state) if front.certificate.requested else None
        if record is not None:
            chain.ensure(dns.DnsRecord(front.hosted_zone_id, "CNAME"), record, Resource.VALIDATION_RECORD_NAME)
        hops.append(hop(CERTIFICATE_READY, cert.ready, cert.waiting_for, f"{cert.id} is ISSUED"))
        status["certificate"] = {"arn": cert.id, "notAfter": cert.state.get("notAfter")}
        self._expiry_metric(obj, cert)

        # 2-5. Load balancers: IP target group -> ALB (+SG, HTTPS listener) -> alb target group -> NLB.
        hc = target_groups.HealthCheck(
            protocol="HTTPS", path=health.path, matcher=health.matcher,
            interval_seconds=health.interval_seconds,
            healthy_threshold=health.healthy_threshold,
            unhealthy_threshold=health.unhealthy_threshold,
            timeout_seconds=health.timeout_seconds,
        )
        backend_tg = chain.ensure(
            target_groups.BackendTargetGroup(),
            target_groups.TargetGroupDesired.backend(network.vpc_id, [(t.ip, t.port) for t in backend.targets], hc,
                                                     port=backend.targets[0].port),
            Resource.BACKEND_TARGET_GROUP_ARN,
        )
        group = chain.ensure(sg.SecurityGroup(), sg.SecurityGroupDesired(vpc_id=network.vpc_id),
                             Resource.ALB_SECURITY_GROUP_ID)
        alb = chain.ensure(
            load_balancers.Alb(),
            load_balancers.LoadBalancerDesired(network.vpc_id, network.subnet_ids,
                                               (group.id, *(network.security_group_ids or ()))),
            Resource.ALB_ARN,
        )
        waiting: list[str] = [o.waiting_for for o in (alb,) if not o.ready]
        alb_listener = None
        if cert.ready:
            alb_listener = chain.ensure(
                listeners.AlbListener(alb.id),
                listeners.ListenerDesired("HTTPS", backend_tg.id, cert.id, front.ssl_policy),
                Resource.ALB_LISTENER_ARN,
            )
        else:
            waiting.append("the ALB listener waits for the certificate")
        nlb = chain.ensure(load_balancers.Nlb(),
                           load_balancers.LoadBalancerDesired(network.vpc_id, network.subnet_ids), Resource.NLB_ARN)
        if not nlb.ready:
            waiting.append(nlb.waiting_for)
        nlb_listener = None
        if alb_listener is not None:
            # An ALB can be registered only once it has a listener on the target group's port.
            alb_tg = chain.ensure(
                target_groups.AlbTargetGroup(),
                target_groups.TargetGroupDesired.alb(network.vpc_id, alb.id, target_groups.HealthCheck(
                    protocol="HTTPS", path=health.path, matcher=health.matcher)),
                Resource.ALB_TARGET_GROUP_ARN,
            )
            nlb_listener = chain.ensure(listeners.NlbListener(nlb.id), listeners.ListenerDesired("TCP", alb_tg.id),
                                        Resource.NLB_LISTENER_ARN)
        lbs_ready = alb.ready and nlb.ready and nlb_listener is not None
        hops.append(hop(LOAD_BALANCERS_READY, lbs_ready, "; ".join(waiting),
                        "internal ALB (HTTPS) and NLB (TCP 443) are active"))
        # The target group part has just read its targets' health: no second DescribeTargetHealth.
        status["backendHealth"] = self._backend_health(backend_tg)

        # 6. Route 53 alias: the hostname the certificate covers resolves to the NLB.
        alias = chain.ensure(
            dns.DnsRecord(front.hosted_zone_id, "A"),
            dns.RecordDesired.alias_to(front.hostname, nlb.state["dnsName"], nlb.state["canonicalHostedZoneId"]),
            Resource.DNS_RECORD_NAME,
        )
        hops.append(hop(DNS_READY, True, "", f"{alias.id} -> {nlb.state['dnsName']}"))

        # 7. VPC link to the NLB.
        link = chain.ensure(VpcLinkPart(), VpcLinkDesired(name=api_name, target_arn=nlb.id), Resource.VPC_LINK_ID)
        hops.append(hop(VPC_LINK_READY, link.ready, link.waiting_for, f"{link.id} is AVAILABLE"))

        # 8-9. REST API with HTTP_PROXY integrations over the VPC link, then deployment and stage.
        if link.ready:
            api = chain.ensure(
                rest_api.RestApiPart(),
                rest_api.RestApiDesired(
                    name=api_name, hostname=front.hostname, vpc_link_id=link.id,
                    routes=tuple(rest_api.Route(r.path, r.methods, r.backend_path) for r in api_spec.routes),
                    disable_execute_api_endpoint=self.effective_disable_execute_api(obj, spec),
                    secret_header=secret_header,
                ),
                Resource.REST_API_ID,
            )
            deployed = chain.ensure(
                stage.StagePart(api.id),
                stage.StageDesired(
                    rest_api_id=api.id, stage_name=stage_spec.name,
                    api_definition_hash=api.state["api_definition_hash"],
                    variables=dict(stage_spec.variables or {}), rate_limit=throttling.rate_limit,
                    burst_limit=throttling.burst_limit,
                    access_log_destination_arn=stage_spec.access_log_destination_arn or None,
                ),
                Resource.STAGE_NAME,
            )
            chain.resources[Resource.DEPLOYMENT_ID] = deployed.state.get("deployment_id")
            status["invokeUrl"] = deployed.state.get("invoke_url")
            status["clientCertificateId"] = deployed.state.get("client_certificate_id")
            hops.append(hop(API_DEPLOYED, True, "", f"stage {stage_spec.name} serves the current definition"))
        else:
            hops.append(hop(API_DEPLOYED, False, "the REST API waits for the VPC link"))

        status["resources"] = chain.resources
        info = self._backend_condition(status["backendHealth"])
        return PassResult(hops=hops, status=status, outcomes=chain.outcomes, info=[info])

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
    def _backend_health(target_group: Observed) -> dict[str, int]:
        """Healthy / registered on-prem targets (draining ones, on their way out, not counted)."""
        return {"healthy": int(target_group.state.get("healthy", 0)), "total": int(target_group.state.get("total", 0))}

    @staticmethod
    def _backend_condition(health: dict[str, int]) -> Condition:
        healthy, total = health["healthy"], health["total"]
        if total and healthy == total:
            return Condition(BACKEND_HEALTHY, True, "AllTargetsHealthy", f"{healthy}/{total} targets healthy")
        return Condition(BACKEND_HEALTHY, False, "TargetsUnhealthy",
                         f"{healthy}/{total} targets healthy: check the on-prem load balancer and Direct Connect")

    @staticmethod
    def _expiry_metric(obj: KubeObject, cert: Observed) -> None:
        not_after = cert.state.get("notAfter")
        if not not_after:
            return
        when = dt.datetime.fromisoformat(str(not_after).replace("Z", "+00:00"))
        labels = (obj.kind, obj.namespace, obj.name, cert.id, "front-door")
        metrics.CERTIFICATE_EXPIRY_TIMESTAMP.labels(*labels).set(when.timestamp())
        metrics.CERTIFICATE_EXPIRY_DAYS.labels(*labels).set(
            (when - dt.datetime.now(dt.UTC)).total_seconds() / 86400)

    # ---- deletion -------------------------------------------------------------------------------
    def finalize(self, obj: KubeObject) -> FinalizeResult:
        spec = parse_spec(HybridApiSpec, obj)
        if spec.retain:
            return FinalizeResult(True, [Event("Deleted", "deletionPolicy Retain: AWS resources kept")])
        ctx = PartContext(self.runtime.aws, spec.region, obj.owner)
        known = dict(obj.status.get("resources") or {})
        owned_certificate: Part[Any] | None = None
        if spec.front_door.certificate.secret_name:
            owned_certificate = certificate.ImportedCertificate(spec.front_door.hostname)
        elif spec.front_door.certificate.requested:
            owned_certificate = certificate.RequestedCertificate(spec.front_door.hostname)
        try:
            alias_name = self._alias_to_delete(ctx, spec, known)
            validation_name = self._validation_record_to_delete(ctx, spec, known)
        except ClientError as exc:
            return FinalizeResult(False, [], f"dns-record: {error_code(exc)}, retrying")
        # Reverse dependency order; deleting a REST API deletes its stages, a load balancer its listeners.
        steps: list[tuple[Part[Any], str | None]] = [
            (rest_api.RestApiPart(), known.get(Resource.REST_API_ID)),
            (VpcLinkPart(), known.get(Resource.VPC_LINK_ID)),
            (dns.DnsRecord(spec.front_door.hosted_zone_id, "A"), alias_name),
            (load_balancers.Nlb(), known.get(Resource.NLB_ARN)),
            (target_groups.AlbTargetGroup(), known.get(Resource.ALB_TARGET_GROUP_ARN)),
            (load_balancers.Alb(), known.get(Resource.ALB_ARN)),
            (sg.SecurityGroup(), known.get(Resource.ALB_SECURITY_GROUP_ID)),
            (target_groups.BackendTargetGroup(), known.get(Resource.BACKEND_TARGET_GROUP_ARN)),
        ]
        if validation_name:
            steps.append((dns.DnsRecord(spec.front_door.hosted_zone_id, "CNAME"), validation_name))
        if owned_certificate is not None:
            steps.append((owned_certificate, known.get(Resource.CERTIFICATE_ARN)))
        events: list[Event] = []
        for part, known_id in steps:
            try:
                deleted = part.remove(ctx, known_id)
            except (ClientError, PartError) as exc:
                # In use by something still being deleted (VPC link -> NLB, ALB ENIs -> SG): try again.
                code = exc.reason if isinstance(exc, PartError) else error_code(exc)
                return FinalizeResult(False, events, f"{part.name}: {code}, retrying")
            if deleted:
                events.append(Event("Deleted", f"Deleted {part.name} {deleted}"))
        return FinalizeResult(True, events)

    @staticmethod
    def _alias_to_delete(ctx: PartContext, spec: HybridApiSpec, known: dict[str, Any]) -> str | None:
        """The front-door record to delete, if it is ours. Route 53 records carry no tags: a record of
        that name we never wrote (the object stalled before any write) is someone else's."""
        if known.get(Resource.DNS_RECORD_NAME):
            return str(known[Resource.DNS_RECORD_NAME])
        # No status (a crash before the first status write): ours when it is an alias to our NLB.
        nlb = load_balancers.Nlb().find(ctx, known.get(Resource.NLB_ARN))
        if nlb is None:
            return None
        record = dns.DnsRecord(spec.front_door.hosted_zone_id, "A").find(ctx, spec.front_door.hostname)
        if record is not None and dns.norm_alias_dns(record.state.get("aliasDnsName") or "") == dns.norm_alias_dns(
            str(nlb.state.get("dnsName") or "")
        ):
            return record.id
        return None

    @staticmethod
    def _validation_record_to_delete(ctx: PartContext, spec: HybridApiSpec, known: dict[str, Any]) -> str | None:
        """The DNS validation record of our requested certificate (from status, else from the
        certificate found by tags: a crash before the first status write leaves no name in status)."""
        if not spec.front_door.certificate.requested:
            return None
        if known.get(Resource.VALIDATION_RECORD_NAME):
            return str(known[Resource.VALIDATION_RECORD_NAME])
        cert = certificate.RequestedCertificate(spec.front_door.hostname).find(ctx, known.get(Resource.CERTIFICATE_ARN))
        record = dns.validation_record(cert.state) if cert is not None else None
        return record.name if record is not None else None
