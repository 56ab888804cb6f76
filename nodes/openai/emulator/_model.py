"""The emulator's deterministic "model": no randomness, so tests can assert exact text.

* Plain reply: ``You said: <last user message>``.
* Function tools: when a function tool is available and the last user message
  mentions its name (``get_weather`` or ``get weather``) or, for a name that
  starts with a verb such as ``get_``, the words after it as whole words
  (``What is the weather in Paris?``), or ``tool_choice`` forces it, the run stops in ``requires_action`` with a call whose arguments
  are read from the message (``key=value`` pairs first, then the phrase after
  "for"/"in"/"of"/"about" for the first string parameter, then the first number
  for a numeric parameter).
* After tool outputs: ``You said: <message>`` plus one ``<name> returned: <output>`` line per call.
* A message containing ``#fail`` makes the run fail with ``server_error``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

FAIL_MARKER = "#fail"

_PAIR = re.compile(r"\b(\w+)\s*[=:]\s*(\"[^\"]*\"|'[^']*'|[^\s,;]+)")
_PHRASE = re.compile(r"\b(?:for|in|of|about)\s+(.+?)(?:[?.!,;]|\s+(?:and|then|please|using|with)\b|$)", re.I)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class ToolCallPlan:
    name: str
    arguments: str  # JSON text, as the API sends it


@dataclass(frozen=True, slots=True)
class Decision:
    """Either a reply text, tool calls to request, or a failure."""

    text: str | None = None
    tool_calls: tuple[ToolCallPlan, ...] = ()
    failure: str | None = None


def message_text(message: dict[str, Any]) -> str:
    """The text parts of a stored message, joined."""
    parts = [p["text"]["value"] for p in message.get("content", []) if p.get("type") == "text"]
    return "\n".join(parts)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return ""


def _functions(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t["function"] for t in tools or [] if t.get("type") == "function" and t.get("function")]


#: Leading verbs of function names: `get_weather` is also asked for by "the weather".
_VERBS = frozenset({"get", "fetch", "find", "lookup", "look_up", "search", "read", "query"})


def _mentions(text: str, name: str) -> bool:
    lowered, name = text.lower(), name.lower()
    if name in lowered or name.replace("_", " ") in lowered:
        return True
    verb, _, subject = name.partition("_")
    return bool(subject) and verb in _VERBS and re.search(rf"\b{re.escape(subject.replace('_', ' '))}\b", lowered) is not None


def derive_arguments(text: str, function: dict[str, Any]) -> str:
    """Fill the function's JSON-schema parameters from the message text, deterministically."""
    schema = function.get("parameters") or {}
    props: dict[str, Any] = schema.get("properties") or {}
    args: dict[str, Any] = {}
    pairs = {k: v.strip("\"'") for k, v in _PAIR.findall(text)}
    for key, spec in props.items():
        if key in pairs:
            args[key] = _coerce(pairs[key], spec.get("type"))
    for key, spec in props.items():
        if key in args:
            continue
        kind = spec.get("type")
        if kind == "string" and (match := _PHRASE.search(text)):
            args[key] = match.group(1).strip()
        elif kind in ("number", "integer") and (match := _NUMBER.search(text)):
            args[key] = _coerce(match.group(0), kind)
    required = schema.get("required") or []
    for key in required:
        if key not in args and props.get(key, {}).get("type", "string") == "string":
            args[key] = text
    return json.dumps(args, separators=(",", ":"))


def _coerce(raw: str, kind: Any) -> Any:
    try:
        if kind == "integer":
            return int(float(raw))
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    if kind == "boolean":
        return raw.lower() in ("1", "true", "yes")
    return raw


def decide(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    tool_choice: Any = "auto",
    parallel_tool_calls: bool = True,
) -> Decision:
    """What the run does next, given the thread so far and the run's tools."""
    text = last_user_text(messages)
    if FAIL_MARKER in text:
        return Decision(failure="The emulator was asked to fail this run (#fail).")
    functions = _functions(tools)
    chosen: list[dict[str, Any]] = []
    if functions and tool_choice != "none":
        if isinstance(tool_choice, dict) and tool_choice.get("type") == "function":
            wanted = (tool_choice.get("function") or {}).get("name")
            chosen = [f for f in functions if f.get("name") == wanted]
        else:
            chosen = [f for f in functions if _mentions(text, f.get("name", ""))]
            if not chosen and tool_choice == "required":
                chosen = functions[:1]
        if not parallel_tool_calls:
            chosen = chosen[:1]
    if chosen:
        return Decision(tool_calls=tuple(ToolCallPlan(f["name"], derive_arguments(text, f)) for f in chosen))
    return Decision(text=f"You said: {text}")


def reply_after_tools(messages: list[dict[str, Any]], outputs: list[tuple[str, str]]) -> str:
    """The final answer once every tool call has its output: `(function name, output)` pairs."""
    lines = [f"You said: {last_user_text(messages)}"]
    lines += [f"{name} returned: {output}" for name, output in outputs]
    return "\n".join(lines)
