"""The persistent request cache: one sqlite file per cache directory (WAL mode).

Three tables:
- `results`: the raw successful response of each request key (text, reasoning, finish_reason, usage). Only
  successes are served as results; a re-run of a finished stage sends nothing.
- `failures`: the last failure of each key (reason, redacted detail, last text). Deterministic failures
  (unparseable / length / content_filter after the allowed re-samples, bad_request) are returned as failed by a
  normal re-run without re-sending; `retry_failed` re-sends them. Transient ones (`TRANSIENT_FAILURES`:
  connection, timeout, rate_limited, server_error, auth) are kept for diagnosis only: a plain re-run sends those
  requests again. A later success deletes the failure row.
- `batches`: Batch API jobs (id, stage, the keys they carry, state), so a re-run polls a submitted job
  instead of paying for it twice.

Every write is its own committed transaction, so a kill -9 loses at most the requests in flight; WAL mode
with a busy timeout lets several processes share the file. The engine writes from its own thread and
connection (`CacheWriter`), never on the event loop; writes that meet a locked database stay pending and are
retried, and if the lock outlives the run they are saved to a side file that the next open imports. Reads are batched (`IN (...)` chunks) so that
tens of thousands of cached requests resolve in well under a second.
"""

from __future__ import annotations

import fcntl
import json
import logging
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from star1_hub.errors import Star1Error
from star1_hub.teacher.records import TRANSIENT_FAILURES

logger = logging.getLogger(__name__)

CACHE_FILENAME = "teacher_cache.sqlite"
PENDING_SUFFIX = ".pending.jsonl"
_CHUNK = 900  # below sqlite's default limit of host parameters per statement

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY, stage TEXT, model TEXT, response TEXT NOT NULL, created REAL);
CREATE TABLE IF NOT EXISTS failures (
    key TEXT PRIMARY KEY, stage TEXT, reason TEXT NOT NULL, detail TEXT, attempts INTEGER, response TEXT, updated REAL);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY, stage TEXT, keys TEXT NOT NULL, state TEXT NOT NULL, created REAL);
"""


class CacheError(Star1Error, RuntimeError):
    """The cache file cannot be opened or is not a star1-hub teacher cache."""


def damaged_message(path: Path, exc: BaseException) -> str:
    """The error text for a damaged cache: what happened and how to keep the good rows."""
    return (
        f"the teacher cache {path} cannot be read ({exc}). To keep every readable answer, salvage it into a new "
        f"file and use that: `python -m star1_hub.teacher.cache salvage {path} {path.with_suffix('.salvaged.sqlite')}`"
        f", then move the damaged file aside and rename the salvaged one to {path.name} (only the unreadable rows "
        "are sent again). Moving the file aside without salvaging re-sends (and re-pays) every request."
    )


class RequestCache:
    """Sqlite-backed cache of request results, failures and batch jobs.

    Args:
        cache_dir: Directory holding `teacher_cache.sqlite` (created if missing).
    """

    def __init__(self, cache_dir: Path, busy_timeout_s: float = 60.0):
        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / CACHE_FILENAME
        # Switching a new file to WAL and creating the schema can answer SQLITE_BUSY at once (without waiting for
        # the busy timeout) when another process does the same at the same moment: serialise just this step.
        with open(cache_dir / f"{CACHE_FILENAME}.init-lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self.db = sqlite3.connect(
                    self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
                )
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes (kill -9) in WAL mode
                self.db.executescript(_SCHEMA)
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise CacheError(f"teacher cache {self.path} is locked by another process: {exc}") from exc
                raise CacheError(damaged_message(self.path, exc)) from exc
            except sqlite3.DatabaseError as exc:
                raise CacheError(damaged_message(self.path, exc)) from exc
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        self.import_pending()

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def _select(self, sql: str, keys: list[str], extra: tuple = ()) -> list[tuple]:
        rows: list[tuple] = []
        try:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                rows.extend(self.db.execute(sql.format(",".join("?" * len(chunk))), [*chunk, *extra]))
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise
            raise CacheError(damaged_message(self.path, exc)) from exc
        except sqlite3.DatabaseError as exc:
            raise CacheError(damaged_message(self.path, exc)) from exc
        return rows

    def get_results(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Cached successful responses for the given keys (missing keys are absent)."""
        rows = self._select("SELECT key, response FROM results WHERE key IN ({})", keys)
        return {key: json.loads(response) for key, response in rows}

    def get_failures(self, keys: list[str], final_only: bool = True) -> dict[str, dict[str, Any]]:
        """Recorded failures for the given keys: {key: {reason, detail, attempts, response}}.

        With `final_only` (the default) transient failures (`TRANSIENT_FAILURES`) are left out: their requests
        are sent again.
        """
        sql = "SELECT key, reason, detail, attempts, response FROM failures WHERE key IN ({})"
        extra: tuple = ()
        if final_only:
            sql += f" AND reason NOT IN ({','.join('?' * len(TRANSIENT_FAILURES))})"
            extra = TRANSIENT_FAILURES
        rows = self._select(sql, keys, extra)
        return {
            key: {
                "reason": reason,
                "detail": detail,
                "attempts": attempts,
                "response": json.loads(response) if response else None,
            }
            for key, reason, detail, attempts, response in rows
        }

    def put_result(
        self, key: str, stage: str, model: str, response: dict[str, Any], clear_failure: bool = True
    ) -> None:
        """Store a success, committed at once (one autocommitted statement when there is no failure row to drop).

        Lookups read `results` first, so a stale failure row never hides a success; `clear_failure` only keeps
        the failures table tidy after `retry_failed` fixed a request.
        """
        row = (key, stage, model, json.dumps(response), time.time())
        insert = "INSERT OR REPLACE INTO results (key, stage, model, response, created) VALUES (?, ?, ?, ?, ?)"
        if not clear_failure:
            self.db.execute(insert, row)
            return
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(insert, row)
            self.db.execute("DELETE FROM failures WHERE key = ?", (key,))

    def put_outcomes(
        self,
        outcomes: list[tuple[str, dict[str, Any] | None, str | None, str | None, int]],
        stage: str,
        model: str,
        clear_failures: bool,
    ) -> None:
        """Commit many outcomes `(key, response, error, detail, attempts)` in one transaction.

        Successes (error None) go to `results`, failures to `failures`; `clear_failures` drops the failure
        rows of keys that now succeeded (after `retry_failed`).
        """
        now = time.time()
        successes = [(k, stage, model, json.dumps(r), now) for k, r, error, _, _ in outcomes if error is None]
        failures = [
            (k, stage, error, detail, attempts, json.dumps(r) if r else None, now)
            for k, r, error, detail, attempts in outcomes
            if error is not None
        ]
        with self.db:
            self.db.execute("BEGIN")
            if successes:
                self.db.executemany(
                    "INSERT OR REPLACE INTO results (key, stage, model, response, created) VALUES (?, ?, ?, ?, ?)",
                    successes,
                )
                if clear_failures:
                    self.db.executemany("DELETE FROM failures WHERE key = ?", [(row[0],) for row in successes])
            if failures:
                self.db.executemany(
                    "INSERT OR REPLACE INTO failures (key, stage, reason, detail, attempts, response, updated)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    failures,
                )

    def put_results(self, rows: Iterable[tuple[str, str, str, dict[str, Any]]]) -> None:
        """Store many successes (key, stage, model, response) in one transaction."""
        now = time.time()
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO results (key, stage, model, response, created) VALUES (?, ?, ?, ?, ?)",
                ((key, stage, model, json.dumps(response), now) for key, stage, model, response in rows),
            )

    # --- pending writes saved by a run that could not get the write lock --------------------------------------

    def import_pending(self) -> int:
        """Write the outcomes of a side file left by an earlier run into the cache, then delete it."""
        path = self.path.with_name(self.path.name + PENDING_SUFFIX)
        if not path.exists():
            return 0
        records = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                logger.warning("skipping an unreadable line of %s (a run was killed while saving it)", path)
        try:
            for record in records:
                self.put_outcomes([tuple(record["outcome"])], record["stage"], record["model"], record["clear"])
        except sqlite3.OperationalError as exc:
            logger.warning("could not import %s yet (%s); it stays for the next run", path, exc)
            return 0
        path.unlink()
        logger.info("imported %d pending outcome(s) from %s", len(records), path)
        return len(records)

    def count_results(self) -> int:
        """Number of cached successes."""
        return self.db.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    # --- Batch API jobs -----------------------------------------------------------------------------------

    def add_batch(self, batch_id: str, stage: str, keys: list[str]) -> None:
        """Persist a submitted batch job and the keys it carries."""
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO batches (batch_id, stage, keys, state, created) VALUES (?, ?, ?, 'submitted', ?)",
                (batch_id, stage, json.dumps(keys), time.time()),
            )

    def open_batches(self, stage: str) -> dict[str, list[str]]:
        """Submitted, not yet collected batch jobs of a stage: {batch_id: keys}."""
        rows = self.db.execute("SELECT batch_id, keys FROM batches WHERE stage = ? AND state = 'submitted'", (stage,))
        return {batch_id: json.loads(keys) for batch_id, keys in rows}

    def close_batch(self, batch_id: str, state: str) -> None:
        """Mark a batch job collected (or failed/expired)."""
        with self.db:
            self.db.execute("UPDATE batches SET state = ? WHERE batch_id = ?", (state, batch_id))


class CacheWriter:
    """Writes outcomes from a background thread with its own connection, so the event loop never waits on sqlite.

    Outcomes are queued with `submit()`; the thread commits each batch in one transaction. When the database is
    locked by another process, the batch stays pending and is retried (the busy timeout of each try is short);
    nothing that was paid for is dropped. `close()` flushes and waits up to `final_wait_s` for the lock, then saves
    what is still pending to a side file the next open imports, and logs where it is.
    """

    def __init__(
        self,
        cache_dir: Path,
        stage: str,
        model: str,
        clear_failures: bool,
        busy_timeout_s: float = 2.0,
        final_wait_s: float = 120.0,
    ):
        self.cache_dir, self.stage, self.model, self.clear_failures = Path(cache_dir), stage, model, clear_failures
        self.busy_timeout_s, self.final_wait_s = busy_timeout_s, final_wait_s
        self._pending: list[tuple] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._cache: RequestCache | None = None
        self.written = 0
        self.saved_to: Path | None = None
        self._thread = threading.Thread(target=self._main, name="teacher-cache-writer", daemon=True)
        self._thread.start()

    def submit(self, outcomes: list[tuple]) -> None:
        """Queue outcomes `(key, response, error, detail, attempts)` for writing (returns at once)."""
        if not outcomes:
            return
        with self._lock:
            self._pending.extend(outcomes)
        self._wake.set()

    @property
    def pending(self) -> int:
        """Outcomes not yet committed."""
        with self._lock:
            return len(self._pending)

    def _write_some(self) -> bool:
        with self._lock:
            batch = list(self._pending)
        if not batch:
            return True
        try:
            if self._cache is None:
                self._cache = RequestCache(self.cache_dir, busy_timeout_s=self.busy_timeout_s)
            self._cache.put_outcomes(batch, self.stage, self.model, self.clear_failures)
        except (sqlite3.OperationalError, CacheError) as exc:
            logger.warning("teacher cache busy (%s); %d result(s) kept pending and retried", exc, len(batch))
            return False
        with self._lock:
            del self._pending[: len(batch)]  # only now: a failed write keeps every outcome
        self.written += len(batch)
        return True

    def _main(self) -> None:
        while True:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            ok = self._write_some()
            if self._closing and (ok and not self.pending):
                return
            if self._closing and time.monotonic() > self._deadline:
                return
            if not ok:
                time.sleep(0.2)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything queued so far is written (or `timeout_s` passes); True when nothing is pending."""
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.final_wait_s)
        self._wake.set()
        while self.pending and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.02)
        return not self.pending

    def close(self) -> None:
        """Flush (waiting up to `final_wait_s` for a lock), then save anything left to the side file."""
        self._deadline = time.monotonic() + self.final_wait_s
        self._closing = True
        self._wake.set()
        self._thread.join(self.final_wait_s + 10)
        with self._lock:
            left, self._pending = list(self._pending), []
        if left:
            self.saved_to = self._save(left)
        if self._cache is not None:
            try:
                self._cache.close()
            except sqlite3.Error:
                pass
            self._cache = None

    def _save(self, outcomes: list[tuple]) -> Path:
        path = self.cache_dir / (CACHE_FILENAME + PENDING_SUFFIX)
        with open(path, "a", encoding="utf-8") as handle:
            for outcome in outcomes:
                record = {
                    "outcome": list(outcome),
                    "stage": self.stage,
                    "model": self.model,
                    "clear": self.clear_failures,
                }
                handle.write(json.dumps(record) + "\n")
        logger.error(
            "the teacher cache stayed locked for %.0f s: %d paid result(s) saved to %s; the next run imports them",
            self.final_wait_s,
            len(outcomes),
            path,
        )
        return path


def salvage(source: Path | str, target: Path | str) -> dict[str, int]:
    """Copy every readable row of a (damaged) cache into a fresh cache file; returns rows copied per table.

    Rows are read one at a time by rowid, so a damaged page loses only the rows stored on it.
    """
    source, target = Path(source), Path(target)
    if target.exists():
        raise CacheError(f"{target} exists already; choose a new file name for the salvaged cache")
    out = sqlite3.connect(target, isolation_level=None)
    out.executescript(_SCHEMA)
    copied: dict[str, int] = {}
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.DatabaseError as exc:
        raise CacheError(f"cannot open {source} at all ({exc}); nothing can be salvaged") from exc
    columns = {
        "results": "key, stage, model, response, created",
        "failures": "key, stage, reason, detail, attempts, response, updated",
        "batches": "batch_id, stage, keys, state, created",
    }
    for table, cols in columns.items():
        copied[table] = 0
        try:
            max_rowid = src.execute(f"SELECT MAX(rowid) FROM {table}").fetchone()[0] or 0  # noqa: S608
        except sqlite3.DatabaseError:
            max_rowid = 1_000_000  # the index page is damaged: probe rowids directly
        out.execute("BEGIN")
        for rowid in range(1, max_rowid + 1):
            try:
                row = src.execute(f"SELECT {cols} FROM {table} WHERE rowid = ?", (rowid,)).fetchone()  # noqa: S608
            except sqlite3.DatabaseError:
                continue
            if row is not None:
                marks = ",".join("?" * len(row))
                out.execute(f"INSERT OR REPLACE INTO {table} ({cols}) VALUES ({marks})", row)  # noqa: S608
                copied[table] += 1
        out.execute("COMMIT")
    src.close()
    out.close()
    return copied


def main(argv: list[str] | None = None) -> int:
    """`python -m star1_hub.teacher.cache salvage DAMAGED.sqlite NEW.sqlite`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3 or args[0] != "salvage":
        sys.stderr.write("usage: python -m star1_hub.teacher.cache salvage DAMAGED.sqlite NEW.sqlite\n")
        return 2
    copied = salvage(args[1], args[2])
    sys.stdout.write(f"salvaged {copied} into {args[2]}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
