"""The example org's routing cases hold against its rules, pools, assignments and match rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from revloops.config.loader import load_config
from revloops.config.yamlfile import load_yaml
from revloops.core.rules import compile_rules
from revloops.loops.route.logic import Directory, Queue, RouteHandlers, User

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
QUEUES = ["Inbound_Triage", "Partner_Leads", "Disqualified"]


def test_example_routing_cases() -> None:
    cfg = load_config(CONFIG)
    names = {a.user for a in cfg.get("assignments").assignments}
    names |= {m.user for p in cfg.get("pools").pools for m in p.members}
    # ids are the usernames here so the cases can name owners the way people read them
    directory = Directory([User(n, n) for n in sorted(names)], [Queue(q, q) for q in QUEUES])
    cases = load_yaml(CONFIG / "tests" / "routing.yaml", "routing.yaml").data["cases"]
    rules = compile_rules(cfg.get("rules"), "Lead")
    match = compile_rules(cfg.get("match_rules"))
    for case in cases:
        handlers = RouteHandlers(directory, pools=cfg.get("pools"), assignments=cfg.get("assignments"),
                                 territory_rules=match, today=date(2026, 3, 2))
        out = rules.evaluate(case["record"], handlers)
        assert (out.owner_id, out.rule_id) == (case["expect"]["owner"], case["expect"]["rule_id"]), (
            case["name"], out.explanation)
