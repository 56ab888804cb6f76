"""Run lifecycle: queued → in_progress → requires_action → completed / cancelled / failed / expired.

Every transition is produced as an SSE-style event `(name, data snapshot)`
by a generator, so streaming and non-streaming requests share one code path:
a streaming handler writes the events as they come, a plain request lets a
loop callback drain the same generator after `run_latency` seconds (the run
is returned `queued`, and later reads show it progressing, as with the real
service).
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections.abc import Iterator
from typing import Any

from . import _model
from ._errors import bad_request
from ._store import ACTIVE_RUN_STATES, JsonObj, RunState, Store, now, text_content

Event = tuple[str, JsonObj]
_CHUNK = re.compile(r"\S+\s*|\s+")


def _usage(prompt: int, completion: int) -> JsonObj:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _words(text: str) -> int:
    return len(text.split())


def _snap(name: str, obj: JsonObj) -> Event:
    return name, copy.deepcopy(obj)


class RunEngine:
    """Creates runs and moves them through their lifecycle inside a `Store`."""

    def __init__(self, store: Store, *, run_latency: float = 0.0, run_expiry: float = 600.0) -> None:
        self.store = store
        self.run_latency = run_latency
        self.run_expiry = run_expiry

    # -- creation ---------------------------------------------------------------------
    def create_run(self, thread_id: str, body: JsonObj) -> RunState:
        store = self.store
        store.thread(thread_id)
        assistant = store.assistant(body["assistant_id"])
        if active := store.active_run(thread_id):
            raise bad_request(f"Thread {thread_id} already has an active run {active.obj['id']}.")
        for message in body.get("additional_messages") or []:
            store.add_message(thread_id, message)

        def pick(key: str, default: Any) -> Any:
            value = body.get(key)
            return copy.deepcopy(value) if value is not None else default

        instructions = pick("instructions", assistant.get("instructions") or "")
        if extra := body.get("additional_instructions"):
            instructions = f"{instructions}\n{extra}" if instructions else extra
        created = now()
        run = {
            "id": store.ids.new("run"),
            "object": "thread.run",
            "created_at": created,
            "thread_id": thread_id,
            "assistant_id": assistant["id"],
            "status": "queued",
            "required_action": None,
            "last_error": None,
            "expires_at": created + int(self.run_expiry),
            "started_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "incomplete_details": None,
            "model": pick("model", assistant["model"]),
            "instructions": instructions,
            "tools": pick("tools", copy.deepcopy(assistant.get("tools") or [])),
            "metadata": pick("metadata", {}),
            "usage": None,
            "temperature": pick("temperature", assistant.get("temperature", 1.0)),
            "top_p": pick("top_p", assistant.get("top_p", 1.0)),
            "max_prompt_tokens": body.get("max_prompt_tokens"),
            "max_completion_tokens": body.get("max_completion_tokens"),
            "truncation_strategy": pick("truncation_strategy", {"type": "auto", "last_messages": None}),
            "tool_choice": pick("tool_choice", "auto"),
            "parallel_tool_calls": pick("parallel_tool_calls", True),
            "response_format": pick("response_format", assistant.get("response_format") or "auto"),
            "reasoning_effort": body.get("reasoning_effort"),
        }
        state = RunState(obj=run, deadline=time.monotonic() + self.run_expiry)
        store.runs[thread_id][run["id"]] = state
        return state

    def schedule(self, state: RunState, events: Iterator[Event]) -> None:
        """Let a non-streaming run progress in the background, as the real service does."""

        def drain() -> None:
            for _ in events:
                pass

        asyncio.get_running_loop().call_later(self.run_latency, drain)

    # -- execution --------------------------------------------------------------------
    def execute(self, state: RunState, tool_outputs: list[tuple[str, str]] | None = None) -> Iterator[Event]:
        """Take a queued run to requires_action or a terminal state, yielding each event."""
        self.refresh(state)
        run = state.obj
        if run["status"] != "queued":
            return  # cancelled or expired while it waited
        run["status"] = "in_progress"
        run["started_at"] = now()
        yield _snap("thread.run.in_progress", run)
        messages = list(self.store.messages[run["thread_id"]].values())
        if tool_outputs is not None:
            yield from self._reply(state, _model.reply_after_tools(messages, tool_outputs))
            return
        decision = _model.decide(messages, run["tools"], run["tool_choice"], run["parallel_tool_calls"])
        if decision.failure:
            run.update(status="failed", failed_at=now(), last_error={"code": "server_error", "message": decision.failure})
            yield _snap("thread.run.failed", run)
        elif decision.tool_calls:
            yield from self._request_tools(state, decision.tool_calls)
        else:
            yield from self._reply(state, decision.text or "")

    def _request_tools(self, state: RunState, plans: tuple[_model.ToolCallPlan, ...]) -> Iterator[Event]:
        run = state.obj
        calls = [
            {"id": self.store.ids.new("call"), "type": "function", "function": {"name": p.name, "arguments": p.arguments}}
            for p in plans
        ]
        step_calls = [{**c, "function": {**c["function"], "output": None}} for c in calls]
        step = self.store.add_step(run, "tool_calls", {"type": "tool_calls", "tool_calls": step_calls})
        yield _snap("thread.run.step.created", step)
        yield _snap("thread.run.step.in_progress", step)
        delta = {"step_details": {"type": "tool_calls", "tool_calls": [{"index": i, **c} for i, c in enumerate(step_calls)]}}
        yield "thread.run.step.delta", {"id": step["id"], "object": "thread.run.step.delta", "delta": copy.deepcopy(delta)}
        state.pending_calls = calls
        state.tool_step_id = step["id"]
        run["status"] = "requires_action"
        run["required_action"] = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": copy.deepcopy(calls)}}
        yield _snap("thread.run.requires_action", run)

    def _reply(self, state: RunState, text: str) -> Iterator[Event]:
        store, run = self.store, state.obj
        message = store.add_message(
            run["thread_id"], {"role": "assistant", "content": []},
            assistant_id=run["assistant_id"], run_id=run["id"], status="in_progress",
        )
        step = store.add_step(run, "message_creation",
                              {"type": "message_creation", "message_creation": {"message_id": message["id"]}})
        yield _snap("thread.run.step.created", step)
        yield _snap("thread.run.step.in_progress", step)
        yield _snap("thread.message.created", message)
        yield _snap("thread.message.in_progress", message)
        for chunk in _CHUNK.findall(text):
            yield "thread.message.delta", {
                "id": message["id"],
                "object": "thread.message.delta",
                "delta": {"content": [{"index": 0, "type": "text", "text": {"value": chunk, "annotations": []}}]},
            }
        message.update(status="completed", completed_at=now(), content=text_content(text))
        yield _snap("thread.message.completed", message)
        prompt = sum(_words(_model.message_text(m)) for m in store.messages[run["thread_id"]].values())
        usage = _usage(prompt + _words(run["instructions"] or ""), _words(text))
        step.update(status="completed", completed_at=now(), usage=usage)
        yield _snap("thread.run.step.completed", step)
        run.update(status="completed", completed_at=now(), required_action=None, usage=usage)
        yield _snap("thread.run.completed", run)

    # -- tool outputs, cancel, expiry ---------------------------------------------------
    def submit_tool_outputs(self, state: RunState, tool_outputs: list[JsonObj]) -> Iterator[Event]:
        """Check the outputs now (errors must be the HTTP answer), then continue the run lazily."""
        self.refresh(state)
        run = state.obj
        if run["status"] != "requires_action":
            raise bad_request(f'Runs in status "{run["status"]}" do not accept tool outputs.')
        expected = [c["id"] for c in state.pending_calls]
        given = [o.get("tool_call_id") for o in tool_outputs]
        if unknown := [g for g in given if g not in expected]:
            raise bad_request(f"Invalid tool_call_id: {unknown[0]}", param="tool_outputs")
        if sorted(expected) != sorted(set(given)):
            raise bad_request(f"Expected tool outputs for call_ids {expected}, got {given}", param="tool_outputs")
        outputs = {o["tool_call_id"]: str(o.get("output", "")) for o in tool_outputs}
        step = self.store.steps[run["id"]][state.tool_step_id or ""]
        for call in step["step_details"]["tool_calls"]:
            call["function"]["output"] = outputs[call["id"]]
        step.update(status="completed", completed_at=now(), usage=_usage(0, 0))
        pairs = [(c["function"]["name"], outputs[c["id"]]) for c in state.pending_calls]
        state.pending_calls = []
        run.update(status="queued", required_action=None)

        def continuation() -> Iterator[Event]:
            yield _snap("thread.run.step.completed", step)
            yield _snap("thread.run.queued", run)
            yield from self.execute(state, tool_outputs=pairs)

        return continuation()

    def cancel(self, state: RunState) -> JsonObj:
        """Move the run to `cancelling` (returned) and to `cancelled` on the next loop turn."""
        self.refresh(state)
        run = state.obj
        if run["status"] not in ("queued", "in_progress", "requires_action"):
            raise bad_request(f"Cannot cancel run with status '{run['status']}'.")
        run["status"] = "cancelling"
        snapshot = copy.deepcopy(run)

        def finish() -> None:
            run.update(status="cancelled", cancelled_at=now(), required_action=None)
            self._close_steps(state, "cancelled", "cancelled_at")

        asyncio.get_running_loop().call_soon(finish)
        return snapshot

    def refresh(self, state: RunState) -> None:
        """Expire a run whose deadline passed while it was still active."""
        run = state.obj
        if run["status"] in ACTIVE_RUN_STATES and time.monotonic() >= state.deadline:
            run.update(status="expired", required_action=None)
            self._close_steps(state, "expired", "expired_at")

    def _close_steps(self, state: RunState, status: str, stamp: str) -> None:
        for step in self.store.steps.get(state.obj["id"], {}).values():
            if step["status"] == "in_progress":
                step.update({"status": status, stamp: now()})
        state.pending_calls = []
