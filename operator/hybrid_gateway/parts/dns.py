"""Route 53 records: the front-door alias (hostname -> NLB) and the ACM DNS-validation CNAME.

Route 53 records cannot be tagged. Ownership is by name: the record named in the spec (the
front-door hostname, or the validation name ACM gives for our certificate) in the spec's hosted
zone belongs to the HybridApi, and the part overwrites it with UPSERT. The id of a record is its
normalised name (lower case, no trailing dot), which is what status stores as `dnsRecordName`.

Comparisons are done on normalised values: Route 53 answers names with a trailing dot and may
change the case of an alias target or prefix it with `dualstack.`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import error_code
from hybrid_gateway.parts.base import Observed, Part, PartContext, Replacement

if TYPE_CHECKING:
    from mypy_boto3_route53.literals import ChangeActionType, RRTypeType
    from mypy_boto3_route53.type_defs import ResourceRecordSetTypeDef

    from hybrid_gateway.parts.certificate import CertificateState


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


@dataclass(frozen=True)
class RecordState:
    """One record set as Route 53 answers it, names normalised."""

    hosted_zone_id: str
    name: str
    type: str
    ttl: int | None = None
    values: tuple[str, ...] = ()
    alias_dns_name: str | None = None
    alias_hosted_zone_id: str | None = None
    evaluate_target_health: bool | None = None


def record_state(rrset: Mapping[str, Any], zone_id: str) -> RecordState:
    alias = rrset.get("AliasTarget")
    return RecordState(
        hosted_zone_id=zone_id,
        name=norm_name(rrset["Name"]),
        type=rrset["Type"],
        ttl=None if alias else rrset.get("TTL"),
        values=tuple(r["Value"] for r in rrset.get("ResourceRecords", [])),
        alias_dns_name=alias.get("DNSName") if alias else None,
        alias_hosted_zone_id=alias.get("HostedZoneId") if alias else None,
        evaluate_target_health=alias.get("EvaluateTargetHealth") if alias else None,
    )


def diff_record(desired: RecordDesired, record_type: str, state: RecordState) -> list[str]:
    """Pure comparison of desired with an observed record state."""
    changes = []
    if state.name != norm_name(desired.name):
        changes.append("name")
    if state.type != record_type:
        changes.append("type")
    if desired.alias is not None:
        if norm_alias_dns(state.alias_dns_name or "") != norm_alias_dns(desired.alias.dns_name):
            changes.append("alias.dns_name")
        if norm_zone_id(state.alias_hosted_zone_id or "") != norm_zone_id(desired.alias.hosted_zone_id):
            changes.append("alias.hosted_zone_id")
        if bool(state.evaluate_target_health) != desired.alias.evaluate_target_health:
            changes.append("alias.evaluate_target_health")
    else:
        if state.alias_dns_name is not None:
            changes.append("alias")
        norm = norm_name if record_type == "CNAME" else str  # a CNAME's value is a name too
        if sorted(norm(v) for v in state.values) != sorted(norm(v) for v in desired.values):
            changes.append("values")
        if state.ttl != desired.ttl:
            changes.append("ttl")
    return changes


class DnsRecord(Part[RecordDesired, RecordState]):
    """One record set of `record_type` in `hosted_zone_id` (status: `dnsRecordName`).

    `DnsRecord(zone, "A")` is the front-door alias; `DnsRecord(zone, "CNAME")` the ACM
    validation record. UPSERT makes create and update the same idempotent call. A rename writes the
    new record before deleting the old one, so the hostname never stops resolving.
    """

    name = "dns-record"
    replace_on = frozenset({"name"})
    replacement = Replacement.CREATE_FIRST

    def __init__(self, hosted_zone_id: str, record_type: RRTypeType) -> None:
        self.hosted_zone_id = norm_zone_id(hosted_zone_id)
        self.record_type = record_type

    def find(
        self, ctx: PartContext, desired: RecordDesired | None, known_id: str | None
    ) -> Observed[RecordState] | None:
        """By the known name, else by the desired one: records cannot be found by tags."""
        names = [n for n in (known_id, desired.name if desired else None) if n]
        for name in dict.fromkeys(norm_name(n) for n in names):
            found = self._lookup(ctx, name)
            if found is not None:
                return found
        return None

    def _lookup(self, ctx: PartContext, name: str) -> Observed[RecordState] | None:
        """One ListResourceRecordSets call starting at (name, type), then an exact match."""
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

    def _rrset(self, desired: RecordDesired) -> ResourceRecordSetTypeDef:
        # No trailing dot and lower case: Route 53 accepts both, and moto's DELETE matching and
        # ListResourceRecordSets ordering only work on names written this way.
        rrset: ResourceRecordSetTypeDef = {"Name": norm_name(desired.name), "Type": self.record_type}
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

    def _change(self, ctx: PartContext, action: ChangeActionType, rrset: ResourceRecordSetTypeDef) -> None:
        ctx.client("route53").change_resource_record_sets(
            HostedZoneId=self.hosted_zone_id,
            ChangeBatch={
                "Comment": f"hybrid-gateway-operator: {ctx.owner.ref}",
                "Changes": [{"Action": action, "ResourceRecordSet": rrset}],
            },
        )

    def create(self, ctx: PartContext, desired: RecordDesired) -> Observed[RecordState]:
        rrset = self._rrset(desired)
        self._change(ctx, "UPSERT", rrset)
        state = record_state(rrset, self.hosted_zone_id)
        return Observed(id=state.name, state=state)

    def diff(self, desired: RecordDesired, observed: Observed[RecordState]) -> list[str]:
        return diff_record(desired, self.record_type, observed.state)

    def update(
        self, ctx: PartContext, desired: RecordDesired, observed: Observed[RecordState], changes: list[str]
    ) -> Observed[RecordState]:
        return self.create(ctx, desired)

    def delete(self, ctx: PartContext, observed: Observed[RecordState]) -> None:
        """DELETE must repeat the record exactly, so it is rebuilt from what `find` saw."""
        state = observed.state
        rrset: ResourceRecordSetTypeDef = {"Name": state.name, "Type": self.record_type}
        if state.alias_dns_name is not None:
            rrset["AliasTarget"] = {
                "DNSName": state.alias_dns_name,
                "HostedZoneId": state.alias_hosted_zone_id or "",
                "EvaluateTargetHealth": bool(state.evaluate_target_health),
            }
        else:
            if state.ttl is not None:
                rrset["TTL"] = state.ttl
            rrset["ResourceRecords"] = [{"Value": v} for v in state.values]
        try:
            self._change(ctx, "DELETE", rrset)
        except ClientError as exc:
            # "not found" comes back as InvalidChangeBatch (AWS) or InvalidInput (moto): if the
            # record is really gone, the delete has succeeded; otherwise it changed under us.
            if error_code(exc) in {"InvalidChangeBatch", "InvalidInput"} and self._lookup(ctx, state.name) is None:
                return
            raise


def validation_record(certificate: CertificateState) -> RecordDesired | None:
    """The CNAME a requested ACM certificate needs (None until ACM has published it)."""
    record = certificate.validation_record
    if record is None or record.type != "CNAME":
        return None
    return RecordDesired.cname(record.name, record.value)


__all__ = [
    "AliasTarget",
    "DnsRecord",
    "RecordDesired",
    "RecordState",
    "diff_record",
    "norm_alias_dns",
    "norm_name",
    "norm_zone_id",
    "record_state",
    "validation_record",
]
