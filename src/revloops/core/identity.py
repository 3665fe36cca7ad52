"""Who is asking: every action of the application layer takes a ``Caller``, and its tier decides what the caller
may do and see.

Tiers nest (eng ⊃ ops ⊃ leadership ⊃ manager ⊃ rep). Data scope: a rep sees the records they own, a manager
their team (users whose manager is the caller, recursively through ``ManagerId``), leadership, ops and eng the
whole org. Scope is applied inside the application layer, never in an interface.
"""

from __future__ import annotations

from typing import Literal

from revloops.core.model import Frozen

Tier = Literal["rep", "manager", "leadership", "ops", "eng"]
TIERS: tuple[Tier, ...] = ("rep", "manager", "leadership", "ops", "eng")
#: the tiers whose data scope is the whole org
ORG_WIDE: frozenset[Tier] = frozenset({"leadership", "ops", "eng"})


class Caller(Frozen):
    """A caller: the CRM user it acts as, its tier, and the channel it came through.

    Attributes:
        user_id: the CRM user's id (``005...``); None for a local operator (the CLI), who is not a CRM user.
        tier: rep | manager | leadership | ops | eng.
        name: who to credit in the decision log (a username or e-mail; the OS user for the CLI).
        channel: cli | api | mcp | workflow.
    """

    user_id: str | None = None
    tier: Tier = "rep"
    name: str = ""
    channel: str = "api"

    def at_least(self, tier: Tier) -> bool:
        """Whether this caller's tier includes ``tier``."""
        return TIERS.index(self.tier) >= TIERS.index(tier)

    @property
    def org_wide(self) -> bool:
        """Whether this caller sees the whole org."""
        return self.tier in ORG_WIDE

    @property
    def actor(self) -> str:
        """How the decision log names who asked: ``<channel>:<name>``, or the name alone when the caller came
        through no channel of ours (someone named with ``--by``)."""
        who = self.name or self.user_id or "unknown"
        return f"{self.channel}:{who}" if self.channel else who

    @classmethod
    def operator(cls, name: str = "", channel: str = "cli") -> Caller:
        """The local operator: someone with the state database in hand sees and may do everything."""
        return cls(user_id=None, tier="eng", name=name, channel=channel)
