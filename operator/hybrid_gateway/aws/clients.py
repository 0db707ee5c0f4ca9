"""boto3 clients per (service, region), built once and shared by every reconciler.

- Credentials come from the standard chain (env, profile, IRSA web identity in a cluster).
- `AWS_ENDPOINT_URL` (honoured by botocore itself) points every service at an emulator; nothing
  here knows whether it talks to AWS or to the emulator.
- botocore's "standard" retry mode retries throttling and 5xx answers with jittered backoff.
- A token bucket per service keeps a whole fleet of objects under the service's API rate limits.
- Every call is counted in Prometheus by service, operation and outcome.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

from hybrid_gateway import __version__, metrics

if TYPE_CHECKING:  # boto3-stubs: every call on a client is checked against the service's model
    from mypy_boto3_acm import ACMClient
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_s3 import S3Client

# Requests per second per service and region. AWS's published defaults are the ceiling;
# we stay well below so that other tools in the same account keep their share.
DEFAULT_RATE_LIMITS: dict[str, float] = {
    "apigateway": 8.0,
    "elbv2": 10.0,
    "ec2": 20.0,
    "acm": 10.0,
    "route53": 5.0,
    "s3": 50.0,
}
FALLBACK_RATE_LIMIT = 10.0  # services not in the table
ALL_SERVICES = "*"  # key of `rate_limits` that sets every service (explicit services still win)


def effective_rate_limits(overrides: dict[str, float] | None = None) -> dict[str, float]:
    """DEFAULT_RATE_LIMITS with `overrides` applied; `{"*": r}` sets every service (and the fallback)."""
    overrides = dict(overrides or {})
    every = overrides.pop(ALL_SERVICES, None)
    limits = dict(DEFAULT_RATE_LIMITS)
    if every is not None:
        limits = {service: every for service in limits}
    limits[ALL_SERVICES] = every if every is not None else FALLBACK_RATE_LIMIT
    limits.update(overrides)
    for service, rate in limits.items():
        if rate <= 0:
            raise ValueError(f"rate limit of {service} must be positive, not {rate}")
    return limits


class TokenBucket:
    """A thread-safe token bucket: `acquire()` blocks until a token is available."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                wait = (1.0 - self._tokens) / self.rate
            time.sleep(wait)


class AwsClients:
    """Factory and cache of instrumented boto3 clients."""

    def __init__(
        self,
        *,
        max_attempts: int = 8,
        rate_limits: dict[str, float] | None = None,
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
        self._rate_limits = effective_rate_limits(rate_limits)
        self._clients: dict[tuple[str, str], Any] = {}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def rate_limit(self, service: str) -> float:
        """Requests per second allowed to `service` in each region."""
        return self._rate_limits.get(service, self._rate_limits[ALL_SERVICES])

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
        bucket = TokenBucket(self.rate_limit(service))
        self._buckets[(service, region)] = bucket

        def before_send(**_: Any) -> None:
            # Called once per HTTP attempt, so retries also respect the rate limit.
            bucket.acquire()

        def after_call(model: Any, parsed: dict[str, Any], **_: Any) -> None:
            error = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
            metrics.AWS_CALLS.labels(service, model.name, error or "ok").inc()

        def after_call_error(model: Any, exception: Exception, **_: Any) -> None:
            metrics.AWS_CALLS.labels(service, model.name, type(exception).__name__).inc()

        events = client.meta.events
        events.register("before-send", before_send)
        events.register("after-call", after_call)
        events.register("after-call-error", after_call_error)


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
    def client(self, service: Literal["ec2"]) -> EC2Client: ...
    @overload
    def client(self, service: Literal["elbv2"]) -> ElasticLoadBalancingv2Client: ...
    @overload
    def client(self, service: Literal["route53"]) -> Route53Client: ...
    @overload
    def client(self, service: Literal["s3"]) -> S3Client: ...

    def client(self, service: str) -> Any:
        return self.aws.client(service, self.region)
