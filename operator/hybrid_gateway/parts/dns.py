"""Route 53 records: the front-door alias (hostname -> NLB or API Gateway domain) and the ACM
DNS-validation CNAME, each written only where the operator may (docs/dns-ownership.md).

Route 53 records cannot be tagged, so ownership is kept in the zone itself, in the spirit of
external-dns's TXT registry: beside each alias the operator writes, a TXT record
`_hybridgateway-a.<name>` holds `heritage=hybrid-gateway-operator,hybridgateway.io/owner=<kind>/
<namespace>/<name>,hybridgateway.io/uid=<uid>` (the same owner and uid the owner tags carry). The
alias and its TXT are created, and deleted, together in one change batch, which Route 53 applies
all or nothing. A new name is written with CREATE, which Route 53 refuses when the record exists,
so two writers racing for one name cannot both win. An alias is changed only when its TXT names
this owner's uid; anything else is `Stalled(HostnameInUse)` before any write. An alias without a
TXT that already points at exactly the desired target (what an older operator wrote) is adopted:
its TXT is written.

The validation CNAME has no TXT: ACM asks every certificate for one name in an account for the
same CNAME, so it is shared by content, not owned. One with ACM's value is used as it is; one of
that name with another value is the owner's to repair only when status recorded it (it was made
here), else it is `HostnameInUse`.

The id of a record is its normalised name (lower case, no trailing dot), which is what status
stores as `dnsRecordName`. Comparisons are done on normalised values: Route 53 answers names with
a trailing dot and may change the case of an alias target or prefix it with `dualstack.`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import error_code
from hybrid_gateway.aws.shared_reads import SharedKind
from hybrid_gateway.aws.tags import MANAGED_BY, Owner
from hybrid_gateway.errors import RetryLater, Stalled
from hybrid_gateway.parts.base import Observed, Part, PartContext, Replacement, shared_read

if TYPE_CHECKING:
    from mypy_boto3_route53.literals import ChangeActionType, RRTypeType
    from mypy_boto3_route53.type_defs import ChangeTypeDef, ResourceRecordSetTypeDef

    from hybrid_gateway.aws.clients import RegionalClients
    from hybrid_gateway.parts.certificate import CertificateState

HOSTNAME_IN_USE = "HostnameInUse"
OWNERSHIP_LABEL = "_hybridgateway"  # `_hybridgateway-<type>.<name>`: an underscore label, never a host
OWNERSHIP_TTL = 300
HERITAGE_KEY, OWNER_KEY, UID_KEY = "heritage", "hybridgateway.io/owner", "hybridgateway.io/uid"
TXT_STRING_MAX = 255  # one character-string of a TXT value (Route 53: split longer values)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def norm_name(name: str) -> str:
    """`Foo.Example.com.` -> `foo.example.com`; also undoes Route 53's octal escapes of `*`."""
    return name.replace("\\052", "*").rstrip(".").lower()


def norm_alias_dns(name: str) -> str:
    name = norm_name(name)
    return name.removeprefix("dualstack.")


def norm_zone_id(zone_id: str) -> str:
    return zone_id.rsplit("/", 1)[-1]


# -- the ownership record ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordOwner:
    """Who an ownership TXT says owns a record: `ref` is `kind/namespace/name`."""

    ref: str
    uid: str

    @property
    def described(self) -> str:
        kind, _, rest = self.ref.partition("/")
        return f"{kind} {rest}" if rest else self.ref


def ownership_name(name: str, record_type: str) -> str:
    """The TXT name beside record `name` of `record_type`: a label of its own per type, as
    external-dns's `%{record_type}` prefix does, so it never collides with a CNAME or the user's TXT."""
    return f"{OWNERSHIP_LABEL}-{record_type.lower()}.{norm_name(name)}"


def ownership_value(owner: Owner) -> str:
    """The TXT value naming `owner`, in quoted character-strings of at most 255 characters."""
    text = f"{HERITAGE_KEY}={MANAGED_BY},{OWNER_KEY}={owner.ref},{UID_KEY}={owner.uid}"
    return " ".join(f'"{text[i:i + TXT_STRING_MAX]}"' for i in range(0, len(text), TXT_STRING_MAX))


def parse_ownership(values: tuple[str, ...]) -> RecordOwner | None:
    """The owner a TXT record set names, None when it is not one of ours (no heritage)."""
    for value in values:
        text = "".join(_QUOTED.findall(value)) if '"' in value else value
        fields = dict(part.partition("=")[::2] for part in text.split(","))
        if fields.get(HERITAGE_KEY) == MANAGED_BY and fields.get(UID_KEY):
            return RecordOwner(fields.get(OWNER_KEY, ""), fields[UID_KEY])
    return None


# -- desired and observed -----------------------------------------------------------------------------
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
    """One record set as Route 53 answers it, names normalised. `ownership` is the TXT beside it
    as Route 53 answers it (None: there is none, or the record type keeps none); `owner` what it says."""

    hosted_zone_id: str
    name: str
    type: str
    ttl: int | None = None
    values: tuple[str, ...] = ()
    alias_dns_name: str | None = None
    alias_hosted_zone_id: str | None = None
    evaluate_target_health: bool | None = None
    ownership: tuple[str, ...] | None = None
    owner: RecordOwner | None = None

    def describe(self) -> str:
        target = self.alias_dns_name or ", ".join(self.values)
        return f"{self.type} {self.name} -> {norm_alias_dns(target) if self.alias_dns_name else target}"


def sort_key(name: str, record_type: str = "") -> tuple[str, str]:
    """Where Route 53 lists (name, type): by name with the labels reversed and a trailing dot
    (`com.example.api.`), in ASCII order, then by type (docs/aws-behaviour.md)."""
    return ".".join(reversed(norm_name(name).split("."))) + ".", record_type


def subtree_root(name: str) -> str:
    """The hostname whose records `name` belongs with: an underscore label (ACM's validation CNAME
    `_<token>.<host>`, our ownership TXT `_hybridgateway-a.<host>`) is dropped."""
    first, _, rest = norm_name(name).partition(".")
    return rest if first.startswith("_") and rest else norm_name(name)


RECORD_WINDOW = 16  # record sets one listing reads around a hostname
MAX_ITEMS = 300  # ListResourceRecordSets answers at most 300 record sets (Route 53 API reference)
Key = tuple[str, str]
Window = tuple[Key, Key | None, list[Mapping[str, Any]]]  # (first key, last key covered or None: the end)


def window_of(first: Key, answer: Mapping[str, Any]) -> Window | None:
    """What one listing from `first` covers: up to its last record set (name and type included), or to
    the zone's end when not truncated; None when a truncated answer holds nothing."""
    rrsets = list(answer.get("ResourceRecordSets", []))
    if not answer.get("IsTruncated"):
        return first, None, rrsets
    return (first, sort_key(rrsets[-1]["Name"], rrsets[-1]["Type"]), rrsets) if rrsets else None


def covers(window: Window, key: Key) -> bool:
    first, last, _ = window
    return first <= key and (last is None or key <= last)


def zone_windows(zone_id: str) -> SharedKind:
    """Listings of one hosted zone shared across objects (aws/shared_reads.py), keyed by hostname: the
    hostnames of several objects are answered by one listing from the first of them in Route 53's order,
    of 16 record sets per hostname (at most 300), as far as it reaches."""
    def fetch(clients: RegionalClients, roots: list[str]) -> dict[str, Window]:
        ordered = sorted(roots, key=sort_key)
        items = min(MAX_ITEMS, RECORD_WINDOW * len(ordered))
        answer = clients.client("route53").list_resource_record_sets(
            HostedZoneId=zone_id, StartRecordName=ordered[0], MaxItems=str(items))
        window = window_of(sort_key(ordered[0]), answer)
        return {root: window for root in ordered if window is not None and covers(window, sort_key(root))}
    return SharedKind(f"route53:ListResourceRecordSets:{zone_id}", fetch)


@dataclass
class ZoneReads:
    """What one pass listed of one hosted zone: windows of record sets in Route 53's order.

    A hostname's own records, its ownership TXT and ACM's validation CNAME for it are all in the
    subtree of the hostname, which Route 53 lists together (labels reversed: `com.example.api.`,
    then `com.example.api._hybridgateway-a.`, ...). So one ListResourceRecordSets from the hostname
    answers for the alias, its TXT and the validation record: one read instead of three, and with the
    other objects' passes running now, one for the hostnames of many (`zone_windows`). A record set
    missing from a window that covers its place in the order does not exist; one outside every
    window is read on its own. Any change batch to the zone drops the windows (`DnsRecord._change`).
    """

    windows: list[Window] = field(default_factory=list)

    def answer(self, name: str, record_type: str) -> tuple[bool, Mapping[str, Any] | None]:
        """(True, the record set or None) when a window covers (name, type); (False, None) when not."""
        key = sort_key(name, record_type)
        for window in self.windows:
            if covers(window, key):
                return True, _exact(window[2], name, record_type)
        return False, None

    def read(self, ctx: PartContext, zone_id: str, name: str, record_type: str) -> Mapping[str, Any] | None:
        """List the zone from `name`'s hostname on (one call, maybe shared) and answer (name, type) from
        it; when even that window ends before (name, type), ask for (name, type) itself."""
        root = subtree_root(name)
        window = shared_read(ctx, zone_windows(zone_id), [root]).get(root)
        if window is not None:
            self.windows.append(window)
        known, rrset = self.answer(name, record_type)
        return rrset if known else read_record_set(ctx.client("route53"), zone_id, name, record_type)


def read_record_set(route53: Any, zone_id: str, name: str, record_type: str) -> Mapping[str, Any] | None:
    """Record set (name, type): one ListResourceRecordSets call starting there, then an exact match."""
    answer = route53.list_resource_record_sets(
        HostedZoneId=zone_id, StartRecordName=name, StartRecordType=record_type, MaxItems="1")
    return _exact(answer.get("ResourceRecordSets", []), name, record_type)


def _exact(rrsets: list[Mapping[str, Any]], name: str, record_type: str) -> Mapping[str, Any] | None:
    wanted = norm_name(name)
    for rrset in rrsets:
        if norm_name(rrset["Name"]) == wanted and rrset["Type"] == record_type and "SetIdentifier" not in rrset:
            return rrset
    return None


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
    """Pure comparison of desired with an observed record state (the record, not its owner)."""
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


def record_owned(
    state: RecordState, owner: Owner, desired: RecordDesired | None, record_type: str, registry: bool,
    recorded: bool,
) -> bool:
    """Whether the record may be changed and deleted by `owner` (docs/dns-ownership.md, pure).

    With a registry: its TXT names `owner`'s uid, or it has no TXT and already is exactly `desired`
    (an older operator's record: adopted). Without one (the shared validation CNAME): it is what
    `desired` asks, or status `recorded` it as made here; when removing, it is ours to remove."""
    if registry:
        if state.owner is not None:
            return state.owner.uid == owner.uid
        return desired is not None and not diff_record(desired, record_type, state)
    return desired is None or recorded or not diff_record(desired, record_type, state)


def hostname_in_use(state: RecordState, zone_id: str) -> Stalled:
    """The refusal of a record someone else has: who (from its TXT), or that nobody here made it."""
    where = f"{state.name} ({state.type}) in hosted zone {zone_id}"
    if state.owner is not None:
        return Stalled(HOSTNAME_IN_USE, (
            f"{where} is owned by {state.owner.described} (uid {state.owner.uid}, ownership record "
            f"{ownership_name(state.name, state.type)}): use another hostname, or delete that "
            f"{state.owner.described.split(' ', 1)[0]} first"))
    return Stalled(HOSTNAME_IN_USE, (
        f"{where} already exists ({state.describe()}) with no ownership record: it was made outside "
        "the operator. Use another hostname, or delete that record in Route 53 if nothing uses it"))


# -- the part -------------------------------------------------------------------------------------------
class DnsRecord(Part[RecordDesired, RecordState]):
    """One record set of `record_type` in `hosted_zone_id` (status: `dnsRecordName`).

    `DnsRecord(zone, "A")` is the front-door alias, kept with an ownership TXT (`registry`);
    `DnsRecord(zone, "CNAME")` the ACM validation record, shared by content. A rename writes the new
    record before deleting the old one, so the hostname never stops resolving.
    """

    name = "dns-record"
    replace_on = frozenset({"name"})
    replacement = Replacement.CREATE_FIRST

    def __init__(self, hosted_zone_id: str, record_type: RRTypeType) -> None:
        self.hosted_zone_id = norm_zone_id(hosted_zone_id)
        self.record_type = record_type
        self.registry = record_type != "CNAME"  # a CNAME is shared by content (module docstring)

    def find(
        self, ctx: PartContext, desired: RecordDesired | None, known_id: str | None
    ) -> Observed[RecordState] | None:
        """By the known name, else by the desired one: records cannot be found by tags. The
        ownership TXT beside it says whether it is ours (`owned`)."""
        names = [n for n in (known_id, desired.name if desired else None) if n]
        for name in dict.fromkeys(norm_name(n) for n in names):
            state = self._lookup(ctx, name, self.record_type)
            if state is None:
                continue
            if self.registry:
                txt = self._lookup(ctx, ownership_name(name, self.record_type), "TXT")
                ownership = txt.values if txt is not None else None
                state = replace(state, ownership=ownership, owner=parse_ownership(ownership or ()))
            # The desired state only counts for the record it names (not a renamed one's old name).
            wanted = desired if desired is not None and norm_name(desired.name) == name else None
            owned = record_owned(state, ctx.owner, wanted, self.record_type, self.registry,
                                 recorded=known_id is not None and norm_name(known_id) == name)
            return Observed(id=name, state=state, owned=owned)
        return None

    def _lookup(self, ctx: PartContext, name: str, record_type: RRTypeType) -> RecordState | None:
        """Record set (name, type), from this pass's listing of the zone around `name`
        (`ZoneReads`), else one ListResourceRecordSets call starting at (name, type)."""
        route53 = ctx.client("route53")
        if ctx.reads is None:
            rrset = read_record_set(route53, self.hosted_zone_id, name, record_type)
        else:
            reads: ZoneReads = ctx.reads.setdefault(f"route53:{self.hosted_zone_id}", ZoneReads())
            known, rrset = reads.answer(name, record_type)
            if not known:
                rrset = reads.read(ctx, self.hosted_zone_id, name, record_type)
        return record_state(rrset, self.hosted_zone_id) if rrset is not None else None

    def refuse(
        self, ctx: PartContext, desired: RecordDesired, observed: Observed[RecordState] | None, changes: list[str]
    ) -> Stalled | None:
        if observed is None or observed.owned:
            return None
        if not self.registry:
            return Stalled(HOSTNAME_IN_USE, (
                f"{observed.state.describe()} in hosted zone {self.hosted_zone_id} is not the value ACM asks "
                f"for ({', '.join(desired.values)}) and was not made here: correct or delete that record"))
        return hostname_in_use(observed.state, self.hosted_zone_id)

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

    def _ownership_rrset(self, name: str, values: tuple[str, ...]) -> ResourceRecordSetTypeDef:
        return {"Name": ownership_name(name, self.record_type), "Type": "TXT", "TTL": OWNERSHIP_TTL,
                "ResourceRecords": [{"Value": v} for v in values]}

    def _change(self, ctx: PartContext, *changes: tuple[ChangeActionType, ResourceRecordSetTypeDef]) -> None:
        """One change batch: Route 53 makes all of its changes or none."""
        # What this pass listed of the zone is stale from here on, whether the batch passes or not.
        if ctx.reads is not None:
            ctx.reads.pop(f"route53:{self.hosted_zone_id}", None)
        batch: list[ChangeTypeDef] = [{"Action": action, "ResourceRecordSet": rrset} for action, rrset in changes]
        ctx.client("route53").change_resource_record_sets(
            HostedZoneId=self.hosted_zone_id,
            ChangeBatch={"Comment": f"hybrid-gateway-operator: {ctx.owner.ref}", "Changes": batch},
        )

    def create(self, ctx: PartContext, desired: RecordDesired) -> Observed[RecordState]:
        """CREATE the record (and its TXT): Route 53 refuses the batch when either exists."""
        rrset = self._rrset(desired)
        changes: list[tuple[ChangeActionType, ResourceRecordSetTypeDef]] = [("CREATE", rrset)]
        ownership: tuple[str, ...] | None = None
        if self.registry:
            ownership = (ownership_value(ctx.owner),)
            changes.append(self._claim(ctx, rrset["Name"], ownership))
        try:
            self._change(ctx, *changes)
        except ClientError as exc:
            if error_code(exc) != "InvalidChangeBatch":
                raise
            self._refused_create(ctx, desired, exc)
        state = replace(record_state(rrset, self.hosted_zone_id), ownership=ownership,
                        owner=parse_ownership(ownership or ()))
        return Observed(id=state.name, state=state)

    def _claim(
        self, ctx: PartContext, name: str, ownership: tuple[str, ...]
    ) -> tuple[ChangeActionType, ResourceRecordSetTypeDef]:
        """The TXT change for a record about to be written: CREATE, unless a TXT of ours is left
        without its record (then UPSERT); another owner's TXT without a record still names them."""
        left = self._lookup(ctx, ownership_name(name, self.record_type), "TXT")
        if left is None:
            return "CREATE", self._ownership_rrset(name, ownership)
        owner = parse_ownership(left.values)
        if owner is None or owner.uid != ctx.owner.uid:
            raise hostname_in_use(replace(left, name=name, type=self.record_type, owner=owner), self.hosted_zone_id)
        return "UPSERT", self._ownership_rrset(name, ownership)

    def _refused_create(self, ctx: PartContext, desired: RecordDesired, exc: ClientError) -> None:
        """CREATE was refused: someone made the name meanwhile (look again next pass, which names
        them), or Route 53 will not have it there (a CNAME of that name: Stalled, its words)."""
        name = norm_name(desired.name)
        if self._lookup(ctx, name, self.record_type) is not None:
            raise RetryLater(HOSTNAME_IN_USE, f"{name} ({self.record_type}) was created by someone else meanwhile")
        message = exc.response.get("Error", {}).get("Message", "")
        raise Stalled(HOSTNAME_IN_USE, (
            f"Route 53 refused to create {name} ({self.record_type}) in hosted zone {self.hosted_zone_id}: "
            f"{message}. Use another hostname, or remove what holds that name")) from None

    def diff(self, desired: RecordDesired, observed: Observed[RecordState]) -> list[str]:
        changes = diff_record(desired, self.record_type, observed.state)
        if self.registry and observed.state.owner is None:
            changes.append("ownership")  # an adopted record: its TXT is written
        return changes

    def update(
        self, ctx: PartContext, desired: RecordDesired, observed: Observed[RecordState], changes: list[str]
    ) -> Observed[RecordState]:
        """UPSERT a record we own; CREATE the TXT of an adopted one (refused if one appeared)."""
        rrset = self._rrset(desired)
        batch: list[tuple[ChangeActionType, ResourceRecordSetTypeDef]] = []
        if set(changes) - {"ownership"}:
            batch.append(("UPSERT", rrset))
        ownership = observed.state.ownership
        if "ownership" in changes:
            ownership = (ownership_value(ctx.owner),)
            batch.append(("CREATE", self._ownership_rrset(rrset["Name"], ownership)))
        self._change(ctx, *batch)
        state = replace(record_state(rrset, self.hosted_zone_id), ownership=ownership,
                        owner=parse_ownership(ownership or ()))
        return Observed(id=state.name, state=state)

    def delete(self, ctx: PartContext, observed: Observed[RecordState]) -> None:
        """DELETE the record and its TXT in one batch; DELETE must repeat each exactly, so both are
        rebuilt from what `find` saw."""
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
        changes: list[tuple[ChangeActionType, ResourceRecordSetTypeDef]] = [("DELETE", rrset)]
        if state.ownership:
            changes.append(("DELETE", self._ownership_rrset(state.name, state.ownership)))
        try:
            self._change(ctx, *changes)
        except ClientError as exc:
            # "not found" comes back as InvalidChangeBatch (AWS) or InvalidInput (moto): if the
            # record is really gone, the delete has succeeded; otherwise it changed under us.
            if error_code(exc) in {"InvalidChangeBatch", "InvalidInput"} and self._lookup(
                    ctx, state.name, self.record_type) is None:
                return
            raise


def _older_operators(part: DnsRecord, found: Observed[RecordState],
                     target: Callable[[], AliasTarget | None]) -> RecordDesired | None:
    """The desired state that adopts `found` when an older operator wrote it: no TXT, and pointing at
    exactly our `target` (looked up only then). None: it is not that."""
    aim = target() if found.state.owner is None else None
    desired = RecordDesired(name=found.id, alias=aim) if aim is not None else None
    return desired if desired is not None and not diff_record(desired, part.record_type, found.state) else None


def check_name_free(ctx: PartContext, part: DnsRecord, name: str, known: str | None,
                    target: Callable[[], AliasTarget | None]) -> None:
    """Before a chain's first write: `Stalled(HostnameInUse)` when record `name` is someone else's, so
    that nothing at all is made for a name that cannot be had. Skipped once status records `name`
    (`known`): the step itself guards it from then on."""
    if known is not None and norm_name(known) == norm_name(name):
        return
    found = part.find(ctx, None, name)
    if found is None or found.owned or _older_operators(part, found, target) is not None:
        return
    raise hostname_in_use(found.state, part.hosted_zone_id)


def alias_to_delete(
    ctx: PartContext, part: DnsRecord, name: str, target: Callable[[], AliasTarget | None]
) -> str | None:
    """finalize_id of an alias: its name when its TXT says it is ours. One an older operator wrote
    is adopted first (its TXT written), so that `remove()` takes it with its TXT; anything else is
    left alone."""
    found = part.find(ctx, None, name)
    if found is None or found.owned:
        return found.id if found is not None else None
    adopt = _older_operators(part, found, target)
    if adopt is None:
        return None
    part.ensure(ctx, adopt, found.id)
    return found.id


def validation_record(certificate: CertificateState) -> RecordDesired | None:
    """The CNAME a requested ACM certificate needs (None until ACM has published it)."""
    record = certificate.validation_record
    if record is None or record.type != "CNAME":
        return None
    return RecordDesired.cname(record.name, record.value)


__all__ = [
    "HOSTNAME_IN_USE",
    "AliasTarget",
    "DnsRecord",
    "RecordDesired",
    "RecordOwner",
    "RecordState",
    "alias_to_delete",
    "check_name_free",
    "diff_record",
    "hostname_in_use",
    "norm_alias_dns",
    "norm_name",
    "norm_zone_id",
    "ownership_name",
    "ownership_value",
    "parse_ownership",
    "record_owned",
    "record_state",
    "validation_record",
]
