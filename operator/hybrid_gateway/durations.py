"""Go-style durations ("90s", "1h30m", "720h") and RFC 3339 times, as used in the CRDs."""

from __future__ import annotations

import datetime as dt
import re

_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse(text: str | None, default: float) -> float:
    """Seconds in `text`; `default` when empty. Raises ValueError on a malformed duration."""
    if not text:
        return default
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"{text!r} is not a duration like 90s, 10m or 720h")
    return total


def parse_time(text: str) -> dt.datetime:
    """An RFC 3339 time (``Z`` or an offset) as an aware datetime."""
    value = dt.datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00").replace("t", "T"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return value


def format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def format_seconds(seconds: float) -> str:
    """Whole seconds as a Go-style duration: 90 -> "1m30s", 3600 -> "1h0m0s" (what `parse` reads back)."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
