"""Starts a private stack and runs the WebSocket Locust suite against it (headless),
printing and saving its figures to loadtest/results/websockets.json.

  .venv/bin/python -m loadtest.run_ws [--users 100 --devices 10 --seconds 90]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from stack.services import private_stack

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=90)
    parser.add_argument("--replicas", type=int, default=1, help="realtime instances")
    parser.add_argument("--out", help="default: results/websockets[-<n>-replicas].json")
    args = parser.parse_args()
    suffix = f"-{args.replicas}-replicas" if args.replicas > 1 else ""
    args.out = args.out or str(HERE / "results" / f"websockets{suffix}.json")
    clients = args.users * args.devices + 2  # + the writers
    with private_stack() as stack:
        instances = ["realtime"] + [stack.add_replica("realtime") for _ in range(args.replicas - 1)]
        sockets = ",".join(stack.config.url(i).replace("http", "ws") + "/ws" for i in instances)
        env = {
            **os.environ,
            "TASKWAVE_WS_USERS": str(args.users),
            "TASKWAVE_WS_DEVICES": str(args.devices),
            "TASKWAVE_WS_RESULTS": args.out,
            "TASKWAVE_WS_URL": sockets,
        }
        subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(HERE / "locustfile_ws.py"),
                "--headless",
                "-u",
                str(clients),
                "-r",
                "100",
                "-t",
                f"{args.seconds}s",
                "--only-summary",
                "--host",
                stack.config.url("todo-api"),
                "--stop-timeout",
                "5",
            ],
            env=env,
            check=False,
        )
    result = json.loads(Path(args.out).read_text())
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
