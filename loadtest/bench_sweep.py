"""The outbox sweeper among a million rows (DESIGN §2: pending rows are found without
scanning all state). Starts a private stack, puts 1,000,000 task rows and a few
pending outbox rows into the `tasks` table, then lets todo-api's own sweeper run and
reads PostgreSQL's own counters:

  * every sweep is an index scan of `taskwave_tasks_kind` that reads exactly the
    pending rows (idx_tup_read / idx_scan) and no sequential scan of the table;
  * the sweeper's Query API call through the sidecar, timed, with the index and,
    for contrast, without it (then the index is rebuilt).

The pending rows belong to a replica that keeps beating (this script), so todo-api
leaves them where they are and every sweep finds the same ones. Not a test: prints
and saves loadtest/results/sweep.json.

  .venv/bin/python -m loadtest.bench_sweep [--rows 1000000] [--pending 25]
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from functions.todo_api.outbox import PENDING
from loadtest.cli import bench_parser
from loadtest.stats import measured_on, save, summary_ms
from shared.dapr.sidecar import DaprSidecar
from stack.components.postgres import DATABASE
from stack.config import ROOT
from stack.services import Stack, private_stack

RESULTS = Path(__file__).parent / "results" / "sweep.json"
OWNER = "bench-sweep-live-replica"


def _sql(stack: Stack, sql: str, timeout: float = 600) -> str:
    done = stack.postgres.psql("-v", "ON_ERROR_STOP=1", "-tAc", sql, db=DATABASE, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{sql[:80]}…: {done.stderr.strip()}")
    return done.stdout.strip()


def _counters(stack: Stack) -> dict[str, int]:
    row = _sql(
        stack,
        "SELECT i.idx_scan, i.idx_tup_read, t.seq_scan FROM pg_stat_user_indexes i "
        "JOIN pg_stat_user_tables t USING (relid) WHERE i.indexrelname = 'taskwave_tasks_kind'",
    )
    scans, read, seq = (int(x) for x in row.split("|"))
    return {"idx_scan": scans, "idx_tup_read": read, "seq_scan": seq}


def _beat(stack: Stack, stop: threading.Event) -> None:
    """Keep the pending rows' owner alive, so todo-api's sweeper leaves them."""
    while not stop.is_set():
        at = json.dumps({"at": datetime.now(UTC).isoformat()})
        _sql(
            stack,
            "INSERT INTO taskwave_kv (key, value, isbinary) VALUES "
            f"('todo-api||outbox-owner|{OWNER}', '{at}'::jsonb, false) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updatedate = now()",
        )
        stop.wait(1.0)


async def _time_query(sidecar: DaprSidecar, n: int) -> tuple[list[float], int]:
    tasks = sidecar.state("tasks")
    samples, found = [], 0
    for _ in range(n):
        start = time.perf_counter()
        items, _ = await tasks.query({"filter": {"EQ": {"kind": PENDING}}, "page": {"limit": 1000}})
        samples.append(time.perf_counter() - start)
        found = len(items)
    return samples, found


def run(stack: Stack, rows: int, pending: int, watch_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    _sql(
        stack,
        "INSERT INTO taskwave_tasks (key, value, isbinary) SELECT "
        "'todo-api||task|bench-' || g, jsonb_build_object('id', 'bench-' || g, "
        "'list_id', 'bench-list-' || (g % 2000), 'title', 'task number ' || g, "
        "'description', repeat('x', 120), 'priority', 'medium', 'status', 'open', "
        "'version', 1), false FROM generate_series(1, "
        f"{rows}) g",
    )
    now = datetime.now(UTC).isoformat()
    for i in range(pending):
        row = {
            "kind": PENDING,
            "owner": OWNER,
            "seq": i,
            "created_at": now,
            "members": ["bench-user"],
            "lists": [],
            "event": {"type": "task.deleted", "note": "never published: its owner is alive"},
        }
        _sql(
            stack,
            "INSERT INTO taskwave_tasks (key, value, isbinary) VALUES "
            f"('todo-api||outbox|bench-{i}', '{json.dumps(row)}'::jsonb, false)",
        )
    _sql(stack, "ANALYZE taskwave_tasks")
    seeded_s = time.perf_counter() - started
    total = int(_sql(stack, "SELECT count(*) FROM taskwave_tasks"))
    print(f"{total} rows in taskwave_tasks ({pending} pending) after {seeded_s:.0f} s")

    stop = threading.Event()
    beater = threading.Thread(target=_beat, args=(stack, stop), daemon=True)
    beater.start()
    try:
        before = _counters(stack)
        time.sleep(watch_s)  # todo-api's sweeper looks every 3 s
        after = _counters(stack)
        sidecar = DaprSidecar(
            http_port=stack.config.ports["todo-api.dapr-http"],
            pubsub="pubsub",
            secret_store="secrets",
        )
        indexed, found = asyncio.run(_time_query(sidecar, 30))
        _sql(stack, "DROP INDEX taskwave_tasks_kind")
        try:
            unindexed, _ = asyncio.run(_time_query(sidecar, 5))
        finally:
            stack.postgres.run_file(ROOT / "helm/taskwave/migrations/010_outbox_pending_index.sql")
    finally:
        stop.set()
        beater.join()
    sweeps = after["idx_scan"] - before["idx_scan"]
    read = after["idx_tup_read"] - before["idx_tup_read"]
    return {
        **measured_on(),
        "rows in taskwave_tasks": total,
        "pending rows": pending,
        "watched s": watch_s,
        "index scans (sweeps and lookups)": sweeps,
        "rows read per index scan": round(read / sweeps, 1) if sweeps else None,
        "sequential scans of the table": after["seq_scan"] - before["seq_scan"],
        "Query API lookup found": found,
        "Query API lookup, indexed": summary_ms(indexed),
        "Query API lookup, without the index": summary_ms(unindexed),
    }


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pending", type=int, default=25)
    parser.add_argument("--watch", type=float, default=15.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with private_stack() as stack:
        result = run(stack, args.rows, args.pending, args.watch)
    print(json.dumps(result, indent=2))
    save(result, args.out)


if __name__ == "__main__":
    main()
