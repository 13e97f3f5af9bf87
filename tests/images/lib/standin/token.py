"""3FS user tokens: base64 of 18 permuted bytes (magic, uid, random, crc)."""
import base64
import os
import struct
import zlib

MAGIC = 0xF1DB
MAPPING = [12, 6, 0, 13, 7, 1, 14, 8, 2, 15, 9, 3, 16, 10, 4, 17, 11, 5]


def _crc(data):
    return (~zlib.crc32(data, 0xFFFFFFFF)) & 0xFFFFFFFF


def mint(uid):
    raw = struct.pack("<HIQ", MAGIC, uid, int.from_bytes(os.urandom(8), "little"))
    raw += struct.pack("<I", _crc(raw))
    out = bytearray(18)
    for i, b in enumerate(raw):
        out[MAPPING[i]] = b
    return base64.b64encode(bytes(out)).decode()


def decode_uid(token):
    """uid of a well-formed token, else None."""
    try:
        data = base64.b64decode(token, validate=True)
    except (ValueError, TypeError):
        return None
    if len(data) != 18:
        return None
    raw = bytes(data[MAPPING[i]] for i in range(18))
    magic, uid, _ = struct.unpack("<HIQ", raw[:14])
    if magic != MAGIC or struct.unpack("<I", raw[14:])[0] != _crc(raw[:14]):
        return None
    return uid
