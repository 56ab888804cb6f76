"""json, yaml, csv and xml: convert a message property between text and objects.

Each parser goes both ways, choosing the direction from the value's type as
Node-RED does: a string is parsed, an object is serialised. The libraries
are Python's `json` and `csv`, PyYAML (safe loading only) and xmltodict,
with the output shaped like Node-RED's (js-yaml layout, xml2js objects).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any, Literal

import yaml
from pydantic import Field

from runtime import Msg, Node, NodeError, NodeProps, Output, clone, lenient, new_msgid, register
from runtime.properties import get_path, parse_path, set_path

from ._jsvalues import normalise_number, parse_float, to_number, to_string
from ._text import json_text, unescape

_MISSING: Any = object()


class _PropertyProps(NodeProps):
    """Parsers convert one message property, `payload` unless told otherwise."""

    property: lenient.Blank[str] = Field("payload", description="the message property to convert")


class _PropertyParser(Node):
    """Converts the value at `props.property`; a message without that property passes through."""

    props: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keys = parse_path(self.props.property)

    def on_input(self, msg: Msg) -> Output:
        value = get_path(msg, self._keys, _MISSING)
        if value is _MISSING:
            return msg
        return self._convert(msg, value)

    def _convert(self, msg: Msg, value: Any) -> Output:
        raise NotImplementedError


# -- json --------------------------------------------------------------------------------


class JsonProps(_PropertyProps):
    action: Literal["", "str", "obj"] = Field("", description="'': convert either way; str: always to a JSON string; obj: always to an object")
    pretty: lenient.Bool = Field(False, description="indent the JSON string (4 spaces)")


@register("json")
class Json(_PropertyParser):
    """Converts between a JSON string and the object it represents."""

    Props = JsonProps
    props: JsonProps

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._indent = 4 if self.props.pretty else None
        self._schema_text: str | None = None
        self._validator: Any = None

    def _convert(self, msg: Msg, value: Any) -> Output:
        action = self.props.action
        schema = msg.get("schema")
        if isinstance(value, str):
            if action in ("", "obj"):
                try:
                    parsed = json.loads(value)
                except ValueError as exc:
                    raise NodeError(f"json: {exc}", msg) from None
                set_path(msg, self._keys, parsed)
                if schema:
                    self._validate(msg, schema, parsed)
            elif schema:
                self._validate(msg, schema, json.loads(value))
            return msg
        if isinstance(value, (bytes, bytearray)):
            self.warn("json: dropped: a buffer cannot be converted to JSON")
            return None
        if isinstance(value, (dict, list, bool, int, float)) or value is None:
            if schema:
                self._validate(msg, schema, value)
            if action in ("", "str"):
                try:
                    set_path(msg, self._keys, json_text(value, self._indent))
                except (TypeError, ValueError) as exc:
                    raise NodeError(f"json: cannot convert to JSON: {exc}", msg) from None
            return msg
        self.warn(f"json: dropped: a {type(value).__name__} cannot be converted")
        return None

    def _validate(self, msg: Msg, schema: Any, value: Any) -> None:
        """`msg.schema` validation, as Node-RED does with ajv; needs the jsonschema package."""
        try:
            import jsonschema
        except ImportError:
            raise NodeError("json: msg.schema validation needs the 'jsonschema' package (pip install jsonschema)", msg) from None
        text = json.dumps(schema, sort_keys=True)
        if text != self._schema_text:
            try:
                cls = jsonschema.validators.validator_for(schema)
                cls.check_schema(schema)
                self._validator = cls(schema)
            except jsonschema.SchemaError as exc:
                self._schema_text = None
                raise NodeError(f"json: error compiling schema: {exc.message}", msg) from None
            self._schema_text = text
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            msg["schemaError"] = [{"instancePath": "/" + "/".join(str(p) for p in e.path), "message": e.message} for e in errors]
            raise NodeError("json: JSON Schema validation error: " + "; ".join(e.message for e in errors), msg)
        msg.pop("schema", None)


# -- yaml --------------------------------------------------------------------------------


class _IndentedDumper(yaml.SafeDumper):
    """Indents lists inside mappings as js-yaml does (`a:\\n  - 1`), PyYAML's default being `a:\\n- 1`."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


# js-yaml quotes every YAML 1.1 boolean spelling; PyYAML already does for yes/no/on/off but not for y/n.
_IndentedDumper.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))


class YamlProps(_PropertyProps):
    """YAML has no options beyond the property."""


@register("yaml")
class Yaml(_PropertyParser):
    """Converts between a YAML string and the object it represents (safe loading only)."""

    Props = YamlProps
    props: YamlProps

    def _convert(self, msg: Msg, value: Any) -> Output:
        if isinstance(value, str):
            try:
                set_path(msg, self._keys, yaml.safe_load(value))
            except yaml.YAMLError as exc:
                raise NodeError(f"yaml: {exc}", msg) from None
            return msg
        if isinstance(value, (bytes, bytearray)):
            self.warn("yaml: dropped: a buffer cannot be converted to YAML")
            return None
        if isinstance(value, (dict, list)) or value is None:
            try:
                text = yaml.dump(value, Dumper=_IndentedDumper, sort_keys=False, allow_unicode=True, default_flow_style=False)
            except yaml.YAMLError as exc:
                raise NodeError(f"yaml: cannot convert to YAML: {exc}", msg) from None
            set_path(msg, self._keys, text)
            return msg
        self.warn(f"yaml: dropped: a {type(value).__name__} cannot be converted")
        return None


# -- csv ---------------------------------------------------------------------------------

#: Node-RED's test for "this field is a number" when `strings` (parse numbers) is on.
#: Legacy parser: a cell is a number when its trimmed text matches this (then parseFloat).
_NUMBER = re.compile(r"^-?(?!E)(?!0\d)\d*\.?\d*(E-?\+?)?\d+$", re.IGNORECASE)
#: RFC 4180 parser (Node-RED 4): `+cell` unless the text looks signed or zero-padded, so hex and padded spaces convert.
_RFC_KEEP_TEXT = re.compile(r"^ *(\+|-0\d|0\d)")


class CsvProps(NodeProps):
    temp: str = Field("", description="column names, comma separated (blank: col1, col2, ... or the header row)")
    sep: lenient.Blank[str] = Field(",", description="field separator (\\t allowed)")
    quo: str = Field('"', description="quote character")
    hdrin: bool | str = Field(False, description="first row of the input holds the column names")
    hdrout: Literal["none", "all", "once", ""] | bool = Field("none", description="header row in output: none, all (every message) or once (until msg.reset)")
    multi: Literal["one", "mult"] = Field("one", description="one: a message per row; mult: one message with an array of rows")
    ret: str = Field("\\n", description="line ending of the CSV output")
    skip: int | str = Field(0, description="lines to skip at the start of the input")
    strings: lenient.Bool = Field(True, description="parse numerical values as numbers")
    include_empty_strings: lenient.Bool = Field(False, description="keep empty strings in the output objects")
    include_null_values: lenient.Bool = Field(False, description="keep null (empty) values in the output objects")
    spec: str = Field("", description="Node-RED 4 parser choice ('rfc' or legacy ''); flowwire always parses RFC 4180")


def _clean_columns(text: str) -> list[str]:
    """Column names: comma separated, trimmed, quotes removed (Node-RED's clean())."""
    if not text.strip():
        return []
    row = next(csv.reader([text.strip()], skipinitialspace=True), [])
    return [c.replace('"', "").strip() for c in row]


def _columns_text(columns: list[str]) -> str:
    return ",".join(f'"{c}"' if "," in c else c for c in columns if c)


@register("csv")
class Csv(Node):
    """Converts between CSV text and objects (a message per row or an array), with header rows."""

    Props = CsvProps
    props: CsvProps

    @classmethod
    def check(cls, props: CsvProps) -> list[tuple[str, str]]:
        problems = []
        if len(unescape(props.sep)) != 1:
            problems.append(("sep", f"the separator must be one character, not {props.sep!r}"))
        if len(props.quo) != 1:
            problems.append(("quo", f"the quote must be one character, not {props.quo!r}"))
        try:
            int(props.skip or 0)
        except ValueError:
            problems.append(("skip", f"skip must be a number of lines, not {props.skip!r}"))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.props
        self._sep = unescape(p.sep)
        self._ret = unescape(p.ret or "\\n")
        self._skip = int(p.skip or 0)
        self._hdrin = p.hdrin is True or p.hdrin == "true"
        hdrout = p.hdrout
        self._hdrout = "all" if hdrout is True else "none" if hdrout in (False, "") else hdrout
        self._template = _clean_columns(p.temp)
        #: Column names learnt from a header row; they persist across the messages of a sequence.
        self._columns = list(self._template)
        self._header_sent = False
        self._store: list[dict[str, Any]] = []

    def on_input(self, msg: Msg) -> Output:
        if "reset" in msg:
            self._header_sent = False
        if "payload" not in msg:
            return None if "reset" in msg else msg
        payload = msg["payload"]
        if isinstance(payload, (dict, list)):
            return self._to_csv(msg, payload)
        if isinstance(payload, str):
            return self._from_csv(msg, payload)
        self.warn(f"csv: dropped: a {type(payload).__name__} payload is neither CSV text nor an object")
        return None

    # object -> CSV

    def _cell(self, value: Any) -> str:
        return "" if value is None else to_string(value)

    def _to_csv(self, msg: Msg, payload: Any) -> Output:
        rows = payload if isinstance(payload, list) else [payload]
        if rows and not any(isinstance(r, (list, dict)) for r in rows):
            rows = [rows]
        columns = list(self._template)
        if not columns and "columns" in msg:
            columns = _clean_columns(str(msg.get("columns") or ""))
        if not columns:
            first = next((r for r in rows if isinstance(r, dict)), None)
            if first is not None:
                columns = list(first.keys())
        out = io.StringIO()
        writer = csv.writer(out, delimiter=self._sep, quotechar=self.props.quo, lineterminator=self._ret, quoting=csv.QUOTE_MINIMAL)
        if self._hdrout != "none" and not self._header_sent and columns:
            writer.writerow(columns)
            if self._hdrout == "once":
                self._header_sent = True
        for row in rows:
            if isinstance(row, dict):
                writer.writerow(["" if c == "" else self._cell(row.get(c)) for c in columns])
            elif isinstance(row, list):
                writer.writerow([self._cell(v) for v in row])
            else:
                writer.writerow([self._cell(row)])
        text = out.getvalue()
        msg["payload"] = text
        msg["columns"] = _columns_text(columns)
        return msg if text else None

    # CSV -> objects

    def _value(self, text: str) -> Any:
        if text == "":
            return None
        if not self.props.strings:
            return text
        if self.props.spec == "rfc":
            number: float = math.nan if _RFC_KEEP_TEXT.match(text) else to_number(text)
        else:
            trimmed = text.strip()
            number = parse_float(trimmed) if _NUMBER.match(trimmed) else math.nan
        return text if math.isnan(number) else normalise_number(number)

    def _row_object(self, row: list[str]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for index, raw in enumerate(row):
            if index < len(self._columns):
                name = self._columns[index]
            elif not self._template and not self._hdrin:
                name = f"col{index + 1}"
            else:
                continue
            if not name:
                continue
            value = self._value(raw)
            if value is None:
                if self.props.include_null_values:
                    obj[name] = None
                elif self.props.include_empty_strings:
                    obj[name] = ""
                continue
            obj[name] = value
        return obj

    def _from_csv(self, msg: Msg, text: str) -> Output:
        parts = msg.get("parts") if isinstance(msg.get("parts"), dict) else None
        lines = io.StringIO(text, newline="")
        reader = csv.reader(lines, delimiter=self._sep, quotechar=self.props.quo, strict=False)
        index = parts.get("index", 0) if parts is not None else 0
        multi_line = text.count("\n") + text.count("\r") > 1
        # A message that is one line of a sequence (file in → lines) is line number parts.index.
        line_no = index if parts is not None and not multi_line else 0
        if parts is None or multi_line and index == 0:
            self._columns = list(self._template)
        rows: list[dict[str, Any]] = []
        try:
            for row in reader:
                if line_no < self._skip:
                    line_no += 1
                    continue
                if self._hdrin and line_no == self._skip:
                    self._columns = [c.strip() for c in row]
                    line_no += 1
                    continue
                line_no += 1
                if not row or row == [""]:
                    continue
                obj = self._row_object(row)
                if obj:
                    rows.append(obj)
        except csv.Error as exc:
            raise NodeError(f"csv: {exc}", msg) from None
        columns = _columns_text(self._columns) if self._columns else _columns_text([f"col{i + 1}" for i in range(max((len(r) for r in rows), default=0))])
        last = parts is not None and "count" in parts and index + 1 >= parts["count"]
        if self.props.multi == "mult":
            if parts is not None and not multi_line:
                self._store.extend(rows)
                if not last:
                    return None
                msg["payload"], self._store = self._store, []
                msg.pop("parts", None)
            else:
                msg["payload"] = rows
            msg["columns"] = columns
            return msg
        out = []
        msgid = msg.setdefault("_msgid", new_msgid())
        for i, row in enumerate(rows):
            m = clone(msg)
            m["payload"] = row
            m["columns"] = columns
            if parts is None:
                m["parts"] = {"id": msgid, "index": i, "count": len(rows)}
            else:
                shift = self._skip + (1 if self._hdrin else 0)
                m["parts"]["index"] -= shift
                if "count" in m["parts"]:
                    m["parts"]["count"] -= shift
            if last:
                m["complete"] = True
            out.append(m)
        if parts is not None and last and not rows:
            out.append({"complete": True})
        return [out]


# -- xml ---------------------------------------------------------------------------------


class XmlProps(_PropertyProps):
    attr: str = Field("", description="key for attributes in the object form (default $)")
    chr: str = Field("", description="key for text content in the object form (default _)")


_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


@register("xml")
class Xml(_PropertyParser):
    """Converts between XML text and objects shaped like Node-RED's (xml2js: `$` attributes, `_` text, child arrays)."""

    Props = XmlProps
    props: XmlProps

    def _convert(self, msg: Msg, value: Any) -> Output:
        options = msg.get("options") if isinstance(msg.get("options"), dict) else {}
        attrkey = self.props.attr or options.get("attrkey") or "$"
        charkey = self.props.chr or options.get("charkey") or "_"
        # Deferred: most flows have no xml node, and importing xmltodict (with expat) slows every start-up.
        import xmltodict

        if isinstance(value, str):
            try:
                tree = xmltodict.parse(value, attr_prefix="@", cdata_key="#text", strip_whitespace=False, force_list=lambda *_: True)
            except Exception as exc:  # expat raises its own ExpatError
                raise NodeError(f"xml: {exc}", msg) from None
            set_path(msg, self._keys, {name: _xml2js(items[0], attrkey, charkey) for name, items in tree.items()})
            return msg
        if isinstance(value, (dict, list)):
            headless = bool(options.get("headless"))
            root_name = options.get("rootName", "root")
            if isinstance(value, dict) and len(value) == 1:
                ((name, body),) = value.items()
            else:
                name, body = root_name, value
            try:
                text = xmltodict.unparse({name: _to_xmltodict(body, attrkey, charkey)}, full_document=False, short_empty_elements=True)
            except Exception as exc:
                raise NodeError(f"xml: cannot convert to XML: {exc}", msg) from None
            set_path(msg, self._keys, text if headless else _DECLARATION + text)
            return msg
        self.warn("xml: dropped: the value is neither XML text nor an object")
        return None


def _xml2js(node: Any, attrkey: str, charkey: str) -> Any:
    """xmltodict's element form → xml2js's (explicitArray: children always lists)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node if node.strip() else ""
    attrs = {k[1:]: v for k, v in node.items() if k.startswith("@")}
    text = node.get("#text")
    children = {k: v for k, v in node.items() if not k.startswith("@") and k != "#text"}
    if isinstance(text, list):
        text = "".join(text)
    has_text = isinstance(text, str) and text.strip() != ""
    if not attrs and not children:
        return text if has_text else ""
    obj: dict[str, Any] = {}
    if attrs:
        obj[attrkey] = attrs
    if has_text:
        obj[charkey] = text
    for name, items in children.items():
        obj[name] = [_xml2js(item, attrkey, charkey) for item in (items if isinstance(items, list) else [items])]
    return obj


def _to_xmltodict(value: Any, attrkey: str, charkey: str) -> Any:
    """xml2js's object form → xmltodict's, for unparse (scalars as JavaScript prints them)."""
    if isinstance(value, list):
        return [_to_xmltodict(v, attrkey, charkey) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == attrkey and isinstance(item, dict):
                out.update({f"@{k}": to_string(v) for k, v in item.items()})
            elif key == charkey:
                out["#text"] = to_string(item)
            else:
                out[key] = _to_xmltodict(item, attrkey, charkey)
        return out
    if value is None:
        return None
    return to_string(value)
