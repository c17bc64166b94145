"""Content-Encoding: every coding decodes, bombs stop at the bound, bad streams and codings are refused."""

import functools
import gzip
import io
import os
import zlib

import pytest
import zstandard

from core.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from ingest.formats.compression import (
    READ_CHUNK_BYTES,
    DecodingReader,
    content_encoding,
    read_body,
)

MiB = 1024 * 1024
PAYLOAD = b'{"message": "User 555-0199 accessed the system", "host": "web-1"}\n' * 2000


class CountingStream(io.BytesIO):
    """A request stream that counts what was read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def zstd(data: bytes, **params) -> bytes:
    return zstandard.ZstdCompressor(**params).compress(data)


ENCODERS = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "deflate (raw)": raw_deflate,
    "zstd": zstd,
    "identity": lambda data: data,
}


def header_of(name: str) -> str:
    return name.split(" ")[0]


def decode(
    wire: bytes, encoding, *, max_body=20 * MiB, max_decoded=20 * MiB, content_length="auto", stream=None
):
    return read_body(
        stream or io.BytesIO(wire),
        encoding=encoding,
        content_length=str(len(wire)) if content_length == "auto" else content_length,
        max_body_bytes=max_body,
        max_decompressed_bytes=max_decoded,
    )


@pytest.mark.parametrize("name", ENCODERS)
def test_it_decodes_each_coding(name):
    assert decode(ENCODERS[name](PAYLOAD), header_of(name)) == PAYLOAD


@pytest.mark.parametrize("name", ENCODERS)
def test_it_decodes_a_chunked_upload_without_content_length(name):
    assert decode(ENCODERS[name](PAYLOAD), header_of(name), content_length=None) == PAYLOAD


@pytest.mark.parametrize("name", ENCODERS)
def test_it_decodes_a_stream_that_arrives_a_few_bytes_at_a_time(name):
    wire = ENCODERS[name](PAYLOAD[:3000])

    class Trickle(io.BytesIO):
        def read(self, size=-1):
            return super().read(min(size, 7))

    assert decode(wire, header_of(name), stream=Trickle(wire)) == PAYLOAD[:3000]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "identity"),
        ("", "identity"),
        ("identity", "identity"),
        ("gzip", "gzip"),
        ("GZIP", "gzip"),
        (" x-gzip ", "gzip"),
        ("deflate", "deflate"),
        ("zstd", "zstd"),
        ("identity, gzip", "gzip"),
    ],
)
def test_it_reads_the_content_encoding_header(header, expected):
    assert content_encoding(header) == expected


@pytest.mark.parametrize("header", ["br", "compress", "gzip;q=1", "lz4", "snappy"])
def test_it_refuses_an_unknown_coding_with_415(header):
    with pytest.raises(UnsupportedMediaType) as excinfo:
        decode(b"anything", header)
    assert excinfo.value.status_code == 415


def test_it_refuses_stacked_codings_with_415():
    with pytest.raises(UnsupportedMediaType, match="at most one"):
        content_encoding("gzip, zstd")


def test_it_accepts_gzip_members_in_sequence():
    assert decode(gzip.compress(b"first ") + gzip.compress(b"second"), "gzip") == b"first second"


def test_it_accepts_zstd_frames_in_sequence():
    assert decode(zstd(b"first ") + zstd(b"second"), "zstd") == b"first second"


CORRUPT = [
    ("gzip", b"not gzip at all"),
    ("gzip", gzip.compress(PAYLOAD)[:-10]),
    ("gzip", gzip.compress(PAYLOAD) + b"trailing junk"),
    ("gzip", b""),
    ("deflate", zlib.compress(PAYLOAD)[:-10]),
    ("deflate", zlib.compress(PAYLOAD) + b"more"),
    ("deflate", b"\xff\xff\xff\xff garbage"),
    ("deflate", b""),
    ("zstd", b"not zstd at all"),
    ("zstd", zstd(PAYLOAD)[:-5]),
    ("zstd", zstd(PAYLOAD) + b"junk"),
    ("zstd", b""),
]


@pytest.mark.parametrize(("encoding", "wire"), CORRUPT)
def test_it_refuses_a_corrupt_truncated_or_padded_stream_with_400(encoding, wire):
    with pytest.raises(InvalidRequest, match=f"not valid {encoding} data") as excinfo:
        decode(wire, encoding)
    assert excinfo.value.status_code == 400


def test_it_refuses_a_zstd_window_over_8_mib():
    params = zstandard.ZstdCompressionParameters(window_log=27, enable_ldm=True)
    out = io.BytesIO()
    with zstandard.ZstdCompressor(compression_params=params).stream_writer(out, closefd=False) as writer:
        writer.write(b"y" * (20 * MiB))
    with pytest.raises(InvalidRequest, match="memory"):
        decode(out.getvalue(), "zstd", max_decoded=64 * MiB)


# -- bounds ------------------------------------------------------------------------------


@functools.cache
def bomb(encoding: str, size: int) -> bytes:
    """``size`` zero bytes compressed, built a MiB at a time so the test never holds them whole."""
    zeros = b"\0" * MiB
    if encoding == "zstd":
        out = io.BytesIO()
        with zstandard.ZstdCompressor().stream_writer(out, closefd=False) as writer:
            for _ in range(size // MiB):
                writer.write(zeros)
        return out.getvalue()
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS, "raw": -zlib.MAX_WBITS}[encoding]
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(compressor.compress(zeros) for _ in range(size // MiB)) + compressor.flush()


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw", "zstd"])
def test_a_bomb_is_refused_with_413_after_producing_at_most_the_bound(encoding):
    limit = 1 * MiB
    chunk = 4096
    wire = bomb(encoding, 128 * MiB)  # about 125 KiB (deflate) or 4 KiB (zstd) that inflate to 128 MiB
    stream = CountingStream(wire)
    reader = DecodingReader(
        stream,
        encoding="deflate" if encoding == "raw" else encoding,
        content_length=str(len(wire)),
        max_body_bytes=20 * MiB,
        chunk_bytes=chunk,
    )

    with pytest.raises(PayloadTooLarge, match="decompresses to more than") as excinfo:
        reader.read_all(limit)

    assert excinfo.value.status_code == 413
    # Stopped one byte past the bound,
    assert reader.decoded_bytes == limit + 1
    # having read only the compressed bytes that make the bound (deflate's best is about
    # 1:1000), a chunk at most beyond them, not the whole upload.
    assert stream.bytes_read == reader.wire_bytes_read
    assert reader.wire_bytes_read <= limit // 1000 + 2 * chunk
    assert reader.wire_bytes_read < len(wire)


def test_a_zstd_bomb_never_holds_much_more_than_the_bound_in_memory():
    limit = 4 * MiB
    wire = bomb("zstd", 256 * MiB)  # about 8 KiB
    reader = DecodingReader(
        io.BytesIO(wire), encoding="zstd", content_length=str(len(wire)), max_body_bytes=MiB
    )

    with pytest.raises(PayloadTooLarge):
        reader.read_all(limit)

    assert reader.decoded_bytes <= limit + READ_CHUNK_BYTES
    buffered = len(reader._decoder._output)
    assert buffered <= MiB  # the one slice's output not yet handed out


def test_a_body_of_exactly_the_decoded_bound_is_accepted():
    assert decode(gzip.compress(b"x" * 1000), "gzip", max_decoded=1000) == b"x" * 1000
    with pytest.raises(PayloadTooLarge):
        decode(gzip.compress(b"x" * 1001), "gzip", max_decoded=1000)


def test_an_identity_body_is_bounded_by_the_decoded_limit_too():
    with pytest.raises(PayloadTooLarge, match="larger than the limit of 1000 bytes"):
        decode(b"x" * 1001, None, max_decoded=1000, content_length=None)


def test_it_refuses_a_declared_length_over_the_wire_bound_before_reading():
    stream = CountingStream(b"x" * 100)
    with pytest.raises(PayloadTooLarge, match="the limit is 10 bytes"):
        decode(b"", "gzip", stream=stream, max_body=10, content_length="100")
    assert stream.bytes_read == 0


@pytest.mark.parametrize("encoding", ["identity", "gzip", "zstd"])
def test_it_stops_reading_a_chunked_upload_one_byte_past_the_wire_bound(encoding):
    wire = ENCODERS[encoding](os.urandom(5000))  # does not compress below the bound
    stream = CountingStream(wire)
    with pytest.raises(PayloadTooLarge, match="larger than the limit of 1000 bytes"):
        decode(wire, encoding, stream=stream, max_body=1000, content_length=None)
    assert stream.bytes_read == 1001


def test_it_refuses_a_body_shorter_than_its_content_length():
    with pytest.raises(InvalidRequest, match="ended after 5 of the 10 bytes"):
        decode(b"hello", None, content_length="10")


@pytest.mark.parametrize("value", ["ten", "-1"])
def test_it_refuses_a_content_length_that_is_not_a_length(value):
    with pytest.raises(InvalidRequest, match="Content-Length"):
        decode(b"hello", None, content_length=value)


def test_it_reads_legitimate_large_bodies_whole():
    big = b"".join(b'{"message": "line %d"}\n' % number for number in range(400_000))  # ~9 MiB
    for encoding in ("gzip", "deflate", "zstd"):
        assert decode(ENCODERS[encoding](big), encoding) == big
