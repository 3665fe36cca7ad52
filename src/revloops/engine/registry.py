"""How a loop declares its durable workflows and steps, and starts them exactly once per key.

A workflow holds control flow only; every call that touches the CRM, a provider, an LLM, the clock or
randomness is a step with its retries declared on it. Runs are keyed: the same key (``lead-00Q...``)
always names the same run, so a duplicate event returns the existing run instead of starting another.

    @workflow("lead.chain")
    def chain(lead_id: str) -> str:
        enriched = enrich_step(lead_id)
        ...

    @step(attempts=5, interval=2.0)
    def enrich_step(lead_id: str) -> dict: ...

    start_once(run_key("lead", lead_id), chain, lead_id)
    enqueue_once("chain", run_key("lead", lead_id), chain, lead_id)

A loop reacts to an inbox event by naming the run it starts; the dispatcher (``chains/dispatch.py``) hands
each pending event to the reaction registered for its type, so a new reaction never touches it:

    @reacts_to("lead.created", queue="chain")
    def on_lead_created(event: CrmEvent) -> Run:
        return Run(chain, run_key("lead", event.record_id), (event.record_id, event.id))

Workflow modules are found, not listed: every module of the ``revloops.chains`` package is imported before
launch (``modules=`` / ``--module`` add more), and the code version digests their source.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from dbos import DBOS, DBOSClient, EnqueueOptions, SetEnqueueOptions, SetWorkflowID, WorkflowHandle

from revloops import __version__
from revloops.core.errors import AdapterError, InputError, RevloopsError
from revloops.core.events import CrmEvent

P = ParamSpec("P")
R = TypeVar("R")

# The package whose every module declares workflows: each engine process imports them all before launch, so
# that any worker can run any queued workflow and all processes agree on the code version.
WORKFLOW_PACKAGE = "revloops.chains"

_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_.:@-]+")
_names: dict[Callable[..., Any], str] = {}


@dataclass(frozen=True)
class Schedule:
    """A workflow fired on a cron schedule; each tick has a fixed id, so many workers run it once."""

    name: str
    cron: str
    fn: Callable[[datetime, Any], None]
    #: whether the schedule runs with these settings (a disabled one is removed at launch)
    enabled: Callable[[Any], bool] = lambda _settings: True


SCHEDULES: dict[str, Schedule] = {}

#: Work every engine process does about once a second outside any workflow (e.g. starting runs for events
#: that landed in the inbox). A tick must be idempotent: several workers run it.
TICKS: dict[str, Callable[[Any], object]] = {}


def tick(name: str) -> Callable[[Callable[[Any], object]], Callable[[Any], object]]:
    """Declare a function ``fn(platform)`` every engine process calls about once a second."""

    def decorate(fn: Callable[[Any], object]) -> Callable[[Any], object]:
        TICKS[name] = fn
        return fn

    return decorate


@dataclass(frozen=True)
class Run:
    """The run a reaction starts: a declared workflow, its key (the run's id) and its arguments (plain data)."""

    workflow: Callable[..., Any]
    key: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Reaction:
    """What the dispatcher does with a pending inbox event of one type: ``react(event)`` answers the run to
    put on ``queue`` (None: nothing to start, the event is skipped)."""

    event_type: str
    queue: str
    react: Callable[[CrmEvent], Run | None]


#: The reaction to each event type, registered by the modules that declare them (one per type: the inbox
#: points an event at one run).
REACTIONS: dict[str, Reaction] = {}

Reacts = TypeVar("Reacts", bound=Callable[[CrmEvent], Run | None])


def reacts_to(event_type: str, *, queue: str = "chain") -> Callable[[Reacts], Reacts]:
    """Declare ``fn(event) -> Run | None`` as the reaction to inbox events of ``event_type``.

    The run must finish its events (``chains.dispatch.finish_step``). Several events naming one key get one
    run. A second reaction to the same type is an error at import: the inbox points an event at one run.

    Args:
        event_type: the event's type, e.g. ``"lead.created"``.
        queue: the queue the run is put on.
    """

    def decorate(fn: Reacts) -> Reacts:
        known = REACTIONS.get(event_type)
        if known is not None and _qualified(known.react) != _qualified(fn):
            raise InputError(f"{event_type} already has a reaction ({_qualified(known.react)}); "
                             f"{_qualified(fn)} cannot react to it too", field="event_type")
        REACTIONS[event_type] = Reaction(event_type, queue, fn)
        return fn

    return decorate


def _qualified(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}"


@functools.cache
def workflow_modules() -> tuple[str, ...]:
    """Every module of the workflow package (subpackages included), in name order; nothing is imported but
    the package and its subpackages."""
    package = importlib.import_module(WORKFLOW_PACKAGE)
    return tuple(sorted(m.name for m in pkgutil.walk_packages(package.__path__, f"{WORKFLOW_PACKAGE}.")))


def load_workflow_modules(extra: tuple[str, ...] = ()) -> None:
    """Import every workflow module, then ``extra`` ones (tests, plugins); idempotent."""
    for name in (*workflow_modules(), *extra):
        importlib.import_module(name)


@functools.cache
def code_version() -> str:
    """The engine's application version: our version plus a digest of the workflow modules' source.

    Every process computes the same value from the same installed code, whatever else it imported (extra
    modules are not digested), so workers and enqueuers agree (DBOS only dequeues and recovers work of its
    own version).
    """
    digest = hashlib.sha256(__version__.encode())
    for name in workflow_modules():
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and Path(spec.origin).is_file():
            digest.update(Path(spec.origin).read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def run_key(kind: str, key: str) -> str:
    """A deterministic workflow id from a kind and a business key (``run_key("lead", "00Q1")``)."""
    if not kind or not key:
        raise InputError("a workflow key needs a kind and a non-empty key", field="key")
    return f"{kind}-{_KEY_UNSAFE.sub('_', key)}"


#: errors of the code itself: retrying runs the same code on the same input and fails the same way
PROGRAMMING_ERRORS: tuple[type[BaseException], ...] = (
    SyntaxError, TypeError, AttributeError, NameError, LookupError, ValueError, AssertionError, RecursionError,
    ImportError, ArithmeticError, NotImplementedError,
)


def is_transient(exc: BaseException) -> bool:
    """Whether a step should retry after ``exc``: upstream hiccups and a busy database yes; refusals, bad input
    and programming errors no (they park the run at once, with the error, for ``revloops retry`` after a fix)."""
    if isinstance(exc, AdapterError):
        return bool(exc.retryable)
    return not isinstance(exc, (RevloopsError, *PROGRAMMING_ERRORS))


def workflow(name: str, *, max_recoveries: int = 50) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a durable workflow under a stable name (queued runs are found by that name).

    Args:
        name: the registered name, e.g. ``"lead.chain"``; keep it stable across releases.
        max_recoveries: how many crash recoveries before the run is parked as failed.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        wrapped = DBOS.workflow(name=name, max_recovery_attempts=max_recoveries)(fn)
        _names[wrapped] = name
        return wrapped

    return decorate


def step(
    *,
    attempts: int = 3,
    interval: float = 1.0,
    backoff: float = 2.0,
    retry_if: Callable[[BaseException], bool] = is_transient,
    name: str | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a step: its result is checkpointed, so a recovered run does not repeat it.

    Args:
        attempts: total tries before the step raises ``DBOSMaxStepRetriesExceeded`` (1 = no retry).
        interval: seconds before the first retry.
        backoff: multiplier of the interval after each retry.
        retry_if: which errors are worth another try (default: transient ones only).
        name: the checkpoint name (default the function's qualified name).
    """
    return DBOS.step(
        name=name,
        retries_allowed=attempts > 1,
        max_attempts=max(1, attempts),
        interval_seconds=interval,
        backoff_rate=backoff,
        should_retry=retry_if,
    )


def scheduled(
    name: str, cron: str, enabled: Callable[[Any], bool] | None = None
) -> Callable[[Callable[[datetime, Any], None]], Callable[[datetime, Any], None]]:
    """Declare a workflow ``fn(scheduled_at, context)`` fired on ``cron`` (seconds first is allowed).

    Workers apply every enabled schedule at start (create-or-replace, safe on every start) and remove the
    disabled ones. ``enabled(settings)`` decides; always on when omitted.
    """

    def decorate(fn: Callable[[datetime, Any], None]) -> Callable[[datetime, Any], None]:
        wrapped = workflow(f"schedule.{name}")(fn)
        SCHEDULES[name] = Schedule(name, cron, wrapped, enabled or (lambda _settings: True))
        return wrapped

    return decorate


def workflow_name(fn: Callable[..., Any]) -> str:
    """The registered name of a workflow declared with :func:`workflow`."""
    try:
        return _names[fn]
    except KeyError:
        raise InputError(f"{getattr(fn, '__name__', fn)!r} is not a declared workflow", field="workflow") from None


def start_once(key: str, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> WorkflowHandle[R]:
    """Start ``fn`` in the background under id ``key``, or return the run that already has it."""
    with SetWorkflowID(key):
        return DBOS.start_workflow(fn, *args, **kwargs)


def run_once(key: str, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``fn`` under id ``key`` and return its result; a finished run returns its recorded result."""
    return start_once(key, fn, *args, **kwargs).get_result()


def enqueue_once(queue: str, key: str, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> WorkflowHandle[R]:
    """Put ``fn`` on a named queue under id ``key``; a duplicate returns the run already queued or done."""
    from revloops.engine.queues import get_queue

    with SetWorkflowID(key), SetEnqueueOptions(deduplication_id=key, duplication_policy="return-existing"):
        return get_queue(queue).enqueue(fn, *args, **kwargs)


def submit(client: DBOSClient, queue: str, key: str, name: str, *args: Any) -> WorkflowHandle[Any]:
    """Enqueue a workflow by name from a process that does not run the engine (API server, tests)."""
    options: EnqueueOptions = {
        "queue_name": queue,
        "workflow_name": name,
        "workflow_id": key,
        "deduplication_id": key,
        "duplication_policy": "return-existing",
        "app_version": code_version(),
    }
    return client.enqueue(options, *args)
