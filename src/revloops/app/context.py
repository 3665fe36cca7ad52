"""``Revloops``: the one application object every interface calls (the CLI, the API, the MCP server, the demo).

Built from settings, it holds the wired ports and the config; each user action is one method with typed
arguments and the caller, one dry-run convention (``dry_run: bool``, true by default for bulk writes), and a
frozen model as its answer. Tier checks and data scope are applied here, once.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from revloops.app.briefs import BriefActions
from revloops.app.config_actions import ConfigActions
from revloops.app.crm import CrmActions
from revloops.app.deploy import DeployActions
from revloops.app.design import DesignActions
from revloops.app.engine import EngineActions
from revloops.app.maintenance import MaintenanceActions
from revloops.app.plan import PlanActions
from revloops.app.qualify import QualifyActions
from revloops.app.records import RecordActions
from revloops.app.retention import RetentionActions
from revloops.app.route import RouteActions
from revloops.app.signals import SignalActions
from revloops.app.warehouse import WarehouseActions
from revloops.bootstrap import Platform, build


class Revloops(RecordActions, RouteActions, QualifyActions, DesignActions, DeployActions, CrmActions,
               ConfigActions, EngineActions, MaintenanceActions, RetentionActions, SignalActions,
               WarehouseActions, BriefActions, PlanActions):
    """Every user action, grouped by loop in the mixins; see each group for its actions."""

    def __enter__(self) -> Revloops:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def open_app(config: Path | None = None, db: str | None = None, **overrides: object) -> Revloops:
    """The application from the environment (``REVLOOPS_*``), explicit options winning."""
    return Revloops(build(config=config, db=db, **overrides))


def app_on(platform: Platform) -> Revloops:
    """The application over an already wired platform (tests, the engine's processes)."""
    return Revloops(platform)
