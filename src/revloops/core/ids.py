"""Salesforce-style record ids: 15 case-sensitive characters plus a 3-character checksum suffix."""

from __future__ import annotations

import random
import re
import secrets
import string

_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"
ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-5]{3})?$")

# Real Salesforce key prefixes of the objects we store.
KEY_PREFIX: dict[str, str] = {
    "User": "005",
    "Group": "00G",
    "Account": "001",
    "Contact": "003",
    "Lead": "00Q",
    "Opportunity": "006",
    "OpportunityHistory": "008",
    "Task": "00T",
    "Territory2Model": "0MA",
    "Territory2Type": "0M5",
    "Territory2": "0MI",
    "UserTerritory2Association": "0R0",
    "ObjectTerritory2Association": "0R5",
    "Territory2ObjectExclusion": "0Kd",
    "Usage_Snapshot__c": "a0U",  # a custom object: its prefix is the org's; ours is fixed
}
PREFIX_OBJECT = {prefix: name for name, prefix in KEY_PREFIX.items()}


#: each character as "1" when it is an upper-case ASCII letter, else "0" (the checksum reads these bits)
_UPPER_BITS = str.maketrans({ch: ("1" if "A" <= ch <= "Z" else "0") for ch in _ALPHABET})


def checksum(id15: str) -> str:
    """The 3-character suffix that makes a 15-character id case-insensitively unique: per 5-character chunk,
    a bit per upper-case letter (the first character the lowest bit), indexing A-Z0-5."""
    bits = id15[:15].translate(_UPPER_BITS)
    return "".join(_SUFFIX[int(bits[k : k + 5][::-1], 2)] for k in (0, 5, 10))


def to18(record_id: str) -> str:
    """Normalise a 15- or 18-character id to 18 characters."""
    if len(record_id) == 18:
        return record_id
    if len(record_id) != 15:
        raise ValueError(f"not a Salesforce id: {record_id!r}")
    return record_id + checksum(record_id)


def new_id(sobject: str, rng: random.Random | None = None) -> str:
    """A fresh 18-character id with the object's key prefix (``rng`` makes it deterministic)."""
    prefix = KEY_PREFIX[sobject]
    if rng is not None:
        body = prefix + "8d" + "".join(rng.choice(_ALPHABET) for _ in range(10))
    else:  # ten characters from one draw of 60 random bits (62**10 < 2**60)
        bits, chars = secrets.randbits(60), []
        for _ in range(10):
            bits, digit = divmod(bits, 62)
            chars.append(_ALPHABET[digit])
        body = prefix + "8d" + "".join(chars)
    return body + checksum(body)


def is_valid_id(value: str, sobject: str | None = None) -> bool:
    """Whether ``value`` looks like an id (of ``sobject`` when given), checksum included."""
    if not isinstance(value, str) or not ID_RE.match(value):
        return False
    if len(value) == 18 and checksum(value[:15]) != value[15:]:
        return False
    return sobject is None or value.startswith(KEY_PREFIX[sobject])


def object_of(record_id: str) -> str | None:
    """The object a record id belongs to, from its key prefix."""
    return PREFIX_OBJECT.get(record_id[:3])
