"""Client certificate lifetime: 365 days like AWS, shortened through the control API for renewal tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509

from hybrid_gateway_devenv.emulator import EmulatorControl, EmulatorControlError

# client certificate lifetime only: instant AWS, no quotas.
pytestmark = pytest.mark.usefixtures("instant_aws")


def lifetime(cert: dict[str, Any]) -> tuple[timedelta, timedelta]:
    """(expirationDate - createdDate, PEM notAfter - notBefore)."""
    pem = x509.load_pem_x509_certificate(cert["pemEncodedCertificate"].encode())
    return cert["expirationDate"] - cert["createdDate"], pem.not_valid_after_utc - pem.not_valid_before_utc


def test_validity_applies_to_new_certificates_only_and_delete_restores_365_days(
    ctl: EmulatorControl, apigw: Any
) -> None:
    before = apigw.generate_client_certificate(description="before")
    ctl.set_client_certificate_validity(40)
    short = apigw.generate_client_certificate(description="short")
    assert lifetime(short) == (timedelta(seconds=40), timedelta(seconds=40))
    # Certificates already issued keep their dates; reads show the stored dates.
    got = apigw.get_client_certificate(clientCertificateId=before["clientCertificateId"])
    assert lifetime(got) == (timedelta(days=365), timedelta(days=365))
    assert lifetime(apigw.get_client_certificate(clientCertificateId=short["clientCertificateId"]))[0] == timedelta(
        seconds=40
    )

    ctl.set_client_certificate_validity(None)
    again = apigw.generate_client_certificate(description="again")
    assert lifetime(again) == (timedelta(days=365), timedelta(days=365))


def test_reset_restores_default_validity(ctl: EmulatorControl, apigw: Any) -> None:
    ctl.set_client_certificate_validity(5)
    ctl.reset()
    cert = apigw.generate_client_certificate()
    assert lifetime(cert)[0] == timedelta(days=365)


@pytest.mark.parametrize(("reason", "payload"), [("zero", 0), ("negative", -3)])
def test_non_positive_validity_is_refused(ctl: EmulatorControl, reason: str, payload: float) -> None:
    with pytest.raises(EmulatorControlError, match="400"):
        ctl.set_client_certificate_validity(payload)


def test_validity_without_a_value_is_refused(ctl: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError, match="validitySeconds is required"):
        ctl._call("PUT", "/client-certificates", {})
