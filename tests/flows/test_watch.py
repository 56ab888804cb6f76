"""`flowwire run --watch`: an edit is deployed through validate-drain-replace; a broken edit keeps the old flows."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
from _flowproc import Process

FLOW = """
settings: {{uiPort: 0, uiHost: 127.0.0.1}}
nodes:
  - {{id: in, type: http in, url: /hello, wires: [say]}}
  - {{id: say, type: change, rules: [{{t: set, p: payload, pt: msg, to: "{text}", tot: str}}], wires: [out]}}
  - {{id: out, type: {response}}}
"""


def _text_becomes(client: httpx2.Client, expected: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while (got := client.get("/hello").text) != expected:
        assert time.monotonic() < deadline, f"still answering {got!r}, expected {expected!r}"
        time.sleep(0.05)


def test_edits_are_deployed_and_a_broken_edit_keeps_the_running_flows(spawn: Callable[..., Process], tmp_path: Path) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(FLOW.format(text="one", response="http response"))
    flow = spawn("run", "--watch", str(path))
    base = re.search(r"listening on (\S+)", flow.wait_for(lambda line: "listening on" in line, 60, "the server")).group(1)  # type: ignore[union-attr]
    flow.wait_for(lambda line: "watching" in line, 30, "the watcher")
    with httpx2.Client(base_url=base, timeout=10) as client:
        assert client.get("/hello").text == "one"

        path.write_text(FLOW.format(text="two", response="http response"))
        _text_becomes(client, "two")

        path.write_text(FLOW.format(text="three", response="http responce"))
        problem = flow.wait_for(lambda line: "unknown node type 'http responce'" in line, 20, "the located problem")
        assert f"{path}:" in problem and "node 'out'" in problem and "did you mean 'http response'" in problem
        assert client.get("/hello").text == "two", "the broken edit changed nothing"

        tmp = tmp_path / "api.yaml.tmp"  # an editor's save: write a new file, rename it over the old one
        tmp.write_text(FLOW.format(text="four", response="http response"))
        tmp.replace(path)
        _text_becomes(client, "four")
    assert flow.interrupt() == 0, flow.output
    assert "Traceback" not in flow.output, flow.output
