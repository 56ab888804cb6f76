"""In-memory state of the emulator: the API objects themselves, kept as JSON-ready dicts.

Objects are stored in the exact shape the API returns, so a handler answers
with a copy of what is stored and list endpoints paginate the stored dicts.
Insertion order is creation order (timestamps have one-second resolution and
cannot order objects created in the same second).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from ._errors import not_found
from ._ids import IdFactory

JsonObj = dict[str, Any]

ACTIVE_RUN_STATES = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
TERMINAL_RUN_STATES = frozenset({"completed", "cancelled", "failed", "expired", "incomplete"})


def now() -> int:
    return int(time.time())


def text_content(value: str) -> list[JsonObj]:
    return [{"type": "text", "text": {"value": value, "annotations": []}}]


def normalise_content(content: Any) -> list[JsonObj]:
    """Request content (a string or content parts) → stored message content."""
    if isinstance(content, str):
        return text_content(content)
    parts: list[JsonObj] = []
    for part in content or []:
        if part.get("type") == "text":
            parts.extend(text_content(part.get("text", "")))
        else:
            parts.append(copy.deepcopy(part))
    return parts


@dataclass
class RunState:
    """What the emulator keeps about a run beyond its API object."""

    obj: JsonObj
    deadline: float
    pending_calls: list[JsonObj] = field(default_factory=list)  # tool calls awaiting outputs
    tool_step_id: str | None = None


@dataclass
class Store:
    ids: IdFactory = field(default_factory=IdFactory)
    assistants: dict[str, JsonObj] = field(default_factory=dict)
    threads: dict[str, JsonObj] = field(default_factory=dict)
    messages: dict[str, dict[str, JsonObj]] = field(default_factory=dict)  # thread id → message id → message
    runs: dict[str, dict[str, RunState]] = field(default_factory=dict)  # thread id → run id → state
    steps: dict[str, dict[str, JsonObj]] = field(default_factory=dict)  # run id → step id → step

    # -- assistants -----------------------------------------------------------------
    def create_assistant(self, body: JsonObj, assistant_id: str | None = None) -> JsonObj:
        obj = {
            "id": assistant_id or self.ids.new("asst"),
            "object": "assistant",
            "created_at": now(),
            "name": body.get("name"),
            "description": body.get("description"),
            "model": body["model"],
            "instructions": body.get("instructions"),
            "tools": copy.deepcopy(body.get("tools") or []),
            "tool_resources": copy.deepcopy(body.get("tool_resources") or {}),
            "metadata": dict(body.get("metadata") or {}),
            "temperature": body.get("temperature", 1.0),
            "top_p": body.get("top_p", 1.0),
            "response_format": copy.deepcopy(body.get("response_format", "auto")),
            "reasoning_effort": body.get("reasoning_effort"),
        }
        self.assistants[obj["id"]] = obj
        return obj

    def assistant(self, assistant_id: str) -> JsonObj:
        try:
            return self.assistants[assistant_id]
        except KeyError:
            raise not_found("assistant", assistant_id) from None

    # -- threads & messages ---------------------------------------------------------
    def create_thread(self, body: JsonObj) -> JsonObj:
        obj = {
            "id": self.ids.new("thread"),
            "object": "thread",
            "created_at": now(),
            "metadata": dict(body.get("metadata") or {}),
            "tool_resources": copy.deepcopy(body.get("tool_resources") or {}),
        }
        self.threads[obj["id"]] = obj
        self.messages[obj["id"]] = {}
        self.runs[obj["id"]] = {}
        for message in body.get("messages") or []:
            self.add_message(obj["id"], message)
        return obj

    def thread(self, thread_id: str) -> JsonObj:
        try:
            return self.threads[thread_id]
        except KeyError:
            raise not_found("thread", thread_id) from None

    def delete_thread(self, thread_id: str) -> None:
        self.thread(thread_id)
        for run_id in self.runs.pop(thread_id, {}):
            self.steps.pop(run_id, None)
        del self.threads[thread_id]
        del self.messages[thread_id]

    def add_message(
        self,
        thread_id: str,
        body: JsonObj,
        *,
        assistant_id: str | None = None,
        run_id: str | None = None,
        status: str = "completed",
    ) -> JsonObj:
        self.thread(thread_id)
        created = now()
        obj = {
            "id": self.ids.new("msg"),
            "object": "thread.message",
            "created_at": created,
            "thread_id": thread_id,
            "status": status,
            "incomplete_details": None,
            "completed_at": created if status == "completed" else None,
            "incomplete_at": None,
            "role": body.get("role", "user"),
            "content": normalise_content(body.get("content", "")),
            "assistant_id": assistant_id,
            "run_id": run_id,
            "attachments": copy.deepcopy(body.get("attachments") or []),
            "metadata": dict(body.get("metadata") or {}),
        }
        self.messages[thread_id][obj["id"]] = obj
        return obj

    def message(self, thread_id: str, message_id: str) -> JsonObj:
        self.thread(thread_id)
        try:
            return self.messages[thread_id][message_id]
        except KeyError:
            raise not_found("message", message_id) from None

    # -- runs & steps -----------------------------------------------------------------
    def run_state(self, thread_id: str, run_id: str) -> RunState:
        self.thread(thread_id)
        try:
            return self.runs[thread_id][run_id]
        except KeyError:
            raise not_found("run", run_id) from None

    def active_run(self, thread_id: str) -> RunState | None:
        for state in self.runs.get(thread_id, {}).values():
            if state.obj["status"] in ACTIVE_RUN_STATES:
                return state
        return None

    def add_step(self, run: JsonObj, step_type: str, details: JsonObj) -> JsonObj:
        step = {
            "id": self.ids.new("step"),
            "object": "thread.run.step",
            "created_at": now(),
            "assistant_id": run["assistant_id"],
            "thread_id": run["thread_id"],
            "run_id": run["id"],
            "type": step_type,
            "status": "in_progress",
            "step_details": details,
            "last_error": None,
            "expired_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "metadata": {},
            "usage": None,
        }
        self.steps.setdefault(run["id"], {})[step["id"]] = step
        return step

    def step(self, thread_id: str, run_id: str, step_id: str) -> JsonObj:
        self.run_state(thread_id, run_id)
        try:
            return self.steps[run_id][step_id]
        except KeyError:
            raise not_found("run step", step_id) from None
