"""taskwave's local stack.

python -m stack up         install what is missing, start everything, wait for Ctrl-C
python -m stack down       stop a stack started elsewhere (no orphans left)
python -m stack status     is it running: each process's state, pid, restarts, last exit
python -m stack bootstrap  only install / build what is missing
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from stack.bootstrap import ensure_all, ensure_kube_apiserver
from stack.config import StackConfig
from stack.errors import StackError
from stack.status import format_status, read_state, stop_recorded


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _: FrameType | None) -> None:
    raise _Stop(signum)


def up(config: StackConfig) -> int:
    from stack.services import Stack

    if (config.run_dir / "stack.json").exists() and stop_recorded(config.run_dir / "stack.json", 1):
        print("[stack] cleaned up after a previous run that did not stop", file=sys.stderr)
    tools = ensure_all()
    stack = Stack(config, tools)
    signal.signal(signal.SIGTERM, _raise_stop)
    try:
        took = stack.start()
        print(f"\ntaskwave is up (ready in {took:.1f} s):")
        for name, url in stack.urls().items():
            print(f"  {name:<10} {url}")
        # The Jaeger Go module has no built UI: traces are read through its query API.
        print(f'  (traces: {stack.config.jaeger_url}/api/v3/traces/<trace id>; README "Traces")')
        print("\nCtrl-C (or `make down`) stops everything.", flush=True)
        while True:  # the supervisor's monitor thread restarts what crashes
            time.sleep(0.5)
    except (KeyboardInterrupt, _Stop):
        return 0
    finally:
        stack.stop()


def status(state_file: Path, ports: dict[str, int]) -> int:
    state = read_state(state_file)
    if state is None:
        print("not running")
    else:
        print(format_status(state, time.time()))
        ports = state.get("ports", ports)
    # The port names are what TASKWAVE_PORT_<NAME> overrides.
    print("ports:", json.dumps(ports, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["up", "down", "status", "bootstrap"])
    args = parser.parse_args(argv)
    try:
        config = StackConfig.for_cli()
        if args.command == "bootstrap":
            ensure_all()
            # Only the deployment tests need a Kubernetes API server; `up` does not.
            ensure_kube_apiserver()
            return 0
        if args.command == "down":
            stopped = stop_recorded(config.run_dir / "stack.json")
            print("stopped" if stopped else "not running")
            return 0
        if args.command == "status":
            return status(config.run_dir / "stack.json", config.ports)
        return up(config)
    except StackError as exc:
        print(f"taskwave: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
