"""The example flows under flows/openai/ run offline as shipped (the config node's emulator: auto).

Each flow file is loaded as it is, its `debug` nodes swapped for test sinks
(same ids, same wires), and run in this process with no OPENAI_API_KEY.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.testing import run_flow

ROOT = Path(__file__).resolve().parents[3]
FLOWS = ROOT / "flows" / "openai"


def _load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((FLOWS / name).read_text(encoding="utf-8"))
    document["nodes"] = [{"id": n["id"], "type": "test-sink"} if n["type"] == "debug" else n
                         for n in document["nodes"]]
    return document


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def test_the_examples_are_here() -> None:
    assert {p.name for p in FLOWS.glob("*.yaml")} == {"chat.yaml", "responses-stream.yaml", "embeddings.yaml",
                                                       "speech-roundtrip.yaml", "file-search.yaml"}


async def test_chat() -> None:
    async with run_flow(_load("chat.yaml")) as flow:
        [answer] = await flow.received("print-answer", 1, timeout=10)
        assert not flow.node("print-error").messages
    assert answer["payload"] == "You said: Name three rivers in Europe."


async def test_responses_stream() -> None:
    async with run_flow(_load("responses-stream.yaml")) as flow:
        [final] = await flow.received("print-final", 1, timeout=10)
        deltas = [m["payload"] for m in flow.node("print-delta").messages]
    assert final["payload"] == "You said: Write a haiku about rivers."
    assert "".join(deltas) == final["payload"] and len(deltas) > 3


async def test_embeddings() -> None:
    async with run_flow(_load("embeddings.yaml")) as flow:
        [out] = await flow.received("print-similarity", 1, timeout=10)
    assert out["payload"]["dimensions"] == 256 and -1 <= out["payload"]["similarity"] <= 1


async def test_speech_to_a_file_and_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    audio = tmp_path / "out" / "speech.wav"
    monkeypatch.setenv("SPEECH_FILE", str(audio))
    async with run_flow(_load("speech-roundtrip.yaml")) as flow:
        [heard] = await flow.received("print-text", 1, timeout=10)
    assert heard["payload"] == "Flows can talk now."
    with wave.open(str(audio), "rb") as played:  # a real, playable WAV was written
        assert played.getnframes() > 0 and played.getframerate() == 8000


async def test_file_search(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_FILE", str(FLOWS / "data" / "returns-policy.md"))
    async with run_flow(_load("file-search.yaml")) as flow:
        [answer] = await flow.received("print-answer", 1, timeout=10)
        assert not flow.node("print-error").messages
    assert "within 30 days of delivery" in answer["payload"] and "returns-policy.md" in answer["payload"]
