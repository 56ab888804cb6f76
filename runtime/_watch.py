"""`flowwire run --watch`: reload the flow files when they change, through the same path as an admin deploy.

watchfiles (inotify and friends, polling where there is none) watches the
files' folders rather than the files, because editors save by writing a new
file and renaming it over the old one, which a watch on the old file would
miss. A change is validated like `flowwire validate`; a broken edit is
logged with its located problems and the running flows stay as they are.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import FlowError, FlowwireError
from ._validation import check_files

if TYPE_CHECKING:
    from ._engine import Runtime

log = logging.getLogger("flowwire.watch")


def _watched(files: list[str]) -> set[Path]:
    paths = {Path(f).resolve() for f in files}
    return paths | {p.with_name(f"{p.stem}_cred.json") for p in paths}


async def watch(runtime: Runtime) -> None:
    """Redeploy on every change of the flow files (or their `_cred.json`) until cancelled."""
    from watchfiles import awatch

    files = list(runtime.graph.files)
    watched = _watched(files)
    log.info("watching %s for changes", ", ".join(files))
    async for _changes in awatch(*{p.parent for p in watched}, watch_filter=lambda _change, path: Path(path).resolve() in watched, debounce=200, step=50):
        try:
            graph = check_files(files)
        except FlowError as exc:
            log.error("the flow files changed but have %d problem(s); the running flows stay as they are:", len(exc.problems))
            for problem in exc.problems:
                log.error("  %s", problem)
            continue
        for warning in graph.warnings:
            log.warning("%s", warning)
        try:
            await runtime.deploy(graph)
        except FlowError as exc:
            log.error("the changed flows could not be deployed; the previous flows run: %s", exc)
            continue
        except FlowwireError as exc:
            log.warning("%s", exc)
            return
        log.info("reloaded %d node(s) from %s", len(runtime.nodes), ", ".join(files))
