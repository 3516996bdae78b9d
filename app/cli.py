"""The ``procserv`` command: migrate a database, serve the API, run everything
locally for development."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from app.db import MAX_BIGINT
from app.settings import get_settings


class WorkerPool(StrEnum):
    PREFORK = "prefork"
    THREADS = "threads"
    SOLO = "solo"


cli = typer.Typer(help="procserv: a process server behind iDempiere's Processes API.")


def _database_url() -> str:
    """DATABASE_URL, else the embedded PostgreSQL that a running ``make run``
    keeps under VAR_DIR; never libpq's defaults, which name another server."""
    import psycopg  # noqa: PLC0415

    from app.embedded import EmbeddedPostgres  # noqa: PLC0415
    from app.supervisor import remembered_port  # noqa: PLC0415

    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    folder = settings.var_dir / "postgres"
    if not folder.is_dir():
        # Else the default port might find another run's database.
        typer.echo(
            f"No DATABASE_URL, and no database of `make run` in {folder}: start "
            "`make run` first (with this VAR_DIR), or set DATABASE_URL.",
            err=True,
        )
        raise typer.Exit(2)
    url = EmbeddedPostgres(folder, remembered_port(settings.var_dir, "postgres")).url()
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError:
        typer.echo(
            f"No DATABASE_URL, and no embedded PostgreSQL of `make run` answers at "
            f"{url} (its data is in {folder}): start `make run` first, or set "
            "DATABASE_URL.",
            err=True,
        )
        raise typer.Exit(2) from None
    return url


@cli.command()
def migrate() -> None:
    """Apply schema migrations, sync the process dictionary, seed (dev) data."""
    from app.logs import configure_logging  # noqa: PLC0415
    from app.migrate import migrate as run_migrations  # noqa: PLC0415

    settings = get_settings()
    configure_logging(settings)
    run_migrations(settings)


@cli.command("add-language")
def add_language(
    code: str = typer.Argument(help="e.g. pt_BR"),
    name: str = typer.Option("", help="e.g. Português (Brasil)"),
) -> None:
    """Add (or reactivate) a language to import translations into."""
    from app.db import transaction  # noqa: PLC0415
    from app.languages import LanguageError  # noqa: PLC0415
    from app.languages import add_language as add  # noqa: PLC0415

    try:
        with transaction(_database_url()) as conn:
            add(conn, code, name)
    except LanguageError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(f"{code} is active; import its translations with translationimpexp")


@cli.command("demo-data")
def demo_data(
    orders: int = typer.Option(300, min=5, help="sales orders (~5 lines each)"),
    seed: int = typer.Option(1, min=0, help="another seed, other (as realistic) data"),
    anchor: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="last day of the data; today by default"
        ),
    ] = None,
) -> None:
    """Replace GardenWorld's sample ERP data by a generated set of this size."""
    from app.db import transaction  # noqa: PLC0415
    from app.demodata import DemoDataError, generate  # noqa: PLC0415
    from app.logs import configure_logging  # noqa: PLC0415

    configure_logging(get_settings())
    try:
        with transaction(_database_url()) as conn:
            made = generate(
                conn, orders=orders, seed=seed, anchor=anchor and anchor.date()
            )
    except DemoDataError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(
        f"GardenWorld sample data up to {made.anchor}: {made.partners} partners, "
        f"{made.products} products, {made.orders} orders with {made.lines} lines, "
        f"{made.invoices} invoices, {made.payments} payments "
        f"in {made.seconds:.1f} s"
    )


@cli.command("resend-notifications")
def resend_notifications(
    jobs: Annotated[
        list[int] | None,
        typer.Argument(help="job ids; all failed ones if none", min=1, max=MAX_BIGINT),
    ] = None,
) -> None:
    """Send failed notifications again (after fixing SMTP settings, say): the
    sweeper queues them within SWEEP_EVERY_SECONDS, to a running worker."""
    from app.db import connect  # noqa: PLC0415
    from app.logs import configure_logging  # noqa: PLC0415
    from workers.notify import resend  # noqa: PLC0415

    configure_logging(get_settings())
    with connect(_database_url(), autocommit=True) as conn:
        rows = resend(conn, jobs)
    resent = {row["ad_pinstance_id"] for row in rows}
    for job in sorted(set(jobs or ()) - resent):
        typer.echo(f"job {job}: no failed notification (or no such job)", err=True)
    typer.echo(
        f"{len(rows)} failed notification(s) of {len(resent)} job(s) made pending; "
        "the sweeper's next round queues them"
    )


@cli.command()
def web(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API with uvicorn."""
    import uvicorn  # noqa: PLC0415

    uvicorn.run(
        "app.main:create_app", factory=True, host=host, port=port, access_log=False
    )


@cli.command()
def worker(
    queues: Annotated[
        list[str],
        typer.Argument(help="interactive, default, notify, or a process's queue"),
    ],
    concurrency: int = 2,
    pool: Annotated[
        WorkerPool, typer.Option(help="threads suit notify, which waits on SMTP")
    ] = WorkerPool.PREFORK,
    name: str = typer.Option("", help="node name before @host; the first queue's"),
) -> None:
    """Run a Celery worker for these queues (named by settings, with their prefix)."""
    from workers.celery_app import app  # noqa: PLC0415

    settings = get_settings()
    # Read by the tasks that size their process's database pool by it.
    app.conf.worker_concurrency = concurrency
    app.worker_main(
        [
            "worker",
            "--queues",
            ",".join(settings.queue(queue) for queue in queues),
            "--hostname",
            f"{name or queues[0]}@%h",
            "--pool",
            pool.value,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            settings.log_level,
            "--without-gossip",
            "--without-mingle",
        ]
    )


@cli.command()
def beat() -> None:
    """Run Celery beat: the periodic sweep that re-sends lost instances."""
    from workers.celery_app import app  # noqa: PLC0415

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    schedule = settings.var_dir / f"{settings.queue_prefix}beat-schedule"
    app.Beat(schedule=str(schedule), loglevel=settings.log_level).run()


@cli.command()
def flower(host: str = "127.0.0.1", port: int = 5555) -> None:
    """Run Flower, the web page that shows the workers and their tasks live.

    Its other options come from FLOWER_* variables, e.g. FLOWER_BASIC_AUTH.
    """
    from workers.celery_app import app  # noqa: PLC0415

    app.start(["flower", f"--address={host}", f"--port={port}"])


@cli.command("mail-catcher")
def mail_catcher(
    port: int = typer.Option(1025, min=0, max=65535, help="0: any free port"),
    host: str = "127.0.0.1",
    folder: Annotated[
        Path | None,
        typer.Option(help="where each message goes as an .eml file; VAR_DIR/mail"),
    ] = None,
) -> None:
    """Catch mail for development: an SMTP server that keeps every message it
    accepts as an .eml file and sends nothing on. Runs until Ctrl-C or SIGTERM."""
    import asyncio  # noqa: PLC0415

    from app.logs import configure_logging  # noqa: PLC0415
    from app.mailcatcher import catch_mail  # noqa: PLC0415

    settings = get_settings()
    configure_logging(settings)
    folder = folder or settings.var_dir / "mail"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        asyncio.run(catch_mail(folder, port, host))
    except FileExistsError:
        raise typer.BadParameter(f"{folder} is a file, not a folder") from None
    except OSError as error:
        # Most often the port is taken: one line, not a traceback.
        typer.echo(f"procserv mail-catcher: {error}", err=True)
        raise typer.Exit(1) from None


@cli.command()
def dev() -> None:
    """Start everything for development (what ``make run`` does)."""
    from app.supervisor import run_dev  # noqa: PLC0415

    raise typer.Exit(run_dev(get_settings()))


def main() -> None:
    from pydantic import ValidationError  # noqa: PLC0415

    try:
        cli()
    except ValidationError as error:
        # Settings that cannot be: one line each, not a traceback.
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]).upper()
            typer.echo(f"procserv: {where or 'settings'}: {problem['msg']}", err=True)
        raise SystemExit(2) from None
