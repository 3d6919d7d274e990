"""Golden vectors: canonical bytes and hashes that must never change.

``rfc8785.json`` holds the examples of RFC 8785 itself; ``entries.json``
holds audit entries with their canonical bytes and RFC 6962 leaf hashes,
computed once and committed. If either test fails, every existing audit
trail would stop verifying: that is a breaking change, not a test to update.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.audit import GENESIS, LEAF_PREFIX, Stored, leaf_hash, make_entry, salted_hash, seal, verify_chain
from pathways.canonical import MAX_SAFE_INTEGER, canonical_bytes, jcs, normalise

VECTORS = Path(__file__).parent / "vectors"
RFC = json.loads((VECTORS / "rfc8785.json").read_text(encoding="utf-8"))["vectors"]
ENTRIES = json.loads((VECTORS / "entries.json").read_text(encoding="utf-8"))
#: Entry format version 2 (registry position, stage entry and due times); version 1 above still verifies.
ENTRIES_V2 = json.loads((VECTORS / "entries_v2.json").read_text(encoding="utf-8"))
#: Version 2 as extended before release: neutral attachment names, a withheld rationale (engine.disclosure).
ENTRIES_V2D = json.loads((VECTORS / "entries_v2_disclosure.json").read_text(encoding="utf-8"))
#: Version 3: every proposal entry carries the salted digest of the proposal's data after it.
ENTRIES_V3 = json.loads((VECTORS / "entries_v3.json").read_text(encoding="utf-8"))
#: Version 3 too: the calendar each due time was counted on (engine.deadlines). Each vector file pins one of
#: version 3's two additions; an entry the engine writes carries both.
ENTRIES_V3C = json.loads((VECTORS / "entries_v3_calendar.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("vector", RFC, ids=[v["name"] for v in RFC])
def test_rfc8785_examples(vector: dict) -> None:
    value = json.loads(vector["input"])
    assert jcs(value) == vector["output"].encode("utf-8")
    if normalise(value) == value:  # text already NFC: our canonical bytes are plain RFC 8785
        assert canonical_bytes(value) == vector["output"].encode("utf-8")


def test_nfc_is_applied_before_rfc8785() -> None:
    """U+FB33 is a composition exclusion: NFC turns it into two code points, so the key sorts elsewhere."""
    assert canonical_bytes({"\ufb33": 1}) == jcs({"\u05d3\u05bc": 1})


@pytest.mark.parametrize("item", ENTRIES["entries"] + ENTRIES_V2["entries"] + ENTRIES_V2D["entries"]
                         + ENTRIES_V3["entries"] + ENTRIES_V3C["entries"],
                         ids=lambda i: f"v{i['entry']['v']}-seq{i['entry']['seq']}-{i['entry']['kind']}")
def test_entry_canonical_bytes_and_hash(item: dict) -> None:
    body, digest = seal(item["entry"])
    assert body == item["canonical"].encode("utf-8")
    assert digest == item["hash"]
    # the hash is the RFC 6962 leaf hash, computed independently here
    assert digest == hashlib.sha256(b"\x00" + item["canonical"].encode("utf-8")).hexdigest()


def _rebuilt(entry: dict, prev: str) -> dict:
    """The committed entry rebuilt by the code under test, with ``prev`` as computed here."""
    named = {"v", "proposal", "seq", "prev", "at", "kind", "actor", "role", "trigger", "from", "to", "pathway",
             "conditions", "rationale", "input", "attachments"}
    return make_entry(v=entry["v"], chain=entry["proposal"], seq=entry["seq"], prev=prev, at=entry["at"],
                      kind=entry["kind"],
                      actor=entry["actor"], role=entry["role"], trigger=entry["trigger"], source=entry["from"],
                      dest=entry["to"], pathway=entry["pathway"], conditions=entry["conditions"],
                      rationale=entry["rationale"], input=entry["input"], attachments=entry["attachments"],
                      **{k: v for k, v in entry.items() if k not in named})


@pytest.mark.parametrize("vectors", [ENTRIES, ENTRIES_V2, ENTRIES_V2D, ENTRIES_V3, ENTRIES_V3C],
                         ids=["v1", "v2", "v2-disclosure", "v3", "v3-calendar"])
def test_vector_chain_is_recomputed_by_the_code_under_test(vectors: dict) -> None:
    """Rebuild each entry with make_entry, chain it with the hashes seal computes, verify it: the golden values."""
    items = vectors["entries"]
    rows, prev = [], GENESIS
    for item in items:
        entry = _rebuilt(item["entry"], prev)
        assert entry == item["entry"]  # same keys, same prev as the hash computed for the entry before
        body, digest = seal(entry)
        assert (body.decode("utf-8"), digest) == (item["canonical"], item["hash"])
        rows.append(Stored(entry["seq"], digest, body))
        prev = digest
    chain = items[0]["entry"]["proposal"]
    # what the walk parses back is the entry as hashed: text NFC-normalised (seq 3's rationale is decomposed)
    assert verify_chain(chain, rows, head=items[-1]["hash"], count=len(items)) == [normalise(i["entry"]) for i in items]


def test_text_is_nfc_normalised_before_hashing() -> None:
    composed = {"rationale": "Am\u00e9lie"}
    decomposed = {"rationale": "Ame\u0301lie"}
    assert canonical_bytes(composed) == canonical_bytes(decomposed)


def test_salted_hash_vector() -> None:
    ex = ENTRIES["salt_example"]
    assert salted_hash(ex["value"], ex["salt"]) == ex["salted_sha256"]
    # what a stdlib-only verifier computes: salt bytes + JSON text of the value
    expected = hashlib.sha256(bytes.fromhex(ex["salt"]) + json.dumps(ex["value"]).encode()).hexdigest()
    assert expected == ex["salted_sha256"]


def test_leaf_prefix_is_rfc6962() -> None:
    assert LEAF_PREFIX == b"\x00"
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").hexdigest()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_canonical_bytes_are_stable_and_parse_back(value: object) -> None:
    body = canonical_bytes(value)
    assert canonical_bytes(json.loads(body)) == body


plain_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(st.characters(codec="utf-8"), max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(st.characters(codec="ascii"), max_size=8), inner, max_size=4),
    max_leaves=25,
)


@given(plain_values)
def test_fast_path_equals_the_reference_rfc8785(value: object) -> None:
    """canonical_bytes uses json.dumps for plain values; it must equal rfc8785 byte for byte."""
    assert canonical_bytes(value) == jcs(normalise(value))


@given(json_values | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
def test_parse_canonical_accepts_exactly_the_canonical_bytes(value: object) -> None:
    """The verifier's fast parse agrees with the reference: canonical bytes parse back, re-formatted ones do not."""
    from pathways.canonical import NotCanonical, parse_canonical

    body = canonical_bytes(value)
    assert canonical_bytes(parse_canonical(body)) == body
    spaced = json.dumps(json.loads(body), indent=1).encode("utf-8")
    if spaced != body:
        with pytest.raises(NotCanonical):
            parse_canonical(spaced)


def test_disclosure_vector_secrets_reproduce_the_salted_hashes() -> None:
    """The kept original name and withheld rationale prove against the entries, as verify.py checks them."""
    first, second = (i["entry"] for i in ENTRIES_V2D["entries"])
    hashed = {(1, "proposed_price"): first["input"]["proposed_price"]["salted_sha256"],
              (1, ":attachment-1"): first["attachments"][0]["original"]["salted_sha256"],
              (2, ":rationale"): second["rationale"]["salted_sha256"]}
    for s in ENTRIES_V2D["secrets"]:
        assert salted_hash(s["value"], s["salt"]) == hashed[(s["seq"], s["field"])]


def test_v3_calendar_and_due_times_are_re_derived_by_the_code_under_test() -> None:
    """The vector's calendar hashes as committed, and its due times are what the count gives: a change to either
    (a calendar's canonical form, the business-day count, the end of an ``until`` day) breaks old entries."""
    import datetime as dt

    from engine.audit import timestamp
    from engine.deadlines import count_business_days
    from pathways.calendar import Calendar

    form = ENTRIES_V3C["calendar"]["as_dict"]
    cal = Calendar(form["time_zone"], form["country"], form["subdivision"], tuple(form["categories"]),
                   tuple(form["added"]), tuple(form["removed"]))
    assert cal.as_dict() == form and cal.sha256 == ENTRIES_V3C["calendar"]["sha256"]
    first = ENTRIES_V3C["entries"][0]["entry"]
    due, skipped = count_business_days(dt.datetime.fromisoformat(first["entered"].replace("Z", "+00:00")), 10,
                                       cal.zone, cal.closed)
    assert (timestamp(due), skipped) == (first["due"], first["calendar"]["skipped"])


def test_v3_data_digests_reproduce_from_the_data_each_entry_leaves() -> None:
    """Each entry's ``data`` is sha256(salt || canonical JSON of the data after it), computed here with hashlib and
    json alone (what a stdlib verifier computes); an entry that changes no field carries the digest before it."""
    from engine.audit import DATA_SECRET, data_digest

    (salt,) = [s["salt"] for s in ENTRIES_V3["secrets"] if s["field"] == DATA_SECRET]
    for item, data in zip(ENTRIES_V3["entries"], ENTRIES_V3["data_after"], strict=True):
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        assert item["entry"]["data"] == {"salted_sha256": hashlib.sha256(bytes.fromhex(salt) + text).hexdigest()}
        assert data_digest(data, salt) == item["entry"]["data"]["salted_sha256"]
    digests = [i["entry"]["data"]["salted_sha256"] for i in ENTRIES_V3["entries"]]
    assert digests[0] == digests[1] != digests[2] == digests[3]
    kept = {(s["seq"], s["field"]): s for s in ENTRIES_V3["secrets"] if s["field"] != DATA_SECRET}
    for item in ENTRIES_V3["entries"]:
        for name, value in item["entry"]["input"].items():
            if isinstance(value, dict):
                s = kept[(item["entry"]["seq"], name)]
                assert salted_hash(s["value"], s["salt"]) == value["salted_sha256"]
