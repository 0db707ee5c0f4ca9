"""Refusals AWS makes and moto 5.2 does not (each cites its source in ``docs/aws-behaviour.md``).

"In use" refusals, which the operator's deletion order must cope with:

- ELBv2 DeleteLoadBalancer of a load balancer that an API Gateway VPC link (not FAILED, including
  one still DELETING) targets: ``ResourceInUse`` (HTTP 400).
- ACM DeleteCertificate of a certificate used by an ELBv2 listener or an API Gateway domain name
  (regional, edge or ownership-verification certificate): ``ResourceInUseException`` (HTTP 400).
- EC2 DeleteSecurityGroup of a group that a VPC link V2 (not FAILED, including one still DELETING)
  puts on its network interfaces, or that another group's rule references; DeleteSubnet of a subnet
  where such a link has its network interfaces: ``DependencyViolation`` (HTTP 400).

Validation moto skips:

- ELBv2 RegisterTargets of an IP target outside the target group's VPC needs
  ``AvailabilityZone: all`` (and a private RFC 1918 / RFC 6598 address): ``ValidationError``.
- ELBv2 target groups of type ``alb``: CreateTargetGroup only with protocol TCP; RegisterTargets
  takes one Application Load Balancer, and only once it has a listener on the group's port (or the
  target's port override): ``ValidationError`` "If the target type is ALB, the target must have at
  least one listener that matches the target group port or any specified port overrides".
- API Gateway (v1) CreateBasePathMapping with a ``/`` in the base path: ``BadRequestException``
  "API Gateway V1 doesn't support the slash character (/) in base path mappings. To create a
  multi-level base path mapping, use API Gateway V2."
- API Gateway CreateVpcLink: an empty name, a target that is not a well-formed ARN, or more than one
  target is a ``BadRequestException``.
- S3 GetObject / HeadObject with a ``versionId`` other than ``null`` on a bucket that never had
  versioning: ``InvalidArgument`` (400) "Invalid version id specified" (moto: NoSuchVersion 404).
- ACM RequestCertificate accepts only the key algorithms ACM issues (RSA_2048, EC_prime256v1,
  EC_secp384r1); the others are for imported certificates only.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .patches import extras, vpc_link_status
from .reply import Reply, json_reply, request_id, rest_json_error, xml_reply
from .routing import AwsCall


def _param(call: AwsCall, name: str) -> str | None:
    values = call.form.get(name) or call.query.get(name)
    return values[0] if values else None


def _load_balancer_in_use(call: AwsCall) -> Reply | None:
    from moto.apigateway.models import apigateway_backends

    arn = _param(call, "LoadBalancerArn")
    if not arn:
        return None
    backend = apigateway_backends[call.account_id][call.region]
    for link in list(backend.vpc_links.values()):
        if arn in (link.target_arns or []) and vpc_link_status(link)[0] != "FAILED":
            rid = request_id()
            body = (
                '<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error>'
                "<Type>Sender</Type><Code>ResourceInUse</Code>"
                f"<Message>Load balancer '{arn}' cannot be deleted because it is currently associated "
                f"with another service</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
            )
            return xml_reply(400, body, [("x-amzn-RequestId", rid)])
    return None


def _ec2_dependency_violation(resource: str) -> Reply:
    rid = request_id()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>DependencyViolation</Code>'
        f"<Message>resource {resource} has a dependent object</Message></Error></Errors>"
        f"<RequestID>{rid}</RequestID></Response>"
    )
    return xml_reply(400, body)


def _live_v2_links(call: AwsCall) -> list[Any]:
    """The VPC links V2 that hold network interfaces (every one not FAILED; DELETING ones still do)."""
    from .vpclinks_v2 import v2_backend, v2_link_status

    links = list(v2_backend(call.account_id, call.region).vpc_links.values())
    return [link for link in links if v2_link_status(link)[0] != "FAILED"]


def _security_group_in_use(call: AwsCall) -> Reply | None:
    from moto.ec2.models import ec2_backends

    group_id = _param(call, "GroupId")
    if not group_id:
        return None
    if any(group_id in (link.sg_ids or []) for link in _live_v2_links(call)):
        return _ec2_dependency_violation(group_id)
    ec2 = ec2_backends[call.account_id][call.region]
    for groups in list(ec2.groups.values()):
        for other in list(groups.values()):
            if other.id == group_id:
                continue
            for rule in list(other.ingress_rules) + list(other.egress_rules):
                if (rule.source_group or {}).get("GroupId") == group_id:
                    return _ec2_dependency_violation(group_id)
    return None


def _subnet_in_use(call: AwsCall) -> Reply | None:
    subnet_id = _param(call, "SubnetId")
    if subnet_id and any(subnet_id in (link.subnet_ids or []) for link in _live_v2_links(call)):
        return _ec2_dependency_violation(subnet_id)
    return None


def certificate_users(account_id: str, region: str, arn: str) -> list[str]:
    """ARNs of the ELBv2 load balancers and API Gateway domain names that use certificate ``arn``."""
    from moto.apigateway.models import apigateway_backends
    from moto.elbv2.models import elbv2_backends

    users: list[str] = []
    for balancer in list(elbv2_backends[account_id][region].load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            certificates: list[Any] = list(getattr(listener, "certificates", []) or [])
            arns = {c.get("CertificateArn") if isinstance(c, dict) else c for c in certificates}
            if arn in arns:
                users.append(balancer.arn)
                break
    for name, domain in list(apigateway_backends[account_id][region].domain_names.items()):
        used = {domain.regional_certificate_arn, domain.certificate_arn}
        used.add(extras(domain).get("ownershipVerificationCertificateArn"))
        if arn in used:
            users.append(f"arn:aws:apigateway:{region}::/domainnames/{name}")
    return users


def _certificate_in_use(call: AwsCall) -> Reply | None:
    import json

    try:
        arn = json.loads(call.body or b"{}").get("CertificateArn")
    except ValueError:
        return None
    if not arn:
        return None
    if certificate_users(call.account_id, call.region, arn):
        reply = json_reply(
            400,
            {
                "__type": "ResourceInUseException",
                "message": f"Certificate {arn} in account {call.account_id} is in use.",
            },
        )
        reply.headers[0] = ("Content-Type", "application/x-amz-json-1.1")
        return reply
    return None


_OUTSIDE_VPC_RANGES = [
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
]


def _elb_validation_error(message: str) -> Reply:
    rid = request_id()
    body = (
        '<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error>'
        f"<Type>Sender</Type><Code>ValidationError</Code><Message>{message}</Message></Error>"
        f"<RequestId>{rid}</RequestId></ErrorResponse>"
    )
    return xml_reply(400, body, [("x-amzn-RequestId", rid)])


def _ip_targets_outside_vpc(call: AwsCall) -> Reply | None:
    from moto.ec2.models import ec2_backends
    from moto.elbv2.models import elbv2_backends

    group = elbv2_backends[call.account_id][call.region].target_groups.get(_param(call, "TargetGroupArn") or "")
    if group is None or group.target_type != "ip":
        return None
    try:
        vpc = ec2_backends[call.account_id][call.region].get_vpc(group.vpc_id)
        blocks = [ipaddress.ip_network(c["cidr_block"]) for c in vpc.get_cidr_block_association_set()]
    except Exception:
        return None
    index = 1
    while (target_id := _param(call, f"Targets.member.{index}.Id")) is not None:
        zone = _param(call, f"Targets.member.{index}.AvailabilityZone")
        index += 1
        try:
            address = ipaddress.ip_address(target_id)
        except ValueError:
            return _elb_validation_error(f"The IP address '{target_id}' is not a valid IPv4 address")
        if any(address in block for block in blocks):
            continue
        if not any(address in allowed for allowed in _OUTSIDE_VPC_RANGES):
            return _elb_validation_error(
                f"The IP address '{target_id}' is outside the VPC and not in a private range "
                "(10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10)"
            )
        if zone != "all":
            return _elb_validation_error(
                f"The IP address '{target_id}' is outside the VPC {group.vpc_id}; "
                "you must specify 'all' as the Availability Zone"
            )
    return None


# -- target groups of type alb ------------------------------------------------------------------
ALB_LISTENER_MESSAGE = (
    "If the target type is ALB, the target must have at least one listener that matches the target group "
    "port or any specified port overrides"
)


def _alb_target_group_protocol(call: AwsCall) -> Reply | None:
    if (_param(call, "TargetType") or "").lower() != "alb":
        return None
    protocol = (_param(call, "Protocol") or "").upper()
    if protocol != "TCP":
        return _elb_validation_error(
            f"Protocol '{protocol or '(none)'}' is not supported for target groups of type 'alb'; use TCP"
        )
    return None


def _alb_targets(call: AwsCall) -> Reply | None:
    from moto.elbv2.models import elbv2_backends

    backend = elbv2_backends[call.account_id][call.region]
    group = backend.target_groups.get(_param(call, "TargetGroupArn") or "")
    if group is None or group.target_type != "alb":
        return None
    index = 1
    wanted: list[tuple[str, str]] = []
    while (target_id := _param(call, f"Targets.member.{index}.Id")) is not None:
        wanted.append((target_id, _param(call, f"Targets.member.{index}.Port") or str(group.port)))
        index += 1
    registered = set(group.targets)
    if len({t for t, _ in wanted} | registered) > 1:
        return _elb_validation_error("You can register only one Application Load Balancer per target group")
    for target_id, port in wanted:
        balancer = backend.load_balancers.get(target_id)
        if balancer is None or balancer.type != "application":
            return _elb_validation_error(
                f"The target '{target_id}' is not the ARN of an Application Load Balancer in this account and Region"
            )
        if not any(str(listener.port) == str(port) for listener in list(balancer.listeners.values())):
            return _elb_validation_error(ALB_LISTENER_MESSAGE)
    return None


# -- API Gateway v1 base path mappings ------------------------------------------------------------
SLASH_IN_BASE_PATH_MESSAGE = (
    "API Gateway V1 doesn't support the slash character (/) in base path mappings. "
    "To create a multi-level base path mapping, use API Gateway V2."
)


def _base_path_with_slash(call: AwsCall) -> Reply | None:
    import json

    try:
        base_path = str(json.loads(call.body or b"{}").get("basePath") or "")
    except (ValueError, AttributeError):
        return None
    if "/" in base_path:
        return rest_json_error(400, "BadRequestException", SLASH_IN_BASE_PATH_MESSAGE)
    return None


# -- ACM key algorithms ---------------------------------------------------------------------------------
REQUESTABLE_KEY_ALGORITHMS = ("RSA_2048", "EC_prime256v1", "EC_secp384r1")


def requested_key_algorithm(call: AwsCall) -> str:
    import json

    try:
        value = json.loads(call.body or b"{}").get("KeyAlgorithm")
    except (ValueError, AttributeError):
        value = None
    return str(value or "RSA_2048")


def _requestable_key_algorithm(call: AwsCall) -> Reply | None:
    algorithm = requested_key_algorithm(call)
    if algorithm in REQUESTABLE_KEY_ALGORITHMS:
        return None
    reply = json_reply(
        400,
        {
            "__type": "ValidationException",
            "message": f"Key algorithm {algorithm} is not supported for ACM certificate requests; "
            f"use one of {', '.join(REQUESTABLE_KEY_ALGORITHMS)}.",
        },
    )
    reply.headers[0] = ("Content-Type", "application/x-amz-json-1.1")
    return reply


# -- API Gateway VPC links (REST) ---------------------------------------------------------------
def _well_formed_arn(arn: str) -> bool:
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and all(parts[i] for i in (1, 2, 5))


def _vpc_link_request(call: AwsCall) -> Reply | None:
    import json

    try:
        body = json.loads(call.body or b"{}")
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if not str(body.get("name") or "").strip():
        return rest_json_error(400, "BadRequestException", "Name cannot be empty")
    targets = [str(t) for t in body.get("targetArns") or []]
    for arn in targets:
        if not _well_formed_arn(arn):
            return rest_json_error(400, "BadRequestException", f"Invalid ARN. ARN is not well formed {arn}")
    if len(targets) > 1:
        return rest_json_error(400, "BadRequestException", "More than one target arn specified for vpc link.")
    return None


# -- S3 ----------------------------------------------------------------------------------------------
def _version_of_unversioned_bucket(call: AwsCall) -> Reply | None:
    from .patches import s3_bucket

    version = call.query_value("versionId")
    if not version or version == "null":
        return None
    found = s3_bucket(call)
    if found is None or found[1] is not None:  # versioning was set at some time: moto answers
        return None
    rid = request_id()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code>'
        "<Message>Invalid version id specified</Message><ArgumentName>versionId</ArgumentName>"
        f"<ArgumentValue>{version}</ArgumentValue><RequestId>{rid}</RequestId><HostId>{rid}</HostId></Error>"
    )
    return xml_reply(400, body, [("x-amz-request-id", rid)])


def refuse(call: AwsCall) -> Reply | None:
    """An AWS-shaped refusal (delete of something in use, invalid request), or None: let moto proceed."""
    if call.service == "elbv2" and call.operation == "DeleteLoadBalancer":
        return _load_balancer_in_use(call)
    if call.service == "acm" and call.operation == "DeleteCertificate":
        return _certificate_in_use(call)
    if call.service == "ec2" and call.operation == "DeleteSecurityGroup":
        return _security_group_in_use(call)
    if call.service == "ec2" and call.operation == "DeleteSubnet":
        return _subnet_in_use(call)
    if call.service == "acm" and call.operation == "RequestCertificate":
        return _requestable_key_algorithm(call)
    if call.service == "elbv2" and call.operation == "RegisterTargets":
        return _ip_targets_outside_vpc(call) or _alb_targets(call)
    if call.service == "elbv2" and call.operation == "CreateTargetGroup":
        return _alb_target_group_protocol(call)
    if call.service == "apigateway" and call.operation == "CreateBasePathMapping":
        return _base_path_with_slash(call)
    if call.service == "apigateway" and call.operation == "CreateVpcLink":
        return _vpc_link_request(call)
    if call.service == "s3" and call.operation in ("GetObject", "HeadObject"):
        return _version_of_unversioned_bucket(call)
    return None


refuse_if_in_use = refuse
