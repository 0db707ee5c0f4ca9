"""HybridApi: one on-premises HTTPS backend published through Amazon API Gateway, HTTPS on every hop."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field

from hybrid_gateway.api.v1alpha1.common import (
    BACKEND_PATH_PATTERN,
    HEALTH_CHECK_PATH_PATTERN,
    HTTP_HEADER_NAME_PATTERN,
    IPV4_PATTERN,
    LOGS_ARN_PATTERN,
    MATCHER_PATTERN,
    ROUTE_PATH_PATTERN,
    SET,
    SG_ID_PATTERN,
    SSL_POLICY_PATTERN,
    STAGE_VARIABLE_VALUE_PATTERN,
    SUBNET_ID_PATTERN,
    VPC_ID_PATTERN,
    AcmCertificateArn,
    CertificateRequest,
    CertificateSource,
    CertificateStatus,
    Column,
    Conditions,
    Described,
    HostedZoneId,
    HostName,
    Kind,
    Model,
    Rules,
    SpecBase,
    StageName,
    StatusBase,
    TestInvocation,
    TokenSecretKeyRef,
    acm_certificate_arn_field,
    certificate_request_field,
    conditions_field,
    list_map,
)

DEFAULT_STAGE_NAME = "prod"
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"]
HTTP_METHODS: tuple[str, ...] = get_args(HttpMethod)


class ConditionType(Described):
    """The hop conditions of a HybridApi (besides Ready, Reconciling, Stalled)."""

    CERTIFICATE_READY = "CertificateReady"
    LOAD_BALANCERS_READY = "LoadBalancersReady"
    BACKEND_HEALTHY = "BackendHealthy"
    DNS_READY = "DnsReady"
    VPC_LINK_READY = "VpcLinkReady"
    API_DEPLOYED = "ApiDeployed"
    # The probe's verdict (spec.probe): a request through the whole chain answered as expected.
    TRAFFIC_FLOWS = "TrafficFlows"


class Resource(Described):
    """Keys of status.resources: the AWS resources a HybridApi owns."""

    CERTIFICATE_ARN = "certificateArn", "ARN of the ACM certificate of the ALB listener."
    BACKEND_TARGET_GROUP_ARN = "backendTargetGroupArn", "ARN of the IP target group of the on-premises targets."
    ALB_ARN = "albArn", "ARN of the internal Application Load Balancer."
    ALB_SECURITY_GROUP_ID = "albSecurityGroupId", "Id of the security group the operator created for the ALB."
    ALB_LISTENER_ARN = "albListenerArn", "ARN of the ALB's HTTPS listener."
    ALB_TARGET_GROUP_ARN = "albTargetGroupArn", "ARN of the NLB target group of type `alb` that points at the ALB."
    NLB_ARN = "nlbArn", "ARN of the internal Network Load Balancer."
    NLB_LISTENER_ARN = "nlbListenerArn", "ARN of the NLB's TCP 443 listener."
    DNS_RECORD_NAME = "dnsRecordName", "Name of the Route 53 alias record of the front door."
    VALIDATION_RECORD_NAME = "validationRecordName", (
        "Name of the Route 53 CNAME record that validates the requested certificate (certificate.request).")
    VPC_LINK_ID = "vpcLinkId", "Id of the API Gateway VPC link V1 to the NLB (vpcLink.version V1)."
    VPC_LINK_SECURITY_GROUP_ID = "vpcLinkSecurityGroupId", (
        "Id of the security group of the shared VPC link V2 (vpcLink.version V2), which the ALB's security group "
        "admits on 443.")
    VPC_LINK_V2_ID = "vpcLinkV2Id", (
        "Id of the shared API Gateway VPC link V2 to the ALB (vpcLink.version V2); other HybridApis of the same VPC "
        "and subnets use it too.")
    REST_API_ID = "restApiId", "Id of the REST API."
    DEPLOYMENT_ID = "deploymentId", "Id of the deployment the stage points at."
    STAGE_NAME = "stageName", "Name of the deployed stage."
    TRUST_STORE_ARN = "trustStoreArn", "ARN of the ELB trust store of the ALB listener (frontDoor.mutualTls verify)."


# --------------------------------------------------------------------------------------------
# spec
# --------------------------------------------------------------------------------------------


VpcLinkVersion = Literal["V1", "V2"]
VPC_LINK_V1: VpcLinkVersion = "V1"
VPC_LINK_V2: VpcLinkVersion = "V2"


class VpcLink(Model):
    """Which kind of API Gateway VPC link carries the REST API's integrations to the internal ALB.
    Optional. docs/vpc-links.md."""

    version: VpcLinkVersion | None = Field(None, description=(
        "`V2`: a VPC link V2 straight to the ALB (the integrations name the ALB in integrationTarget), shared by "
        "every HybridApi of the same VPC and subnets; no NLB. `V1`: a VPC link V1 to an internal NLB that passes "
        "TCP 443 to the ALB (the legacy chain). Optional: without it a new object gets `V2` (API Gateway "
        "recommends V2 and calls V1 legacy) and an object whose V1 chain exists keeps `V1`, so that upgrading "
        "the operator never replaces a running chain. Changing it replaces the link side of the chain without "
        "a gap: the new path is ready before the integrations move to it. status.vpcLinkVersion shows the "
        "effective choice."))


class Network(Model):
    """Where the internal load balancers and the VPC link live in AWS. Required."""

    vpc_id: Annotated[str, Rules(pattern=VPC_ID_PATTERN)] = Field(description=(
        "Id of the VPC that reaches the on-premises network (over Direct Connect or VPN), for example "
        "`vpc-0123456789abcdef0`. Required."))
    subnet_ids: Annotated[tuple[Annotated[str, Rules(pattern=SUBNET_ID_PATTERN)], ...],
                          Rules(minItems=2, maxItems=6), SET] = Field(description=(
        "Ids of the subnets of vpcId for the internal ALB and NLB, for example "
        "`[subnet-0123456789abcdef0, subnet-0fedcba9876543210]`. Required: at least 2 and at most 6, each in "
        "a different Availability Zone, no duplicates."))
    security_group_ids: Annotated[tuple[Annotated[str, Rules(pattern=SG_ID_PATTERN)], ...],
                                  Rules(maxItems=4), SET] | None = Field(None, description=(
        "Extra security groups to attach to the ALB besides the one the operator creates (which admits the "
        "NLB, or the VPC link V2), for example `[sg-0123456789abcdef0]`. Optional, at most 4, no duplicates."))
    vpc_link: VpcLink = Field(default_factory=VpcLink)


class Target(Model):
    """One on-premises endpoint that serves HTTPS."""

    ip: Annotated[str, Rules(pattern=IPV4_PATTERN, maxLength=15)] = Field(
        description="IPv4 address of the endpoint in dotted-quad form, for example `192.168.10.5`. Required.")
    port: Annotated[int, Rules(minimum=1, maximum=65535)] = Field(
        description="TCP port on which the endpoint serves HTTPS, 1 to 65535, for example 443. Required.")


class HealthCheck(Model):
    """How the ALB checks that each backend target is healthy (HTTPS requests to every target). Optional;
    every field has a default, and the result is shown in status.backendHealth and the BackendHealthy
    condition."""

    path: Annotated[str, Rules(pattern=HEALTH_CHECK_PATH_PATTERN, maxLength=1024)] = Field("/", description=(
        "Path of the health-check request, for example `/healthz`. Must start with '/'. Default `/`."))
    matcher: Annotated[str, Rules(pattern=MATCHER_PATTERN)] = Field("200-399", description=(
        "HTTP status codes that mean healthy: a code, a range or a comma-separated list of them, between 200 "
        "and 499, for example `200`, `200-399` or `200,204`. Default `200-399`."))
    interval_seconds: Annotated[int, Rules(minimum=5, maximum=300)] = Field(30, description=(
        "Seconds between health checks of one target, 5 to 300. Default 30."))
    # 5 is also AWS's default for HTTPS target groups of type ip.
    timeout_seconds: Annotated[int, Rules(minimum=2, maximum=120)] = Field(5, description=(
        "Seconds without a response after which a check fails, 2 to 120; must be less than intervalSeconds. "
        "Default 5."))
    healthy_threshold: Annotated[int, Rules(minimum=2, maximum=10)] = Field(3, description=(
        "Consecutive successful checks before an unhealthy target is healthy again, 2 to 10. Default 3."))
    unhealthy_threshold: Annotated[int, Rules(minimum=2, maximum=10)] = Field(3, description=(
        "Consecutive failed checks before a target is unhealthy, 2 to 10. Default 3."))


class Backend(Model):
    """The on-premises HTTPS load balancer (reached over Direct Connect) that API Gateway finally calls.
    Self-signed certificates on the targets are fine: the internal ALB, not API Gateway, makes this last hop.
    Required."""

    targets: Annotated[tuple[Target, ...], Rules(minItems=1, maxItems=100), list_map("ip", "port")] = Field(
        description=(
            "The on-premises endpoints, registered as IP targets of the ALB's target group (Availability Zone "
            "`all`), for example `[{ip: 192.168.10.5, port: 443}]`. Required: 1 to 100 entries, each ip:port "
            "once. The addresses must be reachable from the VPC and, outside the VPC, private (10.0.0.0/8, "
            "172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10), as Elastic Load Balancing requires."))
    health_check: HealthCheck = Field(default_factory=HealthCheck)


class FrontDoorCertificate(CertificateSource):
    acm_certificate_arn: AcmCertificateArn | None = acm_certificate_arn_field("frontDoor.hostname")
    request: CertificateRequest | None = certificate_request_field("frontDoor.hostname", "frontDoor.hostedZoneId")


MutualTlsMode = Literal["off", "passthrough", "verify"]


class MutualTls(Model):
    """Mutual TLS on the ALB's HTTPS listener: what the ALB does with the client certificate API Gateway presents
    (the stage's client certificate, set by a ClientCertRotation). Optional; default mode `off`."""

    mode: MutualTlsMode = Field("off", description=(
        "`off`: the ALB asks for no client certificate and the backend never sees the stage's certificate. "
        "`passthrough`: the ALB accepts the certificate without checking it and forwards it to the targets in "
        "the `X-Amzn-Mtls-Clientcert` header (URL-encoded PEM); the on-premises backend checks it against the "
        "trust bundle a ClientCertRotation publishes. `verify`: the ALB itself refuses, in the TLS handshake, a "
        "certificate that is not in an ELB trust store the operator builds from the S3 copy of that bundle (the "
        "ClientCertRotation that names this stage must set spec.backendTrust.s3); until the stage presents a "
        "certificate of that bundle the listener stays `off` and LoadBalancersReady says what it waits for. "
        "Default `off` (Elastic Load Balancing's own default; the other modes change what the backend receives "
        "or refuse calls, so they are asked for, not assumed). docs/mutual-tls.md."))


class FrontDoor(Model):
    """The public-CA HTTPS name that API Gateway's VPC link integration calls. It resolves (Route 53 alias in
    hostedZoneId) to the internal NLB, which passes TCP 443 to the internal ALB that terminates TLS with the
    ACM certificate below. API Gateway only trusts certificates from public CAs, which is why this hop exists.
    Required."""

    hostname: HostName = Field(description=(
        "Fully qualified host name of the front door, for example `orders-backend.example.com`. Required: "
        "lower-case letters, digits, '-' and '.', at least one dot, no wildcard, no trailing dot, at most 253 "
        "characters."))
    hosted_zone_id: HostedZoneId = Field(description=(
        "Id of the Route 53 hosted zone that holds hostname (the alias record, and the certificate validation "
        "records when certificate.request is used), for example `Z0123456789ABCDEFGHIJ`. Required."))
    certificate: FrontDoorCertificate = Field(description=(
        "Where the ALB's TLS certificate for hostname comes from. Required. Set exactly one of "
        "acmCertificateArn, secretRef and request; setting none or more than one is rejected."))
    ssl_policy: Annotated[str, Rules(pattern=SSL_POLICY_PATTERN, maxLength=128)] = Field(
        "ELBSecurityPolicy-TLS13-1-2-2021-06", description=(
            "Security policy of the ALB's HTTPS listener (TLS versions and ciphers it offers to API Gateway), "
            "any `ELBSecurityPolicy-...` name Elastic Load Balancing knows. Default "
            "`ELBSecurityPolicy-TLS13-1-2-2021-06` (TLS 1.3 and 1.2)."))
    mutual_tls: MutualTls = Field(default_factory=MutualTls)


class Route(Model):
    """One API Gateway resource path with its methods, proxied (HTTP_PROXY over the VPC link) to
    https://<frontDoor.hostname><backendPath>."""

    path: Annotated[str, Rules(maxLength=1024, pattern=ROUTE_PATH_PATTERN)] = Field(description=(
        "Resource path in the REST API, for example `/orders`, `/orders/{id}` or `/{proxy+}`. Must start with "
        "'/'; segments are letters, digits, '.', '_', '~', '-', or a `{param}`; only the last segment may be "
        "greedy (`{name+}`). Required; unique in the list."))
    methods: Annotated[tuple[HttpMethod, ...], Rules(minItems=1, maxItems=len(HTTP_METHODS)), SET] = Field(
        ("ANY",), description=(
            "HTTP methods of the path: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, or ANY for all of them, "
            "for example `[GET, POST]`. At least one, no duplicates. Default `[ANY]`."))
    backend_path: Annotated[str, Rules(maxLength=1024, pattern=BACKEND_PATH_PATTERN)] | None = Field(
        None, description=(
            "Path on the backend that the route calls, for example `/api/orders`; may use the route's "
            "parameters, e.g. `/api/{proxy}`. Must start with '/'. Default: the same as path (with a greedy "
            "`{name+}` passed on as `{name}`)."))


class Throttling(Model):
    """Default method throttling of the stage (a token bucket). Optional; without it the account-level limits
    apply."""

    rate_limit: Annotated[float, Rules(format="double", minimum=0)] | None = Field(
        None, description="Steady-state requests per second allowed, 0 or more, for example 100.")
    burst_limit: Annotated[int, Rules(format="int32", minimum=0)] | None = Field(
        None, description="Largest burst of requests allowed above the rate, 0 or more, for example 200.")


StageVariable = Annotated[str, Rules(description="Value of the stage variable, for example `v2`.", maxLength=512,
                                     pattern=STAGE_VARIABLE_VALUE_PATTERN)]


class Stage(Model):
    """The stage the REST API is deployed to. Optional; defaults to a stage named `prod` without variables or
    throttling. Its client certificate is not set here but by a ClientCertRotation that names the stage."""

    name: StageName = Field(DEFAULT_STAGE_NAME, description=(
        "Name of the stage, which is the last part of the invoke URL, for example `prod`. Letters, digits and "
        "'_' only. Default `prod`."))
    variables: dict[str, StageVariable] | None = Field(None, description=(
        "Stage variables, name to value, for example `{backendVersion: v2}`. Optional. Values may contain "
        "letters, digits and -._~:/?#&=, only, at most 512 characters."))
    throttling: Throttling | None = None
    access_log_destination_arn: Annotated[str, Rules(maxLength=2048, pattern=LOGS_ARN_PATTERN)] | None = Field(
        None, description=(
            "ARN of a CloudWatch Logs log group that receives the stage's access logs, for example "
            "`arn:aws:logs:ap-northeast-1:111122223333:log-group:orders-access`. Optional; empty (the default) "
            "turns access logging off."))


class GatewaySecretHeader(Model):
    """A shared-secret header that every integration request carries to the backend, so that the backend can
    refuse calls that did not come through API Gateway. Optional. The value is read from a Secret and updated
    in API Gateway (with a redeployment) when the Secret changes; it never appears in status, events or
    logs."""

    name: Annotated[str, Rules(maxLength=256, pattern=HTTP_HEADER_NAME_PATTERN)] = Field(
        "X-Gateway-Secret", description=(
            "Name of the HTTP header, for example `X-Gateway-Secret`. An HTTP token (letters, digits and "
            "!#$%&'*+.^_`|~-). Default `X-Gateway-Secret`."))
    secret_ref: TokenSecretKeyRef = Field(description=(
        "The Secret key whose value is sent as the header value, for example "
        "`{name: orders-gateway-secret, key: token}`. Required. The value must be UTF-8 text, not empty, "
        "without a single quote (') and without control characters such as a trailing newline: API Gateway "
        "sends it as a single-quoted static value. Anything else is Stalled (InvalidGatewaySecretHeader) "
        "before any AWS write."))


class Api(Model):
    """The API Gateway REST API (regional) that the clients call. Required."""

    name: Annotated[str, Rules(minLength=1, maxLength=128)] | None = Field(None, description=(
        "Name of the REST API in API Gateway. Optional; default `<namespace>-<name>` of this object."))
    routes: Annotated[tuple[Route, ...], Rules(minItems=1, maxItems=300), list_map("path")] = Field(description=(
        "The REST API's resource paths and methods. Required: 1 to 300 routes, each path once, for example "
        "`[{path: /orders, methods: [GET, POST], backendPath: /api/orders}, {path: '/{proxy+}', methods: "
        "[ANY]}]`."))
    stage: Stage = Field(default_factory=Stage)
    disable_execute_api_endpoint: bool = Field(False, description=(
        "Turn off the default `https://<id>.execute-api.<region>.amazonaws.com` endpoint so that clients can "
        "only come through a custom domain. Default false. It is also turned off while an MtlsDomain with "
        "disableDefaultEndpoints maps this API."))
    gateway_secret_header: GatewaySecretHeader | None = None


class Probe(TestInvocation):
    """A request that the operator sends through the whole chain (TestInvokeMethod on the stage's method, with
    the stage's client certificate if it has one) after every change and at every everyNthDriftCheck-th drift
    check: one AWS call per probe. Its verdict is the TrafficFlows condition, which names the hop that broke
    and what to fix; with a probe, Ready needs it to pass. Optional; without it nothing is test-invoked."""

    every_nth_drift_check: Annotated[int, Rules(minimum=1, maximum=1000)] = Field(1, description=(
        "Probe at every N-th drift check (besides after every change, and at every check while it fails), "
        "1 to 1000. Default 1: every drift check costs one more AWS call."))


class HybridApiSpec(SpecBase):
    """Desired state: one on-premises HTTPS backend published through API Gateway with HTTPS on every hop
    (REST API -> VPC link -> internal NLB -> internal ALB -> on-premises targets)."""

    network: Network
    backend: Backend
    front_door: FrontDoor
    api: Api
    probe: Probe | None = None

    def rest_api_name(self, namespace: str, name: str) -> str:
        """spec.api.name, by default `<namespace>-<name>` of the object."""
        return self.api.name or f"{namespace}-{name}"


# --------------------------------------------------------------------------------------------
# status
# --------------------------------------------------------------------------------------------


class BackendHealth(Model):
    """Health of the on-premises targets as the ALB sees them."""

    healthy: Annotated[int, Rules(minimum=0)] | None = Field(None, description="Number of healthy targets.")
    total: Annotated[int, Rules(minimum=0)] | None = Field(None, description="Number of registered targets.")


class ProbeStatus(Model):
    """The last probe (spec.probe)."""

    last_probe_time: str | None = Field(None, description="When the probe last ran (RFC 3339).")
    status_code: int | None = Field(None, description="HTTP status the last probe got.")
    latency_ms: int | None = Field(None, description="Latency of the last probe in milliseconds.")
    client_certificate_id: str | None = Field(None, description="Client certificate the last probe presented.")
    checks_since: Annotated[int, Rules(minimum=0)] | None = Field(None, description=(
        "Drift checks since the last probe (the probe runs again at spec.probe.everyNthDriftCheck)."))
    probed_generation: int | None = Field(None, description="metadata.generation the last probe ran for.")


class TrustStoreStatus(Model):
    """The bundle the ALB listener's ELB trust store was last loaded from (frontDoor.mutualTls verify)."""

    arn: str | None = Field(None, description="ARN of the trust store.")
    bundle_uri: str | None = Field(None, description="S3 URI of the bundle, for example `s3://team-a-trust/orders.pem`.")
    bundle_sha256: str | None = Field(None, description="sha256 of the bundle loaded.")
    certificates: Annotated[int, Rules(minimum=0)] | None = Field(None, description="Certificates in that bundle.")
    client_cert_rotation: str | None = Field(None, description="The ClientCertRotation that publishes the bundle.")


class HybridApiStatus(StatusBase):
    """Observed state, written by the operator."""

    conditions: Conditions | None = conditions_field(ConditionType)
    invoke_url: str | None = Field(None, description=(
        "URL clients call, for example `https://abc123.execute-api.ap-northeast-1.amazonaws.com/prod`."))
    front_door_url: str | None = Field(None, description=(
        "HTTPS URL of the front door that API Gateway calls, for example `https://orders-backend.example.com`."))
    backend_health: BackendHealth | None = None
    certificate: CertificateStatus | None = Field(
        None, description="The front-door certificate the ALB serves and when it expires.")
    client_certificate_id: str | None = Field(None, description=(
        "Client certificate the stage presents to the backend, as set by a ClientCertRotation (shown here, "
        "never written by this object)."))
    resources: dict[Resource, str] | None = Field(
        None, description="Ids and ARNs of the AWS resources this object owns.")
    deployed_definition_hash: str | None = Field(None, description=(
        "Hash of the API definition that the deployment in resources.deploymentId was made for."))
    vpc_cidrs: tuple[str, ...] | None = Field(None, description=(
        "CIDR blocks of spec.network.vpcId, read once for validatedGeneration: the ALB's security group "
        "lets HTTPS in from them."))
    probe: ProbeStatus | None = None
    trust_store: TrustStoreStatus | None = None
    vpc_link_version: VpcLinkVersion | None = Field(None, description=(
        "The VPC link version in effect (spec.network.vpcLink.version, or its default for this object)."))
    retiring: dict[Resource, tuple[str, ...]] | None = Field(None, description=(
        "AWS resources that a replacement took over from (for example a load balancer of a former VPC) and "
        "that are deleted once nothing waits any more, because their dependents still pointed at them."))


HYBRID_API = Kind(
    kind="HybridApi",
    plural="hybridapis",
    short_names=("hapi",),
    description=(
        "HybridApi publishes one on-premises HTTPS backend through Amazon API Gateway with HTTPS on every hop: "
        "REST API -> VPC link -> internal NLB -> internal ALB (ACM certificate for a public front-door name) -> "
        "on-premises targets over Direct Connect. The operator creates and owns every AWS resource of the chain "
        "and corrects drift."
    ),
    spec=HybridApiSpec,
    status=HybridApiStatus,
    columns=(
        Column("Invoke URL", "string", "URL clients call.", ".status.invokeUrl"),
        Column("Link", "string", "VPC link version in effect (V1 or V2).", ".status.vpcLinkVersion"),
        Column("Hostname", "string", "Front-door host name.", ".spec.frontDoor.hostname", priority=1),
        Column("Healthy", "integer", "Healthy backend targets.", ".status.backendHealth.healthy", priority=1),
        Column("Traffic", "string", "Status of the TrafficFlows condition (spec.probe).",
               '.status.conditions[?(@.type=="TrafficFlows")].status', priority=1),
    ),
)
