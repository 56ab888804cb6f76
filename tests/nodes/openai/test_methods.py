"""The method table and the validation derived from the SDK's own parameter types."""

from __future__ import annotations

import inspect

import pytest

from nodes.openai._methods import BY_NAME, METHODS, RUNS, lookup, names, snake_case
from nodes.openai._params import PayloadError, params_of, sdk_function, traits, validate

RUN_METHODS = ["createThreadAndRun", "listRuns", "createRun", "getRun", "modifyRun", "submitToolOutputsToRun",
               "cancelRun", "listRunSteps", "getRunStep"]


def test_runs_rows_are_node_reds_methods() -> None:
    assert [m.name for m in METHODS if m.service == "runs"] == RUN_METHODS


@pytest.mark.parametrize("method", [m for m in METHODS if not m.unavailable], ids=lambda m: m.name)
def test_every_row_resolves_to_an_async_sdk_call_with_its_ids(method: object) -> None:
    fn = sdk_function(method)  # type: ignore[arg-type]
    assert fn.__qualname__.startswith("Async")
    kind = traits(method)  # type: ignore[arg-type]
    # list calls return an awaitable, async-iterable paginator rather than being coroutines;
    # local calls (webhook signatures) are plain functions
    assert inspect.iscoroutinefunction(fn) or kind.paginated or kind.local
    params = params_of(method)  # type: ignore[arg-type]
    for id_name in method.ids:  # type: ignore[attr-defined]
        assert params[id_name].required and params[id_name].location == "path"


def test_snake_case_aliases() -> None:
    assert snake_case("submitToolOutputsToRun") == "submit_tool_outputs_to_run"
    for name in RUN_METHODS:
        assert lookup(snake_case(name), RUNS) is BY_NAME[name]
    assert lookup("submit_tool_outputs", RUNS) is BY_NAME["submitToolOutputsToRun"]
    assert lookup("createThread", RUNS) is None and "createThread" in names()


# -- the help doc's mistakes, fixed because the checks come from the SDK ---------------------------------
def test_create_run_include_is_optional_and_goes_in_the_query() -> None:
    include = params_of(BY_NAME["createRun"])["include"]
    assert not include.required and include.location == "query"
    validate(BY_NAME["createRun"], {"thread_id": "t", "assistant_id": "a"})


def test_get_run_step_include_is_optional() -> None:
    assert not params_of(BY_NAME["getRunStep"])["include"].required
    validate(BY_NAME["getRunStep"], {"thread_id": "t", "run_id": "r", "step_id": "s"})


def test_create_run_accepts_reasoning_effort_and_create_thread_and_run_does_not() -> None:
    validate(BY_NAME["createRun"], {"thread_id": "t", "assistant_id": "a", "reasoning_effort": "low"})
    with pytest.raises(PayloadError, match="unknown property 'reasoning_effort'"):
        validate(BY_NAME["createThreadAndRun"], {"assistant_id": "a", "reasoning_effort": "low"})


@pytest.mark.parametrize("method", ["createRun", "createThreadAndRun"])
def test_tool_choice_takes_required(method: str) -> None:
    validate(BY_NAME[method], {"thread_id": "t", "assistant_id": "a", "tool_choice": "required"}
             if method == "createRun" else {"assistant_id": "a", "tool_choice": "required"})


def test_top_p_is_nullable_on_both_create_methods() -> None:
    validate(BY_NAME["createRun"], {"thread_id": "t", "assistant_id": "a", "top_p": None})
    validate(BY_NAME["createThreadAndRun"], {"assistant_id": "a", "top_p": None})


# -- validation errors name the method and the property ----------------------------------------------------
@pytest.mark.parametrize(("method", "payload", "expected"), [
    ("createRun", {"thread_id": "t"}, "createRun: missing required property 'assistant_id' (string)"),
    ("getRun", {"run_id": "r"}, "getRun: missing required property 'thread_id' (string)"),
    ("submitToolOutputsToRun", {"thread_id": "t", "run_id": "r"}, "missing required property 'tool_outputs'"),
    ("createRun", {"thread_id": "t", "assistant_id": "a", "temprature": 1},
     "createRun: unknown property 'temprature'; did you mean 'temperature'?"),
    ("listRuns", {"thread_id": "t", "limt": 5}, "did you mean 'limit'?"),
    ("createRun", {"thread_id": "t", "assistant_id": "a", "temperature": "hot"},
     "createRun: property 'temperature' must be number or null, got string"),
    ("listRuns", {"thread_id": "t", "limit": "5"}, "property 'limit' must be integer, got string"),
    ("listRuns", {"thread_id": "t", "order": "up"}, "property 'order': Input should be 'asc' or 'desc'"),
    ("createRun", {"thread_id": "t", "assistant_id": "a", "tool_choice": "maybe"}, "property 'tool_choice'"),
    ("createRun", {"thread_id": "t", "assistant_id": "a", "tools": [{"type": "functon"}]},
     "property 'tools' at tools[0].type: Input should be 'code_interpreter' or 'file_search' or 'function'"),
    ("createRun", {"thread_id": "t", "assistant_id": "a", "tools": [{"type": "function"}]},
     "property 'tools' at tools[0].function: Field required"),
    ("createThreadAndRun", {"assistant_id": "a", "thread": {"messages": [{"role": "usr", "content": "x"}]}},
     "property 'thread' at thread.messages[0].role: Input should be 'user' or 'assistant'"),
    ("submitToolOutputsToRun", {"thread_id": "t", "run_id": "r", "tool_outputs": [{"tool_call_id": "c", "output": 1}]},
     "at tool_outputs[0].output: Input should be a valid string"),
    ("createRun", {"thread_id": "t", "assistant_id": "a", "metadata": {"n": 1}}, "at metadata.n"),
    ("getRunStep", {"thread_id": "t", "run_id": "r", "step_id": ""}, "'step_id' must be a non-empty string"),
    ("createRun", "not an object", "createRun: the request must be an object of properties, got string"),
])
def test_validation_errors(method: str, payload: object, expected: str) -> None:
    with pytest.raises(PayloadError) as err:
        validate(BY_NAME[method], payload)
    assert expected in str(err.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(PayloadError) as err:
        validate(BY_NAME["createRun"], {"thread_id": "t", "temprature": 1, "top_p": "x"})
    assert [p for p, _ in err.value.problems] == ["assistant_id", "temprature", "top_p"]


def test_valid_payload_is_returned_unchanged() -> None:
    payload = {"thread_id": "t", "assistant_id": "a", "tools": [{"type": "code_interpreter"}], "temperature": 1,
               "truncation_strategy": {"type": "last_messages", "last_messages": 4}, "stream": True}
    assert validate(BY_NAME["createRun"], payload) == payload
