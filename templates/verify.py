#!/usr/bin/env python3
"""Verify a procurement audit bundle offline: ``python3 -I verify.py DIR``.

Standard library only, no project code: a reviewer needs nothing but Python 3.

Each line of ``trail.jsonl`` (the proposal) and of ``registry.jsonl`` (the
city's users, role grants and publications) is one audit entry, the exact
bytes that were hashed: RFC 8785 (JSON Canonicalization Scheme) JSON. An
entry's hash is the RFC 6962 Merkle *leaf* hash of those bytes,
``sha256(0x00 || line)``, and every entry records the hash of the one before
it in its chain (``prev``; 64 zeros for the first).

Checked, stopping at the first problem:

1. ``registry.jsonl``: each line canonical, ``seq`` its line number, ``prev``
   the hash of the line before; replayed in order into who held which roles
   after each registry seq (``user``: the full role list after a grant;
   ``revoke``: what is left; ``publish``: the rules published;
   ``refusal``/``rebuild`` change nothing), each entry judged as the engine
   judges it (the first user is an admin; grants and revocations by an admin;
   publications by an admin or publisher; the last admin is never revoked);
2. ``trail.jsonl``: each line canonical, ``seq`` its line number, naming the
   manifest's proposal and pathway; each line's hash is the next line's
   ``prev`` (the last one's the manifest's ``head``); and, line by line as
   the links hold, the semantic replay by the rules in ``pathway.json``
   (which must hash to the sha256 line 1 names):

   - every entry names a registry position (``registry: {seq, head}``) that
     ``registry.jsonl`` holds with that exact hash (entry version 1, written
     before entries named one: the last registry entry at or before its time);
   - the intake names rules published at its position, enters ``initial``,
     is by a user known there and gives every required field;
   - a transition leaves the replayed stage (its ``from``) by a trigger of
     that stage and reaches that transition's ``to``; its actor held one of
     the transition's roles at the entry's registry position, and ``role``
     is the one the engine picks (the first allowed role held, in sorted
     order); the built-in actor ``clock`` fires only a stage's
     ``deadline.on_expiry`` trigger (or one that lists it), at or after the
     due time; the rationale, attachment and fields ``requires`` names are
     there, and only fields the transition ``updates`` are set; it records
     one condition per ``when`` check, with the same ``check`` text and
     ``cite``, each with ``result: true``;
   - a refusal was made from the replayed stage and gives reasons;
   - entry version 2 records when the stage was entered and when it is due:
     both must be what the replay computes;
   - entry version 3 records ``data``, the salted digest of the proposal's
     whole data after the entry; an entry that changes no field (a refusal,
     a transition that records nothing) carries the digest before it;
   - entry version 3 records with the due time the calendar it was counted
     on (``calendar: {sha256, zone, skipped}``): business days skip weekends
     and exactly the closed days listed in ``skipped``, counted on local dates
     in ``zone`` at the local time of day the stage was entered; ``until`` a
     date falls due at the start or end (``at``) of that day in ``zone``. The
     due time is re-derived from that record alone (whether the listed days
     are the city's holidays is the calendar's, whose sha256 is recorded);
   - a *redacted* line (public bundles only) stands for an entry left out
     whole because its hashed bytes quote a confidential value (recorded
     before staff text was checked): ``{"hash", "prev", "proposal",
     "reason", "redacted": true, "seq"}``. Its ``hash`` takes the place of
     the line's own in the walk, so the next line's ``prev`` must be it and
     the line before must hash to its ``prev`` (the chain links through it),
     and log.json must prove it a leaf of the signed tree; what it held is
     not re-judged, and the replay resumes from the next entry's own stage
     (``from``) and times, with the data it may have set unknown (a deadline
     until a date field is then taken as recorded) and, from then on, panel
     assignments, declarations and approvals not counted against the hidden
     history. The output lists each redacted line and its reason;

3. ``secrets.json`` (private bundles): each confidential value and its salt
   reproduce the ``salted_sha256`` its entry carries:
   ``sha256(salt || canonical JSON of the value)``; a private bundle must hold
   a value for every salted hash. The salt of the data digests (``:data``,
   kept with the chain's first version 3 entry) reproduces each entry's
   ``data`` digest from the data the entries set, values in clear:
   ``sha256(salt || canonical JSON of the data)``;
4. ``attachments/<sha256>``: each file's sha256 and size match an entry's
   attachment; a private bundle holds the file of every attachment recorded
   (refused attempts included: what was attempted is evidence too);
5. the registry's end against the manifest (see below);
6. ``log.json`` (bundles exported under the city's transparency log): the
   checkpoint (a C2SP tlog-checkpoint in a C2SP signed note) is signed,
   Ed25519 as RFC 8032 §5.1.7 verifies it, by the key(s) in log.json (or by
   the key given with ``--key``), and each line of ``trail.jsonl`` and of
   ``registry.jsonl`` is a leaf of the checkpoint's tree: its RFC 9162
   §2.1.3.2 inclusion proof leads from the line's hash to the signed root at
   the signed size. The key's fingerprint (name, key ID, sha256 of the
   public key) and the checkpoint's origin are printed: a signature proves
   only that *this* key signed, so compare the fingerprint with the key the
   city publishes. A bundle without log.json (from a database that had no
   log) verifies, and the output says it has no outside witness.

The Merkle, Ed25519 and signed-note verifiers are not written here: at
export, the ``BEGIN LOG VERIFIERS`` stub below is replaced by the engine's
own stdlib verifiers (``engine/transparency``, ``standalone_source()``), so
the bundle runs the code the engine's tests run. This template alone checks
everything but log.json.

What is *not* re-checked here: the guards' CEL expressions are not evaluated
(that needs a CEL runtime; ``pathways verify`` does it), so a condition's
``result: true`` is taken as recorded, but it must be recorded, for every
``when`` check, and true. A refusal's reasons are not re-derived either.

The manifest is not trusted for anything the bundle can compute. It is read
for: ``proposal`` and ``pathway.sha256`` (every line must name them, so an
edit shows), ``entries`` and ``head`` (nothing inside a chain commits to its
own last entry: the manifest is the only place the end is written, so a
removed last line is caught only against it), ``public`` (whether secrets
and files must be present), and ``registry.entries``/``registry.head`` (the
end of the registry, checked last: entries of version 2 commit to the
registry position they acted under, which is checked first; for version 1
entries the manifest is the only witness of the registry's end). An
attacker who rewrites a bundle *and* its manifest consistently passes every
check above: that is what log.json is for (step 6). A rewritten line is not
a leaf of the city's signed tree, so its proof fails, unless the attacker
also signs a new checkpoint, with a key of their own, which then shows in
the fingerprint printed (or fails outright with ``--key``). A bundle with no
log.json has no such witness: see README.txt.

Limits, said plainly:

- Files are read only if they are regular files (not a device, a pipe or a
  folder, even behind a symlink), a line at most ``MAX_LINE`` bytes and a
  file at most ``MAX_FILE``: a bundle pointing ``trail.jsonl`` at
  ``/dev/zero`` fails cleanly instead of filling memory.
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
- A deadline ``until`` a confidential date cannot be computed from a public
  bundle: the due time the entry records is taken as is there. So is one
  whose time zone this Python has no data for (``zoneinfo`` needs the
  system's time zone files or the ``tzdata`` package).
- ``report.html`` is a rendering for reading, not part of the record.

Usage: ``python3 -I verify.py DIR [--key NAME+KEYID+KEY]``; with ``--key``
(the verifier key the city publishes) only that key is trusted, so a
checkpoint signed by any other key fails.

Exit status: 0 intact; 1 a check failed (the first bad line and why on
stderr, as ``FAILED: line N: why``, or the file at fault); 2 unusable
arguments.
"""

from __future__ import annotations  # the log verifiers' annotations, inserted at export

import bisect
import datetime
import hashlib
import json
import os
import re
import stat
import sys
import unicodedata
import zoneinfo

LEAF_PREFIX = b"\x00"  # RFC 6962 section 2.1: leaf hashes are prefixed with 0x00
GENESIS = "0" * 64  # prev of the first entry
HEX = set("0123456789abcdef")
#: The longest line read (an entry is a few kB; a 300 MB "line" is an attack, not a record).
MAX_LINE = 16 * 1024 * 1024
#: The largest file read (the engine refuses attachments over 50 MiB; trails are far smaller).
MAX_FILE = 512 * 1024 * 1024
CLOCK = "clock"  # the built-in actor that fires deadline triggers
#: How a redacted line begins: its keys in canonical order start with "hash", which no entry has (every entry
#: has "actor", which sorts first), so a line is told apart without parsing it.
REDACTED_PREFIX = b'{"hash":"'
REDACTED_KEYS = {"hash", "prev", "proposal", "reason", "redacted", "seq"}
ADMIN = "admin"
PUBLISHER = "publisher"
PANEL = ("assign", "declare", "score", "consensus")  # an evaluation panel's actions (engine/evaluation/)
KINDS = ("intake", "transition", "refusal", "approval") + PANEL
UTC = datetime.timezone(datetime.timedelta(0))  # not datetime.UTC: that needs Python 3.11


class Bad(Exception):
    """A failed check: where (``line N``, or a file name) and why."""


# --- the log's verifiers: Merkle proofs (RFC 9162), Ed25519 (RFC 8032), signed notes (C2SP) ---------
#
# Export replaces everything from BEGIN to END LOG VERIFIERS with engine.transparency's
# standalone_source(): verify_inclusion, ed25519_verify, VerifierKey, parse_note, open_checkpoint and
# their MerkleError and NoteError (subclasses of Bad). The stub here only keeps the template itself
# runnable: it checks everything but log.json.

# BEGIN LOG VERIFIERS
class MerkleError(Bad):
    pass


class NoteError(Bad):
    pass


def _not_exported(*_args):
    raise NoteError("this is templates/verify.py, not a bundle's: the log's verifiers are inserted at export")


class VerifierKey:
    parse = staticmethod(_not_exported)


parse_note = open_checkpoint = verify_inclusion = ed25519_verify = _not_exported
# END LOG VERIFIERS


# --- small helpers --------------------------------------------------------------------------------


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


# --- reading files, bounded ---------------------------------------------------------------------


def open_regular(folder, name, limit=None):
    """An open binary file, refused unless it is a regular file of at most ``limit`` bytes.

    Checked before opening (a FIFO would block ``open``) and again on the open
    descriptor (the name could be swapped in between).
    """
    path = os.path.join(folder, name)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise Bad(f"{name}: not a regular file (a device, pipe or folder): refused")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise Bad(f"{name}: cannot read ({exc.strerror})") from None
    f = os.fdopen(fd, "rb")
    info = os.fstat(fd)
    limit = MAX_FILE if limit is None else limit
    if not stat.S_ISREG(info.st_mode):
        f.close()
        raise Bad(f"{name}: not a regular file (a device, pipe or folder): refused")
    if info.st_size > limit:
        f.close()
        raise Bad(f"{name}: {info.st_size} bytes, over the {limit} bytes a bundle file may have: refused")
    return f


def read(folder, name, required=True):
    """A whole (small) file, or None when it is absent and not required."""
    if not required and not os.path.lexists(os.path.join(folder, name)):
        return None
    with open_regular(folder, name) as f:
        data = f.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise Bad(f"{name}: grew past {MAX_FILE} bytes while read: refused")
    return data


def read_lines(folder, name, label):
    """The lines of a JSONL file (without newlines), each at most MAX_LINE bytes, read one at a time.

    ``label`` names a line in messages (``line`` or ``registry.jsonl line``).
    The file must be non-empty and end with a newline (a truncated file does not).
    """
    lines, total = [], 0
    with open_regular(folder, name) as f:
        while True:
            line = f.readline(MAX_LINE + 1)
            if not line:
                break
            total += len(line)
            if total > MAX_FILE:
                raise Bad(f"{name}: grew past {MAX_FILE} bytes while read: refused")
            if not line.endswith(b"\n"):
                if len(line) > MAX_LINE:
                    raise Bad(f"{label} {len(lines) + 1}: longer than {MAX_LINE} bytes: not an entry, refused")
                raise Bad(f"{name}: empty, or the last line does not end with a newline (truncated?)")
            lines.append(line[:-1])
    if not lines:
        raise Bad(f"{name}: empty, or the last line does not end with a newline (truncated?)")
    return lines


def load_manifest(folder):
    m = parse_json(read(folder, "manifest.json"), "manifest.json")
    if not isinstance(m, dict):
        raise Bad("manifest.json: not a JSON object")
    p, r = m.get("pathway"), m.get("registry")
    checks = [(isinstance(m.get("proposal"), str) and m["proposal"], "proposal"),
              (type(m.get("entries")) is int and m["entries"] >= 1, "entries"),
              (is_hash(m.get("head")), "head"),
              (isinstance(p, dict) and is_hash(p.get("sha256")), "pathway.sha256"),
              (isinstance(m.get("public"), bool), "public"),
              (isinstance(r, dict) and type(r.get("entries")) is int and r["entries"] >= 0
               and is_hash(r.get("head")), "registry")]
    for ok, key in checks:
        if not ok:
            raise Bad(f"manifest.json: '{key}' is missing or malformed")
    return m


def parse_canonical(line, where):
    """One line as a JSON object in canonical form."""
    e = parse_json(line, where)
    if not isinstance(e, dict):
        raise Bad(f"{where}: not a JSON object")
    try:
        if has_float(e) or canonical(e) != line:
            raise Bad(f"{where}: not in canonical form (RFC 8785): the bytes were re-formatted or edited")
    except (UnicodeEncodeError, RecursionError):
        raise Bad(f"{where}: not in canonical form (RFC 8785)") from None
    return e


def is_redacted(e):
    return e.get("redacted") is True


def parse_redacted(n, line, m):
    """A line standing for an entry left out of a public bundle: exactly its keys, in canonical form."""
    where = f"line {n}"
    e = parse_canonical(line, where)
    if set(e) != REDACTED_KEYS or not is_redacted(e) or not (is_hash(e["hash"]) and is_hash(e["prev"])) or not (
            isinstance(e["reason"], str) and e["reason"].strip()):
        raise Bad(f"{where}: a redacted line must hold exactly hash, prev, proposal, reason, redacted: true and seq")
    if not m["public"]:
        raise Bad(f"{where}: redacted, but this is a private bundle, which holds every entry whole")
    if e["proposal"] != m["proposal"]:
        raise Bad(f"{where}: names proposal {e['proposal']!r}, but manifest.json names {m['proposal']!r}")
    if type(e["seq"]) is not int or e["seq"] != n:
        raise Bad(f"{where}: seq is {e['seq']!r}, expected {n}: a line was removed, repeated or moved")
    return e


def parse_line(n, line, m):
    """One trail line as an entry: structure only (the chain is walked in check_trail)."""
    where = f"line {n}"
    if line.startswith(REDACTED_PREFIX):
        return parse_redacted(n, line, m)
    e = parse_canonical(line, where)
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


def check_trail(folder, m, judge=None, hashes_out=None):
    """Walk the lines in order and return the entries; the first bad line raises ``Bad``.

    ``hashes_out`` (a list) receives each line's hash, for the log's proofs.

    ``judge(entry)`` (the semantic replay) is called on each line once its
    link is shown intact, so a lawful-looking chain with one unlawful entry
    fails at that entry, and a broken link fails where it breaks.
    """
    lines = read_lines(folder, "trail.jsonl", "line")
    parsed = {}
    # A redacted line stands for its entry by the hash it states (the entry's bytes are not in the bundle).
    for n, line in enumerate(lines, 1):
        if line.startswith(REDACTED_PREFIX):
            parsed[n] = parse_redacted(n, line, m)
    hashes = [parsed[n]["hash"] if n in parsed else leaf_hash(line) for n, line in enumerate(lines, 1)]
    if hashes_out is not None:
        hashes_out.extend(hashes)

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
            if judge is not None:
                judge(entry(n))
            continue
        if n == len(lines) and n < m["entries"]:
            raise Bad(f"line {n + 1}: missing: trail.jsonl ends at line {n}, but manifest.json records "
                      f"{m['entries']} entries and a head that line {n} does not hash to")
        if n == len(lines):
            raise Bad(f"line {n} (the last): hashes to {actual}, but manifest.json records head {recorded}: "
                      "the line or the manifest's head was altered")
        # Line n+1 does not follow line n. If what comes after line n+1 still commits to it, line n+1 is
        # intact and line n was altered; otherwise line n+1 itself (its prev) was altered. A redacted line's
        # hash does not cover the prev it states, so then either may be at fault.
        if (n + 1) in parsed and is_redacted(parsed[n + 1]):
            raise Bad(f"line {n + 1} (redacted) states prev {recorded}, but line {n} hashes to {actual}: the "
                      f"redacted line or line {n} was altered")
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


# --- the registry: who held which roles when ----------------------------------------------------

USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
ROLE_NAME = re.compile(r"[a-z][a-z0-9_]*")


class Registry:
    """The registry chain replayed: roles per user after each registry seq, and what was published when."""

    def __init__(self):
        self.hashes, self.ats = [], []
        self.last_version = 1
        self.changes = {}  # user -> [(registry seq, roles held from then on)]
        self.publications = {}  # (pathway id, version) -> (sha256, registry seq)

    @property
    def seq(self):
        return len(self.hashes)

    def hash_at(self, seq):
        """The hash of registry entry ``seq`` (GENESIS for 0), or None if the bundle does not hold it."""
        if seq == 0:
            return GENESIS
        return self.hashes[seq - 1] if type(seq) is int and 1 <= seq <= self.seq else None

    def position_at_time(self, at):
        """The last registry seq recorded at or before ``at`` (for entries of version 1)."""
        return bisect.bisect_right(self.ats, at)

    def roles(self, name, seq=None):
        """The roles ``name`` held after registry entry ``seq`` (the end by default); None: not a user."""
        changes = self.changes.get(name) if isinstance(name, str) else None
        at, held = self.seq if seq is None else seq, None
        for changed, roles in changes or ():
            if changed > at:
                break
            held = roles
        return held

    def admins(self):
        return {name for name in self.changes if ADMIN in self.roles(name)}

    def apply(self, e, where):
        """Judge the next registry entry as the engine does, and record the role changes it makes."""
        kind, actor, v = e.get("kind"), e.get("actor"), e.get("v", 1)
        if not isinstance(e.get("at"), str):
            raise Bad(f"{where}: the entry has no time")
        if type(v) is not int or v not in (1, 2, 3) or not isinstance(kind, str) or not isinstance(actor, str):
            raise Bad(f"{where}: the entry is malformed: its format version, kind or actor is not one the engine "
                      "writes")
        for key in ("input", "pathway"):
            if not isinstance(e.get(key), (dict, type(None))):
                raise Bad(f"{where}: the entry is malformed: '{key}' holds a {type(e.get(key)).__name__}")
        if v < self.last_version:
            raise Bad(f"{where}: the entry is in format version {v}, older than the entry before it")
        self.last_version = v
        before = self.roles(actor)
        is_admin = ADMIN in (before or ())
        changes = {}
        if kind in ("user", "revoke"):
            target = e.get("input") if isinstance(e.get("input"), dict) else {}
            name, roles = target.get("name"), target.get("roles")
            if not (isinstance(name, str) and USER_NAME.fullmatch(name) and name != CLOCK and isinstance(roles, list)
                    and all(isinstance(r, str) and ROLE_NAME.fullmatch(r) and r != CLOCK for r in roles)):
                raise Bad(f"{where}: the entry names no valid user and roles")
            new, old = frozenset(roles), self.roles(name) or frozenset()
            if kind == "user":
                if not self.changes and ADMIN not in new:
                    raise Bad(f"{where}: the first user {name} was not given the '{ADMIN}' role")
                if self.changes and not is_admin:
                    raise Bad(f"{where}: {actor} granted roles to {name} without holding '{ADMIN}' at that moment")
                if not new > old:
                    raise Bad(f"{where}: a grant to {name} must add roles to those held ({', '.join(sorted(old))})")
            else:
                if not is_admin:
                    raise Bad(f"{where}: {actor} revoked roles of {name} without holding '{ADMIN}' at that moment")
                if name not in self.changes or not new < old:
                    raise Bad(f"{where}: a revocation must remove roles {name} held ({', '.join(sorted(old))})")
                if ADMIN in old and ADMIN not in new and self.admins() == {name}:
                    raise Bad(f"{where}: the last admin ({name}) was revoked")
            changes[name] = new
        elif kind == "publish":
            p = e.get("pathway") if isinstance(e.get("pathway"), dict) else {}
            key = (p.get("id"), p.get("version"))
            if not (isinstance(key[0], str) and type(key[1]) is int and is_hash(p.get("sha256"))):
                raise Bad(f"{where}: the publish entry names no pathway (id, version, sha256)")
            if before is None or (v >= 2 and not before & {ADMIN, PUBLISHER}):
                raise Bad(f"{where}: {actor} published {key[0]} v{key[1]} without the '{ADMIN}' or "
                          f"'{PUBLISHER}' role" + ("" if before is not None else " (not a user)"))
            if key in self.publications:
                raise Bad(f"{where}: {key[0]} v{key[1]} was already published at registry seq "
                          f"{self.publications[key][1]}")
            self.publications[key] = (p["sha256"], self.seq + 1)
        elif kind == "refusal":
            if not e.get("reasons"):
                raise Bad(f"{where}: a refusal that gives no reason")
        elif kind == "rebuild":
            if not is_admin:
                raise Bad(f"{where}: {actor} rebuilt the caches without holding '{ADMIN}'")
        else:
            raise Bad(f"{where}: unknown kind of registry entry {kind!r}")
        for name, roles in changes.items():
            self.changes.setdefault(name, []).append((self.seq + 1, roles))


def check_registry(folder):
    """Walk and replay registry.jsonl; returns the replay (its last line is checked against what commits to it)."""
    lines = read_lines(folder, "registry.jsonl", "registry.jsonl line")
    reg = Registry()
    for n, line in enumerate(lines, 1):
        where = f"registry.jsonl line {n}"
        e = parse_canonical(line, where)
        if e.get("proposal") != "registry":
            raise Bad(f"{where}: names chain {e.get('proposal')!r}, not the registry")
        if type(e.get("seq")) is not int or e["seq"] != n:
            raise Bad(f"{where}: seq is {e.get('seq')!r}, expected {n}: a line was removed, repeated or moved")
        prev = reg.hash_at(n - 1)
        if e.get("prev") != prev:
            raise Bad(f"{where}: altered, or the line before it was: its prev is {e.get('prev')}, but line "
                      f"{n - 1} hashes to {prev}" if n > 1 else f"{where}: prev is {e.get('prev')}, expected "
                      f"{GENESIS} for the first entry")
        reg.apply(e, where)
        reg.hashes.append(leaf_hash(line))
        reg.ats.append(e["at"])
    return reg


def check_registry_end(m, reg):
    """The registry ends where the manifest says (the only witness of its end for version 1 entries)."""
    want = m["registry"]
    if (reg.seq, reg.hash_at(reg.seq)) != (want["entries"], want["head"]):
        raise Bad(f"registry.jsonl: ends at seq {reg.seq} ({reg.hash_at(reg.seq)}), but manifest.json records "
                  f"{want['entries']} entries and head {want['head']}: registry lines were removed or added")


# --- the proposal replayed by its rules -----------------------------------------------------------


#: The engine's one time format (UTC, microseconds, Z): times then compare as text, and an offset such as
#: +14:00 cannot make a moment look later than it is.
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
#: How long after a registry entry (a revocation) an entry may still act under the position before it (as
#: the engine's replay allows: a commit's length, and clock differences between the engine's hosts).
STALE_AFTER = datetime.timedelta(seconds=60)
#: The type each key of an entry must have when present.
TYPES = {"kind": (str,), "actor": (str,), "at": (str,), "role": (str, type(None)), "trigger": (str, type(None)),
         "from": (str, type(None)), "to": (str, type(None)), "pathway": (dict,), "conditions": (list,),
         "rationale": (str, dict, type(None)), "input": (dict,), "attachments": (list,), "reasons": (list,),
         "registry": (dict, type(None)), "entered": (str,), "due": (str, type(None)), "refused_inputs": (list,),
         "data": (dict,), "calendar": (dict, type(None))}
#: The secrets.json field of the salt of a chain's data digests (entry version 3).
DATA_SALT = ":data"


def malformed(e):
    """Why an entry's shape is not one the engine writes (None: it is); the same rule as the engine's."""
    if type(e.get("v")) is not int or e["v"] not in (1, 2, 3):
        return f"format version {e.get('v')!r} is not one this verifier knows (1, 2 or 3)"
    for key in ("kind", "actor", "pathway", "at", "input", "conditions", "attachments"):
        if key not in e:
            return f"'{key}' is missing"
    for key, types in TYPES.items():
        if key in e and not isinstance(e[key], types):
            return f"'{key}' holds a {type(e[key]).__name__}"
    for key in ("at", "entered", "due"):
        if isinstance(e.get(key), str) and not TIME.fullmatch(e[key]):
            return f"'{key}' is not a time as the engine writes it (YYYY-MM-DDTHH:MM:SS.ffffffZ)"
    for key in ("conditions", "attachments"):
        if not all(isinstance(x, dict) for x in e.get(key) or ()):
            return f"'{key}' holds something other than objects"
    if e["v"] >= 3 and e.get("proposal") != "registry" and not data_digest(e):
        return "a version 3 entry lacks the salted digest of the proposal's data"
    record = e.get("calendar")
    if e["v"] >= 3 and e.get("proposal") != "registry" and "calendar" not in e:
        return "a version 3 entry lacks the calendar its due time was counted on"
    if record is not None and not (set(record) == {"sha256", "zone", "skipped"} and isinstance(record["zone"], str)
                                   and isinstance(record["skipped"], list)
                                   and all(isinstance(d, str) for d in record["skipped"])):
        return "'calendar' is not {sha256, zone, skipped}"
    return None


def data_digest(e):
    """The ``data`` digest a version 3 proposal entry records (None when it has none of that shape)."""
    d = e.get("data")
    if isinstance(d, dict) and set(d) == {"salted_sha256"} and isinstance(d["salted_sha256"], str):
        return d["salted_sha256"]
    return None


def parse_time(at, where):
    try:
        moment = datetime.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except (AttributeError, TypeError, ValueError):
        raise Bad(f"{where}: the entry has no valid time ({at!r})") from None
    if moment.tzinfo is None:
        raise Bad(f"{where}: the entry's time {at!r} has no time zone")
    return moment


def timestamp(moment):
    """The engine's time format: UTC with microseconds and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def due_at(deadline, data, entered):
    """When a stage entered at ``entered`` is due, as the engine computes it ("" for no deadline;
    None when this bundle cannot tell: a deadline until a confidential date). Business days skip
    Saturdays and Sundays; ``until`` a date ends at the end of that day, UTC."""
    if not isinstance(deadline, dict):
        return ""
    business, calendar = deadline.get("business_days"), deadline.get("calendar_days")
    try:
        if business:
            out, days = entered, int(business)
            if days > 100000:
                return None
            while days > 0:
                out += datetime.timedelta(days=1)
                if out.weekday() < 5:
                    days -= 1
            return timestamp(out)
        if calendar:
            return timestamp(entered + datetime.timedelta(days=int(calendar)))
        if data is None:  # the data is not known here (an entry before was redacted): the entry says
            return None
        value = data.get(deadline.get("until") or "") if isinstance(deadline.get("until") or "", str) else None
        if not value:
            return ""
        day = datetime.date.fromisoformat(value) + datetime.timedelta(days=1)
        return timestamp(datetime.datetime(day.year, day.month, day.day, tzinfo=UTC))
    except (TypeError, ValueError, OverflowError):
        return None


def calendar_due(deadline, data, entered, record):
    """Entry version 3: the due time the entry's calendar record gives, as the engine counts it, and the
    closed days the count passes over (("", []) for no deadline; None when this bundle cannot tell)."""
    if not isinstance(deadline, dict):
        return "", []
    try:
        zone = UTC if record is None else zoneinfo.ZoneInfo(record["zone"])
        closed = set() if record is None else {datetime.date.fromisoformat(d) for d in record["skipped"]}
        business, calendar = deadline.get("business_days"), deadline.get("calendar_days")
        if business:
            local, left, passed = entered.astimezone(zone), int(business), []
            if left > 100000:
                return None
            day = local.date()
            while left > 0:
                day += datetime.timedelta(days=1)
                if day.weekday() >= 5:
                    continue
                if day in closed:
                    passed.append(day.isoformat())
                else:
                    left -= 1
            return timestamp(local + datetime.timedelta(days=(day - local.date()).days)), passed
        if calendar:
            return timestamp(entered + datetime.timedelta(days=int(calendar))), []
        value = data.get(deadline.get("until") or "") if isinstance(deadline.get("until") or "", str) else None
        if not value:
            return "", []
        day = datetime.date.fromisoformat(value) + datetime.timedelta(days=0 if deadline.get("at") == "start" else 1)
        return timestamp(datetime.datetime(day.year, day.month, day.day, tzinfo=zone)), []
    except (TypeError, ValueError, KeyError, OverflowError, zoneinfo.ZoneInfoNotFoundError):
        return None


def rules_shape(rules):
    """Why ``pathway.json`` is not the shape of a pathway's rules (None: it is)."""
    if not isinstance(rules, dict):
        return "not a JSON object"
    stages, transitions = rules.get("stages"), rules.get("transitions")
    if not (isinstance(stages, dict) and all(isinstance(s, dict) for s in stages.values())):
        return "'stages' is not a mapping of stages"
    if not isinstance(rules.get("initial"), str) or not isinstance(rules.get("fields", {}), dict):
        return "'initial' or 'fields' is malformed"
    for s in stages.values():
        if s.get("deadline") is not None and not isinstance(s["deadline"], dict):
            return "a stage's 'deadline' is not a mapping"
    if not isinstance(transitions, list):
        return "'transitions' is not a list"
    for t in transitions:
        sources = t.get("from") if isinstance(t, dict) else None
        if not (isinstance(t, dict) and isinstance(t.get("trigger"), str) and isinstance(t.get("to"), str)
                and (isinstance(sources, str) or isinstance(sources, list) and all(isinstance(s, str) for s in sources))
                and all(isinstance(t.get(k, []), list) and all(isinstance(x, str) for x in t.get(k, []))
                        for k in ("roles", "requires", "updates"))
                and isinstance(t.get("when", []), list)
                and all(isinstance(w, dict) and isinstance(w.get("check"), str) for w in t.get("when", []))):
            return "a transition is malformed"
    return None


def check_rules(folder, sha256):
    """pathway.json is the canonical form of the rules whose sha256 the entries name; returns them parsed."""
    data = read(folder, "pathway.json")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise Bad(f"pathway.json: hashes to {actual}, but the manifest and entries name {sha256}: "
                  "the rules were changed")
    rules = parse_json(data, "pathway.json")
    problem = rules_shape(rules)
    if problem:
        raise Bad(f"pathway.json: {problem}")
    return rules


class Replay:
    """The proposal's entries re-judged one by one by the rules in pathway.json (no CEL needed).

    Holds the replayed stage, when it was entered and is due, and the data as
    the entries set it; ``judge`` raises ``Bad`` at the first unlawful entry.
    """

    def __init__(self, folder, registry):
        self.folder, self.registry = folder, registry
        self.rules, self.index, self.pin = None, {}, None
        self.stage = self.entered = ""
        self.due = ""  # None: this bundle cannot compute it
        self.calendar = None  # the calendar record the due time was counted on (entry version 3)
        self.data = {}  # None once a redacted entry may have changed it
        self.version, self.last_at, self.last_position = 1, "", 0
        self.gap = False  # the entry before was redacted: the next one's own stage and times are taken
        self.redacted = []  # (line, reason) of each redacted line
        #: A redacted entry came before: what it did (a panel's assignment or declaration, an approval) is not
        #: known here, so checks that count on the whole history (who is assigned, how many approvals) pass.
        self.partial = False
        self.panels = {}  # stage -> {"assigned": set, "declared": {name: conflict}}
        self.fired, self.approvals = {}, {}  # trigger -> who fired it; this stage visit's approvals
        self.digest = None  # the data digest of the entry before (version 3)

    def roles_for(self, stage, t):
        """Who may fire ``t`` from ``stage``: its roles, and the clock when the stage's deadline names it."""
        roles = list(t.get("roles", []))
        deadline = self.rules["stages"].get(stage, {}).get("deadline") or {}
        on_expiry = deadline.get("on_expiry", "escalate")
        if deadline and on_expiry not in ("escalate", "notify") and on_expiry == t["trigger"] and CLOCK not in roles:
            roles.append(CLOCK)
        return roles

    def position(self, e, where, v):
        """The registry seq the entry acted under; registry.jsonl must hold it with the hash the entry names."""
        named = e.get("registry")
        if named is None and v < 2:
            return self.registry.position_at_time(e["at"])
        seq, head = (named.get("seq"), named.get("head")) if isinstance(named, dict) else (None, None)
        if type(seq) is not int or self.registry.hash_at(seq) != head:
            raise Bad(f"{where}: the entry acted under registry entry {seq} ({head}), which registry.jsonl does "
                      "not hold with that hash: registry entries it relied on were removed or replaced")
        return seq

    def judge(self, e):
        n, kind, v = e["seq"], e.get("kind"), e.get("v", 1)
        where = f"line {n}"
        if is_redacted(e):
            self.redacted.append((n, e["reason"]))
            self.gap, self.partial, self.data, self.due = True, True, None, None
            return
        problem = malformed(e)
        if problem:
            raise Bad(f"{where}: the entry is malformed: {problem}")
        if v >= 2 and not all(k in e for k in ("registry", "entered", "due")):
            raise Bad(f"{where}: a version 2 entry lacks its registry position, stage entry time or due time")
        if kind not in KINDS:
            raise Bad(f"{where}: unknown kind of entry {kind!r}")
        parse_time(e.get("at"), where)
        if v < self.version or e["at"] < self.last_at:
            raise Bad(f"{where}: the entry is older than the one before it (format version {v}, dated {e['at']})")
        position = self.position(e, where, v)
        if position < self.last_position:
            raise Bad(f"{where}: the entry acted under registry seq {position}, older than the entry before it "
                      f"(seq {self.last_position})")
        current = self.registry.position_at_time(timestamp(parse_time(e["at"], where) - STALE_AFTER))
        if v >= 2 and position < current:
            raise Bad(f"{where}: the entry acted under registry seq {position}, but registry seq {current} had been "
                      "recorded more than 60 s before it: a revoked role cannot be used by naming an older position")
        self.version, self.last_at, self.last_position = v, e["at"], position
        if not isinstance(e.get("input", {}), dict):
            raise Bad(f"{where}: the entry's input is not an object")
        if self.gap:
            self.resume(e, where, position, v)
        before = self.stage
        if n == 1:
            self.intake(e, where, position)
        elif kind == "intake":
            raise Bad(f"{where}: a second intake entry in one trail")
        elif e.get("pathway") != self.pin:
            raise Bad(f"{where}: names another pathway version than the intake pinned")
        elif kind in PANEL or (kind == "refusal" and "action" in e):
            self.panel(e, where, position)
        else:
            self.step(e, where, position)
        stage = self.rules["stages"].get(self.stage, {})
        if v >= 3:
            if self.data is None or self.entered is None:  # after a redacted line: the times are taken as recorded
                self.entered, self.due, self.calendar = e.get("entered"), e.get("due") or "", e.get("calendar")
            else:
                self.counted(e, where, stage, kind == "intake" or kind == "transition" and (
                    self.stage != before or bool(e.get("input"))))
            self.carried(e, where, kind)
            return
        due = None if self.entered is None else due_at(stage.get("deadline"), self.data,
                                                       parse_time(self.entered, where))
        if v >= 2:
            if due is None:
                due = e.get("due") or ""
            if e.get("entered") != self.entered or (e.get("due") or "") != due:
                raise Bad(f"{where}: the entry records the stage entered at {e.get('entered')} and due "
                          f"{e.get('due')}, but the replay gives {self.entered} and {due or None}")
        self.due = due

    def carried(self, e, where, kind):
        """Entry version 3: an entry that changes no field carries the data digest of the entry before it."""
        carried = kind not in ("intake", "transition") or (kind == "transition" and not e.get("input"))
        if carried and self.digest is not None and data_digest(e) != self.digest:
            raise Bad(f"{where}: the entry changes no field, but its digest of the proposal's data is not the "
                      "one the entry before records")
        self.digest = data_digest(e)

    def counted(self, e, where, stage, recount):
        """Entry version 3: a due time set by this entry is the one its own calendar record gives; one carried
        over (a refusal, a step that changes neither stage nor data) keeps the record it was counted on."""
        record = e.get("calendar")
        if recount:
            found = calendar_due(stage.get("deadline"), self.data, parse_time(self.entered, where), record)
            due, passed = found if found is not None else (e.get("due") or "", record["skipped"] if record else [])
            if (record is None) != (due == ""):
                raise Bad(f"{where}: the entry records {'no calendar' if record is None else 'a calendar'} for "
                          f"{'a due time' if due else 'a stage with no due time'}")
            if record is not None and passed != record.get("skipped"):
                raise Bad(f"{where}: the entry records {record.get('skipped')} as the closed days its deadline "
                          f"skips, but counting on them passes over {passed}")
            self.calendar = record
        else:
            due = self.due if self.due is not None else e.get("due") or ""
            if record != self.calendar:
                raise Bad(f"{where}: the entry records its due time as counted on calendar {record}, but it was "
                          f"counted on {self.calendar}")
        if e.get("entered") != self.entered or (e.get("due") or "") != (due or ""):
            raise Bad(f"{where}: the entry records the stage entered at {e.get('entered')} and due "
                      f"{e.get('due')}, but the replay gives {self.entered} and {due or None}")
        self.due = due

    def resume(self, e, where, position, v):
        """The first entry after redacted ones: the replay takes its stage (``from``) and, for version 2, the
        time it records the stage was entered; the data stays unknown (the redacted entries may have set it)."""
        self.gap = False
        if self.rules is None:  # line 1, the intake, was redacted: the rules are the ones this entry names
            if e.get("kind") == "intake":
                raise Bad(f"{where}: an intake entry after line 1")
            self.load_rules(e, where, position)
        if e.get("from") not in self.rules["stages"]:
            raise Bad(f"{where}: the entry moves from {e.get('from')!r}, which is not a stage of the rules")
        self.stage = e["from"]
        self.entered = e.get("entered") if v >= 2 else None
        self.digest = None  # the redacted entries may have changed the data: the next digest is taken as given

    def load_rules(self, e, where, position):
        """The pinned rules, indexed; they must be published by the position the entry acted under."""
        pin = e["pathway"]
        self.rules, self.pin = check_rules(self.folder, pin["sha256"]), pin
        for t in self.rules["transitions"]:
            for source in [t["from"]] if isinstance(t["from"], str) else t["from"]:
                self.index[(source, t["trigger"])] = t
        published = self.registry.publications.get((pin.get("id"), pin.get("version")))
        if (published is None or published[0] != pin["sha256"] or published[1] > position
                or (self.rules.get("id"), self.rules.get("version")) != (pin.get("id"), pin.get("version"))):
            raise Bad(f"{where}: the {'intake' if e.get('kind') == 'intake' else 'entry'} names {pin.get('id')} "
                      f"v{pin.get('version')} ({pin['sha256']}), which the registry had not published at the "
                      f"position it acted under (seq {position})")

    def intake(self, e, where, position):
        self.load_rules(e, where, position)
        actor = e.get("actor")
        if actor == CLOCK or self.registry.roles(actor, position) is None:
            raise Bad(f"{where}: the intake is by {actor!r}, who was not a user at registry seq {position}")
        if e.get("to") != self.rules["initial"]:
            raise Bad(f"{where}: the intake enters {e.get('to')!r}, but the rules start in "
                      f"{self.rules['initial']!r}")
        fields, inputs = self.rules.get("fields", {}), e.get("input", {})
        unknown = sorted(k for k in inputs if k not in fields)
        missing = sorted(k for k, f in fields.items() if isinstance(f, dict) and f.get("required")
                         and inputs.get(k) in (None, ""))
        if unknown or missing:
            raise Bad(f"{where}: the intake's data is not what the rules accept: "
                      + "; ".join([f"'{k}' is not a field" for k in unknown] + [f"'{k}' is required" for k in missing]))
        self.stage, self.entered, self.data = self.rules["initial"], e["at"], dict(inputs)

    def panel(self, e, where, position):
        """An evaluation action: in its panel's stage rules, by a user; scores only by a declared,
        unrecused, assigned evaluator while the proposal is in that stage (the engine's replay judges the rest)."""
        kind, actor, stage = e.get("kind"), e.get("actor"), e.get("stage")
        if e.get("from") != self.stage:
            raise Bad(f"{where}: the entry acts from {e.get('from')!r}, but the replay is in {self.stage!r}")
        rules = (self.rules["stages"].get(stage) or {}).get("evaluation") if isinstance(stage, str) else None
        if rules is None:
            raise Bad(f"{where}: an evaluation action for stage {stage!r}, which declares no evaluation")
        if self.registry.roles(actor, position) is None:
            raise Bad(f"{where}: the action is by {actor!r}, who was not a user at registry seq {position}")
        if kind == "refusal":
            if not e.get("reasons"):
                raise Bad(f"{where}: a refusal that gives no reason")
            return
        if e.get("to") != self.stage:
            raise Bad(f"{where}: an evaluation action cannot move the proposal")
        p = self.panels.setdefault(stage, {"assigned": set(), "declared": {}})
        inputs = e.get("input") or {}
        if kind == "assign":
            names = inputs.get("evaluators")
            if not isinstance(names, list) or not names:
                raise Bad(f"{where}: an assignment names no evaluator")
            p["assigned"].update(names)
        elif kind == "declare":
            if not self.partial and (actor not in p["assigned"] or p["declared"].get(actor)):
                raise Bad(f"{where}: {actor!r} declared without being assigned, or after a recusal")
            p["declared"][actor] = bool(inputs.get("conflict"))
        elif kind == "score":
            declared = p["declared"].get(actor)
            if not self.partial and (actor not in p["assigned"] or declared
                                     or (rules.get("declaration", True) and declared is None)):
                raise Bad(f"{where}: {actor!r} scored without being assigned and declared free of conflict, or "
                          "after a recusal")
            if self.stage != stage:
                raise Bad(f"{where}: a score outside its panel's stage {stage!r}")

    def step(self, e, where, position):
        state, trigger = self.stage, e.get("trigger")
        if e.get("from") != state:
            raise Bad(f"{where}: the entry moves from {e.get('from')!r}, but the replay is in {state!r}")
        t = self.index.get((state, trigger)) if isinstance(trigger, str) else None
        if e.get("parent") is not None and e.get("kind") == "transition":
            # Fired by the engine when the opportunity fired ``parent.trigger`` (bid opening, award): the
            # opportunity's own trail holds that step; this one has no role, guard or input of its own.
            ref = e["parent"]
            if t is None or not isinstance(ref, dict) or t.get("on_parent") != ref.get("trigger") \
                    or e.get("to") != t["to"]:
                raise Bad(f"{where}: {trigger!r} is recorded as following the opportunity's "
                          f"{ref.get('trigger') if isinstance(ref, dict) else ref!r}, which the rules do not say")
            if t["to"] != state:
                self.stage, self.entered = t["to"], e["at"]
            return
        recorded = e.get("conditions") if isinstance(e.get("conditions"), list) else None
        if recorded is None:
            raise Bad(f"{where}: the entry's conditions are not a list")
        if e.get("kind") == "refusal":
            if not e.get("reasons"):
                raise Bad(f"{where}: a refusal that gives no reason")
            checks = [c.get("check") if isinstance(c, dict) else c for c in recorded]
            if checks and (t is None or checks != [w["check"] for w in t.get("when", [])]):
                raise Bad(f"{where}: the refusal records conditions that are not the rules' checks of "
                          f"{trigger!r} from {state!r}")
            return
        if t is None:
            here = sorted(s_t[1] for s_t in self.index if s_t[0] == state) or ["none: the stage is final"]
            raise Bad(f"{where}: {trigger!r} cannot be fired from stage {state!r} (from there: {', '.join(here)}): "
                      "the rules do not allow this step")
        approval = e.get("kind") == "approval"
        if e.get("to") != (state if approval else t["to"]):
            raise Bad(f"{where}: {trigger!r} leads from {state!r} to {t['to']!r}, but the entry says {e.get('to')!r}")
        actor = e.get("actor")
        for earlier in t.get("distinct_from", []):  # separation of duties
            if actor in self.fired.get(earlier, ()):
                raise Bad(f"{where}: {actor!r} fired {earlier!r} on this proposal, so may not fire {trigger!r}")
        gathered = self.approvals.setdefault(trigger, [])
        if actor in gathered or not self.partial and (len(gathered) + 1 >= t.get("approvals", 1)) == approval:
            raise Bad(f"{where}: {trigger!r} needs {t.get('approvals', 1)} distinct approvals; this entry does not "
                      "fit the approvals recorded before it")
        self.check_actor(e, where, position, t)
        self.check_requirements(e, where, t)
        whens = t.get("when", [])
        if len(recorded) != len(whens):
            raise Bad(f"{where}: {trigger!r} has {len(whens)} condition(s) in the rules, but the entry records "
                      f"{len(recorded)}")
        for c, w in ((recorded[i], whens[i]) for i in range(len(whens))):
            if not isinstance(c, dict) or c.get("check") != w["check"] or (c.get("cite") or "") != w.get("cite", ""):
                shown = c.get("check") if isinstance(c, dict) else c
                raise Bad(f"{where}: a condition is recorded as {shown!r}, but the rules check {w['check']!r}")
            if c.get("result") is not True or c.get("error"):
                raise Bad(f"{where}: {trigger!r} was recorded as done with a failed condition: {w['check']!r} is "
                          f"recorded as {c.get('result')!r}")
        if approval:
            gathered.append(actor)
            return
        self.fired.setdefault(trigger, set()).update([*gathered, actor])
        if self.data is not None:
            self.data.update(e.get("input", {}))
        if t["to"] != state:
            self.stage, self.entered = t["to"], e["at"]
            self.approvals = {}
        else:
            self.approvals.pop(trigger, None)

    def check_actor(self, e, where, position, t):
        """The actor held an allowed role at the entry's registry position; ``role`` is the one the engine picks."""
        actor, trigger = e.get("actor"), t["trigger"]
        allowed = self.roles_for(self.stage, t)
        roles = frozenset([CLOCK]) if actor == CLOCK else self.registry.roles(actor, position)
        if roles is None:
            raise Bad(f"{where}: {actor!r} was not a user at registry seq {position}, the position the entry names")
        held = sorted(r for r in roles if r in allowed)
        if not held:
            raise Bad(f"{where}: {actor} held {', '.join(sorted(roles)) or 'no role'} at registry seq {position}; "
                      f"{trigger!r} needs one of: {', '.join(sorted(allowed)) or 'none'}")
        if e.get("role") != held[0]:
            raise Bad(f"{where}: the entry says {actor} acted as {e.get('role')!r}, but the role that allows it is "
                      f"{held[0]!r}")
        if actor == CLOCK and self.due is not None and (not self.due or e["at"] < self.due):
            raise Bad(f"{where}: the clock fired {trigger!r} at {e['at']}, before the stage was due"
                      + (f" ({self.due})" if self.due else " (the stage has no deadline)"))

    def check_requirements(self, e, where, t):
        """Rationale, documents and fields the transition requires are there; it sets only what it updates."""
        trigger, requires, updates, inputs = t["trigger"], t.get("requires", []), t.get("updates", []), e["input"]
        if "rationale" in requires and not e.get("rationale"):
            raise Bad(f"{where}: {trigger!r} requires a written rationale, and the entry has none")
        if "attachment" in requires and not e.get("attachments"):
            raise Bad(f"{where}: {trigger!r} requires an attached document, and the entry has none")
        missing = [name for name in requires if name in updates and name not in inputs]
        if missing:
            raise Bad(f"{where}: {trigger!r} requires {', '.join(missing)}, which the entry does not set")
        extra = sorted(k for k in inputs if k not in updates)
        if extra:
            raise Bad(f"{where}: {trigger!r} does not record {', '.join(extra)}, but the entry sets it")


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
    seen, values, salt = set(), {}, None
    for i, s in enumerate(kept, 1):
        where = f"secrets.json item {i}"
        if not (isinstance(s, dict) and type(s.get("seq")) is int and isinstance(s.get("field"), str)
                and isinstance(s.get("salt"), str) and "value" in s):
            raise Bad(f"{where}: expected seq, field, salt and value")
        seq, field = s["seq"], s["field"]
        if field == DATA_SALT:
            first = next((e["seq"] for e in entries if e.get("v", 1) >= 3), None)
            if seq != first or salt is not None:
                raise Bad(f"{where}: the salt of the data digests belongs with the first version 3 entry "
                          f"(line {first}), once")
            salt = s["salt"]
            continue
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
        values[(seq, field)] = s["value"]
    if not m["public"]:
        for e in entries:
            for field in salted(e):
                if (e["seq"], field) not in seen:
                    raise Bad(f"line {e['seq']}: no kept value for confidential '{field}' in secrets.json")
        check_data_digests(entries, values, salt)
    return len(seen)


def check_data_digests(entries, values, salt):
    """Each version 3 entry's ``data`` digest against the data the entries set, confidential values in clear."""
    data = {}
    for e in entries:
        if e.get("kind") in ("intake", "transition"):
            clear = {k: values.get((e["seq"], k), v) for k, v in (e.get("input") or {}).items()}
            data = clear if e.get("kind") == "intake" else {**data, **clear}
        if e.get("v", 1) < 3:
            continue
        if salt is None:
            raise Bad(f"line {e['seq']}: no salt of the data digests in secrets.json")
        try:
            digest = hashlib.sha256(bytes.fromhex(salt) + canonical(nfc(data))).hexdigest()
        except (ValueError, UnicodeEncodeError, RecursionError):
            raise Bad("secrets.json: the salt of the data digests is malformed") from None
        if digest != data_digest(e):
            raise Bad(f"line {e['seq']}: the entry's digest of the proposal's data is not that of the data the "
                      "entries set")


def salted(entry):
    """The ``{field: salted_sha256}`` of an entry's kept values: confidential inputs, a withheld rationale
    (``:rationale``) and attachments' original names (``:attachment-N``; entries record neutral names)."""
    found = entry.get("input")
    out = {k: v["salted_sha256"] for k, v in (found.items() if isinstance(found, dict) else ())
           if isinstance(v, dict) and isinstance(v.get("salted_sha256"), str)}
    hidden = entry.get("rationale")
    if isinstance(hidden, dict) and isinstance(hidden.get("salted_sha256"), str):
        out[":rationale"] = hidden["salted_sha256"]
    letter = entry.get("letter")  # the letter the vendor was sent (engine/letters.py)
    if isinstance(letter, dict) and isinstance(letter.get("salted_sha256"), str):
        out[":letter"] = letter["salted_sha256"]
    for i, a in enumerate(entry.get("attachments") or [], 1):
        original = a.get("original") if isinstance(a, dict) else None
        if isinstance(original, dict) and isinstance(original.get("salted_sha256"), str):
            out[f":attachment-{i}"] = original["salted_sha256"]
    return out


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


# --- the transparency log: log.json --------------------------------------------------------------

LOG_FORMAT = "procurement-pathways-log/1"


def fingerprint(key):
    """How a key is shown: ``name+keyid`` and the sha256 of its 32-byte public key."""
    return f"{key.name}+{key.key_id.hex()} (public key sha256 {hashlib.sha256(key.public_key).hexdigest()})"


def load_log(folder, m):
    """log.json, shape-checked, or None for a bundle exported without a log (the manifest must agree)."""
    raw = read(folder, "log.json", required=False)
    if raw is None:
        if m.get("log") is not None:
            raise Bad("log.json: missing, but manifest.json says the bundle was exported under a checkpoint "
                      "of the city's transparency log: the log's evidence was removed")
        return None
    doc = parse_json(raw, "log.json")
    if not isinstance(doc, dict) or doc.get("format") != LOG_FORMAT:
        raise Bad(f"log.json: not a {LOG_FORMAT} document")
    keys = doc.get("keys")
    if not isinstance(doc.get("checkpoint"), str) or not (isinstance(keys, list) and keys
                                                          and all(isinstance(k, str) for k in keys)):
        raise Bad("log.json: 'checkpoint' (a signed note) or 'keys' (the verifier keys) is missing or malformed")
    for part in ("trail", "registry"):
        if not isinstance(doc.get(part), list):
            raise Bad(f"log.json: '{part}' (one inclusion proof per line) is missing or malformed")
    return doc


def parse_key(text, where):
    try:
        return VerifierKey.parse(text)
    except NoteError as exc:
        raise Bad(f"{where}: {exc}") from None


def open_signed(doc, pinned=None):
    """The checkpoint, once its signature verifies, and the keys that signed it.

    Trusted: the keys in log.json, or only ``pinned`` (``--key``). Every key
    log.json names must have signed the checkpoint (the export names only its
    signers).
    """
    keys = [parse_key(k, "log.json: key") for k in doc["keys"]]
    trusted = [pinned] if pinned is not None else keys
    try:
        cp, _ = open_checkpoint(doc["checkpoint"], trusted)
        signatures = parse_note(doc["checkpoint"])[1]
    except NoteError as exc:
        raise Bad(f"log.json: the checkpoint does not verify: {exc}") from None
    signed = {(s.name, s.key_id) for s in signatures}
    for key in keys:
        if (key.name, key.key_id) not in signed:
            raise Bad(f"log.json: key {key.name}+{key.key_id.hex()} did not sign the checkpoint")
    stated = (doc.get("origin"), doc.get("size"), doc.get("root"))
    if stated != (cp.origin, cp.size, cp.root.hex()):
        raise Bad(f"log.json: says origin {stated[0]!r}, size {stated[1]!r}, root {stated[2]!r}, but the signed "
                  f"checkpoint says {cp.origin!r}, {cp.size}, {cp.root.hex()}")
    return cp, [k for k in trusted if (k.name, k.key_id) in signed]


def check_proofs(cp, proofs, hashes, label, file):
    """Each line's hash is a leaf of the checkpoint's tree, by its inclusion proof (one per line, in order)."""
    if len(proofs) != len(hashes):
        raise Bad(f"log.json: {len(proofs)} inclusion proofs for the {len(hashes)} lines of {file}")
    for n in range(1, len(hashes) + 1):
        p, actual, where = proofs[n - 1], hashes[n - 1], f"{label} {n}"
        if not (isinstance(p, dict) and type(p.get("index")) is int and isinstance(p.get("proof"), list)
                and all(is_hash(x) for x in p["proof"]) and is_hash(p.get("hash"))):
            raise Bad(f"log.json: the proof for {where} of {file} is malformed (hash, index, proof)")
        if p["hash"] != actual:
            raise Bad(f"{where}: log.json's inclusion proof is for entry {p['hash']}, but the line hashes to "
                      f"{actual}: the line was edited, or the proof is another entry's")
        try:
            verify_inclusion(bytes.fromhex(actual), p["index"], cp.size, [bytes.fromhex(x) for x in p["proof"]],
                             cp.root)
        except MerkleError as exc:
            raise Bad(f"{where}: not in the log's signed tree (origin '{cp.origin}', size {cp.size}): {exc}") from None


def check_log(doc, m, trail_hashes, registry_hashes, pinned=None):
    """The checkpoint's signature, then every line's inclusion proof; returns (checkpoint, signers)."""
    cp, signers = open_signed(doc, pinned)
    if m.get("log") != {"origin": cp.origin, "size": cp.size, "root": cp.root.hex()}:
        raise Bad("manifest.json: its 'log' does not name the checkpoint in log.json")
    check_proofs(cp, doc["trail"], trail_hashes, "line", "trail.jsonl")
    check_proofs(cp, doc["registry"], registry_hashes, "registry.jsonl line", "registry.jsonl")
    return cp, signers


def check_redactions(m, found):
    """The manifest lists the same redacted lines, with the same reasons, as the trail holds."""
    listed = m.get("redacted", [])
    if listed != [{"entry": n, "reason": why} for n, why in found]:
        shown = [r.get("entry") if isinstance(r, dict) else r for r in listed] if isinstance(listed, list) else listed
        raise Bad(f"manifest.json: lists redacted entries {shown!r}, but trail.jsonl has {[n for n, _ in found]}")


# --- main -----------------------------------------------------------------------------------------

USAGE = "usage: python3 -I verify.py DIR [--key NAME+KEYID+KEY]   (DIR: an exported bundle folder)"


def main(argv):
    if len(argv) not in (1, 3) or not os.path.isdir(argv[0]) or len(argv) == 3 and argv[1] != "--key":
        print(USAGE, file=sys.stderr)
        return 2
    folder, pinned = argv[0], None
    if len(argv) == 3:
        try:
            pinned = parse_key(argv[2], "--key")
        except Bad as bad:
            print(f"{USAGE}\n{bad}", file=sys.stderr)
            return 2
    try:
        m = load_manifest(folder)
        log = load_log(folder, m)
        registry = check_registry(folder)
        hashes, replay = [], Replay(folder, registry)
        entries = check_trail(folder, m, replay.judge, hashes)
        check_redactions(m, replay.redacted)
        values = check_secrets(folder, m, entries)
        files = check_attachments(folder, m, entries)
        check_registry_end(m, registry)
        if log is None and pinned is not None:
            raise Bad("log.json: missing: --key was given, but this bundle carries no checkpoint to check it against")
        signed = None if log is None else check_log(log, m, hashes, registry.hashes, pinned)
    except Bad as bad:
        print(f"FAILED: {bad}", file=sys.stderr)
        return 1
    kind = "public" if m["public"] else "private"
    redacted = len(replay.redacted)
    lawful = "lawful by the rules in pathway.json" if not redacted else (
        f"linked; {len(entries) - redacted} lawful by the rules in pathway.json, {redacted} redacted")
    print(f"ok: {m['proposal']}: {len(entries)} entries intact and {lawful}, head "
          f"{m['head']} ({kind} bundle; {registry.seq} registry entries replayed; {values} confidential value(s), "
          f"{files} attachment(s) and the rules in pathway.json re-checked)")
    if redacted:
        print(f"redacted: {redacted} entr{'y' if redacted == 1 else 'ies'} carried by hash alone (the chain links "
              "through, the content is not re-judged):")
        for n, why in replay.redacted:
            print(f"redacted: line {n}: {why}")
    if signed is None:
        print("log: none: this bundle has NO outside witness (it was exported from a database without a "
              "transparency log); compare its head with a copy the city keeps")
        return 0
    cp, signers = signed
    print(f"log: all {len(entries)} entries and {registry.seq} registry entries are in the checkpoint of origin "
          f"'{cp.origin}' (tree size {cp.size}, root {cp.root.hex()})")
    for key in signers:
        print(f"log: checkpoint signed by {fingerprint(key)}"
              + (": the key given with --key" if pinned is not None else
                 ": compare this with the key the city publishes"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
