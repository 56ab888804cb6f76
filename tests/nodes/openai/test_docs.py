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
