"""Signing checkpoints of the log, key rotation, and the proofs an export bundle carries.

A checkpoint is a C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint):
the origin line, the tree size, the base64 RFC 9162 root, signed as a C2SP
signed note with the log's Ed25519 key. It is what the city publishes
outside the database (a web page, the clerk's mail, a newspaper archive):
whoever kept one can later prove that the log still extends it
(``logcheck.against``). Each one signed is appended to ``log_checkpoints``,
which is public.

Keys: the current key is the last ``log_origins`` row's. A rotation is one
checkpoint signed by the current and the new key (readers trusting either
accept it), after which the new key is current. A lost key cannot sign a
rotation: ``log init --new-origin`` starts a new origin instead, recorded
with the tree size it starts at; the tree itself goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .keys import SigningKey, sign_note
from .log import LogError, _cursor, _sql, current_origin, integrate, leaf_index, origins, prove, root
from .note import Checkpoint, VerifierKey


def key_name(origin: str) -> str:
    """A signed-note key name for an origin (key names hold no spaces or '+')."""
    return "-".join(origin.replace("+", "-").split())


def checkpoint(conn: Any, keys: Sequence[SigningKey], at: str) -> dict[str, Any]:
    """Sequence what is pending, sign the tree as it is now and record the checkpoint (and a rotation)."""
    size = integrate(conn)
    cur = current_origin(conn)
    signers = {str(k.verifier) for k in keys}
    if cur["vkey"] not in signers:
        raise LogError(f"none of the keys given is the log's current key ({cur['vkey']}); a lost key cannot "
                       "sign: start a new origin with 'pathways log init --new-origin'")
    if len(keys) > 2:
        raise LogError("a checkpoint is signed by the log's key, or by it and one new key (a rotation)")
    cp = Checkpoint(cur["origin"], size, root(conn, size))
    note = sign_note(cp.to_text(), sorted(keys, key=lambda k: str(k.verifier) != cur["vkey"]))
    dbc, pg = _cursor(conn)
    try:
        dbc.execute("SELECT count(*) FROM log_checkpoints")
        n = dbc.fetchone()[0] + 1
        dbc.execute(_sql(pg, "INSERT INTO log_checkpoints (n, origin, size, root, note, at) VALUES (?,?,?,?,?,?)"),
                    (n, cp.origin, size, cp.root.hex(), note, at))
        rotated = [v for v in signers if v != cur["vkey"]]
        if rotated:
            dbc.execute(_sql(pg, "INSERT INTO log_origins (n, origin, vkey, size, at, reason) "
                                 "VALUES (?,?,?,?,?,?)"),
                        (len(origins(conn)) + 1, cur["origin"], rotated[0], size, at,
                         f"key rotation (checkpoint {n} signed by both keys)"))
    finally:
        dbc.close()
    return {"n": n, "origin": cp.origin, "size": size, "root": cp.root.hex(), "note": note,
            "rotated_to": rotated[0] if rotated else None}


def checkpoints(conn: Any) -> list[dict[str, Any]]:
    rows = conn.exec_driver_sql("SELECT n, origin, size, root, note, at FROM log_checkpoints ORDER BY n").all()
    return [dict(r._mapping) for r in rows]


def latest_checkpoint(conn: Any) -> dict[str, Any] | None:
    found = checkpoints(conn)
    return found[-1] if found else None


def verifier_keys(conn: Any) -> list[VerifierKey]:
    """Every key the database says the log used (for display; a reviewer trusts the published one)."""
    return [VerifierKey.parse(o["vkey"]) for o in origins(conn)]


def bundle_proofs(engine_or_conn: Any, hashes: Sequence[str]) -> dict[str, Any]:
    """For an export bundle: the latest checkpoint covering every entry in ``hashes``, and one proof each.

    Accepts an ``Engine`` (read in one snapshot) or an open connection.
    Returns ``{"checkpoint": note text, "origin", "size", "root" (hex),
    "vkeys": [...], "proofs": {hash: {"index", "proof": [hex, ...]}}}``.
    Raises ``LogError`` when an entry is not sequenced yet or no checkpoint
    covers them all (sign one with ``pathways log checkpoint``).
    """
    if hasattr(engine_or_conn, "db"):
        from ..storage import reading

        with reading(engine_or_conn.db) as conn:
            return bundle_proofs(conn, hashes)
    conn = engine_or_conn
    latest = latest_checkpoint(conn)
    indexes = {h: leaf_index(conn, h)[0] for h in hashes}
    need = max(indexes.values(), default=-1) + 1
    if latest is None or latest["size"] < need:
        have = f"the latest covers {latest['size']} leaves" if latest else "none is signed yet"
        raise LogError(f"no signed checkpoint covers these entries (they need a tree of {need} leaves; {have}): "
                       "run 'pathways log checkpoint --key FILE' first")
    size = latest["size"]
    proofs = {h: {"index": i, "proof": prove(conn, h, size, with_root=False)["proof"]} for h, i in indexes.items()}
    return {"checkpoint": latest["note"], "origin": latest["origin"], "size": size, "root": latest["root"],
            "vkeys": [str(k) for k in verifier_keys(conn)], "proofs": proofs}
