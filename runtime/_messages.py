"""What a message is, how it is named and how it is copied."""

from __future__ import annotations

import copy
import itertools
import os
from typing import Any, Union

Msg = dict[str, Any]
#: None (nothing), a msg for port 0, or one entry per port (None, a msg, or a list of msgs).
Output = Union[None, Msg, list[Union[None, Msg, list[Msg]]]]

_ids = itertools.count(1)
_id_prefix = os.urandom(4).hex()


def new_msgid() -> str:
    """Unique per process and cheap: a random prefix and a counter."""
    return f"{_id_prefix}{next(_ids):08x}"


_ATOMS = (str, int, float, bool, type(None), bytes)


def clone(value: Any) -> Any:
    """Deep copy tuned for JSON-like messages, falling back to `copy.deepcopy`.

    Fan-out copies every message but the first; most messages are dicts,
    lists and scalars, for which this is several times faster than deepcopy.
    """
    cls = type(value)
    if cls is dict:
        return {k: (v if type(v) in _ATOMS else clone(v)) for k, v in value.items()}
    if cls is list:
        return [v if type(v) in _ATOMS else clone(v) for v in value]
    if cls in _ATOMS:
        return value
    if cls is bytearray:
        return bytearray(value)
    return copy.deepcopy(value)
