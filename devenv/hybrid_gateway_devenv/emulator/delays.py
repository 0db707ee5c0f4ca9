"""Provisioning delays: how long emulated resources take to become usable.

Off by default (``seconds == 0``):

- ELBv2 load balancers answer ``provisioning`` from CreateLoadBalancer and ``active`` from the
  first DescribeLoadBalancers;
- API Gateway VPC links are ``AVAILABLE`` at once (moto's own behaviour);
- ACM certificates from RequestCertificate stay ``PENDING_VALIDATION`` until every DNS validation
  CNAME of their DomainValidationOptions exists in a *public* Route 53 hosted zone of the same
  emulated account, and become ``ISSUED`` at the first read after that. Moto's own rule (issued
  ``MOTO_ACM_VALIDATION_WAIT`` seconds after the request, with or without the record) is replaced,
  because a certificate that validates itself hides the operator's DNS-validation step.

With ``seconds > 0`` load balancers stay ``provisioning`` and VPC links ``PENDING`` until
``seconds`` after their creation, and a certificate is issued only ``seconds`` after its last
validation record appeared. Everything is evaluated when the resource is read, so nothing runs in
the background.

The policy is process-wide (:data:`DELAYS`) because moto's state is process-wide: every
:class:`~hybrid_gateway_devenv.emulator.EmulatorServer` in a process serves the same emulated AWS.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

PENDING = "PENDING"
AVAILABLE = "AVAILABLE"


def normalise_dns_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


class ProvisioningDelays:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds = 0.0
        # (account, record name, record value) -> wall-clock time the CNAME was first seen.
        self._dns_seen: dict[tuple[str, str, str], float] = {}

    @property
    def seconds(self) -> float:
        with self._lock:
            return self._seconds

    def set_seconds(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("provisioning delay must not be negative")
        with self._lock:
            self._seconds = float(seconds)

    def reset(self) -> None:
        with self._lock:
            self._seconds = 0.0
            self._dns_seen.clear()

    def to_json(self) -> dict[str, Any]:
        return {"provisioningSeconds": self.seconds}

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

    # -- API Gateway VPC links ----------------------------------------------------------------
    def vpc_link_status(self, created: float, now: float | None = None) -> str:
        seconds = self.seconds
        if seconds <= 0:
            return AVAILABLE
        return AVAILABLE if (now if now is not None else time.time()) - created >= seconds else PENDING

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
            return now - appeared >= self._seconds


DELAYS = ProvisioningDelays()
