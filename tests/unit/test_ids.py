"""Salesforce-style ids."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from revloops.core.ids import KEY_PREFIX, checksum, is_valid_id, new_id, object_of, to18


def test_checksum_matches_salesforce_known_ids() -> None:
    # Worked by hand: per 5-character chunk, a bit per upper-case letter, indexing A-Z0-5.
    assert to18("001A000000K1bSk") == "001A000000K1bSkIAJ"
    assert to18("00QD000000iABcd") == "00QD000000iABcdMAG"


@given(st.sampled_from(sorted(KEY_PREFIX)), st.integers(0, 2**32))
def test_new_ids_are_valid_and_carry_the_prefix(sobject: str, seed: int) -> None:
    record_id = new_id(sobject, random.Random(seed))
    assert len(record_id) == 18 and is_valid_id(record_id, sobject) and object_of(record_id) == sobject
    assert new_id(sobject, random.Random(seed)) == record_id


def test_tampered_checksum_is_invalid() -> None:
    good = new_id("Lead", random.Random(1))
    bad = good[:15] + ("AAA" if good[15:] != "AAA" else "BBB")
    assert is_valid_id(good) and not is_valid_id(bad)
    assert not is_valid_id(good, "Account")
    assert checksum(good[:15]) == good[15:]
