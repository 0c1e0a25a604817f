"""SIGTERM or SIGINT to a granian worker still starting: it stops gracefully as soon as it can,
instead of being killed after `workers_kill_timeout` ("refused to gracefully stop").

A group SIGTERM (systemd's default) reaches each worker twice within a millisecond: itself,
and from the parent's `terminate()` of each worker. granian 2.8 loses or hangs on both while
a worker starts, depending on when they come:
- until the worker has imported the app, it runs the parent's handler, inherited through the
  fork (granian/server/common.py `startup`: `set_main_signals` before `_spawn_workers`; the
  worker's own `set_loop_signals` comes after `callback_loader()` in granian/server/mp.py),
  which flags the stop on the parent's state, that nothing in the worker reads;
- from then until it serves, each signal calls `WorkerSignal.set()`, a send into a channel of
  one that only `serve` starts reading: the second `set()` blocks the main thread for good
  (`s = WorkerSignal(); s.set(); s.set()` never returns);
- with uvloop, a signal while the loop is not running (between start-up and serving) is
  recorded for the next signal to process, not for the loop's next run (uvloop/loop.pyx).

So a worker handles its stop signals itself from the instant it is forked, and hands the stop
to granian's `WorkerSignal` exactly once, as soon as both exist. The handler is a plain signal
handler (granian's own fallback where a loop has no `add_signal_handler`): it runs whether or
not the loop is running. A worker that serves drains as granian makes it; one that has not
started serving has nothing to drain and stops as soon as it is built.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

_STOPS = {signal.SIGTERM, signal.SIGINT}
_mask_before_fork: set[signal.Signals] = set()


class _Worker:
    """This worker's stop: asked for (by a signal), and handed to granian at most once."""

    def __init__(self) -> None:
        self.asked = False
        self.granian_signal: Any = None
        self._handed = threading.Lock()  # a latch: acquired once, never released

    def hand_over(self) -> None:
        # Called from the signal handler and from the main code, which the handler may
        # interrupt: a non-blocking acquire lets exactly one of them call set().
        if self.asked and self.granian_signal is not None and self._handed.acquire(False):
            self.granian_signal.set()


_worker = _Worker()


def keep_in_workers() -> None:
    """Call in the parent before granian forks its workers."""
    os.register_at_fork(before=_block, after_in_parent=_restore, after_in_child=_in_worker)


def _block() -> None:
    # Blocked across the fork, a signal waits for the worker's handler instead of meeting the
    # parent's in the instant between the fork and `_in_worker`.
    _mask_before_fork.clear()
    _mask_before_fork.update(signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS))


def _restore() -> None:
    signal.pthread_sigmask(signal.SIG_SETMASK, _mask_before_fork)


def _in_worker() -> None:
    global _worker
    try:
        from granian import _signals

        _worker = _Worker()
        for stop in _STOPS:
            signal.signal(stop, _on_stop)
        # granian's spawners import it when they call it, after this hook has run.
        _signals.set_loop_signals = _set_loop_signals
    finally:
        _restore()  # a signal that came during the fork is delivered now, to `_on_stop`


def _on_stop(signum: int, frame: object) -> None:
    _worker.asked = True
    _worker.hand_over()


def _set_loop_signals(loop: Any) -> Any:
    """granian's `set_loop_signals` for a worker: the signal it waits for, with our handlers."""
    from granian._granian import WorkerSignal

    _worker.granian_signal = WorkerSignal()
    _worker.hand_over()  # a stop asked for while the worker was importing the app
    return _worker.granian_signal
