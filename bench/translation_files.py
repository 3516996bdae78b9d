"""The worst translation files an import can be sent: how long reading one takes
and how much memory the reading process holds.

Each case is a small zip whose entry (``AD_Process_Trl_es_CO.xml``) inflates to
SIZE bytes of one hostile shape or, for the costliest files still accepted, one
such entry per table procserv imports, each just under the per-file bound. Every
case runs twice, each time in a fresh child process: the API's check
(``check_import``), then the run's reading (every row of every file, as the run
reads them, without the database). A child prints its seconds and its peak RSS;
one that outlasts --timeout is stopped.

Usage: .venv/bin/python bench/translation_files.py [--size MB] [--timeout S] [case ...]

To measure another tree (e.g. the previous commit, from ``git archive``), put it
first on the path: PYTHONPATH=/tmp/before .venv/bin/python bench/translation_files.py
"""

from __future__ import annotations

import argparse
import io
import resource
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass

# The installed project, or a tree put first on PYTHONPATH.
from processes.context import Upload
from processes.translation import importer
from processes.translation.archive import translation_files
from processes.translation.trlread import read_trl_file

BLOCK = 1024 * 1024
# Just under the bounds of one file (8 MiB, 100,000 rows), for files that are
# read to the end; constants here, so that an older tree can be measured too.
FULL = 8 * 1024 * 1024 - 64 * 1024
ROWS = 100_000 - 10
KNOWN = ("AD_Process", "AD_Process_Para", "AD_Ref_List")


@dataclass(frozen=True)
class Case:
    """A file of ``start``, ``unit`` repeated over ``size`` bytes (None: the
    --size given), then ``end``, inside the root; one such file per table."""

    start: bytes
    unit: bytes
    end: bytes
    size: int | None = None
    tables: tuple[str, ...] = ("AD_Process",)


CASES = {
    # One long token, or one long text, or one row of endless values: refused.
    "tag": Case(b"<row", b" ", b' id="1"/>'),
    "attribute": Case(b'<row id="1" uuid="', b"a", b'"/>'),
    "text": Case(b'<row id="1"><value column="Name">', b"a", b"</value></row>"),
    "comment": Case(b"<!--", b"a", b"-->"),
    "values": Case(b'<row id="1">', b'<value column="Name"/>', b"</row>"),
    "rows": Case(b"", b'<row id="1"/>', b""),
    # The costliest files that are accepted, one per table procserv imports.
    "long-tags": Case(
        b"", b'<row id="1"' + b" " * (BLOCK - 64) + b"/>\n", b"", FULL, KNOWN
    ),
    "full-rows": Case(
        b"",
        b'<row id="1">' + b'<value column="Help">x</value>' * 64 + b"</row>\n",
        b"",
        FULL,
        KNOWN,
    ),
    "tiny-rows": Case(b"", b'<row id="1"/>\n', b"", ROWS * 14, KNOWN),
}


def build(case: Case, size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in case.tables:
            with archive.open(f"{table}_Trl_es_CO.xml", "w", force_zip64=True) as out:
                out.write(
                    f'<idempiereTrl language="es_CO" table="{table}">\n'.encode()
                    + case.start
                )
                units = (case.size or size) // len(case.unit)
                per_block = max(1, BLOCK // len(case.unit))
                for start in range(0, units, per_block):
                    out.write(case.unit * min(per_block, units - start))
                out.write(case.end + b"</idempiereTrl>")
    return buffer.getvalue()


def child(case: str, phase: str, size: int) -> None:
    """Runs in the child: one phase on one case; prints seconds and peak RSS."""
    upload = Upload.from_bytes("bench.zip", build(CASES[case], size))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    outcome = "accepted"
    try:
        if phase == "check":
            importer.check_import(
                {"ImportOrExport": "import", "AD_Language": "es_CO", "FileName": upload}
            )
        else:
            with translation_files(upload, "es_CO", importer.limits()) as found:
                for entry in found.entries:
                    with entry.open() as stream:
                        _, rows = read_trl_file(stream)
                        for _ in rows:
                            pass
    except Exception as error:  # the outcome is what is measured
        outcome = f"refused: {type(error).__name__}: {str(error)[-90:]}"
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{seconds:.2f}\t{before // 1024}\t{peak // 1024}\t{outcome}")


def measure(case: str, phase: str, size: int, timeout: float) -> str:
    command = [sys.executable, __file__, "--child", case, phase, str(size)]
    try:
        done = subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return f">{timeout:.0f} s (stopped)"
    if done.returncode != 0:
        return "crashed: " + done.stderr.strip().splitlines()[-1]
    seconds, start_mb, peak_mb, outcome = done.stdout.strip().split("\t", 3)
    return f"{seconds} s, peak RSS {peak_mb} MB (from {start_mb} MB); {outcome}"


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", type=int, default=200, help="MB each case inflates to"
    )
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("cases", nargs="*", default=list(CASES))
    args = parser.parse_args()
    size = args.size * 1024 * 1024
    for case in args.cases:
        built = build(CASES[case], size)
        print(f"{case}: zip of {len(built) // 1024} KB", flush=True)
        for phase in ("check", "read"):
            result = measure(case, phase, size, args.timeout)
            print(f"  {phase}: {result}", flush=True)


if __name__ == "__main__":
    main()
