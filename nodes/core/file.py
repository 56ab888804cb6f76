"""file and file in: write, append or delete a file; read one as text, lines or bytes.

File system calls run in a worker thread (`asyncio.to_thread`) so a slow
disk never stalls the event loop; each node handles one message at a time,
so writes to a file land in message order, as in Node-RED.

Relative file names resolve against the `fileWorkingDirectory` setting when
the flow sets one, otherwise against the process's working directory (as
Node-RED does).
"""

from __future__ import annotations

import asyncio
import codecs
import errno
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from runtime import Msg, Node, NodeError, NodeProps, Output, clone, lenient, new_msgid, register
from runtime.properties import PathError, compile_value

from ._text import json_text

#: iconv-lite names Node-RED offers that Python spells differently.
_ENCODING_ALIASES = {"none": "utf-8", "utf16le": "utf-16-le", "utf16be": "utf-16-be", "ucs2": "utf-16-le", "binary": "latin-1", "win1252": "cp1252"}
_ENV_ONLY = re.compile(r"^\$\{([^}]+)\}$")


def _codec(name: str) -> str:
    """A Python codec for an iconv-lite encoding name; ValueError when there is none."""
    key = (name or "none").lower()
    resolved = _ENCODING_ALIASES.get(key, key)
    try:
        return codecs.lookup(resolved).name
    except LookupError:
        raise ValueError(f"unknown encoding {name!r}") from None


def _os_error(exc: OSError) -> dict[str, Any]:
    """The shape of a Node.js fs error: code, errno, syscall-free message."""
    code = errno.errorcode.get(exc.errno or 0, "EIO")
    return {"message": f"{code}: {exc.strerror or exc}, {exc.filename or ''}".rstrip(", "), "code": code, "errno": -(exc.errno or 0), "path": exc.filename}


class _FileNameProps(NodeProps):
    filename: str = Field("", description="file name (or the msg property / env var holding it, per filenameType)")
    filenameType: Literal["str", "msg", "env", "jsonata", ""] = Field("", description="str, msg, env or jsonata; '' = Node-RED < 3 (blank name means msg.filename)")
    encoding: lenient.Blank[str] = Field("none", description="text encoding (iconv-lite names: none = utf8, latin1, utf16le, win1252 ...)")


class _FileNode(Node):
    """Resolves the file name the way both file nodes do."""

    props: Any

    @classmethod
    def check(cls, props: Any) -> list[tuple[str, str]]:
        if props.encoding != "setbymsg":
            try:
                _codec(props.encoding)
            except ValueError as exc:
                return [("encoding", str(exc))]
        return []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name, kind = self.props.filename or "", self.props.filenameType
        if kind == "":
            # Node-RED's in-place upgrade of flows from before 3.0.
            if name == "":
                name, kind = "filename", "msg"
            elif m := _ENV_ONLY.match(name):
                name, kind = m.group(1), "env"
            else:
                kind = "str"
        self._dynamic = kind not in ("str", "env")
        self._filename = compile_value(name, kind)
        workdir = self.settings.get("fileWorkingDirectory")
        self._workdir = Path(self.base_dir, workdir) if workdir else None

    def _resolve(self, msg: Msg) -> Path | None:
        """The file to use, with msg.filename set to its name (and shown as status when it comes from the msg)."""
        try:
            value = self._filename(msg, self)
        except PathError as exc:
            raise NodeError(f"{self.type}: {exc}", msg) from None
        name = re.sub(r"[\t\r\n]", "", "" if value is None else str(value))
        if not name:
            self.warn("No filename specified")
            return None
        msg["filename"] = name
        if self._dynamic:
            self.status("grey", "dot", name)
        path = Path(name)
        if self._workdir is not None and not path.is_absolute():
            path = self._workdir / path
        return path


class FileProps(_FileNameProps):
    appendNewline: lenient.Bool = Field(True, description="add a newline after each payload (not after a buffer)")
    createDir: lenient.Bool = Field(False, description="create the directory if it does not exist")
    overwriteFile: Literal["true", "false", "delete"] = Field("false", description="true: overwrite; false: append; delete: delete the file")

    @field_validator("overwriteFile", mode="before")
    @classmethod
    def _bool_text(cls, value: Any) -> Any:
        return str(value).lower() if isinstance(value, bool) else value


@register("file")
class File(_FileNode):
    """Writes msg.payload to a file (append or overwrite), or deletes the file."""

    Props = FileProps
    props: FileProps

    async def on_input(self, msg: Msg) -> Output:
        path = self._resolve(msg)
        if path is None:
            return None
        action = self.props.overwriteFile
        if action == "delete":
            try:
                await asyncio.to_thread(os.unlink, path)
            except OSError as exc:
                raise NodeError(f"failed to delete file: {_os_error(exc)['message']}", msg) from None
            return msg
        if "payload" not in msg:
            return None
        data = self._encode(msg)
        try:
            await asyncio.to_thread(self._write, path, data, "wb" if action == "true" else "ab")
        except OSError as exc:
            verb = "create directory" if isinstance(exc, _DirError) else "write to file" if action == "true" else "append to file"
            raise NodeError(f"failed to {verb}: {_os_error(exc)['message']}", msg) from None
        return msg

    def _encode(self, msg: Msg) -> bytes:
        data = msg["payload"]
        if isinstance(data, (bytes, bytearray)):
            return bytes(data)
        if isinstance(data, (dict, list)) or data is None:
            text = json_text(data)
        elif isinstance(data, bool):
            text = "true" if data else "false"
        elif isinstance(data, (int, float)):
            from ._jsvalues import format_number

            text = format_number(float(data)) if isinstance(data, float) else str(data)
        else:
            text = str(data)
        if self.props.appendNewline and not _ends_string_sequence(msg):
            text += os.linesep
        encoding = self.props.encoding
        if encoding == "setbymsg":
            encoding = str(msg.get("encoding") or "none")
        try:
            return text.encode(_codec(encoding))
        except (ValueError, UnicodeEncodeError) as exc:
            raise NodeError(f"file: cannot encode as {encoding}: {exc}", msg) from None

    def _write(self, path: Path, data: bytes, mode: str) -> None:
        if self.props.createDir:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _DirError(exc.errno, exc.strerror, exc.filename) from None
        with open(path, mode) as f:
            f.write(data)


def _ends_string_sequence(msg: Msg) -> bool:
    """The last part of a split string: Node-RED writes no newline after it, so split → file rebuilds the text."""
    parts = msg.get("parts")
    if not isinstance(parts, dict) or parts.get("type") != "string":
        return False
    count, index = parts.get("count"), parts.get("index")
    return type(count) in (int, float) and type(index) in (int, float) and count == index + 1


class _DirError(OSError):
    """Creating the directory failed (reported differently from the write itself)."""


class FileInProps(_FileNameProps):
    format: Literal["utf8", "lines", "", "stream"] = Field("utf8", description="utf8: one string; lines: a message per line; '': one buffer; stream: 64 KiB buffer chunks")
    chunk: lenient.Bool = False
    sendError: lenient.Blank[bool | None] = Field(None, description="also send a message (without payload, with msg.error) on a read error; default true for old flows")
    allProps: lenient.Bool = Field(False, description="lines/stream: copy every property of the input message into each output")


#: Node.js's default read-stream chunk (highWaterMark) is 64 KiB; `stream` format mirrors it.
_CHUNK = 64 * 1024


@register("file in")
class FileIn(_FileNode):
    """Reads a file into msg.payload as a string, a message per line, or a buffer."""

    Props = FileInProps
    props: FileInProps

    async def on_input(self, msg: Msg) -> Output:
        path = self._resolve(msg)
        if path is None:
            return None
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            error = _os_error(exc)
            self.error(NodeError(error["message"], msg, code=error["code"]), msg)
            if self.props.sendError is not False:
                out = clone(msg)
                out.pop("payload", None)
                out["error"] = error
                return out
            return None
        fmt = self.props.format
        if fmt == "":
            msg["payload"] = data
            return msg
        encoding = self.props.encoding if self.props.encoding != "setbymsg" else "none"
        try:
            codec = _codec(encoding)
        except ValueError as exc:
            raise NodeError(f"file in: {exc}", msg) from None
        if fmt == "utf8":
            msg["payload"] = data.decode(codec, "replace")
            return msg
        if fmt == "lines":
            lines = data.decode(codec, "replace").split("\n")
            return [self._sequence(msg, lines, "\n", "string", last=len(lines) - 1)]
        chunks = [data[i : i + _CHUNK] for i in range(0, len(data), _CHUNK)]
        if chunks and len(chunks[-1]) < _CHUNK:
            return [self._sequence(msg, chunks, "", "buffer", last=len(chunks) - 1)]
        # Node-RED ends a stream whose size is a multiple of the chunk with an empty part (no payload).
        out = self._sequence(msg, chunks, "", "buffer", last=None)
        out.append({**self._base(msg), "parts": {"index": len(chunks), "count": len(chunks), "ch": "", "type": "buffer", "id": msg["_msgid"]}})
        return [out]

    def _sequence(self, msg: Msg, payloads: list[Any], ch: str, kind: str, last: int | None) -> list[Msg]:
        """A message per payload with `msg.parts`; the one at index `last` carries the count."""
        meta = {"ch": ch, "type": kind, "id": msg.setdefault("_msgid", new_msgid())}
        out = []
        for index, payload in enumerate(payloads):
            m = self._base(msg)
            m["payload"] = payload
            m["parts"] = {"index": index, **meta}
            if index == last:
                m["parts"]["count"] = index + 1
            out.append(m)
        return out

    def _base(self, msg: Msg) -> Msg:
        if self.props.allProps:
            m = clone(msg)
            m.pop("_msgid", None)
            return m
        return {k: msg[k] for k in ("topic", "filename") if k in msg}
