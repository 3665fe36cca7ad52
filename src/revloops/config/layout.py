"""The config directory's layout: which file each loop owns, its model, and the cross-file checks.

Each loop declares its files and checks in its own ``config.py``; this module only gathers them, so adding
a loop's file is one line here.
"""

from __future__ import annotations

from revloops.config import compiled as _compiled
from revloops.config.loader import Check, ConfigFileSpec
from revloops.loops.coach import config as _coach
from revloops.loops.deploy import cases as _deploy_cases
from revloops.loops.deploy import config as _deploy
from revloops.loops.design import checks as _design_checks
from revloops.loops.design import config as _design
from revloops.loops.engage import cases as _engage_cases
from revloops.loops.engage import config as _engage
from revloops.loops.expand import cases as _expand_cases
from revloops.loops.expand import config as _expand
from revloops.loops.generate import config as _generate
from revloops.loops.onboard import config as _onboard
from revloops.loops.pursue import cases as _pursue_cases
from revloops.loops.pursue import config as _pursue
from revloops.loops.qualify import cases as _qualify_cases
from revloops.loops.qualify.config import ScoringFile as _ScoringFile
from revloops.loops.route import cases as _route_cases
from revloops.loops.route import config as _route

FILES: list[ConfigFileSpec] = [
    *_design.FILES,
    *_route.FILES,
    *_deploy.FILES,
    *_route_cases.FILES,
    ConfigFileSpec("scoring", "qualify/scoring.yaml", _ScoringFile, loop="qualify"),
    *_engage.FILES,
    *_generate.FILES,
    *_pursue.FILES,
    *_onboard.FILES,
    *_expand.FILES,
    *_coach.FILES,
]
CHECKS: list[Check] = [
    *_compiled.CHECKS,
    *_design_checks.CHECKS,
    *_route.CHECKS,
    *_deploy.CHECKS,
    *_route_cases.CHECKS,
    *_engage.CHECKS,
    *_generate.CHECKS,
    *_pursue.CHECKS,
    *_onboard.CHECKS,
    *_expand.CHECKS,
    *_coach.CHECKS,
    # the cases of config/tests/*.yaml against the files of the loops they test
    *_qualify_cases.CHECKS,
    *_deploy_cases.CHECKS,
    *_engage_cases.CHECKS,
    *_pursue_cases.CHECKS,
    *_expand_cases.CHECKS,
]
