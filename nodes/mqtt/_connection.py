"""One broker connection, shared by every node that uses the same `mqtt-broker`.

(Over 500 lines on purpose: reconnect, backlog, publish completion, manual
acks and backpressure below are one state machine over one paho client's
state; split across files, each part would need the others' internals.)

The connection owns the paho client (see `_client.py` for how it runs on the
event loop), keeps it connected, and is where the delivery guarantees live:

* **Reconnect** with exponential backoff (initial → maximum delay, ±10 %
  jitter). On every CONNACK: every subscription (static and dynamic) is sent
  again, the birth message is published again, then the outgoing backlog is
  flushed.
* **Outgoing backlog**: publishes made while disconnected (any QoS) wait in a
  bounded queue (`queue_size`). When it is full, `queue_full="drop-oldest"`
  drops the oldest entry (counted, logged once per burst); `"block"` keeps
  every message and holds the flow back instead: a queued message's
  completion stays open until it has been handed to the broker, so sources
  stop at their window. QoS 1/2 publishes in flight at a disconnect are kept
  by paho and sent again (DUP) after the reconnect.
* **Completion of publishes**: QoS 0 is complete when handed to the socket
  layer; QoS 1/2 when the broker acknowledged it (PUBACK / PUBCOMP). That is
  what makes at-least-once end to end possible: an `mqtt in` message is acked
  only when its `mqtt out` publishes have been acknowledged.
* **Incoming acknowledgements** are manual (paho `manual_ack=True`): every
  subscription matching an incoming QoS ≥ 1 message gets an `Ack` and releases
  it when it is done with the message (`mqtt in` in at-least-once mode: when
  the flow finished everything derived from it; otherwise: when the message
  was admitted into the flow). The broker's in-flight window (v5 receive
  maximum, Mosquitto's `max_inflight_messages` for 3.1.1) therefore limits how
  much the broker sends before the flow has caught up. An ack whose connection
  has gone is not sent (the broker redelivers it: a duplicate, never a loss).
* **Clean close**: after the publishes' acks, a PINGREQ round trip proves
  the broker handled every ack we sent before DISCONNECT goes out, so the
  next connection with our client id (a deploy, a restart) cannot take the
  session over ahead of them and get those messages again.
* **Backpressure**: a subscriber whose queue is over its high-water mark
  calls `pause()`: incoming PUBLISHes (any QoS) are parked as raw bytes until
  it `resume()`s, while the acks to our own publishes are still read, so a
  QoS ≥ 1 publish stays unfinished until its PUBACK whether paused or not.
  Past `park_limit` bytes, incoming acks are held back and the socket stops
  being read (TCP holds the broker back) whenever no publish of ours awaits
  an ack; a new QoS ≥ 1 publish starts reading again so its ack cannot be
  stuck behind unread data. Memory stays bounded even with a broker that
  sends past its in-flight window. Only past twice the limit with acks
  awaited (a QoS 0 flood, or a broker ignoring its window: Mosquitto 2.0.11
  sends a whole window per ack) does reading stop anyway: the awaited
  publishes are then completed at hand-over (paho still delivers them; only
  a crash could lose them), logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import ssl
import tempfile
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ._client import PARK_LIMIT, WRITE_HIGH, AsyncioClient
from ._topic import TopicFilter

log = logging.getLogger("flowwire.nodes.mqtt")

#: Callback a deferred publish calls when it is over: None = delivered, a string = why it failed/was dropped.
DoneCallback = Callable[[str | None], None]
#: Seconds a redelivered message may wait for a subscription by default, and how many may wait (see `_park_unrouted`).
UNROUTED_GRACE = 5.0
UNROUTED_LIMIT = 10_000


@dataclass
class TLSSettings:
    """Client TLS: paths or PEM text for the CA, client certificate and key."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    key_password: str | None = None
    verify: bool = True
    alpn: str | None = None

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self.ca:
            if self.ca.lstrip().startswith("-----BEGIN"):
                ctx.load_verify_locations(cadata=self.ca)
            else:
                ctx.load_verify_locations(cafile=self.ca)
        if self.cert:
            with _pem_file(self.cert) as cert, _pem_file(self.key) as key:
                ctx.load_cert_chain(cert, key, self.key_password)
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.alpn:
            ctx.set_alpn_protocols([p.strip() for p in self.alpn.split(",") if p.strip()])
        return ctx


class _pem_file:
    """A path for `load_cert_chain`: the value itself, or a private temp file holding PEM text."""

    def __init__(self, value: str | None) -> None:
        self.value, self.path = value, None

    def __enter__(self) -> str | None:
        if self.value is None or not self.value.lstrip().startswith("-----BEGIN"):
            return self.value
        fd, self.path = tempfile.mkstemp(suffix=".pem")
        with os.fdopen(fd, "w") as f:
            f.write(self.value)
        return self.path

    def __exit__(self, *exc: Any) -> None:
        if self.path:
            os.unlink(self.path)


@dataclass
class Message:
    """A birth, close or will message."""

    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    properties: dict[str, Any] | None = None


@dataclass
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = ""
    #: 3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0
    protocol: int = 4
    keepalive: int = 60
    clean_session: bool = True
    #: v5 session expiry in seconds (None: 0 with clean start, "never" = 0xFFFFFFFF without)
    session_expiry: int | None = None
    username: str | None = None
    password: str | None = None
    tls: TLSSettings | None = None
    birth: Message | None = None
    close: Message | None = None
    will: Message | None = None
    reconnect_initial: float = 1.0
    reconnect_max: float = 30.0
    connect_timeout: float = 10.0
    queue_size: int = 10_000
    queue_full: str = "block"  # or "drop-oldest"
    #: v5 receive maximum we announce (QoS ≥ 1 messages the broker may have unacked with us)
    receive_maximum: int | None = 1000
    #: QoS ≥ 1 publishes paho keeps in flight (the rest waits in paho's queue)
    max_inflight: int = 1000
    #: bytes of incoming PUBLISHes parked while a subscriber is paused before the socket stops being read
    park_limit: int = PARK_LIMIT
    #: seconds a message the persistent session redelivers may wait for a subscription (see `_park_unrouted`)
    redelivery_wait: float = UNROUTED_GRACE
    user_properties: dict[str, str] = field(default_factory=dict)
    transport: str = "tcp"
    #: False: stay disconnected until `connect()` (Node-RED's autoConnect)
    auto_connect: bool = True


class Ack:
    """Acknowledges one incoming QoS ≥ 1 message once every holder released it."""

    __slots__ = ("conn", "count", "gen", "mid", "qos")

    def __init__(self, conn: BrokerConnection, mid: int, qos: int, gen: int, count: int) -> None:
        self.conn, self.mid, self.qos, self.gen, self.count = conn, mid, qos, gen, count

    def release(self) -> None:
        self.count -= 1
        if self.count == 0:
            self.conn.acknowledge(self.mid, self.qos, self.gen)


@dataclass(eq=False)
class Subscription:
    """One user's interest in a topic filter; `deliver(message, ack)` is called per match."""

    topic: str
    qos: int
    deliver: Callable[[mqtt.MQTTMessage, Ack | None], None]
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0
    owner: Any = None
    #: what the user asked for (dynamic getSubscriptions reports it)
    spec: dict[str, Any] = field(default_factory=dict)
    filter: TopicFilter = field(init=False)

    def __post_init__(self) -> None:
        self.filter = TopicFilter(self.topic)


def _props(packet_type: int, values: dict[str, Any] | None) -> Properties | None:
    if not values:
        return None
    props = Properties(packet_type)
    for name, value in values.items():
        if value is None:
            continue
        if name == "UserProperty":
            value = [(str(k), str(v)) for k, v in (value.items() if isinstance(value, dict) else value)]
        setattr(props, name, value)
    return props


class BrokerConnection:
    """A shared, self-healing MQTT connection (see the module docstring)."""

    def __init__(self, settings: BrokerSettings, *, logger: logging.Logger | logging.LoggerAdapter | None = None) -> None:  # type: ignore[type-arg]
        self.settings = settings
        self.log = logger or log
        self.connected = False
        self.state = "disconnected"
        self.state_text = ""
        self.session_present = False
        self.dropped = 0
        self._gen = 0
        self._subs: dict[str, list[Subscription]] = {}
        self._route_cache: dict[str, list[Subscription]] = {}
        #: QoS >= 1 messages of a persistent session that arrived before any subscription wanted them.
        self._unrouted: deque[mqtt.MQTTMessage] = deque()
        self._unrouted_timer: asyncio.TimerHandle | None = None
        #: Redeliveries acknowledged unseen because `UNROUTED_LIMIT` were already waiting; told with the next drop.
        self._unrouted_overflow = 0
        self._backlog: deque[tuple[str, bytes, int, bool, Properties | None, DoneCallback | None]] = deque()
        self._pending: dict[int, DoneCallback] = {}
        self._listeners: list[Callable[[str, str], None]] = []
        self._pausers: set[Any] = set()
        self._closing = False
        self._want_connected = settings.auto_connect
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: AsyncioClient = None  # type: ignore[assignment]
        self._connack: asyncio.Future[ReasonCode] | None = None
        self._lost: asyncio.Event | None = None
        self._wakeup: asyncio.Event | None = None
        self._connected_event: asyncio.Event | None = None
        self._drop_logged = 0
        self._drain_scheduled = False
        #: one future per SUBSCRIBE awaiting its SUBACK (resolved on SUBACK or disconnect)
        self._suback_pending: dict[int, asyncio.Future[None]] = {}
        #: futures of QoS >= 1 publishes someone waits for (close), resolved on their ack or disconnect
        self._ack_waiters: dict[int, asyncio.Future[None]] = {}
        self._write_waiters: list[DoneCallback] = []

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Begin connecting in the background; never raises because the broker is away."""
        self._loop = asyncio.get_running_loop()
        self._lost = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._connected_event = asyncio.Event()
        self._client = self._make_client()
        self._task = self._loop.create_task(self._run(), name=f"mqtt-connection-{self.settings.host}:{self.settings.port}")

    async def close(self, timeout: float = 5.0) -> None:
        """Publish the close message, wait (bounded) for outstanding publishes, disconnect."""
        if self._closing:
            return
        self._closing = True
        client = self._client
        if self.connected:
            close = self.settings.close
            if close is not None and close.topic:
                self._publish_now(close.topic, close.payload, close.qos, close.retain, _props(PacketTypes.PUBLISH, close.properties), None)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            await self._settle(deadline)
            if self.connected:
                await self._confirm_handled(deadline)
            if self.connected:
                # queued after every packet still unsent: paho writes it last, then closes the socket
                client.disconnect()
                assert self._lost is not None
                try:
                    await asyncio.wait_for(self._lost.wait(), max(0.0, deadline - loop.time()))
                except TimeoutError:
                    pass
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if client is not None:
            client.detach()
            client.close_socket()
        self.connected = False
        if self._connected_event is not None:
            self._connected_event.clear()
        for done in list(self._pending.values()):
            done("connection closed")
        self._pending.clear()
        if self._backlog:
            self.log.warning("%d queued publish(es) not sent: the broker connection closed", len(self._backlog))
        for *_, done in self._backlog:
            if done is not None:
                done("connection closed before the message could be sent")
        self._backlog.clear()

    async def _settle(self, deadline: float) -> None:
        """Wait for the acks of every publish handed over, the backlog included, as a clean close loses none.

        Ends early when the connection drops (the futures are resolved then)
        or at `deadline`; what is still unacknowledged is failed by `close`.
        """
        loop = asyncio.get_running_loop()
        while self.connected:
            self._drain()
            if not self._pending:
                return
            waits = [self._ack_waiter(mid) for mid in self._pending]
            left = deadline - loop.time()
            if left <= 0:
                return
            _, not_yet = await asyncio.wait(waits, timeout=left)
            if not_yet:
                return

    async def _confirm_handled(self, deadline: float) -> None:
        """Wait (up to `deadline`) until the broker has handled every ack we sent, before DISCONNECT.

        Closing right after the last acks would let the next connection with
        this client id (the new flows of a deploy, the next run) overtake them
        at the broker: the session is taken over with those messages still
        unacknowledged, and they are delivered again although the flow
        finished them (see `AsyncioClient.handled_so_far`).
        """
        loop = asyncio.get_running_loop()
        try:
            handled = await asyncio.wait_for(self._client.handled_so_far(), max(0.0, deadline - loop.time()))
        except TimeoutError:
            handled = False
        if not handled and self.connected:
            self.log.warning("closing before %s:%s confirmed the last acknowledgements: the broker may deliver those messages again",
                             self.settings.host, self.settings.port)

    def _ack_waiter(self, mid: int) -> asyncio.Future[None]:
        waiter = self._ack_waiters.get(mid)
        if waiter is None:
            assert self._loop is not None
            waiter = self._ack_waiters[mid] = self._loop.create_future()
        return waiter

    @property
    def queued(self) -> int:
        """Publishes waiting to be handed to paho: held while disconnected (up to `queue_size`) or over the in-flight window."""
        return len(self._backlog)

    @property
    def in_flight(self) -> int:
        """QoS >= 1 publishes handed to paho whose acknowledgement has not come back yet."""
        return len(self._pending)

    def acknowledge(self, mid: int, qos: int, gen: int) -> None:
        """Send the ack of incoming message `mid`, unless connection `gen` (see `Ack`) has gone since."""
        if self._gen == gen and self.connected:
            self._client.ack(mid, qos)

    async def wait_connected(self, timeout: float | None = None) -> None:
        assert self._connected_event is not None
        await asyncio.wait_for(self._connected_event.wait(), timeout)

    def connect(self) -> None:
        """Dynamic `connect` action: (re)enable connecting."""
        self._want_connected = True
        if self._wakeup is not None:
            self._wakeup.set()

    def disconnect(self) -> None:
        """Dynamic `disconnect` action: disconnect cleanly and stay disconnected."""
        self._want_connected = False
        if self.connected:
            self._client.disconnect()
        if self._wakeup is not None:
            self._wakeup.set()

    # -- users and status --------------------------------------------------------------

    def add_listener(self, listener: Callable[[str, str], None]) -> None:
        self._listeners.append(listener)
        listener(self.state, self.state_text)

    def remove_listener(self, listener: Callable[[str, str], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _set_state(self, state: str, text: str = "") -> None:
        self.state, self.state_text = state, text
        for listener in list(self._listeners):
            try:
                listener(state, text)
            except Exception:
                self.log.exception("status listener failed")

    # -- the connect loop ----------------------------------------------------------------

    def _make_client(self) -> AsyncioClient:
        s = self.settings
        assert self._loop is not None
        protocol = {3: mqtt.MQTTv31, 4: mqtt.MQTTv311, 5: mqtt.MQTTv5}.get(int(s.protocol), mqtt.MQTTv311)
        client_id = s.client_id or f"flowwire_{uuid.uuid4().hex[:12]}"
        kwargs: dict[str, Any] = {
            "client_id": client_id,
            "protocol": protocol,
            "transport": s.transport,
            "manual_ack": True,
            "reconnect_on_failure": False,
        }
        if protocol != mqtt.MQTTv5:
            kwargs["clean_session"] = s.clean_session
        client = AsyncioClient(self._loop, **kwargs)
        client.connect_timeout = s.connect_timeout
        client.max_inflight_messages_set(max(1, s.max_inflight))
        client.max_queued_messages_set(0)
        if s.username:
            client.username_pw_set(s.username, s.password or None)
        if s.tls is not None:
            client.tls_set_context(s.tls.context())
            if not s.tls.verify:
                client.tls_insecure_set(True)
        if s.will is not None and s.will.topic:
            client.will_set(s.will.topic, s.will.payload, s.will.qos, s.will.retain, _props(PacketTypes.WILLMESSAGE, s.will.properties))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_drained = self._on_drained
        client.park_limit = max(1, s.park_limit)
        client.may_stop_reading = self._no_pending
        client.on_overflow = self._on_overflow
        return client

    def _on_overflow(self) -> None:
        """Reading stopped with acks awaited: completing those publishes now avoids a deadlock."""
        if self._pending:
            self.log.warning(
                "incoming messages over twice parkLimit (%d bytes) while %d publish(es) await acks: "
                "not reading the socket; those publishes count as done now",
                self.settings.park_limit, len(self._pending),
            )
            pending, self._pending = self._pending, {}
            for done in pending.values():
                done(None)
            _resolve_all(self._ack_waiters)

    def _no_pending(self) -> bool:
        return not self._pending

    def _on_drained(self) -> None:
        if self._write_waiters:
            waiters, self._write_waiters = self._write_waiters, []
            for done in waiters:
                done(None)

    def _connect_properties(self) -> Properties | None:
        s = self.settings
        if int(s.protocol) != 5:
            return None
        props = Properties(PacketTypes.CONNECT)
        if s.session_expiry is not None:
            props.SessionExpiryInterval = int(s.session_expiry)
        elif not s.clean_session:
            props.SessionExpiryInterval = 0xFFFFFFFF
        if s.receive_maximum:
            props.ReceiveMaximum = int(s.receive_maximum)
        if s.user_properties:
            props.UserProperty = [(str(k), str(v)) for k, v in s.user_properties.items()]
        return props

    def _blocking_connect(self) -> None:
        s = self.settings
        if int(s.protocol) == 5:
            self._client.connect(s.host, s.port, s.keepalive, clean_start=s.clean_session, properties=self._connect_properties())
        else:
            self._client.connect(s.host, s.port, s.keepalive)

    async def _run(self) -> None:
        s = self.settings
        assert self._wakeup is not None and self._lost is not None
        delay = s.reconnect_initial
        while not self._closing:
            if not self._want_connected:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            ok = False
            try:
                ok = await self._connect_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # refused, DNS, TLS, timeout: all reported, all retried
                self._client.detach()
                self._client.close_socket()
                self._set_state("error", f"cannot connect to {s.host}:{s.port}: {_describe(exc)}")
                self._log_once(f"cannot connect to {s.host}:{s.port}: {_describe(exc)}")
            if ok:
                delay = s.reconnect_initial
                self._last_error = None
                await self._lost.wait()
                if self._closing:
                    return
            if not self._want_connected:
                continue
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), delay * random.uniform(0.9, 1.1))
            except TimeoutError:
                pass
            delay = min(max(delay, 0.01) * 2, s.reconnect_max)

    _last_error: str | None = None

    def _log_once(self, text: str) -> None:
        if text != self._last_error:
            self._last_error = text
            self.log.warning("%s (retrying with backoff up to %ss)", text, self.settings.reconnect_max)

    async def _connect_once(self) -> bool:
        loop = asyncio.get_running_loop()
        assert self._lost is not None
        self._connack = loop.create_future()
        self._lost.clear()
        self._set_state("connecting", "connecting")
        await loop.run_in_executor(None, self._blocking_connect)
        self._client.attach()
        try:
            reason = await asyncio.wait_for(asyncio.shield(self._connack), self.settings.connect_timeout)
        except TimeoutError:
            self._client.detach()
            self._client.close_socket()
            self._set_state("error", "no answer to CONNECT (is this an MQTT broker?)")
            self._log_once(f"{self.settings.host}:{self.settings.port}: no CONNACK within {self.settings.connect_timeout}s")
            return False
        if reason.is_failure:
            text = f"connection refused: {reason.getName()}"
            self._set_state("error", text)
            self._log_once(f"{self.settings.host}:{self.settings.port}: {text}")
            return False
        return True

    # -- paho callbacks (all on the event loop's thread) ------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: ReasonCode, properties: Any) -> None:
        if reason.is_failure:
            if self._connack is not None and not self._connack.done():
                self._connack.set_result(reason)
            return
        self._gen += 1
        self.connected = True
        self.session_present = bool(flags.session_present)
        self._send_subscriptions(self._subs)
        birth = self.settings.birth
        if birth is not None and birth.topic:
            self._publish_now(birth.topic, birth.payload, birth.qos, birth.retain, _props(PacketTypes.PUBLISH, birth.properties), None)
        # after paho has re-sent what was in flight (it does so right after this callback)
        self._schedule_drain()
        assert self._connected_event is not None
        self._connected_event.set()
        self._last_error = None
        self.log.info("connected to %s:%s%s", self.settings.host, self.settings.port, " (session present)" if self.session_present else "")
        self._set_state("connected", "connected")
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(reason)

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: ReasonCode, properties: Any) -> None:
        was_connected = self.connected
        self.connected = False
        self._route_cache.clear()
        # Parked messages are the old connection's: the broker sends them again after the reconnect.
        self._unrouted.clear()
        if self._unrouted_timer is not None:
            self._unrouted_timer.cancel()
            self._unrouted_timer = None
        _resolve_all(self._suback_pending)
        _resolve_all(self._ack_waiters)
        assert self._connected_event is not None and self._lost is not None
        self._connected_event.clear()
        self._client.detach()
        self._lost.set()
        self._on_drained()
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(reason if isinstance(reason, ReasonCode) and reason.is_failure else ReasonCode(PacketTypes.CONNACK, "Unspecified error"))
        if self._closing:
            self._set_state("disconnected", "disconnected")
            return
        if was_connected:
            from_server = getattr(flags, "is_disconnect_packet_from_server", False)
            if from_server and reason is not None and reason.value:
                text = f": {reason.getName()}"
            else:
                text = ": connection lost" if reason is None or reason.value else ""
            self.log.warning("disconnected from %s:%s%s; reconnecting", self.settings.host, self.settings.port, text)
            self._set_state("disconnected", f"disconnected{text}")

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: list[ReasonCode], properties: Any) -> None:
        waiter = self._suback_pending.pop(mid, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        failed = [r for r in reasons if r.is_failure]
        if failed:
            self.log.error("the broker refused %d subscription(s): %s", len(failed), ", ".join(sorted({r.getName() for r in failed})))

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: ReasonCode, properties: Any) -> None:
        done = self._pending.pop(mid, None)
        if done is not None:
            done(f"the broker refused the publish: {reason.getName()}" if reason.is_failure else None)
        if self._ack_waiters:
            waiter = self._ack_waiters.pop(mid, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        if self._backlog and not self._drain_scheduled:
            self._schedule_drain()

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        topic = message.topic
        subs = self._route_cache.get(topic)
        if subs is None:
            subs = self._match(topic)
        qos = message.qos
        if not subs:
            if qos and not self.settings.clean_session and len(self._unrouted) < UNROUTED_LIMIT:
                self._park_unrouted(message)
            elif qos:
                if not self.settings.clean_session:
                    self._unrouted_overflow += 1
                client.ack(message.mid, qos)
            return
        ack = Ack(self, message.mid, qos, self._gen, len(subs)) if qos else None
        for sub in subs:
            try:
                sub.deliver(message, ack)
            except Exception:
                self.log.exception("delivering a message on %r failed", topic)
                if ack is not None:
                    ack.release()

    def _park_unrouted(self, message: mqtt.MQTTMessage) -> None:
        """Keep a message the session redelivered before the flow subscribed (a restart, a deploy).

        On a persistent session the broker resends unacknowledged messages
        right after CONNACK, before the `mqtt in` nodes of a freshly started
        flow have subscribed; acknowledging them then would lose them. They wait
        `redelivery_wait` seconds for a subscription; after that nothing wants
        them (a filter removed from the flow), and they are acknowledged and
        dropped, with a warning, so they cannot fill the broker's window forever.
        """
        self._unrouted.append(message)
        if self._unrouted_timer is None and self._loop is not None:
            self._unrouted_timer = self._loop.call_later(self.settings.redelivery_wait, self._drop_unrouted)

    def _drop_unrouted(self) -> None:
        self._unrouted_timer = None
        parked, self._unrouted = self._unrouted, deque()
        overflow, self._unrouted_overflow = self._unrouted_overflow, 0
        if parked:
            self.log.warning("%d message(s) of the persistent session matched no subscription within %g s; acknowledged and dropped%s",
                             len(parked), self.settings.redelivery_wait,
                             f" (and {overflow} more at once: {UNROUTED_LIMIT} were already waiting)" if overflow else "")
        for message in parked:
            self._client.ack(message.mid, message.qos)

    def _reroute_unrouted(self) -> None:
        parked, self._unrouted = self._unrouted, deque()
        if self._unrouted_overflow:
            self.log.warning("%d message(s) the persistent session resent before the flow subscribed were acknowledged and dropped: %d were already waiting",
                             self._unrouted_overflow, UNROUTED_LIMIT)
            self._unrouted_overflow = 0
        for message in parked:
            self._on_message(self._client, None, message)

    def _match(self, topic: str) -> list[Subscription]:
        subs = [sub for group in self._subs.values() for sub in group if sub.filter.matches(topic)]
        if len(self._route_cache) > 10_000:
            self._route_cache.clear()
        self._route_cache[topic] = subs
        return subs

    # -- subscriptions -------------------------------------------------------------------

    def subscribe(self, sub: Subscription) -> None:
        group = self._subs.setdefault(sub.topic, [])
        group.append(sub)
        self._route_cache.clear()
        if self.connected:
            self._send_subscriptions({sub.topic: group})
        if self._unrouted:
            self._reroute_unrouted()

    def unsubscribe(self, sub: Subscription, *, send: bool = True) -> None:
        """Stop delivering to `sub`; with `send`, UNSUBSCRIBE once no other user wants the filter."""
        group = self._subs.get(sub.topic)
        if not group or sub not in group:
            return
        group.remove(sub)
        self._route_cache.clear()
        if not group:
            del self._subs[sub.topic]
            if send and self.connected:
                self._client.unsubscribe(sub.topic)

    def subscriptions(self) -> list[Subscription]:
        return [sub for group in self._subs.values() for sub in group]

    def _send_subscriptions(self, groups: dict[str, list[Subscription]]) -> None:
        entries: list[tuple[str, Any]] = []
        v5 = int(self.settings.protocol) == 5
        for topic, group in groups.items():
            if not group:
                continue
            qos = max(sub.qos for sub in group)
            if v5:
                first = group[0]
                options = SubscribeOptions(
                    qos=qos,
                    noLocal=first.no_local,
                    retainAsPublished=first.retain_as_published,
                    retainHandling=first.retain_handling,
                )
                entries.append((topic, options))
            else:
                entries.append((topic, qos))
        for start in range(0, len(entries), 100):
            rc, mid = self._client.subscribe(entries[start : start + 100])
            if mid is not None:
                assert self._loop is not None
                self._suback_pending[mid] = self._loop.create_future()

    async def wait_subscribed(self, timeout: float | None = None) -> None:
        """Wait until connected and every SUBSCRIBE sent so far was acknowledged."""
        assert self._connected_event is not None
        try:
            async with asyncio.timeout(timeout):
                # set while connected; a disconnect resolves the futures and the reconnect subscribes anew
                while True:
                    await self._connected_event.wait()
                    if not self._suback_pending:
                        return
                    await asyncio.wait(list(self._suback_pending.values()))
        except TimeoutError:
            raise TimeoutError("subscriptions not acknowledged in time") from None

    # -- flow control ---------------------------------------------------------------------

    def pause(self, who: Any) -> None:
        """`who` cannot take more messages now: park incoming PUBLISHes until it resumes."""
        self._pausers.add(who)
        self._client.pause_delivery()

    def resume(self, who: Any) -> None:
        self._pausers.discard(who)
        if not self._pausers:
            self._client.resume_delivery()

    # -- publishing -----------------------------------------------------------------------

    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 0,
        retain: bool = False,
        properties: Properties | None = None,
        defer: Callable[[], DoneCallback] | None = None,
    ) -> bool:
        """Publish now or queue it. True: done already. False: `defer()`'s callback will be called.

        `defer` is only called when the publish cannot be finished synchronously
        (QoS ≥ 1 waiting for its acknowledgement, or queued while disconnected);
        without it the publish is fire-and-forget.
        """
        if self.connected and not self._backlog:
            client = self._client
            if qos == 0:
                if not client.publish_qos0(topic, payload, retain, properties):
                    self._publish_now(topic, payload, qos, retain, properties, None)
                if defer is not None and client.write_backlog > WRITE_HIGH:
                    # the socket is not keeping up: hold this message until it drains
                    self._write_waiters.append(defer())
                    return False
                return True
            if defer is None:
                self._publish_now(topic, payload, qos, retain, properties, None)
                return True
            self._publish_now(topic, payload, qos, retain, properties, defer())
            return False
        done = defer() if defer is not None else None
        self._backlog.append((topic, payload, qos, retain, properties, done))
        if len(self._backlog) > self.settings.queue_size:
            if self.settings.queue_full == "drop-oldest":
                *_, dropped_done = self._backlog.popleft()
                self.dropped += 1
                if dropped_done is not None:
                    dropped_done("dropped: the outgoing queue is full")
                if self.dropped >= self._drop_logged * 2 or self.dropped - self._drop_logged >= 1000:
                    self._drop_logged = self.dropped
                    self.log.warning(
                        "outgoing queue full (%d) while disconnected: dropped %d oldest message(s) so far",
                        self.settings.queue_size,
                        self.dropped,
                    )
            elif self.state != "queue-full" and not self.connected:
                self._set_state("queue-full", f"queue full ({len(self._backlog)}): holding the flow")
        return False

    def _publish_now(self, topic: str, payload: bytes, qos: int, retain: bool, properties: Properties | None, done: DoneCallback | None) -> None:
        client = self._client
        info = client.publish(topic, payload, qos, retain, properties)
        if qos and done is not None:
            if client.reading_paused and not client.read_for_acks():
                done(None)  # over the hard limit (see `_on_overflow`): done at hand-over
            else:  # its ack must not wait behind unread data: reading goes on
                self._pending[info.mid] = done
        elif done is not None:
            done(None)

    def _schedule_drain(self) -> None:
        if not self._drain_scheduled and self._loop is not None:
            self._drain_scheduled = True
            self._loop.call_soon(self._drain)

    def _drain(self) -> None:
        self._drain_scheduled = False
        backlog = self._backlog
        limit = max(self.settings.max_inflight * 4, 1000)
        while backlog and self.connected and len(self._pending) < limit:
            topic, payload, qos, retain, properties, done = backlog.popleft()
            self._publish_now(topic, payload, qos, retain, properties, done)
        if self.state == "queue-full" and self.connected:
            self._set_state("connected", "connected")


def _resolve_all(waiters: dict[int, asyncio.Future[None]]) -> None:
    for waiter in waiters.values():
        if not waiter.done():
            waiter.set_result(None)
    waiters.clear()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the broker running?)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text
