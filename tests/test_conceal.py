"""Confidential values: each one under its own random salt, so no guess can be confirmed by hashing it.

With one salt for every value, the same price would carry the same salted
hash in every entry and every proposal: anyone holding a public export could
hash candidate prices and compare, or see that two bids are equal.
"""

from __future__ import annotations

import re

from conftest import MINI_DATA

from engine import Engine
from engine.audit import conceal, salted_hash

HEX_16_BYTES = re.compile(r"[0-9a-f]{32}")


def test_each_concealed_value_gets_its_own_salt_and_hash() -> None:
    first, kept_first = conceal({"pricing": "7.10"}, {"pricing"})
    second, kept_second = conceal({"pricing": "7.10"}, {"pricing"})
    (salt_1, value_1), (salt_2, value_2) = kept_first["pricing"], kept_second["pricing"]
    assert value_1 == value_2 == "7.10"
    assert salt_1 != salt_2
    assert first["pricing"] != second["pricing"]
    assert first["pricing"] == {"salted_sha256": salted_hash("7.10", salt_1)}
    assert second["pricing"] == {"salted_sha256": salted_hash("7.10", salt_2)}


def test_two_fields_with_the_same_value_in_one_entry_get_different_salts() -> None:
    shown, kept = conceal({"bid": "91000", "reserve": "91000", "vendor": "Acme"}, {"bid", "reserve"})
    assert kept["bid"][0] != kept["reserve"][0]
    assert shown["bid"] != shown["reserve"]
    assert shown["vendor"] == "Acme" and "vendor" not in kept


def test_salts_are_16_random_bytes_in_hex() -> None:
    salts = [conceal({"pricing": "7.10"}, {"pricing"})[1]["pricing"][0] for _ in range(200)]
    assert all(HEX_16_BYTES.fullmatch(s) for s in salts), salts[:3]
    assert len(set(salts)) == len(salts)
    # 16 random bytes: every hex digit turns up at every position across 200 salts (a fixed or counting salt fails)
    assert all(len({s[i] for s in salts}) > 8 for i in range(32))


def test_the_same_confidential_value_in_two_proposals_has_different_salted_hashes(mini: Engine) -> None:
    first = mini.intake("mini", MINI_DATA, actor="ana")
    second = mini.intake("mini", MINI_DATA, actor="ana")
    hashes = [mini.history(pid)[0]["input"]["pricing"]["salted_sha256"] for pid in (first, second)]
    salts = [next(s["salt"] for s in mini.secrets(pid) if s["field"] == "pricing") for pid in (first, second)]
    assert hashes[0] != hashes[1] and salts[0] != salts[1]
    for digest, salt in zip(hashes, salts, strict=True):
        assert digest == salted_hash(MINI_DATA["pricing"], salt)
