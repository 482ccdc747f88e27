"""Importing a 100 MB Green Button feed keeps peak memory under 250 MB (streaming end to end)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.feeds import write_usage_feed

# The peak is the kernel's high-water mark of this program's own memory map (VmHWM), not
# getrusage's ru_maxrss: that one survives execve(2) (getrusage(2) NOTES), so a child forked
# from a large pytest worker would report the worker's size, not the import's.
MEASURE = """
import json, sys
from typer.testing import CliRunner
from opencustodian.cli import app
result = CliRunner().invoke(app, ["import", "--json", sys.argv[1]])
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak_kib = int(status.split()[0])
print(json.dumps({"exit": result.exit_code, "out": result.stdout, "peak_kib": peak_kib}))
"""


def test_a_100_mb_feed_imports_in_under_250_mb(tmp_path, database_url):
    feed = tmp_path / "big.xml"
    with feed.open("w") as stream:
        written = write_usage_feed(stream, usage_points=38, days=104)
    assert feed.stat().st_size > 100 * 1024 * 1024

    environment = {**os.environ, "OPENCUSTODIAN_DATABASE_URL": database_url}
    completed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", MEASURE, str(feed)],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        timeout=600,
    )
    report = json.loads(completed.stdout.splitlines()[-1])
    assert report["exit"] == 0, report["out"]
    summary = json.loads(report["out"].splitlines()[-1])
    assert summary["readings_inserted"] == written
    assert report["peak_kib"] < 250 * 1024, f"peak RSS {report['peak_kib'] / 1024:.0f} MiB"
