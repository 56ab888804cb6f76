"""The `redis` context store: context shared by every flowwire process of an application.

Layout, under the store's `prefix` (one per application; default `flowwire`):

    {prefix}:{scope}     a hash per scope (`global`, `flow-<tab>`, `node-<id>`): key -> JSON text
    {prefix}:~scopes     the set of scopes that ever held a key
    {prefix}:~seq        a counter bumped by every write
    {prefix}:~changes    pub/sub channel: [seq, scope, key, JSON text or "" when deleted]

Every write is one Lua script (change, bump `~seq`, publish), so writes are
atomic and published in the order Redis applied them. Each process keeps a
mirror of all scopes, loaded at start together with `~seq` and kept current
from the channel (changes up to the loaded `~seq` are skipped), so the sync
`get`/`keys` of the Node-RED API are answered locally. Sync writes go to
Redis at once (write-through: one blocking round trip) and then into the
mirror; the async forms (`aget`, `aset`, ...) always ask Redis. While the
subscription is down the mirror may be stale, so the store is not `healthy`
and sync reads fail (as node errors) until it has reconnected and reloaded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from ._envsubst import MissingVariable, substitute
from ._errors import ContextStoreError, FlowwireError
from .secrets import redact, scrub

log = logging.getLogger("flowwire.context.redis")

DEFAULT_URL_ENV = "FLOWWIRE_REDIS_URL"
DEFAULT_PREFIX = "flowwire"

_DELETED = ""  # never valid JSON text, so it can mark a deletion in scripts and change messages

# KEYS: hash, ~seq, ~scopes.  ARGV: channel, scope, key, JSON text or "".
_WRITE = """
if ARGV[4] == '' then
  redis.call('HDEL', KEYS[1], ARGV[3])
else
  redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
  redis.call('SADD', KEYS[3], ARGV[2])
end
local seq = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[1], cjson.encode({seq, ARGV[2], ARGV[3], ARGV[4]}))
return seq
"""

# ARGV[4]: the increment. HINCRBYFLOAT refuses a value that is not a number; it prints integers without a fraction.
# Returns {new value, seq}.
_INCR = """
local value = redis.call('HINCRBYFLOAT', KEYS[1], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[2])
local seq = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[1], cjson.encode({seq, ARGV[2], ARGV[3], value}))
return {value, seq}
"""

# ARGV[4]: expected JSON text or "" for absent; ARGV[5]: new JSON text or "" to delete. Values compare as decoded
# JSON. Returns the write's seq, 0 when the value did not match.
_COMPARE_AND_SET = """
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= 'table' then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
local current = redis.call('HGET', KEYS[1], ARGV[3])
local matches
if ARGV[4] == '' then matches = (current == false)
elseif current == false then matches = false
else matches = same(cjson.decode(current), cjson.decode(ARGV[4])) end
if not matches then return 0 end
if ARGV[5] == '' then
  redis.call('HDEL', KEYS[1], ARGV[3])
else
  redis.call('HSET', KEYS[1], ARGV[3], ARGV[5])
  redis.call('SADD', KEYS[3], ARGV[2])
end
local seq = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[1], cjson.encode({seq, ARGV[2], ARGV[3], ARGV[5]}))
return seq
"""

# KEYS: ~seq, ~scopes. ARGV[1]: the hash key prefix. One script, so the snapshot and its seq agree.
_LOAD = """
local out = {tonumber(redis.call('GET', KEYS[1]) or '0')}
for _, scope in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  out[#out + 1] = scope
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. scope)
end
return out
"""


def encode(value: Any) -> str:
    """JSON as Node-RED's stores write it (JSON.stringify's compact form); NaN and infinities are refused."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ContextStoreError(f"context value cannot be stored as JSON: {exc}") from None


def public_url(url: str) -> str:
    """The URL without user or password: what logs and errors may show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class RedisStore:
    """See the module docstring; `spec` is the store's entry in `contextStorage`."""

    def __init__(self, name: str, spec: dict[str, Any], base_dir: Path) -> None:
        self.name = name
        self._base_dir = base_dir
        self._spec = spec = _substituted(name, spec)
        prefix = spec.get("prefix", DEFAULT_PREFIX)
        if not isinstance(prefix, str) or not prefix:
            raise FlowwireError(f"context store {name!r}: prefix must be a non-empty string")
        try:
            self._timeout = float(spec.get("timeout", 2.0))
        except (TypeError, ValueError):
            raise FlowwireError(f"context store {name!r}: timeout must be a number of seconds") from None
        connections = spec.get("maxConnections", 16)
        if isinstance(connections, bool) or not isinstance(connections, int) or connections < 1:
            raise FlowwireError(f"context store {name!r}: maxConnections must be a whole number of at least 1")
        self._connections = connections
        unknown = set(spec) - {"module", "url", "urlEnv", "urlFile", "prefix", "timeout", "maxConnections", "ca", "cert", "key"}
        if unknown:
            raise FlowwireError(f"context store {name!r}: unknown option(s) {', '.join(sorted(unknown))} "
                                "(url, urlEnv, urlFile, prefix, timeout, maxConnections, ca, cert, key)")
        self.prefix = prefix
        self._channel = f"{prefix}:~changes"
        self._seq_key = f"{prefix}:~seq"
        self._scopes_key = f"{prefix}:~scopes"
        self._mirror: dict[str, dict[str, str]] = {}
        self._seq = 0
        #: (scope, key) -> seq of this process's latest write: older published changes must not undo it in the mirror.
        self._own: dict[tuple[str, str], int] = {}
        self._healthy = False
        self._sync: redis.Redis | None = None
        self._async: aredis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._url_shown = ""
        self._loaded = asyncio.Event()

    # -- connection ----------------------------------------------------------------------

    def _url(self) -> str:
        """From `url`, else the file `urlFile`, else the environment variable `urlEnv` (FLOWWIRE_REDIS_URL)."""
        spec, name = self._spec, self.name
        url = spec.get("url")
        if not url and spec.get("urlFile"):
            path = self._path(spec["urlFile"])
            try:
                url = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise FlowwireError(f"context store {name!r}: urlFile {path}: {exc.strerror or exc}") from None
        if not url:
            env = spec.get("urlEnv") or DEFAULT_URL_ENV
            url = os.environ.get(env, "")
            if not url:
                raise FlowwireError(f"context store {name!r}: no Redis URL (set {env}, or urlFile or url in its settings)")
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise FlowwireError(f"context store {name!r}: URL scheme must be redis://, rediss:// or unix://, not {parts.scheme or 'none'!r}")
        redact(parts.password, user=parts.username)
        return str(url)

    def _path(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self._base_dir / path

    def _client_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"socket_timeout": self._timeout, "socket_connect_timeout": self._timeout, "decode_responses": True}
        for option, name in (("ca", "ssl_ca_certs"), ("cert", "ssl_certfile"), ("key", "ssl_keyfile")):
            if self._spec.get(option):
                options[name] = str(self._path(self._spec[option]))
        return options

    async def open(self) -> None:
        url = self._url()
        self._url_shown = public_url(url)
        options = self._client_options()
        # One retry, no backoff, on a broken connection only: a pooled connection left dead by a Redis
        # restart is replaced at once, while a Redis that does not answer costs one `timeout`, not several.
        self._sync = redis.Redis.from_url(url, retry=Retry(NoBackoff(), 1, (redis.ConnectionError,)), **options)
        # A bounded pool that waits for a free connection: many async calls at once queue rather than fail.
        pool = aredis.BlockingConnectionPool.from_url(url, max_connections=self._connections, timeout=self._timeout,
                                                      retry=AsyncRetry(NoBackoff(), 1, (redis.ConnectionError,)), **options)
        self._async = aredis.Redis(connection_pool=pool)
        self._write = self._sync.register_script(_WRITE)
        self._incr = self._sync.register_script(_INCR)
        self._cas = self._sync.register_script(_COMPARE_AND_SET)
        self._awrite = self._async.register_script(_WRITE)
        self._aincr = self._async.register_script(_INCR)
        self._acas = self._async.register_script(_COMPARE_AND_SET)
        self._aload = self._async.register_script(_LOAD)
        self._listener = asyncio.get_running_loop().create_task(self._listen())
        try:
            await asyncio.wait_for(self._loaded.wait(), self._timeout)
        except TimeoutError:
            log.warning("context store %r: Redis at %s not reachable yet; context calls fail until it is", self.name, self._url_shown)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        self._healthy = False
        if self._async is not None:
            await self._async.aclose()
        if self._sync is not None:
            self._sync.close()

    @property
    def healthy(self) -> bool:
        """True while subscribed to changes with the mirror loaded: sync reads are current."""
        return self._healthy

    async def _listen(self) -> None:
        """Follow the change channel; on any failure mark unhealthy, reconnect, reload, resume."""
        assert self._async is not None
        delay = 0.05
        while True:
            pubsub = self._async.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                await self._reload()  # after subscribing, so no change falls between the snapshot and the channel
                self._healthy = True
                self._loaded.set()
                delay = 0.05
                log.info("context store %r: connected to Redis at %s", self.name, self._url_shown)
                await self._follow(pubsub)
            except asyncio.CancelledError:
                await pubsub.aclose()
                raise
            except (redis.RedisError, OSError) as exc:
                if self._healthy:
                    log.warning("context store %r: lost Redis at %s: %s; context calls fail until it is back", self.name, self._url_shown, scrub(str(exc)))
                self._healthy = False
                self._loaded.clear()
            try:
                await pubsub.aclose()
            except (redis.RedisError, OSError):
                pass
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _follow(self, pubsub: Any) -> None:
        """Apply changes as they come. A Redis that hangs, or a network that drops packets, closes
        nothing: after `timeout` seconds without a word a PING must be answered within another `timeout`."""
        loop = asyncio.get_running_loop()
        heard, pinged = loop.time(), False
        while True:
            message = await pubsub.get_message(timeout=self._timeout)
            if message is not None:
                heard, pinged = loop.time(), False
                if message.get("type") == "message":
                    self._apply(message["data"])
            elif loop.time() - heard >= self._timeout:
                if pinged:
                    raise redis.TimeoutError(f"no answer to PING within {self._timeout} s")
                await pubsub.ping()
                heard, pinged = loop.time(), True

    async def _reload(self) -> None:
        reply = await self._aload(keys=[self._seq_key, self._scopes_key], args=[f"{self.prefix}:"])
        mirror: dict[str, dict[str, str]] = {}
        for i in range(1, len(reply), 2):
            flat = reply[i + 1]
            mirror[reply[i]] = dict(zip(flat[::2], flat[1::2], strict=True))
        self._mirror, self._seq = mirror, int(reply[0])
        self._own.clear()

    def _apply(self, data: str) -> None:
        seq, scope, key, text = json.loads(data)
        seq = int(seq)
        if seq <= self._seq:
            return
        self._seq = seq
        own = self._own.get((scope, key))
        if own is not None:
            if seq < own:
                return  # this process wrote the key since: keep its newer value
            del self._own[(scope, key)]
        self._set_mirror(scope, key, text)

    def _set_mirror(self, scope: str, key: str, text: str) -> None:
        if text == _DELETED:
            self._mirror.get(scope, {}).pop(key, None)
        else:
            self._mirror.setdefault(scope, {})[key] = text

    def _wrote(self, scope: str, key: str, seq: int, text: str) -> None:
        if seq <= self._seq:
            # The reply came after the channel had already applied this write and maybe later ones
            # (they travel on different connections): writing it now would move the mirror back.
            return
        self._own[(scope, key)] = seq
        self._set_mirror(scope, key, text)

    # -- calls ---------------------------------------------------------------------------

    def _keys(self, scope: str) -> list[str]:
        return [f"{self.prefix}:{scope}", self._seq_key, self._scopes_key]

    def _failed(self, exc: Exception, key: str | None = None) -> ContextStoreError:
        if isinstance(exc, redis.ResponseError) and "not a float" in str(exc):
            return ContextStoreError(f"context key {key!r} in store {self.name!r} does not hold a number, so it cannot be incremented")
        if isinstance(exc, FlowwireError):
            return ContextStoreError(str(exc))
        return ContextStoreError(f"context store {self.name!r} (Redis at {self._url_shown}) failed: {scrub(str(exc)) or type(exc).__name__}")

    def _ready(self) -> redis.Redis:
        """The blocking client, for a Redis known to answer: while it is not, sync calls fail at once
        rather than block the event loop for a `timeout` each."""
        if self._sync is None:
            raise ContextStoreError(f"context store {self.name!r} is not open")
        self._current()
        return self._sync

    def _current(self) -> None:
        if not self._healthy:
            raise ContextStoreError(f"context store {self.name!r}: not connected to Redis at {self._url_shown}, so its values are not known")

    def get(self, scope: str, key: str) -> Any:
        self._current()
        text = self._mirror.get(scope, {}).get(key)
        return None if text is None else json.loads(text)

    def keys(self, scope: str) -> list[str]:
        self._current()
        return list(self._mirror.get(scope, {}))

    def set(self, scope: str, key: str, value: Any) -> None:
        text = encode(value)
        try:
            seq = self._write(keys=self._keys(scope), args=[self._channel, scope, key, text], client=self._ready())
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc) from None
        self._wrote(scope, key, int(seq), text)

    def delete(self, scope: str, key: str) -> None:
        try:
            seq = self._write(keys=self._keys(scope), args=[self._channel, scope, key, _DELETED], client=self._ready())
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc) from None
        self._wrote(scope, key, int(seq), _DELETED)

    def incr(self, scope: str, key: str, by: float = 1) -> int | float:
        try:
            text, seq = self._incr(keys=self._keys(scope), args=[self._channel, scope, key, _number(by)], client=self._ready())
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc, key) from None
        self._wrote(scope, key, int(seq), text)
        return json.loads(text)  # type: ignore[no-any-return]

    def compare_and_set(self, scope: str, key: str, expected: Any, new: Any) -> bool:
        text = _DELETED if new is None else encode(new)
        args = [self._channel, scope, key, _DELETED if expected is None else encode(expected), text]
        try:
            seq = int(self._cas(keys=self._keys(scope), args=args, client=self._ready()))
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc, key) from None
        if seq:
            self._wrote(scope, key, seq, text)
        return bool(seq)

    def _aready(self) -> aredis.Redis:
        if self._async is None:
            raise ContextStoreError(f"context store {self.name!r} is not open")
        return self._async

    async def aget(self, scope: str, key: str) -> Any:
        try:
            text = await self._aready().hget(f"{self.prefix}:{scope}", key)
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc) from None
        return None if text is None else json.loads(text)

    async def akeys(self, scope: str) -> list[str]:
        try:
            return list(await self._aready().hkeys(f"{self.prefix}:{scope}"))
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc) from None

    async def aset(self, scope: str, key: str, value: Any) -> None:
        text = encode(value)
        try:
            seq = await self._awrite(keys=self._keys(scope), args=[self._channel, scope, key, text], client=self._aready())
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc) from None
        self._wrote(scope, key, int(seq), text)

    async def adelete(self, scope: str, key: str) -> None:
        try:
            seq = await self._awrite(keys=self._keys(scope), args=[self._channel, scope, key, _DELETED], client=self._aready())
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc) from None
        self._wrote(scope, key, int(seq), _DELETED)

    async def aincr(self, scope: str, key: str, by: float = 1) -> int | float:
        try:
            text, seq = await self._aincr(keys=self._keys(scope), args=[self._channel, scope, key, _number(by)], client=self._aready())
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc, key) from None
        self._wrote(scope, key, int(seq), text)
        return json.loads(text)  # type: ignore[no-any-return]

    async def acompare_and_set(self, scope: str, key: str, expected: Any, new: Any) -> bool:
        text = _DELETED if new is None else encode(new)
        args = [self._channel, scope, key, _DELETED if expected is None else encode(expected), text]
        try:
            seq = int(await self._acas(keys=self._keys(scope), args=args, client=self._aready()))
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc, key) from None
        if seq:
            self._wrote(scope, key, seq, text)
        return bool(seq)


def _substituted(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """`${VAR}` in the string options, as in node properties: one flow file, a prefix or URL per deployment."""
    out = dict(spec)
    for option, value in spec.items():
        if isinstance(value, str):
            try:
                out[option] = substitute(value, os.environ)
            except MissingVariable as exc:
                raise FlowwireError(f"context store {name!r}: {option}: environment variable {exc.name} is not set") from None
    return out


def _number(by: Any) -> str:
    if isinstance(by, bool) or not isinstance(by, (int, float)):
        raise ContextStoreError(f"increment must be a number, not {by!r}")
    return repr(by)
