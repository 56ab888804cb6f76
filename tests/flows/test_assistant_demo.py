"""The main demo, flows/assistant.yaml, run as the README runs it: `flowwire run flows/assistant.yaml`.

Offline (no broker, no key): an embedded broker and the in-process emulator answer, and it says so.
With MQTT_BROKER / OPENAI_API_KEY / OPENAI_BASE_URL set, the same file uses those services instead:
a test Mosquitto and an emulator in its own process (`flowwire emulate openai`) that demands the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from _flowproc import Process
from _mosquitto import Mosquitto
from _mqtt_peer import Peer

# What the flow's fake get_weather returns for Paris; the assistant's answer must include it.
TOOL_RESULT = json.dumps({"city": "Paris", "temperature_c": 22, "conditions": "sunny"})


def _answer(flow: Process) -> str:
    """The debug lines printing the answer: `[assistant] answer: ...` plus its continuation lines."""
    first = flow.wait_for(lambda line: line.startswith("[assistant] answer: "), timeout=60, what="the answer")
    text = [first.removeprefix("[assistant] answer: ")]
    while TOOL_RESULT not in "\n".join(text):
        text.append(flow.wait_for(lambda line: True, timeout=10, what="the rest of the answer"))
    return "\n".join(text)


def test_offline_demo_answers_with_the_tool_result_and_says_it_is_offline(spawn: Callable[..., Process]) -> None:
    flow = spawn("run", "flows/assistant.yaml")
    answer = _answer(flow)
    assert answer.startswith("You said: What is the weather in Paris?")
    assert f"get_weather returned: {TOOL_RESULT}" in answer
    assert flow.interrupt() == 0, flow.output
    log = flow.output
    assert re.search(r"OFFLINE: MQTT goes through the embedded broker", log), log
    assert re.search(r"OFFLINE: OpenAI calls go to the built-in emulator .*OPENAI_API_KEY is not set", log), log
    assert "Traceback" not in log and "ERROR" not in log, log


def test_same_flow_uses_the_broker_and_api_from_the_environment(spawn: Callable[..., Process], mosquitto: Mosquitto,
                                                                 peer: Peer) -> None:
    key = "sk-demo-test-key-not-real"
    emulator = spawn("emulate", "openai", "--port", "0", "--api-key", key)
    base_url = re.search(r"listening on (\S+)", emulator.wait_for(
        lambda line: "listening on" in line, timeout=30, what="the emulator")).group(1)  # type: ignore[union-attr]
    peer.subscribe("flowwire/assistant/#")

    flow = spawn("run", "flows/assistant.yaml", env={
        "MQTT_BROKER": "127.0.0.1", "MQTT_PORT": str(mosquitto.port),
        "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": key,
    })
    answer = _answer(flow)
    assert f"get_weather returned: {TOOL_RESULT}" in answer
    # Both messages crossed the test Mosquitto (not an embedded broker) ...
    question, reply = peer.next(), peer.next()
    assert (question.topic, question.payload) == ("flowwire/assistant/question", b"What is the weather in Paris?")
    assert reply.topic == "flowwire/assistant/answer" and TOOL_RESULT.encode() in reply.payload
    # ... and a question from outside the flow is answered too.
    peer.publish("flowwire/assistant/question", "What is the weather in Oslo?", qos=1).wait_for_publish(10)
    assert "Oslo" in flow.wait_for(lambda line: "answer: " in line, timeout=30, what="the second answer")
    assert flow.interrupt() == 0, flow.output
    assert "OFFLINE" not in flow.output, flow.output
    assert emulator.interrupt() == 0
