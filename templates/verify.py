#!/usr/bin/env python3
"""Verify a procurement audit bundle offline: ``python3 verify.py DIR``.

Standard library only, no project code: a reviewer needs nothing but Python 3.

Each line of ``trail.jsonl`` is one audit entry, the exact bytes that were
hashed: RFC 8785 (JSON Canonicalization Scheme) JSON. An entry's hash is the
RFC 6962 Merkle *leaf* hash of those bytes, ``sha256(0x00 || line)``, and every
entry records the hash of the one before it (``prev``; 64 zeros for the first).

Checked, stopping at the first problem:

1. each line is UTF-8 JSON object in canonical form; ``seq`` is its line
   number; ``proposal`` and ``pathway`` are the manifest's; line 1 is the intake;
2. each line's hash is the next line's ``prev`` (the last one's is the
   manifest's ``head``), and the line count is the manifest's ``entries``;
3. ``secrets.json`` (private bundles): each confidential value and its salt
   reproduce the ``salted_sha256`` its entry carries:
   ``sha256(salt || canonical JSON of the value)``; a private bundle must hold
   a value for every salted hash;
4. ``attachments/<sha256>``: each file's sha256 and size match an entry's
   attachment; a private bundle holds the file of every attachment recorded
   (refused attempts included: what was attempted is evidence too);
5. ``pathway.json``, the rules in force, hashes to the pathway sha256 that
   the manifest and every entry name.

Limits, said plainly:

- Canonical form is checked by re-serialising with ``json.dumps(...,
  sort_keys=True, separators=(",", ":"), ensure_ascii=False)``. That equals
  RFC 8785 for strings, integers, booleans, null, lists and objects with
  ASCII keys, which is all an entry holds (the engine stores money and
  decimal numbers as strings, so no float reaches an entry). A float
  anywhere is reported as non-canonical.
- The pathway's sha256 is taken over the RFC 8785 form of the *parsed*
  YAML. ``pathway.json`` holds exactly those bytes, so the rules are checked
  here; the YAML text in the manifest is the same rules as the officer wrote
  them (comments included) and needs a YAML parser to compare: run
  ``pathways validate`` on it and compare the sha256 it prints.
- ``report.html`` is a rendering for reading, not part of the record.

Exit status: 0 intact; 1 a check failed (the first bad line and why on
stderr); 2 unusable arguments.
"""

import hashlib
import json
import os
import sys
import unicodedata

LEAF_PREFIX = b"\x00"  # RFC 6962 section 2.1: leaf hashes are prefixed with 0x00
GENESIS = "0" * 64  # prev of the first entry
HEX = set("0123456789abcdef")


class Bad(Exception):
    """A failed check: where (``line N``, or a file name) and why."""


def is_hash(value):
    return isinstance(value, str) and len(value) == 64 and set(value) <= HEX


def leaf_hash(line):
    return hashlib.sha256(LEAF_PREFIX + line).hexdigest()


def no_constants(name):
    raise ValueError(f"{name} is not JSON")


def parse_json(data, where):
    """JSON from bytes, or Bad naming ``where``; never a traceback on malformed input."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=no_constants)
    except UnicodeDecodeError:
        raise Bad(f"{where}: not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise Bad(f"{where}: not valid JSON ({exc})") from None


def canonical(value):
    """RFC 8785 bytes for float-free JSON with ASCII keys (see the module docstring)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def nfc(value):
    """NFC-normalise every string, as the engine does before hashing."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [nfc(v) for v in value]
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    return value


def has_float(value):
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(has_float(v) for v in value)
    if isinstance(value, dict):
        return any(has_float(v) for v in value.values())
    return False


def read(folder, name, required=True):
    path = os.path.join(folder, name)
    if not os.path.exists(path) and not required:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise Bad(f"{name}: cannot read ({exc.strerror})") from None


def load_manifest(folder):
    m = parse_json(read(folder, "manifest.json"), "manifest.json")
    if not isinstance(m, dict):
        raise Bad("manifest.json: not a JSON object")
    p = m.get("pathway")
    checks = [(isinstance(m.get("proposal"), str) and m["proposal"], "proposal"),
              (type(m.get("entries")) is int and m["entries"] >= 1, "entries"),
              (is_hash(m.get("head")), "head"),
              (isinstance(p, dict) and is_hash(p.get("sha256")), "pathway.sha256"),
              (isinstance(m.get("public"), bool), "public")]
    for ok, key in checks:
        if not ok:
            raise Bad(f"manifest.json: '{key}' is missing or malformed")
    return m


def parse_line(n, line, m):
    """One line as an entry: structure only (the chain is walked in check_trail)."""
    where = f"line {n}"
    e = parse_json(line, where)
    if not isinstance(e, dict):
        raise Bad(f"{where}: not a JSON object")
    try:
        if has_float(e) or canonical(e) != line:
            raise Bad(f"{where}: not in canonical form (RFC 8785): the bytes were re-formatted or edited")
    except (UnicodeEncodeError, RecursionError):
        raise Bad(f"{where}: not in canonical form (RFC 8785)") from None
    if e.get("proposal") != m["proposal"]:
        raise Bad(f"{where}: names proposal {e.get('proposal')!r}, but manifest.json names {m['proposal']!r}: "
                  "the line comes from another trail, or the manifest was edited")
    if type(e.get("seq")) is not int or e["seq"] != n:
        raise Bad(f"{where}: seq is {e.get('seq')!r}, expected {n}: a line was removed, repeated or moved")
    if not is_hash(e.get("prev")):
        raise Bad(f"{where}: prev is not a sha256 hash")
    pathway = e.get("pathway")
    if not isinstance(pathway, dict) or pathway.get("sha256") != m["pathway"]["sha256"]:
        raise Bad(f"{where}: names another pathway version than manifest.json (sha256 "
                  f"{m['pathway']['sha256']})")
    if n == 1 and e.get("kind") != "intake":
        raise Bad(f"{where}: the first entry is a {e.get('kind')!r}, not the intake")
    return e


def check_trail(folder, m):
    """Walk the lines in order and return the entries; the first bad line raises ``Bad``."""
    data = read(folder, "trail.jsonl")
    if not data.endswith(b"\n"):
        raise Bad("trail.jsonl: empty, or the last line does not end with a newline (truncated?)")
    lines = data[:-1].split(b"\n")
    hashes = [leaf_hash(line) for line in lines]
    parsed = {}

    def entry(n):
        if n not in parsed:
            parsed[n] = parse_line(n, lines[n - 1], m)
        return parsed[n]

    def committed(n):
        """What the record says line n hashes to: the next line's prev, or the manifest's head."""
        return entry(n + 1)["prev"] if n < len(lines) else m["head"]

    if entry(1)["prev"] != GENESIS:
        raise Bad(f"line 1: prev is {entry(1)['prev']}, expected {GENESIS} for the first entry")
    for n in range(1, len(lines) + 1):
        actual, recorded = hashes[n - 1], committed(n)
        if actual == recorded:
            continue
        if n == len(lines) and n < m["entries"]:
            raise Bad(f"line {n + 1}: missing: trail.jsonl ends at line {n}, but manifest.json records "
                      f"{m['entries']} entries and a head that line {n} does not hash to")
        if n == len(lines):
            raise Bad(f"line {n} (the last): hashes to {actual}, but manifest.json records head {recorded}: "
                      "the line or the manifest's head was altered")
        # Line n+1 does not follow line n. If what comes after line n+1 still commits to it, line n+1 is
        # intact and line n was altered; otherwise line n+1 itself (its prev) was altered.
        try:
            next_intact = hashes[n] == committed(n + 1)
        except Bad:
            next_intact = False
        if next_intact:
            raise Bad(f"line {n}: altered: it hashes to {actual}, but line {n + 1} records prev {recorded}")
        raise Bad(f"line {n + 1}: altered: its prev {recorded} is not the hash of line {n} ({actual})")
    if len(lines) != m["entries"]:
        raise Bad(f"manifest.json: records {m['entries']} entries, but trail.jsonl has {len(lines)}")
    return [entry(n) for n in range(1, len(lines) + 1)]


def check_secrets(folder, m, entries):
    """Each kept confidential value against the salted hash its entry carries."""
    raw = read(folder, "secrets.json", required=False)
    if raw is None:
        if not m["public"] and any(salted(e) for e in entries):
            raise Bad("secrets.json: missing from a private bundle")
        return 0
    doc = parse_json(raw, "secrets.json")
    kept = doc.get("secrets") if isinstance(doc, dict) else None
    if not isinstance(kept, list):
        raise Bad("secrets.json: expected an object with a 'secrets' list")
    seen = set()
    for i, s in enumerate(kept, 1):
        where = f"secrets.json item {i}"
        if not (isinstance(s, dict) and type(s.get("seq")) is int and isinstance(s.get("field"), str)
                and isinstance(s.get("salt"), str) and "value" in s):
            raise Bad(f"{where}: expected seq, field, salt and value")
        seq, field = s["seq"], s["field"]
        target = salted(entries[seq - 1]).get(field) if 1 <= seq <= len(entries) else None
        if target is None:
            raise Bad(f"{where}: line {seq} has no salted hash for '{field}'")
        try:
            digest = hashlib.sha256(bytes.fromhex(s["salt"]) + canonical(nfc(s["value"]))).hexdigest()
        except (ValueError, UnicodeEncodeError, RecursionError):
            raise Bad(f"{where}: salt or value is malformed") from None
        if has_float(s["value"]) or digest != target:
            raise Bad(f"line {seq}: the kept value of confidential '{field}' does not match its salted hash")
        seen.add((seq, field))
    if not m["public"]:
        for e in entries:
            for field in salted(e):
                if (e["seq"], field) not in seen:
                    raise Bad(f"line {e['seq']}: no kept value for confidential '{field}' in secrets.json")
    return len(seen)


def salted(entry):
    """The ``{field: salted_sha256}`` of an entry's confidential inputs."""
    found = entry.get("input")
    if not isinstance(found, dict):
        return {}
    return {k: v["salted_sha256"] for k, v in found.items()
            if isinstance(v, dict) and isinstance(v.get("salted_sha256"), str)}


def check_attachments(folder, m, entries):
    """Files under attachments/ against the (sha256, size) the entries record."""
    recorded, needed = {}, set()
    for e in entries:
        refs = e.get("attachments")
        for a in refs if isinstance(refs, list) else []:
            if isinstance(a, dict) and is_hash(a.get("sha256")):
                recorded.setdefault(a["sha256"], (e["seq"], a.get("size")))
                needed.add(a["sha256"])
    base = os.path.join(folder, "attachments")
    names = sorted(os.listdir(base)) if os.path.isdir(base) else []
    for name in names:
        if name not in recorded:
            raise Bad(f"attachments/{name}: no entry records this attachment")
        content = read(folder, os.path.join("attachments", name))
        seq, size = recorded[name]
        if hashlib.sha256(content).hexdigest() != name or len(content) != size:
            raise Bad(f"line {seq}: attachments/{name} does not match the sha256 and size the entry records")
    missing = sorted(needed - set(names))
    if missing and not m["public"]:
        sha = min(missing, key=lambda s: recorded[s][0])
        raise Bad(f"line {recorded[sha][0]}: attachments/{sha} is missing from a private bundle")
    return len(names)


def check_rules(folder, m):
    """pathway.json is the canonical form of the rules whose sha256 the entries name."""
    rules = read(folder, "pathway.json")
    actual = hashlib.sha256(rules).hexdigest()
    if actual != m["pathway"]["sha256"]:
        raise Bad(f"pathway.json: hashes to {actual}, but the manifest and entries name "
                  f"{m['pathway']['sha256']}: the rules were changed")
    parse_json(rules, "pathway.json")


def main(argv):
    if len(argv) != 1 or not os.path.isdir(argv[0]):
        print("usage: python3 verify.py DIR   (DIR: an exported bundle folder)", file=sys.stderr)
        return 2
    folder = argv[0]
    try:
        m = load_manifest(folder)
        entries = check_trail(folder, m)
        values = check_secrets(folder, m, entries)
        files = check_attachments(folder, m, entries)
        check_rules(folder, m)
    except Bad as bad:
        print(f"FAILED: {bad}", file=sys.stderr)
        return 1
    kind = "public" if m["public"] else "private"
    print(f"ok: {m['proposal']}: {len(entries)} entries intact, head {m['head']} ({kind} bundle; "
          f"{values} confidential value(s), {files} attachment(s) and the rules in pathway.json re-checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
