"""Who owns a session: one live tab per session. The newest socket wins; the one it replaces is told it was taken
over (a ``session_taken_over`` frame, then close code 4001) and its page becomes read-only until the candidate
takes the session back there. Behind a small interface (:class:`Owners`) so it can move to the database when
several server processes share one (a later issue); :class:`LocalOwners` is the in-process registry."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol


class Owner(Protocol):
    """A session's live connection, as the registry sees it."""

    def taken_over(self) -> Awaitable[None]:
        """Another connection took the session: say so to the client and stop taking its frames."""
        ...


class Owners(Protocol):
    def claim(self, session_id: str, owner: Owner) -> Owner | None:
        """Make ``owner`` the session's owner; return the owner it replaced, if any."""
        ...

    def release(self, session_id: str, owner: Owner) -> None:
        """``owner`` is gone (no effect if it no longer owns the session)."""
        ...

    def owns(self, session_id: str, owner: Owner) -> bool: ...


class LocalOwners:
    """Owners of this process's sessions, in memory."""

    def __init__(self) -> None:
        self._owners: dict[str, Owner] = {}

    def claim(self, session_id: str, owner: Owner) -> Owner | None:
        previous = self._owners.get(session_id)
        self._owners[session_id] = owner
        return previous if previous is not owner else None

    def release(self, session_id: str, owner: Owner) -> None:
        if self._owners.get(session_id) is owner:
            del self._owners[session_id]

    def owns(self, session_id: str, owner: Owner) -> bool:
        return self._owners.get(session_id) is owner

    def __len__(self) -> int:
        return len(self._owners)
