"""Keep secrets out of everything a person or a log collector can read.

Values are registered once (where a node reads an API key or a password) and
every log record, debug line and error text passes through `scrub`. Tracking
values rather than key names means a secret is caught even when a library
echoes it back inside an unrelated message.

A library rarely echoes a secret verbatim: a key sent as a query parameter
comes back URL-encoded inside a URL (`+` as `%2B`, or `%2b`, and `/` left
alone by one encoder and turned into `%2F` by the next), a key inside a JSON
body comes back with `/` as `\\/`, a basic-auth password comes back as the
base64 of `user:password`. So each secret is matched as a pattern in which
every character that an encoder might change may appear in any of its forms
(raw, `%XX` in either case, `+` for a space, a JSON escape), in any mixture;
the base64 forms of the value (and of `user:value` when a user is given) are
registered next to it, and are matched the same way. Not covered: encodings
applied twice (`%252B`) and HTML entities.

Two kinds of secrets: those registered when a node starts (passwords, a
config node's key) are kept for the life of the process; those read per
message (`redact(..., per_message=True)`, e.g. an OpenAI key that arrives on
`msg`) are kept in a least-recently-used set of `PER_MESSAGE_LIMIT` (256)
values, so that a flow serving many tenants does not grow the registry
without bound. A per-message key only has to be masked while something that
carries it can still be echoed: its request and that request's error, and a
config node allows 100 requests in flight by default (the OpenAI client also
keeps the 16 most recent keys); 256 covers that with a margin. A key read
again is moved to the recent end; one read after its eviction is registered
again before it is used.

`scrub` runs on every log line and error, so it must not cost one scan per
secret: the patterns of many secrets are merged into one compiled regex whose
alternatives share their common prefixes (a trie), and one scan of the text
serves them all — about 4 µs for a 220-character line, 120 µs for 10 KB, the
same for 1 secret or 1000 (Python 3.11). Compiling costs about 0.3 ms per
secret, so the regex is not rebuilt whole for each new per-message key: the
permanent secrets have one regex, and per-message ones are compiled in
generations of 16 (the newest generation is recompiled, lazily, when it
changes; a full one is sealed). `scrub` therefore runs at most
1 + 2 * 256 / 16 + 1 regexes, in practice 1 + (distinct keys / 16) + 1:
measured with 100 per-message keys, 27 µs per 220-character line; a new
per-message key costs 1.5-3 ms once, a known one nothing. A sealed generation
whose entries were evicted keeps masking them until it empties (masking a
value longer than needed is harmless); when there are too many generations,
the oldest is dissolved into the newest.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable

PER_MESSAGE_LIMIT = 256
_GENERATION_SIZE = 16
_MIN_LENGTH = 4
_MASK = "***"
#: Characters that no URL or JSON encoder changes: they only ever appear as themselves.
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")


#: Stand-ins for the two base64 characters that differ between the standard and the URL-safe
#: alphabets: one pattern then matches both forms of a base64 variant.
_B64_62, _B64_63 = "\ue000", "\ue001"
_B64_FORMS = {_B64_62: ("+", "-"), _B64_63: ("/", "_")}


@functools.lru_cache(maxsize=512)
def _atom(char: str) -> str:
    """A regex matching `char` in every form an encoder might have given it."""
    if char in _PLAIN:
        return re.escape(char)
    if char in _B64_FORMS:
        standard, url_safe = _B64_FORMS[char]
        return f"(?:{_atom(standard)}|{url_safe})"
    forms = {re.escape(char)}
    percent = "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
    forms.add(re.sub(r"[A-F]", lambda m: f"[{m.group()}{m.group().lower()}]", percent))
    if char == " ":
        forms.add(r"\+")
    escaped = json.dumps(char)[1:-1]  # \" \\ \n \u00e9 ...
    if escaped != char:
        forms.add(re.escape(escaped))
    if char == "/":
        forms.add(re.escape("\\/"))
    if len(char.encode("utf-16-le")) == 2:
        forms.add(re.escape("\\u") + "".join(f"[{c}{c.upper()}]" if c.isalpha() else c
                                             for c in f"{ord(char):04x}"))
    return "(?:" + "|".join(sorted(forms)) + ")"


def _variants(value: str, user: str | None) -> list[str]:
    """The value and its base64 forms, standard and URL-safe in one (padding dropped: it is not secret)."""
    raw = [value.encode("utf-8")]
    if user is not None:
        raw.append(f"{user}:{value}".encode())
    b64 = (base64.b64encode(data).decode("ascii").rstrip("=") for data in raw)
    return [value, *(text.replace("+", _B64_62).replace("/", _B64_63) for text in b64)]


def _pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for all `values`, alternatives factored into a trie so a scan costs one pass.

    Built without recursion over characters: a long secret (a PEM key) is a
    long chain, not a deep nesting.
    """
    trie: dict[str, dict] = {}
    for value in values:
        node = trie
        for char in value:
            node = node.setdefault(char, {})
        node[""] = {}
    if not trie:
        return None
    return re.compile(_trie_regex(trie))


def _trie_regex(node: dict[str, dict]) -> str:
    parts: list[str] = []
    while True:
        children = [c for c in node if c]
        ends = "" in node
        if len(children) == 1 and not ends:
            parts.append(_atom(children[0]))
            node = node[children[0]]
            continue
        if not children:
            return "".join(parts)
        branches = "|".join(_atom(c) + _trie_regex(node[c]) for c in sorted(children))
        parts.append(f"(?:{branches})" + ("?" if ends else ""))
        return "".join(parts)


Entry = tuple[str, str | None]  # a value and the basic-auth user it is sent with, if any


class _Generation:
    """Per-message entries compiled together; entries evicted later stay in the regex (harmless)."""

    def __init__(self) -> None:
        self.entries: set[Entry] = set()
        self.pattern: re.Pattern[str] | None = None


class SecretRegistry:
    """The registered secrets and the compiled regexes that mask them; safe to use from any thread."""

    def __init__(self, per_message_limit: int = PER_MESSAGE_LIMIT, generation_size: int = _GENERATION_SIZE) -> None:
        self.per_message_limit = per_message_limit
        self.generation_size = generation_size
        self._max_sealed = max(2, 2 * per_message_limit // generation_size)
        self._lock = threading.Lock()
        self._permanent: set[Entry] = set()
        self._permanent_pattern: re.Pattern[str] | None = None
        #: Least recently used first; each entry with the generation whose regex holds it.
        self._per_message: OrderedDict[Entry, _Generation] = OrderedDict()
        self._sealed: list[_Generation] = []
        self._open = _Generation()
        self._dirty = False
        # Swapped whole, so that `scrub` can read it without the lock.
        self._patterns: tuple[re.Pattern[str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self._patterns) or self._dirty

    def __contains__(self, value: object) -> bool:
        return any(v == value for v, _ in (*self._permanent, *self._per_message))

    @property
    def per_message_count(self) -> int:
        return len(self._per_message)

    @property
    def regex_count(self) -> int:
        """How many regexes one `scrub` runs (the figure that bounds its cost)."""
        self.scrub("")
        return len(self._patterns)

    def add(self, value: str | None, *, user: str | None = None, per_message: bool = False) -> None:
        if not isinstance(value, str) or len(value) < _MIN_LENGTH:
            return
        entry = (value, user)
        with self._lock:
            if entry in self._permanent:
                return
            if not per_message:
                self._forget(entry)
                self._permanent.add(entry)
                self._permanent_pattern = None
            elif entry in self._per_message:
                self._per_message.move_to_end(entry)
                return
            else:
                self._keep(entry)
                if len(self._per_message) > self.per_message_limit:
                    self._forget(next(iter(self._per_message)))
            self._dirty = True

    def _keep(self, entry: Entry) -> None:
        self._per_message[entry] = self._open
        self._open.entries.add(entry)
        self._open.pattern = None
        if len(self._open.entries) >= self.generation_size:
            self._open.pattern = _pattern(_all_variants(self._open.entries))
            self._sealed.append(self._open)
            self._open = _Generation()
            if len(self._sealed) > self._max_sealed:
                # Generations kept alive by a few long-lived entries: move those into a new one.
                for survivor in self._sealed.pop(0).entries:
                    self._keep(survivor)

    def _forget(self, entry: Entry) -> None:
        generation = self._per_message.pop(entry, None)
        if generation is None:
            return
        generation.entries.discard(entry)
        if generation is self._open:
            generation.pattern = None
        elif not generation.entries:
            self._sealed.remove(generation)

    def _rebuild(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            if self._permanent_pattern is None:
                self._permanent_pattern = _pattern(_all_variants(self._permanent))
            if self._open.pattern is None:
                self._open.pattern = _pattern(_all_variants(self._open.entries))
            candidates = (self._permanent_pattern, *(g.pattern for g in self._sealed), self._open.pattern)
            self._patterns = tuple(p for p in candidates if p is not None)
            self._dirty = False

    def scrub(self, text: str) -> str:
        if self._dirty:
            self._rebuild()
        for pattern in self._patterns:
            text = pattern.sub(_MASK, text)
        return text


def _all_variants(entries: Iterable[Entry]) -> list[str]:
    return [variant for value, user in entries for variant in _variants(value, user)]


_registry = SecretRegistry()


def redact(value: str | None, *, user: str | None = None, per_message: bool = False) -> None:
    """Register `value` as a secret from now on (values under 4 characters are ignored: they would
    mask ordinary text). `user`: the value is also sent as basic auth `user:value`. `per_message`:
    a value read for one message, kept only among the most recent `PER_MESSAGE_LIMIT` such values."""
    _registry.add(value, user=user, per_message=per_message)


def scrub(text: str) -> str:
    """Return `text` with every registered secret, in any of its encodings, replaced by a mask."""
    return _registry.scrub(text)


class RedactingFilter(logging.Filter):
    """Masks secrets in the final text of every record, arguments included."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _registry:
            message = record.getMessage()
            cleaned = scrub(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True
