"""debug: print messages on stdout, one line each."""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

from pydantic import Field

from runtime import Msg, Node, NodeProps, compile_jsonata, lenient, register
from runtime.properties import get_path, parse_path
from runtime.secrets import scrub

from ._text import json_text

log = logging.getLogger("flowwire.debug")


class DebugProps(NodeProps):
    active: lenient.Bool = True
    tosidebar: lenient.Bool = Field(True, description="print to stdout (Node-RED's debug sidebar)")
    console: lenient.Bool = Field(False, description="also write to the log")
    tostatus: lenient.Bool = Field(False, description="show the value as the node status")
    complete: str = Field("false", description="'false'/'payload': msg.payload; 'true': the whole msg; else a property path or JSONata")
    targetType: Literal["msg", "full", "jsonata"] | None = None
    statusVal: str = Field("", description="Node-RED's status property; accepted, the status shows the output")
    statusType: str = Field("auto", description="Node-RED's status type; accepted, the status shows the output")
    format: Literal["text", "json"] = Field("text", description="'json': one JSON object per line (node, msgid, property, value)")


@register("debug")
class Debug(Node):
    """Prints the chosen property (or the whole msg) of every message on stdout."""

    Props = DebugProps
    props: DebugProps

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        complete, target = self.props.complete, self.props.targetType
        self._whole = complete == "true" or target == "full"
        self._jsonata = compile_jsonata(complete) if target == "jsonata" else None
        self._label = "msg" if self._whole else ("payload" if complete in ("false", "", "payload") else complete)
        self._path = None if self._whole or self._jsonata else parse_path(self._label)
        self._tag = self.name or self.id

    def on_input(self, msg: Msg) -> None:
        props = self.props
        if not props.active:
            return
        if self._whole:
            value: Any = msg
        elif self._jsonata is not None:
            value = self._jsonata.evaluate(msg, self)
        else:
            value = get_path(msg, self._path)  # type: ignore[arg-type]
        if props.format == "json":
            line = json_text({"node": self.id, "name": self.name, "msgid": msg.get("_msgid"), "property": self._label, "value": value}, lenient=True)
        else:
            text = value if isinstance(value, str) else json_text(value, lenient=True)
            line = f"[{self._tag}] {self._label}: {text}"
        line = scrub(line)
        if props.tosidebar:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        if props.console:
            log.info("%s", line)
        if props.tostatus:
            self.status(fill="grey", shape="dot", text=line[:64])
