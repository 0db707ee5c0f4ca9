"""Who may write a Route 53 name (docs/dns-ownership.md): the ownership TXT beside each alias, CREATE
for new names, HostnameInUse before any write for everything else, adoption of an older operator's
alias, and deletion of only what is ours (alias and TXT in one batch).

Pure rules are tables of cases with a reason; the rest runs against the emulator with every call
our clients make recorded, so "no write" is checked exactly.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

import boto3
import pytest
from tests.parts.contract import Recorder

from hybrid_gateway.aws import AwsClients
from hybrid_gateway.aws.tags import Owner
from hybrid_gateway.errors import RetryLater, Stalled
from hybrid_gateway.parts.base import PartContext
from hybrid_gateway.parts.certificate import RequestedCertificate, RequestedCertificateDesired, validation_record_shared
from hybrid_gateway.parts.dns import (
    AliasTarget,
    DnsRecord,
    RecordDesired,
    RecordOwner,
    RecordState,
    alias_to_delete,
    check_name_free,
    ownership_name,
    ownership_value,
    parse_ownership,
    record_owned,
)

REGION = "ap-northeast-1"
NLB = "internal-hg-nlb-1.elb.ap-northeast-1.amazonaws.com"
NLB_ZONE = "Z31USIVHYNEOWT"
ME = Owner("HybridApi", "team-a", "orders", "uid-me")
OTHER = Owner("HybridApi", "team-b", "orders", "uid-other")


# --- pure ---------------------------------------------------------------------------------------------


def test_ownership_value_names_kind_namespace_name_and_uid_and_reads_back() -> None:
    value = ownership_value(ME)
    assert value == '"heritage=hybrid-gateway-operator,hybridgateway.io/owner=HybridApi/team-a/orders,' \
        'hybridgateway.io/uid=uid-me"'
    assert parse_ownership((value,)) == RecordOwner("HybridApi/team-a/orders", "uid-me")
    assert RecordOwner("HybridApi/team-a/orders", "u").described == "HybridApi team-a/orders"


def test_a_long_owner_is_split_into_character_strings_of_255() -> None:
    long = Owner("MtlsDomain", "n" * 63, "x" * 253, "0123-uid")
    value = ownership_value(long)
    strings = value[1:-1].split('" "')
    assert len(strings) == 2 and all(len(s) <= 255 for s in strings)
    assert parse_ownership((value,)) == RecordOwner(long.ref, long.uid)


@pytest.mark.parametrize(("reason", "values", "expected"), [
    ("someone's SPF record is no ownership record", ('"v=spf1 -all"',), None),
    ("external-dns's record is not ours", ('"heritage=external-dns,external-dns/owner=default"',), None),
    ("unquoted, as some tools write it", ("heritage=hybrid-gateway-operator,hybridgateway.io/uid=u",),
     RecordOwner("", "u")),
    ("a heritage without a uid proves nothing", ('"heritage=hybrid-gateway-operator"',), None),
])
def test_parse_ownership(reason: str, values: tuple[str, ...], expected: RecordOwner | None) -> None:
    assert parse_ownership(values) == expected, reason


def _alias(target: str = NLB, owner: Owner | None = None) -> RecordState:
    ownership = (ownership_value(owner),) if owner else None
    return RecordState("Z", "api.example.com", "A", alias_dns_name=f"dualstack.{target}.",
                       alias_hosted_zone_id=NLB_ZONE, evaluate_target_health=False, ownership=ownership,
                       owner=parse_ownership(ownership) if ownership else None)


DESIRED = RecordDesired.alias_to("api.example.com", NLB, NLB_ZONE)
CNAME = RecordDesired.cname("_v.api.example.com", "_x.acm-validations.aws")
CNAME_STATE = RecordState("Z", "_v.api.example.com", "CNAME", ttl=300, values=("_x.acm-validations.aws.",))


@pytest.mark.parametrize(("reason", "state", "desired", "record_type", "recorded", "owned"), [
    ("our TXT: ours, wherever it points", _alias("elsewhere.example.net", ME), DESIRED, "A", False, True),
    ("our TXT: ours to delete", _alias(owner=ME), None, "A", True, True),
    ("another owner's TXT, even pointing at our target", _alias(owner=OTHER), DESIRED, "A", True, False),
    ("no TXT, pointing exactly where we would (an older operator's): adopted", _alias(), DESIRED, "A", True, True),
    ("no TXT, pointing elsewhere: made outside the operator", _alias("www.example.net"), DESIRED, "A", False, False),
    ("no TXT and nothing desired: never deleted", _alias(), None, "A", True, False),
    ("the validation CNAME ACM asks for: shared by content", CNAME_STATE, CNAME, "CNAME", False, True),
    ("a CNAME of that name with another value, not made here", replace(CNAME_STATE, values=("x.example",)), CNAME,
     "CNAME", False, False),
    ("a CNAME made here and changed by hand: repaired", replace(CNAME_STATE, values=("x.example",)), CNAME,
     "CNAME", True, True),
])
def test_record_owned(reason: str, state: RecordState, desired: RecordDesired | None, record_type: str,
                      recorded: bool, owned: bool) -> None:
    assert record_owned(state, ME, desired, record_type, record_type != "CNAME", recorded) is owned, reason


# --- against the emulator -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zone(emulator_endpoint: str) -> str:
    r53 = boto3.client("route53", endpoint_url=emulator_endpoint)
    return str(r53.create_hosted_zone(Name="example.com", CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"])


@pytest.fixture()
def r53(emulator_endpoint: str) -> Any:
    """A raw client: what someone else (a person, another tool) does to the zone."""
    return boto3.client("route53", endpoint_url=emulator_endpoint)


@pytest.fixture()
def ctx(emulator_endpoint: str) -> PartContext:
    owner = Owner("HybridApi", "team-a", "orders", str(uuid.uuid4()))
    limits = {"route53": 1000.0, "acm": 1000.0}
    return PartContext(aws=AwsClients(max_attempts=2, rate_limits=limits), region=REGION, owner=owner)


@pytest.fixture()
def rec(ctx: PartContext) -> Recorder:
    return Recorder().attach(ctx, "route53")


def _host() -> str:
    return f"own-{uuid.uuid4().hex[:6]}.example.com"


def _put(r53: Any, zone: str, action: str, name: str, rrset: dict[str, Any]) -> None:
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": action, "ResourceRecordSet": {"Name": name, **rrset}}]})


def _values(r53: Any, zone: str, name: str) -> list[str] | None:
    found = _listed(r53, zone, name, "TXT")
    return [v["Value"] for v in found["ResourceRecords"]] if found else None


def _alias_rrset(target: str) -> dict[str, Any]:
    return {"Type": "A", "AliasTarget": {"DNSName": target, "HostedZoneId": NLB_ZONE, "EvaluateTargetHealth": False}}


def _batch(rec: Recorder) -> list[tuple[str, str]]:
    """(action, type) of each change of the one ChangeResourceRecordSets call made."""
    (call,) = rec.params("ChangeResourceRecordSets")
    return [(c["Action"], c["ResourceRecordSet"]["Type"]) for c in call["ChangeBatch"]["Changes"]]


def _listed(r53: Any, zone: str, name: str, record_type: str) -> dict[str, Any] | None:
    answer = r53.list_resource_record_sets(
        HostedZoneId=zone, StartRecordName=name, StartRecordType=record_type, MaxItems="1")
    found = [r for r in answer["ResourceRecordSets"] if r["Name"].rstrip(".") == name and r["Type"] == record_type]
    return found[0] if found else None


def test_a_record_made_outside_the_operator_is_refused_before_any_write(
    zone: str, ctx: PartContext, rec: Recorder, r53: Any
) -> None:
    host = _host()
    _put(r53, zone, "CREATE", host, _alias_rrset("www.example.net"))
    before = _listed(r53, zone, host, "A")
    part = DnsRecord(zone, "A")
    rec.clear()
    with pytest.raises(Stalled) as stalled:
        part.ensure(ctx, RecordDesired.alias_to(host, NLB, NLB_ZONE), None)
    assert stalled.value.reason == "HostnameInUse" and rec.writes() == []
    assert "no ownership record" in stalled.value.message and "outside the operator" in stalled.value.message
    assert host in stalled.value.message and "www.example.net" in stalled.value.message
    assert _listed(r53, zone, host, "A") == before and _values(r53, zone, ownership_name(host, "A")) is None
    # Deleting the object that asked for it leaves it alone too.
    assert part.remove(ctx, host) is None and rec.writes() == []
    assert alias_to_delete(ctx, part, host, lambda: AliasTarget(NLB, NLB_ZONE)) is None and rec.writes() == []


def test_another_objects_record_is_refused_naming_it_and_never_changed(
    zone: str, ctx: PartContext, rec: Recorder, r53: Any
) -> None:
    host = _host()
    first = replace(ctx, owner=Owner("HybridApi", "team-a", "orders", str(uuid.uuid4())))
    part = DnsRecord(zone, "A")
    assert part.ensure(first, RecordDesired.alias_to(host, NLB, NLB_ZONE), None).action == "Created"
    before = (_listed(r53, zone, host, "A"), _values(r53, zone, ownership_name(host, "A")))

    second = replace(ctx, owner=Owner("HybridApi", "team-b", "orders", str(uuid.uuid4())))
    rec.attach(second, "route53").clear()
    for desired in (RecordDesired.alias_to(host, "internal-other.elb.amazonaws.com", NLB_ZONE),
                    RecordDesired.alias_to(host, NLB, NLB_ZONE)):  # even one asking for the same target
        with pytest.raises(Stalled) as stalled:
            part.ensure(second, desired, None)
        assert stalled.value.reason == "HostnameInUse" and "owned by HybridApi team-a/orders" in stalled.value.message
    assert part.remove(second, host) is None
    assert rec.writes() == []
    assert (_listed(r53, zone, host, "A"), _values(r53, zone, ownership_name(host, "A"))) == before
    assert part.remove(first, host) == host


def test_a_create_that_loses_the_race_comes_back_later(
    zone: str, ctx: PartContext, rec: Recorder, r53: Any
) -> None:
    """Between find and CREATE someone made the name: Route 53 refuses the whole batch (no TXT left
    behind), and the next pass sees the record and names its owner."""
    host = _host()
    _put(r53, zone, "CREATE", host, _alias_rrset("www.example.net"))
    part = DnsRecord(zone, "A")
    with pytest.raises(RetryLater) as later:
        part.create(ctx, RecordDesired.alias_to(host, NLB, NLB_ZONE))
    assert later.value.reason == "HostnameInUse"
    assert _values(r53, zone, ownership_name(host, "A")) is None
    assert _listed(r53, zone, host, "A")["AliasTarget"]["DNSName"].rstrip(".") == "www.example.net"  # type: ignore[index]


def test_route53_refusing_the_name_for_another_reason_is_stalled(
    zone: str, ctx: PartContext, rec: Recorder, r53: Any
) -> None:
    """Another owner's TXT left without its alias still names them: nothing is written."""
    host = _host()
    _put(r53, zone, "CREATE", ownership_name(host, "A"), {"Type": "TXT", "TTL": 300,
                                                         "ResourceRecords": [{"Value": ownership_value(OTHER)}]})
    rec.clear()
    with pytest.raises(Stalled) as stalled:
        DnsRecord(zone, "A").ensure(ctx, RecordDesired.alias_to(host, NLB, NLB_ZONE), None)
    assert stalled.value.reason == "HostnameInUse" and "HybridApi team-b/orders" in stalled.value.message
    assert rec.writes() == [] and _listed(r53, zone, host, "A") is None


def test_an_older_operators_alias_to_our_target_is_adopted_by_writing_its_txt(
    zone: str, ctx: PartContext, rec: Recorder, r53: Any
) -> None:
    host = _host()
    _put(r53, zone, "UPSERT", host, _alias_rrset(NLB))  # what the operator wrote before ownership records
    part = DnsRecord(zone, "A")
    desired = RecordDesired.alias_to(host, NLB, NLB_ZONE)
    rec.clear()
    adopted = part.ensure(ctx, desired, host)
    assert (adopted.action, adopted.changes) == ("Updated", ["ownership"])
    assert _batch(rec) == [("CREATE", "TXT")]
    assert _values(r53, zone, ownership_name(host, "A")) == [ownership_value(ctx.owner)]
    rec.clear()
    assert part.ensure(ctx, desired, host).action is None and rec.writes() == []


def test_finalize_adopts_an_older_operators_alias_then_deletes_it_with_its_txt(
    zone: str, ctx: PartContext, rec: Recorder, r53: Any
) -> None:
    host = _host()
    _put(r53, zone, "UPSERT", host, _alias_rrset(NLB))
    part = DnsRecord(zone, "A")
    assert alias_to_delete(ctx, part, host, lambda: AliasTarget("internal-other.elb.amazonaws.com", NLB_ZONE)) is None
    assert _values(r53, zone, ownership_name(host, "A")) is None  # pointing elsewhere than ours: untouched
    assert alias_to_delete(ctx, part, host, lambda: AliasTarget(NLB, NLB_ZONE)) == host
    rec.clear()
    assert part.remove(ctx, host) == host
    assert _batch(rec) == [
        ("DELETE", "A"), ("DELETE", "TXT")]
    assert _listed(r53, zone, host, "A") is None and _values(r53, zone, ownership_name(host, "A")) is None


def test_renaming_onto_someone_elses_name_is_refused_before_any_write(
    zone: str, ctx: PartContext, rec: Recorder, r53: Any
) -> None:
    host, taken = _host(), _host()
    _put(r53, zone, "CREATE", taken, _alias_rrset("www.example.net"))
    part = DnsRecord(zone, "A")
    part.ensure(ctx, RecordDesired.alias_to(host, NLB, NLB_ZONE), None)
    rec.clear()
    with pytest.raises(Stalled) as stalled:
        part.ensure(ctx, RecordDesired.alias_to(taken, NLB, NLB_ZONE), host)
    assert stalled.value.reason == "HostnameInUse" and rec.writes() == []
    assert part.find(ctx, None, host) is not None  # the old name still resolves
    assert part.remove(ctx, host) == host


def test_the_validation_cname_is_shared_by_content_and_never_overwritten(
    zone: str, ctx: PartContext, rec: Recorder, r53: Any
) -> None:
    name = f"_v.{_host()}"
    part = DnsRecord(zone, "CNAME")
    desired = RecordDesired.cname(name, "_x.acm-validations.aws")
    cname = {"Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": "_x.acm-validations.aws"}]}
    _put(r53, zone, "CREATE", name, cname)
    rec.clear()
    assert part.ensure(ctx, desired, None).action is None and rec.writes() == []  # another certificate's: the same
    _put(r53, zone, "UPSERT", name, {"Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": "wrong.example"}]})
    with pytest.raises(Stalled) as stalled:
        part.ensure(ctx, desired, None)
    assert stalled.value.reason == "HostnameInUse" and "not the value ACM asks for" in stalled.value.message
    assert rec.writes() == []
    # Missing: made with CREATE, and no TXT (a CNAME cannot have company at its name anyway).
    part.remove(ctx, name)
    rec.clear()
    assert part.ensure(ctx, desired, None).action == "Created"
    assert _batch(rec) == [
        ("CREATE", "CNAME")]
    assert part.remove(ctx, name) == name


def test_a_name_someone_else_has_is_checked_before_the_chains_first_write(
    zone: str, ctx: PartContext, rec: Recorder, r53: Any
) -> None:
    host, legacy = _host(), _host()
    _put(r53, zone, "CREATE", host, _alias_rrset("www.example.net"))
    _put(r53, zone, "CREATE", legacy, _alias_rrset(NLB))
    part = DnsRecord(zone, "A")
    ours = lambda: AliasTarget(NLB, NLB_ZONE)  # noqa: E731
    rec.clear()
    with pytest.raises(Stalled) as stalled:
        check_name_free(ctx, part, host, None, ours)
    assert stalled.value.reason == "HostnameInUse" and host in stalled.value.message
    check_name_free(ctx, part, legacy, None, ours)  # an older operator's alias to our NLB: fine, adopted later
    check_name_free(ctx, part, _host(), None, ours)  # nobody's yet
    assert rec.writes() == []
    rec.clear()
    check_name_free(ctx, part, host.upper(), host, ours)  # status has it: the step guards it, no read here
    assert rec.calls == []


def test_a_validation_cname_stays_while_another_certificate_validates_with_it(ctx: PartContext) -> None:
    """ACM gives two certificates for one name the same validation CNAME (docs/aws-behaviour.md): the
    object that goes first must not take it from the one that stays (its renewal needs it)."""
    host = _host()
    other = replace(ctx, owner=Owner("MtlsDomain", "team-b", "partner", str(uuid.uuid4())))
    mine = RequestedCertificate(host).ensure(ctx, RequestedCertificateDesired(host), None).observed
    theirs = RequestedCertificate(host).ensure(other, RequestedCertificateDesired(host), None).observed
    for _ in range(20):  # ACM publishes the record a moment after the request
        mine = RequestedCertificate(host).find(ctx, None, mine.id) or mine
        if mine.state.validation_record is not None:
            break
        time.sleep(0.25)
    record = mine.state.validation_record
    assert record is not None
    assert validation_record_shared(ctx, host, record.name) == [theirs.id]  # mine go with me
    assert validation_record_shared(other, host, record.name) == [mine.id]
    assert validation_record_shared(ctx, host, record.name, leaving={mine.id, theirs.id}) == []
    RequestedCertificate(host).remove(other, theirs.id)
    assert validation_record_shared(ctx, host, record.name) == []
    RequestedCertificate(host).remove(ctx, mine.id)


def test_every_certificate_of_the_owner_goes_with_it_whatever_its_part(ctx: PartContext) -> None:
    """A MtlsDomain's ownership-verification certificate (part `ownership-certificate`) validates with the
    domain's CNAME: at the MtlsDomain's deletion it is one of the certificates that go, not one that stays
    (the e2e lifecycle test left the CNAME behind when only part `certificate` counted as ours)."""
    from hybrid_gateway.parts.domain_name import OwnershipCertificate

    host = _host()
    own = OwnershipCertificate(host).ensure(ctx, RequestedCertificateDesired(host), None).observed
    for _ in range(20):
        own = OwnershipCertificate(host).find(ctx, None, own.id) or own
        if own.state.validation_record is not None:
            break
        time.sleep(0.25)
    record = own.state.validation_record
    assert record is not None
    assert validation_record_shared(ctx, host, record.name) == []
    OwnershipCertificate(host).remove(ctx, own.id)
