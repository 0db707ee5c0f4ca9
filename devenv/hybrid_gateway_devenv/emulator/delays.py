"""How long things take: provisioning, asynchronous deletes, domain name updates, health checks, S3.

AWS does none of these at once, so neither does the emulator: every delay is **on by default** at a
small, compressed value (:data:`DEFAULTS`, a few seconds where AWS takes minutes), so that no test
relies on instant AWS by accident. A test that needs instant AWS says so through the control API
(``PUT /_emulator/delays {"instant": true}`` or :meth:`EmulatorControl.set_instant_aws`).

| key                  | what waits for it (source: ``docs/aws-behaviour.md``)                              |
|----------------------|------------------------------------------------------------------------------------|
| ``provisioningSeconds`` | ELBv2 load balancer ``provisioning`` -> ``active``; VPC link ``PENDING`` ->     |
|                      | ``AVAILABLE``/``FAILED``; ACM certificate issue after its DNS record appeared      |
| ``deletionSeconds``  | VPC link ``DELETING`` -> gone (404); a deleted load balancer still described (as   |
|                      | ``active``) -> ``LoadBalancerNotFound``; deregistered targets ``draining``         |
| ``domainNameSeconds``| API Gateway domain name ``UPDATING`` -> ``AVAILABLE`` after create or update       |
| ``healthCheckSeconds``| target ``initial`` -> ``healthy`` (the initial health checks; on AWS about        |
|                      | HealthCheckIntervalSeconds x HealthyThresholdCount)                                |
| ``versioningSeconds``| after versioning is first enabled on an S3 bucket, writes still land unversioned   |
|                      | (PutObject answers no ``VersionId``); AWS says to wait 15 minutes                  |

ACM certificates from RequestCertificate stay ``PENDING_VALIDATION`` until every DNS validation
CNAME of their DomainValidationOptions exists in a *public* Route 53 hosted zone of the same
emulated account, and become ``ISSUED`` ``provisioningSeconds`` after the last record appeared.
Moto's own rule (issued ``MOTO_ACM_VALIDATION_WAIT`` seconds after the request, with or without
the record) is replaced, because a certificate that validates itself hides the operator's
DNS-validation step.

Everything is evaluated when the resource is read, except removals (a VPC link that finished
deleting, a deleted load balancer that stops being described), which are scheduled here and run by
:meth:`ProvisioningDelays.sweep` before every AWS call the emulator serves. Nothing runs in the
background.

The policy is process-wide (:data:`DELAYS`) because moto's state is process-wide: every
:class:`~hybrid_gateway_devenv.emulator.EmulatorServer` in a process serves the same emulated AWS.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

PENDING = "PENDING"
AVAILABLE = "AVAILABLE"

DEFAULTS: dict[str, float] = {
    "provisioningSeconds": 2.0,
    "deletionSeconds": 2.0,
    "domainNameSeconds": 5.0,  # > 30 s / the quota time scale: UpdateDomainName meets UPDATING
    "healthCheckSeconds": 2.0,
    "versioningSeconds": 3.0,
}


def normalise_dns_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


class ProvisioningDelays:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict(DEFAULTS)
        self._startup = dict(DEFAULTS)  # what reset() restores: the defaults, or the CLI's settings
        # (account, record name, record value) -> wall-clock time the CNAME was first seen.
        self._dns_seen: dict[tuple[str, str, str], float] = {}
        # (due time, sequence, action): removals AWS makes some time after the API call.
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = itertools.count()

    # -- settings ------------------------------------------------------------------------------
    def get(self, key: str) -> float:
        with self._lock:
            return self._values[key]

    @property
    def seconds(self) -> float:
        """The provisioning delay (load balancers, VPC links, certificates)."""
        return self.get("provisioningSeconds")

    def set_seconds(self, seconds: float) -> None:
        self.update({"provisioningSeconds": seconds})

    def update(self, values: dict[str, Any]) -> None:
        """Set some of the delays (keys of :data:`DEFAULTS`); ``{"instant": true}`` sets all to 0."""
        instant = values.get("instant")
        unknown = sorted(set(values) - set(DEFAULTS) - {"instant"})
        if unknown:
            raise ValueError(f"unknown delay settings {unknown}; use {sorted(DEFAULTS)} or 'instant'")
        parsed: dict[str, float] = {}
        for key, value in values.items():
            if key == "instant":
                continue
            number = float(value)
            if number < 0:
                raise ValueError(f"{key} must not be negative")
            parsed[key] = number
        if not parsed and not instant:
            raise ValueError(f"give at least one of {sorted(DEFAULTS)}, or 'instant': true")
        with self._lock:
            if instant:
                self._values = dict.fromkeys(DEFAULTS, 0.0)
            self._values.update(parsed)

    def instant(self) -> None:
        self.update({"instant": True})

    def keep_as_startup(self) -> None:
        """The current values become what :meth:`reset` and :meth:`restore_defaults` restore (the
        command line's ``--instant`` / ``--provisioning-seconds``)."""
        with self._lock:
            self._startup = dict(self._values)

    def restore_defaults(self) -> None:
        with self._lock:
            self._values = dict(self._startup)

    def reset(self) -> None:
        with self._lock:
            self._values = dict(self._startup)
            self._dns_seen.clear()
            self._due.clear()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)

    # -- scheduled removals ---------------------------------------------------------------------
    def schedule(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` at the first :meth:`sweep` at least ``delay`` seconds from now."""
        with self._lock:
            heapq.heappush(self._due, (time.time() + max(0.0, delay), next(self._sequence), action))

    def sweep(self, now: float | None = None) -> None:
        """Run every scheduled removal that is due (called before each AWS call)."""
        now = time.time() if now is None else now
        ready: list[Callable[[], None]] = []
        with self._lock:
            while self._due and self._due[0][0] <= now:
                ready.append(heapq.heappop(self._due)[2])
        for action in ready:
            action()

    # -- ELBv2 -------------------------------------------------------------------------------
    def load_balancer_ready(self, created_time: str, now: float | None = None) -> bool:
        """Whether a load balancer created at ``created_time`` (moto's ISO-8601 string) is active."""
        seconds = self.seconds
        if seconds <= 0:
            return True
        try:
            created = datetime.fromisoformat(created_time.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return True
        return (now if now is not None else time.time()) - created >= seconds

    # -- generic ---------------------------------------------------------------------------------
    def elapsed(self, key: str, since: float, now: float | None = None) -> bool:
        """Whether the delay ``key`` has passed since ``since`` (wall-clock seconds)."""
        return (now if now is not None else time.time()) - since >= self.get(key)

    # -- ACM DNS validation -------------------------------------------------------------------
    @staticmethod
    def public_cnames(account_id: str, partition: str = "aws") -> set[tuple[str, str]]:
        """(name, value) of every CNAME in the account's public hosted zones, normalised."""
        from moto.route53.models import route53_backends

        backend = route53_backends[account_id][partition]
        found: set[tuple[str, str]] = set()
        for zone in list(backend.zones.values()):
            if getattr(zone, "private_zone", False):
                continue
            zone_name = normalise_dns_name(zone.name)
            for rrset in list(zone.rrsets):
                if rrset.type != "CNAME":
                    continue
                name = normalise_dns_name(rrset.name)
                if name != zone_name and not name.endswith("." + zone_name):
                    continue
                for value in rrset.records or []:
                    text = value.get("Value", "") if isinstance(value, dict) else str(value)
                    found.add((name, normalise_dns_name(text)))
        return found

    def observe_dns(self, account_id: str, partition: str = "aws", now: float | None = None) -> None:
        """Note which CNAMEs exist now; called after every successful Route 53 change."""
        present = self.public_cnames(account_id, partition)
        self._stamp(account_id, present, now if now is not None else time.time())

    def _stamp(self, account_id: str, present: set[tuple[str, str]], now: float) -> None:
        with self._lock:
            for key in [k for k in self._dns_seen if k[0] == account_id and (k[1], k[2]) not in present]:
                del self._dns_seen[key]
            for name, value in present:
                self._dns_seen.setdefault((account_id, name, value), now)

    def certificate_validated(self, validation_records: set[tuple[str, str]], arn: str) -> bool:
        """Whether a DNS-validated certificate (identified by ``arn``) can be issued now."""
        if not validation_records:
            return False
        parts = arn.split(":")
        partition, account_id = (parts[1], parts[4]) if len(parts) > 4 else ("aws", "123456789012")
        now = time.time()
        present = self.public_cnames(account_id, partition)
        self._stamp(account_id, present, now)
        if not validation_records <= present:
            return False
        with self._lock:
            appeared = max(self._dns_seen[(account_id, n, v)] for n, v in validation_records)
            return now - appeared >= self._values["provisioningSeconds"]


DELAYS = ProvisioningDelays()
