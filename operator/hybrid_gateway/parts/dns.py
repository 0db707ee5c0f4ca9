"""Route 53 records: the front-door alias (hostname -> NLB) and the ACM DNS-validation CNAME.

Route 53 records cannot be tagged. Ownership is by name: the record named in the spec (the
front-door hostname, or the validation name ACM gives for our certificate) in the spec's hosted
zone belongs to the HybridApi, and the part overwrites it with UPSERT. The id of a record is its
normalised name (lower case, no trailing dot), which is what status stores as `dnsRecordName`.

Comparisons are done on normalised values: Route 53 answers names with a trailing dot and may
change the case of an alias target or prefix it with `dualstack.`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import error_code
from hybrid_gateway.parts.base import Observed, Outcome, Part, PartContext


def norm_name(name: str) -> str:
    """`Foo.Example.com.` -> `foo.example.com`; also undoes Route 53's octal escapes of `*`."""
    return name.replace("\\052", "*").rstrip(".").lower()


def norm_alias_dns(name: str) -> str:
    name = norm_name(name)
    return name.removeprefix("dualstack.")


def norm_zone_id(zone_id: str) -> str:
    return zone_id.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class AliasTarget:
    dns_name: str
    hosted_zone_id: str
    evaluate_target_health: bool = False


@dataclass(frozen=True)
class RecordDesired:
    """One simple-routing record set: either `values` with a `ttl`, or an `alias`."""

    name: str
    values: tuple[str, ...] = ()
    ttl: int = 300
    alias: AliasTarget | None = None

    @classmethod
    def alias_to(cls, name: str, dns_name: str, hosted_zone_id: str) -> RecordDesired:
        """The front-door A record: `name` resolves to the NLB (seed 000)."""
        return cls(name=name, alias=AliasTarget(dns_name, hosted_zone_id, False))

    @classmethod
    def cname(cls, name: str, value: str, ttl: int = 300) -> RecordDesired:
        return cls(name=name, values=(value,), ttl=ttl)


def record_state(rrset: dict[str, Any], zone_id: str) -> dict[str, Any]:
    alias = rrset.get("AliasTarget")
    return {
        "hostedZoneId": zone_id,
        "name": norm_name(rrset["Name"]),
        "type": rrset["Type"],
        "ttl": None if alias else rrset.get("TTL"),
        "values": [r["Value"] for r in rrset.get("ResourceRecords", [])],
        "aliasDnsName": alias.get("DNSName") if alias else None,
        "aliasHostedZoneId": alias.get("HostedZoneId") if alias else None,
        "evaluateTargetHealth": alias.get("EvaluateTargetHealth") if alias else None,
    }


def diff_record(desired: RecordDesired, record_type: str, state: dict[str, Any]) -> list[str]:
    """Pure comparison of desired with an observed record state."""
    changes = []
    if state.get("name") != norm_name(desired.name):
        changes.append("name")
    if state.get("type") != record_type:
        changes.append("type")
    if desired.alias is not None:
        if norm_alias_dns(state.get("aliasDnsName") or "") != norm_alias_dns(desired.alias.dns_name):
            changes.append("alias.dns_name")
        if norm_zone_id(state.get("aliasHostedZoneId") or "") != norm_zone_id(desired.alias.hosted_zone_id):
            changes.append("alias.hosted_zone_id")
        if bool(state.get("evaluateTargetHealth")) != desired.alias.evaluate_target_health:
            changes.append("alias.evaluate_target_health")
    else:
        if state.get("aliasDnsName") is not None:
            changes.append("alias")
        norm = norm_name if record_type == "CNAME" else str  # a CNAME's value is a name too
        if sorted(norm(v) for v in state.get("values", [])) != sorted(norm(v) for v in desired.values):
            changes.append("values")
        if state.get("ttl") != desired.ttl:
            changes.append("ttl")
    return changes


class DnsRecord(Part[RecordDesired]):
    """One record set of `record_type` in `hosted_zone_id` (status: `dnsRecordName`).

    `DnsRecord(zone, "A")` is the front-door alias; `DnsRecord(zone, "CNAME")` the ACM
    validation record. UPSERT makes create and update the same idempotent call.
    """

    name = "dns-record"

    def __init__(self, hosted_zone_id: str, record_type: str) -> None:
        self.hosted_zone_id = norm_zone_id(hosted_zone_id)
        self.record_type = record_type

    def find(self, ctx: PartContext, known_id: str | None) -> Observed | None:
        """One ListResourceRecordSets call starting at (name, type), then an exact match."""
        if not known_id:
            return None  # records cannot be found by tags; the name is the only key
        name = norm_name(known_id)
        answer = ctx.client("route53").list_resource_record_sets(
            HostedZoneId=self.hosted_zone_id,
            StartRecordName=name,
            StartRecordType=self.record_type,
            MaxItems="1",
        )
        for rrset in answer.get("ResourceRecordSets", []):
            if (
                norm_name(rrset["Name"]) == name
                and rrset["Type"] == self.record_type
                and "SetIdentifier" not in rrset
            ):
                return Observed(id=name, state=record_state(rrset, self.hosted_zone_id))
        return None

    def ensure(self, ctx: PartContext, desired: RecordDesired, known_id: str | None) -> Outcome:
        """Like `Part.ensure`, but a rename writes the new record before deleting the old one,
        so the hostname never stops resolving; without `known_id` the desired name is looked up."""
        observed = self.find(ctx, known_id or desired.name)
        if observed is None and known_id and norm_name(known_id) != norm_name(desired.name):
            observed = self.find(ctx, desired.name)
        if observed is None:
            return Outcome(self.name, self.create(ctx, desired), "Created")
        changes = self.diff(desired, observed)
        if not changes:
            return Outcome(self.name, observed)
        if "name" in changes:
            created = self.create(ctx, desired)
            self.delete(ctx, observed)
            return Outcome(self.name, created, "Replaced", changes)
        return Outcome(self.name, self.update(ctx, desired, observed, changes), "Updated", changes)

    def _rrset(self, desired: RecordDesired) -> dict[str, Any]:
        # No trailing dot and lower case: Route 53 accepts both, and moto's DELETE matching and
        # ListResourceRecordSets ordering only work on names written this way.
        rrset: dict[str, Any] = {"Name": norm_name(desired.name), "Type": self.record_type}
        if desired.alias is not None:
            rrset["AliasTarget"] = {
                "DNSName": desired.alias.dns_name,
                "HostedZoneId": norm_zone_id(desired.alias.hosted_zone_id),
                "EvaluateTargetHealth": desired.alias.evaluate_target_health,
            }
        else:
            rrset["TTL"] = desired.ttl
            rrset["ResourceRecords"] = [{"Value": v} for v in desired.values]
        return rrset

    def _change(self, ctx: PartContext, action: str, rrset: dict[str, Any]) -> dict[str, Any]:
        answer = ctx.client("route53").change_resource_record_sets(
            HostedZoneId=self.hosted_zone_id,
            ChangeBatch={
                "Comment": f"hybrid-gateway-operator: {ctx.owner.ref}",
                "Changes": [{"Action": action, "ResourceRecordSet": rrset}],
            },
        )
        return dict(answer.get("ChangeInfo", {}))

    def create(self, ctx: PartContext, desired: RecordDesired) -> Observed:
        rrset = self._rrset(desired)
        change = self._change(ctx, "UPSERT", rrset)
        state = record_state(rrset, self.hosted_zone_id)
        state["changeId"] = change.get("Id")
        return Observed(id=state["name"], state=state)

    def diff(self, desired: RecordDesired, observed: Observed) -> list[str]:
        return diff_record(desired, self.record_type, observed.state)

    def update(
        self, ctx: PartContext, desired: RecordDesired, observed: Observed, changes: list[str]
    ) -> Observed:
        return self.create(ctx, desired)

    def delete(self, ctx: PartContext, observed: Observed) -> None:
        """DELETE must repeat the record exactly, so it is rebuilt from what `find` saw."""
        state = observed.state
        rrset: dict[str, Any] = {"Name": state["name"], "Type": state["type"]}
        if state.get("aliasDnsName") is not None:
            rrset["AliasTarget"] = {
                "DNSName": state["aliasDnsName"],
                "HostedZoneId": state["aliasHostedZoneId"],
                "EvaluateTargetHealth": bool(state.get("evaluateTargetHealth")),
            }
        else:
            rrset["TTL"] = state["ttl"]
            rrset["ResourceRecords"] = [{"Value": v} for v in state.get("values", [])]
        try:
            self._change(ctx, "DELETE", rrset)
        except ClientError as exc:
            # "not found" comes back as InvalidChangeBatch (AWS) or InvalidInput (moto): if the
            # record is really gone, the delete has succeeded; otherwise it changed under us.
            if (
                error_code(exc) in {"InvalidChangeBatch", "InvalidInput"}
                and self.find(ctx, observed.id) is None
            ):
                return
            raise


def validation_record(certificate_state: dict[str, Any]) -> RecordDesired | None:
    """The CNAME a requested ACM certificate needs (None until ACM has published it)."""
    record = certificate_state.get("validationRecord")
    if not record or record.get("type", "CNAME") != "CNAME":
        return None
    return RecordDesired.cname(record["name"], record["value"])


__all__ = [
    "AliasTarget",
    "DnsRecord",
    "RecordDesired",
    "diff_record",
    "norm_alias_dns",
    "norm_name",
    "norm_zone_id",
    "record_state",
    "validation_record",
]
