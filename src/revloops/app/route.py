"""Route's actions: resolve one record live, preview many through the batch path, diff against a proposed
rules file or another revision of the config (the config's test cases run in ``config_actions``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl

from revloops.app.base import AppBase, page_offset
from revloops.config.loader import GtmConfig, with_file
from revloops.config.revision import load_config_at
from revloops.config.yamlfile import YamlDoc, load_yaml
from revloops.core.decisions import Decision
from revloops.core.errors import ConfigErrors, InputError, InputErrors
from revloops.core.identity import Caller
from revloops.core.inputs import check_plain, check_record_id
from revloops.core.model import Frozen
from revloops.core.records import SObject, parse_record
from revloops.dataio import parse_records
from revloops.loops.route import flow
from revloops.loops.route.types import Move, Preview, summarise
from revloops.ports.crm import Query

RoutedObject = Literal["Lead", "Account", "Contact", "Opportunity"]
MAX_INLINE = 50_000
MAX_MOVES_PAGE = 500  # moves one page of a preview answers


class RecordSource(Frozen):
    """Where a batch of records comes from: inline (Salesforce field names), a CSV/JSONL file, or the CRM."""

    sobject: RoutedObject = "Lead"
    records: list[dict[str, Any]] | None = None
    file: Path | None = None
    from_crm: bool = False
    limit: int | None = None


class Proposal(Frozen):
    """The other side of a diff: a proposed rules file (a path, or its content as JSON) or a git revision."""

    rules_file: Path | None = None
    rules: dict[str, Any] | None = None
    against: str | None = None


class PreviewResult(Frozen):
    """The distribution of the records; with a proposal every record that would move (old side: the current
    config, or the revision of ``against`` as ``git diff`` reads it; new side: the proposal, or the working
    tree), the summary, how many only rotated, and how many a daily cap pushed past their rule on each side."""

    records: int
    preview: Preview
    old: str | None = None
    new: str | None = None
    moves: list[Move] | None = None
    moves_total: int | None = None
    next_cursor: str | None = None
    summary: dict[str, dict[str, int]] | None = None
    rotation: int | None = None
    capped_old: int | None = None
    capped_new: int | None = None


def _yaml_field(message: str) -> str:
    """The field a proposed file's problem names (``rules[0](id=x).action.type: ...`` → ``rules.rules[0]...``)."""
    head, sep, _ = message.partition(": ")
    return f"rules.{head}" if sep and " " not in head else "rules"


class RouteActions(AppBase):
    """Routing: live, simulated and compared."""

    def resolve_route(self, caller: Caller, *, sobject: RoutedObject = "Lead",
                      record: Mapping[str, Any] | None = None, record_id: str | None = None,
                      dry_run: bool = True) -> Decision:
        """Route one record with its full trace; without ``dry_run`` write the owner and store the decision (the
        stored record is routed, whatever else an inline record carries; a failed write takes no round-robin
        slot). A dry run's decision has no id: it is not stored.

        Raises:
            Forbidden: below the ops tier.
            InputError: neither or both of ``record`` and ``record_id``, or a bad field.
            NotFound: ``record_id`` is not in the CRM.
        """
        self.require(caller, "ops")
        if (record is None) == (record_id is None):
            raise InputError("give exactly one of record or record_id", field="record")
        if record_id is not None:
            check_record_id(record_id, sobject=sobject)
        if not dry_run and record is not None:
            # an apply routes what the CRM holds: owners are never decided on fields the caller made up
            stored = record.get("Id")
            if not isinstance(stored, str) or not stored:
                raise InputError("apply needs a saved record: give its Id (or record_id)", field="record.Id")
            record, record_id = None, stored
        return flow.resolve(self.platform, sobject=sobject, record=record, record_id=record_id, apply=not dry_run,
                            actor=caller.actor)

    def records_of(self, source: RecordSource) -> list[SObject]:
        """The records a batch action works on, each checked (a bad one names its place)."""
        if sum((source.records is not None, source.file is not None, source.from_crm)) != 1:
            raise InputError("give records, a file or from_crm", field="records")
        if source.records is not None:
            if len(source.records) > MAX_INLINE:
                raise InputError(f"at most {MAX_INLINE} records inline", field="records")
            out = [parse_record(source.sobject, rec, f"records.{i}") for i, rec in enumerate(source.records)]
        elif source.file is not None:
            out = parse_records(source.file, source.sobject)
        else:
            out = []
            for rec in self.platform.crm.query_all(Query(source.sobject)):
                out.append(rec)
                if source.limit is not None and len(out) >= source.limit:
                    break
        return out[: source.limit] if source.limit is not None else out

    def batch_of(self, source: RecordSource) -> flow.Records:
        """The records a batch action routes: inline or file records checked one by one, or the CRM's stored
        records read as columns, chunk by chunk (no record object per row)."""
        if source.from_crm and source.records is None and source.file is None:
            crm, sobject, limit = self.platform.crm, source.sobject, source.limit

            def read(columns: Sequence[str]) -> Iterator[pl.DataFrame]:
                return crm.read_columns(sobject, columns, limit=limit, created_order=True)

            return read
        return self.records_of(source)

    def proposed_config(self, proposal: Proposal) -> GtmConfig | None:
        """The config on the other side of a diff, checked like the config directory itself: schema and every
        cross-file check (a proposed rules file with an ``assign`` action is refused, with every problem).

        Raises:
            ConfigErrors: a proposed file's problems with their lines.
            InputErrors: problems of proposed rules given as JSON, each naming its field.
        """
        given = sum(x is not None for x in (proposal.rules_file, proposal.rules, proposal.against))
        if given > 1:
            raise InputError("give one of a rules file, rules or a revision", field="rules")
        if proposal.against is not None:
            return load_config_at(self.platform.config.root, proposal.against)
        if proposal.rules_file is not None:
            return with_file(self.platform.config, "rules", load_yaml(proposal.rules_file, str(proposal.rules_file)))
        if proposal.rules is not None:
            check_plain(proposal.rules, "rules")
            try:
                return with_file(self.platform.config, "rules", YamlDoc("rules", proposal.rules, {}))
            except ConfigErrors as exc:
                raise InputErrors([InputError(e.message, field=_yaml_field(e.message)) for e in exc.errors],
                                  source="the proposed rules") from None
        return None

    def preview_routing(self, caller: Caller, source: RecordSource, proposal: Proposal | None = None,
                        today: dt.date | None = None, caps: bool = True, moves_limit: int | None = None,
                        cursor: str | None = None) -> PreviewResult:
        """Owner distribution of many records through the batch path (nothing written; round robin simulated
        from the current state; daily caps per day the records were created, none with ``caps=False``); with a
        proposal, every record whose rule, action or owner would change (``moves_limit`` of them from
        ``cursor`` when given, with their total and the next cursor; the summary counts them all).

        Raises:
            Forbidden: below the ops tier.
        """
        self.require(caller, "ops")
        other = self.proposed_config(proposal) if proposal is not None else None
        records = self.batch_of(source)
        if other is None or proposal is None:
            result = flow.preview(self.platform, records, sobject=source.sobject, today=today, caps=caps)
            return PreviewResult(records=result.total, preview=result)
        current = self.platform.config.version
        if proposal.against is not None:  # like git diff REV: the revision is the old side
            old_cfg, new_cfg, old, new = other, None, proposal.against, f"working tree ({current[:12]})"
        else:
            old_cfg, new_cfg, old, new = None, other, f"current ({current[:12]})", "proposed rules"
        found, result = flow.compare(self.platform, records, before_cfg=old_cfg, after_cfg=new_cfg,
                                     sobject=source.sobject, today=today, caps=caps)
        moves, nxt = found.moves, None
        if moves_limit is not None:
            if not 1 <= moves_limit <= MAX_MOVES_PAGE:
                raise InputError(f"moves_limit must be between 1 and {MAX_MOVES_PAGE}", field="moves_limit")
            start = page_offset(cursor)
            moves = found.moves[start:start + moves_limit]
            nxt = str(start + len(moves)) if start + len(moves) < len(found.moves) else None
        return PreviewResult(records=result.total, preview=result, old=old, new=new, moves=moves,
                             moves_total=len(found.moves), next_cursor=nxt,
                             summary=summarise(found.moves), rotation=found.rotation,
                             capped_old=found.capped_before, capped_new=found.capped_after)
