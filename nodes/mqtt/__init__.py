"""MQTT node family: `mqtt-broker` (shared connection), `mqtt in`, `mqtt out`, `tls-config`.

The connection layer (`_client.py`: paho on the asyncio loop; `_connection.py`:
reconnect, queues, acknowledgements) does not depend on the runtime; the node
modules are thin mappings of Node-RED's properties onto it.
"""

#: Type or alias → the module (in this package) that registers it: imported when a flow first uses one (paho with it).
NODE_TYPES = {
    "mqtt-broker": "broker", "mqtt_broker": "broker", "mqtt in": "mqtt_in", "mqtt_in": "mqtt_in",
    "mqtt out": "mqtt_out", "mqtt_out": "mqtt_out", "tls-config": "tls",
}
