"""API Gateway VPC links V2 (``apigatewayv2`` CreateVpcLink & co.), answered in front of moto.

VPC links V2 serve REST APIs too ("Private integrations for REST APIs": a V2 link and
``integrationTarget`` = the ALB or NLB ARN). Handlers work on moto's own ``apigatewayv2`` model
objects, so moto's GetTags / TagResource / UntagResource on the link ARN
(``arn:aws:apigateway:<region>::/vpclinks/<id>``) see the same links. Checked against plain moto 5.2
before writing each handler:

- CreateVpcLink answers 200 (AWS: 201) and takes anything: no name, no subnets, subnets or security
  groups that do not exist, or that lie in different VPCs;
- every link is ``AVAILABLE`` at once; DeleteVpcLink removes it at once and answers 200 (AWS: 202),
  also for unknown ids;
- GetVpcLinks does not page (no ``MaxResults`` / ``NextToken``);
- UpdateVpcLink accepts an empty name.

What AWS does (docs/aws-behaviour.md, "API Gateway VPC links V2 (REST)"): a link is ``PENDING``
("VPC link is provisioning ENIs") for the provisioning delay, then ``AVAILABLE`` ("VPC link is
ready to route traffic"), or ``FAILED`` when a subnet or security group does not exist or they are
not all in one VPC; DeleteVpcLink leaves it ``DELETING`` for the deletion delay, then it is gone.
The link's subnets and security groups cannot change ("VPC links V2 are immutable").
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from .delays import DELAYS, PENDING
from .patches import extras
from .reply import Reply, json_reply, rest_json_error
from .routing import AwsCall

AVAILABLE_MESSAGE = "VPC link is ready to route traffic"
PENDING_MESSAGE = "VPC link is provisioning ENIs"
DEFAULT_PAGE_SIZE = 25  # assumed (AWS does not document it); an operator that pages sees pages
MAX_SUBNETS = 10  # "Subnets per VPC link" (HTTP API quotas page)


class V2Error(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


def _bad_request(message: str) -> V2Error:
    return V2Error(400, "BadRequestException", message)


def _not_found(link_id: str) -> V2Error:
    return V2Error(404, "NotFoundException", f"Invalid VpcLink identifier specified {link_id}")


def v2_backend(account_id: str, region: str) -> Any:
    from moto.apigatewayv2.models import apigatewayv2_backends

    return apigatewayv2_backends[account_id][region]


def find_v2_link(account_id: str, region: str, link_id: str) -> Any | None:
    """The V2 link ``link_id`` of this account and Region (still DELETING counts), or None."""
    return v2_backend(account_id, region).vpc_links.get(link_id)


def link_vpc(account_id: str, region: str, link: Any) -> str | None:
    """The VPC of a V2 link's subnets (None when its first subnet does not exist)."""
    from moto.ec2.models import ec2_backends

    try:
        return str(ec2_backends[account_id][region].get_subnet((link.subnet_ids or [""])[0]).vpc_id)
    except Exception:
        return None


def link_failure(account_id: str, region: str, subnet_ids: list[str], group_ids: list[str]) -> str | None:
    """Why a V2 link to these subnets and security groups ends up FAILED (None: it becomes AVAILABLE).

    The messages are EC2's for the missing resource (AWS's own VpcLinkStatusMessage is unpublished).
    """
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[account_id][region]
    vpcs: set[str] = set()
    for subnet_id in subnet_ids:
        try:
            vpcs.add(str(ec2.get_subnet(subnet_id).vpc_id))
        except Exception:
            return f"The subnet ID '{subnet_id}' does not exist"
    for group_id in group_ids:
        group = ec2.get_security_group_from_id(group_id)
        if group is None:
            return f"The security group '{group_id}' does not exist"
        vpcs.add(str(group.vpc_id))
    if len(vpcs) > 1:
        return "The subnets and security groups of a VPC link must all belong to one VPC"
    return None


def v2_link_status(link: Any) -> tuple[str, str | None]:
    """(VpcLinkStatus, VpcLinkStatusMessage) of a V2 link now."""
    more = extras(link)
    if "deleting" in more:
        return "DELETING", None
    created = more.get("created")
    if created is not None and not DELAYS.elapsed("provisioningSeconds", float(created)):
        return PENDING, PENDING_MESSAGE
    if more.get("failure"):
        return "FAILED", str(more["failure"])
    return "AVAILABLE", AVAILABLE_MESSAGE


def v2_link_json(link: Any) -> dict[str, Any]:
    data: dict[str, Any] = dict(link.to_json())
    status, message = v2_link_status(link)
    data["vpcLinkStatus"] = status
    data.pop("vpcLinkStatusMessage", None)
    if message:
        data["vpcLinkStatusMessage"] = message
    data["tags"] = dict(data.get("tags") or {})
    return data


def _body(call: AwsCall) -> dict[str, Any]:
    if not call.body:
        return {}
    try:
        data = json.loads(call.body)
    except ValueError:
        raise _bad_request("Invalid request body: not JSON") from None
    if not isinstance(data, dict):
        raise _bad_request("Invalid request body: expected a JSON object")
    return data


def _string_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad_request(f"{key} must be a list of strings")
    return list(value)


class VpcLinksV2:
    """Request handlers for :data:`HANDLED_OPERATIONS` (service ``apigatewayv2``)."""

    def __init__(self, references: Callable[[str, str, str], list[str]]) -> None:
        # references(account, region, link id): REST integrations that use the link ("api/resource/METHOD")
        self._references = references
        self._lock = threading.RLock()
        self._handlers: dict[str, Callable[[AwsCall, Any, dict[str, Any]], Reply]] = {
            "CreateVpcLink": self.create_vpc_link,
            "GetVpcLink": self.get_vpc_link,
            "GetVpcLinks": self.get_vpc_links,
            "UpdateVpcLink": self.update_vpc_link,
            "DeleteVpcLink": self.delete_vpc_link,
        }

    def handles(self, call: AwsCall) -> bool:
        return call.service == "apigatewayv2" and call.operation in self._handlers

    def handle(self, call: AwsCall) -> Reply:
        try:
            with self._lock:
                backend = v2_backend(call.account_id, call.region)
                return self._handlers[call.operation](call, backend, _body(call))
        except V2Error as err:
            return rest_json_error(err.status, err.error_type, err.message)

    @staticmethod
    def _link(backend: Any, call: AwsCall) -> Any:
        link_id = call.path_params.get("vpcLinkId", "")
        link = backend.vpc_links.get(link_id)
        if link is None:
            raise _not_found(link_id)
        return link

    def create_vpc_link(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _bad_request("Name is required and cannot be empty")
        subnets = _string_list(body, "subnetIds")
        groups = _string_list(body, "securityGroupIds")
        if not subnets:
            raise _bad_request("SubnetIds is required and must contain at least one subnet")
        if len(subnets) > MAX_SUBNETS:
            raise _bad_request(f"A VPC link can have at most {MAX_SUBNETS} subnets")
        tags = body.get("tags") or {}
        if not isinstance(tags, dict):
            raise _bad_request("Tags must be a map")
        link = backend.create_vpc_link(name, groups, subnets, {str(k): str(v) for k, v in tags.items()})
        more = extras(link)
        more["created"] = time.time()
        failure = link_failure(call.account_id, call.region, subnets, groups)
        if failure:
            more["failure"] = failure
        return json_reply(201, v2_link_json(link))

    def get_vpc_link(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        return json_reply(200, v2_link_json(self._link(backend, call)))

    def get_vpc_links(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        links = sorted(backend.vpc_links.values(), key=lambda link: (link.created, link.id))
        text = call.query_value("maxResults")
        try:
            size = int(text) if text else DEFAULT_PAGE_SIZE
        except ValueError:
            raise _bad_request("MaxResults must be a number") from None
        if size < 1:
            raise _bad_request("MaxResults must be at least 1")
        start = 0
        token = call.query_value("nextToken")
        if token:
            ids = [link.id for link in links]
            if token not in ids:
                raise _bad_request("Invalid NextToken")
            start = ids.index(token)
        page = links[start : start + size]
        data: dict[str, Any] = {"items": [v2_link_json(link) for link in page]}
        if start + size < len(links):
            data["nextToken"] = links[start + size].id
        return json_reply(200, data)

    def update_vpc_link(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        link = self._link(backend, call)
        unknown = sorted(set(body) - {"name"})
        if unknown:
            # "VPC links V2 are immutable": subnets and security groups stay as created
            raise _bad_request(f"Only the name of a VPC link can be updated, not {', '.join(unknown)}")
        if "name" in body:
            name = body.get("name")
            if not isinstance(name, str) or not name.strip():
                raise _bad_request("Name cannot be empty")
            link.update(name)
        return json_reply(200, v2_link_json(link))

    def delete_vpc_link(self, call: AwsCall, backend: Any, body: dict[str, Any]) -> Reply:
        link = self._link(backend, call)
        references = self._references(call.account_id, call.region, link.id)
        if references:
            raise _bad_request(
                f"Cannot delete vpc link. Vpc link '{link.id}', is referenced in [{', '.join(references)}] "
                "in format of [rest-api-id/resource-id/http-method]."
            )
        more = extras(link)
        if "deleting" not in more:
            seconds = DELAYS.get("deletionSeconds")
            links = backend.vpc_links
            if seconds <= 0:
                links.pop(link.id, None)
            else:
                more["deleting"] = time.time()
                DELAYS.schedule(seconds, lambda: links.pop(link.id, None) if links.get(link.id) is link else None)
        return Reply(202, b"", [("Content-Type", "application/json")])


HANDLED_OPERATIONS = frozenset({"CreateVpcLink", "GetVpcLink", "GetVpcLinks", "UpdateVpcLink", "DeleteVpcLink"})
