"""Listeners: ALB HTTPS:443 (ACM certificate, TLS policy) and NLB TCP:443, each forwarding to one
target group.

One class (`Listener`) serves both. A listener lives inside its load balancer, so the part is
built for one load balancer and port (`Listener(lb_arn)`) and found by ARN, else by that load
balancer and port. Everything we manage changes in place with ModifyListener; if the load balancer
itself is replaced, the old listener goes with it and a new one is created on the new one.

The ALB listener also carries the mutual-TLS mode (`MutualAuthentication.Mode`: off, passthrough,
verify); this part is its only writer. The NLB's TCP listener has none (`mutual_tls_mode` None: not
compared, not sent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import absent_is_fine, is_not_found
from hybrid_gateway.aws.tags import as_list
from hybrid_gateway.parts._elbv2 import LISTENERS, describe_recorded
from hybrid_gateway.parts.base import Observed, Part, PartContext

TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})
DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
MUTUAL_TLS_OFF = "off"


@dataclass(frozen=True)
class ListenerDesired:
    protocol: str
    target_group_arn: str
    certificate_arn: str | None = None  # HTTPS/TLS only
    ssl_policy: str | None = None  # HTTPS/TLS only
    # MutualAuthentication.Mode of an HTTPS listener (off | passthrough | verify); None: not managed.
    mutual_tls_mode: str | None = None
    trust_store_arn: str | None = None  # verify only

    @classmethod
    def https(
        cls, target_group_arn: str, certificate_arn: str, ssl_policy: str = DEFAULT_SSL_POLICY,
        mutual_tls_mode: str | None = None,
    ) -> ListenerDesired:
        return cls("HTTPS", target_group_arn, certificate_arn, ssl_policy, mutual_tls_mode)

    @classmethod
    def tcp(cls, target_group_arn: str) -> ListenerDesired:
        return cls("TCP", target_group_arn)


def _forward_target(actions: Iterable[Mapping[str, Any]]) -> str | None:
    """The target group of a single forward default action (either of its two shapes)."""
    for action in actions:
        if action.get("Type") != "forward":
            continue
        if action.get("TargetGroupArn"):
            return str(action["TargetGroupArn"])
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        if len(groups) == 1:
            return str(groups[0]["TargetGroupArn"])
    return None


@dataclass(frozen=True)
class ListenerState:
    arn: str
    load_balancer_arn: str | None = None
    port: int | None = None
    protocol: str | None = None
    certificate_arn: str | None = None
    ssl_policy: str | None = None
    target_group_arn: str | None = None
    default_action_count: int = 1
    # A listener DescribeListeners answers without MutualAuthentication has mutual TLS off (AWS's default).
    mutual_tls_mode: str = MUTUAL_TLS_OFF
    trust_store_arn: str | None = None


def listener_state(listener: Mapping[str, Any]) -> ListenerState:
    # DescribeListeners lists only the default certificate here (extra SNI ones need another call).
    certificates = [c["CertificateArn"] for c in listener.get("Certificates") or []]
    mutual = listener.get("MutualAuthentication") or {}
    return ListenerState(
        arn=listener["ListenerArn"],
        load_balancer_arn=listener.get("LoadBalancerArn"),
        port=listener.get("Port"),
        protocol=listener.get("Protocol"),
        certificate_arn=certificates[0] if certificates else None,
        ssl_policy=listener.get("SslPolicy"),
        target_group_arn=_forward_target(listener.get("DefaultActions", [])),
        default_action_count=len(listener.get("DefaultActions", [])),
        mutual_tls_mode=str(mutual.get("Mode") or MUTUAL_TLS_OFF),
        trust_store_arn=mutual.get("TrustStoreArn") or None,
    )


def diff_listener(desired: ListenerDesired, state: ListenerState) -> list[str]:
    """Pure comparison; certificate and policy only matter for TLS listeners."""
    changes = []
    if state.protocol != desired.protocol:
        changes.append("protocol")
    if state.target_group_arn != desired.target_group_arn or state.default_action_count != 1:
        changes.append("target_group_arn")
    if desired.protocol in TLS_PROTOCOLS:
        if state.certificate_arn != desired.certificate_arn:
            changes.append("certificate_arn")
        if desired.ssl_policy is not None and state.ssl_policy != desired.ssl_policy:
            changes.append("ssl_policy")
        if desired.mutual_tls_mode is not None and (
            state.mutual_tls_mode != desired.mutual_tls_mode or state.trust_store_arn != desired.trust_store_arn
        ):
            changes.append("mutual_tls")
    return changes


class Listener(Part[ListenerDesired, ListenerState]):
    """A listener on one load balancer and port. Use `AlbListener` / `NlbListener`."""

    def __init__(self, load_balancer_arn: str, port: int = 443) -> None:
        self.load_balancer_arn = load_balancer_arn
        self.port = port

    def find(
        self, ctx: PartContext, desired: ListenerDesired | None, known_id: str | None
    ) -> Observed[ListenerState] | None:
        """By `known_id`, else by port on our load balancer (the port is its deterministic key)."""
        elbv2 = ctx.client("elbv2")
        # The two listeners status recorded are described in one call (`describe_recorded`).
        recorded = describe_recorded(ctx, LISTENERS, known_id) if known_id else None
        listeners = [recorded] if recorded is not None else []
        if not listeners or listeners[0].get("LoadBalancerArn") != self.load_balancer_arn:
            # Unknown, gone, or on a load balancer that was replaced: look on ours by port.
            # (DescribeListeners lists one load balancer's listeners; rarely more than a page.)
            listeners = self._describe(elbv2, LoadBalancerArn=self.load_balancer_arn)
        for listener in listeners:
            if (
                listener.get("LoadBalancerArn") == self.load_balancer_arn
                and listener.get("Port") == self.port
            ):
                return Observed(id=listener["ListenerArn"], state=listener_state(listener))
        return None

    @staticmethod
    def _describe(elbv2: Any, **query: Any) -> list[dict[str, Any]]:
        try:
            pages = elbv2.get_paginator("describe_listeners").paginate(**query)
            return [listener for page in pages for listener in page["Listeners"]]
        except ClientError as exc:
            if is_not_found(exc):
                return []
            raise

    def _params(self, desired: ListenerDesired) -> dict[str, Any]:
        params: dict[str, Any] = {
            "Protocol": desired.protocol,
            "Port": self.port,
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": desired.target_group_arn}],
        }
        if desired.protocol in TLS_PROTOCOLS:
            if desired.certificate_arn:
                params["Certificates"] = [{"CertificateArn": desired.certificate_arn}]
            params["SslPolicy"] = desired.ssl_policy or DEFAULT_SSL_POLICY
            if desired.mutual_tls_mode is not None:
                mutual: dict[str, Any] = {"Mode": desired.mutual_tls_mode}
                if desired.trust_store_arn:
                    mutual["TrustStoreArn"] = desired.trust_store_arn
                params["MutualAuthentication"] = mutual
        return params

    def create(self, ctx: PartContext, desired: ListenerDesired) -> Observed[ListenerState]:
        listener = ctx.client("elbv2").create_listener(
            LoadBalancerArn=self.load_balancer_arn,
            Tags=as_list(ctx.owner.tags(self.name)),
            **self._params(desired),
        )["Listeners"][0]
        return Observed(id=listener["ListenerArn"], state=listener_state(listener))

    def diff(self, desired: ListenerDesired, observed: Observed[ListenerState]) -> list[str]:
        return diff_listener(desired, observed.state)

    def update(
        self, ctx: PartContext, desired: ListenerDesired, observed: Observed[ListenerState], changes: list[str]
    ) -> Observed[ListenerState]:
        listener = ctx.client("elbv2").modify_listener(ListenerArn=observed.id, **self._params(desired))[
            "Listeners"
        ][0]
        return Observed(id=listener["ListenerArn"], state=listener_state(listener))

    def delete(self, ctx: PartContext, observed: Observed[ListenerState]) -> None:
        with absent_is_fine():
            ctx.client("elbv2").delete_listener(ListenerArn=observed.id)


class AlbListener(Listener):
    """The ALB's HTTPS:443 listener (status: `albListenerArn`)."""

    name = "alb-listener"


class NlbListener(Listener):
    """The NLB's TCP:443 listener (status: `nlbListenerArn`)."""

    name = "nlb-listener"


__all__ = ["MUTUAL_TLS_OFF", "AlbListener", "Listener", "ListenerDesired", "NlbListener", "diff_listener",
           "listener_state"]
