"""Topic filters: `+` / `#` wildcards and shared subscriptions (`$share/<group>/<filter>`)."""

from __future__ import annotations


def validate_filter(topic: str) -> str | None:
    """Why `topic` is not a valid subscription filter, or None."""
    if not topic:
        return "empty topic filter"
    levels = split_shared(topic)[1].split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return "'#' must be a whole level and the last one"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    return None


def split_shared(topic: str) -> tuple[str | None, str]:
    """`$share/g/a/b` → ("g", "a/b"); `$queue/a/b` → ("$queue", "a/b"); else (None, topic)."""
    if topic.startswith("$share/"):
        parts = topic.split("/", 2)
        if len(parts) == 3:
            return parts[1], parts[2]
    if topic.startswith("$queue/"):
        return "$queue", topic[len("$queue/") :]
    return None, topic


class TopicFilter:
    """Matches topic names against one filter; shared-subscription prefixes are ignored for matching."""

    __slots__ = ("exact", "filter", "group", "levels")

    def __init__(self, topic: str) -> None:
        self.group, self.filter = split_shared(topic)
        self.exact = "+" not in self.filter and "#" not in self.filter
        self.levels = self.filter.split("/")

    def matches(self, topic: str) -> bool:
        if self.exact:
            return topic == self.filter
        if topic.startswith("$") and self.levels[0] in ("+", "#"):
            return False  # wildcards at the first level never match $SYS-style topics
        names = topic.split("/")
        levels = self.levels
        for i, level in enumerate(levels):
            if level == "#":
                return True
            if i >= len(names):
                return False
            if level != "+" and level != names[i]:
                return False
        return len(names) == len(levels)


def has_wildcard(topic: str) -> bool:
    return "+" in topic or "#" in topic
