"""CSV of a million order lines: the report engine against a bare COPY.

Makes a scratch database (on DATABASE_URL's server, else an embedded PostgreSQL;
Redis from REDIS_URL, else an embedded Valkey), migrates it, generates
``--orders`` sales orders (200,000 give about 1,000,000 lines), then measures in
child processes of their own, so each peak RSS is that run's alone:

- the baseline: ``COPY (<the report's own query>) TO STDOUT WITH CSV HEADER``
  read by psycopg and thrown away;
- the engine: a real instance of Order Detail with report-type CSV run by the
  worker's ``run_instance`` (server-side cursor, totals, CSV renderer, output
  stored in chunks in the database).

Usage: .venv/bin/python bench/report_csv.py [--runs 3] [--orders 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg

from app.db import transaction, with_database
from app.embedded import EmbeddedPostgres, EmbeddedValkey
from app.logs import configure_logging
from app.settings import Settings

RSS_TARGET_MB = 150
REPORT = "RV_OrderDetail"
_NEW_INSTANCE = """
INSERT INTO ad_pinstance (ad_client_id, ad_org_id, ad_process_id, ad_user_id,
                          ad_role_id, ad_language, reporttype, queue, paramsdigest,
                          createdby, updatedby)
SELECT 11, 11, ad_process_id, 101, 102, 'en_US', 'CSV', 'default', 'bench', 101, 101
  FROM ad_process WHERE value = %s AND isactive
RETURNING ad_pinstance_id
"""
_OUTPUT = """
SELECT o.size, i.status, i.errormsg FROM ad_pinstance i
  LEFT JOIN ad_pinstance_output o USING (ad_pinstance_id)
 WHERE i.ad_pinstance_id = %s
"""


def bench_csv(runs: int, orders: int = 200_000) -> None:
    with servers() as (database_url, redis_url):
        settings = Settings(
            database_url=database_url,
            redis_url=redis_url,
            seed_demo=True,
            log_level="WARNING",
        )
        configure_logging(settings)
        lines = prepare(settings, orders)
        print(f"CSV: Order Detail, {lines:,} rows, {runs} runs each (best)")
        copy = [child("copy", settings) for _ in range(runs)]
        engine = [child("engine", settings) for _ in range(runs)]
    best_copy = min(copy, key=lambda r: r["seconds"])
    best_engine = min(engine, key=lambda r: r["seconds"])
    print(
        f"  COPY ... TO STDOUT        {best_copy['seconds']:7.2f} s "
        f"{lines / best_copy['seconds']:>11,.0f} rows/s  "
        f"peak RSS {best_copy['peak_rss_mb']:.0f} MB"
    )
    print(
        f"  engine (CSV, stored)      {best_engine['seconds']:7.2f} s "
        f"{lines / best_engine['seconds']:>11,.0f} rows/s  "
        f"peak RSS {best_engine['peak_rss_mb']:.0f} MB  "
        f"file {best_engine['size_mb']:.0f} MB"
    )
    ratio = best_engine["seconds"] / best_copy["seconds"]
    peak = max(r["peak_rss_mb"] for r in engine)
    verdict = "ok" if peak <= RSS_TARGET_MB else "OVER TARGET"
    print(
        f"  engine takes {ratio:.2f}x the time of COPY (median of runs: "
        f"{statistics.median(r['seconds'] for r in engine):.2f} s)"
    )
    print(f"  engine peak RSS {peak:.0f} MB (target <= {RSS_TARGET_MB}) {verdict}")


@contextmanager
def servers() -> Iterator[tuple[str, str]]:
    """A scratch database and a Redis URL; both gone afterwards."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        admin_url = os.environ.get("DATABASE_URL", "")
        if not admin_url:
            postgres = EmbeddedPostgres(folder / "pg")
            postgres.start()
            stack.callback(postgres.stop)
            admin_url = postgres.admin_url
        redis_url = os.environ.get("REDIS_URL", "")
        if not redis_url:
            valkey = EmbeddedValkey(folder / "valkey", persist=False)
            valkey.start()
            stack.callback(valkey.stop)
            redis_url = valkey.url()
        name = f"procserv_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        stack.callback(_drop, admin_url, name)
        yield with_database(admin_url, name), redis_url


def _drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(settings: Settings, orders: int) -> int:
    from app.demodata import generate  # noqa: PLC0415
    from app.migrate import migrate  # noqa: PLC0415

    migrate(settings)
    started = time.perf_counter()
    with transaction(settings.database_url) as conn:
        generate(conn, orders=orders)
    with transaction(settings.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM rv_orderdetail WHERE ad_client_id = 11"
        ).fetchone()
    assert row is not None
    print(f"  (generated {orders:,} orders in {time.perf_counter() - started:.1f} s)")
    return int(row["n"])


def child(kind: str, settings: Settings) -> dict[str, float]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
    }
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def run_child(kind: str) -> None:
    settings = Settings(log_level="WARNING")
    configure_logging(settings)
    started = time.perf_counter()
    size = copy(settings) if kind == "copy" else engine(settings)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {"seconds": seconds, "peak_rss_mb": _peak_rss_mb(), "size_mb": size / 1e6}
        )
    )


def copy(settings: Settings) -> int:
    """The report's own query (default format, no parameters) through COPY."""
    from processes.registry import registry  # noqa: PLC0415
    from processes.reports.query import build_query  # noqa: PLC0415

    process = registry()["rv_orderdetail"]
    assert process.report is not None
    query = build_query(
        process.report.view,
        process.report.formats[0],
        parameters=process.parameters,
        values={},
        values_to={},
        client_id=11,
    )
    size = 0
    with psycopg.connect(settings.database_url) as conn, conn.cursor() as cursor:
        statement = psycopg.sql.SQL("COPY ({}) TO STDOUT WITH CSV HEADER").format(
            query.text
        )
        with cursor.copy(statement, query.params) as stream:
            for block in stream:
                size += len(block)
    return size


def engine(settings: Settings) -> int:
    from workers.runner import run_instance  # noqa: PLC0415

    with transaction(settings.database_url) as conn:
        row = conn.execute(_NEW_INSTANCE, (REPORT,)).fetchone()
    assert row is not None
    instance_id = int(row["ad_pinstance_id"])
    run_instance(settings, instance_id, "bench")
    with transaction(settings.database_url) as conn:
        done = conn.execute(_OUTPUT, (instance_id,)).fetchone()
    if done is None or done["status"] != "succeeded":
        raise SystemExit(f"the report failed: {done}")
    return int(done["size"])


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child)
    else:
        bench_csv(args.runs, args.orders)


if __name__ == "__main__":
    main()
