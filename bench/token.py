"""Token endpoint benchmark: refresh grants per second against a trivial endpoint, same server.

For each backend (SQLite always; PostgreSQL when reachable) and each uvicorn worker count, it
prepares a fresh migrated database (a small seeded utility and one registered third party),
serves the real app with ``uvicorn --factory opencustodian.web.app:create_app`` in a separate
process (testing environment, a fixed secret key, a profile whose token rate limit is raised
to 1,000,000 calls per minute), and walks ``--concurrency`` consent flows over HTTP to get as
many independent refresh tokens. Then this process (the load generator: httpx on asyncio, one
connection per worker) drives, for ``--warmup`` + ``--duration`` seconds each:

* ``baseline``: ``GET /.well-known/oauth-authorization-server`` (no database work);
* ``refresh``: ``POST /oauth/token`` with ``grant_type=refresh_token``; every refresh rotates
  the token, so each worker chains its own: the next request uses the last response's token.

Only requests that complete after the warm-up count. It prints requests/s, p50 and p99
latency, errors (asserted to be 0), the CPU the server and the load generator used, and the
ratio refresh/baseline; it ends with one JSON line of the figures.

``--profile N`` instead runs N refreshes in-process under cProfile, straight through the
token endpoint's synchronous part (``run_server``: Authlib, hashing, SQLAlchemy, the
database), and prints where the time goes.

This file shares the standard library's ``token`` module name, so it takes its own directory
off ``sys.path`` before importing anything (the repository root goes there instead).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import base64
import cProfile
import json
import os
import pstats
import signal
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from opencustodian.storage import db
from tests.custodian import (
    ELECTRIC_SCOPE,
    SECRET_KEY,
    ThirdParty,
    register_third_party,
    seed_small_utility,
    walk_consent,
)
from tests.live import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROFILE = ROOT / "src" / "opencustodian" / "default_profile.toml"
RATE_LIMIT = 1_000_000
METADATA_PATH = "/.well-known/oauth-authorization-server"
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Target:
    """A database the benchmark can serve: its URL, and how to drop it afterwards."""

    backend: str
    url: str
    drop: str | None = None  # a PostgreSQL database name to drop


@dataclass
class Load:
    """What one load run measured."""

    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    other_cores: float = 0.0  # CPU other processes on the machine used meanwhile, in cores

    @property
    def rate(self) -> float:
        """Completed requests per second in the measured window."""
        return len(self.latencies) / self.seconds

    def percentile(self, fraction: float) -> float:
        """Latency at ``fraction`` (0–1) in milliseconds."""
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def figures(self) -> dict[str, Any]:
        """The figures of this run."""
        return {
            "requests_per_second": round(self.rate),
            "p50_ms": round(self.percentile(0.50), 2),
            "p99_ms": round(self.percentile(0.99), 2),
            "requests": len(self.latencies),
            "errors": len(self.errors),
            "server_cpu_ms_per_request": round(1000 * self.server_cpu / len(self.latencies), 3),
            "client_cpu_ms_per_request": round(1000 * self.client_cpu / len(self.latencies), 3),
            "other_processes_cores": round(self.other_cores, 2),
        }


# -- databases ---------------------------------------------------------------------------------


@contextmanager
def fresh_database(backend: str, directory: Path, admin_url: str) -> Iterator[Target]:
    """A new, migrated database with a small utility seeded; dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        target = Target(backend, f"sqlite:///{directory / f'{uuid.uuid4().hex}.sqlite3'}")
    else:
        name = f"oc_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(db.normalize_url(admin_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = make_url(db.normalize_url(admin_url)).set(database=name)
        target = Target(backend, url.render_as_string(hide_password=False), drop=name)
    try:
        yield target
    finally:
        if target.drop:
            admin = create_engine(db.normalize_url(admin_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {target.drop} WITH (FORCE)"))
            admin.dispose()


def prepare(url: str) -> ThirdParty:
    """Migrate, seed three customers with two days of readings, register a third party."""
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        seed_small_utility(engine)
        return register_third_party(engine, "Bench Solar")
    finally:
        engine.dispose()


def write_profile(directory: Path) -> Path:
    """The bundled profile with the token rate limit raised out of the way."""
    lines = DEFAULT_PROFILE.read_text(encoding="utf-8").splitlines()
    raised = [
        f"token_calls_per_minute = {RATE_LIMIT}"
        if line.startswith("token_calls_per_minute")
        else line
        for line in lines
    ]
    assert raised != lines, "the bundled profile has no token_calls_per_minute"
    path = directory / "bench-profile.toml"
    path.write_text("\n".join(raised) + "\n", encoding="utf-8")
    return path


# -- the server --------------------------------------------------------------------------------


def server_environment(url: str, base_url: str, profile: Path) -> dict[str, str]:
    """The custodian's settings for the served process."""
    return {
        **os.environ,
        "OPENCUSTODIAN_ENVIRONMENT": "testing",
        "OPENCUSTODIAN_SECRET_KEY": SECRET_KEY,
        "OPENCUSTODIAN_BASE_URL": base_url,
        "OPENCUSTODIAN_DATABASE_URL": url,
        "OPENCUSTODIAN_PROFILE": str(profile),
    }


@contextmanager
def serve(url: str, profile: Path, workers: int) -> Iterator[tuple[str, int]]:
    """``uvicorn --factory create_app`` in its own process; yields its base URL and pid."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [
        *(sys.executable, "-m", "uvicorn", "--factory", "opencustodian.web.app:create_app"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        *("--log-level", "warning", "--no-access-log"),
    ]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command, env=server_environment(url, base_url, profile), cwd=ROOT
    )
    try:
        wait_until_ready(base_url, process, workers)
        yield base_url, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_ready(base_url: str, process: subprocess.Popen[bytes], workers: int) -> None:
    """Wait for the health check to answer (from every worker: a few answers in a row)."""
    deadline = time.monotonic() + 60
    answered = 0
    while answered < 4 * workers:
        if process.poll() is not None or time.monotonic() > deadline:
            msg = f"the server did not start (exit code {process.poll()})"
            raise RuntimeError(msg)
        try:
            answered += httpx.get(f"{base_url}/healthz", timeout=2).status_code == httpx.codes.OK
        except httpx.HTTPError:
            time.sleep(0.1)


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy (every core, from ``/proc/stat``)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its descendants."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, of in parents.items() if of == parent and child not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(member, 0.0) for member in tree)


# -- tokens ------------------------------------------------------------------------------------


def refresh_tokens(base_url: str, third_party: ThirdParty, count: int) -> list[str]:
    """``count`` independent refresh tokens: one consent flow and code exchange each."""
    tokens = []
    with httpx.Client(timeout=30) as http:
        for index in range(count):
            redirect = walk_consent(
                http,
                base_url,
                {
                    "response_type": "code",
                    "client_id": third_party.client_id,
                    "redirect_uri": third_party.redirect_uri,
                    "scope": ELECTRIC_SCOPE,
                    "state": f"bench-{index}",
                },
            )
            code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
            response = http.post(
                f"{base_url}{TOKEN_PATH}",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": third_party.redirect_uri,
                },
                auth=(third_party.client_id, third_party.client_secret),
            )
            assert response.status_code == httpx.codes.OK, response.text
            tokens.append(response.json()["refresh_token"])
    return tokens


def basic_auth(third_party: ThirdParty) -> str:
    """The client's HTTP Basic credentials (RFC 6749 §2.3.1), computed once."""
    pair = f"{third_party.client_id}:{third_party.client_secret}".encode()
    return f"Basic {base64.b64encode(pair).decode()}"


# -- load --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How long and how wide each load run is."""

    concurrency: int
    warmup: float
    duration: float


@dataclass(frozen=True)
class Served:
    """A running server and the credentials that drive it."""

    base_url: str
    pid: int
    authorization: str
    tokens: list[str]


async def drive(served: Served, name: str, plan: Plan) -> Load:
    """One worker per token, each on its own connection, for the warm-up and the duration."""
    load = Load(name, plan.duration)
    began = time.perf_counter()
    measure_from, stop_at = began + plan.warmup, began + plan.warmup + plan.duration
    headers = {**FORM, "Authorization": served.authorization}

    async def worker(token: str) -> None:
        # A client per worker: one shared pool of 32 connections costs httpx several times
        # more CPU per request than the server spends answering the baseline.
        async with httpx.AsyncClient(base_url=served.base_url, timeout=60) as client:
            while (sent := time.perf_counter()) < stop_at:
                try:
                    if name == "baseline":
                        response = await client.get(METADATA_PATH)
                    else:
                        body = f"grant_type=refresh_token&refresh_token={token}"
                        response = await client.post(TOKEN_PATH, content=body, headers=headers)
                except httpx.HTTPError as error:
                    load.errors.append(f"{type(error).__name__}: {error}")
                    return
                done = time.perf_counter()
                if response.status_code != httpx.codes.OK:
                    load.errors.append(f"{response.status_code} {response.text[:200]}")
                    return  # a refused refresh breaks this worker's chain
                if name == "refresh":
                    token = response.json()["refresh_token"]
                if measure_from <= done < stop_at:
                    load.latencies.append(done - sent)

    await asyncio.gather(*(worker(token) for token in served.tokens))
    return load


def measure(served: Served, name: str, plan: Plan) -> Load:
    """One load run, with the CPU both sides used."""
    machine_before, began = machine_cpu(), time.perf_counter()
    server_before, client_before = process_tree_cpu(served.pid), time.process_time()
    load = asyncio.run(drive(served, name, plan))
    server = process_tree_cpu(served.pid) - server_before
    client = time.process_time() - client_before
    others = machine_cpu() - machine_before - server - client
    load.other_cores = max(0.0, others / (time.perf_counter() - began))
    # CPU over warm-up and measurement, shared out over the measured requests' share of time.
    share = plan.duration / (plan.warmup + plan.duration)
    load.server_cpu, load.client_cpu = server * share, client * share
    return load


def run_backend(backend: str, admin_url: str, workers: int, plan: Plan) -> dict[str, Any]:
    """Baseline then refresh load against one freshly prepared, freshly served database."""
    with (
        tempfile.TemporaryDirectory() as scratch,
        fresh_database(backend, Path(scratch), admin_url) as target,
    ):
        third_party = prepare(target.url)
        profile = write_profile(Path(scratch))
        with serve(target.url, profile, workers) as (base_url, pid):
            tokens = refresh_tokens(base_url, third_party, plan.concurrency)
            server = Served(base_url, pid, basic_auth(third_party), tokens)
            baseline = measure(server, "baseline", plan)
            refresh = measure(server, "refresh", plan)
    result: dict[str, Any] = {
        "backend": backend,
        "workers": workers,
        "concurrency": plan.concurrency,
        "seconds": plan.duration,
        "baseline": baseline.figures(),
        "refresh": refresh.figures(),
        "ratio": round(refresh.rate / baseline.rate, 3),
    }
    print_row(result)
    for load in (baseline, refresh):
        assert not load.errors, f"{load.name}: {len(load.errors)} errors, first {load.errors[0]}"
        assert load.latencies, f"{load.name}: no request completed"
    return result


def print_row(result: dict[str, Any]) -> None:
    """One human line per configuration and endpoint."""
    for name in ("baseline", "refresh"):
        row = result[name]
        print(
            f"{result['backend']:<10} workers {result['workers']}  {name:<8}"
            f" {row['requests_per_second']:>6,}/s  p50 {row['p50_ms']:>6.1f} ms"
            f"  p99 {row['p99_ms']:>6.1f} ms  errors {row['errors']}"
            f"  server CPU {row['server_cpu_ms_per_request']:.2f} ms/req"
            f"  client CPU {row['client_cpu_ms_per_request']:.2f} ms/req"
            f"  others {row['other_processes_cores']:.2f} cores",
            flush=True,
        )
    print(
        f"{result['backend']:<10} workers {result['workers']}  ratio refresh/baseline"
        f" {result['ratio']:.3f}",
        flush=True,
    )


# -- profile -----------------------------------------------------------------------------------


def profile_refreshes(backend: str, admin_url: str, count: int) -> None:
    """``count`` chained refreshes in-process under cProfile, through ``run_server``."""
    from starlette.datastructures import Headers  # noqa: PLC0415

    from opencustodian.config import Environment, Settings  # noqa: PLC0415
    from opencustodian.oauth.endpoints import OAuthEdge, run_server  # noqa: PLC0415
    from opencustodian.oauth.requests import CustodianRequest  # noqa: PLC0415
    from opencustodian.web.app import create_app  # noqa: PLC0415

    with (
        tempfile.TemporaryDirectory() as scratch,
        fresh_database(backend, Path(scratch), admin_url) as target,
    ):
        third_party = prepare(target.url)
        profile = write_profile(Path(scratch))
        with serve(target.url, profile, 1) as (base_url, _):
            (token,) = refresh_tokens(base_url, third_party, 1)
        settings = Settings(
            environment=Environment.TESTING,
            database_url=target.url,
            secret_key=SECRET_KEY,
            base_url=base_url,
            profile=profile,
        )
        app = create_app(settings)
        edge: OAuthEdge = app.state.oauth
        headers = Headers(headers={**FORM, "Authorization": basic_auth(third_party)})

        def refresh(token: str) -> str:
            pairs = [("grant_type", "refresh_token"), ("refresh_token", token)]
            request = CustodianRequest("POST", f"{base_url}{TOKEN_PATH}", headers, pairs)
            response = run_server(
                edge, lambda server: server.create_token_response(request), request
            )
            assert response.status_code == httpx.codes.OK, response.body
            issued: str = json.loads(bytes(response.body))["refresh_token"]
            return issued

        for _ in range(50):  # warm caches and the connection pool
            token = refresh(token)
        began, cpu_began = time.perf_counter(), time.process_time()
        for _ in range(count):
            token = refresh(token)
        plain = (time.perf_counter() - began) / count
        cpu = (time.process_time() - cpu_began) / count
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(count):
            token = refresh(token)
        profiler.disable()
        app.state.context.engine.dispose()
    print(
        f"{backend}: one refresh at a time in-process (no profiler): {1000 * plain:.2f} ms wall,"
        f" {1000 * cpu:.2f} ms CPU of this process"
    )
    stats = pstats.Stats(profiler)
    report_profile(stats, count)
    stats.sort_stats("tottime").print_stats(20)


#: Where a refresh spends its time: (label, file suffix, function) of cumulative entries.
PROFILE_POINTS = [
    ("run_server (everything)", "oauth/endpoints.py", "run_server"),
    ("  AuthorizationServer built per request", "oauth/server.py", "__init__"),
    ("  client authentication (SELECT application)", "oauth/server.py", "query_client"),
    (
        "  refresh token lookup (SELECT token, GET grant)",
        "oauth/grants.py",
        "authenticate_refresh_token",
    ),
    ("  claim old pair (UPDATE ... rotated_at)", "storage/consent.py", "claim_refresh"),
    ("  save new pair (INSERT token)", "oauth/server.py", "save_token"),
    ("  HMAC-SHA256 of secrets", "kit/tokens.py", "hash_secret"),
    ("  new random secrets", "kit/tokens.py", "new_secret"),
    ("  commit (COMMIT)", "orm/session.py", "commit"),
    ("  session close (rollback/return to pool)", "orm/session.py", "close"),
    ("connection checkout and BEGIN", "orm/session.py", "_connection_for_bind"),
    ("all SQLAlchemy statement execution", "engine/base.py", "execute"),
    ("all ORM flushes", "orm/session.py", "_flush"),
    ("driver: sqlite3 execute", "~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("driver: sqlite3 commit", "~", "<method 'commit' of 'sqlite3.Connection' objects>"),
    ("driver: psycopg execute", "psycopg/cursor.py", "execute"),
    ("driver: psycopg commit", "psycopg/connection.py", "commit"),
]


def report_profile(stats: pstats.Stats, count: int) -> None:
    """Cumulative milliseconds per refresh at the points that say where the time goes."""
    entries: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = next(
        value[3]
        for key, value in entries.items()
        if key[2] == "run_server" and "endpoints" in key[0]
    )
    print("where a refresh spends its time (cumulative, under cProfile):")
    for label, suffix, function in PROFILE_POINTS:
        seconds = sum(
            value[3]
            for (path, _, name), value in entries.items()
            if name == function and path.endswith(suffix)
        )
        print(f"  {label:<52} {1000 * seconds / count:6.2f} ms  {100 * seconds / total:5.1f}%")


# -- main --------------------------------------------------------------------------------------


def postgres_reachable(url: str) -> bool:
    """Whether a PostgreSQL server answers at ``url``."""
    try:
        import psycopg  # noqa: PLC0415

        psycopg.connect(url.replace("+psycopg", ""), connect_timeout=3).close()
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
    return True


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--profile", type=int, metavar="N", help="cProfile N refreshes instead")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    arguments = parser.parse_args()
    if arguments.profile:
        profile_refreshes(arguments.backend, arguments.pg_admin_url, arguments.profile)
        return
    backends = ["sqlite"]
    if not arguments.sqlite_only and postgres_reachable(arguments.pg_admin_url):
        backends.append("postgresql")
    plan = Plan(arguments.concurrency, arguments.warmup, arguments.duration)
    results = [
        run_backend(backend, arguments.pg_admin_url, workers, plan)
        for backend in backends
        for workers in arguments.workers
    ]
    print(json.dumps({"bench": "token", "results": results}))


if __name__ == "__main__":
    main()
