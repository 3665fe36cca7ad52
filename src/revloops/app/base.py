"""What every group of actions shares: the wired ports, the caller's tier check and data scope."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Generic, TypeVar

from revloops.core.errors import Forbidden, InputError, NotFound, Unauthenticated
from revloops.core.identity import Caller, Tier
from revloops.core.ids import object_of
from revloops.core.model import Frozen
from revloops.ports.crm import Query

if TYPE_CHECKING:
    from revloops.bootstrap import Platform
    from revloops.settings import Settings

T = TypeVar("T")


class Page(Frozen, Generic[T]):
    """One page of a list: the items, how many there are in all, and the cursor of the next page (None at the end)."""

    items: list[T]
    total: int
    next_cursor: str | None = None


def page_offset(cursor: str | None) -> int:
    """Where a list's page starts: the cursor a previous page gave out (an offset), or the start.

    Raises:
        InputError: not a cursor a list gave out.
    """
    if cursor is None:
        return 0
    # an offset a database takes (a 64-bit integer); no list gives out more than this
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 12:
        raise InputError("not a cursor this list gave out", field="cursor")
    return int(cursor)


class AppBase:
    """The platform an action works through, and the checks every action makes on its caller."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._callers: dict[str, Caller] = {}
        self._callers_lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        """The settings the application was built from."""
        return self.platform.settings

    def close(self) -> None:
        """Release what the application opened (CRM sessions, database connections)."""
        self.platform.close()

    # -- identity ------------------------------------------------------------------------------------------

    def authenticate(self, token: str | None, channel: str = "api") -> Caller:
        """The caller a bearer token names (``REVLOOPS_API_TOKENS``), as the CRM user it maps to.

        The token's ``user`` is a CRM user id, username or e-mail; it is looked up once per token.

        Raises:
            Unauthenticated: no token, or one no setting names.
        """
        if not token:
            raise Unauthenticated("missing bearer token")
        key = f"{channel}:{token}"
        known = self._callers.get(key)
        if known is not None:
            return known
        presented = token.encode()
        for tok in self.settings.api_tokens:
            if hmac.compare_digest(tok.token.get_secret_value().encode(), presented):
                caller = Caller(user_id=self._crm_user_id(tok.user), tier=tok.tier, name=tok.user, channel=channel)
                with self._callers_lock:
                    self._callers[key] = caller
                return caller
        raise Unauthenticated("invalid bearer token")

    def _crm_user_id(self, user: str) -> str | None:
        if user.startswith("005") and len(user) in (15, 18):
            return user
        for field in ("Username", "Email"):
            found = self.platform.crm.find_one(Query("User").where(field, "eq", user))
            if found is not None:
                return found.Id
        return None

    @staticmethod
    def require(caller: Caller, tier: Tier) -> None:
        """Refuse a caller below ``tier``.

        Raises:
            Forbidden: the caller's tier is too low.
        """
        if not caller.at_least(tier):
            raise Forbidden(f"this action needs the {tier} tier (the caller is {caller.tier})", needs=tier)

    # -- scope ---------------------------------------------------------------------------------------------

    def visible_owners(self, caller: Caller) -> frozenset[str] | None:
        """The owners whose records the caller sees: None for the whole org; a rep themselves; a manager
        themselves and their team, recursively through ``ManagerId``."""
        if caller.org_wide:
            return None
        if caller.user_id is None:
            return frozenset()
        if caller.tier == "rep":
            return frozenset({caller.user_id})
        reports: dict[str, list[str]] = {}
        for user in self.platform.crm.query_all(Query("User")):
            manager = getattr(user, "ManagerId", None)
            if manager and user.Id:
                reports.setdefault(manager, []).append(user.Id)
        team, frontier = {caller.user_id}, [caller.user_id]
        while frontier:
            frontier = [u for m in frontier for u in reports.get(m, ()) if u not in team]
            team.update(frontier)
        return frozenset(team)

    def can_see(self, caller: Caller, record_id: str, owners: frozenset[str] | None = None) -> bool:
        """Whether the record exists for this caller: in the CRM and owned within the caller's scope (the whole
        org sees every record id, stored or not)."""
        if caller.org_wide:
            return True
        owners = self.visible_owners(caller) if owners is None else owners
        sobject = object_of(record_id)
        if sobject is None:
            return False
        try:
            record = self.platform.crm.get(sobject, record_id)
        except NotFound:
            return False
        return owners is None or getattr(record, "OwnerId", None) in owners

    def in_scope(self, caller: Caller, record_ids: Iterable[str]) -> set[str]:
        """The ids among ``record_ids`` the caller may see."""
        if caller.org_wide:
            return set(record_ids)
        owners = self.visible_owners(caller)
        return {rid for rid in record_ids if self.can_see(caller, rid, owners)}
