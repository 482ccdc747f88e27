"""``opencustodian``: set up, seed, import, serve and demo the custodian.

The CLI is a composition root: it reads settings, opens storage and hands parsers' output to
the services, printing what happened for people (Rich) or machines (``--json``).
"""

from __future__ import annotations

import getpass
import json
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from opencustodian.config import Settings
from opencustodian.demo import setup as demo_setup
from opencustodian.demo.synthetic import DEMO_PASSWORD
from opencustodian.domain.events import EventTag
from opencustodian.domain.ingest import ImportRejectedError, ImportSummary
from opencustodian.domain.parties import (
    ApplicationRegistration,
    RegistrationEnvironment,
    RegistrationError,
)
from opencustodian.jobs.work import deliver_notifications, lifecycle_for, render_batch_list
from opencustodian.kit.time import utc_now
from opencustodian.kit.xml import UnsafeXmlError
from opencustodian.profile import load_profile
from opencustodian.services.accounts import UnknownAccountError, close_account, record_move_out
from opencustodian.services.data_notices import notify_new_data
from opencustodian.services.downloads import (
    DateRangeError,
    DownloadFormat,
    download_chunks,
    download_event,
    download_window,
    parse_day,
)
from opencustodian.services.ingest import import_records
from opencustodian.services.registration import register_application, rotate_client_secret
from opencustodian.services.sources import detect_format, parse_source
from opencustodian.services.usage_feeds import FeedSettings, plan_download_feed
from opencustodian.storage import db
from opencustodian.storage.accounts import SqlAccountStore
from opencustodian.storage.applications import SqlApplicationStore
from opencustodian.storage.audiences import SqlDataAudienceStore
from opencustodian.storage.audit import SqlAuditLog
from opencustodian.storage.ingest_target import SqlIngestTarget
from opencustodian.storage.models import RetailCustomer
from opencustodian.storage.notifications import SqlNotificationStore
from opencustodian.storage.self_service import SqlSelfServiceDirectory
from opencustodian.storage.usage import SqlUsageStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from opencustodian.domain.consent import EndedGrant
    from opencustodian.domain.usage_rights import ReadWindow

app = typer.Typer(
    help="OpenCustodian: a utility's Green Button / CDS data custodian.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)


@contextmanager
def _migrated_engine(settings: Settings) -> Iterator[Engine]:
    """An engine on the configured database, migrated to head, disposed afterwards."""
    engine = db.make_engine(settings.resolved_database_url)
    try:
        db.upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@app.command()
def init() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    settings = Settings()
    with _migrated_engine(settings):
        pass
    console.print(f"[green]Database ready[/green] at {_display_url(settings)}")


@app.command()
def seed(
    customers: Annotated[int, typer.Option(min=1, help="How many customers to create.")] = 50,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 1,
    history_days: Annotated[
        int, typer.Option(min=1, max=3650, help="Days of interval history up to now.")
    ] = 730,
) -> None:
    """Fill the database with a deterministic synthetic utility."""
    from opencustodian.demo.synthetic import seed_utility  # noqa: PLC0415 - heavy, seed only

    settings = Settings()
    with (
        _migrated_engine(settings) as engine,
        _progress("Seeding customers", total=customers, bytes_=False) as progress,
    ):
        task = progress.add_task("seed", total=customers)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = seed_utility(
            engine,
            load_profile(settings.profile),
            customers=customers,
            seed=seed,
            history_days=history_days,
            progress=advance,
        )
    console.print(
        f"[green]Seeded[/green] {summary.customers:,} customers, {summary.service_points:,} "
        f"service points, {summary.readings:,} readings, {summary.bills:,} bills "
        f"in {summary.seconds:.1f} s"
    )


@app.command("import")
def import_files(
    paths: Annotated[list[Path], typer.Argument(help="Green Button XML or CSV files.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per file.")
    ] = False,
) -> None:
    """Import Green Button ESPI XML or CSV readings; each file commits whole or not at all.

    CSV columns: meter, start (ISO 8601 with offset), duration (s), value, unit, and optionally
    quality, channel, cost, currency (a Download My Data CSV imports as it is).
    """
    settings = Settings()
    failures = 0
    with _migrated_engine(settings) as engine:
        for path in paths:
            outcome = _import_one(engine, settings, path)
            failures += "error" in outcome
            _report(outcome, as_json=as_json)
        deliver_notifications(db.session_factory(engine))
    if failures:
        raise typer.Exit(code=1)


def _import_one(engine: Engine, settings: Settings, path: Path) -> dict[str, object]:
    try:
        stream = path.open("rb")
    except OSError as error:
        return {"path": str(path), "error": f"cannot open: {error.strerror}"}
    with stream:
        file_format = detect_format(path.name, stream.read(512))
        stream.seek(0)
        summary = ImportSummary(str(path), file_format)
        size = path.stat().st_size
        try:
            with _progress(path.name, total=size, bytes_=True) as progress:
                task = progress.add_task("import", total=size)
                records = parse_source(file_format, stream, max_bytes=settings.import_max_bytes)
                with db.transaction(db.session_factory(engine)) as session:
                    import_records(
                        records,
                        SqlIngestTarget(session),
                        summary,
                        on_batch=lambda: progress.update(task, completed=stream.tell()),
                    )
                    notified = _notify_new_data(session, settings, summary)
        except (ImportRejectedError, UnsafeXmlError) as error:
            return {"path": str(path), "format": file_format, "error": str(error)}
    return {**summary.as_dict(), "third_parties_notified": notified}


def _notify_new_data(session: Session, settings: Settings, summary: ImportSummary) -> int:
    """Queue new-data BatchLists in the import's transaction (delivered after it commits)."""
    profile = load_profile(settings.profile)
    return notify_new_data(
        SqlDataAudienceStore(session),
        SqlNotificationStore(session),
        summary.changed_spans,
        base_url=settings.base_url or profile.base_url,
        zone=profile.time_zone,
        render=render_batch_list,
    )


def _report(outcome: dict[str, object], *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(outcome) + "\n")
        return
    if "error" in outcome:
        errors.print(f"[red]rejected[/red] {outcome['path']}: {outcome['error']}")
        errors.print("  nothing was written for this file")
        return
    table = Table(title=str(outcome["path"]), show_header=False, title_justify="left")
    for key, value in outcome.items():
        if key not in {"path", "warnings"}:
            table.add_row(
                key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value)
            )
    console.print(table)
    warnings = outcome.get("warnings")
    for warning in warnings if isinstance(warnings, list) else []:
        console.print(f"  [yellow]warning[/yellow] {warning}")


@app.command("export")
def export_feed(  # noqa: PLR0917 - Typer passes each option positionally
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the file.")],
    service_points: Annotated[
        list[str] | None,
        typer.Option("--service-point", help="A service point (UsagePoint) id; repeatable."),
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Every service point of this account.")
    ] = None,
    first: Annotated[
        str | None,
        typer.Option("--from", help="First local day, YYYY-MM-DD (default: the history limit)."),
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="Last local day, inclusive; default today.")
    ] = None,
    file_format: Annotated[
        DownloadFormat,
        typer.Option("--format", help="xml: an ESPI usage feed; csv: one row per reading."),
    ] = DownloadFormat.XML,
) -> None:
    """Download My Data: write the usage of service points to a file, ESPI XML or CSV.

    The XML feed holds every channel, reading (with cost) and billing summary in the range,
    and imports back with ``opencustodian import``. The CSV holds the same readings, one row
    each, in kWh, CCF or therms with local times.
    """
    settings = Settings()
    profile = load_profile(settings.profile)
    with _migrated_engine(settings) as engine:
        store = SqlUsageStore(engine)
        ids = _export_points(store, service_points or [], account)
        now = utc_now()
        feed_settings = FeedSettings(
            base_url=_display_url(settings),
            zone=profile.time_zone,
            max_history_seconds=profile.limits.max_history_seconds,
            certification_href=profile.certification_url,
        )
        window = _export_window(first, last, profile.time_zone, feed_settings, now)
        plan = plan_download_feed(
            store,
            ids,
            feed_settings,
            now=now,
            window=window,
            self_href=f"{feed_settings.base_url}/espi/1_1/resource/Batch/RetailCustomer",
            feed_key=",".join(str(point) for point in ids),
        )
        facts = download_event(plan.service_point_uuids, file_format, window, profile.time_zone)
        _audit_export(engine, account, facts)
        csv = file_format is DownloadFormat.CSV
        meters = SqlSelfServiceDirectory(engine).meters(ids) if csv else []
        written = 0
        with output.open("wb") as sink:
            for chunk in download_chunks(plan, file_format, profile.time_zone, meters):
                sink.write(chunk)
                written += len(chunk)
    console.print(f"wrote {written:,} bytes for {len(ids)} service point(s) to {output}")


def _audit_export(engine: Engine, account: str | None, facts: dict[str, object]) -> None:
    """Record the export (DESIGN.md: every data access is an audit event) before writing it.

    Committed on its own, before the first byte, so a file that exists was audited. The actor
    is the operating-system user running the command, as far as it can be told.
    """
    SqlAuditLog(engine).record_event(
        EventTag.DATA_EXPORTED,
        f"account:{account}" if account is not None else "service-points",
        facts,
        f"operator:{_operator()}",
    )


def _operator() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (e.g. a bare container)
        return "unknown"


def _export_points(store: SqlUsageStore, uuids: list[str], account: str | None) -> list[int]:
    """Service point ids from ``--service-point`` and ``--account``; exits on unknown ones."""
    ids: set[int] = set()
    try:
        wanted = [uuid.UUID(text) for text in uuids]
    except ValueError as error:
        errors.print(f"[red]not a service point id:[/red] {error}")
        raise typer.Exit(code=2) from error
    found = store.service_point_ids(wanted)
    missing = [str(point) for point in wanted if point not in found]
    if missing:
        errors.print(f"[red]unknown service point(s):[/red] {', '.join(missing)}")
        raise typer.Exit(code=1)
    ids.update(found.values())
    if account is not None:
        held = store.account_service_point_ids(account)
        if held is None:
            errors.print(f"[red]unknown account:[/red] {account}")
            raise typer.Exit(code=1)
        ids.update(held)
    if not ids:
        errors.print("name at least one --service-point or an --account")
        raise typer.Exit(code=2)
    return sorted(ids)


def _export_window(
    first: str | None, last: str | None, zone: ZoneInfo, settings: FeedSettings, now: datetime
) -> ReadWindow:
    """``[first local midnight, midnight after last)``: at most the history limit long.

    The rules are ``services.downloads.download_window``'s, which the customer portal uses too.
    """
    try:
        return download_window(
            parse_day(first, "--from") if first else None,
            parse_day(last, "--to") if last else None,
            zone=zone,
            max_history_seconds=settings.max_history_seconds,
            now=now,
        )
    except DateRangeError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from error


thirdparty = typer.Typer(help="Register and manage third-party applications.")
app.add_typer(thirdparty, name="thirdparty")


@thirdparty.command("register")
def register_thirdparty(  # noqa: PLR0917 - Typer passes each form field as an option
    name: Annotated[str, typer.Option(help="The name customers see on the consent page.")],
    redirect_uri: Annotated[
        list[str], typer.Option(help="An exact redirect URI (repeat for several).")
    ],
    scope: Annotated[
        list[str], typer.Option(help="A requested ESPI scope string, e.g. 'FB=1_3_4_5;' (repeat).")
    ],
    description: Annotated[str, typer.Option(help="What the application does.")] = "",
    contact: Annotated[list[str] | None, typer.Option(help="A contact (repeat).")] = None,
    website: Annotated[str | None, typer.Option(help="The third party's website.")] = None,
    logo_uri: Annotated[str | None, typer.Option(help="A logo shown to customers.")] = None,
    scope_selection_uri: Annotated[
        str | None, typer.Option(help="Where the utility sends customers to choose data.")
    ] = None,
    notification_uri: Annotated[
        str | None, typer.Option(help="Where the utility POSTs notifications.")
    ] = None,
    environment: Annotated[
        RegistrationEnvironment, typer.Option(help="test or production.")
    ] = RegistrationEnvironment.TEST,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Register a third-party application and print its ids and secrets (shown only once)."""
    settings = Settings()
    try:
        registration = ApplicationRegistration(
            name=name,
            redirect_uris=tuple(redirect_uri),
            scopes=tuple(scope),
            description=description,
            contacts=tuple(contact or ()),
            website=website,
            logo_uri=logo_uri,
            scope_selection_uri=scope_selection_uri,
            notification_uri=notification_uri,
            environment=environment,
        )
        with (
            _migrated_engine(settings) as engine,
            db.transaction(db.session_factory(engine)) as session,
        ):
            issued = register_application(
                registration, SqlApplicationStore(session), settings.secret_key
            )
    except RegistrationError as error:
        errors.print(f"[red]not registered[/red]: {error}")
        raise typer.Exit(code=2) from error
    result = {
        "application_information_id": str(issued.application_id),
        "client_id": issued.client_id,
        "client_secret": issued.client_secret,
        "registration_access_token": issued.registration_access_token,
        "scopes": list(issued.scopes),
        "status": registration.initial_status.value,
    }
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    for key, value in result.items():
        console.print(f"{key.replace('_', ' ')}: {value}")
    console.print("[yellow]Store the secrets now: the custodian keeps only their hashes.[/yellow]")


@thirdparty.command("rotate-secret")
def rotate_thirdparty_secret(
    client_id: Annotated[str, typer.Argument(help="The application's client id.")],
) -> None:
    """Issue a new client secret; the old one stops working at once."""
    settings = Settings()
    try:
        with (
            _migrated_engine(settings) as engine,
            db.transaction(db.session_factory(engine)) as session,
        ):
            secret = rotate_client_secret(
                client_id, SqlApplicationStore(session), settings.secret_key
            )
    except RegistrationError as error:
        errors.print(f"[red]not rotated[/red]: {error}")
        raise typer.Exit(code=2) from error
    console.print(f"client secret: {secret}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
) -> None:
    """Serve the custodian's web app and APIs."""
    import uvicorn  # noqa: PLC0415 - only needed when serving

    from opencustodian.web.app import create_app  # noqa: PLC0415

    settings = Settings()
    with _migrated_engine(settings) as engine:
        _housekeeping(settings, engine)
        uvicorn.run(
            create_app(settings, engine),
            host=host or settings.host,
            port=port or settings.port,
            proxy_headers=True,
        )


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=1, help="Customers to seed when empty.")] = 50,
    port: Annotated[int | None, typer.Option(help="TCP port of the custodian.")] = None,
    thirdparty_port: Annotated[int, typer.Option(help="TCP port of the demo third party.")] = 8001,
) -> None:
    """Seed a synthetic utility when empty, then serve it beside the demo third party."""
    settings = Settings()
    custodian_port = port or settings.port
    base = f"http://{settings.host}:{custodian_port}"
    tp_base = f"http://{settings.host}:{thirdparty_port}"
    with _migrated_engine(settings) as engine, db.session_factory(engine)() as session:
        existing = session.scalar(select(func.count()).select_from(RetailCustomer)) or 0
    if not existing:
        seed(customers=customers, seed=1, history_days=730)
    settings = Settings(base_url=settings.base_url or base)
    with _migrated_engine(settings) as engine:
        client_id, client_secret = demo_setup.prepare(engine, settings.secret_key, tp_base)
    console.print(f"\n[bold]OpenCustodian demo[/bold] on {_display_url(settings)}", soft_wrap=True)
    console.print(
        f"  Utility (custodian):   {base}/   — customers sign in at {base}/login", soft_wrap=True
    )
    console.print(
        f"  Third party (demo):    {tp_base}/   — start the Green Button journey here",
        soft_wrap=True,
    )
    console.print(
        f"  Share My Data:         {base}/portal/share   — the journey started at the utility"
    )
    console.print(
        f"  Administration:        {base}/admin   — {demo_setup.ADMIN_USERNAME} / {DEMO_PASSWORD}"
    )
    console.print(
        f"  Agreements (3rd party): {base}/partner/login   — sunspark-admin, sunspark-agent, "
        f"sunspark-viewer / {DEMO_PASSWORD}",
        soft_wrap=True,
    )
    console.print(f"  Dev mailbox:           {base}/dev/mailbox   — the emails sent")
    console.print(
        f"  OAuth metadata:        {base}/.well-known/oauth-authorization-server", soft_wrap=True
    )
    console.print(f"  API docs:              {base}/docs", soft_wrap=True)
    console.print(
        f"  Demo customers:        customer0001 … customer{customers:04d} / {DEMO_PASSWORD} "
        "(every tenth never registered: share by agreement, then /register)\n"
    )
    _serve_both(settings, (custodian_port, thirdparty_port), tp_base, (client_id, client_secret))


def _serve_both(
    settings: Settings, ports: tuple[int, int], tp_base: str, credentials: tuple[str, str]
) -> None:
    """Run the custodian and the demo third party in one process (two uvicorn servers)."""
    import asyncio  # noqa: PLC0415 - only needed when serving

    import uvicorn  # noqa: PLC0415

    from opencustodian.demo.thirdparty import (  # noqa: PLC0415
        ThirdPartyConfig,
        create_thirdparty_app,
    )
    from opencustodian.web.app import create_app  # noqa: PLC0415

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    thirdparty = create_thirdparty_app(
        ThirdPartyConfig(
            name=demo_setup.THIRD_PARTY_NAME,
            base_url=tp_base,
            custodian_name=load_profile(settings.profile).name,
            custodian_base_url=settings.base_url or "",
            client_id=credentials[0],
            client_secret=credentials[1],
            database_path=settings.data_dir / "demo-thirdparty.sqlite3",
            token_body_style="json",  # noqa: S106 - a body style, not a password
        )
    )
    with _migrated_engine(settings) as engine:
        _housekeeping(settings, engine)
        servers = [
            uvicorn.Server(uvicorn.Config(app, host=settings.host, port=port, log_level="info"))
            for app, port in ((create_app(settings, engine), ports[0]), (thirdparty, ports[1]))
        ]

        async def run_both() -> None:
            await asyncio.gather(*(server.serve() for server in servers))

        asyncio.run(run_both())


def _housekeeping(settings: Settings, engine: Engine) -> None:
    """Periodic agreement work in this process when no workers run it (see jobs.agreements)."""
    from opencustodian.jobs.agreements import start_housekeeping  # noqa: PLC0415 - serving only

    profile = load_profile(settings.profile)
    base_url = (settings.base_url or profile.base_url).rstrip("/")
    start_housekeeping(db.session_factory(engine), settings, profile, base_url)


@app.command()
def worker(
    workers: Annotated[int, typer.Option(min=1, help="Worker threads.")] = 2,
) -> None:
    """Run background jobs from the queue at OPENCUSTODIAN_JOBS_URL (notifications, expiry)."""
    if not Settings().jobs_url:
        errors.print(
            "[red]OPENCUSTODIAN_JOBS_URL is not set[/red]: jobs run inside the web process"
        )
        raise typer.Exit(code=2)
    from huey.consumer import Consumer  # noqa: PLC0415 - only the worker needs it

    from opencustodian.jobs.tasks import huey  # noqa: PLC0415 - reads the queue URL on import

    Consumer(huey, workers=workers, worker_type="thread", periodic=True).run()


admin = typer.Typer(help="Utility operators who use the admin pages.", no_args_is_help=True)
app.add_typer(admin, name="admin")


@admin.command("create-user")
def admin_create_user(
    username: Annotated[str, typer.Argument(help="Login name.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create an administrator for /admin (the password is stored as an Argon2 hash)."""
    from opencustodian.storage.admins import AdminUserError, create_admin  # noqa: PLC0415

    settings = Settings()
    try:
        with (
            _migrated_engine(settings) as engine,
            db.transaction(db.session_factory(engine)) as session,
        ):
            create_admin(session, username, password)
    except AdminUserError as error:
        errors.print(f"[red]not created[/red]: {error}")
        raise typer.Exit(code=2) from error
    console.print(f"administrator {username!r} created")


account = typer.Typer(help="Account changes that end data sharing.", no_args_is_help=True)
app.add_typer(account, name="account")


@account.command("move-out")
def account_move_out(
    number: Annotated[str, typer.Argument(help="Account number.")],
) -> None:
    """Record that the account left its service points today; its grants end."""
    _account_change(number, record_move_out)


@account.command("close")
def account_close(
    number: Annotated[str, typer.Argument(help="Account number.")],
) -> None:
    """Close the account today; its grants end."""
    _account_change(number, close_account)


def _account_change(number: str, change: Callable[..., list[EndedGrant]]) -> None:
    settings = Settings()
    base_url = settings.base_url or load_profile(settings.profile).base_url
    try:
        with _migrated_engine(settings) as engine:
            sessions = db.session_factory(engine)
            with db.transaction(sessions) as session:
                ended = change(
                    SqlAccountStore(session),
                    lifecycle_for(base_url)(session),
                    number,
                    day=utc_now().astimezone(load_profile(settings.profile).time_zone).date(),
                    now=utc_now(),
                )
            deliver_notifications(sessions)
    except UnknownAccountError as error:
        errors.print(f"[red]no change[/red]: {error}")
        raise typer.Exit(code=2) from error
    console.print(f"{len(ended)} grant(s) ended; their third parties were notified.")


def _display_url(settings: Settings) -> str:
    url = make_url(db.normalize_url(settings.resolved_database_url))
    return url.render_as_string(hide_password=True)


def _progress(label: str, *, total: int, bytes_: bool) -> Progress:
    del total
    columns = [TextColumn(f"[bold]{label}"), BarColumn()]
    columns.append(DownloadColumn() if bytes_ else TextColumn("{task.completed:,}/{task.total:,}"))
    columns.append(TimeRemainingColumn())
    return Progress(*columns, console=errors, transient=True, disable=not errors.is_terminal)


def main() -> None:
    """Console-script entry point."""
    app()
