"""Garbage-collector settings for a flow process, applied once it has started.

Why: CPython's cyclic collector runs after every 700 net allocations, and
each older-generation pass walks every live object. A started runtime holds
many long-lived objects (modules, nodes, SDK clients and their pydantic
schemas) and allocates many short-lived ones per message, nearly all freed by
reference counting. Freezing what exists after start-up takes it out of
every later pass, and a larger first-generation threshold makes passes
rarer; cyclic garbage is still collected, only in bigger batches. The
process owner (the CLI) applies this: a library embedding `Runtime` keeps
its own settings. Figures: bench/README.md.
"""

from __future__ import annotations

import gc

#: Allocations between first-generation passes (CPython's default is 700).
GEN0_THRESHOLD = 10_000


def settle() -> None:
    """Collect start-up garbage, freeze the survivors, and make young passes rarer."""
    gc.collect()
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, GEN0_THRESHOLD), gen1, gen2)
