"""Real health checks of ``ip`` target groups, for targets the on-prem network map reaches.

AWS (Elastic Load Balancing, "Health checks for Application Load Balancer target groups"; API
reference ``TargetHealth``): the load balancer sends a request to each registered target every
``HealthCheckIntervalSeconds`` with the group's protocol, port and path; a response whose code is in
the ``Matcher`` passes. A newly registered target must pass **one** check to be healthy (until then
it is ``initial`` / ``Elb.InitialHealthChecking``); ``UnhealthyThresholdCount`` consecutive failures
make it ``unhealthy`` and ``HealthyThresholdCount`` consecutive passes make an unhealthy target
healthy again. Reasons: ``Target.ResponseCodeMismatch`` (a code outside the matcher),
``Target.Timeout`` (no answer within ``HealthCheckTimeoutSeconds``), ``Target.FailedHealthChecks``
(the connection failed or the answer was malformed).

Emulator conventions (not AWS behaviour; catalogue: docs/aws-behaviour.md, "Data plane"):

- Checks run lazily, when the target's health is read (DescribeTargetHealth, the request path):
  nothing runs in the background. One real request is made per read that finds at least one check
  due; its result stands for every check that fell due since the previous one.
- Time is compressed like the quotas' (``HealthCheckIntervalSeconds / time scale``; 0 with instant
  AWS, where every read checks); the timeout likewise, but never below one second, so that a slow
  test machine does not make a loopback backend look down.
- Only targets with a route in the on-prem network map are checked this way; the others keep the
  delay model of :func:`..patches.target_health_state` (healthy after the health-check delay), so
  tests that need no traffic need no backend. A target whose traffic port is mapped but whose
  health-check port is not times out (``Target.Timeout``), as an unreachable address does on AWS.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

from .network import ONPREM

USER_AGENT = "ELB-HealthChecker/2.0"
INITIAL = ("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
TIMEOUT = ("unhealthy", "Target.Timeout", "Request timed out")
FAILED = ("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
HEALTHY: tuple[str | None, ...] = ("healthy", None, None)
MIN_TIMEOUT_SECONDS = 1.0
MAX_REPLAYED_CHECKS = 10  # one result never stands for more checks than any threshold needs


def matcher_codes(matcher: Any) -> list[tuple[int, int]]:
    """``{"HttpCode": "200,202-299"}`` -> ``[(200, 200), (202, 299)]`` (AWS's default: 200)."""
    text = str((matcher or {}).get("HttpCode") or "200")
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        if low.isdigit():
            ranges.append((int(low), int(high) if high.isdigit() else int(low)))
    return ranges or [(200, 200)]


def _port(group: Any, traffic_port: Any) -> int:
    configured = str(getattr(group, "health_check_port", None) or "traffic-port")
    return int(traffic_port) if configured == "traffic-port" else int(configured)


def probe(group: Any, target_ip: str, traffic_port: Any, timeout: float) -> tuple[str | None, ...]:
    """One health-check request; (State, Reason, Description) it alone would give."""
    mapped = ONPREM.resolve(target_ip, _port(group, traffic_port))
    if mapped is None:
        return TIMEOUT
    connection: http.client.HTTPConnection
    if str(getattr(group, "health_check_protocol", None) or group.protocol).upper() == "HTTPS":
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE  # the load balancer does not verify target certificates
        connection = http.client.HTTPSConnection(mapped[0], mapped[1], timeout=timeout, context=unverified)
    else:
        connection = http.client.HTTPConnection(mapped[0], mapped[1], timeout=timeout)
    try:
        connection.request("GET", str(group.health_check_path or "/"), headers={"User-Agent": USER_AGENT})
        answer = connection.getresponse()
        answer.read()
    except TimeoutError:
        return TIMEOUT
    except (OSError, http.client.HTTPException):
        return FAILED
    finally:
        connection.close()
    if any(low <= answer.status <= high for low, high in matcher_codes(getattr(group, "matcher", None))):
        return HEALTHY
    return ("unhealthy", "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{answer.status}]")


@dataclass
class _Record:
    next_due: float
    state: tuple[str | None, ...] = INITIAL
    passes: int = 0
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def apply(self, result: tuple[str | None, ...], count: int, healthy_after: int, unhealthy_after: int) -> None:
        if result[0] == "healthy":
            self.passes, self.failures = self.passes + count, 0
            if self.state[0] == "initial" or self.passes >= healthy_after:
                self.state = HEALTHY
        else:
            self.passes, self.failures = 0, self.failures + count
            if self.state[0] == "unhealthy" or self.failures >= unhealthy_after:
                self.state = result


class HealthChecks:
    """What the checks found, per (target group, target, port, registration time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str, str, float], _Record] = {}

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def observe(
        self, group: Any, target_id: str, port: Any, first_check: float, now: float, time_scale: float | None
    ) -> tuple[str | None, ...] | None:
        """The target's health from real checks, or None when the network map does not reach its
        traffic port (the caller's delay model applies). ``first_check``: when the first check is
        due (the end of registration); ``time_scale``: how much faster than AWS (None: instant AWS,
        every read checks)."""
        if ONPREM.resolve(str(target_id), port) is None:
            return None
        key = (str(group.arn), str(target_id), str(port), first_check)
        with self._lock:
            record = self._records.setdefault(key, _Record(next_due=first_check))
        with record.lock:
            if now >= record.next_due:
                interval = float(group.health_check_interval_seconds or 30) / time_scale if time_scale else 0.0
                due = 1 + (int((now - record.next_due) // interval) if interval > 0 else MAX_REPLAYED_CHECKS)
                timeout = float(group.health_check_timeout_seconds or 5) / (time_scale or 1.0)
                result = probe(group, str(target_id), port, max(MIN_TIMEOUT_SECONDS, timeout))
                record.apply(
                    result,
                    min(due, MAX_REPLAYED_CHECKS),
                    int(group.healthy_threshold_count or 5),
                    int(group.unhealthy_threshold_count or 2),
                )
                record.next_due = record.next_due + due * interval if interval > 0 else now
            return record.state


HEALTH_CHECKS = HealthChecks()
