"""Object ids that look like OpenAI's (`run_` + 24 alphanumerics), reproducible per server.

A seeded generator keeps test logs stable between runs while still giving
ids of the real length, so code that slices or validates ids behaves alike.
"""

from __future__ import annotations

import random
import string

_ALPHABET = string.ascii_letters + string.digits


class IdFactory:
    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)

    def new(self, prefix: str) -> str:
        return prefix + "_" + "".join(self._rng.choices(_ALPHABET, k=24))
