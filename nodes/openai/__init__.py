"""OpenAI node family: `openai-config` (shared SDK client), `openai-runs`, `openai-api`, and an offline emulator.

    config.py      the config node (also Node-RED's `Service Host`)
    runs.py        the method nodes: one dispatcher over rows of the method table
    _methods.py    the method table (one row per method; everything else derives from it and the SDK)
    _params.py     parameters, payload validation and call kinds, derived from the SDK's signatures
    _files.py      file inputs: host paths, bytes, Buffer JSON, {filename, content} → the SDK's file types
    _dispatch.py   calling the SDK: plain calls, bytes, pages, polling (`wait`), helpers, streams
    _client.py     one AsyncOpenAI per config node, bounded connections and concurrency
    docs.py        generates docs/nodes/openai-*.md (`python -m nodes.openai.docs`)
    emulator/      the offline OpenAI API (`python -m nodes.openai.emulator --port N`)
"""

#: Type or alias → the module (in this package) that registers it: imported when a flow first uses one.
NODE_TYPES = {"openai-config": "config", "Service Host": "config", "openai-runs": "runs", "openai-api": "runs", "OpenAI API": "runs"}
