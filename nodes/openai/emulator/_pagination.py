"""Cursor pagination as the OpenAI list endpoints do it.

`order` (asc|desc by creation, default desc), `limit` (1..100, default 20),
`after` / `before` (ids used as cursors in that order). The answer is
`{"object": "list", "data", "first_id", "last_id", "has_more"}`; `has_more`
looks in the direction of travel, which is what the SDK's auto-pagination
follows with `after=last_id`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import bad_request

JsonObj = dict[str, Any]


def _limit(query: Mapping[str, str]) -> int:
    raw = query.get("limit", "20")
    try:
        limit = int(raw)
    except ValueError:
        raise bad_request(f"Invalid 'limit': expected an integer, but got '{raw}' instead.", param="limit",
                          code="invalid_type") from None
    if not 1 <= limit <= 100:
        raise bad_request(f"Invalid 'limit': integer must be between 1 and 100, got {limit}.", param="limit",
                          code="integer_out_of_range")
    return limit


def paginate(items: Sequence[JsonObj], query: Mapping[str, str]) -> JsonObj:
    """Slice `items` (oldest first) according to the request's query string."""
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise bad_request(f"Invalid value for 'order': expected one of asc, desc, but got '{order}'.",
                          param="order", code="invalid_value")
    limit = _limit(query)
    ordered = list(items) if order == "asc" else list(reversed(items))
    ids = [item["id"] for item in ordered]
    start, stop = 0, len(ordered)
    if after := query.get("after"):
        start = ids.index(after) + 1 if after in ids else len(ids)
    if before := query.get("before"):
        stop = ids.index(before) if before in ids else 0
    window = ordered[start:stop]
    if before and not after:
        # Walking backwards: the page is the `limit` items nearest the cursor.
        page = window[-limit:]
        has_more = len(window) > limit
    else:
        page = window[:limit]
        has_more = len(window) > limit
    return {
        "object": "list",
        "data": page,
        # the document types these as strings: an empty page has empty ones
        "first_id": page[0]["id"] if page else "",
        "last_id": page[-1]["id"] if page else "",
        "has_more": has_more,
    }
