"""`revloops test`: every case of ``config/tests/*.yaml``, whatever its kind, run against the config alone.

Each kind's runner sits next to its loop (``loops/<loop>/cases.py``) and answers the same ``CaseResult``; this
module only picks the runner of each case, made once per run, and keeps the files' order.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from revloops.config.loader import GtmConfig
from revloops.loops.route.cases import CaseResult, CaseRunner, PlayCase
from revloops.loops.route.logic import Directory


def _runners(cfg: GtmConfig, directory: Directory | None) -> dict[str, Callable[[], CaseRunner]]:
    from revloops.loops.deploy.cases import assign_runner
    from revloops.loops.engage.cases import play_runner
    from revloops.loops.expand.cases import health_runner
    from revloops.loops.pursue.cases import deal_play_runner
    from revloops.loops.qualify.cases import score_runner
    from revloops.loops.route.testing_flow import route_runner

    return {"route": lambda: route_runner(cfg, directory), "score": lambda: score_runner(cfg),
            "assign": lambda: assign_runner(cfg), "play": lambda: play_runner(cfg),
            "play:pursue": lambda: deal_play_runner(cfg), "health": lambda: health_runner(cfg)}


def run_cases(cfg: GtmConfig, directory: Directory | None = None,
              kinds: Collection[str] | None = None) -> list[CaseResult]:
    """Every case of every ``tests/*.yaml`` file (files by name, cases in file order).

    Args:
        cfg: the config.
        directory: the users and queues route cases resolve owners against (the CRM's, as live routing does);
            without one, the active roster and the queues the rules name.
        kinds: only the cases of these kinds (all when None).
    """
    makers = _runners(cfg, directory)
    made: dict[str, CaseRunner] = {}
    results = []
    for name, file in sorted((cfg.get("tests") or {}).items()):
        for case in file.cases:
            if kinds is not None and case.kind not in kinds:
                continue
            key = "play:pursue" if isinstance(case, PlayCase) and case.loop == "pursue" else case.kind
            if key not in made:
                made[key] = makers[key]()
            results.append(made[key](f"tests/{name}.yaml", case))
    return results


def has_cases(cfg: GtmConfig, kind: str, kinds: Collection[str] | None = None) -> bool:
    """Whether a run with ``kinds`` runs any case of ``kind``."""
    if kinds is not None and kind not in kinds:
        return False
    return any(case.kind == kind for file in (cfg.get("tests") or {}).values() for case in file.cases)
