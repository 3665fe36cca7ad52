"""Every model an action answers with, in one place: what the interfaces render and the MCP server returns.

The loops' own result models are re-exported here, so an interface never imports a loop.
"""

from revloops.app.base import Page
from revloops.app.briefs import (
    AccountBrief,
    AccountSummary,
    ContactRow,
    EmailDraft,
    EnrichResult,
    LeadBrief,
    OpportunityRow,
    OwnerChange,
    PlayRow,
    ReassignPlan,
    RepPipeline,
    RescorePlan,
    RoutingBrief,
    RuleRow,
    RulesReport,
    ScoreBrief,
    ScoreChange,
    SequenceBrief,
    SignalBrief,
    SlaState,
    StageTotal,
    SystemHealth,
    TaskDone,
    TeamPipeline,
)
from revloops.app.config_actions import ConfigFile, ConfigSummary, LoopInfo, SchemaFile, TestRun
from revloops.app.crm import (
    CrmCheck,
    EventsAccepted,
    InboxEvent,
    InboxView,
    LoadResult,
    PolledObject,
    SeedResult,
)
from revloops.app.deploy import (
    AppliedChange,
    AssignApplied,
    AssignResult,
    PendingAccount,
    PlannedChange,
    SyncApplied,
    SyncResult,
)
from revloops.app.design import ComparisonResult, DesignCheck, ScenarioRunResult
from revloops.app.engine import ChainRun, SpeedToOwner
from revloops.app.maintenance import (
    BackedUpDatabase,
    BackupManifest,
    BackupResult,
    RestoredDatabase,
    RestoreResult,
)
from revloops.app.qualify import ScoreResult
from revloops.app.records import LeadSummary
from revloops.app.retention import (
    BacktestResult,
    ConversionResult,
    Due,
    HealthDetail,
    HealthList,
    HealthRow,
    HealthWrite,
    NoPlay,
    OnboardingResult,
    PipelineRow,
    PlanMilestone,
    PlanResult,
    PlayRecord,
    RenewalRow,
    RenewalsResult,
    StageResult,
    TaskRow,
    TriggeredPlay,
    TriggeredResult,
)
from revloops.app.route import PreviewResult, Proposal, RecordSource, RoutedObject
from revloops.app.signals import (
    AccountScore,
    BudgetView,
    ScanRow,
    ScoreTerm,
    SignalMetrics,
    SignalRow,
    SignalSource,
    TargetEditResult,
    TargetRow,
    TickResult,
)
from revloops.app.warehouse import (
    CoachInsights,
    Digest,
    MetricAnswer,
    MetricInfo,
    MotionSuggestion,
    PublishResult,
    ReportResult,
    ScenarioSuggestion,
    SqlAnswer,
    TableLoad,
    TeamPerformance,
    WarehouseRefresh,
    WarehouseTable,
)
from revloops.core.decisions import Decision
from revloops.core.events import CrmEvent
from revloops.engine.retry import RetryResult
from revloops.engine.status import EngineStatus, StepFailure, WorkflowFailure
from revloops.loops.changeplan import ChangePlan
from revloops.loops.changeplan import Count as PlanCount
from revloops.loops.changeplan import Section as PlanSection
from revloops.loops.coach.insights import Insight, RepRow
from revloops.loops.deploy.coverage import Coverage, TerritoryCoverage
from revloops.loops.deploy.flow import Move as AccountMove
from revloops.loops.design.logic import Explanation
from revloops.loops.design.results import (
    Comparison,
    DeltaRow,
    GroupRow,
    PromoteResult,
    ScenarioRun,
    ScenarioSummary,
)
from revloops.loops.qualify.flow import EnrichmentOutcome
from revloops.loops.qualify.logic import Score, ScoreLine
from revloops.loops.route.cases import CaseResult, Kind
from revloops.loops.route.types import Move, Preview

__all__ = [
    "AccountMove", "AppliedChange", "AssignApplied", "AssignResult", "CaseResult", "ChainRun", "ChangePlan",
    "Comparison", "Due", "PlanCount", "PlanSection", "SlaState",
    "ComparisonResult", "ConfigFile", "ConfigSummary", "Coverage", "CrmCheck", "CrmEvent", "Decision", "DeltaRow",
    "DesignCheck", "EngineStatus", "EnrichmentOutcome", "EventsAccepted", "Explanation", "GroupRow", "InboxEvent",
    "InboxView", "Kind", "LeadSummary", "LoadResult", "LoopInfo", "Move", "Page", "PendingAccount", "PlannedChange",
    "PolledObject", "Preview", "PreviewResult", "PromoteResult", "Proposal", "RecordSource", "RetryResult",
    "RoutedObject", "ScenarioRun", "ScenarioRunResult", "ScenarioSummary", "SchemaFile", "Score", "ScoreLine",
    "ScoreResult", "SeedResult", "SpeedToOwner", "StepFailure", "SyncApplied", "SyncResult", "TerritoryCoverage",
    "TestRun", "WorkflowFailure",
    "BackedUpDatabase", "BackupManifest", "BackupResult", "RestoredDatabase", "RestoreResult",
    "BacktestResult", "HealthDetail", "HealthList", "HealthRow", "NoPlay", "OnboardingResult", "PlanMilestone",
    "PlanResult", "PlayRecord", "RenewalRow", "RenewalsResult", "StageResult", "TaskRow", "ConversionResult",
    "PipelineRow", "TriggeredPlay", "TriggeredResult", "HealthWrite",
    "AccountScore", "BudgetView", "ScanRow", "ScoreTerm", "SignalMetrics", "SignalRow", "SignalSource",
    "TargetEditResult", "TargetRow", "TickResult",
    "CoachInsights", "Digest", "Insight", "MetricAnswer", "MetricInfo", "MotionSuggestion", "PublishResult",
    "RepRow", "ReportResult", "ScenarioSuggestion", "SqlAnswer", "TableLoad", "TeamPerformance",
    "WarehouseRefresh", "WarehouseTable",
    "AccountBrief", "AccountSummary", "ContactRow", "EmailDraft", "EnrichResult", "LeadBrief", "OpportunityRow",
    "OwnerChange", "PlayRow", "ReassignPlan", "RepPipeline", "RescorePlan", "RoutingBrief", "RuleRow", "RulesReport",
    "ScoreBrief", "ScoreChange", "SequenceBrief", "SignalBrief", "StageTotal", "SystemHealth", "TaskDone",
    "TeamPipeline",
]
