"""Mutation testing of a few modules at a time: a tool for finding untested behaviour, not a gate.

    python tools/mutate.py runtime/_routing.py [nodes/core/switch.py ...] [--jobs 2] [--test-timeout 10]

Runs mutmut 3 on the named modules with only the tests that matter for them (`TESTS` below),
prints killed / survived / timeout counts per module and the diff of every surviving mutant,
and exits 0 whatever it finds. See docs/mutation-testing.md for how to read the output.

Why mutmut, driven from here rather than `mutmut run`: mutmut copies the project into
`mutants/`, puts that copy first on sys.path and runs pytest in-process, so the mutated
`runtime`/`nodes` are what the tests and the entry-point-registered node families import
(the entry points name modules, which resolve through sys.path). Subprocess tests
(`python -m runtime.cli`) would not report which functions they ran, so the map below
selects in-process tests only. mutmut reads its settings from pyproject.toml alone, and
which modules to mutate and which tests to run differ per call; this script sets those
two on mutmut's configuration object and invokes its `run` command.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Module -> the fast, in-process tests that exercise it. mutmut then runs, for each mutant,
#: only those of these tests that called the mutated function.
TESTS: dict[str, list[str]] = {
    "runtime/_routing.py": [
        "tests/runtime/test_routing.py",
        "tests/runtime/test_events.py",
        "tests/nodes/core/test_link.py",
    ],
    "runtime/_events.py": [
        "tests/runtime/test_events.py",
        "tests/runtime/test_subflows.py",
        "tests/runtime/test_routing.py",
        "tests/nodes/core/test_link.py",
    ],
    "runtime/properties.py": [
        "tests/runtime/test_properties.py",
        "tests/nodes/core/test_change.py",
        "tests/nodes/core/test_switch.py",
        "tests/nodes/core/test_inject.py",
        "tests/nodes/core/test_template.py",
    ],
    "nodes/core/switch.py": ["tests/nodes/core/test_switch.py", "tests/nodes/core/test_sequence.py"],
    "nodes/core/delay.py": ["tests/nodes/core/test_delay.py"],
    "nodes/core/trigger.py": ["tests/nodes/core/test_trigger.py"],
    # test_backpressure.py (3,000 messages through a slow flow, ~5 s a run) is what checks the
    # queue's pause and resume marks. Not the TLS tests: they make certificates and add nothing here.
    "nodes/mqtt/mqtt_in.py": [
        "tests/nodes/mqtt/test_mqtt_in.py",
        "tests/nodes/mqtt/test_backpressure.py",
        "tests/nodes/mqtt/test_roundtrip.py",
        # A stopped flow leaves its subscriptions at the broker, so the persistent session keeps collecting.
        "tests/nodes/mqtt/test_redelivery.py",
        *(f"tests/nodes/mqtt/test_connection.py::{name}" for name in (
            "test_broker_absent_at_start_then_appears",
            "test_wrong_password_gives_a_clear_status_and_no_crash",
            "test_mqtt5_properties_both_ways",
            "test_shared_subscription_splits_the_load",
            "test_dynamic_subscriptions_survive_a_broker_restart",
            "test_auto_connect_false_stays_disconnected_until_the_connect_action",
        )),
    ],
}

#: Seconds one test may take before it counts as a kill, where the default does not suit. A
#: mutant that loses a message makes a test wait out a 5 s `received`/`wait_until` and then
#: the runtime's 30 s drain; the limit ends that wait. MQTT tests start a broker each.
TEST_TIMEOUT = 4.0
TEST_TIMEOUTS: dict[str, float] = {"nodes/mqtt/mqtt_in.py": 15.0}

#: mutmut's outcome names, in the order they are reported.
_ORDER = ("killed", "survived", "timeout", "no tests", "suspicious", "segfault", "not checked")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python tools/mutate.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="source files, e.g. runtime/_routing.py (see --list)")
    parser.add_argument("--list", action="store_true", help="show the module -> tests map and exit")
    parser.add_argument("--debug", action="store_true", help="mutmut's debug output: the pytest runs' own output")
    parser.add_argument("--report", action="store_true", help="report the last run's results in mutants/ again, without running")
    parser.add_argument("--tests", nargs="+", metavar="PATH", help="test paths for a module that is not in the map")
    parser.add_argument("--jobs", type=int, default=4,
                        help="mutants tested at once (default 4: a worker mostly waits on the event loop's timers)")
    parser.add_argument("--test-timeout", type=float,
                        help=f"seconds one test may take before it counts as a kill (default {TEST_TIMEOUT:g}, or per module)")
    args = parser.parse_args(argv)
    if not args.list and not args.modules:
        parser.error("name at least one module (or --list)")
    unknown = [m for m in args.modules if m not in TESTS]
    if unknown and not args.tests and not args.report:
        parser.error(f"no tests mapped for {', '.join(unknown)}: add them to TESTS or pass --tests")
    return args


def _configure(modules: list[str], tests: list[str], test_timeout: float, debug: bool) -> None:
    """Narrow the pyproject.toml settings to this call: these modules, these tests, a per-test limit."""
    from mutmut.configuration import config

    cfg = config()
    cfg.only_mutate = list(modules)
    cfg.pytest_add_cli_args_test_selection = list(tests)
    cfg.pytest_add_cli_args = [*cfg.pytest_add_cli_args, f"--timeout={test_timeout:g}", "-n", "0"]
    cfg.debug = cfg.debug or debug


def _run_mutmut(jobs: int) -> None:
    from mutmut.__main__ import cli

    try:
        cli.main(["run", "--max-children", str(jobs)], prog_name="mutmut", standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            print(f"\nmutmut stopped early (exit {exc.code}); see its output above.")


def _report(modules: list[str]) -> None:
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    summary: list[str] = []
    for module in modules:
        data = SourceFileMutationData(path=Path(module))
        data.load()
        status = {name: status_by_exit_code[code] for name, code in data.exit_code_by_key.items()}
        counts = Counter(status.values())
        survivors = sorted(name for name, s in status.items() if s == "survived")
        print(f"\n=== {module}: {len(survivors)} surviving mutant(s)")
        for name in survivors:
            diff = get_diff_for_mutant(name, path=module).splitlines()[2:]
            print(f"\n--- {name}")
            print("\n".join(diff))
        total = len(status)
        rate = f"{100 * counts['survived'] / total:.1f}%" if total else "-"
        parts = ", ".join(f"{counts[s]} {s}" for s in _ORDER if counts[s])
        summary.append(f"{module}: {total} mutants: {parts} (survived {rate})")
    print("\n=== summary")
    print("\n".join(summary))


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.list:
        for module, tests in TESTS.items():
            print(f"{module}\n    " + "\n    ".join(tests))
        return 0
    if args.report:
        os.chdir(ROOT)
        _report(args.modules)
        return 0
    tests = list(args.tests or dict.fromkeys(t for m in args.modules for t in TESTS[m]))
    missing = [t for t in tests if not (ROOT / t.partition("::")[0]).exists()]
    if missing:
        print(f"not found, skipped: {', '.join(missing)}")
    tests = [t for t in tests if t not in missing]
    os.chdir(ROOT)
    # mutmut reuses mutants/ when a file there is newer than its source. A module mutated by an
    # earlier call and copied plain by a later one looks up to date but has no mutants in it,
    # so every call starts from a fresh copy.
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    timeout = args.test_timeout or max(TEST_TIMEOUTS.get(m, TEST_TIMEOUT) for m in args.modules)
    _configure(args.modules, tests, timeout, args.debug)
    _run_mutmut(args.jobs)
    _report(args.modules)
    return 0


if __name__ == "__main__":
    sys.exit(main())
