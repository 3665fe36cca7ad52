"""The error hierarchy. Only interfaces (API handler, CLI decorator, MCP wrapper) translate these.

RevloopsError                  root; every error has a stable ``code``
├── SettingsError              a REVLOOPS_* setting that cannot be used, naming it
├── ConfigError                one problem in the config directory, with ``location`` (file:line:col)
│   └── ConfigErrors           several ConfigError at once (the loader reports all problems together)
├── InputError                 bad input from a user: a file row, a payload field, a CLI argument
│   └── RecordRejected         a record a CRM refused (field and status code)
├── NotFound                   a record, decision or scenario that does not exist (or outside the caller's scope)
├── Unauthenticated            no caller could be established (a missing or unknown token)
├── Forbidden                  the caller's tier is below what the action needs
├── DomainError                a loop could not decide (e.g. NoEligibleOwner)
│   └── NoEligibleOwner        no active member could take the record
└── AdapterError               an external system failed
    ├── UpstreamUnavailable    transient (timeouts, 5xx, rate limits): ``retryable`` is True
    └── UpstreamRejected       the upstream refused the request; retrying will not help
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class RevloopsError(Exception):
    """Root of every error the product raises on purpose."""

    code = "revloops_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SettingsError(RevloopsError):
    """A ``REVLOOPS_*`` setting that cannot be used (wrong value, not JSON, a database URL we cannot open)."""

    code = "invalid_setting"

    def __init__(self, message: str, setting: str = "") -> None:
        super().__init__(f"{setting}: {message}" if setting else message)
        self.setting = setting


@dataclass(frozen=True, order=True)
class Location:
    """A place in a config file: 1-based line and column (0 when unknown)."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file


class ConfigError(RevloopsError):
    """One problem in the config directory."""

    code = "config_error"

    def __init__(self, message: str, location: Location | None = None, rule_id: str | None = None,
                 item_kind: str | None = None) -> None:
        super().__init__(message)
        self.location = location
        self.rule_id = rule_id
        self.item_kind = item_kind or "rule"

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        rule = f"[{self.item_kind} {self.rule_id}] " if self.rule_id else ""
        return f"{where}{rule}{self.message}"


class ConfigErrors(ConfigError):
    """All problems found in one load, sorted by file and line."""

    code = "config_invalid"

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors: list[ConfigError] = sorted(
            errors, key=lambda e: (e.location or Location(""), e.message)
        )
        super().__init__(f"{len(self.errors)} problem(s) in the config")

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class InputError(RevloopsError):
    """Bad input from a user, naming the field (and line) at fault."""

    code = "invalid_input"

    def __init__(self, message: str, field: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.line = line

    def __str__(self) -> str:
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field {self.field}")
        prefix = ", ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class InputErrors(InputError):
    """Several input problems found in one pass (e.g. every bad row of a file)."""

    def __init__(self, errors: Sequence[InputError], source: str = "input") -> None:
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} problem(s) in {source}")

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class RecordRejected(InputError):
    """A CRM refused one record (Salesforce-style status code, e.g. REQUIRED_FIELD_MISSING)."""

    code = "record_rejected"

    def __init__(self, message: str, status_code: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message, field=",".join(fields) or None)
        self.status_code = status_code
        self.fields = list(fields)


class NotFound(RevloopsError):
    """A record, decision or named thing that does not exist."""

    code = "not_found"


class Unauthenticated(RevloopsError):
    """No caller could be established: a missing, malformed or unknown token."""

    code = "unauthenticated"


class Forbidden(RevloopsError):
    """The caller's tier is below what the action needs."""

    code = "forbidden"

    def __init__(self, message: str, needs: str = "") -> None:
        super().__init__(message)
        self.needs = needs


class DomainError(RevloopsError):
    """A loop could not take its decision."""

    code = "domain_error"


class NoEligibleOwner(DomainError):
    """No active, available member could take the record."""

    code = "no_eligible_owner"


class AdapterError(RevloopsError):
    """An external system failed."""

    code = "adapter_error"
    retryable = False


class UpstreamUnavailable(AdapterError):
    """A transient failure: retry with backoff, then park."""

    code = "upstream_unavailable"
    retryable = True

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamRejected(AdapterError):
    """The upstream refused the request; retrying will not help."""

    code = "upstream_rejected"


def error_body(exc: RevloopsError) -> dict[str, object]:
    """The one shape of an error, the API's body and the CLI's ``--json`` alike: code, message, and the field,
    location or setting at fault, with every problem when there are several."""
    several = isinstance(exc, ConfigErrors | InputErrors)
    body: dict[str, object] = {"error": exc.code, "message": exc.message if several else str(exc)}
    if isinstance(exc, InputErrors):
        body["errors"] = [{"field": e.field, "line": e.line, "message": e.message} for e in exc.errors]
        body["field"] = next((e.field for e in exc.errors if e.field), None)
    elif isinstance(exc, ConfigErrors):
        body["errors"] = [{"location": str(e.location) if e.location else None, "message": e.message}
                          for e in exc.errors]
    elif isinstance(exc, InputError):
        body["field"], body["line"] = exc.field, exc.line
    elif isinstance(exc, ConfigError):
        body["location"] = str(exc.location) if exc.location else None
    elif isinstance(exc, SettingsError):
        body["setting"] = exc.setting
    return body
