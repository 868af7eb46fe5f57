"""Operations fixtures: a private, throw-away PostgreSQL server that a test may stop and start again."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    """The folder of initdb/pg_ctl/postgres (Debian keeps them out of PATH), newest version first."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all(os.access(Path(folder) / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary folder on its own port, run as a non-root user (PostgreSQL refuses root)."""

    def __init__(self, root: Path, bin_dir: Path):
        self.bin = bin_dir
        self.dir = root / "pgdata"
        self.socket_dir = root / "pgsock"
        self.port = _free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = next((n for n in ("postgres", "nobody") if _has_user(n)), None)
            if self.user is None:
                raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")
        self.socket_dir.mkdir(parents=True)
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.dir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    @property
    def url(self) -> str:
        """SQLAlchemy-style URL of the cluster's default database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.dir), "-o", options, "-w", "-t", "30", "-l", str(self.dir / "log"),
                  "start")

    def stop(self) -> None:
        """Stop the server now (connections are cut, as in an outage)."""
        self._run("pg_ctl", "-D", str(self.dir), "-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        """True while the server process is up."""
        status = subprocess.run(self._command("pg_ctl", "-D", str(self.dir), "status"), capture_output=True)
        return status.returncode == 0

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bin / tool), *args]
        return ["runuser", "-u", self.user, "--", *command] if self.user else command

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(self._command(tool, *args), capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stderr.strip() or done.stdout.strip()}")


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture
def private_postgres():
    """A running private PostgreSQL server (stopped and removed afterwards); skipped with the reason without one."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine: apt-get install postgresql")
    # Not under pytest's tmp folder: that is private to root, and the server runs as another user.
    root = Path(tempfile.mkdtemp(prefix="kb-pg-"))
    os.chmod(root, 0o755)
    try:
        server = PrivatePostgres(root, bin_dir)
        server.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot run a private PostgreSQL server here: {exc}")
    yield server
    if server.running():
        server.stop()
    shutil.rmtree(root, ignore_errors=True)
