"""Export bundles: a proposal's record that legal can read, print and verify offline.

A bundle is a folder::

    trail.jsonl     the stored bytes of every entry, one per line, exactly as hashed
    manifest.json   proposal, pathway (id, version, sha256 and its YAML text), count, head, time, public?
    pathway.json    the rules in their canonical JSON form: its sha256 is the one every entry names
    secrets.json    private bundles only: each confidential value with its salt
    attachments/    private bundles only: the attached files, named by their sha256
    report.html     the record as a page (a rendering, not the record)
    verify.py       standard library only: ``python3 verify.py DIR`` re-checks all of the above

The chain is verified in the database before anything is written, and the
bundle is written to a temporary folder beside the target and renamed into
place, so a failed export never leaves a half bundle under the target name.

A *public* bundle leaves out confidential values, their salts and the
attached files (they may hold proprietary material); entries keep the salted
hashes, so it verifies all the same. As a last guard, every file of a public
bundle is searched for each confidential text value before the bundle is
released: a value typed into a rationale, say, is in hashed bytes that
cannot be redacted without breaking the chain, so the export is refused
instead (:class:`DisclosureRisk`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import escape

from pathways.errors import PathwaysError, UsageError
from pathways.load import canonical_form
from pathways.resources import templates

from .errors import DisclosureRisk
from .report import Report, build_report, report_text

if TYPE_CHECKING:
    from .runtime import Engine

BUNDLE_FORMAT = "procurement-pathways-bundle/1"
#: Confidential text shorter than this is not searched for (it would match ordinary words and numbers).
MIN_SEARCHED = 6


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


def verifier_source() -> bytes:
    """The bundle's ``verify.py``, copied verbatim from the installed templates."""
    return templates().joinpath("verify.py").read_bytes()


def manifest(report: Report) -> dict[str, Any]:
    """The bundle's manifest: what verify.py checks against, and the rules in force."""
    p = report.pathway
    return {
        "format": BUNDLE_FORMAT,
        "proposal": report.proposal["id"],
        "pathway": {"id": p.id, "version": p.version, "sha256": p.sha256, "title": p.title, "yaml": p.source},
        "entries": report.count,
        "head": report.head,
        "exported_at": report.generated_at,
        "public": report.public,
        "withheld": [{"field": w.field, "rule": w.rule, "entries": w.seqs} for w in report.withheld],
        "withheld_basis": [{"cite": c.cite, "note": c.note} for c in report.disclosure_basis],
        "attachments": [{"name": a.name, "sha256": a.sha256, "size": a.size, "entry": a.seq,
                         "included": a.kept and not report.public}
                        for a in report.attachments],
    }


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _files(engine: Engine, report: Report) -> dict[str, bytes]:
    """Every file of the bundle, by relative path."""
    rules = canonical_form(report.pathway)
    if hashlib.sha256(rules).hexdigest() != report.pathway.sha256:
        raise PathwaysError(f"stored pathway {report.pathway.id} v{report.pathway.version} does not match its sha256")
    files = {
        "trail.jsonl": b"".join(body + b"\n" for body in report.bodies),
        "manifest.json": _json_bytes(manifest(report)),
        "pathway.json": rules,
        "report.html": report_text(report, "html").encode("utf-8"),
        "verify.py": verifier_source(),
    }
    if not report.public:
        files["secrets.json"] = _json_bytes({"proposal": report.proposal["id"], "secrets": report.secrets})
        for a in report.attachments:
            if a.kept:
                content = engine.attachment(a.sha256)
                if hashlib.sha256(content).hexdigest() != a.sha256:
                    raise PathwaysError(f"stored attachment {a.sha256} does not match its hash")
                files[f"attachments/{a.sha256}"] = content
    return files


def _needles(engine: Engine, report: Report) -> dict[str, list[bytes]]:
    """Byte patterns that must not appear in a public bundle: salts, and confidential text as written,
    as JSON-escaped and as HTML-escaped."""
    out: dict[str, list[bytes]] = {}
    pathway = report.pathway
    for s in engine.secrets(report.proposal["id"]):
        out[f"the salt of '{s['field']}' (entry {s['seq']})"] = [s["salt"].encode()]
        field = pathway.fields.get(s["field"])
        texts = s["value"] if isinstance(s["value"], list) else [s["value"]]
        if field is None or field.type not in ("string", "text", "list"):
            continue  # short typed values (amounts, dates) would match unrelated text
        for text in texts:
            if isinstance(text, str) and len(text.strip()) >= MIN_SEARCHED:
                forms = {text, json.dumps(text, ensure_ascii=False)[1:-1], str(escape(text))}
                out[f"the value of confidential '{s['field']}' (entry {s['seq']})"] = [f.encode() for f in forms]
    return out


def check_public(engine: Engine, report: Report, files: dict[str, bytes]) -> None:
    """Refuse a public bundle in which any confidential value or salt appears."""
    found = [f"{what} appears in {name}"
             for what, forms in _needles(engine, report).items()
             for name, content in files.items() if any(form in content for form in forms)]
    if found:
        raise DisclosureRisk("public export refused: " + "; ".join(sorted(set(found)))
                             + ". Hashed entries cannot be redacted without breaking the chain; "
                               "export a private bundle for counsel instead")


def _target(folder: Path) -> Path:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"-o {folder}: exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise UsageError(f"-o {folder}: folder exists and is not empty; choose a new folder")
    return folder


def export(engine: Engine, proposal_id: str, folder: str | os.PathLike[str], *, public: bool = False) -> Bundle:
    """Verify a proposal's chain and write its bundle to ``folder`` (new or empty)."""
    target = _target(Path(folder))
    engine.verify([proposal_id])
    report = build_report(engine, proposal_id, public=public, bundle=True)
    files = _files(engine, report)
    if public:
        check_public(engine, report, files)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise UsageError(f"-o {folder}: cannot create ({exc.strerror})") from None
    try:
        for name, content in files.items():
            path = staging / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(content)
        os.chmod(staging, 0o755)
        if target.is_dir():
            target.rmdir()  # empty (checked above); rename needs the name free
        staging.rename(target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise UsageError(f"-o {folder}: cannot write ({exc.strerror})") from None
    return Bundle(target, report.proposal["id"], report.count, report.head, public, sorted(files),
                  [w.field for w in report.withheld])
