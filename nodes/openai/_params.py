"""Parameters of a method, derived from the official SDK, and payload validation against them.

The SDK's async method (named by the row's `sdk_path`) is the source of
truth: its signature says which parameters exist and which are required, its
type hints (TypedDicts, Literals, Optionals) say what each accepts, and its
docstring's `Args:` section says what each means. A payload is checked
against those before any request, so a typo or a wrong type becomes a node
error naming the method and the property instead of a round trip and a 400
— and the checks follow the SDK when it changes, with no list to keep.

The SDK is imported on first use (`params_of`), not with this module: a flow
without OpenAI nodes should not pay its ~25 MB and ~0.5 s of imports.
"""

from __future__ import annotations

import collections.abc
import difflib
import functools
import inspect
import re
import types
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Union

import typing_extensions
from pydantic import PydanticSchemaGenerationError, TypeAdapter, ValidationError

from . import _files
from ._methods import Method

if TYPE_CHECKING:
    import openai

#: SDK calls that are GET requests: their parameters go in the query string (docs).
_GET_CALLS = frozenset({"retrieve", "content", "download_content", "get_character", "poll"})
#: Keyword arguments every SDK call takes that are request options, not API parameters.
_REQUEST_OPTIONS = frozenset({"self", "extra_headers", "extra_query", "extra_body", "timeout"})
_NONE = type(None)
#: pydantic validates `Iterable[X]` lazily and returns this iterator type (not exported by name).
_LAZY_ITERATOR: type = type(TypeAdapter(collections.abc.Iterable[int]).validate_python([]))


class PayloadError(ValueError):
    """The payload does not fit the method; `problems` lists every property at fault."""

    def __init__(self, method: str, problems: list[tuple[str, str]]) -> None:
        self.method = method
        self.problems = problems  # (property, text)
        super().__init__("; ".join(f"{method}: {text}" for _, text in problems))


@dataclass(frozen=True)
class Param:
    name: str
    annotation: Any        # the SDK's type with Omit/NotGiven removed and iterables as lists
    required: bool
    location: Literal["path", "query", "body"]
    description: str

    @property
    def type_text(self) -> str:
        return describe(self.annotation)

    @functools.cached_property
    def adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.annotation)


# -- reading the SDK ----------------------------------------------------------------------------------
@functools.cache
def _probe_client() -> openai.AsyncOpenAI:
    """A client used only to walk resource attributes; it never sends a request."""
    import openai

    return openai.AsyncOpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1", max_retries=0)


def sdk_decorated(method: Method) -> Any:
    """The SDK function the row points at, as defined on its resource class (decorators included)."""
    owner: Any = _probe_client()
    for part in method.sdk_path[:-1]:
        owner = getattr(owner, part)
    return getattr(type(owner), method.sdk_path[-1])


def sdk_function(method: Method) -> Any:
    """The undecorated SDK function (deprecation and overload wrappers removed): its real signature."""
    return inspect.unwrap(sdk_decorated(method))


@dataclass(frozen=True)
class Traits:
    """What kind of call a row is, read from the SDK function (not declared in the row)."""

    paginated: bool          # returns an AsyncPaginator: a page with cursors, or every item
    binary: bool             # returns the body as bytes (audio, file content, video)
    returns_none: bool       # the API answers with no body (realtime calls, some deletes)
    streamable: bool         # takes `stream`: `stream: true` gives one msg per event
    raw: bool                # plain API call that has a `with_raw_response` twin (else an SDK helper)
    local: bool              # a plain function: no request at all (webhook signatures)
    files: tuple[str, ...]   # parameters that take file content (uploads)
    options: bool            # takes request options (`extra_headers`, ...); the SDK's poll helpers do not


@functools.cache
def traits(method: Method) -> Traits:
    owner: Any = _probe_client()
    for part in method.sdk_path[:-1]:
        owner = getattr(owner, part)
    func = sdk_function(method)
    returned = str(inspect.signature(func).return_annotation)
    paginated = returned.startswith("AsyncPaginator")
    params = params_of(method)
    return Traits(
        paginated=paginated,
        binary="BinaryResponseContent" in returned,
        returns_none=returned == "None",
        streamable=("stream" in params and "AsyncStream[" in returned) or method.force_stream,
        # `parse` has a raw twin, but its raw JSON lacks what parse adds (`output_parsed`); likewise rows
        # whose answer the SDK reworks (embeddings: it asks for base64 and decodes the vectors)
        raw=(hasattr(owner, "with_raw_response") and hasattr(owner.with_raw_response, method.sdk_path[-1])
             and method.sdk_path[-1] != "parse" and not method.sdk_parsed),
        options="extra_headers" in inspect.signature(func).parameters,
        local=not inspect.iscoroutinefunction(func) and not paginated,
        files=tuple(name for name, p in params.items() if takes_file(p.annotation)),
    )


def takes_file(tp: Any) -> bool:
    """Whether the SDK type accepts file content (its `FileTypes`: IO[bytes], bytes, PathLike, tuples)."""
    import os

    if tp is os.PathLike or typing.get_origin(tp) is os.PathLike:
        return True
    return any(takes_file(arg) for arg in typing.get_args(tp) if arg is not tp)


def _takes_many(tp: Any) -> bool:
    """Whether a file parameter also takes a list of files (`SequenceNotStr[FileTypes]`, `list[...]`)."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return any(_takes_many(a) for a in typing.get_args(tp))
    return origin is list or "Sequence" in getattr(origin, "__name__", "")


def deprecation(method: Method) -> str | None:
    """The SDK's deprecation text for this call, if it has one (`typing_extensions.deprecated`)."""
    return getattr(sdk_decorated(method), "__deprecated__", None)


def _clean(tp: Any) -> Any:
    """Drop Omit/NotGiven from unions and turn `Iterable[X]` into `list[X]` (pydantic checks lists eagerly)."""
    from openai import NotGiven, Omit

    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [_clean(a) for a in typing.get_args(tp) if a not in (Omit, NotGiven)]
        return args[0] if len(args) == 1 else Union[tuple(args)]  # noqa: UP007
    if origin in (collections.abc.Iterable, collections.abc.Sequence):
        return list[_clean(typing.get_args(tp)[0])]  # type: ignore[misc]
    if origin is list:
        return list[_clean(typing.get_args(tp)[0])]  # type: ignore[misc]
    return tp


def _arg_docs(func: Any) -> dict[str, str]:
    """`name: text` entries of the `Args:` section of the SDK docstring (first overload if overloaded)."""
    doc = func.__doc__
    if not doc:
        overloads = typing_extensions.get_overloads(func)
        doc = next((o.__doc__ for o in overloads if o.__doc__), "")
    docs: dict[str, str] = {}
    section = doc.split("Args:", 1)[1] if "Args:" in doc else ""
    for match in re.finditer(r"^ {10}(\w+):\s(.*?)(?=^ {10}\w+:\s|\Z)", section, re.S | re.M):
        docs[match.group(1)] = " ".join(match.group(2).split())
    return docs


@functools.cache
def params_of(method: Method) -> dict[str, Param]:
    """The method's API parameters, in the SDK's order (ids first)."""
    func = sdk_function(method)
    hints = typing.get_type_hints(func, include_extras=True)
    docs = _arg_docs(func)
    listing = str(inspect.signature(func).return_annotation).startswith("AsyncPaginator")
    query_by_default = listing or method.sdk_path[-1] in _GET_CALLS
    found: dict[str, Param] = {}
    for name, p in inspect.signature(func).parameters.items():
        if name in _REQUEST_OPTIONS or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        location: Literal["path", "query", "body"] = (
            "path" if name in method.ids else "query" if name in method.query or query_by_default else "body"
        )
        found[name] = Param(name, _clean(hints[name]), p.default is p.empty, location, docs.get(name, ""))
    missing_ids = [i for i in method.ids if i not in found]
    if missing_ids:
        raise RuntimeError(f"{method.name}: the SDK call has no parameter(s) {missing_ids}; fix the method table")
    return dict(sorted(found.items(), key=lambda kv: (kv[1].location != "path", not kv[1].required)))


# -- describing types (docs and error texts) ---------------------------------------------------------
def describe(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is str:
        return "string"
    if tp is bool:
        return "boolean"
    if tp is int:
        return "integer"
    if tp is float:
        return "number"
    if tp is _NONE:
        return "null"
    if origin is typing.Annotated:
        return describe(args[0])
    if origin is Literal:
        values = [f'"{a}"' if isinstance(a, str) else str(a).lower() for a in args]
        return " \\| ".join(values) if len(values) <= 8 else f"one of {len(values)} names"
    if origin in (Union, types.UnionType):
        parts = list(args)
        if str in parts:  # a string that may also be one of the known names is just a string
            parts = [a for a in parts if typing.get_origin(a) is not Literal]
        texts: list[str] = []
        for part in parts:
            text = describe(part)
            if text not in texts:
                texts.append(text)
        # Literal[False] | Literal[True] reads better as boolean
        if set(texts) >= {"false", "true"}:
            texts = ["boolean" if t in ("false", "true") else t for t in texts]
            texts = list(dict.fromkeys(texts))
        return " or ".join(texts)
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence):
        return f"array of {describe(args[0])}" if args else "array"
    if origin in (dict, collections.abc.Mapping):
        return f"object of {describe(args[1])}" if args else "object"
    if typing_extensions.is_typeddict(tp):
        return f"object ({typeddict_summary(tp)})"
    return getattr(tp, "__name__", str(tp))


def typeddict_keys(tp: Any) -> dict[str, tuple[Any, bool]]:
    """A TypedDict's keys → (type, required). Read from the hints because the SDK's modules use
    postponed annotations, which hide `Required[...]` from `__required_keys__`."""
    keys: dict[str, tuple[Any, bool]] = {}
    total = getattr(tp, "__total__", True)
    for key, hint in typing.get_type_hints(tp, include_extras=True).items():
        required = total
        while typing.get_origin(hint) in (typing_extensions.Required, typing_extensions.NotRequired, typing.Annotated):
            if typing.get_origin(hint) is typing_extensions.Required:
                required = True
            elif typing.get_origin(hint) is typing_extensions.NotRequired:
                required = False
            hint = typing.get_args(hint)[0]
        keys[key] = (hint, required)
    return keys


def typeddict_summary(tp: Any) -> str:
    """`type`*, `last_messages` — the keys of a TypedDict, required ones starred."""
    return ", ".join(f"`{k}`*" if req else f"`{k}`" for k, (_, req) in typeddict_keys(tp).items())


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _top_types(tp: Any) -> set[str]:
    """The JSON types a value of `tp` can have at the top level."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return set().union(*(_top_types(a) for a in typing.get_args(tp)))
    if origin is typing.Annotated:
        return _top_types(typing.get_args(tp)[0])
    if origin is Literal:
        return {json_type(a) for a in typing.get_args(tp)}
    if tp is float:
        return {"number", "integer"}
    simple = {str: "string", bool: "boolean", int: "integer", _NONE: "null"}
    if tp in simple:
        return {simple[tp]}
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence):
        return {"array"}
    if origin in (dict, collections.abc.Mapping) or typing_extensions.is_typeddict(tp):
        return {"object"}
    return {"object", "array", "string", "number", "integer", "boolean", "null"}


# -- validation --------------------------------------------------------------------------------------
def _drain(value: Any, loc: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Run pydantic's lazy `Iterable[...]` checks (nested in TypedDicts); errors with full locations."""
    errors: list[dict[str, Any]] = []
    if isinstance(value, _LAZY_ITERATOR):
        index = 0
        while True:
            try:
                item = next(value)
            except StopIteration:
                break
            except ValidationError as exc:
                errors += [{**e, "loc": (*loc, *e["loc"])} for e in exc.errors(include_url=False)]
                break  # the iterator stops at its first bad item
            errors += _drain(item, (*loc, index))
            index += 1
    elif isinstance(value, dict):
        for key, item in value.items():
            errors += _drain(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            errors += _drain(item, (*loc, index))
    return errors


def _split_loc(value: Any, loc: tuple[Any, ...], missing: bool) -> tuple[str, tuple[str, ...]]:
    """Split a pydantic error location into the payload path and the union-branch tags on the way."""
    path, tags, current = "", [], value
    for i, part in enumerate(loc):
        if isinstance(part, int) and isinstance(current, list) and 0 <= part < len(current):
            path, current = f"{path}[{part}]", current[part]
        elif isinstance(part, str) and isinstance(current, dict) and (part in current or (missing and i == len(loc) - 1)):
            path, current = f"{path}.{part}", current.get(part)
        else:
            tags.append(str(part))
    return path, tuple(tags)


def _problem(param: Param, value: Any, errors: list[dict[str, Any]]) -> str:
    got = json_type(value)
    if got not in _top_types(param.annotation):
        return f"property '{param.name}' must be {param.type_text}, got {got}"
    located = []
    for error in errors:
        path, tags = _split_loc(value, tuple(error["loc"]), error["type"] == "missing")
        located.append((path, tags, error))
    # In a union of TypedDicts told apart by `type`, a wrong `type` only says "not this branch":
    # report the branches whose `type` matched; if none did, the `type` value itself is wrong.
    wrong_branch = {tags for path, tags, e in located if e["type"] == "literal_error" and path.endswith(".type")}
    useful = ([x for x in located if x[1] not in wrong_branch]
              or [x for x in located if x[2]["type"] == "literal_error"] or located)
    path, _, best = max(useful, key=lambda x: x[0].count(".") + x[0].count("["))
    if best["type"] == "literal_error" and len(useful) > 1:
        expected = sorted({str(x[2]["ctx"]["expected"]) for x in useful if x[0] == path and x[2].get("ctx", {}).get("expected")})
        message = f"Input should be {' or '.join(expected)}"
    else:
        message = best["msg"]
    if not path:
        return f"property '{param.name}': {message} (expected {param.type_text})"
    return f"property '{param.name}' at {param.name}{path}: {message}"


def validate(method: Method, payload: Any) -> dict[str, Any]:
    """Check `payload` against the SDK's parameters; return the keyword arguments for the call.

    Raises `PayloadError` listing every problem (missing, unknown with a
    suggestion, wrong type) so the user fixes the payload once.
    """
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise PayloadError(method.name, [("", f"the request must be an object of properties, got {json_type(payload)}")])
    params = params_of(method)
    files = traits(method).files
    converted: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name, param in params.items():
        if param.required and name not in payload:
            problems.append((name, f"missing required property '{name}' ({param.type_text})"))
    for name, value in payload.items():
        param = params.get(name)
        if param is None:
            close = difflib.get_close_matches(name, list(params), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(params)}"
            problems.append((name, f"unknown property '{name}'{hint}"))
            continue
        if name in files:
            if _files.looks_like_file(value) or isinstance(value, list) or not _allows_object(param.annotation):
                try:
                    converted[name] = _files.file_input(value, name, _takes_many(param.annotation))
                except _files.FileProblem as exc:
                    problems.append((name, str(exc)))
            continue
        if param.location == "path" and not (isinstance(value, str) and value):
            got = "an empty string" if value == "" else json_type(value)
            problems.append((name, f"property '{name}' must be a non-empty string (an id), got {got}"))
            continue
        try:
            # strict: JSON data must already have the right types ("5" is not an integer)
            errors = _drain(param.adapter.validate_python(value, strict=True))
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
        except PydanticSchemaGenerationError:  # a non-data type (e.g. httpx Headers): the JSON type only
            if json_type(value) not in _top_types(param.annotation):
                problems.append((name, f"property '{name}' must be {param.type_text}, got {json_type(value)}"))
            continue
        if errors:
            problems.append((name, _problem(param, value, errors)))
    if problems:
        raise PayloadError(method.name, problems)
    return {**payload, **converted}


def _allows_object(tp: Any) -> bool:
    """Whether a file parameter also takes a JSON object (e.g. `{id}` of an earlier video)."""
    return "object" in _top_types(tp) and any(typing_extensions.is_typeddict(a) for a in typing.get_args(tp))
