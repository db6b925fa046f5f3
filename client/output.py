"""What the user sees: the consoles (answers on stdout, failures on stderr), failures
turned into one sentence and an exit code, and values shown short."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

import aiohttp
import typer
from rich.console import Console

from client.api import (
    CliError,
)

out = Console()
err = Console(stderr=True)


P = ParamSpec("P")
R = TypeVar("R")


def friendly(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command; failures become one readable message and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CliError as exc:
            err.print(f"[red]error:[/] {exc}", highlight=False)
        except aiohttp.ClientConnectorError as exc:
            err.print(f"[red]error:[/] cannot reach {exc.host}:{exc.port} ({exc.os_error})")
        except aiohttp.ClientError as exc:
            err.print(f"[red]error:[/] the connection failed: {type(exc).__name__} {exc}")
        except TimeoutError:
            err.print("[red]error:[/] the platform did not answer in time")
        except OSError as exc:
            err.print(f"[red]error:[/] {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None
        raise typer.Exit(1)

    return wrapper


def short_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT.*", value):
        try:
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return value
    return str(value)
