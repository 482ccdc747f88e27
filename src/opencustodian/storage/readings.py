"""Bulk reading storage: the one importer, with a fast path per backend.

Readings move as tuples, never ORM objects. A batch whose span holds no stored readings is
appended with the driver's fastest bulk path (``executemany`` on SQLite, binary ``COPY`` on
PostgreSQL); any other batch is staged the same way and merged with set-based SQL that records
each replaced reading in ``reading_revisions`` before replacing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opencustodian.domain.ingest import MergeCounts
from opencustodian.domain.metering import START
from opencustodian.kit.time import utc_now

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Connection

    from opencustodian.domain.metering import Reading

READING_COLUMNS = "start, duration, value, cost, quality"
_COPY_TYPES = ["int8", "int4", "int8", "int8", "int2"]
_STAGE = "staged_readings"


class ReadingRepository:
    """Reads and writes the columnar ``interval_readings`` table on one connection."""

    def __init__(self, connection: Connection) -> None:
        """Work inside ``connection``'s current transaction."""
        self._connection = connection
        self._dialect = connection.dialect.name
        self._stage_ready = False

    def merge_readings(self, meter_reading_id: int, readings: Sequence[Reading]) -> MergeCounts:
        """Insert new readings, replace changed ones (recording revisions), count unchanged.

        Within one batch a later reading for the same start wins, as in a corrected feed.
        """
        if not readings:
            return MergeCounts()
        starts = [reading[START] for reading in readings]
        batch = _last_per_start(readings, starts)
        first, last = min(starts), max(starts)
        if not self._has_readings_between(meter_reading_id, first, last):
            self._append(meter_reading_id, batch)
            return MergeCounts(inserted=len(batch))
        return self._merge_staged(meter_reading_id, batch)

    def _has_readings_between(self, meter_reading_id: int, first: int, last: int) -> bool:
        row = self._driver_fetchone(
            "SELECT 1 FROM interval_readings WHERE meter_reading_id = %(m)s"
            " AND start BETWEEN %(a)s AND %(b)s LIMIT 1",
            {"m": meter_reading_id, "a": first, "b": last},
        )
        return row is not None

    def _append(self, meter_reading_id: int, batch: Sequence[Reading]) -> None:
        if self._dialect == "postgresql":
            columns = f"meter_reading_id, {READING_COLUMNS}"
            self._copy_rows("interval_readings", columns, batch, meter_reading_id)
            return
        # The meter reading id is an int we own, so it is inlined and the Reading tuples are
        # handed to executemany as they are: no per-row tuple is built.
        sql = (
            f"INSERT INTO interval_readings (meter_reading_id, {READING_COLUMNS})"  # noqa: S608
            f" VALUES ({int(meter_reading_id)}, ?, ?, ?, ?, ?)"
        )
        self._raw().executemany(sql, batch)

    def _merge_staged(self, meter_reading_id: int, batch: Sequence[Reading]) -> MergeCounts:
        self._stage(batch)
        differs = _differs_sql(self._dialect)
        params = {"m": meter_reading_id, "now": self._now()}
        counts = self._driver_fetchone(
            f"SELECT COUNT(*) FILTER (WHERE r.start IS NULL),"  # noqa: S608 - constant fragments
            f" COUNT(*) FILTER (WHERE r.start IS NOT NULL AND {differs})"
            f" FROM {_STAGE} s LEFT JOIN interval_readings r"
            " ON r.meter_reading_id = %(m)s AND r.start = s.start",
            params,
        )
        inserted, updated = (int(counts[0]), int(counts[1])) if counts else (0, 0)
        if updated:
            self._record_revisions(params, differs)
        self._driver_execute(
            f"INSERT INTO interval_readings (meter_reading_id, {READING_COLUMNS})"  # noqa: S608
            f" SELECT %(m)s, {READING_COLUMNS} FROM {_STAGE} WHERE true"
            " ON CONFLICT (meter_reading_id, start) DO UPDATE SET"
            " duration = excluded.duration, value = excluded.value,"
            " cost = excluded.cost, quality = excluded.quality"
            f" WHERE {_differs_sql(self._dialect, 'interval_readings', 'excluded')}",
            params,
        )
        return MergeCounts(
            inserted=inserted, updated=updated, unchanged=len(batch) - inserted - updated
        )

    def _now(self) -> object:
        # Raw driver calls bypass the column type: SQLite gets the text form SQLAlchemy stores.
        now = utc_now()
        return now if self._dialect == "postgresql" else now.strftime("%Y-%m-%d %H:%M:%S.%f")

    def _record_revisions(self, params: dict[str, Any], differs: str) -> None:
        self._driver_execute(
            "INSERT INTO reading_revisions (meter_reading_id, start, old_duration, old_value,"  # noqa: S608 - constant fragments
            " old_cost, old_quality, new_duration, new_value, new_cost, new_quality, revised_at)"
            " SELECT r.meter_reading_id, r.start, r.duration, r.value, r.cost, r.quality,"
            " s.duration, s.value, s.cost, s.quality, %(now)s"
            f" FROM {_STAGE} s JOIN interval_readings r"
            f" ON r.meter_reading_id = %(m)s AND r.start = s.start WHERE {differs}",
            params,
        )

    def _stage(self, batch: Sequence[Reading]) -> None:
        if not self._stage_ready:
            temp = "TEMP TABLE IF NOT EXISTS"
            self._driver_execute(
                # No key: batches are already one reading per start, and an index here would
                # only slow the load (PostgreSQL keeps dead index entries across batches).
                f"CREATE {temp} {_STAGE} (start BIGINT NOT NULL, duration INTEGER NOT NULL,"
                " value BIGINT NOT NULL, cost BIGINT, quality SMALLINT)",
                {},
            )
            self._stage_ready = True
        empty = "TRUNCATE" if self._dialect == "postgresql" else "DELETE FROM"
        self._driver_execute(f"{empty} {_STAGE}", {})
        if self._dialect == "postgresql":
            self._copy_rows(_STAGE, READING_COLUMNS, batch, None)
        else:
            self._raw().executemany(
                f"INSERT INTO {_STAGE} ({READING_COLUMNS}) VALUES (?, ?, ?, ?, ?)",  # noqa: S608
                batch,
            )

    def _copy_rows(
        self, table: str, columns: str, batch: Sequence[Reading], meter_reading_id: int | None
    ) -> None:
        types = _COPY_TYPES if meter_reading_id is None else ["int4", *_COPY_TYPES]
        with (
            self._raw().cursor() as cursor,
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(types)
            if meter_reading_id is None:
                for reading in batch:
                    copy.write_row(reading)
            else:
                for reading in batch:
                    copy.write_row((meter_reading_id, *reading))

    def _raw(self) -> Any:  # noqa: ANN401 - the DB-API connection differs per driver
        return self._connection.connection.driver_connection

    def _driver_execute(self, sql: str, params: dict[str, Any]) -> None:
        cursor = self._raw().cursor()
        try:
            cursor.execute(*_for_driver(self._dialect, sql, params))
        finally:
            cursor.close()

    def _driver_fetchone(self, sql: str, params: dict[str, Any]) -> Any:  # noqa: ANN401
        cursor = self._raw().cursor()
        try:
            cursor.execute(*_for_driver(self._dialect, sql, params))
            return cursor.fetchone()
        finally:
            cursor.close()


def _for_driver(dialect: str, sql: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Named ``%(x)s`` placeholders are psycopg's; sqlite3 spells them ``:x``."""
    if dialect == "postgresql":
        return sql, params
    for name in params:
        sql = sql.replace(f"%({name})s", f":{name}")
    return sql, params


def _differs_sql(dialect: str, old: str = "r", new: str = "s") -> str:
    """SQL true when a stored reading differs from its replacement (NULL-safe)."""
    op = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return " OR ".join(
        f"{old}.{column} {op} {new}.{column}" for column in ("duration", "value", "cost", "quality")
    ).join("()")


def _last_per_start(readings: Sequence[Reading], starts: list[int]) -> Sequence[Reading]:
    """``readings`` with one reading per start, the last one winning (usually a no-op)."""
    if len(set(starts)) == len(readings):
        return readings
    return list({reading[START]: reading for reading in readings}.values())
