"""`flowwire run | validate | convert | schema | nodes | emulate`.

Exit codes: 0 success (including a clean shutdown after SIGINT/SIGTERM),
2 the flow files are invalid (nothing was started), 1 anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys
import typing
from collections.abc import Callable, Sequence
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from . import _logging, _registry, _watch
from ._engine import Runtime
from ._errors import FlowError, FlowwireError
from ._gc import settle as settle_gc
from ._interrupt import interrupt_running
from ._validation import Graph, check_files

log = logging.getLogger("flowwire")

EXIT_INVALID = 2
COMMAND_GROUP = "flowwire.commands"


def _read_env_file(path: str) -> dict[str, str]:
    """KEY=VALUE lines, `#` comments, optional quotes: the subset every .env tool agrees on.

    A dependency (python-dotenv) would add interpolation rules that differ
    from our own `${VAR}` handling; this keeps one set of rules.
    """
    values: dict[str, str] = {}
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise FlowwireError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _check(files: Sequence[str]) -> Graph:
    try:
        return check_files(files)
    except FlowError as exc:
        print(f"{len(exc.problems)} problem(s) found; nothing was started:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID) from None


def _print_warnings(graph: Graph) -> None:
    for warning in graph.warnings:
        log.warning("%s", warning)


def cmd_validate(args: argparse.Namespace) -> int:
    graph = _check(args.files)
    _print_warnings(graph)
    tabs = len(graph.tabs) or 1
    print(f"ok: {len(graph.nodes)} node(s) on {tabs} tab(s) in {len(graph.files)} file(s)")
    return 0


#: The node error of a body stopped by SIGINT/SIGTERM (it reaches `catch` nodes like any error).
STOP_MESSAGE = "interrupted: shutting down"


def _handle_signals(runtime: Runtime, loop: asyncio.AbstractEventLoop, stopping: asyncio.Event) -> Callable[[], None]:
    """Install SIGINT/SIGTERM handlers; returns the function that puts the previous ones back.

    Python-level handlers (`signal.signal`) rather than `loop.add_signal_handler`,
    whose callbacks run only once the loop regains control: a function body
    stuck in a loop never gives it back. A Python handler runs in the main
    thread between bytecodes (a signal sent to the process reaches the main
    thread first on Linux), so it schedules the graceful stop on the loop and
    raises into the body running inside `interruptible`, if any, which hands
    control back to the loop for the drain.
    """
    signals = 0

    def begin_stop(signum: int) -> None:
        log.info("%s received: stopping sources and draining in-flight messages", signal.Signals(signum).name)
        stopping.set()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal signals
        signals += 1
        if signals > 1:
            _exit_at_once(runtime)
        loop.call_soon_threadsafe(begin_stop, signum)
        interrupt_running(STOP_MESSAGE, frame)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def _exit_at_once(runtime: Runtime) -> NoReturn:
    """The second signal: save what the file context stores hold, then end without draining."""
    log.warning("second signal: exiting without draining")
    try:
        runtime.contexts.flush_sync()
    except Exception:
        log.exception("saving the context stores before exiting failed")
    finally:
        os._exit(130)


async def _run(graph: Graph, watch: bool = False) -> int:
    runtime = Runtime(graph)
    stopping = asyncio.Event()
    restore_signals = _handle_signals(runtime, asyncio.get_running_loop(), stopping)
    try:
        try:
            await runtime.start()
        except FlowError as exc:
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            await runtime.stop()
            return EXIT_INVALID
        settle_gc()
        log.info("flowwire running %d node(s) from %s", len(runtime.nodes), ", ".join(graph.files))
        watcher = asyncio.ensure_future(_watch.watch(runtime)) if watch else None
        await stopping.wait()
        if watcher is not None:
            watcher.cancel()
        await runtime.stop()
        log.info("stopped cleanly")
        return 0
    finally:
        restore_signals()


def cmd_run(args: argparse.Namespace) -> int:
    for env_file in args.env_file or []:
        for key, value in _read_env_file(env_file).items():
            os.environ.setdefault(key, value)
    graph = _check(args.files)
    _print_warnings(graph)
    return asyncio.run(_run(graph, watch=args.watch))


def cmd_schema(args: argparse.Namespace) -> int:
    from ._schema import flow_schema

    print(json.dumps(flow_schema(), indent=2))
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    """flows.json ↔ YAML (see runtime/_convert.py): to a file, to stdout, or one file per tab into a folder."""
    from . import _convert

    source = Path(args.file)
    fmt = args.to or ("json" if source.suffix.lower() in (".yaml", ".yml") else "yaml")
    data = _convert.read(source)
    data = _convert.for_yaml(data) if fmt == "yaml" else _convert.for_json(data)
    if args.strip_layout:
        data = _convert.strip_layout(data)
    try:
        if args.split:
            folder = Path(args.split)
            folder.mkdir(parents=True, exist_ok=True)
            for stem, part in _convert.split(data).items():
                target = folder / f"{stem}.{fmt}"
                target.write_text(_convert.render(part, fmt), encoding="utf-8")
                print(target)
            return 0
        text = _convert.render(data, fmt)
        if args.output in (None, "-"):
            sys.stdout.write(text)
        else:
            Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise FlowwireError(f"cannot write {exc.filename or args.output or args.split}: {exc.strerror or exc}") from None
    return 0


def _type_name(annotation: Any) -> str:
    text = str(annotation) if typing.get_args(annotation) else getattr(annotation, "__name__", str(annotation))
    return re.sub(r"\b(?:[a-z_]\w*\.)+(\w+)", r"\1", text.replace("NoneType", "None"))


def _json_default(value: Any) -> str:
    from pydantic_core import to_jsonable_python

    return json.dumps(to_jsonable_python(value), default=repr)


def _describe_fields(cls: Any) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, info in cls.Props.model_fields.items():
        annotation = _type_name(info.annotation)
        default = "required" if info.is_required() else _json_default(info.get_default(call_default_factory=True))
        rows.append((info.alias or name, annotation, default, info.description or ""))
    return rows


def cmd_nodes(args: argparse.Namespace) -> int:
    _registry.load_builtins()
    if not args.type:
        for name, cls in _registry.all_types().items():
            aliases = _registry.aliases_of(name)
            extra = f" (also {', '.join(aliases)})" if aliases else ""
            print(f"{name:<22} {cls.summary}{extra}")
        return 0
    cls = _registry.lookup(args.type)
    if cls is None:
        close = _registry.suggest(args.type)
        print(f"unknown node type {args.type!r}" + (f"; did you mean {', '.join(close)}?" if close else ""), file=sys.stderr)
        return EXIT_INVALID
    print(f"{cls.type}: {cls.summary}")
    doc = (cls.__doc__ or "").strip().splitlines()[1:]
    if doc:
        print("\n".join(line.strip() for line in doc).strip())
    print("\nproperties:")
    for name, annotation, default, description in _describe_fields(cls):
        print(f"  {name:<20} {annotation:<28} {default:<14} {description}")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    """`flowwire test`: the YAML flow tests beside the flows (docs/testing-flows.md)."""
    from . import _flowtests

    return _flowtests.main(args)


def _plugin_commands() -> dict[str, dict[str, EntryPoint]]:
    """Commands node families add (entry-point group `flowwire.commands`), by first word.

    An entry named `emulate.openai` is `flowwire emulate openai ARGS`; its value
    is a `main(argv) -> int` that parses ARGS itself, so a family's command
    line is its own and the core imports none of it until it is run.
    """
    commands: dict[str, dict[str, EntryPoint]] = {}
    for ep in entry_points(group=COMMAND_GROUP):
        first, _, rest = ep.name.partition(".")
        commands.setdefault(first, {})[rest] = ep
    return commands


def _cmd_plugin(args: argparse.Namespace) -> int:
    ep: EntryPoint = args.entry_point if args.entry_point is not None else args.entry_points[args.name]
    return int(ep.load()(list(args.args)) or 0)


def _add_plugin_commands(sub: Any) -> None:
    for first, entries in sorted(_plugin_commands().items()):
        if set(entries) == {""}:
            parser = sub.add_parser(first, help=f"from {entries[''].value.split('.')[0]}", add_help=False)
            parser.set_defaults(func=_cmd_plugin, entry_point=entries[""], entry_points=entries)
        else:
            names = sorted(n for n in entries if n)
            parser = sub.add_parser(first, help=f"{first} ({', '.join(names)})")
            parser.add_argument("name", choices=names)
            parser.set_defaults(func=_cmd_plugin, entry_point=None, entry_points=entries)
        parser.add_argument("args", nargs=argparse.REMAINDER, help="the command's own arguments (--help lists them)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowwire", description="Run Node-RED style flows in Python.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="validate and run flow files until SIGINT/SIGTERM")
    run.add_argument("files", nargs="+")
    run.add_argument("--env-file", action="append", help="KEY=VALUE file loaded before substitution (repeatable)")
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    run.add_argument("--log-format", default="text", choices=["text", "json"])
    run.add_argument("--watch", action="store_true", help="reload the flow files when they change (a broken edit keeps the running flows)")
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser("validate", help="check flow files; exit 2 listing every problem")
    validate.add_argument("files", nargs="+")
    validate.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    validate.add_argument("--log-format", default="text", choices=["text", "json"])
    validate.set_defaults(func=cmd_validate)

    schema = sub.add_parser("schema", help="print the JSON Schema of flow documents")
    schema.set_defaults(func=cmd_schema)

    nodes = sub.add_parser("nodes", help="list node types, or show one type's properties")
    nodes.add_argument("type", nargs="?")
    nodes.set_defaults(func=cmd_nodes)

    test = sub.add_parser("test", help="run the flow tests (*.test.yaml, tests: in flow files); exit 1 if any fails")
    test.add_argument("paths", nargs="*", default=["flows"], help="test files, flow files with tests:, or folders (default: flows)")
    test.add_argument("-k", dest="keyword", help="run only the cases whose file::name contains this text")
    test.add_argument("-q", "--quiet", action="store_true", help="one character per case instead of one line")
    test.add_argument("--junit-xml", metavar="PATH", help="also write the results as JUnit XML")
    test.add_argument("--log-level", default="error", choices=["debug", "info", "warning", "error"])
    test.set_defaults(func=cmd_test)

    convert = sub.add_parser("convert", help="flows.json to YAML or back, losslessly")
    convert.add_argument("file", help="a .json or .yaml flow file")
    convert.add_argument("-o", "--output", help="where to write (default: stdout)")
    convert.add_argument("--to", choices=["yaml", "json"], help="output format (default: the other one)")
    convert.add_argument("--strip-layout", action="store_true", help="drop the editor-only keys x, y, w, h, l")
    convert.add_argument("--split", metavar="DIR", help="write one file per tab and per subflow (plus _global) into DIR")
    convert.set_defaults(func=cmd_convert)

    _add_plugin_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _logging.configure(getattr(args, "log_level", "info"), getattr(args, "log_format", "text"))
    try:
        return int(args.func(args))
    except FlowwireError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
