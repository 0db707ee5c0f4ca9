"""The request log: one entry per AWS call that went through the emulator (control calls excluded)."""

from __future__ import annotations

import threading
import time
from typing import Any, TypedDict


class LogEntry(TypedDict):
    seq: int
    time: float
    service: str
    operation: str
    region: str
    status: int
    write: bool
    fault: str | None
    userAgent: str


class RequestLog:
    """Thread-safe, append-only log with a sequence number that never goes back.

    ``clear()`` drops the entries but keeps counting, so a ``since`` taken before a clear stays
    meaningful.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._entries: list[LogEntry] = []
        self._seq = 0
        self._max = max_entries

    def append(
        self,
        *,
        service: str,
        operation: str,
        region: str,
        status: int,
        write: bool,
        fault: str | None = None,
        user_agent: str = "",
    ) -> LogEntry:
        with self._lock:
            self._seq += 1
            entry: LogEntry = {
                "seq": self._seq,
                "time": time.time(),
                "service": service,
                "operation": operation,
                "region": region,
                "status": int(status),
                "write": bool(write),
                "fault": fault,
                # Who called: the operator puts its replica's identity here (CloudTrail's userAgent on AWS).
                "userAgent": user_agent,
            }
            self._entries.append(entry)
            if len(self._entries) > self._max:
                del self._entries[: len(self._entries) - self._max]
            return entry

    def entries(self, since: int = 0) -> list[LogEntry]:
        with self._lock:
            return [e.copy() for e in self._entries if e["seq"] > since]

    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def to_json(self, since: int = 0) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": [e.copy() for e in self._entries if e["seq"] > since],
                "lastSeq": self._seq,
            }
