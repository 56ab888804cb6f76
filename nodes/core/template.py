"""template: render a mustache template into a message or context property.

Node-RED renders with mustache.js through its own lookup, and pystache lets
each part be replaced where it differs: parsing is pystache's (sections,
inverted sections, `{{{x}}}`/`{{&x}}`, comments, `{{=<% %>=}}`), while name
lookup, printing and escaping are supplied here so they follow mustache.js
and Node-RED's template node:

- names resolve as mustache.js resolves them: a dotted name is tried whole
  against each enclosing section's value, then the message (so a name found
  nowhere in a section falls back to the message); `length` and indices work
  on lists and strings; `{{.}}` is the current value;
- names not on the message fall back to `flow.x`, `flow[store].x`,
  `global.x`, `global[store].x` and `env.X`, as in Node-RED; the message wins;
- values print as `String(value)`: `true`, `2` for 2.0, `a,b` for a list,
  `[object Object]`, nothing for null or a missing name;
- `{{x}}` escapes `& < > " ' / \\` =` like mustache.js; with JSON output the
  message's strings also get backslashes, newlines, tabs... escaped (outside sections,
  as Node-RED does);
- sections follow JavaScript truthiness (`{}` is true, NaN false) and a
  `true` section does not change the current value;
- partials (`{{>name}}`) render nothing: Node-RED passes mustache.js none.

pystache is imported where it is used, so flows without a template pay
nothing for it at start-up.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import yaml
from pydantic import Field

from runtime import Msg, Node, NodeError, NodeProps, register
from runtime.properties import parse_path, set_path, split_store

from ._jsvalues import to_string

if TYPE_CHECKING:
    from pystache.parsed import ParsedTemplate
    from pystache.renderengine import RenderEngine

_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "/": "&#x2F;", "`": "&#x60;", "=": "&#x3D;"})
_JSON_STRING = str.maketrans({"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\f": "\\f", "\b": "\\b"})
#: Node-RED's context names: `flow.x`, `global[store].a.b`.
_CONTEXT_NAME = re.compile(r"^(flow|global)(?:\[(\w+)\])?\.(.+)")
_MISSING = object()


class TemplateProps(NodeProps):
    field: str = Field("payload", description="property to set")
    fieldType: Literal["msg", "flow", "global"] = "msg"
    template: str = Field("", description="the template; when empty, msg.template is used")
    syntax: Literal["mustache", "plain"] = "mustache"
    output: Literal["str", "json", "yaml"] = Field("str", description="str: text; json/yaml: parse the rendered text")
    format: str = Field("handlebars", description="editor highlighting only")


class _TruthyDict(dict):  # type: ignore[type-arg]
    """`{}` as a section value: true in JavaScript, false in Python."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return True


class _NaN(float):
    """NaN as a section value: false in JavaScript, true in Python."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False


_EMPTY_OBJECT = _TruthyDict()
_NAN = _NaN("nan")


def _step(value: Any, part: str) -> Any:
    """`value[part]` when mustache.js finds it there (an own or array property), else _MISSING."""
    if isinstance(value, dict):
        return value.get(part, _MISSING)
    if isinstance(value, (list, str)):
        if part == "length":
            return len(value)
        if part.isdigit() and (part == "0" or part[0] != "0") and int(part) < len(value):
            return value[int(part)]
    return _MISSING


def _js_value(value: Any) -> Any:
    """Python values whose truthiness is JavaScript's, strings for bytes (a Buffer prints as UTF-8)."""
    if type(value) is dict and not value:
        return _EMPTY_OBJECT
    if type(value) is float and math.isnan(value):
        return _NAN
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value


class _Scope:
    """The context stack pystache renders against: the message, then each section's value."""

    __slots__ = ("_json", "_node", "views")

    def __init__(self, msg: Msg, node: Node | None, json_strings: bool) -> None:
        self.views: list[Any] = [msg]
        self._node = node
        self._json = json_strings

    def push(self, value: Any) -> None:
        self.views.append(value)

    def pop(self) -> Any:
        return self.views.pop()

    def lookup(self, name: str) -> Any:
        if name == ".":
            return _js_value(self.views[-1])
        parts = name.split(".") if name.find(".") > 0 else None
        for view in reversed(self.views):
            if parts is None:
                value = view.get(name, _MISSING) if isinstance(view, dict) else _MISSING
            else:
                value = view
                for part in parts:
                    value = _step(value, part)
                    if value is _MISSING:
                        break
            if value is not _MISSING:
                if type(value) is str and self._json and len(self.views) == 1:
                    return value.translate(_JSON_STRING)
                return _js_value(value)
        return self._fallback(name)

    def _fallback(self, name: str) -> Any:
        if self._node is None:
            return None
        if name.startswith("env."):
            return self._node.env(name[4:])
        match = _CONTEXT_NAME.match(name)
        if match is None:
            return None
        kind, store, field = match.groups()
        context = self._node.flow_context if kind == "flow" else self._node.global_context
        return _js_value(context.get(field, store=store))


def _engine() -> RenderEngine:
    """One pystache engine with mustache.js's lookup, printing, escaping and sections."""
    global _ENGINE
    if _ENGINE is None:
        from pystache.renderengine import RenderEngine

        class Engine(RenderEngine):  # type: ignore[misc]
            def fetch_section_data(self, context: _Scope, name: str) -> list[Any]:
                value = context.lookup(name)
                if not value:
                    return []
                if isinstance(value, list):
                    return [_js_value(v) for v in value]
                if value is True:
                    return [context.views[-1]]  # mustache.js renders a `true` section in the current context
                return [value]

        _ENGINE = Engine(
            literal=str,
            escape=lambda text: text.translate(_HTML),
            resolve_context=_Scope.lookup,
            resolve_partial=lambda name: "",
            to_str=lambda value: "" if value is None else to_string(value),
        )
    return _ENGINE


_ENGINE: RenderEngine | None = None


def compile_template(text: str) -> ParsedTemplate:
    """Parse once; an invalid template is a NodeError naming the line."""
    from pystache.parser import ParsingError, parse

    _check_closed(text)
    try:
        return parse(text, raise_on_mismatch=True)
    except ParsingError as exc:
        info = exc.info
        line = f" (line {text.count(chr(10), 0, info.position) + 1})" if info is not None else ""
        raise NodeError(f"invalid mustache template: {exc}{line}") from None
    except Exception as exc:  # noqa: BLE001 - pystache raises bare Exception for a malformed tag
        raise NodeError(f"invalid mustache template: {exc}") from None


def _check_closed(text: str) -> None:
    """mustache.js rejects `{{` with no `}}` after it; pystache would print it as text.

    Only checked with the default delimiters: after `{{=<% %>=}}` the
    opening tag is something else.
    """
    if "{{=" in text:
        return
    opening = text.rfind("{{")
    if opening > text.rfind("}}"):
        raise NodeError(f"invalid mustache template: unclosed tag at line {text.count(chr(10), 0, opening) + 1}")


def render(template: ParsedTemplate, msg: Msg, node: Node | None = None, json_strings: bool = False) -> str:
    """Render over the message; with `node`, names not on it fall back to its flow/global context and env.

    Without a node it is mustache.js over the message alone, as Node-RED's
    trigger and http request nodes render `{{payload}}` in their properties.
    """
    return template.render(_engine(), _Scope(msg, node, json_strings))  # type: ignore[no-any-return]


@register("template")
class Template(Node):
    """Sets a property from a mustache template over the message, context and environment."""

    Props = TemplateProps
    props: TemplateProps
    raw_fields: ClassVar[frozenset[str]] = frozenset({"template"})

    @classmethod
    def check(cls, props: TemplateProps) -> list[tuple[str, str]]:
        problems = []
        if props.syntax == "mustache" and props.template:
            try:
                compile_template(props.template)
            except NodeError as exc:
                problems.append(("template", str(exc)))
        try:
            parse_path(split_store(props.field)[1])
        except Exception as exc:
            problems.append(("field", str(exc)))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        props = self.props
        self._compiled = compile_template(props.template) if props.syntax == "mustache" and props.template else None
        self._json_strings = props.output == "json"
        if props.fieldType == "msg":
            self._keys = parse_path(props.field)
        else:
            self._store, self._key = split_store(props.field)

    def on_input(self, msg: Msg) -> Msg:
        props = self.props
        template: Any = props.template
        compiled = self._compiled
        if not template and "template" in msg:
            template = msg["template"]
            compiled = None
        if props.syntax == "mustache":
            if compiled is None:
                compiled = compile_template(to_string(template) if template is not None else "")
            value: Any = render(compiled, msg, self, self._json_strings)
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
