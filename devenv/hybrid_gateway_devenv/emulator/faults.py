"""Fault injection: throttling and 5xx answers shaped like each service's real ones, and slow answers.

Throttling answers (each cited in docs/aws-behaviour.md): API Gateway ``TooManyRequestsException``
429; ELBv2 and Route 53 ``Throttling`` 400 "Rate exceeded"; EC2 ``RequestLimitExceeded`` 503; ACM
``ThrottlingException`` 400; S3 ``SlowDown`` 503. Kind ``prior-request`` answers Route 53's
``PriorRequestNotComplete`` 400 (other services: no fault). :mod:`.quotas` answers the same shapes
when a request-rate quota is exceeded.

A faulted call never reaches moto, so it changes nothing, exactly like a throttled call on AWS.
The shapes are those botocore parses into the error codes its retry logic knows
(``botocore.retries.standard``): ``TooManyRequestsException``, ``Throttling``,
``ThrottlingException``, ``RequestLimitExceeded`` and ``SlowDown`` are throttling errors; the
5xx answers are retried as transient errors because of their status code.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from .reply import Reply, json_reply, request_id, rest_json_error, xml_reply
from .routing import AwsCall

THROTTLE = "throttle"
SERVER_ERROR = "5xx"
PRIOR_REQUEST = "prior-request"  # Route 53 only: PriorRequestNotComplete
FAULT_KINDS = (THROTTLE, SERVER_ERROR, PRIOR_REQUEST)
DEFAULT_KINDS = (THROTTLE, SERVER_ERROR)

_QUERY_NAMESPACES = {
    "elbv2": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
    "elb": "http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}


@dataclass
class FaultConfig:
    rate: float = 0.0
    kinds: list[str] = field(default_factory=lambda: list(DEFAULT_KINDS))
    latency_ms: int = 0
    # A slow answer: the call takes effect and is logged at once, its reply comes this much later. A test
    # can so stop a client between an AWS write and whatever the client does with the answer.
    answer_latency_ms: int = 0
    services: list[str] | None = None
    operations: list[str] | None = None
    seed: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultConfig:
        rate = float(data.get("rate", 0.0))
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        kinds = list(data.get("kinds") or DEFAULT_KINDS)
        unknown = [k for k in kinds if k not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; use {list(FAULT_KINDS)}")
        latency = int(data.get("latencyMs", data.get("latency_ms", 0)) or 0)
        answer_latency = int(data.get("answerLatencyMs", 0) or 0)
        if latency < 0 or answer_latency < 0:
            raise ValueError("latencyMs and answerLatencyMs must not be negative")
        services = data.get("services")
        operations = data.get("operations")
        seed = data.get("seed")
        return cls(
            rate=rate,
            kinds=kinds,
            latency_ms=latency,
            answer_latency_ms=answer_latency,
            services=list(services) if services is not None else None,
            operations=list(operations) if operations is not None else None,
            seed=int(seed) if seed is not None else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "kinds": list(self.kinds),
            "latencyMs": self.latency_ms,
            "answerLatencyMs": self.answer_latency_ms,
            "services": self.services,
            "operations": self.operations,
            "seed": self.seed,
        }

    def matches(self, call: AwsCall) -> bool:
        if self.services is not None and call.service not in self.services:
            return False
        return self.operations is None or call.operation in self.operations


class FaultInjector:
    """Decides, per AWS call, whether to delay it and whether to answer it with a fault."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._rng = random.Random()

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)

    def clear(self) -> None:
        self.configure(FaultConfig())

    def config(self) -> FaultConfig:
        with self._lock:
            return self._config

    def decide(self, call: AwsCall) -> tuple[float, str | None]:
        """Return (seconds to sleep, fault kind or None) for this call."""
        with self._lock:
            cfg = self._config
            if not cfg.matches(call):
                return 0.0, None
            latency = cfg.latency_ms / 1000.0
            if cfg.rate <= 0.0 or not cfg.kinds:
                return latency, None
            if self._rng.random() >= cfg.rate:
                return latency, None
            kinds = [k for k in cfg.kinds if k != PRIOR_REQUEST or call.service == "route53"]
            if not kinds:
                return latency, None
            kind = kinds[0] if len(kinds) == 1 else self._rng.choice(kinds)
            return latency, kind

    def answer_delay(self, call: AwsCall) -> float:
        """Seconds to hold back the reply of ``call`` after it took effect."""
        with self._lock:
            cfg = self._config
            return cfg.answer_latency_ms / 1000.0 if cfg.matches(call) else 0.0


def fault_reply(call: AwsCall, kind: str) -> Reply:
    """The error answer of ``call``'s service for a throttling (``throttle``), ``5xx`` or
    ``prior-request`` (Route 53's PriorRequestNotComplete) fault."""
    throttle = kind == THROTTLE
    rid = request_id()
    if kind == PRIOR_REQUEST:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
            "<Error><Type>Sender</Type><Code>PriorRequestNotComplete</Code><Message>The request was rejected because "
            "Route 53 was still processing a prior request.</Message></Error>"
            f"<RequestId>{rid}</RequestId></ErrorResponse>"
        )
        return xml_reply(400, body, [("x-amzn-RequestId", rid)])
    if call.service == "s3":
        code, status, message = (
            ("SlowDown", 503, "Please reduce your request rate.")
            if throttle
            else ("InternalError", 500, "We encountered an internal error. Please try again.")
        )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>{rid}</RequestId><HostId>{rid}</HostId></Error>"
        )
        return xml_reply(status, body, [("x-amz-request-id", rid)])
    if call.protocol == "ec2":
        code, status, message = (
            ("RequestLimitExceeded", 503, "Request limit exceeded.")
            if throttle
            else ("InternalError", 500, "An internal error has occurred.")
        )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>"
        )
        return xml_reply(status, body)
    if call.protocol in ("query", "rest-xml"):
        if call.protocol == "query":
            namespace = _QUERY_NAMESPACES.get(call.service, f"http://{call.service}.amazonaws.com/doc/")
        else:
            namespace = "https://route53.amazonaws.com/doc/2013-04-01/"
        code, status, message, fault_type = (
            ("Throttling", 400, "Rate exceeded", "Sender")
            if throttle
            else ("InternalFailure", 500, "An internal error occurred. Try again.", "Receiver")
        )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="{namespace}"><Error>'
            f"<Type>{fault_type}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{rid}</RequestId></ErrorResponse>"
        )
        return xml_reply(status, body, [("x-amzn-RequestId", rid)])
    if call.protocol == "json":
        code, status, message = (
            ("ThrottlingException", 400, "Rate exceeded")
            if throttle
            else ("InternalFailure", 500, "An internal error occurred. Try again.")
        )
        reply = json_reply(status, {"__type": code, "message": message})
        reply.headers[0] = ("Content-Type", "application/x-amz-json-1.1")
        return reply
    # rest-json (API Gateway and friends) and anything unrecognised.
    if throttle:
        return rest_json_error(429, "TooManyRequestsException", "Too Many Requests")
    return rest_json_error(503, "ServiceUnavailableException", "Service Unavailable")
