"""The sandbox's live table: redrawn in place on a terminal, plain changed lines when piped, and long
messages wrapped at word boundaries, never cut."""

from __future__ import annotations

import io

import pytest

from hybrid_gateway_devenv import sandbox

MESSAGE = ("waiting for AWS: load balancer provisioning (internal ALB hg-orders-alb in subnets subnet-a and "
           "subnet-c); the VPC link becomes AVAILABLE once its NLB is active")
ROWS = [("HybridApi", "default/orders", "False", "Provisioning", MESSAGE),
        ("MtlsDomain", "default/partner-api", "True", "Converged", "")]


def test_a_long_message_wraps_at_word_boundaries_and_loses_nothing() -> None:
    text = sandbox.format_table(ROWS, width=100)
    lines = text.splitlines()
    assert all(len(line) <= 100 for line in lines)
    message_column = lines[0].index("MESSAGE")
    wrapped = [line[message_column:] for line in lines[1:] if not line.startswith("MtlsDomain")]
    assert " ".join(part.strip() for part in wrapped) == MESSAGE  # every word, in order
    for line in lines[2:]:
        if line.startswith(" "):  # a continuation line: under the message column, starting with a word
            assert line[:message_column].strip() == "" and line[message_column] != " "
    words = set(MESSAGE.split())
    assert all(word in words for part in wrapped for word in part.split())  # no word was cut in two


def test_without_a_width_each_row_is_one_line_with_the_whole_message() -> None:
    lines = sandbox.format_table(ROWS).splitlines()
    assert len(lines) == 3 and lines[1].endswith(MESSAGE)


def test_piped_output_prints_only_the_rows_that_changed() -> None:
    shown: dict[tuple[str, str], tuple[str, ...]] = {}
    first = sandbox.changed_rows(ROWS, shown)
    assert first == [f"HybridApi default/orders ready=False reason=Provisioning: {MESSAGE}",
                     "MtlsDomain default/partner-api ready=True reason=Converged"]
    assert sandbox.changed_rows(ROWS, shown) == []
    ready = [("HybridApi", "default/orders", "True", "Converged", ""), ROWS[1]]
    assert sandbox.changed_rows(ready, shown) == ["HybridApi default/orders ready=True reason=Converged"]
    assert all("\x1b" not in line for line in first)


def test_the_live_table_moves_back_over_its_last_drawing_only(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sandbox.sys, "stdout", out)
    table = sandbox.LiveTable()
    table.draw("a\nb\nc")
    assert out.getvalue() == "a\nb\nc\n"  # the first drawing: below what was printed before, no clearing
    table.draw("a\nB")
    assert out.getvalue() == "a\nb\nc\n\x1b[3F\x1b[Ja\nB\n"  # up 3 lines, clear to the end, redraw
    table.forget()
    table.draw("x")
    assert out.getvalue().endswith("a\nB\nx\n")


def test_say_survives_a_reader_that_went_away(monkeypatch: pytest.MonkeyPatch) -> None:
    class GonePipe(io.StringIO):
        def write(self, _text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            raise OSError("no fd")  # dup2 onto it is skipped; sys.stdout is replaced either way

    monkeypatch.setattr(sandbox.sys, "stdout", GonePipe())
    sandbox.say("stopping ...")  # does not raise
    sandbox.say("stopped")
    assert not isinstance(sandbox.sys.stdout, GonePipe)
