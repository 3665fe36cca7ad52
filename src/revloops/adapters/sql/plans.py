"""The plan store on the state database: ``plan_instances`` and ``plan_milestones``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from revloops.adapters.sql.fast import fast_sql
from revloops.adapters.sql.tables import plan_instances as pi
from revloops.adapters.sql.tables import plan_milestones as pm
from revloops.ports.plans import PlanInstance, PlanStore, StoredMilestone


def _instance(row: Mapping[str, Any]) -> PlanInstance:
    created = row["created_at"]
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return PlanInstance(id=row["id"], loop=row["loop"], play_id=row["play_id"], sobject=row["sobject"],
                        record_id=row["record_id"], account_id=row["account_id"], started_on=row["started_on"],
                        status=row["status"], outcome=row["outcome"], facts=row["facts"] or {},
                        config_version=row["config_version"], created_at=created)


def _milestone(row: Mapping[str, Any]) -> StoredMilestone:
    return StoredMilestone(instance_id=row["instance_id"], milestone_id=row["milestone_id"], status=row["status"],
                           owner_id=row["owner_id"], due=row["due"], completed_on=row["completed_on"],
                           task_id=row["task_id"])


def _insert_new(dialect: str) -> sa.Insert:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(pi).on_conflict_do_nothing(index_elements=["id"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(pi).on_conflict_do_nothing(index_elements=["id"])


def _upsert_milestone(dialect: str) -> sa.Insert:
    cols = ("status", "owner_id", "due", "completed_on", "task_id", "updated_at")
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        ins = pg_insert(pm)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        ins = sqlite_insert(pm)  # type: ignore[assignment]
    return ins.on_conflict_do_update(index_elements=["instance_id", "milestone_id"],
                                     set_={c: getattr(ins.excluded, c) for c in cols})


class SqlPlanStore(PlanStore):
    """Plans on the state database; writes join the platform's unit of work."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.sql = fast_sql(engine)

    def start(self, instance: PlanInstance) -> tuple[PlanInstance, bool]:
        """See ``PlanStore.start``."""
        now = dt.datetime.now(dt.UTC)
        values = dict(id=instance.id, loop=instance.loop, play_id=instance.play_id, sobject=instance.sobject,
                      record_id=instance.record_id, account_id=instance.account_id, started_on=instance.started_on,
                      status=instance.status, outcome=dict(instance.outcome) if instance.outcome else None,
                      facts=dict(instance.facts), config_version=instance.config_version, created_at=now,
                      updated_at=now)
        dialect = self.engine.dialect.name
        with self.sql.unit(write=True) as unit:
            written = unit.execute(self.sql.prepare("plans.insert_new", lambda: _insert_new(dialect)), values)
            row = unit.first(self.sql.prepare("plans.get", lambda: sa.select(pi).where(pi.c.id == sa.bindparam("id"))),
                             {"id": instance.id})
        assert row is not None
        return _instance(row), bool(written)

    def get(self, instance_id: str) -> PlanInstance | None:
        """See ``PlanStore.get``."""
        with self.sql.unit() as unit:
            row = unit.first(self.sql.prepare("plans.get", lambda: sa.select(pi).where(pi.c.id == sa.bindparam("id"))),
                             {"id": instance_id})
        return None if row is None else _instance(row)

    def instances(self, *, loop: str | None = None, record_id: str | None = None,
                  account_id: str | None = None, status: str | None = None, play_id: str | None = None,
                  limit: int | None = None) -> list[PlanInstance]:
        """See ``PlanStore.instances``."""
        stmt = sa.select(pi).order_by(pi.c.created_at, pi.c.id)
        for col, value in ((pi.c.loop, loop), (pi.c.record_id, record_id), (pi.c.account_id, account_id),
                           (pi.c.status, status), (pi.c.play_id, play_id)):
            if value is not None:
                stmt = stmt.where(col == value)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            return [_instance(dict(r._mapping)) for r in conn.execute(stmt)]

    def milestones(self, instance_id: str) -> list[StoredMilestone]:
        """See ``PlanStore.milestones``."""
        build = lambda: sa.select(pm).where(pm.c.instance_id == sa.bindparam("iid"))  # noqa: E731
        with self.sql.unit() as unit:
            rows = unit.all(self.sql.prepare("plans.milestones", build), {"iid": instance_id})
        return [_milestone(r) for r in rows]

    def put_milestones(self, rows: Sequence[StoredMilestone]) -> None:
        """See ``PlanStore.put_milestones``."""
        if not rows:
            return
        now = dt.datetime.now(dt.UTC)
        dialect = self.engine.dialect.name
        values = [dict(instance_id=r.instance_id, milestone_id=r.milestone_id, status=r.status, owner_id=r.owner_id,
                       due=r.due, completed_on=r.completed_on, task_id=r.task_id, updated_at=now) for r in rows]
        with self.sql.unit(write=True) as unit:
            unit.execute_many(self.sql.prepare("plans.upsert_milestone", lambda: _upsert_milestone(dialect)), values)

    def by_task(self, task_id: str) -> StoredMilestone | None:
        """See ``PlanStore.by_task``."""
        build = lambda: sa.select(pm).where(pm.c.task_id == sa.bindparam("tid")).limit(1)  # noqa: E731
        with self.sql.unit() as unit:
            row = unit.first(self.sql.prepare("plans.by_task", build), {"tid": task_id})
        return None if row is None else _milestone(row)

    def close(self, instance_id: str, outcome: Mapping[str, Any]) -> None:
        """See ``PlanStore.close``."""
        stmt = (pi.update().where(pi.c.id == instance_id)
                .values(status="closed", outcome=dict(outcome), updated_at=dt.datetime.now(dt.UTC)))
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def open_milestones(self, *, owner_ids: Sequence[str] | None = None, limit: int = 100, offset: int = 0,
                        due_from: dt.date | None = None, due_before: dt.date | None = None,
                        ) -> tuple[list[tuple[PlanInstance, StoredMilestone]], int]:
        """See ``PlanStore.open_milestones``."""
        where = [pm.c.status == "open", pi.c.status == "active"]
        if owner_ids is not None:
            where.append(pm.c.owner_id.in_(list(owner_ids)))
        if due_from is not None:
            where.append(pm.c.due >= due_from)
        if due_before is not None:
            where.append(pm.c.due < due_before)
        joined = pm.join(pi, pi.c.id == pm.c.instance_id)
        stmt = (sa.select(pi, *[c.label(f"m_{c.key}") for c in pm.c]).select_from(joined).where(*where)
                .order_by(pm.c.due, pm.c.instance_id, pm.c.milestone_id).limit(limit).offset(offset))
        count = sa.select(sa.func.count()).select_from(joined).where(*where)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
            total = int(conn.execute(count).scalar_one())
        out = [(_instance(r), _milestone({k[2:]: v for k, v in r.items() if k.startswith("m_")})) for r in rows]
        return out, total
