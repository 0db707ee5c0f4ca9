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
| apigateway ``Integration.to_json``       | add ``connectionId``, ``integrationTarget`` (moto drops   |
|                                          | them), omit null members                                   |
| apigateway ``DomainName.to_json``        | add ``mutualTlsAuthentication``,                           |
|                                          | ``ownershipVerificationCertificateArn``, ``domainNameArn``;|
|                                          | no distribution* fields on REGIONAL names (and vice versa);|
|                                          | ``domainNameStatus`` ``UPDATING`` for the domain-name delay |
|                                          | after a create/update, ``PENDING_OWNERSHIP_VERIFICATION``   |
|                                          | while the ownership certificate is not ISSUED              |
| apigateway ``VpcLink.to_json``           | ``PENDING`` for the provisioning delay, then ``AVAILABLE`` |
|                                          | if the target NLB was active at creation, else ``FAILED``; |
|                                          | ``DELETING`` after DeleteVpcLink                           |
| apigateway ``APIGatewayBackend.create_vpc_link`` | remember creation time and the targets' state      |
| apigateway ``VpcLinkNotFound``           | AWS's message "Invalid Vpc Link identifier specified"      |
| apigateway ``RestAPI.create_deployment`` | deploying to an existing stage must keep the stage (moto   |
|                                          | replaced it, losing variables, settings, client cert)      |
| apigateway ``RestAPI.delete_deployment`` | refuse while any stage points at the deployment            |
| apigateway ``APIGatewayBackend.create_domain_name`` / | a new domain name has an empty set of base path  |
| ``delete_domain_name``                   | mappings (moto: KeyError -> 500 on GetBasePathMappings     |
|                                          | before the first mapping); deleting the name deletes them  |
| elbv2 ``FakeLoadBalancer.activate``      | stay ``provisioning`` for the provisioning delay           |
| elbv2 ``ELBv2Backend.create_load_balancer`` | same name + same type/scheme returns the existing LB  |
|                                          | (moto made a twin); ``loadbalancer/net/`` ARNs for NLBs    |
| elbv2 ``ELBv2Backend.delete_load_balancer`` / | a deleted load balancer is still described (as it    |
| ``describe_load_balancers``              | was) for the deletion delay, then ``LoadBalancerNotFound`` |
| elbv2 ``ELBv2Backend.create_target_group`` | same name + same settings returns the existing group    |
| elbv2 ``ELBv2Backend.create_listener`` / ``modify_listener`` / ``create_rule`` / ``modify_rule`` | note |
|                                          | when a target group starts being used by a load balancer   |
| elbv2 ``FakeTargetGroup.register`` /     | keep a target's ``AvailabilityZone`` (``all`` for IPs      |
| ``health_for``, ``FakeHealthStatus.target`` | outside the VPC); target health ``unused`` without a load |
|                                          | balancer, ``initial`` for the health-check delay, then     |
|                                          | ``healthy`` (or ``unhealthy`` when the control API says so) |
| elbv2 ``FakeTargetGroup.deregister``,    | a deregistered target is ``draining`` for the deletion     |
| ``ELBv2Backend.describe_target_health``  | delay when its group is in use                             |
| acm ``CertBundle.generate_cert``         | requested certificates are signed by the emulated public CA |
|                                          | with the requested key algorithm (moto: self-signed RSA)   |
| acm ``CertBundle.check``                 | issue DNS-validated certificates only once their CNAMEs    |
|                                          | exist (moto issued them after a fixed wait, record or not) |
| acm ``CertBundle.describe``              | ``InUseBy`` lists the ELBv2 load balancers and API Gateway |
|                                          | domain names using it (moto: always empty); no IssuedAt /  |
|                                          | NotBefore / NotAfter / Serial while PENDING_VALIDATION;    |
|                                          | ``KeyAlgorithm`` spelled ``RSA-2048`` as AWS answers;      |
|                                          | ``Issuer`` is the issuer's O (moto: CN)                    |
| acm ``AWSCertificateManagerBackend.list_certificates`` | without ``Includes.keyTypes`` only RSA_1024 /  |
|                                          | RSA_2048 certificates; ``keyTypes`` in the request spelling |
| route53 ``Route53Backend.change_resource_record_sets`` | a CREATE of a record set that exists      |
|                                          | (same name, type and set identifier) refuses the whole     |
|                                          | batch with ``InvalidChangeBatch`` "Tried to create resource |
|                                          | record set ... but it already exists" (moto added a twin,  |
|                                          | or refused a new name after an identical earlier CREATE)   |
| s3 ``FakeBucket.is_versioned``           | writes stay unversioned for the versioning delay after     |
|                                          | versioning is first enabled                                |
| elbv2 ``ELBV2Response.create_trust_store`` and the other | trust store actions moto lacks (module     |
| trust store actions (new methods)        | ``elb_truststores.py``)                                    |
| elbv2 ``ELBV2Response.create_listener`` / | validate and keep ``MutualAuthentication`` (moto ignored  |
| ``modify_listener``, ``FakeListener.mutual_authentication`` | it); HTTPS listeners answer ``{"Mode": "off"}`` |
| elbv2 ``ELBv2Backend._get_resource_by_arn`` | trust store ARNs can be tagged                          |
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
from .targethealth import TARGET_HEALTH

MOTO_VERSION_TARGETED = "5.2"

_EXTRAS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_EXTRAS_LOCK = threading.Lock()
_APPLIED = False
_APPLY_LOCK = threading.Lock()
_ORIGINALS: dict[str, Any] = {}

VPC_LINK_READY = "Your vpc link is ready for use"
NLB_NOT_ACTIVE = (
    "NLB is not in active state. If you recently created this NLB, please wait for it to become active and try again."
)
NLB_MALFORMED = "NLB ARN is malformed"

# What the request being served asked for that moto's model methods do not receive (one request
# per thread in the werkzeug server): ``key_algorithm`` of an ACM RequestCertificate.
REQUEST = threading.local()


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
    more = extras(self)
    for key in ("connectionId", "integrationTarget"):
        if more.get(key):
            data[key] = more[key]
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
    data["domainNameStatus"] = domain_name_status(self)
    data.pop("domainNameStatusMessage", None)
    return data


def acm_certificate(arn: str | None) -> Any | None:
    """The moto ACM certificate of ``arn`` (account and Region from the ARN), or None."""
    from moto.acm.models import acm_backends

    parts = str(arn or "").split(":")
    if len(parts) < 6 or parts[2] != "acm":
        return None
    try:
        return getattr(acm_backends[parts[4]][parts[3]], "_certificates", {}).get(arn)
    except Exception:
        return None


def domain_name_status(domain: Any) -> str:
    """``domainNameStatus`` now: PENDING_OWNERSHIP_VERIFICATION while a needed ownership
    verification certificate is not ISSUED, UPDATING for the domain-name delay after the last
    create or update, else AVAILABLE."""
    more = extras(domain)
    ownership = more.get("ownershipVerificationCertificateArn")
    if more.get("mutualTlsAuthentication") and ownership:
        regional = acm_certificate(domain.regional_certificate_arn)
        if regional is not None and regional.type != "AMAZON_ISSUED":
            owner = acm_certificate(ownership)
            if owner is not None:
                owner.check()
            if owner is None or owner.status != "ISSUED":
                return "PENDING_OWNERSHIP_VERIFICATION"
    changed = more.get("changed")
    if changed is not None and not DELAYS.elapsed("domainNameSeconds", float(changed)):
        return "UPDATING"
    return "AVAILABLE"


def vpc_link_status(link: Any) -> tuple[str, str | None]:
    """(status, statusMessage) of a VPC link now."""
    more = extras(link)
    if "deleting" in more:
        return "DELETING", None
    if "created" not in more:
        return str(link.status), None
    if not DELAYS.elapsed("provisioningSeconds", float(more["created"])):
        return PENDING, None
    if more.get("failure"):
        return "FAILED", str(more["failure"])
    return "AVAILABLE", VPC_LINK_READY


def _vpc_link_to_json(self: Any) -> dict[str, Any]:
    data: dict[str, Any] = _original("VpcLink.to_json")(self)
    status, message = vpc_link_status(self)
    data["status"] = status
    data.pop("statusMessage", None)
    if message:
        data["statusMessage"] = message
    if not data.get("tags"):
        data.pop("tags", None)
    if not data.get("description"):
        data.pop("description", None)
    return data


def vpc_link_target_failure(account_id: str, region: str, target_arns: list[str]) -> str | None:
    """Why a VPC link created now to ``target_arns`` ends up FAILED (None: it becomes AVAILABLE).

    The target must be an NLB ARN (an ALB's fails "NLB ARN is malformed") whose load balancer is
    ``active`` *when the link is created*.
    """
    from moto.elbv2.models import elbv2_backends

    if not target_arns:
        return "No target NLB specified"
    backend = elbv2_backends[account_id][region]
    for arn in target_arns:
        if ":loadbalancer/net/" not in arn:
            return NLB_MALFORMED
        balancer = backend.load_balancers.get(arn)
        if balancer is None:
            return f"NLB ARN is malformed or does not exist: {arn}"
        balancer.activate()
        if balancer.state != "active":
            return NLB_NOT_ACTIVE
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


VPC_LINK_NOT_FOUND = "Invalid Vpc Link identifier specified"


def _vpc_link_not_found_init(self: Any) -> None:
    from moto.apigateway.exceptions import NotFoundException

    NotFoundException.__init__(self, VPC_LINK_NOT_FOUND)


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
    now = time.time()
    new = [t["Id"] for t in targets if t.get("Id") not in self.targets]
    _original("FakeTargetGroup.register")(self, targets)
    registered: dict[str, float] = extras(self).setdefault("registered", {})
    draining = extras(self).get("draining") or {}
    for target_id in new:
        registered[target_id] = now
        draining.pop(target_id, None)
    for target in targets:
        zone = target.get("AvailabilityZone")
        if zone and target["Id"] in self.targets:
            self.targets[target["Id"]]["AvailabilityZone"] = zone


def _target_group_health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    from moto.elbv2.models import FakeHealthStatus

    now = time.time()
    draining = _draining(self, now).get(target["Id"])
    if target["Id"] not in self.targets and draining is not None:
        kept = draining["target"]
        status = FakeHealthStatus(kept["Id"], kept["Port"], self.health_check_port, *DRAINING)
        zone = kept.get("AvailabilityZone")
        if zone:
            extras(status)["AvailabilityZone"] = zone
        return status
    status = _original("FakeTargetGroup.health_for")(self, target, ec2_backend)
    if target["Id"] in self.targets and status.status == "healthy":
        state, reason, description = target_health_state(self, target["Id"], status.port, now)
        status.status, status.reason, status.description = state, reason, description
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


def _delete_load_balancer(self: Any, arn: str) -> None:
    """Moto forgets at once; AWS still describes a deleted load balancer for a while."""
    balancer = self.load_balancers.get(arn)
    _original("ELBv2Backend.delete_load_balancer")(self, arn)
    seconds = DELAYS.get("deletionSeconds")
    if balancer is None or seconds <= 0:
        return
    ghosts: dict[str, Any] = extras(self).setdefault("ghosts", {})
    ghosts[arn] = balancer
    DELAYS.schedule(seconds, lambda: ghosts.pop(arn, None) if ghosts.get(arn) is balancer else None)


def _describe_load_balancers(self: Any, arns: list[str] | None, names: list[str] | None) -> list[Any]:
    original = _original("ELBv2Backend.describe_load_balancers")
    ghosts = {a: g for a, g in dict(extras(self).get("ghosts") or {}).items() if a not in self.load_balancers}
    if not ghosts:
        return list(original(self, arns, names))
    arns, names = list(arns or []), list(names or [])
    if not arns and not names:
        return [*original(self, arns, names), *ghosts.values()]
    live_names = {lb.name for lb in list(self.load_balancers.values())}
    ghost_names = {g.name: g for g in ghosts.values() if g.name not in live_names}
    live_arns = [a for a in arns if a not in ghosts]
    live_wanted = [n for n in names if n not in ghost_names]
    found = list(original(self, live_arns, live_wanted)) if live_arns or live_wanted else []
    found += [ghosts[a] for a in arns if a in ghosts]
    found += [ghost_names[n] for n in names if n in ghost_names]
    unique: list[Any] = []
    for balancer in found:
        if balancer not in unique:
            unique.append(balancer)
    return unique


def _target_group_in_use(group: Any) -> bool:
    from moto.elbv2.models import elbv2_backends

    backend = elbv2_backends[group.account_id][group.region_name]
    return bool(backend._any_listener_using(group.arn))


def _stamp_groups_in_use(backend: Any) -> None:
    now = time.time()
    for group in list(backend.target_groups.values()):
        if backend._any_listener_using(group.arn):
            extras(group).setdefault("in_use_since", now)
        else:
            extras(group).pop("in_use_since", None)


def _stamping(name: str) -> Callable[..., Any]:
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = _original(name)(self, *args, **kwargs)
        _stamp_groups_in_use(self)
        return result

    wrapper.__name__ = name.rsplit(".", 1)[-1]
    return wrapper


NOT_IN_USE = ("unused", "Target.NotInUse", "Target group is not configured to receive traffic from the load balancer")
REGISTRATION_IN_PROGRESS = ("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
INITIAL_HEALTH_CHECKING = ("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
FAILED_HEALTH_CHECKS = ("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
DRAINING = ("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")


def target_health_state(group: Any, target_id: str, port: Any, now: float | None = None) -> tuple[Any, ...]:
    """(State, Reason, Description) of a registered target: ``unused`` while no load balancer uses the
    group, ``initial`` for the health-check delay after registration (or first use), then what the
    control API's rule says (a fault: ``unhealthy`` or ``healthy``), else -- for an ``ip`` target the
    on-prem network map reaches -- what real health checks find (:mod:`.dataplane.healthcheck`),
    else ``healthy``."""
    now = time.time() if now is None else now
    more = extras(group)
    if not _target_group_in_use(group):
        more.pop("in_use_since", None)
        return NOT_IN_USE
    in_use = float(more.setdefault("in_use_since", now))
    registered = float((more.get("registered") or {}).get(target_id, in_use))
    elapsed = now - max(in_use, registered)
    period = DELAYS.get("healthCheckSeconds")
    if elapsed < period / 2:
        return REGISTRATION_IN_PROGRESS
    if elapsed < period:
        return INITIAL_HEALTH_CHECKING
    rule = TARGET_HEALTH.override(group.arn, target_id, port)
    if rule == "unhealthy":
        return FAILED_HEALTH_CHECKS
    if rule is None and group.target_type == "ip" and str(group.protocol).upper() in ("HTTP", "HTTPS"):
        from .dataplane.healthcheck import HEALTH_CHECKS
        from .quotas import QUOTAS

        checked = HEALTH_CHECKS.observe(
            group, target_id, port, max(in_use, registered) + period, now, QUOTAS.time_scale if period else None
        )
        if checked is not None:  # the on-prem network map reaches the target: what real checks found
            return checked
    return ("healthy", None, None)


def _draining(group: Any, now: float) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = extras(group).setdefault("draining", {})
    seconds = DELAYS.get("deletionSeconds")
    for target_id in [t for t, e in entries.items() if now - float(e["since"]) >= seconds]:
        del entries[target_id]
    return entries


def _target_group_deregister(self: Any, targets: list[dict[str, Any]]) -> None:
    now = time.time()
    leaving = {t["Id"]: dict(self.targets[t["Id"]]) for t in targets if t.get("Id") in self.targets}
    _original("FakeTargetGroup.deregister")(self, targets)
    if DELAYS.get("deletionSeconds") > 0 and _target_group_in_use(self):
        draining = _draining(self, now)
        for target_id, target in leaving.items():
            draining[target_id] = {"target": target, "since": now}
    registered = extras(self).get("registered") or {}
    for target_id in leaving:
        registered.pop(target_id, None)


def _describe_target_health(self: Any, target_group_arn: str, targets: list[dict[str, Any]]) -> list[Any]:
    found: list[Any] = list(_original("ELBv2Backend.describe_target_health")(self, target_group_arn, targets))
    if targets:
        return found
    group = self.target_groups[target_group_arn]
    for target_id, entry in list(_draining(group, time.time()).items()):
        if target_id not in group.targets:
            found.append(group.health_for(entry["target"], self.ec2_backend))
    return found


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


def key_algorithm(cert: Any) -> str:
    """A moto certificate's key algorithm in the request spelling (``RSA_2048``, ``EC_prime256v1``)."""
    return str(_original("CertBundle.describe")(cert)["Certificate"]["KeyAlgorithm"])


def answer_key_algorithm(request_spelling: str) -> str:
    """ACM's answer spelling: ``RSA_2048`` -> ``RSA-2048``, ``EC_prime256v1`` -> ``EC-prime256v1``."""
    return request_spelling.replace("_", "-", 1)


def _issuer_name(cert: Any) -> str:
    from cryptography.x509.oid import NameOID

    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        found = cert._cert.issuer.get_attributes_for_oid(oid)
        if found:
            return str(found[0].value)
    return str(cert.issuer_common_name)


def _generate_cert(
    cls: Any,
    domain_name: str,
    account_id: str,
    region: str,
    sans: list[str] | None = None,
    cert_authority_arn: str | None = None,
) -> Any:
    """A requested (public) certificate, signed by the emulated public CA with the key algorithm
    of the request being served."""
    if cert_authority_arn is not None:
        original: Any = _original("CertBundle.generate_cert")
        return original.__func__(cls, domain_name, account_id, region, sans=sans, cert_authority_arn=cert_authority_arn)
    from .publicca import PUBLIC_CA

    names = [domain_name, *[n for n in (sans or []) if n != domain_name]]
    issued = PUBLIC_CA.issue(domain_name, names[1:], getattr(REQUEST, "key_algorithm", None) or "RSA_2048")
    bundle = cls(
        account_id=account_id,
        certificate=issued.certificate,
        private_key=issued.private_key,
        cert_type="AMAZON_ISSUED",
        cert_status="PENDING_VALIDATION",
        region=region,
    )
    bundle.chain = issued.chain
    return bundle


DEFAULT_LISTED_KEY_TYPES = ("RSA_1024", "RSA_2048")


def _list_certificates(self: Any, statuses: list[str], includes: dict[str, Any]) -> Any:
    """As moto, but without ``Includes.keyTypes`` only RSA_1024 and RSA_2048 certificates (the
    ACM Filters reference: "Default filtering returns only RSA_1024 and RSA_2048 certificates")."""
    includes = dict(includes or {})
    key_types = list(includes.get("keyTypes") or DEFAULT_LISTED_KEY_TYPES)
    for arn in list(self._certificates.keys()):
        cert = self.get_certificate(arn)
        if statuses and cert.status not in statuses:
            continue
        if "exportOption" in includes and includes["exportOption"] not in cert.cert_options.get("Export", ""):
            continue
        if key_algorithm(cert) not in key_types:
            continue
        yield cert


def _certificate_describe(self: Any) -> dict[str, Any]:
    from .guards import certificate_users

    data: dict[str, Any] = _original("CertBundle.describe")(self)
    data["Certificate"]["KeyAlgorithm"] = answer_key_algorithm(str(data["Certificate"]["KeyAlgorithm"]))
    data["Certificate"]["Issuer"] = _issuer_name(self)
    parts = str(self.arn).split(":")
    if len(parts) > 4:
        with contextlib.suppress(Exception):  # a region moto does not know: keep moto's answer
            data["Certificate"]["InUseBy"] = certificate_users(parts[4], parts[3], self.arn)
    if data["Certificate"].get("Status") == "PENDING_VALIDATION":
        for key in ("IssuedAt", "NotBefore", "NotAfter", "Serial"):
            data["Certificate"].pop(key, None)
    return data


# -- Route 53 ---------------------------------------------------------------------------------------
def _change_resource_record_sets(self: Any, zoneid: str, change_list: list[dict[str, Any]]) -> None:
    """CREATE refuses an existing record set, checked for the whole batch before any change, since
    Route 53 applies a batch all or nothing (docs/aws-behaviour.md, Route 53)."""
    from moto.route53.exceptions import ResourceRecordAlreadyExists

    zone = self.get_hosted_zone(zoneid)

    def key(name: str, rr_type: str, set_id: Any) -> tuple[str, str, Any]:
        return normalise_dns_name(name.replace("\\052", "*")), rr_type, set_id

    existing = {key(r.name, r.type, r.set_identifier) for r in zone.rrsets}
    for change in change_list:
        rrset = change.get("ResourceRecordSet", {})
        wanted = key(str(rrset.get("Name", "")), str(rrset.get("Type", "")), rrset.get("SetIdentifier"))
        if change.get("Action") == "DELETE":
            existing.discard(wanted)  # DELETE then CREATE of one name in a batch is a replacement
        elif change.get("Action") == "CREATE":
            if wanted in existing:
                raise ResourceRecordAlreadyExists(name=wanted[0] + ".", _type=wanted[1])
            existing.add(wanted)
    # A CREATE that passed is applied as moto applies an UPSERT: moto's own CREATE check looks in its
    # change journal (an identical earlier CREATE) and then at any record from that name onwards.
    applied = [{**c, "Action": "UPSERT"} if c.get("Action") == "CREATE" else c for c in change_list]
    _original("Route53Backend.change_resource_record_sets")(self, zoneid, applied)


# -- S3 ---------------------------------------------------------------------------------------------
def s3_bucket(call: Any) -> tuple[Any, str | None] | None:
    """(moto bucket, its versioning status) of the bucket an S3 call names, or None."""
    from moto.s3.models import s3_backends

    name = call.path_params.get("Bucket") or ""
    owner = s3_backends.bucket_accounts.get(name)
    if not owner:
        return None
    partition, account_id = owner
    try:
        bucket = s3_backends[account_id][partition].get_bucket(name)
    except Exception:
        return None
    return bucket, bucket.versioning_status


def note_versioning_enabled(bucket: Any) -> None:
    """Versioning was enabled for the first time on ``bucket`` just now."""
    extras(bucket)["versioningEnabledAt"] = time.time()


def _bucket_is_versioned(self: Any) -> bool:
    if self.versioning_status != "Enabled":
        return False
    since = extras(self).get("versioningEnabledAt")
    return since is None or DELAYS.elapsed("versioningSeconds", float(since))


def _get_resource_by_arn(self: Any, arn: str) -> Any:
    from .elb_truststores import tagged_resource

    return tagged_resource(self, arn) or _original("ELBv2Backend._get_resource_by_arn")(self, arn)


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
        from moto.acm.models import AWSCertificateManagerBackend, CertBundle
        from moto.apigateway.exceptions import VpcLinkNotFound
        from moto.apigateway.models import APIGatewayBackend, DomainName, Integration, RestAPI, Stage, VpcLink
        from moto.elbv2.models import ELBv2Backend, FakeHealthStatus, FakeListener, FakeLoadBalancer, FakeTargetGroup
        from moto.elbv2.responses import ELBV2Response
        from moto.route53.models import Route53Backend
        from moto.s3.models import FakeBucket

        from . import elb_truststores

        table: list[tuple[type, str, Any]] = [
            (Stage, "to_json", _stage_to_json),
            (Integration, "to_json", _integration_to_json),
            (DomainName, "to_json", _domain_name_to_json),
            (VpcLink, "to_json", _vpc_link_to_json),
            (VpcLinkNotFound, "__init__", _vpc_link_not_found_init),
            (APIGatewayBackend, "create_vpc_link", _create_vpc_link),
            (RestAPI, "create_deployment", _create_deployment),
            (RestAPI, "delete_deployment", _delete_deployment),
            (APIGatewayBackend, "create_domain_name", _create_domain_name),
            (APIGatewayBackend, "delete_domain_name", _delete_domain_name),
            (FakeLoadBalancer, "activate", _load_balancer_activate),
            (ELBv2Backend, "create_load_balancer", _create_load_balancer),
            (ELBv2Backend, "delete_load_balancer", _delete_load_balancer),
            (ELBv2Backend, "describe_load_balancers", _describe_load_balancers),
            (ELBv2Backend, "create_target_group", _create_target_group),
            (ELBv2Backend, "create_listener", _stamping("ELBv2Backend.create_listener")),
            (ELBv2Backend, "modify_listener", _stamping("ELBv2Backend.modify_listener")),
            (ELBv2Backend, "create_rule", _stamping("ELBv2Backend.create_rule")),
            (ELBv2Backend, "modify_rule", _stamping("ELBv2Backend.modify_rule")),
            (ELBv2Backend, "describe_target_health", _describe_target_health),
            (FakeTargetGroup, "register", _target_group_register),
            (FakeTargetGroup, "deregister", _target_group_deregister),
            (FakeTargetGroup, "health_for", _target_group_health_for),
            (FakeHealthStatus, "target", property(_health_status_target)),
            (CertBundle, "generate_cert", classmethod(_generate_cert)),
            (CertBundle, "check", _certificate_check),
            (CertBundle, "describe", _certificate_describe),
            (AWSCertificateManagerBackend, "list_certificates", _list_certificates),
            (Route53Backend, "change_resource_record_sets", _change_resource_record_sets),
            (FakeBucket, "is_versioned", property(_bucket_is_versioned)),
            (ELBV2Response, "create_listener", elb_truststores._with_mutual_authentication("create_listener")),
            (ELBV2Response, "modify_listener", elb_truststores._with_mutual_authentication("modify_listener")),
            (FakeListener, "mutual_authentication", property(elb_truststores.listener_mutual_authentication)),
            (ELBv2Backend, "_get_resource_by_arn", _get_resource_by_arn),
            *[(ELBV2Response, name, method) for name, method in elb_truststores.RESPONSE_METHODS.items()],
        ]
        for cls, attribute, replacement in table:
            # getattr_static: keep the original descriptor itself (plain function or property); None
            # for what moto lacks (the trust store actions)
            _ORIGINALS[f"{cls.__name__}.{attribute}"] = inspect.getattr_static(cls, attribute, None)
            setattr(cls, attribute, replacement)
        _APPLIED = True
