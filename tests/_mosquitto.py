"""A real Mosquitto for tests: own port, own config and data directory, stopped by PID.

    broker = Mosquitto(tmp_path, persistence=True, users={"u": "secret"})
    broker.start()          # waits until the port accepts connections
    broker.restart()        # same port, same persistence file
    broker.stop()

The system broker on 1883 is never touched: every instance binds a free port
on 127.0.0.1. TLS material comes from `make_certs` (openssl CLI, or the
`cryptography` package when installed).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from _processes import terminate

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _poll_until(predicate, timeout: float, interval: float = 0.01, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Blocking poll for use outside an event loop (runtime.testing.wait_until is the async one)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@dataclass
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_certs(directory: Path) -> Certs:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, signed by the CA."""
    directory.mkdir(parents=True, exist_ok=True)
    d = directory

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=flowwire test CA",
        "-keyout", "ca.key", "-out", "ca.crt")
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, cn in (("server", "localhost"), ("client", "flowwire-client")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", f"{name}.key", "-out", f"{name}.csr")
        extra = ["-extfile", "server.ext"] if name == "server" else []
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-out", f"{name}.crt", *extra)
    return Certs(d / "ca.crt", d / "server.crt", d / "server.key", d / "client.crt", d / "client.key")


class Mosquitto:
    """One Mosquitto process with a per-test configuration."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        persistence: bool = False,
        users: dict[str, str] | None = None,
        certs: Certs | None = None,
        require_certificate: bool = True,
        max_inflight: int = 20,
        max_queued: int = 0,
        extra: str = "",
    ) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.persistence = persistence
        self.users = users
        self.certs = certs
        self.require_certificate = require_certificate
        self.max_inflight = max_inflight
        self.max_queued = max_queued
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "mosquitto.log"

    # -- config --------------------------------------------------------------------------

    def _write_config(self) -> Path:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "user root",  # stay root: no permission games with the test's temp files
            f"max_inflight_messages {self.max_inflight}",
            f"max_queued_messages {self.max_queued}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.dir}/", "autosave_interval 0"]
        else:
            lines.append("persistence false")
        if self.users is not None:
            pwfile = self.dir / "passwd"
            pwfile.write_text("")
            for user, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(pwfile), user, password], check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {pwfile}"]
        else:
            lines.append("allow_anonymous true")
        if self.certs is not None:
            lines += [
                f"cafile {self.certs.ca}",
                f"certfile {self.certs.server_cert}",
                f"keyfile {self.certs.server_key}",
                f"require_certificate {'true' if self.require_certificate else 'false'}",
            ]
        if self.extra:
            lines.append(self.extra)
        conf = self.dir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    # -- process -------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Mosquitto:
        conf = self._write_config()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=log, start_new_session=True)
        log.close()

        def listening() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self.log()}")
            with socket.socket() as s:
                s.settimeout(0.2)
                return s.connect_ex(("127.0.0.1", self.port)) == 0

        _poll_until(listening, timeout, what=f"mosquitto on port {self.port}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Mosquitto saves its persistence file on the way out), SIGKILL if it hangs."""
        proc, self.proc = self.proc, None
        terminate(proc, timeout)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
