"""A deadline for each wait on a provider, at the cost of a float per event.

`asyncio.timeout()` around every event of every reply costs an object and a timer each time (a heap push,
then a cancelled entry for the loop to sweep): about 5% of a streamed reply's CPU in a profile of the
gateway. A reply's waits come one after another, so one timer suffices: each wait only moves the deadline,
and the timer, when it fires early, sets itself again for the deadline as it then is.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any


class Watchdog:
    """Cancels the task waiting on the provider once its wait outlives the deadline `expect` set.

    Use: `expect(seconds)`, `await` the provider, `done()`; on `CancelledError`, `timed_out()` says
    whether it was this watchdog's doing (and takes its cancellation back) or someone else's.
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._deadline = math.inf  # inf: not waiting
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None
        self._cancelling = 0
        self._fired = False

    def expect(self, seconds: float) -> None:
        """The current task is about to wait on the provider, for at most `seconds`."""
        self._deadline = deadline = self._loop.time() + seconds
        # The waiting task can change: the gateway awaits the first event in a task of its own.
        self._task = task = asyncio.current_task()
        self._cancelling = task.cancelling() if task is not None else 0
        if self._timer is None:
            self._timer = self._loop.call_at(deadline, self._check)
        elif self._timer.when() > deadline:  # a shorter wait than the one the timer was set for
            self._timer.cancel()
            self._timer = self._loop.call_at(deadline, self._check)

    def done(self) -> None:
        self._deadline = math.inf

    def timed_out(self) -> bool:
        """After a `CancelledError` in a wait: True if the deadline caused it, and nothing else wanted it."""
        if not self._fired:
            return False
        self._fired = False
        task = self._task
        return task is not None and task.uncancel() <= self._cancelling

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        if self._deadline == math.inf:
            return  # between waits: the next `expect` sets a timer
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._check)
        elif self._task is not None:
            self._fired = True
            self._task.cancel()
