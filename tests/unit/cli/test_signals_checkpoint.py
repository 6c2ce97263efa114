"""An interrupt whose KeyboardInterrupt was swallowed on the way (CPython drops an exception
raised while a finalizer runs) still ends the command with 130 and no output: the render's
write and the end of the command are checkpoints."""

from __future__ import annotations

import io
import signal
from collections.abc import Iterator

import click
import pytest

from imgextract.cli import exits, signals


@pytest.fixture(autouse=True)
def _no_signal_left() -> Iterator[None]:
    signals.signalled.clear()
    yield
    signals.signalled.clear()


def test_a_command_that_returns_after_a_swallowed_interrupt_exits_130(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @click.group()
    def group() -> None:
        pass

    @group.command()
    def work() -> None:
        signals.signalled.append(signal.SIGINT)  # the handler ran; its exception was lost

    with pytest.raises(SystemExit) as done:
        exits.run(group, ["work"])
    assert done.value.code == 130
    assert capsys.readouterr().err == "bundle-extract: aborted\n"


def test_the_output_is_not_written_after_an_interrupt() -> None:
    out = io.BytesIO()
    signals.signalled.append(signal.SIGTERM)
    with pytest.raises(signals.Terminated):
        signals.InterruptibleOutput(out).writelines([b"{}", b"\n"])
    assert out.getvalue() == b""


def test_the_output_is_written_without_one() -> None:
    out = io.BytesIO()
    sink = signals.InterruptibleOutput(out)
    sink.writelines([b"{}", b"\n"])
    sink.flush()
    assert out.getvalue() == b"{}\n"
