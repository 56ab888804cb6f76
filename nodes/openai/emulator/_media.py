"""Audio the emulator can speak and hear: a small valid WAV that carries its own transcript.

`speech(text)` is a real, playable WAV (a short tone, 8 kHz mono 16-bit)
with the text in a RIFF `LIST/INFO/ICMT` chunk, which players ignore;
`transcript(data)` reads it back. So a flow that makes speech, writes it to
a file and transcribes that file gets the same words back, offline.
"""

from __future__ import annotations

import io
import math
import struct
import wave

_RATE = 8000
_NO_SPEECH = "(no speech recognised)"


def _info_chunk(text: str) -> bytes:
    comment = text.encode("utf-8") + b"\0"
    if len(comment) % 2:
        comment += b"\0"
    icmt = b"ICMT" + struct.pack("<I", len(comment)) + comment
    body = b"INFO" + icmt
    return b"LIST" + struct.pack("<I", len(body)) + body


def speech(text: str, seconds: float = 0.25) -> bytes:
    """A WAV of a soft 440 Hz tone whose LIST/INFO comment is `text`."""
    frames = int(_RATE * seconds)
    samples = b"".join(struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * i / _RATE))) for i in range(frames))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(_RATE)
        out.writeframes(samples)
    data = buffer.getvalue()
    extra = _info_chunk(text)
    riff_size = struct.unpack("<I", data[4:8])[0] + len(extra)
    return data[:4] + struct.pack("<I", riff_size) + data[8:] + extra


def pcm(seconds: float = 0.25) -> bytes:
    """Raw 24 kHz 16-bit mono silence (the API's `pcm` format)."""
    return b"\0\0" * int(24000 * seconds)


def transcript(data: bytes) -> str:
    """The text a WAV made by `speech` carries; a fixed phrase for any other audio."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return _NO_SPEECH
    offset = 12
    while offset + 8 <= len(data):
        kind, size = data[offset:offset + 4], struct.unpack("<I", data[offset + 4:offset + 8])[0]
        body = data[offset + 8:offset + 8 + size]
        if kind == b"LIST" and body[:4] == b"INFO":
            inner = 4
            while inner + 8 <= len(body):
                sub, sub_size = body[inner:inner + 4], struct.unpack("<I", body[inner + 4:inner + 8])[0]
                if sub == b"ICMT":
                    return body[inner + 8:inner + 8 + sub_size].rstrip(b"\0").decode("utf-8", "replace")
                inner += 8 + sub_size + (sub_size % 2)
        offset += 8 + size + (size % 2)
    return _NO_SPEECH
