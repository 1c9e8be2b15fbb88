"""The `oddsmith` command: run the platform, its parts, and admin tasks."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import NoReturn

import typer
import uvloop

from core.config import get_settings
from core.embedded import PortInUseError

app = typer.Typer(help="Oddsmith: a prediction-market platform.", no_args_is_help=True)
admin_app = typer.Typer(help="Administrative tasks.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


@app.command()
def dev() -> None:
    """Run the whole platform: embedded Postgres and Temporal, workers, API, demo data."""
    from cli.bootstrap import bootstrap
    from cli.devstack import run_dev

    try:
        code = run_dev(get_settings(), bootstrap)
    except PortInUseError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Apply the database migrations (to the database in DATABASE_URL)."""
    from core.migrate import upgrade_to_head

    upgrade_to_head(get_settings().async_database_url)
    typer.echo("database is at the latest migration")


@app.command()
def worker(
    queue: str = typer.Argument(..., help="orchestrator, trade-engine, accounts or notifications"),
) -> None:
    """Run the worker of one task queue."""
    from workers.base import serve
    from workers.registry import COMPONENTS

    if queue not in COMPONENTS:
        typer.echo(
            f"error: unknown queue {queue!r}; choose one of {', '.join(COMPONENTS)}", err=True
        )
        raise typer.Exit(2)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(queue, COMPONENTS[queue]()))


@app.command()
def api() -> None:
    """Run the HTTP API (uvicorn) on API_HOST:API_PORT."""
    import uvicorn

    from core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, "api")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


@admin_app.command("create-user")
def create_user(
    email: str = typer.Option(..., help="The user's email"),
    password: str = typer.Option(..., help="The user's password", prompt=True, hide_input=True),
    display_name: str | None = typer.Option(None, help="A display name"),
    is_admin: bool = typer.Option(False, "--admin", help="Give the user the admin role"),
) -> None:
    """Create a user (use --admin for the first administrator)."""
    from core.db import dispose_engine, transaction
    from models.users import Role
    from services.accounts.users import EmailTakenError
    from services.accounts.users import create_user as create

    async def _create() -> int:
        try:
            async with transaction() as conn:
                return await create(
                    conn,
                    email=email,
                    password=password,
                    display_name=display_name,
                    role=Role.ADMIN if is_admin else Role.CLIENT,
                )
        finally:
            await dispose_engine()

    try:
        user_id = asyncio.run(_create())
    except EmailTakenError as exc:
        typer.echo(f"error: a user with email {email} already exists", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"created {'admin' if is_admin else 'client'} {email} with id {user_id}")


def _call_market(market: str, update: str, argument: object) -> None:
    """Send an Update to a market's workflow straight through Temporal (no API needed)."""
    from api.errors import ApiError
    from api.market_calls import update_market
    from core.temporal import connect_temporal
    from models.resolution import ResolutionView

    async def _call() -> ResolutionView:
        client = await connect_temporal()
        return await update_market(client, market, update, argument, ResolutionView)

    try:
        view = asyncio.run(_call())
    except ApiError as exc:
        typer.echo(f"error: {exc.message} ({exc.code})", err=True)
        _exit_now(1)
    deadline = ""
    if view.status == "resolving" and view.dispute_deadline is not None:
        deadline = f", final at {view.dispute_deadline.isoformat()}"
    value = "" if view.settlement_value is None else f" = {view.settlement_value / 1_000_000:g}"
    typer.echo(f"market {market} is {view.status}: {view.outcome}{value}{deadline}")
    _exit_now(0)


def _exit_now(code: int) -> NoReturn:
    """Leave without interpreter finalization: the Temporal SDK can abort there (sdk-python
    #300) and turn the status into a signal."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@admin_app.command("resolve")
def resolve(
    market: str = typer.Argument(..., help="The market id"),
    outcome: str = typer.Argument(..., help='yes, no, void, or a settlement value like "0.35"'),
) -> None:
    """Propose a market's outcome (or, while disputed, confirm or amend it)."""
    from models.resolution import OUTCOME_VALUES, ResolveRequest

    if outcome.lower() in OUTCOME_VALUES:
        request = ResolveRequest(outcome=outcome.lower())
    else:
        request = ResolveRequest(settlement_value=outcome)
    _call_market(market, "resolve", request)


@admin_app.command("confirm")
def confirm(market: str = typer.Argument(..., help="The market id")) -> None:
    """Confirm a disputed outcome as proposed: it becomes final and payouts start."""
    from models.resolution import ConfirmRequest

    _call_market(market, "confirm", ConfirmRequest(reason="admin"))


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(app())
