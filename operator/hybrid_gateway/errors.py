"""The one error vocabulary of a pass: besides success, a pass ends in one of these two.

- `Stalled`: the spec, or something it points at, cannot work as given; the user must change it.
  Terminal: the reconciler reports `Stalled=True` and looks again only on a new generation or the
  next drift check. Raised before any AWS write where the problem can be seen before one.
- `RetryLater`: something is not ready yet and will be without the user (a resource still in use by
  one that is being deleted, a stage that its HybridApi has not made yet). The pass comes back after
  `delay` seconds (the reconciler's error delay when None).

Both carry a CamelCase `reason` for a condition and a `message` that says what is wrong and never
holds secret material, so both may go to status, Events and logs. AWS's own errors (botocore's
`ClientError`) are classified in one place, `aws.errors.classify`, by the pass runner.
"""

from __future__ import annotations

from hybrid_gateway.status.conditions import Condition


class PassError(Exception):
    """Base of the two outcomes; never raised itself."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Stalled(PassError):
    """The user must change something. `conditions` are hop conditions that explain the stall
    (for example TruststoreValid=False), merged into status."""

    def __init__(self, reason: str, message: str, conditions: tuple[Condition, ...] = ()) -> None:
        super().__init__(reason, message)
        self.conditions = conditions


class RetryLater(PassError):
    """Not yet: come back after `delay` seconds (None: the reconciler's default error delay)."""

    def __init__(self, reason: str, message: str, delay: float | None = None) -> None:
        super().__init__(reason, message)
        self.delay = delay
