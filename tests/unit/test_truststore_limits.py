"""Issue 11, item 5: a truststore over API Gateway's quota is refused before upload, the check is linear,
and however many problems there are, the message fits in a condition (and still says how many)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from tests.fakes import FakeKube
from tests.mtls_certs import Ca, make_ca

from hybrid_gateway import truststore
from hybrid_gateway.reconcilers.base import Runtime
from hybrid_gateway.reconcilers.mtlsdomain import MtlsDomainReconciler
from hybrid_gateway.status.conditions import MAX_MESSAGE_CHARS, Condition, bounded, summarize
from hybrid_gateway.truststore import Source, TruststoreInvalid, assemble

KEY = ec.generate_private_key(ec.SECP256R1())  # one key for every certificate: fast, and allowed
LONG_AGO = datetime.now(UTC) - timedelta(days=400)


def cas(count: int, prefix: str = "CA", **kwargs: Any) -> list[Ca]:
    return [make_ca(f"{prefix} {n}", key=KEY, **kwargs) for n in range(count)]


def bundle(certificates: list[Ca]) -> str:
    return "".join(c.pem for c in certificates)


# ---- API Gateway's quota -------------------------------------------------------------------------


def test_more_certificates_than_api_gateway_takes_are_refused() -> None:
    with pytest.raises(TruststoreInvalid) as caught:
        assemble([Source("Secret/many/ca.crt", bundle(cas(truststore.MAX_CERTIFICATES + 1)))])
    assert caught.value.problems[0] == (
        f"Secret/many/ca.crt hold {truststore.MAX_CERTIFICATES + 1} distinct certificates; rule: "
        f"{truststore.RULE_COUNT}")
    assert len(caught.value.problems) == 1  # every certificate is fine otherwise


def test_exactly_the_quota_is_accepted() -> None:
    store = assemble([Source("Secret/many/ca.crt", bundle(cas(truststore.MAX_CERTIFICATES)))])
    assert len(store.certificates) == truststore.MAX_CERTIFICATES


def test_a_bundle_over_api_gateways_size_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    sources = [Source("Secret/a/ca.crt", bundle(cas(5)))]
    size = len(assemble(sources).pem.encode())
    monkeypatch.setattr(truststore, "MAX_BUNDLE_BYTES", size - 1)
    with pytest.raises(TruststoreInvalid) as caught:
        assemble(sources)
    assert caught.value.problems[0].startswith(f"Secret/a/ca.crt make a bundle of {size} bytes; rule: ")
    monkeypatch.setattr(truststore, "MAX_BUNDLE_BYTES", size)
    assert assemble(sources).pem


def test_duplicates_count_once() -> None:
    certificates = cas(truststore.MAX_CERTIFICATES)
    store = assemble([Source("Secret/a/ca.crt", bundle(certificates)), Source("Secret/b/ca.crt", bundle(certificates))])
    assert len(store.certificates) == truststore.MAX_CERTIFICATES


# ---- a linear check ------------------------------------------------------------------------------


def chains(groups: int) -> list[Ca]:
    """`groups` chains root -> intermediate -> issuing CA, all signed with one key (so only names and key
    identifiers tell the issuers apart)."""
    found: list[Ca] = []
    for n in range(groups):
        root = make_ca(f"Root {n}", key=KEY)
        middle = make_ca(f"Intermediate {n}", key=KEY, issuer=root)
        found += [root, middle, make_ca(f"Issuing {n}", key=KEY, issuer=middle)]
    return found


def test_the_chain_check_looks_at_each_certificates_issuer_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts, not times: each non-root certificate is verified against its one issuer (today: every
    certificate against every other, 9 million verifications for 3,000 certificates)."""
    calls: list[int] = []
    real = truststore._issued_by

    def counted(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
        calls.append(1)
        return real(cert, issuer)

    monkeypatch.setattr(truststore, "_issued_by", counted)
    certificates = chains(100)
    store = assemble([Source("Secret/a/ca.crt", bundle(certificates))])
    assert len(store.certificates) == 300
    assert len(calls) == 200  # the intermediates and issuing CAs, once each


def test_issuers_with_one_name_are_told_apart_by_key_identifier() -> None:
    """Two roots of the same name (a re-keyed CA): the chain below each is still found."""
    old, new = make_ca("Same Root"), make_ca("Same Root")
    chain_a = [make_ca("A1", issuer=old)]
    chain_b = [make_ca("B1", issuer=new)]
    chain_b += [make_ca("B2", issuer=chain_b[-1])]
    chain_b += [make_ca("B3", issuer=chain_b[-1])]
    chain_b += [make_ca("B4", issuer=chain_b[-1])]  # new -> B1 -> B2 -> B3 -> B4: five certificates
    with pytest.raises(TruststoreInvalid) as caught:
        assemble([Source("Secret/a/ca.crt", bundle([old, new, *chain_a, *chain_b]))])
    [problem] = caught.value.problems
    assert problem.startswith("certificate 'CN=B4' (Secret/a/ca.crt): chain of 5 certificates up to 'CN=Same Root'")


# ---- bounded messages ----------------------------------------------------------------------------


PROBLEMS = [f"certificate 'CN=Expired CA {n}' (Secret/a/ca.crt): expired 2020-01-01T00:00:00Z; rule: "
            "certificates must not be expired" for n in range(300)]


def test_a_huge_list_of_problems_is_bounded_and_still_says_the_count() -> None:
    message = summarize(PROBLEMS)
    assert len("; ".join(PROBLEMS)) > 25_000 and len(message) <= MAX_MESSAGE_CHARS // 2
    assert message.startswith(PROBLEMS[0])
    shown = message.count("rule: certificates must not be expired")
    assert 1 <= shown < 300
    assert message.endswith(f"; and {300 - shown} more (300 in all)")
    assert Condition("Stalled", True, "TruststoreInvalid", message).message == message


def test_every_condition_message_is_bounded() -> None:
    """The net under messages not built with summarize: cut at a problem boundary, saying how much is left."""
    condition = Condition("Stalled", True, "TruststoreInvalid", "; ".join(PROBLEMS))
    assert len(condition.message) <= MAX_MESSAGE_CHARS
    assert condition.message.startswith(PROBLEMS[0]) and condition.message.endswith(" more characters)")
    assert "x" * 100 in bounded("x" * 50_000) and len(bounded("x" * 50_000)) <= MAX_MESSAGE_CHARS
    assert bounded("short; message") == "short; message"


def test_summarize_shows_what_fits() -> None:
    assert summarize(["a", "b", "c"]) == "a; b; c"
    assert summarize(["a" * 30, "b" * 30, "c" * 30], budget=70) == f"{'a' * 30}; and 2 more (3 in all)"
    assert len(summarize(["z" * 5000], budget=100)) <= 100


def test_three_hundred_expired_cas_stall_with_a_message_a_condition_can_carry() -> None:
    """The status write must succeed: every condition message fits in metav1.Condition's maxLength
    (32768), far below it in fact, and says how many problems there are; nothing reaches AWS (aws=None)."""
    kube = FakeKube()
    kube.add_data("Secret", "team-a", "partner-ca", {"ca.crt": bundle(cas(300, "Expired CA", not_before=LONG_AGO,
                                                                            days=30))})
    body = {"apiVersion": "hybridgateway.io/v1alpha1", "kind": "MtlsDomain",
            "metadata": {"name": "partner-api", "namespace": "team-a", "uid": "u-1", "generation": 1},
            "spec": {"region": "ap-northeast-1", "domainName": "api.example.com", "hostedZoneId": "Z0123456789",
                     "certificate": {"request": {}},
                     "truststore": {"sources": [{"secretRef": {"name": "partner-ca", "key": "ca.crt"}}],
                                    "bucket": "team-a-truststores"}}}
    kube.add_object("mtlsdomains", body)
    MtlsDomainReconciler(Runtime(aws=None, kube=kube)).run_pass(body)  # type: ignore[arg-type]
    conditions = {c["type"]: c for c in kube.status("mtlsdomains", "team-a", "partner-api")["conditions"]}
    assert conditions["Stalled"]["status"] == "True" and conditions["Stalled"]["reason"] == "TruststoreInvalid"
    for found in conditions.values():
        assert len(found["message"]) <= MAX_MESSAGE_CHARS, found["type"]
    for kind in ("Stalled", "TruststoreValid", "Ready"):
        assert "(300 in all)" in conditions[kind]["message"], kind
    assert conditions["Stalled"]["message"].endswith("Fix the CA sources in spec.truststore.sources.")
