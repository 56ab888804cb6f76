"""exec: run a system command per message, Node-RED's three outputs (stdout, stderr, return code).

The command line is `command`, then the message property `addpay` (payload
by default), then `append`, joined by spaces as Node-RED joins them.

- exec mode (the default) hands that line to a shell (`/bin/bash -c` where
  it exists, else `/bin/sh -c`), as Node-RED's `child_process.exec` does, and
  sends once the command has finished: stdout on output 1, stderr on output 2
  (only when there was some), the return code on output 3 (`{code: 0}`, or
  `{code, message, signal}` on failure, also copied to `msg.rc`).
- spawn mode splits the line on spaces (double quotes group words, and are
  removed) and runs the program directly, never through a shell; output is
  sent as it arrives (one message per chunk the pipe delivers, as Node-RED's
  `data` events), and the return code (`{code}`, plus `signal` when killed)
  when the process ends. A program that does not exist gives `{code: -2}`.

`timer` seconds (0: none) kills a command that runs longer. A message with
`msg.kill` (a signal name such as "SIGINT"; anything else means SIGTERM) kills
the process `msg.pid` names, or the only one running. Every running process
is killed when the flow stops. Output that is valid UTF-8 is a string,
anything else bytes. `oldrc` sends the bare return code instead of `{code}`.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import shutil
import signal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from runtime import Held, Msg, Node, NodeError, NodeProps, Output, clone, lenient, register
from runtime.properties import PathError, get_path, parse_path

_WORD = re.compile(r'(?:[^\s"]+|"[^"]*")+')
_CHUNK = 65536


def _addpay(value: Any) -> str:
    """Node-RED: missing means `payload`, true means `payload`, false or "" means nothing is added."""
    if value is None or value is True or value == "true":
        return "payload"
    if value is False or value == "false":
        return ""
    return str(value)


class ExecProps(NodeProps):
    command: str = Field("", description="the command (and any fixed arguments)")
    addpay: Annotated[str, BeforeValidator(_addpay)] = Field("payload", description="message property appended to the command; false or blank: none")
    append: str = Field("", description="extra arguments appended after the property")
    useSpawn: lenient.Bool = Field(False, description="true: spawn mode (no shell, output as it arrives); false: exec mode (a shell, output at the end)")
    timer: lenient.Float = Field(0, description="seconds before the command is killed; 0: never")
    oldrc: lenient.Bool = Field(False, description="send the bare return code instead of {code: ...}")
    winHide: lenient.Bool = Field(False, description="Windows only in Node-RED; accepted and ignored")


def _text(value: Any) -> str:
    """A property value as JavaScript's `" " + value` writes it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict,)):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join("" if v is None else _text(v) for v in value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _decoded(data: bytes) -> str | bytes:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


@register("exec")
class Exec(Node):
    """Runs a system command per message: stdout, stderr and the return code on three outputs."""

    Props = ExecProps
    raw_fields = frozenset({"command", "append"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._processes: dict[int, asyncio.subprocess.Process] = {}
        self._shell = "/bin/bash" if os.path.exists("/bin/bash") else (shutil.which("sh") or "/bin/sh")

    @classmethod
    def check(cls, props: Any) -> list[tuple[str, str]]:
        problems = []
        if props.timer < 0:
            problems.append(("timer", "must be 0 (no timeout) or a number of seconds"))
        if props.addpay:
            try:
                parse_path(props.addpay)
            except PathError as exc:
                problems.append(("addpay", str(exc)))
        return problems

    def _command_line(self, msg: Msg) -> str:
        line = self.props.command.strip()
        if self.props.addpay:
            value = get_path(msg, self.props.addpay, _MISSING)
            if value is not _MISSING:
                line += " " + _text(value)
        if self.props.append.strip():
            line += " " + self.props.append.strip()
        return line

    async def on_input(self, msg: Msg) -> Output:
        if "kill" in msg:
            self._kill(msg)
            return None
        line = self._command_line(msg)
        pipes: dict[str, Any] = {"stdin": asyncio.subprocess.DEVNULL, "stdout": asyncio.subprocess.PIPE, "stderr": asyncio.subprocess.PIPE}
        if self.props.useSpawn:
            words = [w[1:-1] if len(w) >= 2 and w.startswith('"') and w.endswith('"') else w for w in _WORD.findall(line)]
            if not words:
                raise NodeError("exec: no command to run", msg)
            try:
                process = await asyncio.create_subprocess_exec(*words, **pipes)
            except OSError as exc:
                # Node-RED: the child never started; `close` reports the negated errno (-2 for a missing program).
                code = -(exc.errno or errno.ENOENT)
                self.status({"fill": "red", "shape": "dot", "text": f"rc:{code}"})
                return [None, None, self._rc(msg, code, None)]
            self.spawn(self._stream(process, msg, self.hold(msg)))
        else:
            process = await asyncio.create_subprocess_exec(self._shell, "-c", line, **pipes)
            self.spawn(self._collect(process, msg, line, self.hold(msg)))
        self.status({"fill": "blue", "shape": "dot", "text": f"pid:{process.pid}"})
        return None

    def _kill(self, msg: Msg) -> None:
        name = msg.get("kill")
        name = name.upper() if isinstance(name, str) and name.upper().startswith("SIG") else "SIGTERM"
        try:
            signum = signal.Signals[name]
        except KeyError:
            signum = signal.SIGTERM
        if "pid" in msg:
            process = self._processes.get(msg["pid"]) if isinstance(msg["pid"], int) else None
        else:
            process = next(iter(self._processes.values())) if len(self._processes) == 1 else None
        if process is not None and process.returncode is None:
            process.send_signal(signum)
            self.status({"fill": "red", "shape": "dot", "text": "killed"})

    def _timeout(self, process: asyncio.subprocess.Process) -> asyncio.TimerHandle | None:
        if not self.props.timer:
            return None
        return self.call_later(self.props.timer, lambda: process.returncode is None and process.send_signal(signal.SIGTERM))

    def _rc(self, msg: Msg, code: int | None, sig: str | None) -> Msg:
        out = clone(msg)
        if self.props.oldrc:
            out["payload"] = code
        else:
            out["payload"] = {"code": code}
            if sig:
                out["payload"]["signal"] = sig
        return out

    async def _stream(self, process: asyncio.subprocess.Process, msg: Msg, held: Held) -> None:
        self._processes[process.pid] = process
        timer = self._timeout(process)

        async def pump(stream: asyncio.StreamReader | None, port: int) -> None:
            if stream is None:
                return
            while chunk := await stream.read(_CHUNK):
                out = clone(msg)
                out["payload"] = _decoded(chunk)
                ports: list[Msg | None] = [None, None, None]
                ports[port] = out
                held.send(ports)

        try:
            await asyncio.gather(pump(process.stdout, 0), pump(process.stderr, 1))
            returncode = await process.wait()
        finally:
            self._processes.pop(process.pid, None)
            if timer is not None:
                timer.cancel()
        code, sig = (None, _signal_name(-returncode)) if returncode < 0 else (returncode, None)
        if code == 0:
            self.status({})
        elif code is None:
            self.status({"fill": "red", "shape": "dot", "text": "killed"})
        else:
            self.status({"fill": "yellow", "shape": "dot", "text": f"rc:{code}"})
        held.send([None, None, self._rc(msg, code, sig)])
        held.done()

    async def _collect(self, process: asyncio.subprocess.Process, msg: Msg, line: str, held: Held) -> None:
        self._processes[process.pid] = process
        timer = self._timeout(process)
        try:
            stdout, stderr = await process.communicate()
        finally:
            self._processes.pop(process.pid, None)
            if timer is not None:
                timer.cancel()
        returncode = process.returncode if process.returncode is not None else 0
        out = clone(msg)
        out["payload"] = _decoded(stdout)
        err_msg: Msg | None = None
        if stderr:
            err_msg = clone(msg)
            err_msg["payload"] = _decoded(stderr)
        rc: Any = None
        if returncode != 0:
            code, sig = (None, _signal_name(-returncode)) if returncode < 0 else (returncode, None)
            rc = {"code": code, "message": f"Command failed: {line}\n{stderr.decode('utf-8', 'replace')}"}
            if sig:
                rc["signal"] = sig
            self.status({"fill": "red", "shape": "dot", "text": "killed" if code is None else f"error:{code}"})
        elif not self.props.oldrc:
            rc = {"code": 0}
            self.status({})
        else:
            self.status({})
        rc_msg: Msg | None = None
        if rc is not None:
            rc_msg = clone(out)
            rc_msg["payload"] = rc
            out["rc"] = rc
            if err_msg is not None:
                err_msg["rc"] = rc
        held.send([out, err_msg, rc_msg])
        held.done()

    async def close(self) -> None:
        """Node-RED kills every running command on close; this also waits for them (SIGKILL after 5 s)."""
        running = [p for p in self._processes.values() if p.returncode is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                process.kill()
                await process.wait()
        self._processes.clear()
        self.status({})


_MISSING: Any = object()
