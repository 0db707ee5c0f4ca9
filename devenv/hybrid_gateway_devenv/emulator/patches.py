"""Every change the emulator makes to moto's own classes, in one place.

Targets moto 5.2.x (written against 5.2.1; ``pyproject.toml`` pins ``moto[server]>=5.2.1,<5.3``).
Each patch names the moto behaviour it replaces; when moto is upgraded, re-check each one against
``moto/apigateway/models.py``, ``moto/elbv2/models.py`` and ``moto/acm/models.py``.

Patches are applied once per process by :func:`apply` (idempotent). They change serialisation and
a few model methods so that *every* moto response that embeds the object shows the same thing
(``GetMethod`` embeds the integration, ``GetStages`` lists stages, ...); the request-level API
Gateway extension (:mod:`.apigateway`) stores the fields moto lacks in :func:`extras`.

| moto class / method                      | why                                                        |
|------------------------------------------|------------------------------------------------------------|
| apigateway ``Stage.to_json``             | add ``clientCertificateId`` (moto drops it)                |
| apigateway ``Integration.to_json``       | add ``connectionId`` (moto drops it), omit null members    |
| apigateway ``DomainName.to_json``        | add ``mutualTlsAuthentication``,                           |
|                                          | ``ownershipVerificationCertificateArn``, ``domainNameArn``;|
|                                          | no distribution* fields on REGIONAL names (and vice versa) |
| apigateway ``VpcLink.to_json``           | ``PENDING`` -> ``AVAILABLE`` after the provisioning delay, |
|                                          | ``FAILED`` when a target is not an existing NLB            |
| apigateway ``APIGatewayBackend.create_vpc_link`` | remember creation time, check the targets          |
| apigateway ``RestAPI.create_deployment`` | deploying to an existing stage must keep the stage (moto   |
|                                          | replaced it, losing variables, settings, client cert)      |
| apigateway ``RestAPI.delete_deployment`` | refuse while any stage points at the deployment            |
| apigateway ``APIGatewayBackend.create_domain_name`` / | a new domain name has an empty set of base path  |
| ``delete_domain_name``                   | mappings (moto: KeyError -> 500 on GetBasePathMappings     |
|                                          | before the first mapping); deleting the name deletes them  |
| elbv2 ``FakeLoadBalancer.activate``      | stay ``provisioning`` for the provisioning delay           |
| elbv2 ``ELBv2Backend.create_load_balancer`` | same name + same type/scheme returns the existing LB  |
|                                          | (moto made a twin); ``loadbalancer/net/`` ARNs for NLBs    |
| elbv2 ``ELBv2Backend.create_target_group`` | same name + same settings returns the existing group    |
| elbv2 ``FakeTargetGroup.register`` /     | keep a target's ``AvailabilityZone`` (``all`` for IPs      |
| ``health_for``, ``FakeHealthStatus.target`` | outside the VPC) and show it in DescribeTargetHealth    |
| acm ``CertBundle.check``                 | issue DNS-validated certificates only once their CNAMEs    |
|                                          | exist (moto issued them after a fixed wait, record or not) |
| acm ``CertBundle.describe``              | ``InUseBy`` lists the ELBv2 load balancers and API Gateway |
|                                          | domain names using it (moto: always empty); no IssuedAt /  |
|                                          | NotBefore / NotAfter / Serial while PENDING_VALIDATION     |
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from typing import Any

from .delays import DELAYS, PENDING, normalise_dns_name

MOTO_VERSION_TARGETED = "5.2"

_EXTRAS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_EXTRAS_LOCK = threading.Lock()
_APPLIED = False
_APPLY_LOCK = threading.Lock()
_ORIGINALS: dict[str, Any] = {}

VPC_LINK_MESSAGES = {
    "AVAILABLE": "Your vpc link is ready for use",
    PENDING: "Your vpc link is being provisioned",
}


def extras(obj: Any) -> dict[str, Any]:
    """Fields moto does not keep for ``obj`` (a moto model object); lives as long as the object."""
    with _EXTRAS_LOCK:
        found = _EXTRAS.get(obj)
        if found is None:
            found = {}
            _EXTRAS[obj] = found
        return found


def clear_extras() -> None:
    with _EXTRAS_LOCK:
        _EXTRAS.clear()


def _original(name: str) -> Callable[..., Any]:
    found: Callable[..., Any] = _ORIGINALS[name]
    return found


# -- API Gateway ------------------------------------------------------------------------------
def _stage_to_json(self: Any) -> dict[str, Any]:
    data: dict[str, Any] = _original("Stage.to_json")(self)
    cert = extras(self).get("clientCertificateId")
    if cert:
        data["clientCertificateId"] = cert
    return data


def _integration_to_json(self: Any) -> dict[str, Any]:
    data: dict[str, Any] = _original("Integration.to_json")(self)
    connection_id = extras(self).get("connectionId")
    if connection_id:
        data["connectionId"] = connection_id
    return {k: v for k, v in data.items() if v is not None}


def _domain_name_to_json(self: Any) -> dict[str, Any]:
    data: dict[str, Any] = _original("DomainName.to_json")(self)
    types = (self.endpoint_configuration or {}).get("types") or []
    if "EDGE" not in types and types:
        data.pop("distributionDomainName", None)
        data.pop("distributionHostedZoneId", None)
    if "REGIONAL" not in types and types:
        data.pop("regionalDomainName", None)
        data.pop("regionalHostedZoneId", None)
    more = extras(self)
    mtls = more.get("mutualTlsAuthentication")
    if mtls:
        data["mutualTlsAuthentication"] = {k: v for k, v in mtls.items() if v is not None}
    if more.get("ownershipVerificationCertificateArn"):
        data["ownershipVerificationCertificateArn"] = more["ownershipVerificationCertificateArn"]
    if more.get("domainNameArn"):
        data["domainNameArn"] = more["domainNameArn"]
    return data


def _vpc_link_to_json(self: Any) -> dict[str, Any]:
    data: dict[str, Any] = _original("VpcLink.to_json")(self)
    more = extras(self)
    if more.get("failure"):
        data["status"] = "FAILED"
        data["statusMessage"] = more["failure"]
    elif "created" in more:
        status = DELAYS.vpc_link_status(float(more["created"]))
        data["status"] = status
        data["statusMessage"] = VPC_LINK_MESSAGES[status]
    if not data.get("tags"):
        data.pop("tags", None)
    return data


def vpc_link_target_failure(account_id: str, region: str, target_arns: list[str]) -> str | None:
    """Why a VPC link to ``target_arns`` would end up FAILED (None when the targets are fine)."""
    from moto.elbv2.models import elbv2_backends

    if not target_arns:
        return "No target NLB specified"
    backend = elbv2_backends[account_id][region]
    for arn in target_arns:
        balancer = backend.load_balancers.get(arn)
        if balancer is None:
            return f"NLB ARN is malformed or does not exist: {arn}"
        if getattr(balancer, "type", "") != "network":
            return f"Load balancer {arn} is not a Network Load Balancer"
    return None


def _create_vpc_link(self: Any, *args: Any, **kwargs: Any) -> Any:
    link = _original("APIGatewayBackend.create_vpc_link")(self, *args, **kwargs)
    target_arns = kwargs.get("target_arns", args[2] if len(args) > 2 else [])
    more = extras(link)
    more["created"] = time.time()
    failure = vpc_link_target_failure(self.account_id, self.region_name, list(target_arns or []))
    if failure:
        more["failure"] = failure
    return link


def _create_deployment(self: Any, name: str, description: str, stage_variables: Any = None) -> Any:
    if name and name in self.stages:
        deployment = _original("RestAPI.create_deployment")(self, "", description, {})
        deployment.stage_name = name
        stage = self.stages[name]
        stage.deployment_id = deployment.id
        if stage_variables:
            stage.variables.update(stage_variables)
        return deployment
    return _original("RestAPI.create_deployment")(self, name, description, stage_variables)


def _delete_deployment(self: Any, deployment_id: str) -> Any:
    from moto.apigateway.exceptions import DeploymentNotFoundException, StageStillActive

    if deployment_id not in self.deployments:
        raise DeploymentNotFoundException()
    if any(stage.deployment_id == deployment_id for stage in self.stages.values()):
        raise StageStillActive()
    return self.deployments.pop(deployment_id)


def _create_domain_name(self: Any, domain_name: str, *args: Any, **kwargs: Any) -> Any:
    domain = _original("APIGatewayBackend.create_domain_name")(self, domain_name, *args, **kwargs)
    self.base_path_mappings[domain_name] = {}
    return domain


def _delete_domain_name(self: Any, domain_name: str) -> None:
    _original("APIGatewayBackend.delete_domain_name")(self, domain_name)
    self.base_path_mappings.pop(domain_name, None)


# -- ELBv2 ------------------------------------------------------------------------------------
_ARN_TYPE_SEGMENT = {"application": "app", "network": "net", "gateway": "gwy"}


def _create_load_balancer(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """Idempotent by name like AWS, and an ARN whose type segment matches the type (net/, gwy/)."""
    from moto.elbv2.exceptions import DuplicateLoadBalancerName

    original = _original("ELBv2Backend.create_load_balancer")
    bound = inspect.signature(original).bind(self, name, *args, **kwargs)
    bound.apply_defaults()
    wanted_type = bound.arguments.get("loadbalancer_type") or "application"
    wanted_scheme = bound.arguments.get("scheme") or "internet-facing"
    for existing in list(self.load_balancers.values()):
        if existing.name == name:
            if existing.type == wanted_type and existing.scheme == wanted_scheme:
                return existing
            raise DuplicateLoadBalancerName()
    balancer = original(*bound.args, **bound.kwargs)
    segment = _ARN_TYPE_SEGMENT.get(balancer.type, "app")
    if segment != "app":
        old_arn = balancer.arn
        new_arn = old_arn.replace(":loadbalancer/app/", f":loadbalancer/{segment}/", 1)
        items = [(new_arn if k == old_arn else k, v) for k, v in self.load_balancers.items()]
        self.load_balancers.clear()
        self.load_balancers.update(items)
        balancer.arn = new_arn
        self.tagging_service.copy_tags(old_arn, new_arn)
        self.tagging_service.delete_all_tags_for_resource(old_arn)
    return balancer


def _create_target_group(self: Any, name: str, **kwargs: Any) -> Any:
    """Same name and same settings returns the existing target group, as on AWS (moto raised)."""
    for existing in list(self.target_groups.values()):
        if existing.name != name:
            continue
        same = (
            str(existing.port) == str(kwargs.get("port"))
            and existing.vpc_id == kwargs.get("vpc_id")
            and existing.target_type == (kwargs.get("target_type") or "instance")
            and (existing.protocol == kwargs.get("protocol") or existing.target_type in ("alb", "lambda"))
        )
        if same:
            return existing
    return _original("ELBv2Backend.create_target_group")(self, name, **kwargs)


def _target_group_register(self: Any, targets: list[dict[str, Any]]) -> None:
    _original("FakeTargetGroup.register")(self, targets)
    for target in targets:
        zone = target.get("AvailabilityZone")
        if zone and target["Id"] in self.targets:
            self.targets[target["Id"]]["AvailabilityZone"] = zone


def _target_group_health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    status = _original("FakeTargetGroup.health_for")(self, target, ec2_backend)
    zone = (self.targets.get(target["Id"]) or {}).get("AvailabilityZone")
    if zone:
        extras(status)["AvailabilityZone"] = zone
    return status


def _health_status_target(self: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"Id": self.instance_id, "Port": self.port}
    zone = extras(self).get("AvailabilityZone")
    if zone:
        data["AvailabilityZone"] = zone
    return data


def _load_balancer_activate(self: Any) -> None:
    if self.state == "provisioning" and DELAYS.load_balancer_ready(str(self.created_time)):
        self.state = "active"


# -- ACM --------------------------------------------------------------------------------------
def certificate_validation_records(cert: Any) -> set[tuple[str, str]]:
    """(name, value) of the DNS validation CNAMEs of a moto ACM certificate, normalised."""
    options = _original("CertBundle.describe")(cert)["Certificate"].get("DomainValidationOptions") or []
    records: set[tuple[str, str]] = set()
    for option in options:
        record = option.get("ResourceRecord")
        if record:
            records.add((normalise_dns_name(record["Name"]), normalise_dns_name(record["Value"])))
    return records


def _certificate_check(self: Any) -> None:
    from moto.core.utils import utcnow

    if self._not_valid_after(self._cert) <= utcnow():
        self.status = "EXPIRED"
        return
    if (
        self.type == "AMAZON_ISSUED"
        and self.status == "PENDING_VALIDATION"
        and DELAYS.certificate_validated(certificate_validation_records(self), self.arn)
    ):
        self.status = "ISSUED"


def _certificate_describe(self: Any) -> dict[str, Any]:
    from .guards import certificate_users

    data: dict[str, Any] = _original("CertBundle.describe")(self)
    parts = str(self.arn).split(":")
    if len(parts) > 4:
        with contextlib.suppress(Exception):  # a region moto does not know: keep moto's answer
            data["Certificate"]["InUseBy"] = certificate_users(parts[4], parts[3], self.arn)
    if data["Certificate"].get("Status") == "PENDING_VALIDATION":
        for key in ("IssuedAt", "NotBefore", "NotAfter", "Serial"):
            data["Certificate"].pop(key, None)
    return data


def apply() -> None:
    """Apply every patch (once per process)."""
    global _APPLIED
    with _APPLY_LOCK:
        if _APPLIED:
            return
        import moto

        if not str(moto.__version__).startswith(MOTO_VERSION_TARGETED + "."):
            warnings.warn(
                f"the AWS emulator's moto patches target moto {MOTO_VERSION_TARGETED}.x, found {moto.__version__}; "
                "re-check hybrid_gateway_devenv/emulator/patches.py",
                stacklevel=2,
            )
        from moto.acm.models import CertBundle
        from moto.apigateway.models import APIGatewayBackend, DomainName, Integration, RestAPI, Stage, VpcLink
        from moto.elbv2.models import ELBv2Backend, FakeHealthStatus, FakeLoadBalancer, FakeTargetGroup

        table: list[tuple[type, str, Any]] = [
            (Stage, "to_json", _stage_to_json),
            (Integration, "to_json", _integration_to_json),
            (DomainName, "to_json", _domain_name_to_json),
            (VpcLink, "to_json", _vpc_link_to_json),
            (APIGatewayBackend, "create_vpc_link", _create_vpc_link),
            (RestAPI, "create_deployment", _create_deployment),
            (RestAPI, "delete_deployment", _delete_deployment),
            (APIGatewayBackend, "create_domain_name", _create_domain_name),
            (APIGatewayBackend, "delete_domain_name", _delete_domain_name),
            (FakeLoadBalancer, "activate", _load_balancer_activate),
            (ELBv2Backend, "create_load_balancer", _create_load_balancer),
            (ELBv2Backend, "create_target_group", _create_target_group),
            (FakeTargetGroup, "register", _target_group_register),
            (FakeTargetGroup, "health_for", _target_group_health_for),
            (FakeHealthStatus, "target", property(_health_status_target)),
            (CertBundle, "check", _certificate_check),
            (CertBundle, "describe", _certificate_describe),
        ]
        for cls, attribute, replacement in table:
            # getattr_static: keep the original descriptor itself (plain function or property)
            _ORIGINALS[f"{cls.__name__}.{attribute}"] = inspect.getattr_static(cls, attribute)
            setattr(cls, attribute, replacement)
        _APPLIED = True
