"""The one AWS client layer: sessions, retries, rate limits, error classification, owner tags."""

from hybrid_gateway.aws.clients import AwsClients
from hybrid_gateway.aws.errors import AwsErrorKind, classify, error_code, is_not_found

__all__ = ["AwsClients", "AwsErrorKind", "classify", "error_code", "is_not_found"]
