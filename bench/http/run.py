"""bench/http: `http in → change → http response` under wrk, flowwire against Node-RED 4.1.15 in the same run.

    python bench/http/run.py [--duration 10] [--clients 1,64] [--runs 3] [--no-nodered] [--no-metrics]

All servers run side by side (idle while another is measured) and wrk (one
thread, keep-alive) loads each in turn, round-robin, for each concurrency:
flowwire, flowwire with `metrics: true` (what /metrics costs), and Node-RED
(../shared/bench/nodered's install in /tmp/nrbench, after its setup.sh) with
its own settings file in /tmp that turns its HTTP server on. Prints
requests/s, p50/p99 latency and the server's peak RSS. All traffic is on
127.0.0.1; every process started here is stopped by its PID.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODERED_PREFIX = Path(os.environ.get("NRB_PREFIX", "/tmp/nrbench"))
RED_JS = NODERED_PREFIX / "node_modules" / "node-red" / "red.js"
PATH = "/bench"

#: The same three nodes for both runtimes (Node-RED's flows.json is the canonical form; flowwire reads it as is).
FLOW = [
    {"id": "in", "type": "http in", "url": PATH, "method": "get", "wires": [["set"]]},
    {"id": "set", "type": "change", "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": '{"ok":true,"hop":1}', "tot": "json"}], "wires": [["out"]]},
    {"id": "out", "type": "http response", "statusCode": "", "headers": {}, "wires": []},
]

NODERED_SETTINGS = """
module.exports = {
    userDir: process.env.NRB_USERDIR, flowFile: "flows.json", flowFilePretty: false, credentialSecret: false,
    httpAdminRoot: false, httpNodeRoot: "/", disableEditor: true,
    uiHost: "127.0.0.1", uiPort: parseInt(process.env.NRB_PORT, 10),
    telemetry: {enabled: false}, diagnostics: {enabled: false}, editorTheme: {projects: {enabled: false}},
    externalModules: {autoInstall: false, palette: {allowInstall: false}},
    logging: {console: {level: "warn", metrics: false, audit: false}},
};
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Server:
    """One server process on a free port, stopped by its PID."""

    def __init__(self, name: str, args: list[str], cwd: Path, env: dict[str, str], port: int) -> None:
        self.name, self.port = name, port
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-http-{name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(args, cwd=cwd, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{PATH}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start:\n{Path(self.log.name).read_text()[-3000:]}")
            time.sleep(0.1)

    def memory_mb(self) -> tuple[float, float]:
        return _kb(self.proc.pid, "VmRSS") / 1024, _kb(self.proc.pid, "VmHWM") / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        os.unlink(self.log.name)


def flowwire(metrics: bool, tmp: Path) -> Server:
    port = free_port()
    settings = {"uiPort": port, "uiHost": "127.0.0.1", "metrics": metrics}
    path = tmp / f"flowwire-{'metrics' if metrics else 'plain'}-{port}.json"
    path.write_text(json.dumps({"settings": settings, "nodes": FLOW}))
    args = [sys.executable, "-m", "runtime.cli", "run", "--log-level", "warning", str(path)]
    return Server("flowwire+metrics" if metrics else "flowwire", args, ROOT, {}, port)


def nodered(tmp: Path) -> Server:
    port = free_port()
    user_dir = tmp / f"nodered-{port}"
    user_dir.mkdir()
    (user_dir / "flows.json").write_text(json.dumps([{"id": "tab", "type": "tab", "label": "bench"}, *({**n, "z": "tab"} for n in FLOW)]))
    settings = tmp / "nodered-settings.js"
    settings.write_text(NODERED_SETTINGS)
    return Server("Node-RED", ["node", str(RED_JS), "--settings", str(settings)], user_dir, {"NRB_USERDIR": str(user_dir), "NRB_PORT": str(port)}, port)


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(port: int, clients: int, duration: int) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{duration}s", "--latency", f"http://127.0.0.1:{port}{PATH}"],
                         capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = {p: float(v) * _UNIT[u] for p, v, u in re.findall(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rate, "p50": latency["50"], "p99": latency["99"], "non2xx": float(errors.group(1)) if errors else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per measurement")
    parser.add_argument("--clients", default="1,64", help="concurrent connections, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="measurements per server and concurrency (median reported)")
    parser.add_argument("--no-nodered", action="store_true")
    parser.add_argument("--no-metrics", action="store_true", help="skip the flowwire + metrics variant")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
    starters = {"flowwire": lambda tmp: flowwire(False, tmp)}
    if not args.no_metrics:
        starters["flowwire+metrics"] = lambda tmp: flowwire(True, tmp)
    if not args.no_nodered:
        if RED_JS.exists():
            starters["Node-RED 4.1.15"] = nodered
        else:
            print(f"Node-RED not found at {RED_JS} (run ../shared/bench/nodered/setup.sh); flowwire only")
    clients = [int(c) for c in args.clients.split(",")]
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    memory: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Every server runs for the whole bench and the measurements go round-robin, so the shared
        # machine's drift hits each server alike; an idle server costs the others nothing.
        servers = {name: start(Path(tmp)) for name, start in starters.items()}
        try:
            for server in servers.values():
                wrk(server.port, 8, 2)  # warm-up
            for _ in range(args.runs):
                for c in clients:
                    for name, server in servers.items():
                        results.setdefault((name, c), []).append(wrk(server.port, c, args.duration))
            memory = {name: server.memory_mb() for name, server in servers.items()}
        finally:
            for server in servers.values():
                server.stop()
    print(f"== http in → change → http response, wrk -t1, {args.duration} s per run, median of {args.runs} ==")
    print(f"  {'server':<18} {'clients':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'RSS MB':>7} {'peak MB':>8}")
    for (name, c), runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        rss, peak = memory[name]
        print(f"  {name:<18} {c:>7} {med['rps']:>9,.0f} {med['p50']:>8.2f} {med['p99']:>8.2f} {med['non2xx']:>8.0f} {rss:>7.0f} {peak:>8.0f}")
    if "flowwire+metrics" in starters:
        for c in clients:
            plain = statistics.median(r["rps"] for r in results[("flowwire", c)])
            on = statistics.median(r["rps"] for r in results[("flowwire+metrics", c)])
            print(f"  metrics on at {c} client(s): {on / plain - 1:+.1%} requests/s")


if __name__ == "__main__":
    main()
