"""A throwaway Postgres server for tests and benchmarks: a fresh cluster in a temp dir on 127.0.0.1.

Debian's server binaries (``postgresql`` package) are used; ``make test`` installs the package when
``initdb`` is missing. As root, the server runs as an unprivileged user (Postgres refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

DBNAME = "revloops"
USER = "revloops"


class PostgresUnavailable(RuntimeError):
    """No Postgres server binaries on this machine."""


def find_bin_dir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``: the newest Debian cluster version, else the PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise PostgresUnavailable("no initdb found: install the postgresql package (apt-get install -y postgresql)")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> str | None:
    """The unprivileged account to run the server as when we are root (None when we are not)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and no unprivileged account (postgres, nobody) to run the server")


@dataclass
class PostgresServer:
    """One running throwaway cluster."""

    bin_dir: Path
    root: Path
    port: int
    user: str | None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, dbname: str = DBNAME) -> str:
        """The ``postgresql://`` URL of a database on this server."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{dbname}"

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, user=self.user, timeout=120)

    def start(self, *, durable: bool = False) -> None:
        """Create the cluster and start the server; ``durable=False`` turns fsync off (tests only)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            info = pwd.getpwnam(self.user)
            os.chown(self.root, info.pw_uid, info.pw_gid)
        self._pg("initdb", "-D", str(self.data_dir), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync")
        opts = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.root}",
            "-c max_connections=200",
        ]
        if not durable:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        out = self._pg("pg_ctl", "-D", str(self.data_dir), "-l", str(self.root / "server.log"),
                       "-o", " ".join(opts), "-w", "-t", "60", "start", check=False)
        if out.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace") if (self.root / "server.log").exists() else ""
            raise PostgresUnavailable(f"postgres did not start: {out.stderr.strip()} {log[-2000:]}")
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DBNAME}")

    def stop(self) -> None:
        """Stop the server (immediately: its data is thrown away) and remove the cluster."""
        if (self.data_dir / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "-t", "30", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def reset(self) -> None:
        """Drop and recreate the test database (between tests sharing one server)."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DBNAME}")


@contextmanager
def throwaway_postgres(*, durable: bool = False) -> Iterator[PostgresServer]:
    """A started server that is stopped and deleted on exit.

    Args:
        durable: keep fsync on (for benchmarks comparable with production); tests leave it off.
    """
    user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="revloops-pg-"))
    server = PostgresServer(find_bin_dir(), root / "cluster", free_port(), user)
    if user is not None:
        os.chmod(root, 0o755)
    try:
        server.start(durable=durable)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
