"""How AWS's error codes are classed (aws/errors.py): not found, terminal (Stalled) or retried."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from hybrid_gateway.aws.errors import AwsErrorKind, classify


def _error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "CreateResource")


@pytest.mark.parametrize(
    ("reason", "code", "message", "kind"),
    [
        # API Gateway's LimitExceededException is both a rate and a quota answer (terraform-provider-aws
        # #37605 shows the quota one; docs/aws-behaviour.md): only the quota needs the user.
        ("an API Gateway rate limit is retried", "LimitExceededException", "Too Many Requests", AwsErrorKind.RETRY),
        ("an API Gateway resource quota stalls", "LimitExceededException",
         "Maximum number of Resources for this API has been reached", AwsErrorKind.TERMINAL),
        ("throttling is retried", "TooManyRequestsException", "Too Many Requests", AwsErrorKind.RETRY),
        ("a refused request stalls", "BadRequestException", "Invalid base path", AwsErrorKind.TERMINAL),
        ("gone is not found", "NotFoundException", "Invalid REST API identifier", AwsErrorKind.NOT_FOUND),
    ],
)
def test_classify(reason: str, code: str, message: str, kind: AwsErrorKind) -> None:
    assert classify(_error(code, message)) is kind, reason
