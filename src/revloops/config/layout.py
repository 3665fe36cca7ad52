"""The config directory's layout: which file each loop owns, its model, and the cross-file checks.

Each loop declares its files in its own ``config.py``; this module only gathers them, so adding a loop's
file is one line here.
"""

from __future__ import annotations

from revloops.config.loader import Check, ConfigFileSpec

FILES: list[ConfigFileSpec] = []
CHECKS: list[Check] = []

from revloops.loops.design import checks as _design_checks, config as _design_config  # noqa: E402

FILES += _design_config.FILES
CHECKS += _design_checks.CHECKS

from revloops.loops.route import config as _route_config  # noqa: E402
from revloops.loops.deploy import config as _deploy_config  # noqa: E402

FILES += _route_config.FILES + _deploy_config.FILES
CHECKS += _route_config.CHECKS + _deploy_config.CHECKS

from revloops.loops.route import cases as _route_cases  # noqa: E402

FILES += _route_cases.FILES
CHECKS += _route_cases.CHECKS

from revloops.loops.qualify.config import ScoringFile as _ScoringFile  # noqa: E402

FILES.append(ConfigFileSpec("scoring", "qualify/scoring.yaml", _ScoringFile, loop="qualify"))

from revloops.loops.engage import config as _engage_config  # noqa: E402

FILES += _engage_config.FILES
CHECKS += _engage_config.CHECKS
