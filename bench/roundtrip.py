"""Round trips of the running service, as ``make run`` starts it.

Starts ``procserv dev`` on a free port with its own ./var folder (embedded
PostgreSQL and Valkey unless DATABASE_URL / REDIS_URL are set), then measures,
in the same run:

- a bare route (GET /api/v1/openapi.json), the baseline;
- an authenticated read of the dictionary (GET /api/v1/processes);
- a synchronous run of the translation export (through the interactive worker);
- a no-op background job (the test process ``test-sleep`` for 0 s), from submit
  to ``processing: false``;
- no-op job submissions from 8 threads at once.

Usage: .venv/bin/python bench/roundtrip.py [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.embedded import free_port

EXPORT = {"ImportOrExport": "export", "AD_Language": "es_CO"}
NO_OP = {"Seconds": 0}


def start(var_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "VAR_DIR": str(var_dir),
        "FLOWER_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
        "EXTRA_PROCESSES": "tests.support.processes:PROCESSES",
        "PYTHONPATH": str(ROOT),
    }
    procserv = str(Path(sys.executable).parent / "procserv")
    child = subprocess.Popen(
        [procserv, "dev"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/v1/openapi.json", timeout=2).status_code == 200:
                return child, url
        except httpx.TransportError:
            time.sleep(0.3)
    child.send_signal(signal.SIGINT)
    raise SystemExit("procserv dev did not start")


def timed(action: Callable[[], object], runs: int) -> list[float]:
    action()  # warm up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def report(name: str, samples: list[float], baseline: float) -> None:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    ratio = p50 / baseline
    print(f"{name:<46} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms  {ratio:6.1f}x baseline")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="procserv-bench-") as var:
        child, url = start(Path(var))
        try:
            measure(httpx.Client(base_url=url, timeout=60), runs)
        finally:
            child.send_signal(signal.SIGINT)
            child.wait(timeout=60)


def measure(client: httpx.Client, runs: int) -> None:
    token = client.post(
        "/api/v1/auth/tokens",
        json={"userName": "GardenAdmin", "password": "GardenAdmin"},
    ).json()["token"]
    client.headers["Authorization"] = "Bearer " + token

    bare = timed(lambda: client.get("/api/v1/openapi.json"), runs)
    baseline = statistics.median(bare)
    print(f"procserv round trips, {runs} runs each, one client on this machine")
    report("GET /api/v1/openapi.json (baseline)", bare, baseline)
    report(
        "GET /api/v1/processes",
        timed(lambda: client.get("/api/v1/processes"), runs),
        baseline,
    )
    report(
        "POST /processes/translationimpexp (sync)",
        timed(
            lambda: client.post("/api/v1/processes/translationimpexp", json=EXPORT),
            runs,
        ),
        baseline,
    )
    report(
        "POST /processes/jobs/test-sleep (submit only)",
        timed(
            lambda: client.post("/api/v1/processes/jobs/test-sleep", json=NO_OP), runs
        ),
        baseline,
    )
    report(
        "no-op job: submit until processing is false",
        timed(lambda: job(client), runs),
        baseline,
    )
    submit_rate(client, runs)


def job(client: httpx.Client) -> None:
    answer = client.post("/api/v1/processes/jobs/test-sleep", json=NO_OP)
    if answer.status_code != 200:
        raise SystemExit(f"no-op job refused: {answer.status_code} {answer.text}")
    submitted = answer.json()
    while client.get(f"/api/v1/processes/jobs/{submitted['id']}").json()["processing"]:
        time.sleep(0.002)


def submit_rate(client: httpx.Client, runs: int) -> None:
    def submit(_: int) -> int:
        return client.post("/api/v1/processes/jobs/test-sleep", json=NO_OP).status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(submit, range(runs)))
    elapsed = time.perf_counter() - started
    accepted = statuses.count(200)
    rate = runs / elapsed
    print(f"no-op job submissions, 8 threads: {rate:8.1f} /s ({accepted} accepted)")


if __name__ == "__main__":
    main()
