from __future__ import annotations

import pytest

from hybrid_gateway import durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("60s", 60), ("10m", 600), ("720h", 2_592_000), ("1h30m", 5400), ("1.5s", 1.5), ("250ms", 0.25), ("", 7)],
)
def test_parse(text: str, seconds: float) -> None:
    assert durations.parse(text, 7) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["30 days", "s", "10", "5x", "1h 30m", "h1"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        durations.parse(text, 0)
