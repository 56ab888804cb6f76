"""Constants shared by the OpenAI tests (imported by module name: the tests dirs are not packages)."""

from __future__ import annotations

from typing import Any

KEY = "sk-test-emulator-key-0123456789"
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
