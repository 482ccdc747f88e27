"""bench/cds_usage.py runs end to end at a tiny size and reports its figures as one JSON line.

The script asserts inside that both APIs served every imported reading with the same totals,
so a run that prints its JSON line is a run whose comparison was of equal work.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "cds_usage.py"
DAYS = 40
QUARTER_HOURS = 96
DST_SHIFT = 4  # a local day of 23 or 25 hours has four quarter-hours fewer or more


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def figures_of(output: str) -> dict[str, Any]:
    line = output.strip().splitlines()[-1]
    document = json.loads(line)
    assert document["bench"] == "cds_usage"
    results: dict[str, Any] = document["results"]
    return results


def test_tiny_run_walks_every_page_of_both_apis(empty_database_url, backend):
    finished = run(
        *("--days", str(DAYS), "--repeat", "1", "--cds-limit", "1"),
        *("--database-url", empty_database_url),
    )
    assert finished.returncode == 0, finished.stderr
    figures = figures_of(finished.stdout)
    assert figures["backend"] == backend
    assert figures["points"] == 1
    assert abs(figures["readings"] - DAYS * QUARTER_HOURS) <= DST_SHIFT
    # One month unit per CDS page: 40 days span two or three local months, each page followed.
    assert figures["cds_responses"] in {2, 3}
    assert figures["espi_responses"] == 1
    assert figures["cds_mb"] > 0
    assert figures["espi_mb"] > figures["cds_mb"]  # XML per reading is larger than a JSON row
    # Figures are rounded for print: compare them to what they are made of, within rounding.
    assert abs(figures["ratio"] - figures["cds_ms"] / figures["espi_ms"]) < 0.05
    rate = figures["readings"] / figures["cds_ms"] * 1000
    assert abs(figures["cds_readings_per_s"] - rate) / rate < 0.01
    assert figures["cds_server_ms"] > 0
    assert figures["espi_server_ms"] > 0


def test_a_database_with_tables_is_refused(database_url):
    finished = run("--days", "1", "--repeat", "1", "--database-url", database_url)
    assert finished.returncode != 0
    assert "give an empty one" in finished.stderr
    assert '"bench"' not in finished.stdout
