"""docs/nodes/openai-*.md are generated from the method table and the validation; they must be current."""

from __future__ import annotations

from nodes.openai.docs import generate


def test_committed_docs_equal_the_generated_ones() -> None:
    stale = [path.name for path, text in generate().items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    assert not stale, f"run `python -m nodes.openai.docs` to regenerate: {stale}"


def test_docs_carry_the_corrected_help() -> None:
    runs = generate()
    text = next(t for p, t in runs.items() if p.name == "openai-runs.md")
    create_run = text.split("### createRun\n", 1)[1].split("### ", 1)[0]
    assert "| `include` | array of" in create_run and "| no | query |" in create_run
    assert "| `reasoning_effort` |" in create_run and '"required"' in create_run


def test_every_method_has_a_section() -> None:
    from nodes.openai._methods import METHODS

    docs = {p.name: t for p, t in generate().items()}
    for method in METHODS:
        where = "openai-runs.md" if method.service == "runs" else "openai-api.md"
        assert f"\n### {method.name}\n" in docs[where], method.name
    api = docs["openai-api.md"]
    assert "## Vector Store File Batches" in api and "File input (`file`)" in api
    assert "No API behind this name" in api.split("### listAssistantFiles", 1)[1].split("###", 1)[0]


def test_flowwire_nodes_lists_every_method_by_service() -> None:
    import subprocess
    import sys
    from pathlib import Path

    from nodes.openai._methods import SERVICES, by_service

    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-m", "runtime.cli", "nodes", "openai-api"], cwd=root,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for service, rows in by_service().items():
        line = next(ln for ln in done.stdout.splitlines() if ln.startswith(SERVICES[service] + ":"))
        assert line.split(": ", 1)[1].split(", ") == [m.name for m in rows]
