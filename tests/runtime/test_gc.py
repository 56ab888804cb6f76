"""The collector settings `flowwire run` applies once a flow has started (runtime/_gc.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from runtime._gc import GEN0_THRESHOLD, settle


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """`settle` changes process-wide state: put it back for the rest of the suite."""
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


class _Cycle:
    """Two of these referring to each other are freed only by the cyclic collector."""

    freed = 0

    def __init__(self) -> None:
        self.other: _Cycle | None = None

    def __del__(self) -> None:
        _Cycle.freed += 1


def test_settle_freezes_what_exists_and_makes_young_passes_rarer(restored_gc: None) -> None:
    gen0, gen1, gen2 = gc.get_threshold()
    settle()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (max(gen0, GEN0_THRESHOLD), gen1, gen2)


def test_cyclic_garbage_made_after_settle_is_still_collected_without_an_explicit_collect(restored_gc: None) -> None:
    settle()
    _Cycle.freed = 0
    for _ in range(GEN0_THRESHOLD):  # each pair is two net allocations: enough for several young passes
        a, b = _Cycle(), _Cycle()
        a.other, b.other = b, a
    del a, b
    assert _Cycle.freed > 0
