"""Fixtures: a live emulator on a free port and the real SDK client pointed at it (no mocks)."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from _oai_common import KEY, WEATHER_TOOL
from nodes.openai.emulator import RunningEmulator, _spec, serve



@pytest.fixture(autouse=True)
def _quiet_sdk_deprecations() -> Any:
    """The SDK marks the Assistants API deprecated on every call; tests exercise it on purpose."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(openai|tests|nodes)\b.*")
        warnings.filterwarnings("ignore", message=r"(The Assistants API is deprecated|deprecated$|The Sora API)")
        yield


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    # The emulator reads OpenAI's OpenAPI document on the first request that needs it: 1-2 s
    # alone, over 10 s at load average 16, which landed inside whichever test's 10 s wait came
    # first in a worker (createSpeech's, once). Read once per worker here, outside any test's wait.
    _spec.operations()
    async with serve(api_key=KEY, demo=True) as running:
        yield running


@pytest.fixture
async def client(emu: RunningEmulator) -> AsyncIterator[openai.AsyncOpenAI]:
    c = openai.AsyncOpenAI(api_key=KEY, base_url=emu.base_url, max_retries=0)
    yield c
    await c.close()


@pytest.fixture
async def assistant(client: openai.AsyncOpenAI) -> Any:
    return await client.beta.assistants.create(model="gpt-4o", name="weather", tools=[WEATHER_TOOL])
