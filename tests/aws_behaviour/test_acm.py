"""ACM answer spellings and list filters (catalogue: docs/aws-behaviour.md, "ACM")."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .helpers import Aws, Cleanup, error_of, import_certificate


def summaries(aws: Aws, **params: object) -> dict[str, dict[str, object]]:
    pages = aws.client("acm").get_paginator("list_certificates").paginate(**params)
    return {s["CertificateArn"]: s for page in pages for s in page["CertificateSummaryList"]}


def test_key_algorithm_answered_hyphenated__localstack_snapshot_acm_test_import_certificate(
    aws: Aws, cleanup: Cleanup
) -> None:
    """DescribeCertificate and the ListCertificates summary answer ``KeyAlgorithm: "RSA-2048"`` while
    requests and ``Includes.keyTypes`` use ``RSA_2048``.

    Source: LocalStack snapshot ``tests/aws/services/acm/test_acm.snapshot.json`` (recorded against
    AWS), keys ``TestACM::test_import_certificate`` (describe: ``"KeyAlgorithm": "RSA-2048"``) and
    ``test_list_certificates_with_key_types_filter_imported_certificate`` (request keyTypes with
    underscores, summary ``"RSA-2048"``); ACM API reference, ``Filters``.
    """
    arn = import_certificate(aws, cleanup, f"{aws.run}-rsa.example.com")
    acm = aws.client("acm")
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["KeyAlgorithm"] == "RSA-2048"
    listed = summaries(aws, Includes={"keyTypes": ["RSA_2048"]})
    assert listed[arn]["KeyAlgorithm"] == "RSA-2048"
    assert summaries(aws)[arn]["KeyAlgorithm"] == "RSA-2048"


def test_ec_key_algorithm_answered_hyphenated__public_cli_output_ec_prime256v1(aws: Aws, cleanup: Cleanup) -> None:
    """An imported P-256 certificate is answered ``EC-prime256v1`` (requested as ``EC_prime256v1``).

    Source (weaker: one public real-account CLI output): ``aws acm list-certificates --includes
    keyTypes=EC_prime256v1`` showing ``"KeyAlgorithm": "EC-prime256v1"``; the spelling follows the
    ``RSA-2048`` pattern of the LocalStack snapshots.
    """
    arn = import_certificate(aws, cleanup, f"{aws.run}-ec.example.com", elliptic=True)
    acm = aws.client("acm")
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["KeyAlgorithm"] == "EC-prime256v1"
    assert summaries(aws, Includes={"keyTypes": ["EC_prime256v1"]})[arn]["KeyAlgorithm"] == "EC-prime256v1"


def test_list_certificates_default_key_types__acm_api_reference_filters(aws: Aws, cleanup: Cleanup) -> None:
    """Without ``Includes.keyTypes`` ListCertificates lists only RSA_1024 and RSA_2048 certificates.

    Source: ACM API reference, ``Filters`` (keyTypes): "Default filtering returns only RSA_1024 and
    RSA_2048 certificates that have at least one domain."
    """
    rsa = import_certificate(aws, cleanup, f"{aws.run}-rsa.example.com")
    ec = import_certificate(aws, cleanup, f"{aws.run}-ec.example.com", elliptic=True)
    default = summaries(aws)
    assert rsa in default and ec not in default
    every = summaries(aws, Includes={"keyTypes": ["RSA_1024", "RSA_2048", "EC_prime256v1", "EC_secp384r1"]})
    assert rsa in every and ec in every


def test_requested_certificate_key_algorithm__localstack_snapshot_acm_test_domain_validation(
    aws: Aws, cleanup: Cleanup
) -> None:
    """RequestCertificate (``KeyAlgorithm`` RSA_2048 by default, or EC_prime256v1) answers the key
    algorithm hyphenated and the certificate ``AMAZON_ISSUED``, ``PENDING_VALIDATION``.

    Source: LocalStack snapshot ``acm/test_acm.snapshot.json``, ``TestACM::test_domain_validation``
    (``"KeyAlgorithm": "RSA-2048"``, ``"Status": "PENDING_VALIDATION"``); ACM API reference,
    RequestCertificate ``KeyAlgorithm`` (RSA_2048, EC_prime256v1, EC_secp384r1; default RSA_2048).
    """
    acm = aws.client("acm")
    for requested, answered in (("RSA_2048", "RSA-2048"), ("EC_prime256v1", "EC-prime256v1")):
        arn = acm.request_certificate(
            DomainName=f"{aws.run}-{requested.lower()}.example.com",
            ValidationMethod="DNS",
            KeyAlgorithm=requested,
            Tags=aws.tags(),
        )["CertificateArn"]
        cleanup.add(f"certificate {arn}", lambda a=arn: acm.delete_certificate(CertificateArn=a))
        described = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        assert described["KeyAlgorithm"] == answered
        assert (described["Type"], described["Status"]) == ("AMAZON_ISSUED", "PENDING_VALIDATION")


def test_request_certificate_refuses_import_only_key_algorithms__acm_api_reference_request_certificate(
    aws: Aws,
) -> None:
    """RequestCertificate with a key algorithm ACM does not issue (RSA_4096) is refused.

    Source: ACM API reference, RequestCertificate ``KeyAlgorithm``: "Algorithms supported for an ACM
    certificate request include: RSA_2048, EC_prime256v1, EC_secp384r1. Other listed algorithms are
    for imported certificates only." The error code (``ValidationException``, 400) is assumed.
    """
    with pytest.raises(ClientError) as refused:
        aws.client("acm").request_certificate(
            DomainName=f"{aws.run}-big.example.com", ValidationMethod="DNS", KeyAlgorithm="RSA_4096"
        )
    code, status, _ = error_of(refused)
    assert (code, status) == ("ValidationException", 400)


def test_imported_certificate_issuer_is_the_issuers_organization__localstack_snapshot_acm_test_import_certificate(
    aws: Aws, cleanup: Cleanup
) -> None:
    """DescribeCertificate of an imported certificate answers ``Type: IMPORTED``, ``Status: ISSUED``,
    ``Issuer`` = the O of the certificate's issuer, ``ImportedAt`` and no ``IssuedAt``.

    Source: LocalStack snapshot ``acm/test_acm.snapshot.json``, ``TestACM::test_import_certificate``
    (``"Issuer": "LocalStack Org"`` for an issuer ``O=LocalStack Org, CN=localhost``).
    """
    arn = import_certificate(aws, cleanup, f"{aws.run}-imp.example.com", organization="Behaviour Test Org")
    described = aws.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
    assert (described["Type"], described["Status"]) == ("IMPORTED", "ISSUED")
    assert described["Issuer"] == "Behaviour Test Org"
    assert "ImportedAt" in described and "IssuedAt" not in described
