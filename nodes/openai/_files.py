"""File inputs: what a flow can put in a file field of a payload, turned into what the SDK uploads.

A flow holds JSON data, and files reach it in a few shapes: a path on the
host (what Node-RED's node accepts), bytes (from a `file in` node or a
function), Node-RED's JSON form of a Buffer (`{"type": "Buffer", "data":
[...]}`, what an exported or serialised Buffer looks like), or a named file
`{filename, content[, mime]}` (the SDK's `(filename, content, mime)` tuple:
the API uses the name's extension to tell the format). Every one becomes the
SDK's `FileTypes`; a path that names no file is a problem found before any
request, so a typo costs no round trip and names the field and the path.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from . import _params

SHAPES = "a host path, bytes, a Buffer ({type: \"Buffer\", data}) or {filename, content[, mime]}"


class FileProblem(ValueError):
    """A file field that cannot be uploaded; the text names the field (and the path)."""


def _bytes(value: Any, where: str) -> bytes | None:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict) and value.get("type") == "Buffer" and isinstance(value.get("data"), list):
        try:
            return bytes(value["data"])
        except (TypeError, ValueError):
            raise FileProblem(f"property '{where}': a Buffer's data must be byte values (0-255)") from None
    return None


def _content(value: Any, where: str) -> bytes:
    """The `content` of a named file: bytes, a Buffer, or text (UTF-8; `base64:` prefix for binary text)."""
    data = _bytes(value, where)
    if data is not None:
        return data
    if isinstance(value, str):
        if value.startswith("base64:"):
            return base64.b64decode(value[7:])
        return value.encode("utf-8")
    raise FileProblem(f"property '{where}.content' must be bytes, a Buffer or text, got {_params.json_type(value)}")


def _path(value: str, where: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_file():
        reason = "is a directory" if path.is_dir() else "does not exist"
        raise FileProblem(f"property '{where}': no file at '{value}' (it {reason})")
    return path


def one_file(value: Any, where: str) -> Any:
    """One file value → the SDK's FileTypes; `where` names the field in problems."""
    if isinstance(value, str):
        if not value:
            raise FileProblem(f"property '{where}' must be a file ({SHAPES}), got an empty string")
        return _path(value, where)
    data = _bytes(value, where)
    if data is not None:
        return data
    if isinstance(value, dict) and "filename" in value and "content" in value:
        name = value["filename"]
        if not isinstance(name, str) or not name:
            raise FileProblem(f"property '{where}.filename' must be a non-empty string")
        mime = value.get("mime", value.get("content_type"))
        content = _content(value["content"], where)
        return (name, content, mime) if isinstance(mime, str) else (name, content)
    raise FileProblem(f"property '{where}' must be a file ({SHAPES}), got {_params.json_type(value)}")


def looks_like_file(value: Any) -> bool:
    """Whether a value is meant as a file (rather than, say, a `{id}` reference the same field also takes)."""
    return (isinstance(value, (str, bytes, bytearray, memoryview))
            or (isinstance(value, dict) and (value.get("type") == "Buffer" or "filename" in value
                                             or "content" in value)))


def file_input(value: Any, where: str, many: bool) -> Any:
    """A file field's value for the SDK; `many`: the field also takes a list of files."""
    if isinstance(value, list):
        if not many:
            raise FileProblem(f"property '{where}' takes one file ({SHAPES}), got an array")
        return [one_file(item, f"{where}[{i}]") for i, item in enumerate(value)]
    return one_file(value, where)
