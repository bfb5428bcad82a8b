"""What every benchmark's command line shares."""

from __future__ import annotations

import argparse
from pathlib import Path


def bench_parser(doc: str | None, *, keep_logs: bool = False) -> argparse.ArgumentParser:
    """A benchmark's arguments: its module docstring as the help, laid out as written,
    and with `keep_logs` the --keep-logs folder for private_stack(keep_logs=...)."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if keep_logs:
        parser.add_argument("--keep-logs", type=Path, help="copy the stack's logs here afterwards")
    return parser
