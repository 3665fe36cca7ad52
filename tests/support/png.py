"""A small PNG decoder for checking screenshots (8-bit RGB/RGBA, not interlaced): zlib and struct only."""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {2: 3, 6: 4}  # colour type -> bytes per pixel at bit depth 8


@dataclass(frozen=True)
class Image:
    """Decoded pixels: ``rows[y]`` holds ``width * channels`` bytes."""

    width: int
    height: int
    channels: int
    rows: list[bytes]

    def pixels(self) -> list[tuple[int, ...]]:
        """Every pixel as an RGB(A) tuple, row by row."""
        c = self.channels
        return [tuple(row[i:i + c]) for row in self.rows for i in range(0, len(row), c)]


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(kind: int, line: bytearray, prev: bytes, bpp: int) -> bytes:
    if kind == 0:
        return bytes(line)
    if kind == 1:
        for i in range(bpp, len(line)):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind == 2:
        return bytes((x + y) & 0xFF for x, y in zip(line, prev, strict=True))
    elif kind == 3:
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            upper_left = prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + _paeth(left, prev[i], upper_left)) & 0xFF
    else:
        raise ValueError(f"unknown PNG filter type {kind}")
    return bytes(line)


def decode_png(data: bytes) -> Image:
    """Decode an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's screenshots are)."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG")
    pos = len(SIGNATURE)
    header: tuple[int, ...] | None = None
    idat = bytearray()
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"bad CRC in {kind!r} chunk")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise ValueError("PNG without IHDR")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in CHANNELS or interlace != 0:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}")
    bpp = CHANNELS[colour]
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    if len(raw) != height * (stride + 1):
        raise ValueError(f"PNG data is {len(raw)} bytes, expected {height * (stride + 1)}")
    rows: list[bytes] = []
    prev = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        prev = _unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]), prev, bpp)
        rows.append(prev)
    return Image(width, height, bpp, rows)


def encode_png(width: int, rows: list[bytes], channels: int, filters: list[int]) -> bytes:
    """Encode rows with the given filter type per row (for testing the decoder against known pixels)."""
    bpp = channels
    out = bytearray()
    prev = bytes(width * bpp)
    for row, kind in zip(rows, filters, strict=True):
        enc = bytearray()
        for i, x in enumerate(row):
            left = row[i - bpp] if i >= bpp else 0
            up = prev[i]
            upper_left = prev[i - bpp] if i >= bpp else 0
            pred = [0, left, up, (left + up) >> 1, _paeth(left, up, upper_left)][kind]
            enc.append((x - pred) & 0xFF)
        out += bytes([kind]) + enc
        prev = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    colour = {3: 2, 4: 6}[channels]
    ihdr = struct.pack(">IIBBBBB", width, len(rows), 8, colour, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(out))) + chunk(b"IEND", b"")


def ink(image: Image) -> tuple[float, int]:
    """The share of pixels that differ from the most common (background) colour, and how many colours."""
    counts = Counter(image.pixels())
    total = image.width * image.height
    _, background = counts.most_common(1)[0]
    return (total - background) / total, len(counts)


def colourful(image: Image, spread: int = 60) -> float:
    """The share of clearly coloured pixels (max - min channel > ``spread``): marks, not grey text or grid."""
    coloured = sum(1 for px in image.pixels() if max(px[:3]) - min(px[:3]) > spread)
    return coloured / (image.width * image.height)
