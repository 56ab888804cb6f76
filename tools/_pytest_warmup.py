"""A pytest plugin for mutmut's runs only (pyproject.toml, [tool.mutmut] pytest_add_cli_args).

mutmut forks every test run from a server that has collected the tests. Importing the node
families there (the openai SDK alone takes a second or more on a loaded machine) means each
forked run starts with them in memory, instead of its first flow paying for the import and
running into the per-test time limit `tools/mutate.py` sets.
"""

from __future__ import annotations

import pytest


def pytest_collection_finish(session: pytest.Session) -> None:
    from runtime._registry import all_types, load_builtins

    load_builtins()
    all_types()  # every declared node module, not only the tables: the forked runs must not import them
