"""Which AWS error codes mean what, declared in one table instead of scattered `if`s."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError


class AwsErrorKind(enum.Enum):
    NOT_FOUND = "NotFound"
    TERMINAL = "Terminal"  # the request can never succeed as sent: report Stalled, do not retry
    RETRY = "Retry"  # transient or conflicting with a change in flight: try again later


NOT_FOUND_CODES = frozenset(
    {
        "NotFoundException",  # apigateway
        "LoadBalancerNotFound",
        "TargetGroupNotFound",
        "ListenerNotFound",
        "TrustStoreNotFound",
        "ResourceNotFoundException",  # acm
        "NoSuchHostedZone",
        "NoSuchBucket",
        "NoSuchKey",
        "NoSuchVersion",
        "InvalidGroup.NotFound",
        "InvalidSubnetID.NotFound",
        "InvalidVpcID.NotFound",
        "InvalidGroupId.NotFound",
        "404",
    }
)

TERMINAL_CODES = frozenset(
    {
        "BadRequestException",
        "ValidationError",
        "ValidationException",
        "InvalidParameterException",
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "InvalidConfigurationRequest",
        "InvalidInput",
        "InvalidChangeBatch",
        "InvalidDomainValidationOptionsException",
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnsupportedCertificate",
        "CertificateNotFound",
        "SSLPolicyNotFound",
        "TooManyLoadBalancers",
        "TooManyTargetGroups",
        "InvalidCaCertificatesBundle",
    }
)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


# API Gateway answers LimitExceededException (429) both when a request rate is exceeded and when a
# resource quota is reached ("Maximum number of Resources for this API has been reached", terraform-
# provider-aws #37605; docs/aws-behaviour.md): only the quota needs the user, the rate passes.
QUOTA_MESSAGES = ("maximum number of", "quota")


def classify(exc: BaseException) -> AwsErrorKind:
    code = error_code(exc)
    if code == "LimitExceededException":
        message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")).lower()
        return AwsErrorKind.TERMINAL if any(q in message for q in QUOTA_MESSAGES) else AwsErrorKind.RETRY
    if code in NOT_FOUND_CODES:
        return AwsErrorKind.NOT_FOUND
    if code in TERMINAL_CODES:
        return AwsErrorKind.TERMINAL
    return AwsErrorKind.RETRY


def is_not_found(exc: BaseException) -> bool:
    return classify(exc) is AwsErrorKind.NOT_FOUND


@contextmanager
def absent_is_fine() -> Iterator[None]:
    """For deletes: AWS's "not found" means the resource is already gone, which is success."""
    try:
        yield
    except ClientError as exc:
        if not is_not_found(exc):
            raise


def deleted(delete: Callable[..., object], **kwargs: object) -> bool:
    """Call a delete; False when AWS answers "not found" (the resource was already gone)."""
    try:
        delete(**kwargs)
    except ClientError as exc:
        if is_not_found(exc):
            return False
        raise
    return True
