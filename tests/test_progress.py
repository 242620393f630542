"""The shared ``progress=`` protocol: first call (0, total), monotone, last call (total, total)."""

from __future__ import annotations

import pytest

from unmask._progress import Progress, check_progress


def test_progress_protocol_first_monotone_last() -> None:
    calls: list[tuple[int, int]] = []
    bar = Progress(lambda d, t: calls.append((d, t)), total=50, min_interval=0.0)
    for _ in range(60):  # overshoot is clipped at total
        bar.advance()
    bar.update(3)  # never goes backwards
    bar.finish()
    bar.finish()  # the final call happens once
    assert calls[0] == (0, 50)
    assert calls[-1] == (50, 50)
    assert calls.count((50, 50)) == 1
    dones = [d for d, _ in calls]
    assert dones == sorted(dones)
    assert all(t == 50 for _, t in calls)


def test_progress_none_is_noop_and_non_callable_refused() -> None:
    bar = Progress(None, total=3)
    bar.advance(2)
    bar.finish()
    assert bar.done == 3 and not bar.active
    with pytest.raises(TypeError, match="callable"):
        check_progress(5)


def test_progress_exception_propagates() -> None:
    def stop(done: int, total: int) -> None:
        if done > 0:
            raise KeyboardInterrupt

    bar = Progress(stop, total=10, min_interval=0.0)
    with pytest.raises(KeyboardInterrupt):
        bar.advance()


def test_rich_progress_stays_off_pipes_and_drives_a_bar_on_a_terminal(monkeypatch) -> None:
    # the command line's bar goes to stderr and only to a terminal: --json on stdout stays clean
    import io

    import rich.console

    from unmask._progress import rich_progress

    with rich_progress("work", enabled=False) as cb:
        assert cb is None
    with rich_progress("work") as cb:  # pytest captures stderr: not a terminal
        assert cb is None
    err = io.StringIO()
    real = rich.console.Console
    monkeypatch.setattr(rich.console, "Console",
                        lambda **kw: real(file=err, force_terminal=True, width=80))
    with rich_progress("work") as cb:
        assert cb is not None
        cb(0, 4)
        cb(4, 4)
    assert "work" in err.getvalue()
