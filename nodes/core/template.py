"""template: render a mustache template (chevron) into a message or context property.

Node-RED renders with mustache.js, so values print the JavaScript way
(`true`, `1` for 1.0, `a,b` for a list, `[object Object]`) and `{{x}}`
escapes `& < > " ' / \\` =`. chevron prints Python's way and escapes fewer
characters, so the message is handed to chevron through small views that
print like JavaScript, and double-brace tags are rewritten at compile time
into unescaped lookups that return already-escaped text. Names not found on
the message fall back to `flow.x`, `flow[store].x`, `global.x` and `env.X`,
as in Node-RED. chevron is imported where it is used, so flows without a
template pay nothing for it at start-up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

import yaml
from pydantic import Field

from runtime import Msg, Node, NodeError, NodeProps, register
from runtime.properties import parse_path, set_path, split_store

from ._jsvalues import format_number, to_string

#: Appended to the key of a `{{name}}` tag: the view returns the value printed and HTML-escaped.
_ESCAPED = "\x00e"
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "/": "&#x2F;", "`": "&#x60;", "=": "&#x3D;"})
_JSON_STRING = str.maketrans({"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\f": "\\f", "\b": "\\b"})


class TemplateProps(NodeProps):
    field: str = Field("payload", description="property to set")
    fieldType: Literal["msg", "flow", "global"] = "msg"
    template: str = Field("", description="the template; when empty, msg.template is used")
    syntax: Literal["mustache", "plain"] = "mustache"
    output: Literal["str", "json", "yaml"] = Field("str", description="str: text; json/yaml: parse the rendered text")
    format: str = Field("handlebars", description="editor highlighting only")


class _JSBool:
    """A boolean that prints as `true`/`false` and stays falsy for sections."""

    __slots__ = ("value",)
    _CHEVRON_return_scope_when_falsy = True

    def __init__(self, value: bool) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return self.value

    def __str__(self) -> str:
        return "true" if self.value else "false"


class _JSFloat(float):
    def __str__(self) -> str:
        return format_number(self)


class _View(Mapping[str, Any]):
    """A dict seen through mustache.js eyes; `escape_strings` is Node-RED's JSON-output escaping."""

    __slots__ = ("_data", "_json")

    def __init__(self, data: dict[str, Any], json_strings: bool) -> None:
        self._data = data
        self._json = json_strings

    def __getitem__(self, key: str) -> Any:
        if key.endswith(_ESCAPED):
            return _printed(self._data[key[: -len(_ESCAPED)]], self._json)
        return _wrap(self._data[key], self._json)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        return "[object Object]"


class _ListView(Sequence[Any]):
    __slots__ = ("_data", "_json")

    def __init__(self, data: list[Any], json_strings: bool) -> None:
        self._data = data
        self._json = json_strings

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        escaped = isinstance(key, str) and key.endswith(_ESCAPED)
        if isinstance(key, str):
            name = key[: -len(_ESCAPED)] if escaped else key
            if not name.isdigit():
                raise KeyError(key)
            key = int(name)
        value = self._data[key]
        return _printed(value, self._json) if escaped else _wrap(value, self._json)

    def __len__(self) -> int:
        return len(self._data)

    def __str__(self) -> str:
        return to_string(self._data)


def _wrap(value: Any, json_strings: bool) -> Any:
    if isinstance(value, str):
        return value.translate(_JSON_STRING) if json_strings else value
    if isinstance(value, bool):
        return _JSBool(value)
    if isinstance(value, float):
        return _JSFloat(value)
    if isinstance(value, dict):
        return _View(value, json_strings)
    if isinstance(value, list):
        return _ListView(value, json_strings)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value


def _printed(value: Any, json_strings: bool) -> str:
    """What `{{name}}` shows: String(value), HTML-escaped like mustache.js; nothing for null."""
    if value is None:
        return ""
    text = to_string(value)
    if json_strings and isinstance(value, str):
        text = text.translate(_JSON_STRING)
    return text.translate(_HTML)


class _ContextScope(Mapping[str, Any]):
    """The fallback scope: `flow`, `flow[store]`, `global`, `global[store]` and `env`."""

    __slots__ = ("_node",)

    def __init__(self, node: Node) -> None:
        self._node = node

    def __getitem__(self, key: str) -> Any:
        name, _, rest = key.partition("[")
        store = rest.rstrip("]") or None if rest else None
        if name == "flow":
            return _ContextView(self._node.flow_context, store)
        if name == "global":
            return _ContextView(self._node.global_context, store)
        if name == "env" and not rest:
            return _EnvView()
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(("flow", "global", "env"))

    def __len__(self) -> int:
        return 3


class _ContextView(Mapping[str, Any]):
    __slots__ = ("_ctx", "_store")

    def __init__(self, ctx: Any, store: str | None) -> None:
        self._ctx, self._store = ctx, store

    def __getitem__(self, key: str) -> Any:
        escaped = key.endswith(_ESCAPED)
        name = key[: -len(_ESCAPED)] if escaped else key
        value = self._ctx.get(name, store=self._store)
        if value is None:
            raise KeyError(key)
        return _printed(value, False) if escaped else _wrap(value, False)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ctx.keys(self._store))

    def __len__(self) -> int:
        return len(self._ctx.keys(self._store))


class _EnvView(Mapping[str, Any]):
    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        escaped = key.endswith(_ESCAPED)
        name = key[: -len(_ESCAPED)] if escaped else key
        value = os.environ[name]
        return value.translate(_HTML) if escaped else value

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)


def compile_template(text: str) -> list[tuple[str, str]]:
    """Tokenize once; `{{name}}` becomes an unescaped lookup of the pre-escaped value."""
    from chevron.tokenizer import tokenize

    tokens = []
    for tag, key in tokenize(text):
        if tag == "variable" and key != ".":
            tokens.append(("no escape", key + _ESCAPED))
        else:
            tokens.append((tag, key))
    return tokens


@register("template")
class Template(Node):
    """Sets a property from a mustache template over the message, context and environment."""

    Props = TemplateProps
    props: TemplateProps
    raw_fields: ClassVar[frozenset[str]] = frozenset({"template"})

    @classmethod
    def check(cls, props: TemplateProps) -> list[tuple[str, str]]:
        import chevron

        problems = []
        if props.syntax == "mustache" and props.template:
            try:
                compile_template(props.template)
            except chevron.ChevronError as exc:
                problems.append(("template", f"invalid mustache template: {exc}"))
        try:
            parse_path(split_store(props.field)[1])
        except Exception as exc:
            problems.append(("field", str(exc)))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        props = self.props
        self._tokens = compile_template(props.template) if props.syntax == "mustache" and props.template else None
        self._json_strings = props.output == "json"
        if props.fieldType == "msg":
            self._keys = parse_path(props.field)
        else:
            self._store, self._key = split_store(props.field)

    def on_input(self, msg: Msg) -> Msg:
        props = self.props
        template: Any = props.template
        tokens = self._tokens
        if not template and "template" in msg:
            template = msg["template"]
            tokens = None
        if props.syntax == "mustache":
            import chevron

            if tokens is None:
                try:
                    tokens = compile_template(to_string(template) if template is not None else "")
                except chevron.ChevronError as exc:
                    raise NodeError(f"invalid mustache template: {exc}") from None
            value: Any = chevron.render(tokens, scopes=[_View(msg, self._json_strings), _ContextScope(self)])
        else:
            value = template
        if props.output == "json":
            try:
                value = json.loads(value)
            except (TypeError, ValueError) as exc:
                raise NodeError(f"the rendered template is not valid JSON: {exc}") from None
        elif props.output == "yaml":
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                raise NodeError(f"the rendered template is not valid YAML: {exc}") from None
        if props.fieldType == "msg":
            set_path(msg, self._keys, value)
        elif props.fieldType == "flow":
            self.flow_context.set(self._key, value, self._store)
        else:
            self.global_context.set(self._key, value, self._store)
        return msg


def render(tokens: list[tuple[str, str]], msg: Msg) -> str:
    """Render compiled tokens over the message alone (trigger's `{{payload}}` values)."""
    import chevron

    return chevron.render(tokens, scopes=[_View(msg, False)])
