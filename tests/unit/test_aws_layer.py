from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import ClientError

from hybrid_gateway.aws.clients import TokenBucket
from hybrid_gateway.aws.errors import AwsErrorKind, classify
from hybrid_gateway.aws.tags import Owner, as_dict, as_list


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "Op")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("NotFoundException", AwsErrorKind.NOT_FOUND),
        ("LoadBalancerNotFound", AwsErrorKind.NOT_FOUND),
        ("BadRequestException", AwsErrorKind.TERMINAL),
        ("ValidationError", AwsErrorKind.TERMINAL),
        ("TooManyRequestsException", AwsErrorKind.RETRY),
        ("ConflictException", AwsErrorKind.RETRY),
        ("InternalFailure", AwsErrorKind.RETRY),
    ],
)
def test_error_table(code: str, kind: AwsErrorKind) -> None:
    assert classify(_error(code)) is kind


def test_non_aws_errors_are_retried() -> None:
    assert classify(RuntimeError("boom")) is AwsErrorKind.RETRY


def test_owner_tags_round_trip_and_ownership_needs_uid_and_part() -> None:
    owner = Owner("HybridApi", "team-a", "orders", "uid-1")
    tags = owner.tags("alb")
    assert tags["hybridgateway.io/owner"] == "HybridApi/team-a/orders"
    assert as_dict(as_list(tags)) == tags
    assert owner.owns(tags, "alb")
    assert not owner.owns(tags, "nlb")
    assert not Owner("HybridApi", "team-a", "orders", "uid-2").owns(tags, "alb")


def test_token_bucket_limits_rate_across_threads() -> None:
    bucket = TokenBucket(rate=50.0, burst=5)
    taken: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            bucket.acquire()
            with lock:
                taken.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 20 tokens with a burst of 5 at 50/s: the last 15 need at least 0.3 s between them.
    assert len(taken) == 20
    assert max(taken) - min(taken) >= 0.25
