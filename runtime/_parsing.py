"""A flow file's bytes to data whose mappings know their line numbers.

Three things shaped this module:

- Speed. PyYAML's pure-Python parser took 97 % of `flowwire validate` on a
  4.5 MB export, so a document that is JSON goes to the `json` module and
  YAML to libyaml (PyYAML's C parser) when it is installed. Both still give
  every node its line; JSON finds a property's line only when a problem asks.
- Hostile input. Aliases may add at most `MAX_ALIAS_NODES` nodes to a
  document: a 445-byte "billion laughs" file otherwise expands to hundreds of
  millions of values as soon as anything walks it.
- Files from elsewhere. UTF-16/32 files (with a byte-order mark, or told by the
  NULs around the first character as JSON and YAML 1.2 both specify) are
  decoded, a UTF-8 byte-order mark is dropped, and emoji written as JSON
  surrogate-pair escapes (`\\ud83d\\ude00`) arrive as one character.

Anything else that is wrong becomes a `ParseError` with a line, never a
traceback.
"""

from __future__ import annotations

import gc
import json
import re
import types
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

try:
    from yaml.cyaml import CParser
except ImportError:  # PyYAML built without libyaml: the pure-Python parser, slower but the same results
    CParser = None

#: Nodes that aliases may add to one document, counting each alias as the size of what it names.
#: Sharing a few settings between nodes stays far below it; an alias bomb passes it after a few hundred events.
MAX_ALIAS_NODES = 100_000


class ParseError(Exception):
    """The file is not a document; `line` is 1-based where it is known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _Refused(ComposerError):
    """Well-formed YAML that flowwire will not expand."""


class LineDict(dict):  # type: ignore[type-arg]
    """A mapping that remembers the line it starts on and the line of each key."""

    line: int | None = None
    key_lines: Mapping[str, int] = types.MappingProxyType({})


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold the cyclic collector while a document is built.

    Parsing allocates hundreds of thousands of containers and frees none, so
    every collector pass walks all of them again for nothing: for a 12,000-node
    export that was most of the C loader's time. Reference counting still frees as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse(raw: bytes, json_errors: bool = False) -> Any:
    """Decode and parse one document; `json_errors` reports JSON's error, not YAML's, when JSON-looking text is neither."""
    text = decode(raw)
    start = _space(text).end()
    looks_like_json = text.startswith(("[", "{"), start)
    if looks_like_json:
        try:
            data = _json_document(text)
        except _NotJson:
            pass  # JSON is YAML: flow-style YAML, comments or trailing commas are still a document
        else:
            _refuse_lone_surrogates(text)
            return data
    try:
        return parse_yaml(text)
    except ParseError as exc:
        if json_errors and looks_like_json:
            raise _json_error(text) or exc from None
        raise


def decode(raw: bytes) -> str:
    """UTF-8, or what a byte-order mark or the NULs of UTF-16/32 say; otherwise the line and column of the first bad byte."""
    encoding = json.detect_encoding(raw)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding.startswith("utf-8"):
            line_start = raw.rfind(b"\n", 0, exc.start) + 1
            raise ParseError(
                f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at column {exc.start - line_start + 1} cannot be decoded; save the file as UTF-8",
                raw.count(b"\n", 0, exc.start) + 1,
            ) from None
        raise ParseError(f"not valid {encoding.upper()} text: {exc.reason} at byte {exc.start}") from None


# -- YAML ---------------------------------------------------------------------------------------


class _Constructor(SafeConstructor):
    """Safe construction only; mappings remember their lines; a failure names its line."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:  # e.g. a date like 2024-02-30
            raise ConstructorError(None, None, f"cannot read this value: {exc}", node.start_mark) from None

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        self.flatten_mapping(node)
        result = LineDict()
        result.line = node.start_mark.line + 1
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                result[key] = self.construct_object(value_node, deep=True)
            except TypeError:
                kind = "mapping" if isinstance(key, dict) else type(key).__name__
                raise ConstructorError(None, None, f"a mapping key must be a string or a number, not a {kind}", key_node.start_mark) from None
            if isinstance(key, str):
                key_lines[key] = key_node.start_mark.line + 1
        result.key_lines = key_lines
        return result

    def construct_paired_str(self, node: ScalarNode) -> str:
        """Join the halves of `\\ud83d\\ude00`-style escapes, which the pure-Python scanner keeps apart."""
        value: str = self.construct_scalar(node)
        if not _SURROGATE.search(value):
            return value
        try:
            return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:
            raise ConstructorError(None, None, _LONE_SURROGATE, node.start_mark) from None


_Constructor.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Constructor.construct_mapping)


class _Composer(Composer):
    """PyYAML's composer, refusing recursive aliases and aliases that add more than MAX_ALIAS_NODES nodes.

    It counts as it goes: every node composed adds one, every alias adds the
    size of the node it names (known once that node is complete, so an alias
    inside its own anchor is recursive). The error points at the alias.
    """

    def __init__(self) -> None:
        super().__init__()
        self._composed = 0
        self._aliased = 0
        self._sizes: dict[Node, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._sizes.get(target)
                if size is None:
                    raise _Refused(None, None, f"alias *{event.anchor} is inside the node it names (a recursive alias)", event.start_mark)
                self._composed += size
                self._aliased += size
                if self._aliased > MAX_ALIAS_NODES:
                    raise _Refused(
                        None, None, f"aliases expand this document past {MAX_ALIAS_NODES:,} nodes; refused (an alias bomb?)", event.start_mark
                    )
            return super().compose_node(parent, index)
        anchor = self.peek_event().anchor
        before = self._composed
        self._composed += 1
        node = super().compose_node(parent, index)
        if anchor is not None:
            self._sizes[node] = self._composed - before
        return node


class _PyLoader(Reader, Scanner, Parser, _Composer, _Constructor, Resolver):
    """The pure-Python parser: without libyaml, and for surrogate escapes, which libyaml rejects."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _Composer.__init__(self)
        _Constructor.__init__(self)
        Resolver.__init__(self)


_PyLoader.add_constructor("tag:yaml.org,2002:str", _PyLoader.construct_paired_str)

if CParser is not None:

    class _CLoader(CParser, _Constructor, Resolver):  # type: ignore[misc, valid-type]
        """libyaml parses and composes: for text that has no aliases to count."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _Constructor.__init__(self)
            Resolver.__init__(self)

    class _CEventLoader(_Composer, CParser, _Constructor, Resolver):  # type: ignore[misc, valid-type]
        """libyaml parses, the counting composer composes: for text that may hold aliases."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _Composer.__init__(self)
            _Constructor.__init__(self)
            Resolver.__init__(self)


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\(?:u|U0000)[dD][89a-fA-F]")
_LONE_SURROGATE = "a string holds half of a UTF-16 surrogate pair (a \\uD800-\\uDFFF escape) without the other half"


def _yaml_loader(text: str) -> Callable[[str], Any]:
    if CParser is None or _SURROGATE_ESCAPE.search(text):
        return _PyLoader
    if "&" in text and "*" in text:
        return _CEventLoader
    return _CLoader


def parse_yaml(text: str) -> Any:
    loader = _yaml_loader(text)(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        prefix = "" if isinstance(exc, _Refused) else "not valid YAML/JSON: "
        raise ParseError(f"{prefix}{exc.problem or exc.context or exc}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ParseError(f"not valid YAML/JSON: {exc}") from None
    except RecursionError:
        raise ParseError("not valid YAML/JSON: nested too deeply") from None
    finally:
        loader.dispose()


# -- JSON ---------------------------------------------------------------------------------------
#
# `json.loads` cannot say where anything was, so the top of the document is read
# here with the json module's own C scanner: the top-level mapping key by key,
# the node list element by element (each element scanned whole, in C), counting
# lines between the elements. That is every line a node needs; the line of each
# property is found on demand by re-reading that one node (`_KeyLines`).

_scan = json.JSONDecoder().scan_once
_space = re.compile(r"[ \t\n\r]*").match
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


class _NotJson(Exception):
    pass


class _Lines:
    """Line numbers of increasing offsets into one text, each newline counted once."""

    def __init__(self, text: str, pos: int = 0, line: int = 1) -> None:
        self.text, self.pos, self.line = text, pos, line

    def at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


class _KeyLines(Mapping[str, int]):
    """The line of each key of one node object, read from the text the first time a problem asks.

    It keeps the file's text alive with the node (a few MB for the largest
    exports): reading every node's keys up front would cost more than the whole JSON parse.
    """

    __slots__ = ("_text", "_start", "_line", "_lines")

    def __init__(self, text: str, start: int, line: int) -> None:
        self._text, self._start, self._line = text, start, line
        self._lines: dict[str, int] | None = None

    def _read(self) -> dict[str, int]:
        if self._lines is None:
            _, self._lines, _ = _object(self._text, self._start, _Lines(self._text, self._start, self._line), _value)
        return self._lines

    def __getitem__(self, key: str) -> int:
        return self._read()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


def _json_document(text: str) -> Any:
    lines = _Lines(text)
    try:
        pos = _space(text).end()
        if text.startswith("[", pos):
            data, pos = _node_list(text, pos, lines)
        else:
            data, key_lines, pos = _object(text, pos, lines, lambda t, p, key: _node_list(t, p, lines) if key == "nodes" and t.startswith("[", p) else _value(t, p))
            data.key_lines = key_lines
        if _space(text, pos).end() != len(text):
            raise _NotJson
    except (ValueError, StopIteration, RecursionError):  # json.JSONDecodeError is a ValueError
        raise _NotJson from None
    return data


def _value(text: str, pos: int, key: str | None = None) -> tuple[Any, int]:
    return _scan(text, pos)  # type: ignore[no-any-return]


def _object(text: str, pos: int, lines: _Lines, read_value: Callable[..., tuple[Any, int]]) -> tuple[LineDict, dict[str, int], int]:
    """The object at `pos` (a `{`), with its line and the line of each key, and the offset after it."""
    result = LineDict()
    result.line = lines.at(pos)
    key_lines: dict[str, int] = {}
    pos = _space(text, pos + 1).end()
    if text.startswith("}", pos):
        return result, key_lines, pos + 1
    while text.startswith('"', pos):
        key_lines_at = lines.at(pos)
        key, pos = _scanstring(text, pos + 1)
        pos = _space(text, pos).end()
        if not text.startswith(":", pos):
            break
        result[key], pos = read_value(text, _space(text, pos + 1).end(), key)
        key_lines[key] = key_lines_at
        pos = _space(text, pos).end()
        if text.startswith("}", pos):
            return result, key_lines, pos + 1
        if not text.startswith(",", pos):
            break
        pos = _space(text, pos + 1).end()
    raise _NotJson


def _node_list(text: str, pos: int, lines: _Lines) -> tuple[list[Any], int]:
    """The list at `pos` (a `[`); each element that is an object becomes a LineDict knowing its line."""
    items: list[Any] = []
    pos = _space(text, pos + 1).end()
    if text.startswith("]", pos):
        return items, pos + 1
    while True:
        start = pos
        item, pos = _scan(text, pos)
        if type(item) is dict:
            node = LineDict(item)
            node.line = lines.at(start)
            node.key_lines = _KeyLines(text, start, node.line)
            item = node
        items.append(item)
        pos = _space(text, pos).end()
        if text.startswith("]", pos):
            return items, pos + 1
        if not text.startswith(",", pos):
            raise _NotJson
        pos = _space(text, pos + 1).end()


def _json_error(text: str) -> ParseError | None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return ParseError(f"not valid JSON: {exc.msg} (column {exc.colno})", exc.lineno)
    except RecursionError:
        return ParseError("not valid JSON: nested too deeply")
    return None


#: A surrogate escape not preceded by an escaped backslash; group 1 is the low half when a high half has one.
_SURROGATE_HALF = re.compile(r"(?<!\\)(?:\\\\)*\\u(?:[dD][89abAB][0-9a-fA-F]{2}(\\u[dD][c-fC-F][0-9a-fA-F]{2})?|[dD][c-fC-F][0-9a-fA-F]{2})")


def _refuse_lone_surrogates(text: str) -> None:
    """`json` keeps an unpaired surrogate escape as a lone half that no UTF-8 output can hold: refuse it here, with its line."""
    if not _SURROGATE_ESCAPE.search(text):
        return
    for match in _SURROGATE_HALF.finditer(text):
        if match.group(1) is None:
            raise ParseError(_LONE_SURROGATE, text.count("\n", 0, match.start()) + 1)
