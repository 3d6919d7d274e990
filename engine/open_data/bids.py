"""Bids: an opportunity's responses as the OCDS bid extension's ``bids`` block.

This is the one seam where responses enter open data. An opportunity (an
rfp, a challenge) takes responses, each a case of its own with a ``parent``
opportunity (DESIGN.md, "Opportunities and responses"): ``publish`` reads
each response case, turns it into a :class:`Response` with
:func:`response_from_record`, and passes the list to the release builder,
which publishes ``bids`` (and counts them as ``tender.numberOfTenderers``)
in every release from the time each was received. A response is not
published as a process of its own.

A bid's ``status`` is the one its case had at the release's time (replayed
from its entries, like the release itself): ``pending`` while received or
being judged, ``valid`` once a decision stage or a final outcome other than
the ones below says it was admissible, ``disqualified`` when rejected or
found ineligible, ``withdrawn`` when its respondent withdrew it, and
``pending`` again when its opportunity was cancelled before it was judged to
an end (bidStatus has no code for that; ``pending`` claims nothing the city
did not decide).

Only public data: a response's tenderer name comes from a non-confidential
field; its price only when the response pathway publishes it. A sealed field
counts as confidential (``Pathway.confidential``), so a sealed bid's price is
never read, before the opening or after it. The bid extension
(open-contracting-extensions/ocds_bid_extension) is named in the package's
``extensions`` whenever a release carries ``bids``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pathways.errors import PathwaysError

from .values import amount, org_id

#: The bid extension, 1.1.5 compatible; packages name it when a release carries ``bids``.
BID_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json"
#: bidStatus codes by a response's final outcome; anything else still open is ``pending``, or ``valid`` once
#: the response has been judged admissible (its pathway says so by reaching a non-final decision stage).
STATUS_BY_OUTCOME = {
    "withdrawn": "withdrawn",
    "rejected": "disqualified",
    "returned": "disqualified",
    "declined": "disqualified",
    "unsuccessful": "valid",
    "awarded": "valid",
    "contracted": "valid",
    "completed": "valid",
    "cancelled": "pending",
}


@dataclass(frozen=True)
class Response:
    """One response to an opportunity, as open data may show it."""

    id: str
    tenderer: str
    #: When it was received (its intake entry's time): a bid counts in releases from then on.
    date: str
    status: str = "pending"
    #: The public price as a canonical money string, or None (sealed or confidential).
    value: str | None = None
    #: (time, status) each time the case's status changed, oldest first; empty: ``status`` throughout.
    changes: tuple[tuple[str, str], ...] = ()
    #: (time, seq, hash) of each of the case's intakes and transitions: a change it makes to the opportunity's
    #: public view (a bid received, withdrawn, rejected) is a release tied to that entry of the response's chain.
    moments: tuple[tuple[str, int, str], ...] = ()

    def status_at(self, at: str) -> str:
        """The bid's status as of time ``at`` (its last change by then; ``status`` when none is recorded)."""
        if not self.changes:
            return self.status
        current = self.changes[0][1]
        for when, status in self.changes:
            if when > at:
                break
            current = status
        return current


def _status(pathway: Any, stage_name: str) -> str:
    """bidStatus for a response in ``stage_name`` (see the module docstring)."""
    stage = pathway.stages.get(stage_name)
    if stage is None:
        return "pending"
    if stage.final:
        return STATUS_BY_OUTCOME.get(str(stage.outcome), "valid")
    return "valid" if stage.decision else "pending"


#: The field naming who responded, tried in order (rfp-bid: vendor; challenge-entry: team).
TENDERER_FIELDS = ("vendor", "team", "proponent")


def response_from_record(
    record: Any, *, tenderer_field: str | Sequence[str], value_field: str | None = None
) -> Response:
    """A response case (``Engine.record``) as a :class:`Response`, from its public fields only."""
    pathway, shown = record.pathway, record.shown
    if not isinstance(tenderer_field, str):
        tenderer_field = next((f for f in tenderer_field if f in pathway.fields), tenderer_field[0])
    confidential = set(pathway.confidential)
    if tenderer_field in confidential:
        raise PathwaysError(
            f"{pathway.id}: the tenderer field '{tenderer_field}' is confidential; it cannot be published"
        )
    entries = [json.loads(row.body) for row in record.entries]
    changes: list[tuple[str, str]] = []
    moments: list[tuple[str, int, str]] = []
    for row, entry in zip(record.entries, entries, strict=True):
        if entry.get("kind") in ("intake", "transition") and entry.get("to"):
            moments.append((entry["at"], entry["seq"], row.hash))
            status = _status(pathway, entry["to"])
            if not changes or changes[-1][1] != status:
                changes.append((entry["at"], status))
    value = shown["data"].get(value_field) if value_field and value_field not in confidential else None
    return Response(
        shown["id"],
        str(shown["data"].get(tenderer_field, "")),
        entries[0]["at"],
        _status(pathway, shown["state"]),
        None if value is None else str(value),
        tuple(changes),
        tuple(moments),
    )


def bids_block(responses: Sequence[Response], at: str, currency: str) -> dict[str, Any] | None:
    """The ``bids`` block as of time ``at``: statistics and one detail per response received by then."""
    received = sorted((r for r in responses if r.date <= at), key=lambda r: (r.date, r.id))
    if not received:
        return None
    details: list[dict[str, Any]] = []
    for r in received:
        bid: dict[str, Any] = {
            "id": r.id,
            "date": r.date,
            "status": r.status_at(at),
            "tenderers": [{"id": org_id(r.tenderer), "name": r.tenderer}],
        }
        value = amount(r.value, currency) if r.value is not None else None
        if value:
            bid["value"] = value
        details.append(bid)
    statistics: list[Mapping[str, Any]] = [
        {"id": "bids", "measure": "bids", "value": len(details)},
        {"id": "validBids", "measure": "validBids", "value": sum(1 for b in details if b["status"] == "valid")},
    ]
    return {"statistics": list(statistics), "details": details}
