"""The ``procserv`` command: migrate a database, serve the API, run everything
locally for development."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from app.settings import get_settings

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


@cli.command()
def web(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API with uvicorn."""
    import uvicorn  # noqa: PLC0415

    uvicorn.run(
        "app.main:create_app", factory=True, host=host, port=port, access_log=False
    )


@cli.command()
def worker(
    queue: str = typer.Argument(help="interactive, default, or another process queue"),
    concurrency: int = 2,
    name: str = typer.Option("", help="node name before @host; the queue by default"),
) -> None:
    """Run a Celery worker for one queue (named by settings, with their prefix)."""
    from workers.celery_app import app  # noqa: PLC0415

    settings = get_settings()
    app.worker_main(
        [
            "worker",
            "--queues",
            settings.queue(queue),
            "--hostname",
            f"{name or queue}@%h",
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
    asyncio.run(catch_mail(folder or settings.var_dir / "mail", port, host))


@cli.command()
def dev() -> None:
    """Start everything for development (what ``make run`` does)."""
    from app.supervisor import run_dev  # noqa: PLC0415

    raise typer.Exit(run_dev(get_settings()))


def main() -> None:
    cli()
