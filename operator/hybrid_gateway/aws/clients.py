"""boto3 clients per (service, region), built once and shared by every reconciler.

- Credentials come from the standard chain (env, profile, IRSA web identity in a cluster).
- `AWS_ENDPOINT_URL` (honoured by botocore itself) points every service at an emulator; nothing
  here knows whether it talks to AWS or to the emulator.
- botocore's "standard" retry mode retries throttling and 5xx answers with jittered backoff.
- Token buckets per AWS operation group (aws/quotas.py: AWS's own buckets, at half their rate by
  default) keep a whole fleet of objects under AWS's API rate limits, leaving the rest of the account
  its share. A throttling answer halves its buckets' rates, which then recover slowly (AIMD; per bucket,
  which botocore's adaptive mode, one rate per client, cannot do).
- Every call is counted in Prometheus by service, operation and outcome.
- Reads shared across objects are aws/shared_reads.py (one Describe or listing answers for the passes of
  many objects that run at the same time).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

from hybrid_gateway import __version__, metrics
from hybrid_gateway.aws import quotas

if TYPE_CHECKING:  # boto3-stubs: every call on a client is checked against the service's model
    from mypy_boto3_acm import ACMClient
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_apigatewayv2 import ApiGatewayV2Client
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_s3 import S3Client

# AWS's throttling answers (botocore.retries.standard lists them for its retry decisions), less
# LimitExceededException: API Gateway answers that to a resource-count quota (20 VPC links), which
# waiting does not fix and which must not slow every call down.
THROTTLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "RequestThrottled", "SlowDown",
    "PriorRequestNotComplete", "EC2ThrottledException",
})
# AIMD: a throttle halves the bucket's rate (at most once per DECREASE_COOLDOWN, since the calls in flight
# at that moment are all answered alike), never below MIN_RATE_SHARE of its configured rate; then the rate
# climbs back linearly, by the configured rate every RECOVERY_SECONDS.
DECREASE_FACTOR = 0.5
DECREASE_COOLDOWN = 1.0
MIN_RATE_SHARE = 1 / 16
RECOVERY_SECONDS = 60.0

BucketKey = tuple[str, str]  # (region, bucket name); Route 53's region is quotas.GLOBAL_REGION


class TokenBucket:
    """A thread-safe token bucket that slows down when AWS throttles (AIMD).

    `acquire()` blocks until a token is available. `throttled()` halves the rate; it recovers linearly up
    to the configured `ceiling`. `clock` and `sleep` are injectable for tests."""

    def __init__(self, rate: float, burst: float | None = None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.ceiling = rate
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = clock()
        self._last_decrease = -math.inf
        self._lock = threading.Lock()

    def _advance(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        if self.rate < self.ceiling:
            # Tokens accrue at the mean rate over the elapsed time while the rate climbs.
            raised = min(self.ceiling, self.rate + self.ceiling * elapsed / RECOVERY_SECONDS)
            self._tokens += elapsed * (self.rate + raised) / 2
            self.rate = raised
        else:
            self._tokens += elapsed * self.rate
        self._tokens = min(self.capacity, self._tokens)
        self._updated = now

    def try_acquire(self) -> float:
        """Take a token and return 0, or return the seconds to wait for one."""
        with self._lock:
            self._advance(self._clock())
            if self._tokens >= 1.0 - 1e-9:  # a float's worth short of a token is a token
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate

    def acquire(self) -> None:
        while (wait := self.try_acquire()) > 0:
            self._sleep(wait)

    def throttled(self) -> bool:
        """AWS throttled a call of this bucket: halve the rate. False when within the cooldown of the last
        decrease (the same burst of answers)."""
        with self._lock:
            now = self._clock()
            self._advance(now)
            if now - self._last_decrease < DECREASE_COOLDOWN:
                return False
            self._last_decrease = now
            self.rate = max(self.ceiling * MIN_RATE_SHARE, self.rate * DECREASE_FACTOR)
            self._tokens = min(self._tokens, 0.0)  # the next call waits for a token at the new rate
            return True


class AwsClients:
    """Factory and cache of instrumented boto3 clients, paced by buckets per AWS operation group."""

    def __init__(
        self,
        *,
        max_attempts: int = 8,
        rate_limits: dict[str, float] | None = None,
        quota_share: float = quotas.DEFAULT_SHARE,
        quota_scale: float = 1.0,
        session: boto3.session.Session | None = None,
        identity: str | None = None,
    ) -> None:
        self._session = session or boto3.session.Session()
        agent = f"hybrid-gateway-operator/{__version__}" + (f" replica/{identity}" if identity else "")
        self._config = Config(
            retries={"mode": "standard", "max_attempts": max_attempts},
            user_agent_extra=agent,
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=50,
        )
        self._overrides = dict(rate_limits or {})
        quotas.validate_overrides(self._overrides)
        quotas.validate_share(quota_share)
        self._share = quota_share
        if not quota_scale > 0:
            raise ValueError(f"the quota scale must be positive, not {quota_scale}")
        self._quota_scale = quota_scale
        self._clients: dict[tuple[str, str], Any] = {}
        self._buckets: dict[BucketKey, TokenBucket] = {}
        self._lock = threading.Lock()

    def quota(self, bucket: str) -> quotas.Quota:
        """The configured rate and burst of a bucket (quotas.buckets_for names them)."""
        return quotas.configured_quota(bucket, self._overrides, self._share, self._quota_scale)

    def bucket(self, region: str, name: str) -> TokenBucket:
        key = (region, name)
        with self._lock:
            if key not in self._buckets:
                quota = self.quota(name)
                self._buckets[key] = TokenBucket(quota.rate, quota.burst)
                metrics.AWS_BUCKET_RATE.labels(name.partition(":")[0], name, region).set(quota.rate)
            return self._buckets[key]

    def buckets(self, service: str, region: str, operation: str) -> list[tuple[BucketKey, TokenBucket]]:
        bucket_region = quotas.region_of(service, region)
        return [((bucket_region, name), self.bucket(bucket_region, name))
                for name in quotas.buckets_for(service, operation)]

    @contextlib.contextmanager
    def recording(self, calls: Counter[BucketKey] | None = None) -> Iterator[Counter[BucketKey]]:
        """Count the calls made in this context (this thread) per bucket, into `calls`: what one pass costs."""
        calls = Counter() if calls is None else calls
        token = _RECORDING.set(calls)
        try:
            yield calls
        finally:
            _RECORDING.reset(token)

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:  # boto3 sessions are not thread-safe while creating clients
            if key not in self._clients:
                session: Any = self._session  # boto3-stubs overloads want a literal service name
                client = session.client(service, region_name=region, config=self._config)
                self._instrument(client, service, region)
                self._clients[key] = client
            return self._clients[key]

    def _instrument(self, client: Any, service: str, region: str) -> None:
        def before_send(event_name: str, **_: Any) -> None:
            # Called once per HTTP attempt, so retries also respect the rate limits.
            operation = event_name.rsplit(".", 1)[-1]
            recording = _RECORDING.get()
            for key, bucket in self.buckets(service, region, operation):
                bucket.acquire()
                if recording is not None:
                    recording[key] += 1
                # Every touch of a bucket may move its recovering rate: the gauge follows each one.
                metrics.AWS_BUCKET_RATE.labels(service, key[1], key[0]).set(bucket.rate)

        def needs_retry(response: Any = None, operation: Any = None, **_: Any) -> None:
            # Once per attempt, before botocore decides whether to retry it.
            if operation is None or not response:
                return
            parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else None
            code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
            if code not in THROTTLE_CODES:
                return
            for key, bucket in self.buckets(service, region, operation.name):
                metrics.AWS_THROTTLES.labels(service, key[1]).inc()
                bucket.throttled()
                metrics.AWS_BUCKET_RATE.labels(service, key[1], key[0]).set(bucket.rate)

        def after_call(model: Any, parsed: dict[str, Any], **_: Any) -> None:
            error = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
            metrics.AWS_CALLS.labels(service, model.name, error or "ok").inc()

        def after_call_error(model: Any, exception: Exception, **_: Any) -> None:
            metrics.AWS_CALLS.labels(service, model.name, type(exception).__name__).inc()

        events = client.meta.events
        events.register("before-send", before_send)
        events.register_first("needs-retry", needs_retry)
        events.register("after-call", after_call)
        events.register("after-call-error", after_call_error)


_RECORDING: contextvars.ContextVar[Counter[BucketKey] | None] = contextvars.ContextVar("aws_calls", default=None)


@dataclass
class RegionalClients:
    """The clients of one region, typed per service (what parts reach AWS through)."""

    aws: AwsClients
    region: str

    @overload
    def client(self, service: Literal["acm"]) -> ACMClient: ...
    @overload
    def client(self, service: Literal["apigateway"]) -> APIGatewayClient: ...
    @overload
    def client(self, service: Literal["apigatewayv2"]) -> ApiGatewayV2Client: ...
    @overload
    def client(self, service: Literal["ec2"]) -> EC2Client: ...
    @overload
    def client(self, service: Literal["elbv2"]) -> ElasticLoadBalancingv2Client: ...
    @overload
    def client(self, service: Literal["route53"]) -> Route53Client: ...
    @overload
    def client(self, service: Literal["s3"]) -> S3Client: ...

    def client(self, service: str) -> Any:
        return self.aws.client(service, self.region)
