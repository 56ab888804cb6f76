"""paho-mqtt 2.x driven by the asyncio event loop, without a thread.

(Over 500 lines on purpose: it is the only module allowed to touch paho's
private API, so every override of it, and the version check that guards
them, stays here where one reader can see them all.)

Why not paho's `loop_start()` thread + `call_soon_threadsafe` (pyflowred's
pattern)? Measured with `python bench/mqtt/run.py --transports` (50,000 QoS 0
JSON messages relayed, C load generators, same run): paho's thread feeding an
asyncio loop relayed 4,247 msg/s, a plain `loop_forever` relay 9,311 and a
relay on this class 10,916 (the full flowwire node path: 12,558). Every
message crossing threads pays a wake-up and the two threads contend for the
GIL; on one thread a message is parsed, routed and its publish queued within
the same loop turn, so there is no extra hop of latency either.

How it works (the aiomqtt pattern, plus changes that lift paho's own
per-message cost while keeping its protocol code):

* paho's socket callbacks drive `loop.add_reader` and a write flush scheduled
  with `call_soon`; a small task calls `loop_misc()` once a second (pings).
* **Buffered reads**: one large `recv` per readiness event, then every complete
  packet in the buffer is handled (`_packet_read` is overridden; paho's reads
  the fixed header one byte at a time: three or more system calls a message,
  and its `loop_read` handles one packet per event).
* **Coalesced writes**: queued packets are joined, one `send` per 64 KiB
  (`_packet_write` overridden; paho sends each packet separately).
* **No per-message lock objects** on QoS 0/1: paho builds an `MQTTMessageInfo`
  with a `threading.Condition` for every message in and out. Incoming QoS 0/1
  PUBLISHes become a slotted `IncomingMessage`; QoS 0 publishes go through
  `publish_qos0`. QoS 2 and QoS ≥ 1 publishes keep paho's own path.
* **Pausing delivery, not the socket**: while a subscriber cannot take more
  (`pause_delivery`), the socket is still read so that the broker's acks to
  our own publishes (PUBACK/PUBREC/PUBCOMP) keep completing the flow; incoming
  PUBLISH packets are parked as raw bytes (about 100 B each instead of a
  ~2 KB message object) and handled, in order, on `resume_delivery`. Past
  `park_limit` parked bytes, acks of incoming messages are held back too
  (brokers do not all respect their in-flight window: Mosquitto 2.0.11 sends
  about 20 more messages per ack, so acks are what drives it), and reading
  stops (TCP then holds the broker back) as soon as none of our publishes
  waits for an ack (`may_stop_reading`): that ack could sit behind the unread
  data. Past twice the limit reading stops regardless and `on_overflow` is
  called (the connection then completes its publishes at hand-over): a hard
  bound for a flood that acks do not hold back (QoS 0, or a broker sending
  past its window) while our QoS ≥ 1 publishes await acks. The limit is
  checked before each packet is parsed, not per read: a read made while
  delivery flowed can hold far more than the limit once the subscriber
  pauses in its middle, and its rest waits unparsed until reading resumes.

This leans on private paho methods and state (`_packet_read`,
`_packet_write`, `_handle_publish`, `_in_packet`, `_out_packet`, `_sock`, ...)
whose behaviour the test-suite pins for the paho releases in `PAHO_SUPPORTED`;
importing this module with another release fails with `UnsupportedPahoVersion`
rather than misbehaving on the wire (2.1 already keeps its keepalive clock in
another attribute). Only this module touches paho's private names: the rest of
the package goes through the methods below (`socket()`, `close_socket()`,
`write_backlog`, ...), which a test enforces.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import paho.mqtt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import MalformedPacket, Properties

#: paho-mqtt releases the overrides were tested with: from the first (inclusive) to the second (exclusive).
PAHO_SUPPORTED = ((2, 2), (2, 3))


class UnsupportedPahoVersion(ImportError):
    """The installed paho-mqtt is outside `PAHO_SUPPORTED`: its private API may differ from what is overridden."""


def check_paho_version(version: str) -> None:
    """Raise `UnsupportedPahoVersion` unless `version` (paho's `__version__`) is in `PAHO_SUPPORTED`."""
    low, high = PAHO_SUPPORTED
    wanted = f">={low[0]}.{low[1]},<{high[0]}.{high[1]}"
    found = re.match(r"(\d+)\.(\d+)", version)
    if found is None or not low <= (int(found[1]), int(found[2])) < high:
        raise UnsupportedPahoVersion(
            f"the MQTT nodes need paho-mqtt {wanted} (nodes/mqtt/_client.py overrides private paho code "
            f"tested with those releases only); found paho-mqtt {version!r}: pip install 'paho-mqtt{wanted}'"
        )


check_paho_version(paho.mqtt.__version__)

_READ_SIZE = 256 * 1024
#: Upper bound of bytes read from the socket per readiness event (fairness).
_READ_BUDGET = 1024 * 1024
#: Below this many queued packets, writers held back by a full socket may go on.
WRITE_LOW = 1000
#: Above this many, QoS 0 publishers are held back until the socket drains.
WRITE_HIGH = 4000
_PUBLISH = 0x30
#: Bytes counted per parked packet beyond its length (the bytes object and its deque slot).
_PARK_OVERHEAD = 48
#: Default bound of parked PUBLISH bytes before the socket stops being read.
PARK_LIMIT = 4 * 1024 * 1024
#: Smallest read while delivery is paused (near the limit, reads shrink to this).
_PARKED_READ_MIN = 16 * 1024
_DISCONNECT = 0xE0
_AGAIN = MQTTErrorCode.MQTT_ERR_AGAIN
_CONN_LOST = MQTTErrorCode.MQTT_ERR_CONN_LOST


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 127, value >> 7
        out.append(byte | 128 if value else byte)
        if not value:
            return bytes(out)


class IncomingMessage:
    """What `on_message` gets for QoS 0/1 (QoS 2 gets paho's MQTTMessage): same attribute names."""

    __slots__ = ("_topic", "dup", "mid", "payload", "properties", "qos", "retain", "timestamp")

    def __init__(self, mid: int, topic: bytes, payload: bytes, qos: int, retain: bool, dup: bool, properties: Properties | None) -> None:
        self.mid, self._topic, self.payload, self.qos = mid, topic, payload, qos
        self.retain, self.dup, self.properties = retain, dup, properties
        self.timestamp = 0.0

    @property
    def topic(self) -> str:
        return self._topic.decode("utf-8", errors="replace")


class AsyncioClient(mqtt.Client):
    """A paho `Client` whose network I/O runs as callbacks of an asyncio loop.

    All public paho methods (`publish`, `subscribe`, `ack`, ...) must be
    called on the loop's thread. `connect()` blocks (DNS, TCP, TLS handshake)
    and is meant to run in an executor; `attach()` is then called on the loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, **kwargs: Any) -> None:
        super().__init__(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
        self._aio_loop = loop
        self._aio_thread = threading.get_ident()
        self._rbuf = b""
        self._rpos = 0
        self._reof = False
        self._rerr: OSError | None = None
        self._reading = False
        self._read_paused = False
        self._delivery_paused = False
        self._parked: deque[bytes] = deque()
        self._parked_bytes = 0
        self._deliver_scheduled = False
        self._held_acks: list[tuple[int, int]] = []
        self._parked_peak = 0
        #: PINGREQs sent and PINGRESPs received on this socket (a PINGRESP answers the oldest PINGREQ).
        self._pings_sent = 0
        self._pings_answered = 0
        #: `handled_so_far` futures with the PINGREQ count that answers them.
        self._ping_waiters: deque[tuple[int, asyncio.Future[bool]]] = deque()
        #: Called when parking passed twice `park_limit` with acks awaited and reading stopped anyway.
        self.on_overflow: Callable[[], None] | None = None
        #: Parked PUBLISH bytes (plus per-packet overhead) above which the socket is not read.
        self.park_limit = PARK_LIMIT
        #: Whether reading may stop now (False while acks to our publishes are awaited).
        self.may_stop_reading: Callable[[], bool] | None = None
        self._flush_scheduled = False
        self._writer_fd: int | None = None
        self._attached: Any = None
        self._misc_task: asyncio.Task[None] | None = None
        #: Called after each batch of incoming packets was parsed (the dispatcher flushes there).
        self.on_batch: Callable[[], None] | None = None
        #: Called after a write when few packets are left queued (write-side backpressure).
        self.on_drained: Callable[[], None] | None = None
        self.on_socket_close = self._aio_socket_close
        self.on_socket_register_write = self._aio_register_write
        self.on_socket_unregister_write = self._aio_unregister_write

    # -- attaching a freshly connected socket ------------------------------------------

    def attach(self) -> None:
        """Start reading the socket opened by `connect()` (call on the loop thread)."""
        sock = self._sock
        if sock is None:
            return
        self._rbuf, self._rpos, self._reof, self._rerr = b"", 0, False, None
        # Parked packets belong to the previous connection, like its unread bytes:
        # the broker redelivers unacknowledged QoS >= 1 messages of a persistent session.
        self._parked.clear()
        self._parked_bytes = 0
        self._held_acks.clear()
        self._read_paused = False
        self._pings_sent = self._pings_answered = 0
        self._attached = sock
        if not self._read_paused:
            self._aio_loop.add_reader(sock, self._on_readable)
            self._reading = True
        if self._misc_task is None or self._misc_task.done():
            self._misc_task = self._aio_loop.create_task(self._misc_loop())
        self._schedule_flush()

    def detach(self) -> None:
        task, self._misc_task = self._misc_task, None
        if task is not None:
            task.cancel()

    def socket(self) -> Any:
        """The open socket (TCP, TLS or WebSocket wrapper), or None while there is none."""
        return self._sock

    def close_socket(self) -> None:
        """Drop the connection at once, without DISCONNECT (a failed or abandoned attempt, or a close past its deadline)."""
        self._sock_close()

    async def _misc_loop(self) -> None:
        while self._sock is not None:
            await asyncio.sleep(1.0)
            if self._sock is not None:
                self.loop_misc()

    # -- flow control ------------------------------------------------------------------

    def pause_delivery(self) -> None:
        """Stop handing incoming PUBLISHes to `on_message`: they are parked (see the module docstring)."""
        self._delivery_paused = True

    def resume_delivery(self) -> None:
        if not self._delivery_paused:
            return
        self._delivery_paused = False
        self._schedule_deliver()

    @property
    def delivery_paused(self) -> bool:
        return self._delivery_paused

    @property
    def reading_paused(self) -> bool:
        """True while the socket is not read because too many bytes are parked."""
        return self._read_paused

    @property
    def parked(self) -> int:
        """Incoming PUBLISH packets parked while delivery is paused."""
        return len(self._parked)

    @property
    def parked_bytes(self) -> int:
        """Their size, counted with `_PARK_OVERHEAD` per packet."""
        return self._parked_bytes

    @property
    def parked_peak_bytes(self) -> int:
        """The most `parked_bytes` has been since this client was made."""
        return self._parked_peak

    def ack(self, mid: int, qos: int) -> MQTTErrorCode:
        """Acknowledge an incoming message; held back while parking is over the limit."""
        if self._parked_bytes > self.park_limit:
            self._held_acks.append((mid, qos))
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super().ack(mid, qos)

    def handled_so_far(self) -> asyncio.Future[bool]:
        """Resolves True once the broker has handled every packet written before this call.

        A broker handles the packets of one connection in order, but nothing
        orders them against another connection's: Mosquitto reads one packet
        per socket per turn of its loop, so a new connection with the same
        client id can take the session over while the old one's last acks are
        still unread; they are lost and the broker redelivers those messages.
        A PINGREQ queued behind the acks is answered only after them, so its
        PINGRESP proves they arrived. False: the connection went first.
        """
        future = self._aio_loop.create_future()
        if self._sock is None or self._send_pingreq() != MQTTErrorCode.MQTT_ERR_SUCCESS:
            future.set_result(False)
            return future
        self.read_for_acks()  # the answer must not wait behind unread parked data
        self._ping_waiters.append((self._pings_sent, future))
        return future

    def _send_pingreq(self) -> MQTTErrorCode:
        """Counted, keep-alive pings too: a PINGRESP answers the oldest PINGREQ, not necessarily ours."""
        rc = super()._send_pingreq()
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._pings_sent += 1
        return rc

    def _handle_pingresp(self) -> MQTTErrorCode:
        rc = super()._handle_pingresp()
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._pings_answered += 1
            waiters = self._ping_waiters
            while waiters and waiters[0][0] <= self._pings_answered:
                _, future = waiters.popleft()
                if not future.done():
                    future.set_result(True)
        return rc

    def read_for_acks(self) -> bool:
        """Read again although parking is over the limit, as an ack is awaited; False past twice the limit."""
        if self._parked_bytes > 2 * self.park_limit:
            return False
        if self._read_paused:
            self._start_reading()
        return True

    def _stop_reading(self) -> None:
        self._read_paused = True
        if self._reading and self._attached is not None:
            self._aio_loop.remove_reader(self._attached)
            self._reading = False

    def _start_reading(self) -> None:
        self._read_paused = False
        sock = self._sock
        if sock is not None and sock is self._attached and not self._reading:
            self._aio_loop.add_reader(sock, self._on_readable)
            self._reading = True
        if self._rpos < len(self._rbuf) or self._reof:
            self._aio_loop.call_soon(self._parse)

    def _schedule_deliver(self) -> None:
        if not self._deliver_scheduled:
            self._deliver_scheduled = True
            self._aio_loop.call_soon(self._deliver_parked)

    def _deliver_parked(self) -> None:
        """Handle parked PUBLISHes in arrival order until a subscriber pauses again."""
        self._deliver_scheduled = False
        parked = self._parked
        while parked and not self._delivery_paused and self._sock is not None:
            packet = parked.popleft()
            self._parked_bytes -= len(packet) + _PARK_OVERHEAD
            i = 1
            while packet[i] & 128:
                i += 1
            rc = self._handle_packet(packet[0], packet[i + 1 :])
            if rc > 0:
                self._loop_rc_handle(rc)
                break
        if self._parked_bytes <= self.park_limit // 2:
            if self._held_acks:
                held, self._held_acks = self._held_acks, []
                for mid, qos in held:
                    super().ack(mid, qos)
            if self._read_paused:
                self._start_reading()
        on_batch = self.on_batch
        if on_batch is not None:
            on_batch()

    # -- reading -----------------------------------------------------------------------

    def _on_readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        chunks = []
        total = 0
        budget = _READ_BUDGET
        if self._delivery_paused or self._parked:  # what is read now gets parked: stay near the limit
            budget = min(budget, max(_PARKED_READ_MIN, self.park_limit - self._parked_bytes))
        while total < budget:
            want = min(_READ_SIZE, budget - total)
            try:
                data = sock.recv(want)
            except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
                break
            except ssl.SSLWantWriteError:
                self._call_socket_register_write()
                break
            except OSError as exc:
                self._rerr = exc
                break
            if not data:
                self._reof = True
                break
            chunks.append(data)
            total += len(data)
            if len(data) < want and not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                break
        if chunks:
            rest = self._rbuf[self._rpos :] if self._rpos < len(self._rbuf) else b""
            self._rbuf = rest + b"".join(chunks) if rest else (chunks[0] if len(chunks) == 1 else b"".join(chunks))
            self._rpos = 0
        self._parse()

    def _parse(self) -> None:
        """Handle every complete packet in the buffer (no system calls per packet).

        The parking limit is checked before each packet, not after the buffer:
        a read made while delivery flowed is up to `_READ_BUDGET` and the
        subscriber may pause at its first message. What is left when reading
        stops stays in the buffer, as if unread, until `_start_reading`.
        """
        read = self._packet_read
        limit = self.park_limit
        while self._sock is not None:
            if self._rpos >= len(self._rbuf) and not (self._reof or self._rerr):
                break
            if self._parked_bytes > limit and self._stop_reading_over_limit():
                break
            rc = read()
            if rc == _AGAIN:
                break
            if rc > 0:
                self._loop_rc_handle(rc)
                break
        if self._parked:
            if not self._delivery_paused:
                self._schedule_deliver()
            if self._parked_bytes > limit:
                self._stop_reading_over_limit()
        on_batch = self.on_batch
        if on_batch is not None:
            on_batch()

    def _stop_reading_over_limit(self) -> bool:
        """Parking is past `park_limit`: stop reading unless an ack is awaited, past twice the limit anyway. True: stopped."""
        if self._read_paused:
            return True
        may_stop = self.may_stop_reading
        if may_stop is None or may_stop():
            self._stop_reading()
            return True
        if self._parked_bytes > 2 * self.park_limit:
            self._stop_reading()
            if self.on_overflow is not None:
                self.on_overflow()
            return True
        return False

    def _packet_read(self) -> MQTTErrorCode:
        """Take one whole packet from the read buffer and handle it (paho's reads a byte at a time)."""
        buf, pos = self._rbuf, self._rpos
        end = len(buf)
        i = pos + 1
        length = 0
        shift = 0
        while True:
            if i >= end:
                return self._incomplete()
            byte = buf[i]
            length |= (byte & 127) << shift
            i += 1
            if not byte & 128:
                break
            shift += 7
            if shift > 21:
                return MQTTErrorCode.MQTT_ERR_PROTOCOL
        if end - i < length:
            return self._incomplete()
        self._rpos = i + length
        self._last_bytes_received = time.monotonic()
        command = buf[pos]
        if command & 0xF0 == _PUBLISH and (self._delivery_paused or self._parked):
            packet = buf[pos : i + length]
            self._parked.append(packet)
            parked = self._parked_bytes = self._parked_bytes + len(packet) + _PARK_OVERHEAD
            if parked > self._parked_peak:
                self._parked_peak = parked
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return self._handle_packet(command, buf[i : i + length])

    def _handle_packet(self, command: int, body: bytes) -> MQTTErrorCode:
        self._in_packet = {
            "command": command,
            "have_remaining": 1,
            "remaining_count": [],
            "remaining_mult": 1,
            "remaining_length": len(body),
            "packet": body,
            "to_process": 0,
            "pos": 0,
        }
        try:
            return self._packet_handle()
        except MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            return MQTTErrorCode.MQTT_ERR_PROTOCOL

    def _incomplete(self) -> MQTTErrorCode:
        if self._rerr is not None or self._reof:
            return _CONN_LOST
        return _AGAIN

    def _handle_publish(self) -> MQTTErrorCode:
        """QoS 0/1 PUBLISH without paho's per-message objects (a lock-carrying MQTTMessageInfo each)."""
        command = self._in_packet["command"]
        qos = (command & 0x06) >> 1
        on_message = self._on_message
        if qos == 2 or on_message is None or self._on_message_filtered:
            return super()._handle_publish()
        packet = self._in_packet["packet"]
        if len(packet) < 2:
            raise MalformedPacket("PUBLISH too short")
        tlen = (packet[0] << 8) | packet[1]
        pos = 2 + tlen
        topic = packet[2:pos]
        mid = 0
        if qos:
            mid = (packet[pos] << 8) | packet[pos + 1]
            pos += 2
        properties = None
        if self._protocol == mqtt.MQTTv5:
            properties = Properties(PacketTypes.PUBLISH)
            _, used = properties.unpack(packet[pos:])
            pos += used
        elif not topic:
            raise MalformedPacket("topic can't be empty in MQTTv3")
        message = IncomingMessage(mid, topic, packet[pos:], qos, bool(command & 0x01), bool(command & 0x08), properties)
        on_message(self, self._userdata, message)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _sock_recv(self, bufsize: int) -> bytes:
        buf, pos = self._rbuf, self._rpos
        avail = len(buf) - pos
        if avail <= 0:
            if self._rerr is not None:
                raise self._rerr
            if self._reof:
                return b""
            raise BlockingIOError
        if bufsize >= avail:
            self._rbuf, self._rpos = b"", 0
            return buf[pos:] if pos else buf
        self._rpos = pos + bufsize
        return buf[pos : pos + bufsize]

    # -- publishing without per-message objects --------------------------------------------

    def publish_qos0(self, topic: str, payload: bytes, retain: bool = False, properties: Properties | None = None) -> bool:
        """A QoS 0 PUBLISH queued for the next write; False when there is no socket."""
        if self._sock is None:
            return False
        t = topic.encode("utf-8")
        if self._protocol == mqtt.MQTTv5:
            props = properties.pack() if properties is not None else b"\x00"
            remaining = 2 + len(t) + len(props) + len(payload)
        else:
            props = b""
            remaining = 2 + len(t) + len(payload)
        if remaining < 128:
            header = bytes((0x30 | retain, remaining))
        else:
            header = bytes((0x30 | retain,)) + _varint(remaining)
        packet = b"".join((header, len(t).to_bytes(2, "big"), t, props, payload))
        self._out_packet.append({"command": 0x30, "mid": 0, "qos": 0, "pos": 0, "to_process": len(packet), "packet": packet, "info": None})
        if not self._registered_write:
            self._call_socket_register_write()
        return True

    # -- writing -----------------------------------------------------------------------

    def _aio_register_write(self, client: Any, userdata: Any, sock: Any) -> None:
        if threading.get_ident() == self._aio_thread:
            self._schedule_flush()
        else:  # paho queues CONNECT from the executor thread that runs connect()
            self._aio_loop.call_soon_threadsafe(self._schedule_flush)

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._aio_loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._sock is None or self._sock is not self._attached:
            return
        self.loop_write()
        if self.on_drained is not None and len(self._out_packet) < WRITE_LOW:
            self.on_drained()

    def _aio_unregister_write(self, client: Any, userdata: Any, sock: Any) -> None:
        if self._writer_fd is not None:
            try:
                self._aio_loop.remove_writer(self._writer_fd)
            except (ValueError, OSError):
                pass
            self._writer_fd = None

    def _on_writable(self) -> None:
        self.loop_write()
        if self.on_drained is not None and len(self._out_packet) < WRITE_LOW:
            self.on_drained()

    @property
    def write_backlog(self) -> int:
        """Packets queued for the socket and not yet written."""
        return len(self._out_packet)

    def _packet_write(self) -> MQTTErrorCode:
        """Send the queued packets joined, 64 KiB per `send`, instead of one `send` each.

        Same contract as paho's version: a QoS 0 PUBLISH counts as published
        once written; a DISCONNECT goes through paho's own writer (it closes
        the socket). `on_publish` is not called for QoS 0 (the connection
        completes QoS 0 publishes when it hands them over).
        """
        out = self._out_packet
        while out:
            if out[0]["command"] & 0xF0 == _DISCONNECT:
                return self._write_disconnect()
            parts = []
            size = 0
            for pkt in out:
                if pkt["command"] & 0xF0 == _DISCONNECT:
                    break
                pos = pkt["pos"]
                parts.append(memoryview(pkt["packet"])[pos:] if pos else pkt["packet"])
                size += pkt["to_process"]
                if size >= 65536:
                    break
            count = len(parts)
            data = parts[0] if count == 1 else b"".join(parts)
            sock = self._sock
            if sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            try:
                sent = sock.send(data)
            except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError):
                return self._want_writable()
            except OSError:
                return _CONN_LOST
            for _ in range(count):
                pkt = out[0]
                remaining = pkt["to_process"]
                if sent < remaining:
                    pkt["to_process"] = remaining - sent
                    pkt["pos"] += sent
                    return self._want_writable()
                sent -= remaining
                pkt["to_process"] = 0
                pkt["pos"] += remaining
                out.popleft()
                if pkt["qos"] == 0 and pkt["command"] & 0xF0 == _PUBLISH and pkt["info"] is not None:
                    pkt["info"]._set_as_published()
        self._last_msg_out = time.monotonic()
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _write_disconnect(self) -> MQTTErrorCode:
        """The DISCONNECT packet alone through paho's writer, which then closes the socket."""
        out = self._out_packet
        rest = list(out)[1:]
        for _ in rest:
            out.pop()
        try:
            rc = super()._packet_write()
        finally:
            out.extend(rest)
        return rc

    def _want_writable(self) -> MQTTErrorCode:
        sock = self._sock
        if sock is not None and self._writer_fd is None:
            self._writer_fd = sock.fileno()
            self._aio_loop.add_writer(self._writer_fd, self._on_writable)
        return _AGAIN

    # -- closing -----------------------------------------------------------------------

    def _aio_socket_close(self, client: Any, userdata: Any, sock: Any) -> None:
        waiters, self._ping_waiters = self._ping_waiters, deque()
        for _, future in waiters:
            if not future.done():
                future.set_result(False)
        if sock is self._attached:
            if self._reading:
                try:
                    self._aio_loop.remove_reader(sock)
                except (ValueError, OSError):
                    pass
                self._reading = False
            self._attached = None
        if self._writer_fd is not None:
            try:
                self._aio_loop.remove_writer(self._writer_fd)
            except (ValueError, OSError):
                pass
            self._writer_fd = None
