"""Export bundles: a proposal's record that legal can read, print and verify offline.

A bundle is a folder::

    README.txt      what each file is, how to check the bundle, and what that does and does not prove
    trail.jsonl     the stored bytes of every entry, one per line, exactly as hashed
    registry.jsonl  the registry chain (users, roles, publications) up to the position the entries name
    manifest.json   proposal, pathway (id, version, sha256 and its YAML text), count, heads, time, public?
    pathway.json    the rules in their canonical JSON form: its sha256 is the one every entry names
    secrets.json    private bundles only: each confidential value with its salt
    attachments/    private bundles only: the attached files, named by their sha256
    log.json        the transparency log's evidence (when the database's log is started): the latest
                    signed checkpoint covering every entry of both files, the public key(s) that signed
                    it, and one inclusion proof per line of trail.jsonl and registry.jsonl
    report.html     the record as a page (a rendering, not the record)
    verify.py       standard library only: ``python3 -I verify.py DIR`` re-checks all of the above

The chain is verified in the database before anything is written, and the
bundle is written to a temporary folder beside the target (``.NAME.xxxxxxxx``)
and renamed into place, so a failed export never leaves a half bundle under
the target name. An export killed before the rename leaves its staging folder
behind, possibly holding ``secrets.json`` and attachments: the next export to
the same target removes such folders (ours, named by that pattern) first. Two
exports racing for one target cannot both win the rename anyway; the loser's
staging may be removed by the other and it then fails with "cannot write".

A private bundle is written owner-only (folders 0700, files 0600): it holds
confidential values and files. A public bundle is world-readable (0755/0644).

The registry travels in the bundle because roles come from its replay:
``verify.py`` re-judges every entry's actor by the roles the registry gave
them at the position the entry names. It is cut at the highest position any
entry names (version 1 entries, which name none: the last registry entry at
or before the last entry's time). Registry entries carry nothing personal
beyond user names and roles.

The transparency log is what witnesses the record from outside the
database: ``log.json`` holds the latest signed checkpoint covering every
entry the bundle carries (``checkpoints.bundle_proofs``), the public keys
named on its signature lines (never a private key: exports need none) and an
inclusion proof per line. A database whose log has an origin (``pathways log
init``) but no such checkpoint yet is refused (:class:`LogNotCheckpointed`: sign one first); a
database without a log (older than it) still exports, and README.txt and
verify.py then say plainly that nothing outside the bundle witnesses it.

``verify.py`` is generated, not copied: ``templates/verify.py`` with its
``BEGIN LOG VERIFIERS`` stub replaced by ``standalone_source()`` (the Merkle,
Ed25519 and signed-note verifiers of ``engine/transparency``), so the bundle
runs the very code the engine's tests run and there is no pasted copy to
drift. It is the same file for every bundle exported by one version.

A *public* bundle leaves out confidential values, their salts and the
attached files (they may hold proprietary material); entries keep the salted
hashes, so it verifies all the same. As a last guard, every file of a public
bundle is searched for every spelling of every kept value and every salt
(``engine.disclosure``) before the bundle is released. Staff text is checked
when it is recorded, so new entries do not quote kept values; an entry
recorded before that check may, and its hashed bytes cannot be edited, so
the public bundle carries it by its hash alone, marked ``redacted`` with the
reason (``engine.redaction``): ``verify.py`` checks the chain links through it
and reports it. Anything the check still finds refuses the export
(:class:`DisclosureRisk`), naming the field, entry, file and line.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pathways.city import City
from pathways.display import local_time
from pathways.errors import PathwaysError, UsageError
from pathways.load import canonical_form
from pathways.resources import templates

from .disclosure import check
from .errors import DisclosureRisk  # noqa: F401 (raised by check_public; importers name it here)
from .report import Report, build_report, report_text
from .storage import reading
from .transparency import checkpoints as log_checkpoints
from .transparency import log as tlog
from .transparency.note import VerifierKey, parse_note
from .transparency.standalone import standalone_source

if TYPE_CHECKING:
    from .runtime import Engine

BUNDLE_FORMAT = "procurement-pathways-bundle/3"
LOG_FORMAT = "procurement-pathways-log/1"
#: The stub in templates/verify.py that export replaces with ``standalone_source()``.
STUB_BEGIN, STUB_END = "# BEGIN LOG VERIFIERS", "# END LOG VERIFIERS"
#: What to do when the log is started but no checkpoint covers the entries.
SIGN_FIRST = "sign a checkpoint first: pathways log checkpoint --key FILE"
#: The random part ``tempfile.mkdtemp`` adds to a staging folder's name (``.NAME.`` + this).
STAGING_SUFFIX = re.compile(r"[a-z0-9_]{8}")
#: Permissions (folders, files) of private and public bundles.
PRIVATE_MODES, PUBLIC_MODES = (0o700, 0o600), (0o755, 0o644)


@dataclass(frozen=True)
class Bundle:
    """What was written, for the command line to report."""

    folder: Path
    proposal: str
    entries: int
    head: str
    public: bool
    files: list[str]
    withheld: list[str]
    #: The checkpoint the bundle was exported under (origin, size, root, keys), or None: no log.
    log: dict[str, Any] | None = None
    #: The seqs of entries carried by their hash alone (public bundles; see ``engine.redaction``).
    redacted: list[int] = field(default_factory=list)


class LogNotCheckpointed(PathwaysError):
    """The database's log is started, but no signed checkpoint covers the entries to export (exit 1)."""


def verifier_source() -> bytes:
    """The bundle's ``verify.py``: templates/verify.py with its log-verifier stub replaced by
    ``standalone_source()``, the stdlib verifiers the engine itself runs (one implementation)."""
    template = templates().joinpath("verify.py").read_text(encoding="utf-8")
    start, end = template.find(STUB_BEGIN), template.find(STUB_END)
    if start < 0 or end < start or template.count(STUB_BEGIN) != 1:
        raise RuntimeError("templates/verify.py has no single log-verifier stub")  # a packaging bug
    end = template.index("\n", end) + 1
    block = standalone_source("Bad", future_import=False)
    return (template[:start] + block + template[end:]).encode("utf-8")


def entry_hash(body: bytes) -> str:
    """An entry's hash: the RFC 9162 leaf hash of its stored bytes."""
    return hashlib.sha256(b"\x00" + body).hexdigest()


def log_evidence(engine: Engine, bodies: list[bytes], registry: list[Any]) -> dict[str, Any] | None:
    """log.json's content: the latest checkpoint covering every entry, its signers' keys and one proof
    per line (trail, then registry); None when the database has no transparency log."""
    hashes = [entry_hash(b) for b in bodies] + [r.hash for r in registry]
    with reading(engine.db) as conn:
        # The tree is kept from a database's first entry, but it has an outside witness only once the city
        # has named its log and key (``pathways log init``): until then the bundle says it has none.
        if not tlog.started(conn) or not tlog.origins(conn):
            return None
        try:
            found = log_checkpoints.bundle_proofs(conn, hashes)
        except tlog.LogError as exc:
            why = exc.message.split(": run '")[0]
            raise LogNotCheckpointed(f"export refused: {SIGN_FIRST} ({why})") from None
    signed = {(s.name, s.key_id) for s in parse_note(found["checkpoint"])[1]}
    parsed = {v: VerifierKey.parse(v) for v in found["vkeys"]}
    keys = [v for v, k in parsed.items() if (k.name, k.key_id) in signed]  # the signers only, in log order
    if not keys:
        raise PathwaysError("the latest checkpoint is signed by none of the log's recorded keys: run 'pathways verify'")

    def proof(h: str) -> dict[str, Any]:
        p = found["proofs"][h]
        return {"hash": h, "index": p["index"], "proof": p["proof"]}

    n = len(bodies)
    return {"format": LOG_FORMAT, "origin": found["origin"], "size": found["size"], "root": found["root"],
            "checkpoint": found["checkpoint"], "keys": keys,
            "trail": [proof(h) for h in hashes[:n]], "registry": [proof(h) for h in hashes[n:]]}


def registry_extent(entries: list[dict[str, Any]], registry_ats: list[str]) -> int:
    """How many registry entries a bundle carries: up to the highest position its entries name, and at
    least every registry entry recorded by the time of its last entry (so a reviewer can see a revocation
    that an entry acting under an older position would have ignored)."""
    upto = 0
    for e in entries:
        named = e.get("registry")
        seq = named.get("seq") if isinstance(named, dict) else None
        upto = max(upto, seq if type(seq) is int else 0, bisect.bisect_right(registry_ats, e["at"]))
    return upto


def registry_rows(engine: Engine, entries: list[dict[str, Any]]) -> list[Any]:
    """The stored registry entries the bundle carries (a prefix of the chain: it only grows)."""
    rows = engine.entries("registry")
    ats = [json.loads(r.body)["at"] for r in rows]
    upto = registry_extent(entries, ats)
    if upto > len(rows):
        raise PathwaysError(f"the entries name registry seq {upto}, but the registry has {len(rows)} entries")
    return rows[:upto]


def manifest(report: Report, registry: list[Any] = (),  # type: ignore[assignment]
             log: dict[str, Any] | None = None) -> dict[str, Any]:
    """The bundle's manifest: what verify.py checks against, and the rules in force."""
    p = report.pathway
    return {
        "format": BUNDLE_FORMAT,
        "proposal": report.proposal["id"],
        "pathway": {"id": p.id, "version": p.version, "sha256": p.sha256, "title": p.title, "yaml": p.source},
        "entries": report.count,
        "head": report.head,
        "registry": {"entries": len(registry), "head": registry[-1].hash if registry else "0" * 64},
        "log": {k: log[k] for k in ("origin", "size", "root")} if log else None,
        "exported_at": report.generated_at,
        "public": report.public,
        "withheld": [{"field": w.field, "rule": w.rule, "entries": w.seqs} for w in report.withheld],
        "withheld_basis": [{"cite": c.cite, "note": c.note} for c in report.disclosure_basis],
        "redacted": [{"entry": seq, "reason": why} for seq, why in sorted(report.redactions.items())],
        "attachments": [{"name": a.name, "sha256": a.sha256, "size": a.size, "entry": a.seq,
                         "included": a.kept and not report.public}
                        for a in report.attachments],
    }


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _files(engine: Engine, report: Report) -> tuple[dict[str, bytes], dict[str, Any] | None]:
    """Every file of the bundle, by relative path, and the log's evidence (None: no log)."""
    rules = canonical_form(report.pathway)
    if hashlib.sha256(rules).hexdigest() != report.pathway.sha256:
        raise PathwaysError(f"stored pathway {report.pathway.id} v{report.pathway.version} does not match its sha256")
    registry = registry_rows(engine, report.entries)
    log = log_evidence(engine, list(report.bodies), registry)
    files = {
        "README.txt": readme(report, len(registry), log).encode("utf-8"),
        "trail.jsonl": b"".join(line + b"\n" for line in report.lines),
        "registry.jsonl": b"".join(bytes(r.body) + b"\n" for r in registry),
        "manifest.json": _json_bytes(manifest(report, registry, log)),
        "pathway.json": rules,
        "report.html": report_text(report, "html").encode("utf-8"),
        "verify.py": verifier_source(),
    }
    if log is not None:
        files["log.json"] = _json_bytes(log)
    if not report.public:
        files["secrets.json"] = _json_bytes({"proposal": report.proposal["id"], "secrets": report.secrets})
        for a in report.attachments:
            if a.kept:
                content = engine.attachment(a.sha256)
                if hashlib.sha256(content).hexdigest() != a.sha256:
                    raise PathwaysError(f"stored attachment {a.sha256} does not match its hash")
                files[f"attachments/{a.sha256}"] = content
    return files, log


def check_public(engine: Engine, report: Report, files: dict[str, bytes]) -> None:
    """Refuse a public bundle in which any spelling of any kept value, or any salt, appears
    (``engine.disclosure``: the one check every public output runs). ``verify.py`` is the shipped
    checker, the same bytes in every bundle: it carries nothing of the proposal and is not searched."""
    check({name: content for name, content in files.items() if name != "verify.py"}, report.needles,
          what="public export", advice="Hashed entries cannot be edited without breaking the chain; "
                                       "export a private bundle for counsel instead")


README = """\
Audit bundle for proposal {proposal}
{underline}

{intro}

Check it
--------
With Python 3.8 or later and nothing else installed, from inside this folder:

    python3 -I verify.py .

or from any other folder ({folder} being the path of this folder):

    python3 -I {folder}/verify.py {folder}

-I is Python's isolated mode: nothing from the current folder or the environment is imported,
so only this verify.py and Python's own standard library run.

It prints "ok: ..." and exits 0 when every check passes, or prints one line
"FAILED: line N: why" (or the file at fault) and exits 1.

The files
---------
trail.jsonl     The proposal's audit trail: {entries} entries, one per line, exactly the bytes that
                were hashed (RFC 8785 canonical JSON). Each line names the hash of the line before
                it (RFC 6962 leaf hashes, sha256 of 0x00 + the line).
registry.jsonl  The city's registry chain up to the position these entries acted under ({registry}
                entries): which users existed, the roles each was granted or lost, and which rules
                were published. Nothing personal beyond user names and roles is in it.
pathway.json    The rules in force, in canonical JSON. Its sha256 is the one every entry names.
manifest.json   Which proposal and rules this is, how many entries, the last entry's hash (the head),
                and the pathway's YAML text as written (comments included).
secrets.json    (private bundles) Each confidential value with the random salt that reproduces the
                salted hash its entry carries.
attachments/    (private bundles) The attached files, each named by its sha256.
{logfile}report.html     The record as a page to read and print. A rendering, not the record.
verify.py       The checker (standard library only). It is the same file for every bundle.

What verify.py proves
---------------------
- Every line of the trail and of the registry is intact, in order and linked to the one before;
  none was edited, removed from the middle, inserted or reordered.
- Every entry was lawful under the rules in pathway.json: each step left the stage the proposal
  was in, by a trigger that stage allows, to the stage the rules name; its actor held an allowed
  role at the registry position it acted under (replayed from registry.jsonl, whose entries that
  position commits to); required rationales, documents and fields are there; every condition the
  rules set was recorded, and recorded as met; the clock acted only on a deadline that was due.
- (private bundles) Each confidential value and attached file is the one its entry committed to.
{logproves}
What it does NOT prove
----------------------
- The head in manifest.json (and as shown in report.html) is a rendering of the trail, not a
  second witness: whoever can rewrite this folder can rewrite the trail and its head together,
  and so could whoever could rewrite the city's database before this export.
  {lognot}
- The guards' expressions are not re-evaluated here (that needs a CEL runtime); "pathways verify"
  does that against the database. A refusal's reasons are taken as recorded.
- The manifest's YAML text is tied to the rules only through "pathways validate" (which prints
  its sha256); pathway.json is what is checked.
- {withheld}
{redacted}"""


REDACTED = """\
- {count} line(s) of trail.jsonl stand for entries left out whole: recorded before staff text was
  checked, their hashed bytes quote a confidential value, and they cannot be edited without breaking
  the chain. Each such line holds only the entry's seq, hash, prev and the reason ("redacted": true).
  verify.py checks that the chain links through them (the next line's prev is the hash; the line
  before hashes to the prev; with log.json, the hash is in the signed tree) and lists them, but it
  cannot re-judge what they hold, and the replay resumes from the next entry's own stage:
{lines}  "pathways verify" on the city's database checks them whole.
"""


LOG_FILE = """\
log.json        The city's transparency log's evidence for these entries: the signed checkpoint
                (origin '{origin}', tree size {size}) this bundle was exported under, in
                the C2SP signed-note format; the public key(s) that signed it (name+keyid+key);
                and, for every line of trail.jsonl ("trail", item N for line N) and of
                registry.jsonl ("registry"), its leaf index and RFC 9162 inclusion proof.
"""

LOG_PROVES = """\
- (log.json) The checkpoint is signed (Ed25519, RFC 8032) by the key in log.json, and every line
  of the trail and of the registry is in the log's tree of that checkpoint: its inclusion proof
  leads from the line's hash to the signed root. verify.py prints the key's fingerprint (name,
  key ID and the sha256 of the public key) and the checkpoint's origin: compare them with the key
  and checkpoints the city publishes (or pass the published key: python3 -I verify.py DIR --key KEY).
"""

LOG_NOT = """\
log.json is the outside witness against that, and only as good as your comparison: a forger
  can sign a checkpoint with a key of their own, so the signature means something once the
  fingerprint verify.py prints is the key the city publishes. A checkpoint shows what the log
  held at its size; that the city published it and that its log still extends it is for
  "pathways verify --against CHECKPOINT" and the checkpoints the city publishes.\
"""

NO_LOG = """\
This bundle has NO outside witness: the database had no transparency log when it was exported
  (it is older than the log, or "pathways log init" was never run), so there is no signed
  checkpoint and no inclusion proof. Only an independent copy of the head (from the city) can
  tell this record from a rewrite.\
"""


def readme(report: Report, registry_entries: int, log: dict[str, Any] | None = None) -> str:
    """README.txt: what each file is, how to check the bundle, and what a check does and does not prove."""
    p = report.pathway
    title = f"Audit bundle for proposal {report.proposal['id']}"
    withheld = ("This is a public bundle: confidential values, their salts and the attached files are "
                "withheld;\n  entries keep their salted hashes, so the chain still verifies, but the values "
                "themselves cannot be\n  checked from this bundle." if report.public else
                "This is a private bundle: it holds confidential values and files. Do not publish it.")
    exported = f"{local_time(report.generated_at, report.zone)} ({report.generated_at})"
    intro = textwrap.fill(f"This folder is the record of proposal {report.proposal['id']} ({p.title}, pathway {p.id} "
                          f"v{p.version}), exported {exported} as a {'public' if report.public else 'private'} "
                          "bundle. It can be checked offline with nothing but Python 3.", width=100,
                          break_long_words=False, break_on_hyphens=False)
    return README.format(proposal=report.proposal["id"], underline="=" * len(title), intro=intro,
                         folder="BUNDLE", entries=report.count, registry=registry_entries,
                         withheld=withheld, logfile=LOG_FILE.format(**log) if log else "",
                         logproves=LOG_PROVES if log else "", lognot=LOG_NOT if log else NO_LOG,
                         redacted=redacted_note(report))


def redacted_note(report: Report) -> str:
    """README.txt's word on redacted entries (none: nothing)."""
    if not report.redactions:
        return ""
    lines = "".join(textwrap.fill(why, width=100, initial_indent=f"    line {seq}: ", subsequent_indent="      ",
                                  break_long_words=False, break_on_hyphens=False) + "\n"
                    for seq, why in sorted(report.redactions.items()))
    return REDACTED.format(count=len(report.redactions), lines=lines)


def _target(folder: Path) -> Path:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"-o {folder}: exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise UsageError(f"-o {folder}: folder exists and is not empty; choose a new folder")
    return folder


def clean_stale_staging(target: Path) -> list[Path]:
    """Remove staging folders that killed exports to ``target`` left beside it (ours only); returns them."""
    prefix = f".{target.name}."
    removed = []
    try:
        names = os.listdir(target.parent)
    except OSError:
        return removed
    for name in names:
        path = target.parent / name
        if not (name.startswith(prefix) and STAGING_SUFFIX.fullmatch(name[len(prefix):])):
            continue
        try:
            info = path.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _write(staging: Path, files: dict[str, bytes], public: bool) -> None:
    """Every file, created new (never through a symlink), with the bundle's permissions (not the umask's)."""
    dir_mode, file_mode = PUBLIC_MODES if public else PRIVATE_MODES
    os.chmod(staging, dir_mode)
    for name, content in files.items():
        path = staging / name
        if not path.parent.is_dir():
            path.parent.mkdir()
            os.chmod(path.parent, dir_mode)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), file_mode)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(path, file_mode)


def export(engine: Engine, proposal_id: str, folder: str | os.PathLike[str], *, public: bool = False,
           city: City | None = None) -> Bundle:
    """Verify a proposal's chain and write its bundle to ``folder`` (new or empty); ``city``: whose time zone
    the README and report show times in (the one in force by default)."""
    target = _target(Path(folder))
    engine.verify([proposal_id])
    sealed = engine.show(proposal_id).get("sealed")
    if sealed:  # what a respondent submitted is read by no one through the engine before the opening
        names = ", ".join("attachments" if s == ":attachments" else s for s in sealed)
        raise UsageError(f"{proposal_id} is sealed ({names}) until its opportunity opens the responses: export it "
                         "after the opening")
    report = build_report(engine, proposal_id, public=public, bundle=True, city=city)
    files, log = _files(engine, report)
    if public:
        check_public(engine, report, files)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_staging(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise UsageError(f"-o {folder}: cannot create ({exc.strerror})") from None
    try:
        _write(staging, files, public)
        if target.is_dir():
            target.rmdir()  # empty (checked above); rename needs the name free
        staging.rename(target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise UsageError(f"-o {folder}: cannot write ({exc.strerror})") from None
    shown = None if log is None else {"origin": log["origin"], "size": log["size"], "root": log["root"],
                                      "keys": [fingerprint(k) for k in log["keys"]]}
    return Bundle(target, report.proposal["id"], report.count, report.head, public, sorted(files),
                  [w.field for w in report.withheld], shown, sorted(report.redactions))


def fingerprint(vkey: str) -> str:
    """How verify.py names a key: ``name+keyid`` and the sha256 of the 32-byte public key."""
    key = VerifierKey.parse(vkey)
    return f"{key.name}+{key.key_id.hex()} (public key sha256 {hashlib.sha256(key.public_key).hexdigest()})"
