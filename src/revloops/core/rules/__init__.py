"""The rule engine shared by every loop: conditions parsed at load, compiled once, evaluated on one
record (with a trace) or on a frame of records (vectorised), with one semantics."""

from revloops.core.rules.conditions import AllOf, AnyOf, Condition, Leaf, NotOf
from revloops.core.rules.engine import (
    UNROUTED,
    BatchResolver,
    CompiledRules,
    HandlerResult,
    Resolver,
    RuleOutcome,
    compile_rules,
)
from revloops.core.rules.schema import Action, Rule, RulesFile
from revloops.core.rules.trace import ConditionTrace, HandlerTrace, RuleStep
from revloops.core.rules.values import flatten

__all__ = [
    "UNROUTED", "Action", "AllOf", "AnyOf", "BatchResolver", "CompiledRules", "Condition", "ConditionTrace",
    "HandlerResult", "HandlerTrace", "Leaf", "NotOf", "Resolver", "Rule", "RuleOutcome", "RuleStep",
    "RulesFile", "compile_rules", "flatten",
]
