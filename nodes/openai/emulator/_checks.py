"""Request-body checks, answered with OpenAI's 400 wording and codes.

The emulator is a server: it must reject what the real service rejects
(missing or unknown parameters, wrong JSON types) so that a client bug shows
up offline too. Types are JSON types; a trailing "?" means null is allowed.
"""

from __future__ import annotations

from typing import Any

from ._errors import bad_request

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}
_DESCRIBE = {"string": "a string", "number": "a decimal", "integer": "an integer", "boolean": "a boolean",
             "object": "an object", "array": "an array"}

_RUN_FIELDS: dict[str, str] = {
    "assistant_id": "string", "model": "string?", "instructions": "string?", "tools": "array?",
    "metadata": "object?", "temperature": "number?", "top_p": "number?", "stream": "boolean?",
    "max_prompt_tokens": "integer?", "max_completion_tokens": "integer?", "truncation_strategy": "object?",
    "tool_choice": "string|object?", "parallel_tool_calls": "boolean", "response_format": "string|object?",
}
MESSAGE_FIELDS: dict[str, str] = {"role": "string", "content": "string|array", "attachments": "array?",
                                  "metadata": "object?"}
THREAD_FIELDS: dict[str, str] = {"messages": "array", "tool_resources": "object?", "metadata": "object?"}
ASSISTANT_FIELDS: dict[str, str] = {
    "model": "string", "name": "string?", "description": "string?", "instructions": "string?", "tools": "array",
    "tool_resources": "object?", "metadata": "object?", "temperature": "number?", "top_p": "number?",
    "response_format": "string|object?", "reasoning_effort": "string?",
}
CREATE_RUN_FIELDS = {**_RUN_FIELDS, "additional_instructions": "string?", "additional_messages": "array?",
                     "reasoning_effort": "string?"}
CREATE_THREAD_AND_RUN_FIELDS = {**_RUN_FIELDS, "thread": "object", "tool_resources": "object?"}
SUBMIT_FIELDS = {"tool_outputs": "array", "stream": "boolean?"}
METADATA_ONLY = {"metadata": "object?"}


def _type_ok(value: Any, spec: str) -> bool:
    nullable = spec.endswith("?")
    if value is None:
        return nullable
    for name in spec.rstrip("?").split("|"):
        types = _JSON_TYPES[name]
        if isinstance(value, bool) and bool not in types:
            continue
        if isinstance(value, types):
            return True
    return False


def check_body(body: Any, fields: dict[str, str], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return the body if acceptable, else raise the 400 the real API would send."""
    if not isinstance(body, dict):
        raise bad_request("Invalid body: expected a JSON object.", code="invalid_type")
    for name in required:
        if name not in body:
            raise bad_request(f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    for name, value in body.items():
        spec = fields.get(name)
        if spec is None:
            raise bad_request(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
        if not _type_ok(value, spec):
            wanted = " or ".join(_DESCRIBE[t] for t in spec.rstrip("?").split("|"))
            got = type(value).__name__ if value is not None else "null"
            raise bad_request(f"Invalid type for '{name}': expected {wanted}, but got {got} instead.",
                              param=name, code="invalid_type")
    return body


def check_tool_outputs(outputs: list[Any]) -> list[dict[str, Any]]:
    for i, item in enumerate(outputs):
        if not isinstance(item, dict) or not isinstance(item.get("tool_call_id"), str):
            raise bad_request(f"Missing required parameter: 'tool_outputs[{i}].tool_call_id'.",
                              param=f"tool_outputs[{i}].tool_call_id", code="missing_required_parameter")
        if not isinstance(item.get("output", ""), str):
            raise bad_request(f"Invalid type for 'tool_outputs[{i}].output': expected a string.",
                              param=f"tool_outputs[{i}].output", code="invalid_type")
    return outputs


def check_messages(messages: list[Any], param: str) -> None:
    for i, message in enumerate(messages):
        check_body(message, MESSAGE_FIELDS, ("role", "content"))
        if message["role"] not in ("user", "assistant"):
            raise bad_request(f"Invalid value: '{message['role']}'. Supported values are: 'user' and 'assistant'.",
                              param=f"{param}[{i}].role", code="invalid_value")
