"""The truststore validator: API Gateway's rules, checked before anything is uploaded (pure, fast)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from tests.mtls_certs import Ca, chain, make_ca, rsa_key

from hybrid_gateway.truststore import (
    RULE_CHAIN,
    RULE_EMPTY,
    RULE_EXPIRED,
    RULE_KEY,
    RULE_PEM,
    RULE_SIGNATURE,
    Source,
    TruststoreInvalid,
    assemble,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def good() -> Ca:
    return make_ca("Partner A Client CA", key=rsa_key(), not_before=NOW - timedelta(days=1))


@pytest.fixture(scope="module")
def other() -> Ca:
    return make_ca("Partner B Client CA", not_before=NOW - timedelta(days=1))


def invalid(*sources: Source) -> list[str]:
    with pytest.raises(TruststoreInvalid) as caught:
        assemble(list(sources), now=NOW)
    assert str(caught.value) == "; ".join(caught.value.problems)
    return caught.value.problems


# --- the bad-truststore matrix: every problem names the certificate (subject + source) and the rule --------


def test_sha1_signature(good: Ca) -> None:
    weak = make_ca("Weak CA", sha1=True, not_before=NOW - timedelta(days=1))
    [problem] = invalid(Source("Secret/a/ca.crt", good.pem + weak.pem))
    assert "certificate 'CN=Weak CA' (Secret/a/ca.crt)" in problem and "SHA1" in problem
    assert problem.endswith(f"rule: {RULE_SIGNATURE}")


def test_rsa_1024() -> None:
    small = make_ca("Small CA", key=rsa_key(1024), not_before=NOW - timedelta(days=1))
    [problem] = invalid(Source("ConfigMap/b/ca.pem", small.pem))
    assert "certificate 'CN=Small CA' (ConfigMap/b/ca.pem): RSA key of 1024 bits" in problem
    assert problem.endswith(f"rule: {RULE_KEY}")


def test_ecdsa_below_256_and_ed25519() -> None:
    p192 = make_ca("P192 CA", key=ec.generate_private_key(ec.SECP192R1()), not_before=NOW - timedelta(days=1))
    edwards = make_ca("Ed CA", key=ed25519.Ed25519PrivateKey.generate(), not_before=NOW - timedelta(days=1))
    problems = invalid(Source("Secret/a/ca.crt", p192.pem), Source("Secret/e/ca.crt", edwards.pem))
    assert any("'CN=P192 CA' (Secret/a/ca.crt): ECDSA key of 192 bits" in p and RULE_KEY in p for p in problems)
    assert any("'CN=Ed CA' (Secret/e/ca.crt)" in p and RULE_SIGNATURE in p for p in problems)
    assert any("'CN=Ed CA' (Secret/e/ca.crt)" in p and RULE_KEY in p for p in problems)


def test_expired() -> None:
    old = make_ca("Old CA", not_before=NOW - timedelta(days=400), days=365)
    [problem] = invalid(Source("Secret/a/ca.crt", old.pem))
    assert "certificate 'CN=Old CA' (Secret/a/ca.crt): expired 2025-" in problem
    assert problem.endswith(f"rule: {RULE_EXPIRED}")


def test_chain_of_five_is_reported_once_at_its_lowest_certificate() -> None:
    five = chain(5, not_before=NOW - timedelta(days=1))
    [problem] = invalid(Source("Secret/a/ca.crt", "".join(c.pem for c in five)))
    assert problem.startswith("certificate 'CN=Intermediate 4' (Secret/a/ca.crt): chain of 5 certificates")
    assert "up to 'CN=Root CA'" in problem and problem.endswith(f"rule: {RULE_CHAIN}")


def test_chain_of_four_is_fine_and_may_span_sources() -> None:
    four = chain(4, not_before=NOW - timedelta(days=1))
    store = assemble(
        [Source("Secret/root/ca.crt", four[0].pem), Source("ConfigMap/rest/ca.pem", "".join(c.pem for c in four[1:]))],
        now=NOW,
    )
    assert len(store.certificates) == 4


def test_a_name_match_without_a_valid_signature_does_not_make_a_chain() -> None:
    five = chain(5, not_before=NOW - timedelta(days=1))
    impostor_root = make_ca("Root CA", not_before=NOW - timedelta(days=1))  # same subject, other key
    # Without the real root the bottom four hang under nothing that verifies: length 4, accepted.
    assemble([Source("Secret/a/ca.crt", impostor_root.pem + "".join(c.pem for c in five[1:]))], now=NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not a certificate at all", "Secret/a/ca.crt holds no PEM certificate"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n", "Secret/a/ca.crt: a PEM block is not terminated"),
        (
            "-----BEGIN CERTIFICATE-----\nbm90IGRlcg==\n-----END CERTIFICATE-----\n",
            "Secret/a/ca.crt: PEM block 1 is not a valid X.509 certificate",
        ),
    ],
)
def test_not_pem(text: str, expected: str) -> None:
    problems = invalid(Source("Secret/a/ca.crt", text))
    assert problems[0] == f"{expected}; rule: {RULE_PEM}"
    assert problems[-1] == f"no certificate in Secret/a/ca.crt; rule: {RULE_EMPTY}"


def test_a_private_key_block_is_named_but_never_echoed(good: Ca) -> None:
    key_pem = serialization.load_pem_private_key(
        good.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        password=None,
    ).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    [problem] = invalid(Source("Secret/a/ca.crt", good.pem + key_pem.decode()))
    assert problem == f"Secret/a/ca.crt: PEM block 2 is a PRIVATE KEY block; rule: {RULE_PEM}"
    body = key_pem.decode().splitlines()[1]
    assert body not in problem


def test_empty_bundle() -> None:
    problems = invalid(Source("Secret/a/ca.crt", ""), Source("ConfigMap/b/ca.pem", "  \n"))
    assert problems == [
        f"Secret/a/ca.crt is empty; rule: {RULE_PEM}",
        f"ConfigMap/b/ca.pem is empty; rule: {RULE_PEM}",
        f"no certificate in Secret/a/ca.crt, ConfigMap/b/ca.pem; rule: {RULE_EMPTY}",
    ]
    assert invalid() == [f"no certificate in the sources; rule: {RULE_EMPTY}"]


def test_one_good_plus_one_bad_rejects_the_whole_bundle(good: Ca) -> None:
    bad = make_ca("Bad CA", key=rsa_key(1024), sha1=True, not_before=NOW - timedelta(days=1))
    problems = invalid(Source("Secret/a/ca.crt", good.pem), Source("Secret/b/ca.crt", bad.pem))
    assert len(problems) == 2
    assert all("'CN=Bad CA' (Secret/b/ca.crt)" in p for p in problems)
    assert not any("Partner A" in p for p in problems)


# --- a good bundle -----------------------------------------------------------------------------------------


def test_bundle_is_deduplicated_normalised_and_independent_of_order(good: Ca, other: Ca) -> None:
    a = assemble([Source("Secret/a/ca.crt", good.pem), Source("ConfigMap/b/ca.pem", other.pem + good.pem)], now=NOW)
    b = assemble(
        [Source("ConfigMap/b/ca.pem", "# comment\r\n" + good.pem.replace("\n", "\r\n") + other.pem),
         Source("Secret/a/ca.crt", good.pem)],
        now=NOW,
    )
    assert a.pem == b.pem and a.sha256 == b.sha256
    assert [c.subject for c in a.certificates] == ["CN=Partner A Client CA", "CN=Partner B Client CA"]
    assert a.pem.count("BEGIN CERTIFICATE") == 2
    # The first source (in spec order) that holds a certificate is reported as its source.
    assert a.certificates[0].source == "Secret/a/ca.crt"
    assert b.certificates[0].source == "ConfigMap/b/ca.pem"
    assert a.certificates[0].status() == {
        "subject": "CN=Partner A Client CA",
        "issuer": "CN=Partner A Client CA",
        "notAfter": "2035-12-29T00:00:00Z",
        "source": "Secret/a/ca.crt",
    }


def test_adding_a_certificate_changes_the_sha256(good: Ca, other: Ca) -> None:
    one = assemble([Source("Secret/a/ca.crt", good.pem)], now=NOW)
    two = assemble([Source("Secret/a/ca.crt", good.pem + other.pem)], now=NOW)
    assert one.sha256 != two.sha256


def test_expiring_soon_and_not_yet_valid_are_warnings_with_stable_text(good: Ca) -> None:
    soon = make_ca("Soon CA", not_before=NOW - timedelta(days=360), days=370)  # 10 days left
    later = make_ca("Later CA", not_before=NOW + timedelta(days=2))
    store = assemble([Source("Secret/a/ca.crt", good.pem + soon.pem + later.pem)], now=NOW)
    assert [c.subject for c in store.expiring(30, now=NOW)] == ["CN=Soon CA"]
    warnings = store.warnings(30, now=NOW)
    assert warnings[0].startswith("certificate 'CN=Soon CA' (Secret/a/ca.crt) expires 2026-01-11T00:00:00Z")
    assert "not valid before" in warnings[1] and "Later CA" in warnings[1]
    assert store.warnings(30, now=NOW + timedelta(days=1))[0] == warnings[0]  # same text tomorrow
    assert store.warnings(5, now=NOW)[:1] == [w for w in warnings if "Later" in w]
