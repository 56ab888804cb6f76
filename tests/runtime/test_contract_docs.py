"""docs/custom-nodes.md lists the whole node contract and quotes the example files exactly."""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import runtime
from runtime import Held, Node, lenient, register, testing
from runtime.testing import Flow, run_flow

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "custom-nodes.md"
EXAMPLES = ROOT / "flows" / "custom_nodes"
#: A table row's first cell: the name, before any call signature or subscript.
_ROW_NAME = re.compile(r"^\| `([A-Za-z_][\w.]*)")
_QUOTE = re.compile(r"^`flows/custom_nodes/([\w.]+)`:\n\n```python\n(.*?)^```$", re.M | re.S)


@register("contract-plain")
class Plain(Node):
    """A node that adds nothing, so its public names are exactly Node's (tests only)."""


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _documented_names() -> list[str]:
    section = _section(PAGE.read_text(), "## The contract, name by name")
    return [m.group(1) for line in section.splitlines() if (m := _ROW_NAME.match(line))]


def _public(names: object) -> set[str]:
    return {name for name in dir(names) if not name.startswith("_")}


async def _contract_names() -> set[str]:
    async with run_flow([{"id": "plain", "type": "contract-plain"}]) as flow:
        node_names = _public(flow.node("plain"))  # class members and what Node.__init__ sets (id, name, props, log ...)
    modules = {m.name for m in pkgutil.iter_modules(runtime.__path__) if not m.name.startswith("_")}
    testing_own = {n for n in testing.__all__ if getattr(testing, n) is not getattr(runtime, n, None)}
    return (
        set(runtime.__all__)
        | {f"Node.{n}" for n in node_names}
        | {f"Held.{n}" for n in _public(Held)}
        | {f"Flow.{n}" for n in _public(Flow) | {"runtime"}}
        | {f"runtime.{m}" for m in modules}
        | {f"lenient.{n}" for n in lenient.__all__}
        | {f"testing.{n}" for n in testing_own}
    )


async def test_the_page_lists_every_public_name_once() -> None:
    documented = _documented_names()
    assert len(documented) == len(set(documented)), "a name is listed twice"
    expected = await _contract_names()
    assert sorted(expected - set(documented)) == [], "public but not on docs/custom-nodes.md"
    assert sorted(set(documented) - expected) == [], "on docs/custom-nodes.md but not public"


def test_the_code_on_the_page_is_the_example_files() -> None:
    quoted = {name: code for name, code in _QUOTE.findall(PAGE.read_text())}
    assert set(quoted) == {p.name for p in EXAMPLES.glob("*.py")}, "every example file is quoted, and only those"
    for name, code in quoted.items():
        assert code == (EXAMPLES / name).read_text(), f"the page's copy of {name} differs from the file"


def test_the_page_shows_the_example_flow() -> None:
    page = PAGE.read_text()
    flow = (ROOT / "flows" / "custom-node.yaml").read_text()
    nodes = flow[flow.index("modules:") :]
    shown = re.sub(r"\n\n", "\n", nodes)
    assert f"```yaml\n{shown}```" in page
