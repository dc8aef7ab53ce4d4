"""The persistent request cache: one sqlite file per cache directory (WAL mode).

Three tables:
- `results`: the raw successful response of each request key (text, finish_reason, usage). Only successes
  are served as results; a re-run of a finished stage sends nothing.
- `failures`: the last failure of each key (reason, detail, last text). A normal re-run returns these as
  failed without re-sending; `retry_failed` re-sends them. A later success deletes the failure row.
- `batches`: Batch API jobs (id, stage, the keys they carry, state), so a re-run polls a submitted job
  instead of paying for it twice.

Every write is its own committed transaction, so a kill -9 loses at most the requests in flight; WAL mode
with a busy timeout lets several processes share the file. Reads are batched (`IN (...)` chunks) so that
tens of thousands of cached requests resolve in well under a second.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CACHE_FILENAME = "teacher_cache.sqlite"
_CHUNK = 900  # below sqlite's default limit of host parameters per statement

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY, stage TEXT, model TEXT, response TEXT NOT NULL, created REAL);
CREATE TABLE IF NOT EXISTS failures (
    key TEXT PRIMARY KEY, stage TEXT, reason TEXT NOT NULL, detail TEXT, attempts INTEGER, response TEXT, updated REAL);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY, stage TEXT, keys TEXT NOT NULL, state TEXT NOT NULL, created REAL);
"""


class CacheError(RuntimeError):
    """The cache file cannot be opened or is not a star1-hub teacher cache."""


class RequestCache:
    """Sqlite-backed cache of request results, failures and batch jobs.

    Args:
        cache_dir: Directory holding `teacher_cache.sqlite` (created if missing).
    """

    def __init__(self, cache_dir: Path):
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / CACHE_FILENAME
        # Switching a new file to WAL and creating the schema can answer SQLITE_BUSY at once (without waiting for
        # the busy timeout) when another process does the same at the same moment: serialise just this step.
        with open(cache_dir / f"{CACHE_FILENAME}.init-lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self.db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None, check_same_thread=False)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes (kill -9) in WAL mode
                self.db.executescript(_SCHEMA)
            except sqlite3.DatabaseError as exc:
                raise CacheError(
                    f"cannot open teacher cache {self.path}: {exc}; if the file is damaged, delete it to start afresh"
                ) from exc
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def _select(self, sql: str, keys: list[str]) -> Iterable[tuple]:
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            yield from self.db.execute(sql.format(",".join("?" * len(chunk))), chunk)

    def get_results(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Cached successful responses for the given keys (missing keys are absent)."""
        rows = self._select("SELECT key, response FROM results WHERE key IN ({})", keys)
        return {key: json.loads(response) for key, response in rows}

    def get_failures(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Recorded failures for the given keys: {key: {reason, detail, attempts, response}}."""
        rows = self._select("SELECT key, reason, detail, attempts, response FROM failures WHERE key IN ({})", keys)
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

    def put_failure(
        self, key: str, stage: str, reason: str, detail: str | None, attempts: int, response: dict[str, Any] | None
    ) -> None:
        """Record a failure (committed immediately)."""
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO failures (key, stage, reason, detail, attempts, response, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, stage, reason, detail, attempts, json.dumps(response) if response else None, time.time()),
            )

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
