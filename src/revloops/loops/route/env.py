"""What a routing call needs besides the record: compiled rules, the user directory, the account index,
the segments. Built once per config version and refreshed when the CRM's users or accounts may have moved."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from revloops.config.loader import GtmConfig
from revloops.core.context import build_context, head_count, segment_for
from revloops.core.matching import AccountIndex
from revloops.core.records import SObject, model_for
from revloops.core.rotation import Rotation
from revloops.core.rules import CompiledRules, compile_rules
from revloops.loops.route.logic import Directory, Queue, RouteHandlers, User
from revloops.ports.crm import CRM, Filter, Query

REFRESH_SECONDS = 60.0


def load_directory(crm: CRM) -> Directory:
    """Users and queues from the CRM, as routing sees them."""
    users = [
        User(id=u.Id or "", username=u.Username or "", email=u.Email or "",  # type: ignore[attr-defined]
             name=u.Name or " ".join(p for p in (u.FirstName, u.LastName) if p),  # type: ignore[attr-defined]
             active=bool(u.IsActive), role=u.Sales_Role__c or "")  # type: ignore[attr-defined]
        for u in crm.query_all(Query("User"))
    ]
    queues = [Queue(id=g.Id or "", developer_name=g.DeveloperName or "")  # type: ignore[attr-defined]
              for g in crm.query_all(Query("Group", (Filter("Type", "eq", "Queue"),)))]
    return Directory(users, queues)


def stored_accounts(crm: CRM) -> Iterator[dict[str, Any]]:
    """Every stored account's set fields (``SObject.fields()``), read as columns: no record object per account,
    which halves building a snapshot of a hundred thousand accounts."""
    for frame in crm.read_columns("Account", list(model_for("Account").model_fields)):
        for row in frame.iter_rows(named=True):
            yield {k: v for k, v in row.items() if v is not None}


@dataclass
class RouteEnv:
    """Compiled rules and the CRM snapshot routing reads; cheap to reuse across calls."""

    cfg: GtmConfig
    directory: Directory
    accounts: AccountIndex
    territory_rules: CompiledRules | None
    rules_file: Any
    built_at: float = field(default_factory=time.monotonic)
    _compiled: dict[str, CompiledRules] = field(default_factory=dict)
    #: account matches by (email, website, company): one lead is matched once per snapshot, not per loop
    _matches: dict[tuple[Any, Any, Any], Any] = field(default_factory=dict)

    @classmethod
    def load(cls, cfg: GtmConfig, crm: CRM, rules: Any | None = None) -> RouteEnv:
        """Build from a config (``rules`` overrides its rules.yaml, for previews of a proposed file)."""
        match = cfg.get("match_rules")
        return cls(cfg=cfg, directory=load_directory(crm), accounts=AccountIndex(stored_accounts(crm)),
                   territory_rules=compile_rules(match, "Account") if match is not None else None,
                   rules_file=rules if rules is not None else cfg.get("rules"))

    def with_config(self, cfg: GtmConfig, rules: Any | None = None) -> RouteEnv:
        """This snapshot's users and accounts under another config (a proposal, another revision)."""
        match = cfg.get("match_rules")
        return RouteEnv(cfg=cfg, directory=self.directory, accounts=self.accounts,
                        territory_rules=compile_rules(match, "Account") if match is not None else None,
                        rules_file=rules if rules is not None else cfg.get("rules"), built_at=self.built_at)

    def stale(self) -> bool:
        return time.monotonic() - self.built_at > REFRESH_SECONDS

    def compiled(self, sobject: str) -> CompiledRules:
        """The rules that apply to one object, compiled once."""
        if sobject not in self._compiled:
            self._compiled[sobject] = compile_rules(self.rules_file, sobject)
        return self._compiled[sobject]

    def handlers(self, rotation: Rotation | None = None, today: dt.date | None = None,
                 caps: bool = True, day_field: str | None = None) -> RouteHandlers:
        """The action handlers over this snapshot (an in-memory rotation unless a durable one is given)."""
        return RouteHandlers(self.directory, pools=self.cfg.get("pools"), assignments=self.cfg.get("assignments"),
                             territory_rules=self.territory_rules, rotation=rotation, today=today, caps=caps,
                             day_field=day_field)

    def context(self, record: SObject | Mapping[str, Any], sobject: str | None = None, *,
                enrichment: Mapping[str, Any] | None = None, score: Mapping[str, Any] | None = None,
                signal: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The flat evaluation context: record, geo, matched account, enrichment, score, segment, signal."""
        fields = record.fields() if isinstance(record, SObject) else dict(record)
        kind = sobject or (record.sobject_type if isinstance(record, SObject) else "Lead")
        account: dict[str, Any] | None = None
        how: str | None = None
        if kind == "Lead":
            key = (fields.get("Email"), fields.get("Website"), fields.get("Company"))
            if key not in self._matches:
                if len(self._matches) > 50_000:
                    self._matches.clear()
                self._matches[key] = self.accounts.match(email=key[0], website=key[1], company=key[2],
                                                         mode="domain_then_name")
            found = self._matches[key]
            if found is not None:
                account, how = dict(found.fields), found.how
        employees = fields.get("NumberOfEmployees")
        if employees is None and enrichment:
            company = enrichment.get("company") or {}
            employees = company.get("employee_count") if isinstance(company, Mapping) else None
        capacity = self.cfg.get("capacity")
        segment = segment_for(head_count(employees), capacity.segments) if capacity is not None else None
        ctx = build_context(fields, account=account, enrichment=enrichment, score=score, segment=segment,
                            signal=signal, sobject=kind)
        if how:
            ctx["account.match"] = how
        return ctx

