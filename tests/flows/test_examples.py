"""Every example in flows/ is valid as shipped, and the MQTT example works end to end against Mosquitto."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from _flowproc import FLOWWIRE, ROOT, Process
from _mosquitto import Mosquitto
from _mqtt_peer import Peer

EXAMPLES = sorted(p for p in (ROOT / "flows").glob("*.yaml") if not p.name.endswith(".test.yaml"))


def test_there_are_examples() -> None:
    assert {p.name for p in EXAMPLES} >= {"assistant.yaml", "hello.yaml", "mqtt-sensors.yaml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates(path: Path) -> None:
    done = subprocess.run([*FLOWWIRE, "validate", str(path.relative_to(ROOT))], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok: "), done.stdout


def test_mqtt_sensors_raises_an_alert_for_a_hot_room_only(spawn: Callable[..., Process], mosquitto: Mosquitto,
                                                          peer: Peer) -> None:
    peer.subscribe("alerts/#")
    flow = spawn("run", "flows/mqtt-sensors.yaml", env={"MQTT_BROKER": "127.0.0.1", "MQTT_PORT": str(mosquitto.port)})
    birth = peer.next()  # published after the flow's subscriptions: readings from now on reach it
    assert (birth.topic, birth.payload) == ("alerts/flowwire/status", b"online")

    peer.publish("sensors/cellar/temperature", json.dumps({"fahrenheit": 40}), qos=1).wait_for_publish(10)
    peer.publish("sensors/kitchen/temperature", json.dumps({"celsius": 31.5}), qos=1).wait_for_publish(10)
    alert = peer.next()
    assert alert.topic == "alerts/kitchen"
    assert json.loads(alert.payload) == {"room": "kitchen", "celsius": 31.5, "limit": 30.0}
    assert flow.interrupt() == 0, flow.output
    assert not peer.unread(), "the cellar (4.4 °C) must not raise an alert"
