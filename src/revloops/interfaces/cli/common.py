"""What every CLI command shares: the --config/--db/--json options, output, and the one error translator."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from revloops.bootstrap import Platform, build
from revloops.core.decisions import canonical_json
from revloops.core.errors import ConfigErrors, InputErrors, RevloopsError

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


_opened: list[Platform] = []


def platform(config: Path | None, db: str | None) -> Platform:
    """The platform for one command (closed when the command ends, see ``handles_errors``)."""
    plat = build(config=config, db=db)
    _opened.append(plat)
    return plat


def _close_opened() -> None:
    while _opened:
        _opened.pop().close()


def emit_json(value: Any) -> None:
    """Print a value as indented JSON (models dumped in JSON mode)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
        value = [v.model_dump(mode="json") for v in value]
    typer.echo(json.dumps(json.loads(canonical_json(value)), indent=2, ensure_ascii=False))


def handles_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn our errors into a clear message on stderr and exit code 1; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (ConfigErrors, InputErrors) as exc:
            err_console.print(f"[bold red]{exc.message}[/]")
            for e in exc.errors:
                err_console.print(f"  {e}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except RevloopsError as exc:
            err_console.print(f"[bold red]error[/] ({exc.code}): ", end="")
            err_console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)
        finally:
            _close_opened()

    return wrapper
