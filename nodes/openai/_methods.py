"""The OpenAI method table: one row per Node-RED method name, and nothing else.

Everything about a method that is not in its row is derived from the
official SDK: the parameters, their types, which are required and what they
mean come from the signature and docstring of the SDK call named by
`sdk_path` (see `_params.py`); dispatch walks `sdk_path` on the shared client
(see `_dispatch.py`); the docs are generated from both (see `docs.py`).
Adding a service is adding rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, eq=False)  # identity hash: rows are singletons, caches key on them
class Method:
    """One callable API method, as a flow names it."""

    name: str                         # Node-RED's method name (the `method` property)
    service: str                      # the Node-RED service group ("runs", "threads", ...)
    sdk_path: tuple[str, ...]         # attribute path on AsyncOpenAI, e.g. ("beta", "threads", "runs", "create")
    summary: str                      # one line for docs and the editor
    ids: tuple[str, ...] = ()         # path ids taken out of the payload (passed to the SDK by keyword)
    stream: bool = False              # `stream: true` gives one msg per server event
    paginated: bool = False           # returns a cursor page: payload = items, cursors on msg.openai
    returns_run: bool = False         # result is a run: the `wait` option may poll it
    query: tuple[str, ...] = ()       # non-id parameters the SDK sends in the query string (docs)
    returns: str = ""                 # what msg.payload holds afterwards (docs)
    notes: str = ""                   # extra docs text
    example: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()     # extra names besides the derived snake_case one


_RUN = "the [run object](https://platform.openai.com/docs/api-reference/runs/object)"
_STEP = "a [run step object](https://platform.openai.com/docs/api-reference/run-steps/step-object)"
_PAGE = ("`after`, `before`, `limit` and `order` page through the list; set the node's *fetch all pages* "
         "option to get every item (the SDK follows the cursors).")
_WAIT = ("With the node's *wait* option the run is polled (the SDK's poll helper) until it is terminal or "
         "`requires_action`, and that run is the result.")
_STREAM = ("With `stream: true` the node sends one msg per server event, in order: `msg.event` is the event "
           "name (`thread.run.created`, `thread.message.delta`, ...), `msg.payload` its data; the last msg has "
           "`msg.event = \"done\"` and `msg.openai.done = true`.")

METHODS: tuple[Method, ...] = (
    # -- Runs (the `openai-runs` node) -------------------------------------------------------------------
    Method(
        "createThreadAndRun", "runs", ("beta", "threads", "create_and_run"),
        "Create a thread and run it in one request.",
        stream=True, returns_run=True, returns=_RUN, notes=f"{_WAIT} {_STREAM}",
        example={"assistant_id": "asst_abc123",
                 "thread": {"messages": [{"role": "user", "content": "What is the weather in Paris?"}]}},
    ),
    Method(
        "listRuns", "runs", ("beta", "threads", "runs", "list"),
        "List the runs of a thread.",
        ids=("thread_id",), paginated=True, query=("after", "before", "limit", "order"),
        returns="a list of run objects", notes=_PAGE,
        example={"thread_id": "thread_abc123", "limit": 20, "order": "desc"},
    ),
    Method(
        "createRun", "runs", ("beta", "threads", "runs", "create"),
        "Create a run on an existing thread.",
        ids=("thread_id",), stream=True, returns_run=True, query=("include",), returns=_RUN,
        notes=f"{_WAIT} {_STREAM}",
        example={"thread_id": "thread_abc123", "assistant_id": "asst_abc123"},
    ),
    Method(
        "getRun", "runs", ("beta", "threads", "runs", "retrieve"),
        "Retrieve a run.",
        ids=("thread_id", "run_id"), returns_run=True, returns=_RUN, notes=_WAIT,
        example={"thread_id": "thread_abc123", "run_id": "run_abc123"}, aliases=("retrieve_run",),
    ),
    Method(
        "modifyRun", "runs", ("beta", "threads", "runs", "update"),
        "Modify a run (only its metadata can change).",
        ids=("thread_id", "run_id"), returns_run=True, returns=_RUN,
        example={"thread_id": "thread_abc123", "run_id": "run_abc123", "metadata": {"user": "u-42"}},
        aliases=("update_run",),
    ),
    Method(
        "submitToolOutputsToRun", "runs", ("beta", "threads", "runs", "submit_tool_outputs"),
        "Submit the outputs of the tool calls a run in `requires_action` is waiting for, all in one request.",
        ids=("thread_id", "run_id"), stream=True, returns_run=True, returns=_RUN, notes=f"{_WAIT} {_STREAM}",
        example={"thread_id": "thread_abc123", "run_id": "run_abc123",
                 "tool_outputs": [{"tool_call_id": "call_abc123", "output": "22 °C, sunny"}]},
        aliases=("submit_tool_outputs",),
    ),
    Method(
        "cancelRun", "runs", ("beta", "threads", "runs", "cancel"),
        "Cancel a run that is `queued`, `in_progress` or `requires_action`.",
        ids=("thread_id", "run_id"), returns_run=True, returns=f"{_RUN} (status `cancelling`)", notes=_WAIT,
        example={"thread_id": "thread_abc123", "run_id": "run_abc123"},
    ),
    Method(
        "listRunSteps", "runs", ("beta", "threads", "runs", "steps", "list"),
        "List the steps of a run.",
        ids=("thread_id", "run_id"), paginated=True, query=("after", "before", "limit", "order", "include"),
        returns="a list of run step objects", notes=_PAGE,
        example={"thread_id": "thread_abc123", "run_id": "run_abc123", "order": "asc"},
    ),
    Method(
        "getRunStep", "runs", ("beta", "threads", "runs", "steps", "retrieve"),
        "Retrieve one step of a run.",
        ids=("thread_id", "run_id", "step_id"), query=("include",), returns=_STEP,
        example={"thread_id": "thread_abc123", "run_id": "run_abc123", "step_id": "step_abc123"},
        aliases=("retrieve_run_step",),
    ),
    # -- Assistants, Threads, Messages (the generic `openai-api` node) --------------------------------------
    Method("createAssistant", "assistants", ("beta", "assistants", "create"), "Create an assistant.",
           returns="the assistant object",
           example={"model": "gpt-4o", "name": "Weather", "tools": [{"type": "function", "function": {
               "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]}),
    Method("listAssistants", "assistants", ("beta", "assistants", "list"), "List assistants.",
           paginated=True, query=("after", "before", "limit", "order"), returns="a list of assistant objects",
           notes=_PAGE, example={"limit": 20}),
    Method("getAssistant", "assistants", ("beta", "assistants", "retrieve"), "Retrieve an assistant.",
           ids=("assistant_id",), returns="the assistant object", example={"assistant_id": "asst_abc123"}),
    Method("modifyAssistant", "assistants", ("beta", "assistants", "update"), "Modify an assistant.",
           ids=("assistant_id",), returns="the assistant object",
           example={"assistant_id": "asst_abc123", "instructions": "Answer briefly."}),
    Method("deleteAssistant", "assistants", ("beta", "assistants", "delete"), "Delete an assistant.",
           ids=("assistant_id",), returns="the deletion status", example={"assistant_id": "asst_abc123"}),
    Method("createThread", "threads", ("beta", "threads", "create"), "Create a thread.",
           returns="the thread object", example={"messages": [{"role": "user", "content": "Hello"}]}),
    Method("getThread", "threads", ("beta", "threads", "retrieve"), "Retrieve a thread.",
           ids=("thread_id",), returns="the thread object", example={"thread_id": "thread_abc123"}),
    Method("modifyThread", "threads", ("beta", "threads", "update"), "Modify a thread.",
           ids=("thread_id",), returns="the thread object",
           example={"thread_id": "thread_abc123", "metadata": {"topic": "weather"}}),
    Method("deleteThread", "threads", ("beta", "threads", "delete"), "Delete a thread.",
           ids=("thread_id",), returns="the deletion status", example={"thread_id": "thread_abc123"}),
    Method("listMessages", "messages", ("beta", "threads", "messages", "list"), "List the messages of a thread.",
           ids=("thread_id",), paginated=True, query=("after", "before", "limit", "order", "run_id"),
           returns="a list of message objects", notes=_PAGE, example={"thread_id": "thread_abc123", "order": "asc"}),
    Method("createMessage", "messages", ("beta", "threads", "messages", "create"), "Add a message to a thread.",
           ids=("thread_id",), returns="the message object",
           example={"thread_id": "thread_abc123", "role": "user", "content": "And tomorrow?"}),
    Method("getMessage", "messages", ("beta", "threads", "messages", "retrieve"), "Retrieve a message.",
           ids=("thread_id", "message_id"), returns="the message object",
           example={"thread_id": "thread_abc123", "message_id": "msg_abc123"}),
    Method("modifyMessage", "messages", ("beta", "threads", "messages", "update"), "Modify a message's metadata.",
           ids=("thread_id", "message_id"), returns="the message object",
           example={"thread_id": "thread_abc123", "message_id": "msg_abc123", "metadata": {"seen": "yes"}}),
    Method("deleteMessage", "messages", ("beta", "threads", "messages", "delete"), "Delete a message.",
           ids=("thread_id", "message_id"), returns="the deletion status",
           example={"thread_id": "thread_abc123", "message_id": "msg_abc123"}),
)


def snake_case(name: str) -> str:
    """`submitToolOutputsToRun` → `submit_tool_outputs_to_run`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _index() -> dict[str, Method]:
    index: dict[str, Method] = {}
    for method in METHODS:
        for key in (method.name, snake_case(method.name), *method.aliases):
            if key in index and index[key] is not method:
                raise RuntimeError(f"method name {key!r} is used by two rows")
            index[key] = method
    return index


BY_NAME: dict[str, Method] = _index()


def names(services: frozenset[str] | None = None) -> list[str]:
    """Every accepted name (canonical and aliases), optionally for some services only."""
    return sorted(k for k, m in BY_NAME.items() if services is None or m.service in services)


def lookup(name: str, services: frozenset[str] | None = None) -> Method | None:
    method = BY_NAME.get(name)
    if method is None or (services is not None and method.service not in services):
        return None
    return method


RUNS = frozenset({"runs"})
