"""The transparency log's evidence in a bundle: log.json, and the bundle's verify.py checking it.

verify.py is generated at export (templates/verify.py with the engine's stdlib verifiers inserted by
``standalone_source()``); these tests run that generated file, in process (importlib) and as a reviewer
runs it (``python3 -I``, from a folder outside the repository): RFC 8032 vectors through its Ed25519
code, the checkpoint's signature and every inclusion proof, and the attacks a bundle alone must catch.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import MINI, MINI_DATA, ROOT, FakeClock

from pathways.canonical import canonical_bytes

VECTORS = json.loads((ROOT / "tests" / "vectors" / "ed25519" / "rfc8032.json").read_text())["vectors"]
ORIGIN = "Springfield procurement log"
SIGN_FIRST = "sign a checkpoint first: pathways log checkpoint --key FILE"


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve the verifiers' annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.export import verifier_source

    path = tmp_path_factory.mktemp("generated") / "verify.py"
    path.write_bytes(verifier_source())
    return path


@pytest.fixture(scope="module")
def bundle_verifier(generated: Path) -> ModuleType:
    return load(generated, "bundle_verify_log")


def fingerprint(vkey: Any) -> str:
    return f"{vkey.name}+{vkey.key_id.hex()} (public key sha256 {hashlib.sha256(vkey.public_key).hexdigest()})"


def sign(engine: Any, *keys: Any) -> str:
    from engine.transparency import checkpoints as cps

    with engine.db.begin() as conn:
        return cps.checkpoint(conn, list(keys), "2026-03-02T09:00:00Z")["note"]


class City:
    def __init__(self, tmp_path: Path, *, log: bool = True) -> None:
        from engine import Engine
        from engine.transparency import checkpoints as cps
        from engine.transparency import generate_key
        from engine.transparency import log as tlog

        self.tmp, self.clock = tmp_path, FakeClock()
        self.db = tmp_path / "city.db"
        self.engine = Engine(f"sqlite:///{self.db}", clock=self.clock)
        e = self.engine
        e.add_user("ana", ["officer"])
        e.publish(MINI, actor="ana")
        self.pid = e.intake("mini", MINI_DATA, actor="ana")
        e.advance(self.pid, "screen", actor="ana")
        e.advance(self.pid, "note", actor="ana", updates={"notes": "site visit done"})
        e.add_user("lee", ["legal"], actor="ana")
        e.advance(self.pid, "approve", actor="lee", rationale="within the cap")
        self.key = generate_key(cps.key_name(ORIGIN))
        if log:
            with e.db.begin() as conn:
                tlog.init(conn, ORIGIN, str(self.key.verifier), "2026-03-02T09:00:00Z")
            self.note = sign(e, self.key)

    def export(self, name: str = "bundle", *, public: bool = False) -> Path:
        from engine.export import export

        return export(self.engine, self.pid, self.tmp / name, public=public).folder


@pytest.fixture
def city(tmp_path: Path) -> Any:
    c = City(tmp_path)
    yield c
    c.engine.close()


def run(bundle: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cwd = tmp_path / "reviewer"
    cwd.mkdir(exist_ok=True)
    assert not cwd.resolve().is_relative_to(ROOT)
    return subprocess.run([sys.executable, "-I", str(bundle / "verify.py"), str(bundle), *extra], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def failed(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("FAILED: ") and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def log_json(bundle: Path) -> dict[str, Any]:
    return json.loads((bundle / "log.json").read_text(encoding="utf-8"))


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")


# --- one implementation: the engine's verifiers, inserted verbatim ---------------------------------------


def test_verify_py_is_generated_from_the_template_and_the_engines_verifiers(city: City) -> None:
    from engine.export import STUB_BEGIN, verifier_source
    from engine.transparency import standalone_source

    source = verifier_source().decode()
    assert standalone_source("Bad", future_import=False) in source
    assert STUB_BEGIN not in source and "_not_exported" not in source
    assert (city.export() / "verify.py").read_bytes() == verifier_source()
    template = (ROOT / "templates" / "verify.py").read_text(encoding="utf-8")
    head, tail = template.split(STUB_BEGIN)[0], template.split("# END LOG VERIFIERS\n")[1]
    assert source.startswith(head) and source.endswith(tail)


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_rfc8032_vectors_through_the_bundles_own_code(bundle_verifier: ModuleType, v: dict[str, str]) -> None:
    key, msg, sig = (bytes.fromhex(v[k]) for k in ("public_key", "message", "signature"))
    assert bundle_verifier.ed25519_verify(key, msg, sig) is True
    assert bundle_verifier.ed25519_verify(key, msg + b"x", sig) is False
    bad = bytearray(sig)
    bad[5] ^= 0x10
    assert bundle_verifier.ed25519_verify(key, msg, bytes(bad)) is False


def test_rfc8032_vectors_in_a_python3_isolated_process(city: City, tmp_path: Path) -> None:
    """The exported verify.py itself, imported by a ``python3 -I`` process with nothing else on its path."""
    bundle = city.export()
    script = ("import importlib.util, json, sys\n"
              "spec = importlib.util.spec_from_file_location('v', sys.argv[1])\n"
              "m = importlib.util.module_from_spec(spec); sys.modules['v'] = m; spec.loader.exec_module(m)\n"
              "out = []\n"
              "for v in json.load(sys.stdin):\n"
              "    k, msg, sig = (bytes.fromhex(v[x]) for x in ('public_key', 'message', 'signature'))\n"
              "    out.append([m.ed25519_verify(k, msg, sig), m.ed25519_verify(k, msg + b'!', sig)])\n"
              "print(json.dumps(out))\n")
    done = subprocess.run([sys.executable, "-I", "-c", script, str(bundle / "verify.py")], input=json.dumps(VECTORS),
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [[True, False]] * len(VECTORS)


# --- what the bundle holds ---------------------------------------------------------------------------


def test_bundle_carries_the_checkpoint_its_signers_key_and_a_proof_per_line(city: City) -> None:
    from engine.transparency import open_checkpoint, verify_inclusion

    bundle = city.export()
    log = log_json(bundle)
    cp, _ = open_checkpoint(log["checkpoint"], [city.key.verifier])
    assert log["checkpoint"] == city.note and log["keys"] == [str(city.key.verifier)]
    assert (log["origin"], log["size"], log["root"]) == (ORIGIN, cp.size, cp.root.hex())
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["log"] == {"origin": ORIGIN, "size": cp.size, "root": cp.root.hex()}
    for name, part in (("trail.jsonl", "trail"), ("registry.jsonl", "registry")):
        lines = (bundle / name).read_bytes().splitlines()
        assert [p["hash"] for p in log[part]] == [hashlib.sha256(b"\0" + line).hexdigest() for line in lines]
        for p in log[part]:
            verify_inclusion(bytes.fromhex(p["hash"]), p["index"], cp.size, [bytes.fromhex(x) for x in p["proof"]],
                             cp.root)
    seed = base64.b64encode(b"\x01" + city.key.seed).decode()
    for path in bundle.rglob("*"):
        if path.is_file():
            assert b"PRIVATE+KEY" not in path.read_bytes() and seed.encode() not in path.read_bytes()
    readme = (bundle / "README.txt").read_text(encoding="utf-8")
    assert "\nlog.json" in readme and f"origin '{ORIGIN}'" in readme and "compare them with the key" in readme


def test_verify_py_checks_the_log_and_names_the_key_it_trusted(city: City, tmp_path: Path) -> None:
    for public in (False, True):
        done = run(city.export(f"b-{public}", public=public), tmp_path)
        assert done.returncode == 0, done.stderr
        out = done.stdout.splitlines()
        assert out[0].startswith(f"ok: {city.pid}: 4 entries intact")
        assert f"in the checkpoint of origin '{ORIGIN}'" in out[1]
        assert out[2] == f"log: checkpoint signed by {fingerprint(city.key.verifier)}: compare this with the key " \
                         "the city publishes"
    pinned = run(city.export("pinned"), tmp_path, "--key", str(city.key.verifier))
    assert pinned.returncode == 0 and "the key given with --key" in pinned.stdout, pinned.stderr


def test_export_is_refused_until_a_checkpoint_covers_the_entries(city: City) -> None:
    from engine.export import LogNotCheckpointed, export

    later = city.engine.intake("mini", MINI_DATA, actor="ana")

    with pytest.raises(LogNotCheckpointed, match=SIGN_FIRST) as refused:
        export(city.engine, later, city.tmp / "later")
    assert "a tree of" in str(refused.value) and not (city.tmp / "later").exists()
    export(city.engine, city.pid, city.tmp / "earlier")  # the earlier proposal is still covered
    sign(city.engine, city.key)
    assert (export(city.engine, later, city.tmp / "later").folder / "log.json").exists()


def test_a_log_started_but_never_signed_refuses_export(tmp_path: Path) -> None:
    from engine.export import LogNotCheckpointed, export
    from engine.transparency import generate_key
    from engine.transparency import log as tlog

    c = City(tmp_path, log=False)
    with c.engine.db.begin() as conn:
        tlog.init(conn, ORIGIN, str(generate_key("k").verifier), "2026-03-02T09:00:00Z")
    with pytest.raises(LogNotCheckpointed, match=f"{SIGN_FIRST} .*none is signed yet"):
        export(c.engine, c.pid, tmp_path / "b")
    c.engine.close()


def test_a_database_without_a_log_exports_and_says_it_has_no_witness(tmp_path: Path) -> None:
    c = City(tmp_path, log=False)
    bundle = c.export()
    assert not (bundle / "log.json").exists()
    assert json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))["log"] is None
    assert "This bundle has NO outside witness" in (bundle / "README.txt").read_text(encoding="utf-8")
    done = run(bundle, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "log: none: this bundle has NO outside witness" in done.stdout
    assert "--key was given" in failed(run(bundle, tmp_path, "--key", str(c.key.verifier)))
    c.engine.close()


def test_cli_log_init_checkpoint_then_export(tmp_path: Path) -> None:
    from cli import cli

    runner, db, key = CliRunner(), f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "city.key"

    def cmd(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, ["--db", db, *args])
        assert result.exit_code == code, result.output
        return result.output

    cmd("users", "add", "ana", "--role", "officer", "--as", "ana")
    cmd("publish", str(MINI), "--as", "ana")
    cmd("log", "init", "--key", str(key), "--origin", ORIGIN)
    cmd("intake", "mini", "--set", "vendor=Acme", "--set", "value=100", "--set", "pricing=x", "--as", "ana")
    assert SIGN_FIRST in cmd("export", "mini-0001", "-o", str(tmp_path / "b"), code=1)
    cmd("log", "checkpoint", "--key", str(key))
    out = cmd("export", "mini-0001", "-o", str(tmp_path / "b"))
    assert f"log: checkpoint of '{ORIGIN}'" in out and "public key sha256" in out
    assert json.loads(cmd("export", "mini-0001", "-o", str(tmp_path / "j"), "--json"))["log"]["origin"] == ORIGIN
    done = run(tmp_path / "b", tmp_path)
    assert done.returncode == 0 and "compare this with the key the city publishes" in done.stdout, done.stderr
    shown = [line for line in out.splitlines() if "public key sha256" in line][0]
    assert shown.split("signed by ")[1] in done.stdout  # the export prints the fingerprint verify.py will


# --- attacks on a bundle ------------------------------------------------------------------------------


def reseal_from(bundle: Path, n: int, change: Any) -> str:
    """Edit line n of trail.jsonl and re-hash the chain from there (and the manifest's head): a consistent
    rewrite, as whoever holds the folder (or held the database) can make. Returns line n's new hash."""
    lines = (bundle / "trail.jsonl").read_bytes().splitlines()
    entries = [json.loads(line) for line in lines]
    change(entries[n - 1])
    out, hashes = [], []
    prev = hashlib.sha256(b"\0" + lines[n - 2]).hexdigest() if n > 1 else "0" * 64
    for i, e in enumerate(entries, 1):
        if i >= n:
            e["prev"] = prev
            body = canonical_bytes(e)
        else:
            body = lines[i - 1]
        prev = hashlib.sha256(b"\0" + body).hexdigest()
        out.append(body)
        hashes.append(prev)
    (bundle / "trail.jsonl").write_bytes(b"".join(b + b"\n" for b in out))
    m = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    m["head"] = prev
    write_json(bundle / "manifest.json", m)
    return hashes[n - 1]


def test_a_rewritten_and_re_hashed_entry_is_not_in_the_log(city: City, tmp_path: Path) -> None:
    """The issue's attack: a rationale edited, the chain re-hashed; chain and replay pass, the log does not."""
    bundle = city.export()
    reseal_from(bundle, 4, lambda e: e.update(rationale="cap waived by phone"))
    assert "line 4: log.json's inclusion proof is for entry" in failed(run(bundle, tmp_path))
    log = log_json(bundle)  # a careful forger also rewrites the proof's hash: the proof itself then fails
    log["trail"][3]["hash"] = hashlib.sha256(b"\0" + (bundle / "trail.jsonl").read_bytes().splitlines()[3]).hexdigest()
    write_json(bundle / "log.json", log)
    assert failed(run(bundle, tmp_path)).startswith(f"FAILED: line 4: not in the log's signed tree (origin "
                                                    f"'{ORIGIN}', size {log['size']}): inclusion of leaf")


def test_an_edited_entry_with_its_proof_left_fails_at_its_line(city: City, tmp_path: Path) -> None:
    bundle = city.export()
    lines = (bundle / "trail.jsonl").read_bytes().splitlines()
    lines[1] = lines[1].replace(b'"ana"', b'"bob"', 1)
    (bundle / "trail.jsonl").write_bytes(b"".join(x + b"\n" for x in lines))
    assert failed(run(bundle, tmp_path)).startswith("FAILED: line 2: ")


@pytest.mark.parametrize("part", ["trail", "registry"])
def test_a_proof_of_one_entry_attached_to_another(city: City, tmp_path: Path, part: str) -> None:
    bundle = city.export()
    log = log_json(bundle)
    first, second = log[part][0], log[part][1]
    log[part][0] = {**second, "hash": first["hash"]}  # line 1 keeps its hash, with line 2's index and path
    write_json(bundle / "log.json", log)
    label = "line 1" if part == "trail" else "registry.jsonl line 1"
    assert failed(run(bundle, tmp_path)).startswith(f"FAILED: {label}: not in the log's signed tree")
    log[part][0], log[part][1] = second, first  # swapped whole: named as another entry's proof
    write_json(bundle / "log.json", log)
    assert "is another entry's" in failed(run(bundle, tmp_path))


def test_a_proof_for_another_tree_size(city: City, tmp_path: Path) -> None:
    from engine.storage import reading
    from engine.transparency import log as tlog

    bundle = city.export()
    city.engine.intake("mini", MINI_DATA, actor="ana")
    sign(city.engine, city.key)  # a later, larger tree: its proofs do not fit the bundle's checkpoint
    log = log_json(bundle)
    with reading(city.engine.db) as conn:
        size = tlog.tree_size(conn)
        assert size > log["size"]
        log["trail"] = [{**p, "proof": tlog.prove(conn, p["hash"], size)["proof"]} for p in log["trail"]]
    write_json(bundle / "log.json", log)
    reason = failed(run(bundle, tmp_path))
    assert reason.startswith(f"FAILED: line 1: not in the log's signed tree (origin '{ORIGIN}', size {size - 1}")
    log["size"] = size  # claiming the larger size outside the signed text does not help
    write_json(bundle / "log.json", log)
    assert f"but the signed checkpoint says '{ORIGIN}', {size - 1}" in failed(run(bundle, tmp_path))


def test_a_forged_root_breaks_the_signature(city: City, tmp_path: Path) -> None:
    bundle = city.export()
    log = log_json(bundle)
    text, sigs = log["checkpoint"].split("\n\n", 1)
    origin, size, _ = text.split("\n")
    forged = base64.b64encode(hashlib.sha256(b"forged").digest()).decode()
    log["checkpoint"] = f"{origin}\n{size}\n{forged}\n\n{sigs}"
    log["root"] = base64.b64decode(forged).hex()
    write_json(bundle / "log.json", log)
    reason = failed(run(bundle, tmp_path))
    assert reason.startswith("FAILED: log.json: the checkpoint does not verify: signature by ") and "does not " \
        "verify" in reason


def test_a_checkpoint_signed_by_another_key_shows_another_fingerprint(city: City, tmp_path: Path) -> None:
    """A forger re-signs the (possibly rewritten) tree with a key of their own and swaps it in: verify.py
    cannot know the city's key, so it passes, but the fingerprint it prints is not the city's; pinned to
    the city's published key with --key, it fails."""
    from engine.transparency import Checkpoint, generate_key, open_checkpoint, sign_note

    bundle = city.export()
    log = log_json(bundle)
    cp, _ = open_checkpoint(log["checkpoint"], [city.key.verifier])
    forger = generate_key(city.key.name)  # same name: only the key ID and the key differ
    log["checkpoint"] = sign_note(Checkpoint(cp.origin, cp.size, cp.root).to_text(), [forger])
    log["keys"] = [str(forger.verifier)]
    write_json(bundle / "log.json", log)
    done = run(bundle, tmp_path)
    assert done.returncode == 0, done.stderr
    assert fingerprint(forger.verifier) in done.stdout and fingerprint(city.key.verifier) not in done.stdout
    assert fingerprint(forger.verifier) != fingerprint(city.key.verifier)
    reason = failed(run(bundle, tmp_path, "--key", str(city.key.verifier)))
    assert "log.json: the checkpoint does not verify: no signature by a trusted key" in reason
    log["keys"] = [str(city.key.verifier)]  # the city's key in the bundle, the forger's signature on the note
    write_json(bundle / "log.json", log)
    assert "no signature by a trusted key" in failed(run(bundle, tmp_path))


def test_removing_log_json_or_a_proof_is_caught(city: City, tmp_path: Path) -> None:
    bundle = city.export()
    log = log_json(bundle)
    (bundle / "log.json").unlink()
    assert "log.json: missing, but manifest.json says" in failed(run(bundle, tmp_path))
    write_json(bundle / "log.json", {**log, "registry": log["registry"][:-1]})
    assert "inclusion proofs for the" in failed(run(bundle, tmp_path))
    write_json(bundle / "log.json", {**log, "keys": ["nonsense"]})
    assert failed(run(bundle, tmp_path)).startswith("FAILED: log.json: key: malformed verifier key")


# --- parity: the same rewrite in the database is caught by verify --against ------------------------------


def test_the_same_rewrite_in_the_database_fails_against_the_published_checkpoint(city: City, tmp_path: Path) -> None:
    import sqlite3

    from engine.storage import reading
    from engine.transparency import logcheck

    bundle = city.export()
    new_hash = reseal_from(bundle, 4, lambda e: e.update(rationale="cap waived by phone"))
    body = (bundle / "trail.jsonl").read_bytes().splitlines()[3]
    conn = sqlite3.connect(city.db, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE audit_log SET hash=?, body=? WHERE chain=? AND seq=4", (new_hash, body, city.pid))
    conn.execute("UPDATE proposals SET head=? WHERE id=?", (new_hash, city.pid))
    conn.close()
    assert "line 4:" in failed(run(bundle, tmp_path))
    with reading(city.engine.db) as c:
        report = logcheck.against(c, city.note, [city.key.verifier])
    assert report.failures and f"({city.pid} seq 4) differs from the checkpoint" in report.failures[0].reason
