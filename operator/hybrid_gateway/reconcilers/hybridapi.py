"""HybridApi: API Gateway -> VPC link -> NLB -> ALB -> on-prem, HTTPS on every hop (seeds 000, 002).

Parts are ensured in dependency order; a part whose inputs are not ready yet (a certificate still
validating, a VPC link still PENDING) is skipped this pass and its hop reported as waiting, while
every part that does not depend on it goes ahead, so independent waits overlap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from hybrid_gateway import metrics
from hybrid_gateway.aws.errors import error_code
from hybrid_gateway.errors import Stalled
from hybrid_gateway.parts import certificate, dns, listeners, load_balancers, rest_api, stage, target_groups
from hybrid_gateway.parts import security_group as sg
from hybrid_gateway.parts.base import Observed, PartContext
from hybrid_gateway.parts.vpc_link import VpcLinkDesired, VpcLinkPart
from hybrid_gateway.reconcilers.base import Event, FinalizeResult, KubeObject, PassResult, Reconciler
from hybrid_gateway.reconcilers.chain import Chain, Found, Step
from hybrid_gateway.reconcilers.hybridapi_spec import HybridApiSpec, check_subnets
from hybrid_gateway.reconcilers.inputs import check_name_in_zone
from hybrid_gateway.reconcilers.mtlsdomain_spec import maps as mtls_domain_maps
from hybrid_gateway.status.conditions import Condition

CERTIFICATE_READY = "CertificateReady"
LOAD_BALANCERS_READY = "LoadBalancersReady"
BACKEND_HEALTHY = "BackendHealthy"
DNS_READY = "DnsReady"
VPC_LINK_READY = "VpcLinkReady"
API_DEPLOYED = "ApiDeployed"


@dataclass(frozen=True)
class Inputs:
    """What the steps read: the spec, plus what this pass read from Kubernetes (None in finalize,
    which needs neither the certificate Secret nor the gateway secret)."""

    spec: HybridApiSpec
    certificate_desired: Any = None
    secret_header: tuple[str, str] | None = None
    disable_execute_api_endpoint: bool = False

    def health_check(self) -> target_groups.HealthCheck:
        hc = self.spec.health_check
        return target_groups.HealthCheck(
            protocol="HTTPS", path=hc.path, matcher=hc.matcher, interval_seconds=hc.interval_seconds,
            healthy_threshold=hc.healthy_threshold, unhealthy_threshold=hc.unhealthy_threshold,
            timeout_seconds=hc.timeout_seconds,
        )


def _alias_to_delete(ctx: PartContext, inputs: Inputs, known: dict[str, Any]) -> str | None:
    """The front-door record to delete, if it is ours. Route 53 records carry no tags: a record of
    that name we never wrote (the object stalled before any write) is someone else's."""
    if known.get("dnsRecordName"):
        return str(known["dnsRecordName"])
    # No status (a crash before the first status write): ours when it is an alias to our NLB.
    spec = inputs.spec
    nlb = load_balancers.Nlb().find(ctx, None, known.get("nlbArn"))
    if nlb is None:
        return None
    record = dns.DnsRecord(spec.hosted_zone_id, "A").find(ctx, None, spec.hostname)
    if record is not None and dns.norm_alias_dns(record.state.alias_dns_name or "") == dns.norm_alias_dns(
        nlb.state.dns_name
    ):
        return record.id
    return None


def _validation_record_to_delete(ctx: PartContext, inputs: Inputs, known: dict[str, Any]) -> str | None:
    """The DNS validation record of our requested certificate (from status, else from the
    certificate found by tags: a crash before the first status write leaves no name in status)."""
    if known.get("validationRecordName"):
        return str(known["validationRecordName"])
    cert = certificate.RequestedCertificate(inputs.spec.hostname).find(ctx, None, known.get("certificateArn"))
    record = dns.validation_record(cert.state) if cert is not None else None
    return record.name if record is not None else None


def _stage_desired(i: Inputs, f: Found) -> stage.StageDesired:
    s, api = i.spec, f["restApiId"]
    return stage.StageDesired(
        rest_api_id=api.id, stage_name=s.stage_name, api_definition_hash=api.state.api_definition_hash,
        variables=s.stage_variables, rate_limit=s.throttling.rate_limit, burst_limit=s.throttling.burst_limit,
        access_log_destination_arn=s.access_log_destination_arn,
    )


# The chain in dependency order (seed 000); finalize walks it backwards. Listeners and the stage go
# with their load balancer and REST API.
CHAIN: Chain[Inputs] = Chain(
    [
        Step("certificateArn", lambda i, f: i.spec.certificate.part_for(i.spec.hostname),
             lambda i, f: i.certificate_desired, hop=CERTIFICATE_READY),
        Step("validationRecordName", lambda i, f: dns.DnsRecord(i.spec.hosted_zone_id, "CNAME"),
             lambda i, f: dns.validation_record(f["certificateArn"].state), after=("certificateArn",),
             hop=CERTIFICATE_READY, when=lambda i: i.spec.certificate.request,
             finalize_id=_validation_record_to_delete),
        Step("backendTargetGroupArn", lambda i, f: target_groups.BackendTargetGroup(),
             lambda i, f: target_groups.TargetGroupDesired.backend(
                 i.spec.vpc_id, [(t.ip, t.port) for t in i.spec.targets], i.health_check(),
                 port=i.spec.targets[0].port)),
        Step("albSecurityGroupId", lambda i, f: sg.SecurityGroup(),
             lambda i, f: sg.SecurityGroupDesired(vpc_id=i.spec.vpc_id)),
        Step("albArn", lambda i, f: load_balancers.Alb(),
             lambda i, f: load_balancers.LoadBalancerDesired(
                 i.spec.vpc_id, i.spec.subnet_ids, (f.id("albSecurityGroupId"), *i.spec.extra_security_group_ids)),
             after=("albSecurityGroupId",), hop=LOAD_BALANCERS_READY),
        Step("albListenerArn", lambda i, f: listeners.AlbListener(f.id("albArn")),
             lambda i, f: listeners.ListenerDesired(
                 "HTTPS", f.id("backendTargetGroupArn"), f.id("certificateArn"), i.spec.ssl_policy),
             after=("albArn", "backendTargetGroupArn"), ready=("certificateArn",), hop=LOAD_BALANCERS_READY,
             removed_with="albArn"),
        # An ALB can be registered only once it has a listener on the target group's port.
        Step("albTargetGroupArn", lambda i, f: target_groups.AlbTargetGroup(),
             lambda i, f: target_groups.TargetGroupDesired.alb(
                 i.spec.vpc_id, f.id("albArn"), target_groups.HealthCheck(
                     protocol="HTTPS", path=i.spec.health_check.path, matcher=i.spec.health_check.matcher)),
             after=("albListenerArn",), hop=LOAD_BALANCERS_READY),
        Step("nlbArn", lambda i, f: load_balancers.Nlb(),
             lambda i, f: load_balancers.LoadBalancerDesired(i.spec.vpc_id, i.spec.subnet_ids),
             hop=LOAD_BALANCERS_READY),
        Step("nlbListenerArn", lambda i, f: listeners.NlbListener(f.id("nlbArn")),
             lambda i, f: listeners.ListenerDesired("TCP", f.id("albTargetGroupArn")),
             after=("nlbArn", "albTargetGroupArn"), hop=LOAD_BALANCERS_READY, removed_with="nlbArn"),
        # The hostname the certificate covers resolves to the NLB.
        Step("dnsRecordName", lambda i, f: dns.DnsRecord(i.spec.hosted_zone_id, "A"),
             lambda i, f: dns.RecordDesired.alias_to(
                 i.spec.hostname, f["nlbArn"].state.dns_name, f["nlbArn"].state.canonical_hosted_zone_id),
             after=("nlbArn",), hop=DNS_READY, finalize_id=_alias_to_delete),
        Step("vpcLinkId", lambda i, f: VpcLinkPart(),
             lambda i, f: VpcLinkDesired(name=i.spec.api_name, target_arn=f.id("nlbArn")),
             after=("nlbArn",), hop=VPC_LINK_READY),
        # HTTP_PROXY integrations over the VPC link to https://<hostname>/..., then deployment and stage.
        Step("restApiId", lambda i, f: rest_api.RestApiPart(),
             lambda i, f: rest_api.RestApiDesired(
                 name=i.spec.api_name, hostname=i.spec.hostname, vpc_link_id=f.id("vpcLinkId"),
                 routes=tuple(rest_api.Route(r.path, r.methods, r.backend_path) for r in i.spec.routes),
                 disable_execute_api_endpoint=i.disable_execute_api_endpoint, secret_header=i.secret_header),
             ready=("vpcLinkId",), hop=API_DEPLOYED),
        Step("stageName", lambda i, f: stage.StagePart(f.id("restApiId")), _stage_desired,
             after=("restApiId",), hop=API_DEPLOYED, removed_with="restApiId"),
    ],
    ok={
        CERTIFICATE_READY: "the front-door certificate is ISSUED",
        LOAD_BALANCERS_READY: "internal ALB (HTTPS) and NLB (TCP 443) are active",
        DNS_READY: "the front-door hostname resolves to the NLB",
        VPC_LINK_READY: "the VPC link is AVAILABLE",
        API_DEPLOYED: "the stage serves the current definition",
    },
)


class HybridApiReconciler(Reconciler):
    kind = "HybridApi"
    plural = "hybridapis"

    # ---- inputs ---------------------------------------------------------------------------------
    def _secret_header(self, obj: KubeObject, spec: HybridApiSpec) -> tuple[str, str] | None:
        if not spec.secret_ref or not spec.secret_header_name:
            return None
        name, key = spec.secret_ref
        return spec.secret_header_name, self.runtime.kube.secret_value(obj.namespace, name, key)

    def _validate(self, ctx: PartContext, spec: HybridApiSpec) -> None:
        """Checks that need AWS reads; each raises Stalled before anything is written."""
        try:
            subnets = ctx.client("ec2").describe_subnets(SubnetIds=list(spec.subnet_ids))["Subnets"]
        except ClientError as exc:
            if error_code(exc).startswith("InvalidSubnet"):
                message = exc.response["Error"].get("Message")
                raise Stalled("SubnetNotFound", f"spec.network.subnetIds: {message}") from None
            raise
        check_subnets(subnets, spec.subnet_ids, spec.vpc_id)
        check_name_in_zone(ctx, spec.hostname, spec.hosted_zone_id, name_field="spec.frontDoor.hostname",
                           zone_field="spec.frontDoor.hostedZoneId", reason="HostnameOutsideHostedZone")

    # ---- the pass -------------------------------------------------------------------------------
    def reconcile(self, obj: KubeObject) -> PassResult:
        spec = HybridApiSpec.parse(obj)
        inputs = Inputs(
            spec,
            certificate_desired=spec.certificate.desired(self.runtime.kube, obj.namespace, spec.hostname),
            secret_header=self._secret_header(obj, spec),
            disable_execute_api_endpoint=self.effective_disable_execute_api(obj, spec),
        )
        ctx = PartContext(self.runtime.aws, spec.region, obj.owner)
        self._validate(ctx, spec)
        run = CHAIN.ensure(ctx, inputs, dict(obj.status.get("resources") or {}))
        found = run.found.observed
        status: dict[str, Any] = {"frontDoorUrl": f"https://{spec.hostname}", "resources": run.resources}
        cert = found["certificateArn"]
        status["certificate"] = {"arn": cert.id, "notAfter": cert.state.not_after}
        self._expiry_metric(obj, cert)
        # The target group part has just read its targets' health: no second DescribeTargetHealth.
        backend = found["backendTargetGroupArn"].state
        status["backendHealth"] = {"healthy": backend.healthy, "total": backend.total}
        if "stageName" in found:
            deployed = found["stageName"].state
            run.resources["deploymentId"] = deployed.deployment_id
            status["invokeUrl"] = deployed.invoke_url
            status["clientCertificateId"] = deployed.client_certificate_id
        info = self._backend_condition(status["backendHealth"])
        return PassResult(hops=run.hops, status=status, outcomes=run.outcomes, info=[info])

    def effective_disable_execute_api(self, obj: KubeObject, spec: HybridApiSpec) -> bool:
        """This object's own wish, OR'ed with every MtlsDomain that maps it (api.md: one writer).

        An MtlsDomain counts while it is not being deleted, maps this HybridApi and has
        disableDefaultEndpoints (default true). The value is part of the REST API's definition hash,
        so a change redeploys the stage (AWS applies the setting on deployment). An MtlsDomain whose
        mappings change asks this HybridApi to reconcile (annotation reconcile.hybridgateway.io/requested-at).
        """
        if spec.disable_execute_api_endpoint:
            return True
        for domain in self.runtime.kube.list_objects("mtlsdomains", obj.namespace):
            if (domain.get("metadata") or {}).get("deletionTimestamp"):
                continue
            if mtls_domain_maps(domain.get("spec") or {}, obj.name):
                return True
        return False

    # ---- status helpers -------------------------------------------------------------------------
    @staticmethod
    def _backend_condition(health: dict[str, int]) -> Condition:
        healthy, total = health["healthy"], health["total"]
        if total and healthy == total:
            return Condition(BACKEND_HEALTHY, True, "AllTargetsHealthy", f"{healthy}/{total} targets healthy")
        return Condition(BACKEND_HEALTHY, False, "TargetsUnhealthy",
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
        spec = HybridApiSpec.parse(obj)
        if spec.retain:
            return FinalizeResult(True, [Event("Deleted", "deletionPolicy Retain: AWS resources kept")])
        ctx = PartContext(self.runtime.aws, spec.region, obj.owner)
        teardown = CHAIN.finalize(ctx, Inputs(spec), dict(obj.status.get("resources") or {}))
        events = [Event("Deleted", f"Deleted {what}") for what in teardown.deleted]
        return FinalizeResult(teardown.done, events, teardown.waiting_for)
