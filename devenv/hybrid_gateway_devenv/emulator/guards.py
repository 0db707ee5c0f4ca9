"""Cross-service "in use" refusals that AWS makes and moto 5.2 does not.

The operator deletes a chain of resources; AWS refuses to delete a link of the chain that another
service still uses, and the operator's deletion order must cope with that. Moto deletes anything.

- ELBv2 DeleteLoadBalancer of a load balancer that an API Gateway VPC link targets:
  ``ResourceInUse`` (HTTP 400), as AWS answers while the VPC link exists.
- ACM DeleteCertificate of a certificate used by an ELBv2 listener or an API Gateway domain name
  (regional, edge or ownership-verification certificate): ``ResourceInUseException`` (HTTP 400).

And one validation of the same family: ELBv2 RegisterTargets of an IP target outside the target
group's VPC needs ``AvailabilityZone: all`` (and a private RFC 1918 / RFC 6598 address); AWS
answers ``ValidationError`` otherwise, moto accepted it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .patches import extras
from .reply import Reply, json_reply, request_id, xml_reply
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
        if arn in (link.target_arns or []) and not extras(link).get("failure"):
            rid = request_id()
            body = (
                '<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error>'
                "<Type>Sender</Type><Code>ResourceInUse</Code>"
                f"<Message>Load balancer '{arn}' cannot be deleted because it is currently associated "
                f"with another service</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
            )
            return xml_reply(400, body, [("x-amzn-RequestId", rid)])
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


def refuse_if_in_use(call: AwsCall) -> Reply | None:
    """An AWS-shaped refusal (delete of something in use, invalid target), or None: let moto proceed."""
    if call.service == "elbv2" and call.operation == "DeleteLoadBalancer":
        return _load_balancer_in_use(call)
    if call.service == "acm" and call.operation == "DeleteCertificate":
        return _certificate_in_use(call)
    if call.service == "elbv2" and call.operation == "RegisterTargets":
        return _ip_targets_outside_vpc(call)
    return None
