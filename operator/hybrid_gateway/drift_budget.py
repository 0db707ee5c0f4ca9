"""The fleet's drift budget: drift checks of every object together use at most a share of each AWS bucket.

Each object's cost is what its last check cost: the calls of its last converged (or stalled) pass, per
bucket (AwsClients.recording). Over a bucket, the fleet's drift checks ask for

    demand = sum over objects of reads_on_bucket / interval            (requests per second)

and may use `share` x the bucket's configured rate. When demand exceeds that, the bucket's stretch is
demand / budget, and every object that reads from the bucket checks that many times less often: an
object's effective interval is its own interval times the largest stretch of the buckets it reads.
Since every object on a bucket is stretched at least by that bucket's stretch, the bucket's demand after
stretching is within its budget; objects on buckets with room keep their own interval.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from hybrid_gateway import metrics
from hybrid_gateway.aws.clients import BucketKey

DEFAULT_SHARE = 0.5


class DriftBudget:
    def __init__(self, rate_of: Callable[[str], float], share: float = DEFAULT_SHARE) -> None:
        """`rate_of(bucket name)`: the bucket's configured requests per second (AwsClients.quota)."""
        if not 0 < share <= 1:
            raise ValueError(f"the drift budget share must be in (0, 1], not {share}")
        self.share = share
        self._rate_of = rate_of
        self._objects: dict[str, tuple[float, dict[BucketKey, int]]] = {}
        self._stretch: dict[BucketKey, float] | None = None  # None: to recompute
        self._published: set[BucketKey] = set()
        self._lock = threading.Lock()

    def observe(self, uid: str, interval: float, calls: Mapping[BucketKey, int]) -> None:
        """The object's own drift interval (seconds) and the calls per bucket its last check made."""
        with self._lock:
            self._objects[uid] = (interval, {key: n for key, n in calls.items() if n > 0})
            self._stretch = None
        self.publish()

    def forget(self, uid: str) -> None:
        with self._lock:
            if self._objects.pop(uid, None) is not None:
                self._stretch = None
        self.publish()

    def _stretches(self) -> dict[BucketKey, float]:
        if self._stretch is None:
            demand: dict[BucketKey, float] = {}
            for interval, calls in self._objects.values():
                for key, n in calls.items():
                    demand[key] = demand.get(key, 0.0) + n / interval
            self._stretch = {key: max(1.0, rps / self.budget(key)) for key, rps in demand.items()}
        return self._stretch

    def budget(self, key: BucketKey) -> float:
        """Requests per second the fleet's drift checks may use on a bucket."""
        return self.share * self._rate_of(key[1])

    def interval(self, uid: str, interval: float) -> float:
        """The object's effective drift interval: `interval` (its own) stretched by the fleet's budget."""
        with self._lock:
            stretches = self._stretches()
            calls = self._objects.get(uid, (interval, {}))[1]
            return interval * max((stretches[key] for key in calls), default=1.0)

    def use(self) -> dict[BucketKey, float]:
        """Per bucket: the fleet's drift reads per second at the effective intervals, over the budget."""
        with self._lock:
            stretches = self._stretches()
            used: dict[BucketKey, float] = {}
            for interval, calls in self._objects.values():
                stretch = max((stretches[key] for key in calls), default=1.0)
                for key, n in calls.items():
                    used[key] = used.get(key, 0.0) + n / (interval * stretch)
            return {key: rps / self.budget(key) for key, rps in used.items()}

    def publish(self) -> None:
        use = self.use()
        with self._lock:
            gone, self._published = self._published - set(use), set(use)
        for region, bucket in gone:  # no object reads from it any more
            metrics.DRIFT_BUDGET_USE.labels(bucket, region).set(0.0)
        for (region, bucket), ratio in use.items():
            metrics.DRIFT_BUDGET_USE.labels(bucket, region).set(ratio)
