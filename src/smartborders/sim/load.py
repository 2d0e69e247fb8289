"""Bulk loading of a synthetic population and its traffic into the EES tables, the same on both engines.

`load` writes individual files, travel documents, entry/exit records and refusal records in one
transaction (all or nothing, like a use case), as `ees.service` would have written them crossing by
crossing, so the service can take over: the next `record_exit` closes a generated open record, the
next `record_entry` computes the authorised stay from the generated stays.

What the data hold, and why:
- Every file and record is as if recorded without biometrics (face "missing", fingerprints "missing",
  "vis" for visa holders, "not_applicable" for children under 12 at their first crossing; records in
  mode "no_biometrics"): no biometric samples are generated, and a file that says "present" must have
  one. The next crossing through the service with biometrics completes the file.
- Client ids are "sim.<record id>.in" / ".out" and "sim.<refusal id>.refusal": unique, recognisable,
  and never a crossing point's own. No idempotency rows are written: nothing can be replayed.
- IDs are UUIDs (version 4 layout) drawn from the population's seed: loading a population twice fails
  on the first duplicate and leaves nothing behind.

Speed: SQLite gets Core `insert()` statements executed by the driver's executemany over values already
in SQLite's storage form (what SQLAlchemy's bind processors would produce, built column-wise with
numpy); PostgreSQL gets COPY in text format through psycopg 3 (`cursor.copy(...)`), about ten times
faster than INSERT. Both take the same column values. Ids ascend in the order rows are written, each
table's columns are built while the previous table is written, and on PostgreSQL a superuser's load
skips the per-row foreign-key triggers (see `load`). What is left is the schema's own cost: eight
indexes on the record table take two thirds of its COPY time (bench/ees_load.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cached_property, lru_cache

import numpy as np
from sqlalchemy import Connection, Engine, Table, UniqueConstraint, insert, select
from sqlalchemy.schema import AddConstraint, DropConstraint

from smartborders.ees.models import (
    CrossingPoint,
    EntryExitRecord,
    IndividualFile,
    RefusalRecord,
    TravelDocument,
)
from smartborders.reference.bcps import crossing_points
from smartborders.sim.population import NATIONALITY_CODES, SEX_CODES, Population, name_banks
from smartborders.sim.traffic import AUTHORITIES, NONE, Traffic

BATCH = 50_000  # rows per executemany / COPY buffer; one progress step


# ---- identifiers ---------------------------------------------------------------------------------


def uuid_hex(rng: np.random.Generator, n: int) -> list[str]:
    """`n` random UUIDs (version 4, RFC 9562 layout) as 32 hex digits, in ascending order: SQLAlchemy's
    storage of `Uuid` on SQLite, and a form PostgreSQL's uuid type reads. Rows get them in the order
    they are written, so every index keyed on an id (primary keys, file_id, the client ids made from
    record ids) grows at its right edge instead of at random pages (measured: records load 1.3-1.7
    times faster than with ids in random order)."""
    b = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    halves = b.view(">u8")  # (n, 2): byte order = the order of the hex text and of PostgreSQL's uuid
    b = b[np.lexsort((halves[:, 1], halves[:, 0]))]
    h = b.tobytes().hex()
    return [h[i:i + 32] for i in range(0, 32 * n, 32)]


# ---- values in each engine's storage form --------------------------------------------------------


def _lookup(values: np.ndarray, text: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`text(values)` as an object array, computed once per distinct value: dates, times of day and
    small integers repeat a lot, and numpy's conversions to text are slow per element."""
    if values.size == 0:
        return np.zeros(0, dtype=object)
    lo, hi = int(values.min()), int(values.max())
    if hi - lo <= 4 * values.size + 1024:
        table = text(np.arange(lo, hi + 1)).astype(object)
        return table[values - lo]
    distinct, inverse = np.unique(values, return_inverse=True)
    return text(distinct).astype(object)[inverse]


def _day_text(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days.astype("datetime64[D]"))


class _Form:
    """Column values as one engine stores them, `null` for SQL NULL."""

    name = ""
    null: str | None = None
    time_text: Callable[[np.ndarray], np.ndarray]  # seconds of the day -> the text after the date
    true_false: tuple[object, object]

    def nullable(self, values: np.ndarray, missing: np.ndarray | None) -> list:
        if missing is None:
            return values.tolist()
        out = values.astype(object)
        out[missing] = self.null
        return out.tolist()

    def nulls(self, n: int) -> list:
        return [self.null] * n

    def dates(self, days: np.ndarray, missing: np.ndarray | None = None) -> list:
        safe = days
        if missing is not None:  # any real day stands in for the NULLs: it keeps the lookup table small
            safe = np.where(missing, days[~missing][0] if (~missing).any() else 0, days)
        return self.nullable(_lookup(safe, _day_text), missing)

    def instants(self, seconds: np.ndarray) -> list:
        missing = seconds == NONE
        safe = np.where(missing, 0, seconds)
        day, sod = np.divmod(safe, 86_400)
        return self.nullable(_lookup(day, _day_text) + _lookup(sod, type(self).time_text), missing)

    def booleans(self, values: np.ndarray) -> list:
        return np.array(self.true_false, dtype=object)[values.astype(np.int8)].tolist()

    def integers(self, values: np.ndarray, missing: np.ndarray | None = None) -> list:
        raise NotImplementedError


@lru_cache(maxsize=4)
def _clock_table(before: str, after: str) -> np.ndarray:
    """The text of every second of a day, between `before` and `after`."""
    return np.array([f"{before}{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{after}" for s in range(86_400)],
                    dtype=object)


def _clock_text(sod: np.ndarray, before: str, after: str) -> np.ndarray:
    return _clock_table(before, after)[sod]


class _SqliteForm(_Form):
    """What SQLAlchemy writes on SQLite: "YYYY-MM-DD HH:MM:SS.ffffff" in UTC (UTCDateTime), 1/0."""

    name = "sqlite"
    true_false = (0, 1)

    @staticmethod
    def time_text(sod: np.ndarray) -> np.ndarray:
        return _clock_text(sod, " ", ".000000")

    def integers(self, values: np.ndarray, missing: np.ndarray | None = None) -> list:
        return self.nullable(values.astype(np.int64).astype(object), missing)


class _PostgresForm(_Form):
    """COPY text format: ISO 8601 instants with their UTC offset, t/f, NULL as \\N. No value needs
    escaping: names are A-Z and spaces, everything else codes, digits and dates (`_check_text`)."""

    name = "postgresql"
    null = "\\N"
    true_false = ("f", "t")

    @staticmethod
    def time_text(sod: np.ndarray) -> np.ndarray:
        return _clock_text(sod, "T", "Z")

    def integers(self, values: np.ndarray, missing: np.ndarray | None = None) -> list:
        return self.nullable(_lookup(values.astype(np.int64), lambda v: v.astype(str)), missing)


# ---- the rows --------------------------------------------------------------------------------------


class Rows:
    """Every generated row, column by column, with the ids that tie them together."""

    def __init__(self, population: Population, traffic: Traffic) -> None:
        self.population, self.traffic = population, traffic
        n = len(population)
        has = np.zeros(n, dtype=bool)
        has[traffic.traveller] = True
        has[traffic.refusal_traveller] = True
        self.travellers = np.flatnonzero(has)  # only people who crossed or were refused have a file
        self.file_id = np.full(n, None, dtype=object)
        self.file_id[self.travellers] = uuid_hex(self._ids(1), self.travellers.size)
        self.document_id = np.full(n, None, dtype=object)
        self.document_id[self.travellers] = uuid_hex(self._ids(2), self.travellers.size)
        states = [crossing_points()[c].state for c in traffic.bcps]
        self.bcp_authority = np.array([AUTHORITIES.get(s, f"{s}-BORDER") for s in states], dtype=object)
        self.bcp_code = np.array(traffic.bcps, dtype=object)
        self._events()

    def _ids(self, kind: int) -> np.random.Generator:
        """One stream per kind of id, so each table's ids can be made when that table is built."""
        return np.random.default_rng([self.population.seed, 0x1D5, kind])

    @cached_property
    def record_id(self) -> list[str]:
        return uuid_hex(self._ids(3), self.traffic.records)

    @cached_property
    def refusal_id(self) -> list[str]:
        return uuid_hex(self._ids(4), self.traffic.refusals)

    def _events(self) -> None:
        """Per file: the first event (it created the file and its document) and the last (updated_at)."""
        tr, n = self.traffic, len(self.population)
        big = np.iinfo(np.int64).max
        first_at = np.full(n, big, dtype=np.int64)
        first_day = np.zeros(n, dtype=np.int32)
        first_bcp = np.zeros(n, dtype=np.int16)
        last_at = np.full(n, -1, dtype=np.int64)
        # Records are ordered by traveller then entry, refusals by traveller then time: the first row
        # of each traveller is its earliest of that kind.
        for who, at, day, bcp in ((tr.traveller, tr.entry_at, tr.entry_day, tr.entry_bcp),
                                  (tr.refusal_traveller, tr.refusal_at, tr.refusal_day, tr.refusal_bcp)):
            if who.size == 0:
                continue
            t, i = np.unique(who, return_index=True)
            earlier = at[i] < first_at[t]
            first_at[t[earlier]] = at[i][earlier]
            first_day[t[earlier]] = day[i][earlier]
            first_bcp[t[earlier]] = bcp[i][earlier]
            np.maximum.at(last_at, who, at)
        if tr.records:
            closed = tr.exit_at != NONE
            np.maximum.at(last_at, tr.traveller[closed], tr.exit_at[closed])
        self.created_at, self.created_day, self.created_bcp = first_at, first_day, first_bcp
        self.updated_at = last_at

    # Each table as (column name, values) in the engine's storage form.

    def files(self, form: _Form) -> dict[str, list]:
        p, t = self.population, self.travellers
        nat = np.array(NATIONALITY_CODES, dtype=object)[p.nationality[t]]
        visa_required = p.visa_required[t]
        # EES Art. 17(3): under 12 on the day the file was created (ees.service._fingerprint_status).
        born = p.birth[t].astype("datetime64[D]")
        made = self.created_day[t].astype("datetime64[D]")
        by, bm, bd = _ymd(born)
        my, mm, md = _ymd(made)
        age = my - by - ((mm < bm) | ((mm == bm) & (md < bd)))
        child = ~visa_required & (age < 12)
        fp = np.where(visa_required, "vis", np.where(child, "not_applicable", "missing")).astype(object)
        exemption = form.nullable(np.full(t.size, "under_12", dtype=object), ~child)
        k = t.size
        return {
            "id": self.file_id[t].tolist(),
            "surname": p.surnames(t).tolist(),
            "given_names": p.given_names(t).tolist(),
            "birth_date": form.dates(p.birth[t]),
            "sex": np.array(SEX_CODES, dtype=object)[p.sex[t]].tolist(),
            "nationality": nat.tolist(),
            "other_nationalities": [""] * k,
            "visa_required": form.booleans(visa_required),
            "nfp": form.booleans(np.zeros(k, dtype=bool)),
            "fingerprint_status": fp.tolist(),
            "fingerprint_exemption": exemption,
            "face_status": ["missing"] * k,
            "created_at": form.instants(self.created_at[t]),
            "created_by": self.bcp_authority[self.created_bcp[t]].tolist(),
            "updated_at": form.instants(self.updated_at[t]),
        }

    def documents(self, form: _Form) -> dict[str, list]:
        p, t = self.population, self.travellers
        return {
            "id": self.document_id[t].tolist(),
            "file_id": self.file_id[t].tolist(),
            "document_type": ["P"] * t.size,
            "number": p.document_numbers(t),
            "issuing_state": np.array(NATIONALITY_CODES, dtype=object)[p.nationality[t]].tolist(),
            "expiry_date": form.dates(p.expiry[t]),
            "first_used_at": form.instants(self.created_at[t]),
        }

    def records(self, form: _Form) -> dict[str, list]:
        tr = self.traffic
        r = tr.records
        open_ = tr.exit_day == NONE
        no_visa = tr.visa == NONE
        v = np.where(no_visa, 0, tr.visa)
        vs = lambda col: col[v] if col.size else np.zeros(r, dtype=col.dtype)  # noqa: E731
        rid = np.array(self.record_id, dtype=object)
        entries = vs(tr.visa_entries)
        no_rule = tr.authorised_until == NONE
        exit_bcp = np.where(open_, 0, tr.exit_bcp)
        return {
            "id": self.record_id,
            "file_id": self.file_id[tr.traveller].tolist(),
            "entry_client_id": ("sim." + rid + ".in").tolist(),
            "entry_at": form.instants(tr.entry_at),
            "entry_date": form.dates(tr.entry_day),
            "entry_bcp": self.bcp_code[tr.entry_bcp].tolist(),
            "entry_authority": self.bcp_authority[tr.entry_bcp].tolist(),
            "entry_from_stamp": form.booleans(np.zeros(r, dtype=bool)),
            "document_id": self.document_id[tr.traveller].tolist(),
            "family_member": form.booleans(tr.family_member),
            "visa_sticker": form.nullable(vs(tr.visa_sticker), no_visa),
            "visa_issuing_state": form.nullable(vs(tr.visa_issuing_state), no_visa),
            "visa_type": form.nullable(np.full(r, "C", dtype=object), no_visa),
            "visa_entries": form.integers(entries, no_visa | (entries == 0)),
            "visa_duration_days": form.integers(vs(tr.visa_duration_days), no_visa),
            "visa_valid_from": form.dates(vs(tr.visa_valid_from), no_visa),
            "visa_valid_until": form.dates(vs(tr.visa_valid_until), no_visa),
            "visa_ltv_states": form.nulls(r),
            "max_stay_days": form.integers(tr.max_stay_days, no_rule),
            "authorised_until": form.dates(tr.authorised_until, no_rule),
            "exit_client_id": form.nullable("sim." + rid + ".out", open_),
            "exit_at": form.instants(tr.exit_at),
            "exit_date": form.dates(tr.exit_day, open_),
            "exit_bcp": form.nullable(self.bcp_code[exit_bcp], open_),
            "exit_authority": form.nullable(self.bcp_authority[exit_bcp], open_),
            "overstay": form.booleans(tr.overstay),
            "overstay_flagged_at": form.instants(tr.overstay_flagged_at),
            "fallback": form.booleans(np.zeros(r, dtype=bool)),
            "mode": ["no_biometrics"] * r,
        }

    def refusals(self, form: _Form) -> dict[str, list]:
        tr = self.traffic
        rid = np.array(self.refusal_id, dtype=object)
        return {
            "id": self.refusal_id,
            "file_id": self.file_id[tr.refusal_traveller].tolist(),
            "client_id": ("sim." + rid + ".refusal").tolist(),
            "refused_at": form.instants(tr.refusal_at),
            "refusal_date": form.dates(tr.refusal_day),
            "bcp": self.bcp_code[tr.refusal_bcp].tolist(),
            "authority": self.bcp_authority[tr.refusal_bcp].tolist(),
            "reasons": tr.refusal_reasons.astype(object).tolist(),
            "fallback": form.booleans(np.zeros(tr.refusals, dtype=bool)),
        }


def _ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    return (y.astype(np.int64), (m - y.astype("datetime64[M]")).astype(np.int64),
            (d - m.astype("datetime64[D]")).astype(np.int64))


# ---- writing -------------------------------------------------------------------------------------

TABLES: tuple[tuple[str, Table], ...] = (
    ("files", IndividualFile.__table__),  # type: ignore[attr-defined]
    ("documents", TravelDocument.__table__),  # type: ignore[attr-defined]
    ("records", EntryExitRecord.__table__),  # type: ignore[attr-defined]
    ("refusals", RefusalRecord.__table__),  # type: ignore[attr-defined]
)


def load(engine: Engine, population: Population, traffic: Traffic, *, progress: bool = False,
         fk_triggers: bool | None = None) -> dict[str, float | str]:
    """Write the population's files and documents and the traffic's records and refusals, in one
    transaction. Returns the rows written per table, the seconds taken and how foreign keys were held.

    PostgreSQL checks a foreign key with a trigger per row, four per entry/exit record: that costs
    more than the COPY itself (bench/ees_load.py). The references written here hold by construction
    (every file, document and record id is made here; the crossing points are checked and locked
    FOR KEY SHARE, as the triggers would), so where the role may (a superuser) and the tables carry no
    triggers of their own, `fk_triggers=None` skips them for this transaction only
    (`SET LOCAL session_replication_role = replica`, what pg_restore --disable-triggers does).
    `fk_triggers=True` keeps them; SQLite always checks (PRAGMA foreign_keys=ON)."""
    t0 = time.perf_counter()
    rows = Rows(population, traffic)
    form: _Form = _SqliteForm() if engine.dialect.name == "sqlite" else _PostgresForm()
    if form.name != "sqlite":
        _check_text()
    counts = {"files": int(rows.travellers.size), "documents": int(rows.travellers.size),
              "records": traffic.records, "refusals": traffic.refusals}
    writer = _write_sqlite if form.name == "sqlite" else _write_postgres
    # Each table's columns are built on a second thread while the previous table is written: the
    # database (SQLite's C code, PostgreSQL's server process) works without the GIL meanwhile.
    with _progress(progress, counts) as advance, ThreadPoolExecutor(1) as builder, engine.begin() as conn:
        _lock_crossing_points(conn, traffic)
        checks = "sqlite" if form.name == "sqlite" else _foreign_key_checks(conn, fk_triggers)
        if form.name != "sqlite":
            # Index builds sort in memory instead of in temporary files (the default is 64 MB).
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
        if form.name == "sqlite":
            # A larger page cache for this connection while the indexes grow; put back afterwards.
            before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
        futures = [builder.submit(getattr(rows, key), form) for key, _ in TABLES]
        try:
            for (key, table), columns in zip(TABLES, futures):
                writer(conn, table, columns.result(), lambda k, key=key: advance(key, k))
        finally:
            for f in futures:
                f.cancel()
            if form.name == "sqlite":
                conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")
    # Fresh statistics, committed: without them PostgreSQL guessed 42,000 records per file and chose a
    # parallel scan with JIT for a border check's lookup (25 ms instead of 0.2 ms, measured).
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    seconds = time.perf_counter() - t0
    return {**counts, "seconds": round(seconds, 3), "foreign_keys": checks}


def _lock_crossing_points(conn: Connection, traffic: Traffic) -> None:
    """The crossing points the records name exist, and stay until the commit (FOR KEY SHARE on
    PostgreSQL, as the foreign-key triggers lock them; SQLite's write transaction locks everything)."""
    have = set(conn.scalars(select(CrossingPoint.code).where(CrossingPoint.code.in_(traffic.bcps))
                            .with_for_update(key_share=True)))
    missing = sorted(set(traffic.bcps) - have)
    if missing:
        raise RuntimeError(f"crossing points {', '.join(missing)} are not in ees_crossing_point: migrate the "
                           "database first (smartborders.core.migrate.upgrade)")


def _foreign_key_checks(conn: Connection, fk_triggers: bool | None) -> str:
    """"triggers", or "construction" where this transaction skips the per-row foreign-key triggers."""
    if fk_triggers:
        return "triggers"
    names = [t.name for _, t in TABLES]
    own = conn.exec_driver_sql(
        "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = ANY(%(t)s::regclass[])",
        {"t": names}).scalar()
    superuser = conn.exec_driver_sql("SELECT current_setting('is_superuser')").scalar() == "on"
    if own or not superuser:
        if fk_triggers is False:
            raise RuntimeError("cannot skip the foreign-key triggers: " + (
                "the tables have triggers of their own" if own else "only a superuser may"))
        return "triggers"
    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    return "construction"


def _ordered(table: Table, columns: dict[str, list]) -> list[str]:
    names = [c.name for c in table.columns]
    if set(names) != set(columns):
        raise AssertionError(f"{table.name}: columns {sorted(set(names) ^ set(columns))} missing or unknown")
    return names


def _write_sqlite(conn: Connection, table: Table, columns: dict[str, list],
                  advance: Callable[[int], None]) -> None:
    names = _ordered(table, columns)
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=names)
    order = list(compiled.positiontup or names)
    values = [columns[name] for name in order]
    n = len(values[0]) if values else 0
    for lo in range(0, n, BATCH):
        batch = list(zip(*(v[lo:lo + BATCH] for v in values)))
        conn.exec_driver_sql(str(compiled), batch)
        advance(len(batch))


def _write_postgres(conn: Connection, table: Table, columns: dict[str, list],
                    advance: Callable[[int], None]) -> None:
    # Into an empty table, building each secondary index once after the COPY is cheaper than
    # growing all of them row by row; into a table with data, rebuilding would cost more.
    # Unique constraints too (the client ids of the records: two of its largest indexes); primary
    # keys stay, other tables' foreign keys hang on them.
    empty = conn.exec_driver_sql(f"SELECT NOT EXISTS (SELECT 1 FROM {table.name})").scalar()
    rebuild = [ix for ix in table.indexes if empty]
    unique = [c for c in table.constraints if empty and isinstance(c, UniqueConstraint)]
    for ix in rebuild:
        ix.drop(conn)
    for c in unique:
        conn.execute(DropConstraint(c))
    _copy_postgres(conn, table, columns, advance)
    for c in unique:
        conn.execute(AddConstraint(c))
    for ix in rebuild:
        ix.create(conn)


def _copy_postgres(conn: Connection, table: Table, columns: dict[str, list],
                   advance: Callable[[int], None]) -> None:
    names = _ordered(table, columns)
    values = [columns[name] for name in names]
    n = len(values[0]) if values else 0
    raw = conn.connection.driver_connection  # the psycopg connection, inside this transaction
    sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for lo in range(0, n, BATCH):
            lines = ["\t".join(row) for row in zip(*(v[lo:lo + BATCH] for v in values))]
            copy.write("\n".join(lines) + "\n")
            advance(len(lines))


def _check_text() -> None:
    """The only free text is the name banks: COPY's text format needs no escaping if they hold none
    of its special characters."""
    for bank in name_banks():
        joined = "".join(bank.tolist())
        if any(ch in joined for ch in "\\\t\n\r"):
            raise AssertionError("a name holds a character that COPY would need escaped")


@contextmanager
def _progress(show: bool, totals: dict[str, int]) -> Iterator[Callable[[str, int], None]]:
    if not show:
        yield lambda key, k: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=False) as bar:
        tasks = {k: bar.add_task(k, total=v) for k, v in totals.items()}
        yield lambda key, k: bar.advance(tasks[key], k)


def count_rows(engine: Engine) -> dict[str, int]:
    """Rows per EES table, for comparing a database with what was generated."""
    from sqlalchemy import func

    with engine.connect() as conn:
        return {key: int(conn.scalar(select(func.count()).select_from(table)) or 0) for key, table in TABLES}
