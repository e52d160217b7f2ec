"""The routing queue of each button: positions, queue updates and the estimated wait time.

A chat joins its button's queue at ChasitorInit and leaves it when an agent accepts it or the chat ends;
its place (1 = next in line) is `ChatRequestSuccess.queuePosition`, and every chat behind one that leaves
gets a `QueueUpdate {position, estimatedWaitTime}` if it asked for them (`receiveQueueUpdates`). Updates
are computed once per turn of the event loop: when ten chats are accepted at once, the chats behind get
one QueueUpdate with their new place, not ten (a thousand queued chats would otherwise cost a million).

The estimate follows the guide's formula: per button, A = 0.9·A′ + 0.1·W on each accept (W = how long the
accepted chat waited); a chat is told A minus the time it has already waited, floored at 0, in whole
seconds. Before any accept the agent's own expectation stands in (the echo agent's accept delay), and
-1 means "unknown" (the manual agent).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

_SMOOTHING = 0.9


class Queued(Protocol):
    """A chat as a queue holds it (any API's): only its id is read; chats are compared by identity."""

    @property
    def id(self) -> str: ...


Q = TypeVar("Q", bound=Queued)


class ButtonQueue(Generic[Q]):
    """Chats waiting for an agent on one button, in arrival order."""

    __slots__ = ("button_id", "waiting", "average_wait", "update_pending")

    def __init__(self, button_id: str) -> None:
        self.button_id = button_id
        self.waiting: list[Q] = []
        self.average_wait: float | None = None
        self.update_pending = False  # QueueUpdates are sent once per loop turn, however many chats left

    def join(self, chat: Q) -> int:
        """Add a chat at the back; returns its position (1-based)."""
        self.waiting.append(chat)
        return len(self.waiting)

    def position(self, chat: Q) -> int:
        try:
            return self.waiting.index(chat) + 1
        except ValueError:
            return 0

    def leave(self, chat: Q) -> bool:
        """Remove a chat; True if it was waiting (the chats behind it moved up)."""
        try:
            self.waiting.remove(chat)
        except ValueError:
            return False
        return True

    def accepted(self, waited: float) -> None:
        """An agent accepted a chat that waited `waited` seconds: update the moving average."""
        previous = self.average_wait
        self.average_wait = waited if previous is None else _SMOOTHING * previous + (1 - _SMOOTHING) * waited

    def estimate(self, waited: float, fallback: float | None) -> int:
        """Seconds left to wait for a chat that has waited `waited`; -1 when unknown."""
        average = self.average_wait if self.average_wait is not None else fallback
        if average is None:
            return -1
        return max(0, round(average - waited))


class Queues(Generic[Q]):
    """Every button's queue, created on first use."""

    def __init__(self, expected_wait: Callable[[], float | None]) -> None:
        self._queues: dict[str, ButtonQueue[Q]] = {}
        self._expected_wait = expected_wait  # the current agent's own estimate, before any accept

    def of(self, button_id: str) -> ButtonQueue[Q]:
        queue = self._queues.get(button_id)
        if queue is None:
            queue = self._queues[button_id] = ButtonQueue[Q](button_id)
        return queue

    def estimate(self, button_id: str, waited: float = 0.0) -> int:
        queue = self._queues.get(button_id)
        if queue is None:
            queue = ButtonQueue[Q](button_id)
        return queue.estimate(waited, self._expected_wait())

    def view(self) -> dict[str, list[str]]:
        """Button id -> ids of the chats waiting on it, in order (for the control API)."""
        return {b: [s.id for s in q.waiting] for b, q in self._queues.items() if q.waiting}

    def clear(self) -> None:
        self._queues.clear()
