"""PostgreSQL: a private cluster from Debian's binaries on its own port (the state store)."""

from __future__ import annotations

import hashlib
import os
import pwd
import signal
import subprocess
from pathlib import Path

from stack.bootstrap import Tools
from stack.config import StackConfig
from stack.errors import StackError
from stack.procs import Supervisor
from stack.steps import run_step

NAME = "postgres"
DATABASE = "taskwave"
USER = "taskwave"


class Postgres:
    def __init__(self, config: StackConfig, tools: Tools, sup: Supervisor) -> None:
        self.config = config
        self.tools = tools
        self.sup = sup

    @property
    def port(self) -> int:
        return self.config.ports["postgres"]

    def _as_postgres(self) -> list[str]:
        # PostgreSQL refuses to run as root; drop to the packaged 'postgres' user.
        if os.geteuid() != 0:
            return []
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]

    @property
    def data_dir(self) -> Path:
        data = self.config.data
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0 and not self._can_enter(data):
            # Running as root in a folder the postgres user cannot traverse
            # (e.g. under /root): keep the cluster beside it in /var/tmp instead.
            digest = hashlib.sha256(str(data).encode()).hexdigest()[:12]
            data = Path("/var/tmp") / f"taskwave-{digest}"
            data.mkdir(parents=True, exist_ok=True)
        return data / "postgres"

    def _can_enter(self, folder: Path) -> bool:
        probe = [*self._as_postgres(), "test", "-x", str(folder)]
        return subprocess.run(probe, capture_output=True).returncode == 0

    def start(self) -> None:
        pg = self.data_dir
        if not (pg / "PG_VERSION").exists():
            pg.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                user = pwd.getpwnam("postgres")
                os.chown(pg, user.pw_uid, user.pw_gid)
            run_step(
                "initdb",
                [
                    *self._as_postgres(),
                    str(self.tools.pg_bin / "initdb"),
                    "-D",
                    str(pg),
                    "-U",
                    USER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
                echo=self.config.echo,
            )
        self.sup.start(
            NAME,
            [
                *self._as_postgres(),
                str(self.tools.pg_bin / "postgres"),
                "-D",
                str(pg),
                "-p",
                str(self.port),
                "-c",
                "unix_socket_directories=",
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=300",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
            ],
            stop_signal=signal.SIGINT,  # "fast" shutdown; SIGTERM waits for clients
        )

    def psql(
        self, *args: str, db: str = "postgres", timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Debian's psql against this cluster (TCP on loopback, no password: trust)."""
        return subprocess.run(
            [
                str(self.tools.pg_bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                USER,
                "-d",
                db,
                "-X",  # no ~/.psqlrc: the same behaviour on every machine
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def query(self, sql: str, db: str = "postgres") -> subprocess.CompletedProcess[str]:
        return self.psql("-tAc", sql, db=db)

    def run_file(self, path: Path) -> subprocess.CompletedProcess[str]:
        """One SQL file against the taskwave database, stopping at its first error (psql
        would otherwise carry on and answer 0). No --single-transaction: a file may need
        statements that refuse a transaction (CREATE INDEX CONCURRENTLY)."""
        return self.psql("-v", "ON_ERROR_STOP=1", "-q", "-f", str(path), db=DATABASE)

    def ready(self) -> bool:
        return self.query("select 1").returncode == 0

    def prepare_database(self) -> None:
        exists = self.query(f"select 1 from pg_database where datname='{DATABASE}'")
        if exists.stdout.strip() != "1":
            result = self.query(f"create database {DATABASE}")
            if result.returncode != 0:
                raise StackError(f"could not create the taskwave database: {result.stderr.strip()}")

    @property
    def connection_string(self) -> str:
        """What the Dapr state stores connect with (served by the local secret store)."""
        return (
            f"host=127.0.0.1 port={self.port} user={USER} "
            f"dbname={DATABASE} sslmode=disable pool_max_conns=20"
        )

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"
