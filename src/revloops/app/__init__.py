"""The application layer: one action per user intent, typed in, frozen model out, caller-scoped.

Interfaces import this package (``Revloops``, ``open_app``, the result models in ``revloops.app.models``),
``revloops.core`` models and ``revloops.settings``, and nothing else of ours.
"""

from revloops.app.base import Page
from revloops.app.context import Revloops, app_on, open_app
from revloops.core.identity import TIERS, Caller, Tier

__all__ = ["TIERS", "Caller", "Page", "Revloops", "Tier", "app_on", "open_app"]
