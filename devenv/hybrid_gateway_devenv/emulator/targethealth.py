"""Target health rules of the control API: a fault that overrides what the health checks find.

A registered target in a group that a load balancer uses is ``initial`` for the health-check delay
(:mod:`.delays`); then an ``ip`` target that the on-prem network map reaches gets real health checks
(:mod:`.dataplane.healthcheck`), and any other target is ``healthy``. A rule set with
``PUT /_emulator/target-health {"targetId": "10.1.2.3", "port": 443, "state": "unhealthy"}`` wins
over both: ``unhealthy`` (``Target.FailedHealthChecks``) or ``healthy`` (whatever the checks find);
``targetGroupArn`` and ``port`` narrow the rule; ``DELETE`` forgets every rule. Rules are
process-wide, like moto's state.
"""

from __future__ import annotations

import threading
from typing import Any

STATES = ("healthy", "unhealthy")
ANY = "*"


class TargetHealthRules:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[tuple[str, str, str], str] = {}

    def set(self, target_id: str, state: str, target_group_arn: str | None = None, port: Any = None) -> None:
        if not target_id:
            raise ValueError("targetId is required")
        if state not in STATES:
            raise ValueError(f"state must be one of {list(STATES)}")
        key = (target_group_arn or ANY, str(target_id), str(port) if port not in (None, "") else ANY)
        with self._lock:
            self._rules[key] = state

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def override(self, target_group_arn: str, target_id: str, port: Any) -> str | None:
        """The most specific rule for this target (group + port > group > port > any), or None."""
        with self._lock:
            for key in (
                (target_group_arn, target_id, str(port)),
                (target_group_arn, target_id, ANY),
                (ANY, target_id, str(port)),
                (ANY, target_id, ANY),
            ):
                if key in self._rules:
                    return self._rules[key]
        return None

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rules": [
                    {
                        "targetGroupArn": None if group == ANY else group,
                        "targetId": target,
                        "port": None if port == ANY else port,
                        "state": state,
                    }
                    for (group, target, port), state in sorted(self._rules.items())
                ]
            }


TARGET_HEALTH = TargetHealthRules()
