"""Starts a private stack and runs a WebSocket Locust suite against it (headless),
printing and saving its figures in loadtest/results/.

  devices (default): 100 users x 10 devices while writers change tasks
    -> results/websockets[-<n>-replicas].json
  shared-lists: 50 lists x 10 members x 2 devices; members change tasks in their lists
    -> results/websockets-shared-lists[-<n>-replicas].json (see locustfile_shared.py)

  .venv/bin/python -m loadtest.run_ws [--users 100 --devices 10 --seconds 90]
  .venv/bin/python -m loadtest.run_ws --scenario shared-lists [--lists 50 --members 10
      --devices 2 --rate 5 --seconds 60]
  .venv/bin/python -m loadtest.run_ws --scenario shared-lists --lists 5 --members 4 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from loadtest.accounts import shared_lists
from loadtest.cli import bench_parser
from stack.services import Stack, private_stack

HERE = Path(__file__).parent
SCENARIOS = {"devices": "websockets", "shared-lists": "websockets-shared-lists"}


def _locust(
    stack: Stack, locustfile: str, clients: int, run_time_s: float, env: dict[str, str]
) -> int:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(HERE / locustfile),
            "--headless",
            "-u",
            str(clients),
            "-r",
            "100",
            "-t",
            f"{int(run_time_s)}s",
            "--only-summary",
            "--host",
            stack.config.url("todo-api"),
            "--stop-timeout",
            "5",
        ],
        env={**os.environ, **env},
        cwd=HERE.parent,  # `loadtest` is imported from the repository's root
        check=False,
    ).returncode


def _devices(stack: Stack, args: argparse.Namespace, sockets: str) -> None:
    env = {
        "TASKWAVE_WS_USERS": str(args.users),
        "TASKWAVE_WS_DEVICES": str(args.devices),
        "TASKWAVE_WS_RESULTS": args.out,
        "TASKWAVE_WS_URL": sockets,
    }
    clients = args.users * args.devices + 2  # + the writers
    _locust(stack, "locustfile_ws.py", clients, args.seconds, env)


def _shared_lists(stack: Stack, args: argparse.Namespace, sockets: str) -> None:
    # Setup, outside the measured run: accounts, lists, memberships.
    api = stack.config.url("todo-api") + "/api/v1"
    rows = shared_lists(api, args.lists, args.members, uuid.uuid4().hex[:6])
    setup = stack.config.run_dir / "shared-lists.json"
    setup.write_text(json.dumps(rows))
    env = {
        "TASKWAVE_SHARED_LISTS": str(args.lists),
        "TASKWAVE_SHARED_MEMBERS": str(args.members),
        "TASKWAVE_WS_DEVICES": str(args.devices),
        "TASKWAVE_SHARED_RATE": str(args.rate),
        "TASKWAVE_SHARED_WRITERS": str(args.writers),
        "TASKWAVE_SHARED_SECONDS": str(args.seconds),
        "TASKWAVE_SHARED_DRAIN": str(args.drain),
        "TASKWAVE_SHARED_SETUP": str(setup),
        "TASKWAVE_WS_RESULTS": args.out,
        "TASKWAVE_WS_URL": sockets,
        # So the suite can tell how much CPU the stack itself used while it wrote.
        "TASKWAVE_STACK_SESSIONS": ",".join(str(p.popen.pid) for p in stack.sup.procs),
    }
    clients = args.lists * args.members * args.devices + args.writers
    # The suite ends itself after connecting, writing and draining; -t is a safety net.
    _locust(stack, "locustfile_shared.py", clients, 300 + args.seconds + args.drain + 60, env)


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="devices")
    parser.add_argument("--users", type=int, default=100, help="devices: users")
    parser.add_argument(
        "--devices", type=int, help="sockets per user (default: devices 10, shared-lists 2)"
    )
    parser.add_argument(
        "--seconds",
        type=int,
        help="devices: run time (default 90); shared-lists: time writers write (default 60)",
    )
    parser.add_argument("--lists", type=int, default=50, help="shared-lists: lists")
    parser.add_argument("--members", type=int, default=10, help="shared-lists: members per list")
    parser.add_argument(
        "--rate", type=float, default=5.0, help="shared-lists: changes per second, all members"
    )
    parser.add_argument("--writers", type=int, default=4, help="shared-lists: writer greenlets")
    parser.add_argument(
        "--drain", type=float, default=5.0, help="shared-lists: seconds to receive the rest"
    )
    parser.add_argument("--replicas", type=int, default=1, help="realtime instances")
    parser.add_argument("--out", help="default: results/<scenario>[-<n>-replicas].json")
    args = parser.parse_args()
    shared = args.scenario == "shared-lists"
    args.devices = args.devices or (2 if shared else 10)
    args.seconds = args.seconds or (60 if shared else 90)
    suffix = f"-{args.replicas}-replicas" if args.replicas > 1 else ""
    args.out = args.out or str(HERE / "results" / f"{SCENARIOS[args.scenario]}{suffix}.json")
    began = time.time()
    with private_stack() as stack:
        instances = ["realtime"] + [stack.add_replica("realtime") for _ in range(args.replicas - 1)]
        sockets = ",".join(stack.config.url(i).replace("http", "ws") + "/ws" for i in instances)
        (_shared_lists if shared else _devices)(stack, args, sockets)
    out = Path(args.out)
    if not out.exists() or out.stat().st_mtime < began:
        sys.exit(f"the suite saved no figures in {out}: see Locust's output above")
    result = json.loads(out.read_text())
    print(json.dumps(result, indent=2))
    if shared and any(
        result[k] for k in ("lost", "duplicates", "failed connections", "dropped connections")
    ):
        sys.exit(1)


if __name__ == "__main__":
    main()
