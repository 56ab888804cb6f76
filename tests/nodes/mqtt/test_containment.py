"""paho-mqtt's private API stays inside `_client.py`, and only on the paho releases it was tested with."""

from __future__ import annotations

import ast
from pathlib import Path

import paho.mqtt
import pytest

from nodes.mqtt import _client
from nodes.mqtt._client import (
    PAHO_SUPPORTED,
    UnsupportedPahoVersion,
    check_paho_version,
)

PACKAGE = Path(_client.__file__).parent
#: Names a module may reach private attributes through: its own object and class.
OWN = {"self", "cls"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _own(owner: ast.expr) -> bool:
    if isinstance(owner, ast.Name):
        return owner.id in OWN
    return isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super"


def _reaches_in(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return _private(node.attr) and not _own(node.value)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
        and _private(node.args[1].value)
        and not _own(node.args[0])
    )


def private_accesses(source: str) -> list[str]:
    """`obj._name` or `getattr(obj, "_name")` (not dunders) where `obj` is not `self`/`cls`/`super()`, as 'line: code'."""
    return [f"{node.lineno}: {ast.unparse(node)}" for node in ast.walk(ast.parse(source)) if _reaches_in(node)]


def test_no_private_attribute_is_used_outside_client_py() -> None:
    modules = sorted(p for p in PACKAGE.glob("*.py") if p.name != "_client.py")
    assert {p.name for p in modules} >= {"_connection.py", "broker.py", "mqtt_in.py", "mqtt_out.py"}
    leaks = {p.name: hits for p in modules if (hits := private_accesses(p.read_text(encoding="utf-8")))}
    assert leaks == {}


@pytest.mark.parametrize(
    "source",
    [
        "client._sock.close()",
        "len(self._client._out_packet)",
        "conn._client._sock_close()",
        "self.connection._want_connected = True",
        "def f(c):\n    return c._gen",
        "getattr(client, '_out_packet')",
        "setattr(conn, '_want_connected', False)",
    ],
)
def test_the_walk_finds_private_access(source: str) -> None:
    assert private_accesses(source)


def test_the_walk_allows_own_and_public_access() -> None:
    source = "self._x = cls._y\nsuper()._packet_write()\nclient.socket()\nT.__args__\ngetattr(flags, 'session_present')"
    assert private_accesses(source) == []


def test_the_installed_paho_is_supported() -> None:
    check_paho_version(paho.mqtt.__version__)


@pytest.mark.parametrize("version", ["2.2.0", "2.2.1", "2.2.10rc1"])
def test_supported_versions_pass(version: str) -> None:
    assert PAHO_SUPPORTED == ((2, 2), (2, 3))
    check_paho_version(version)


@pytest.mark.parametrize("version", ["2.1.0", "2.3.0", "2.3.0.dev0", "3.0.0", "1.6.1", "10.2.0", "unknown"])
def test_other_versions_fail_with_the_range_and_what_was_found(version: str) -> None:
    with pytest.raises(UnsupportedPahoVersion) as caught:
        check_paho_version(version)
    text = str(caught.value)
    assert ">=2.2,<2.3" in text
    assert repr(version) in text
    assert isinstance(caught.value, ImportError)
