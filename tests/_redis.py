"""A real redis-server for tests: own free port, own directory, stopped by PID.

    server = RedisServer(tmp_path).start()   # waits until it answers PING
    server.stop(); server.start()            # same port: an outage and a recovery
    server.url                               # redis://127.0.0.1:<port>/0

The machine's own Redis (6379) is never touched. Persistence is off: a
restart is an empty Redis unless `appendonly=True`, which the outage tests
use so that a restart keeps what was written before it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

from _mosquitto import Certs, _poll_until, free_port
from _processes import terminate

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    def __init__(self, directory: Path, *, port: int | None = None, password: str | None = None, appendonly: bool = False, certs: Certs | None = None) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.password = password
        self.appendonly = appendonly
        #: With certificates the port speaks TLS only (server certificate from `make_certs`, no client certificate required).
        self.certs = certs
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "redis.log"

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"rediss://{auth}localhost:{self.port}/0" if self.certs else f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        listen = ["--port", str(self.port)]
        if self.certs:
            listen = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self.certs.server_cert),
                      "--tls-key-file", str(self.certs.server_key), "--tls-ca-cert-file", str(self.certs.ca), "--tls-auth-clients", "no"]
        args = [REDIS_SERVER, *listen, "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", "",
                "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always", "--logfile", str(self.log_path)]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _poll_until(self._answers, timeout, what=f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {self.log()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                if self.certs:
                    return True
                s.sendall(b"PING\r\n")
                reply = s.recv(64)
        except OSError:
            return False
        return reply.startswith((b"+PONG", b"-NOAUTH"))

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        terminate(proc, timeout)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
