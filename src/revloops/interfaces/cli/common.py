"""What every CLI command shares: the --config/--db/--json options, output, and the one error translator."""

from __future__ import annotations

import functools
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from revloops.app import Caller, Revloops, open_app
from revloops.core.decisions import canonical_json
from revloops.core.errors import ConfigErrors, InputErrors, RevloopsError, SettingsError, error_body

console = Console()
err_console = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", envvar="REVLOOPS_CONFIG", help="Config directory (default ./config).", show_default=False),
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", envvar="REVLOOPS_DB", help="State database URL (default a SQLite file under .revloops/).",
                 show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]

P = ParamSpec("P")
R = TypeVar("R")


_opened: list[Revloops] = []


def application(config: Path | None, db: str | None, **overrides: object) -> Revloops:
    """The application for one command (closed when the command ends, see ``handles_errors``)."""
    app = open_app(config=config, db=db, **overrides)
    _opened.append(app)
    return app


def operator(by: str | None = None) -> Caller:
    """The caller of a CLI command: the local operator, who may do everything; the decision log credits
    ``cli:<OS user>``, or exactly ``by`` when a command names who decides (``--by``)."""
    if by:
        return Caller.operator(by, channel="")
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = ""
    return Caller.operator(name)


def progress_bar() -> Progress:
    """The one progress bar style of the CLI (to stderr, so --json output stays clean)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)


def _close_opened() -> None:
    while _opened:
        _opened.pop().close()


def emit_json(value: Any) -> None:
    """Print a value as indented JSON (models dumped in JSON mode)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    typer.echo(json.dumps(json.loads(canonical_json(value)), indent=2, ensure_ascii=False))


def handles_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn our errors into a clear message on stderr (a JSON error object on stdout with ``--json``) and a
    non-zero exit: 2 for a setting that cannot be used, 1 for everything else; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        as_json = bool(kwargs.get("as_json") or kwargs.get("json"))
        try:
            return fn(*args, **kwargs)
        except RevloopsError as exc:
            status = 2 if isinstance(exc, SettingsError) else 1
            if as_json:
                typer.echo(json.dumps(error_body(exc), indent=2, ensure_ascii=False))
            elif isinstance(exc, ConfigErrors | InputErrors):
                err_console.print(f"[bold red]{exc.message}[/]")
                for e in exc.errors:
                    err_console.print(f"  {e}", markup=False, highlight=False, soft_wrap=True)
            else:
                err_console.print(f"[bold red]error[/] ({exc.code}): ", end="")
                err_console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(status) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)
        finally:
            _close_opened()

    return wrapper
