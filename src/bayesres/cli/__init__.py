"""The ``bayesres`` command line (typer + rich). Heavy modules are imported inside commands."""

from __future__ import annotations

import os
import sys

import typer

from bayesres._version import __version__

app = typer.Typer(
    name="bayesres",
    help="Hierarchical Bayesian re-analysis of urban-resilience studies, every posterior beside its frequentist twin.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bayesres {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """bayesres: index weighting, export-ratio regression and staggered DID, Bayesian and frequentist."""


from bayesres.cli import analyses as _analyses  # noqa: E402,F401  (registers index / regress / did / run)
from bayesres.cli import calibrate as _calibrate  # noqa: E402,F401  (registers calibrate)
from bayesres.cli import data as _data  # noqa: E402,F401  (registers the data group)
from bayesres.cli import workflow as _workflow  # noqa: E402,F401  (registers replicate / run)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: one-line errors on stderr, contract exit codes, no tracebacks."""
    import warnings

    from typer._click import exceptions as click_exc

    from bayesres.errors import BayesresError

    os.environ.setdefault("MPLBACKEND", "Agg")

    def _one_line_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        text = " ".join(str(message).split())
        typer.echo(f"warning: {text}", err=True)

    previous = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        result = app(args=argv, prog_name="bayesres", standalone_mode=False)
        if isinstance(result, int) and result:
            return result
    except BayesresError as exc:
        typer.echo(f"error: {exc.one_line()}", err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except click_exc.ClickException as exc:  # usage errors: unknown option, missing argument
        message = " ".join(exc.format_message().split())
        if message:  # an empty message means click has already shown the help (no arguments)
            typer.echo(f"error: {message} (see 'bayesres --help')", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # internal error: one line unless debugging
        if os.environ.get("BAYESRES_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        typer.echo(
            f"internal error: {type(exc).__name__}: {first} (set BAYESRES_DEBUG=1 for the traceback)",
            err=True,
        )
        return 1
    finally:
        warnings.showwarning = previous
    return 0


def run() -> None:  # pragma: no cover - console script
    sys.exit(main())
