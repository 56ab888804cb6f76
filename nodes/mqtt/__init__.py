"""MQTT node family: `mqtt-broker` (shared connection), `mqtt in`, `mqtt out`, `tls-config`.

The connection layer (`_client.py`: paho on the asyncio loop; `_connection.py`:
reconnect, queues, acknowledgements) does not depend on the runtime; the node
modules are thin mappings of Node-RED's properties onto it.
"""

from . import broker, mqtt_in, mqtt_out, tls

__all__ = ["broker", "mqtt_in", "mqtt_out", "tls"]
