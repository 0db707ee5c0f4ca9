"""An imported certificate's body (GetCertificate) is read only when DescribeCertificate does not already
show the Secret's certificate (serial number, NotBefore, NotAfter): issue 12, MtlsDomain at most 8 reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from tests.mtls_certs import server_certificate

from hybrid_gateway.parts.certificate import ImportedCertificate, ImportedCertificateDesired, described_as

HOST = "api.example.com"
PEM, KEY = server_certificate(HOST)
LEAF = x509.load_pem_x509_certificate(PEM.encode())


def hex_serial(number: int) -> str:
    """AWS's spelling: colon-separated hex bytes."""
    raw = f"{number:x}"
    raw = raw.rjust(len(raw) + len(raw) % 2, "0")
    return ":".join(raw[i:i + 2] for i in range(0, len(raw), 2))


def described(**overrides: Any) -> dict[str, Any]:
    answer = {"CertificateArn": "arn:aws:acm:ap-northeast-1:123456789012:certificate/x", "Type": "IMPORTED",
              "Status": "ISSUED", "KeyAlgorithm": "RSA-2048", "Serial": hex_serial(LEAF.serial_number),
              "NotBefore": LEAF.not_valid_before_utc, "NotAfter": LEAF.not_valid_after_utc}
    answer.update(overrides)
    return answer


@pytest.mark.parametrize(("reason", "answer", "same"), [
    ("AWS's hex serial and the same validity", described(), True),
    ("moto's decimal serial", described(Serial=str(LEAF.serial_number)), True),
    ("another serial number", described(Serial=hex_serial(LEAF.serial_number + 1)), False),
    ("another NotAfter (a renewed certificate re-imported)", described(NotAfter=LEAF.not_valid_after_utc
                                                                        + timedelta(days=1)), False),
    ("no validity in the answer", described(NotBefore=None, NotAfter=None), False),
    ("no serial in the answer", described(Serial=""), False),
])
def test_described_as(reason: str, answer: dict[str, Any], same: bool) -> None:
    assert described_as(answer, PEM) is same, reason


def test_a_pem_that_does_not_parse_is_never_the_described_one() -> None:
    assert described_as(described(), "not a certificate") is False


class CountingAcm:
    def __init__(self, body: str) -> None:
        self.body, self.calls = body, 0

    def get_certificate(self, CertificateArn: str) -> dict[str, str]:
        self.calls += 1
        return {"Certificate": self.body}


def test_the_body_is_read_only_when_the_description_differs() -> None:
    desired = ImportedCertificateDesired.from_pem(HOST, PEM, KEY)
    part = ImportedCertificate(HOST)
    acm = CountingAcm(PEM)
    assert part._observe(acm, described(), desired).state.fingerprint == desired.fingerprint
    assert acm.calls == 0
    other_pem, _ = server_certificate(HOST)
    acm = CountingAcm(other_pem)
    observed = part._observe(acm, described(Serial="01"), desired)
    assert acm.calls == 1 and observed.state.fingerprint != desired.fingerprint
    assert part.diff(desired, observed) == ["fingerprint"]
