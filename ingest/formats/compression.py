"""Content-Encoding: read a request body off the wire, decompressing as it goes, within two bounds.

``read_body`` takes the request's stream (Django's ``request``, or ``wsgi.input``
for a chunked upload), its Content-Encoding and Content-Length headers, and
returns the decoded body. The wire bound (``max_body_bytes``) counts the bytes
read from the client; the decoded bound (``max_decompressed_bytes``) counts the
bytes decompression produced. Output is pulled from the decompressor a bounded
piece at a time, so a bomb (a few KiB that inflate to gigabytes) is refused
with 413 once the decoded bound is passed, having produced at most the bound and
one piece beyond it, never the whole inflated body.

Codings (RFC 9110 names, case-insensitive): ``gzip`` and ``x-gzip`` (one or more
members), ``deflate`` (the zlib format RFC 9110 means, and the raw deflate some
clients send instead; told apart by the zlib header), ``zstd`` (one or more
frames, window at most 8 MiB as RFC 9659 asks of HTTP senders) and ``identity``.
Anything else is 415; a stream that is not what it claims, truncated, or followed
by stray bytes is 400. One coding per request: stacked codings (``gzip, zstd``)
are 415, which also keeps a bomb from being wrapped in another.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO, Protocol

import zstandard

from core.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType

IDENTITY = "identity"
GZIP = "gzip"
DEFLATE = "deflate"
ZSTD = "zstd"
ENCODINGS = (GZIP, DEFLATE, ZSTD, IDENTITY)
_ALIASES = {"x-gzip": GZIP}

READ_CHUNK_BYTES = 64 * 1024
# RFC 9659: HTTP senders keep zstd windows to 8 MiB, and decoders may refuse larger ones;
# without this bound a frame header alone could make the decoder allocate gigabytes.
ZSTD_MAX_WINDOW_BYTES = 8 * 1024 * 1024
# A zstd block (at most 128 KiB of output) takes at least 4 bytes of input, so a
# decompressobj call fed N bytes yields at most about N * 32768 bytes: input is fed in
# slices small enough that one call cannot overshoot the decoded bound by much.
_ZSTD_MAX_RATIO = 32 * 1024
_ZSTD_MIN_SLICE_BYTES = 16


def content_encoding(header: str | None) -> str:
    """The one coding a Content-Encoding header names (``identity`` when none); 415 otherwise."""
    codings = [coding.strip().lower() for coding in (header or "").split(",")]
    codings = [_ALIASES.get(coding, coding) for coding in codings if coding and coding != IDENTITY]
    if not codings:
        return IDENTITY
    unknown = [coding for coding in codings if coding not in ENCODINGS]
    if unknown:
        raise UnsupportedMediaType(
            f"Content-Encoding {unknown[0]!r} is not supported; use gzip, deflate, zstd or none."
        )
    if len(codings) > 1:
        raise UnsupportedMediaType(
            f"Content-Encoding {header!r} stacks {len(codings)} codings; send at most one."
        )
    return codings[0]


def read_body(
    stream: BinaryIO,
    *,
    encoding: str | None,
    content_length: str | None,
    max_body_bytes: int,
    max_decompressed_bytes: int,
    chunk_bytes: int = READ_CHUNK_BYTES,
) -> bytes:
    """The decoded body; 413 past either bound, 415 for an unknown coding, 400 for a corrupt stream.

    ``encoding`` is the raw Content-Encoding header and ``content_length`` the raw
    Content-Length header (None for a chunked upload).
    """
    body = DecodingReader(
        stream,
        encoding=encoding,
        content_length=content_length,
        max_body_bytes=max_body_bytes,
        chunk_bytes=chunk_bytes,
    )
    return body.read_all(max_decompressed_bytes)


class WireReader:
    """The client's bytes, counted: 413 past ``max_bytes``, 400 if the body ends before its Content-Length."""

    def __init__(self, stream: BinaryIO, *, max_bytes: int, content_length: str | None) -> None:
        self.stream = stream
        self.max_bytes = max_bytes
        self.bytes_read = 0
        self.declared = _declared_length(content_length)
        if self.declared is not None and self.declared > max_bytes:
            # Refused before a byte of it is read.
            raise PayloadTooLarge(f"The body is {self.declared} bytes; the limit is {max_bytes} bytes.")

    def read(self, size: int) -> bytes:
        # One byte past the bound is asked for, to tell "exactly the limit" from "over it".
        chunk = self.stream.read(max(1, min(size, self.max_bytes + 1 - self.bytes_read)))
        self.bytes_read += len(chunk)
        if self.bytes_read > self.max_bytes:
            raise PayloadTooLarge(f"The body is larger than the limit of {self.max_bytes} bytes.")
        if not chunk and self.declared is not None and self.bytes_read < self.declared:
            # The client stopped early: never accept a truncated log.
            raise InvalidRequest(
                f"The body ended after {self.bytes_read} of the {self.declared} bytes announced."
            )
        return chunk


class DecodingReader:
    """A request body decoded as it is read; ``wire_bytes_read`` and ``decoded_bytes`` say how far it got."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        encoding: str | None,
        content_length: str | None,
        max_body_bytes: int,
        chunk_bytes: int = READ_CHUNK_BYTES,
    ) -> None:
        self.encoding = content_encoding(encoding)
        self.wire = WireReader(stream, max_bytes=max_body_bytes, content_length=content_length)
        self.chunk_bytes = chunk_bytes
        self.decoded_bytes = 0
        self._decoder = _decoder_for(self.encoding, self.wire, chunk_bytes)

    @property
    def wire_bytes_read(self) -> int:
        return self.wire.bytes_read

    def read(self, size: int, budget: int | None = None) -> bytes:
        """At most ``size`` decoded bytes; b"" at the end of the body.

        ``budget`` is how many more decoded bytes the caller will take in all (``size``
        when not given): a decoder that cannot bound its output exactly stays near it.
        """
        chunk = self._decoder.read(size, size if budget is None else budget)
        self.decoded_bytes += len(chunk)
        return chunk

    def read_all(self, max_decoded_bytes: int) -> bytes:
        chunks: list[bytes] = []
        while True:
            budget = max_decoded_bytes + 1 - self.decoded_bytes
            chunk = self.read(min(self.chunk_bytes, budget), budget)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            if self.decoded_bytes > max_decoded_bytes:
                if self.encoding == IDENTITY:
                    raise PayloadTooLarge(f"The body is larger than the limit of {max_decoded_bytes} bytes.")
                raise PayloadTooLarge(
                    f"The body decompresses to more than the limit of {max_decoded_bytes} bytes."
                )


class _Decoder(Protocol):
    def read(self, size: int, budget: int) -> bytes:
        """At most ``size`` decoded bytes (b"" at the end), producing little more than ``budget`` inside."""


def _decoder_for(encoding: str, wire: WireReader, chunk_bytes: int) -> _Decoder:
    if encoding in (GZIP, DEFLATE):
        return _ZlibDecoder(wire, chunk_bytes, encoding)
    if encoding == ZSTD:
        return _ZstdDecoder(wire, chunk_bytes)
    return _IdentityDecoder(wire)


class _IdentityDecoder:
    def __init__(self, wire: WireReader) -> None:
        self.wire = wire

    def read(self, size: int, budget: int) -> bytes:
        return self.wire.read(size)


def _corrupt(encoding: str, reason: str) -> InvalidRequest:
    return InvalidRequest(f"The body is not valid {encoding} data: {reason}.")


class _ZlibDecoder:
    """gzip (members in sequence) and deflate (zlib-wrapped or raw), bounded by zlib's ``max_length``."""

    def __init__(self, wire: WireReader, chunk_bytes: int, encoding: str) -> None:
        self.wire = wire
        self.chunk_bytes = chunk_bytes
        self.encoding = encoding
        self._stream = None
        self._pending = b""  # input not yet given to zlib
        self._streams_ended = 0  # gzip members (or the one deflate stream) decoded to their end
        self._wire_done = False

    def _start(self) -> bool:
        """A decompressor for the next gzip member or the deflate stream, once enough input is here."""
        if self.encoding == GZIP:
            self._stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif len(self._pending) >= 2:
            raw = not _is_zlib_header(self._pending)
            self._stream = zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
        return self._stream is not None

    def read(self, size: int, budget: int) -> bytes:
        size = max(1, size)  # max_length=0 would mean "no limit"
        while True:
            if self._pending:
                if self.encoding == DEFLATE and self._streams_ended:
                    raise _corrupt(self.encoding, "data after the end of the stream")
                if self._stream is not None or self._start():
                    out = self._decompress(size)
                    if out:
                        return out
                    if self._pending:
                        continue
            if self._wire_done:
                return b""
            chunk = self.wire.read(self.chunk_bytes)
            if chunk:
                self._pending += chunk
                continue
            self._wire_done = True
            if self._stream is not None or self._pending:
                raise _corrupt(self.encoding, "the stream is truncated")
            if not self._streams_ended:
                raise _corrupt(self.encoding, "the stream is empty")
            return b""

    def _decompress(self, size: int) -> bytes:
        stream = self._stream
        try:
            out = stream.decompress(self._pending, size)
        except zlib.error as exc:
            raise _corrupt(self.encoding, str(exc)) from None
        self._pending = stream.unconsumed_tail
        if stream.eof:
            # Whatever follows is the next gzip member (or, for deflate, an error).
            self._pending = stream.unused_data + self._pending
            self._stream = None
            self._streams_ended += 1
        return out


def _is_zlib_header(start: bytes) -> bool:
    """RFC 1950: method 8 (deflate), window at most 32 KiB, and the check bits."""
    cmf, flg = start[0], start[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0


class _ZstdDecoder:
    """zstd frames in sequence, fed in slices so that one call inflates to about ``budget`` at most.

    python-zstandard's decompressobj has no output bound (and its stream reader does
    not report a truncated frame), so the bound comes from the input side instead.
    """

    def __init__(self, wire: WireReader, chunk_bytes: int) -> None:
        self.wire = wire
        self.chunk_bytes = chunk_bytes
        self._context = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW_BYTES)
        self._stream = None
        self._frames_ended = 0
        self._pending = b""
        self._output = b""
        self._wire_done = False

    def read(self, size: int, budget: int) -> bytes:
        while not self._output:
            if self._pending:
                self._feed(budget)
                continue
            if self._wire_done:
                return b""
            chunk = self.wire.read(self.chunk_bytes)
            if chunk:
                self._pending = chunk
                continue
            self._wire_done = True
            if self._stream is not None:
                raise _corrupt(ZSTD, "the stream is truncated")
            if not self._frames_ended:
                raise _corrupt(ZSTD, "the stream is empty")
            return b""
        out, self._output = self._output[:size], self._output[size:]
        return out

    def _feed(self, budget: int) -> None:
        if self._stream is None:
            self._stream = self._context.decompressobj()
        slice_bytes = min(self.chunk_bytes, max(_ZSTD_MIN_SLICE_BYTES, budget // _ZSTD_MAX_RATIO))
        piece, self._pending = self._pending[:slice_bytes], self._pending[slice_bytes:]
        try:
            self._output = self._stream.decompress(piece)
        except zstandard.ZstdError as exc:
            raise _corrupt(ZSTD, str(exc)) from None
        if self._stream.eof:
            self._pending = self._stream.unused_data + self._pending
            self._stream = None
            self._frames_ended += 1


def _declared_length(header: str | None) -> int | None:
    if header is None or header == "":
        return None
    try:
        declared = int(header)
    except ValueError:
        raise InvalidRequest("Content-Length is not a number.") from None
    if declared < 0:
        raise InvalidRequest("Content-Length is negative.")
    return declared
