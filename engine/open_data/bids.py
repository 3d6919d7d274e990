"""Bids: an opportunity's responses as the OCDS bid extension's ``bids`` block.

This is the one seam where responses enter open data. An opportunity (an
rfp or a challenge) will have responses, each a case of its own with a
``parent`` opportunity (DESIGN.md, "Opportunities and responses"). Until
that lands, the release builder is given no responses and publishes the
recorded count (``bids_received``, ``submissions_received``) as
``tender.numberOfTenderers``; once responses exist, the caller reads each
response case, turns it into a :class:`Response` with
:func:`response_from_record`, and passes the list to the builder, which then
publishes ``bids`` (and counts them as the tenderers) in every release from
the time each was received.

Only public data: a response's tenderer name comes from a non-confidential
field; its price only when the response pathway publishes it (a sealed bid's
price is confidential until opening, and a confidential field is never read).
The bid extension (open-contracting-extensions/ocds_bid_extension) is named
in the package's ``extensions`` whenever a release carries ``bids``.
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


#: The field naming who responded, tried in order (rfp-bid: vendor; challenge-entry: team).
TENDERER_FIELDS = ("vendor", "team", "proponent")


def response_from_record(record: Any, *, tenderer_field: str | Sequence[str],
                         value_field: str | None = None) -> Response:
    """A response case (``Engine.record``) as a :class:`Response`, from its public fields only."""
    pathway, shown = record.pathway, record.shown
    if not isinstance(tenderer_field, str):
        tenderer_field = next((f for f in tenderer_field if f in pathway.fields), tenderer_field[0])
    confidential = set(pathway.confidential)
    if tenderer_field in confidential:
        raise PathwaysError(
            f"{pathway.id}: the tenderer field '{tenderer_field}' is confidential; it cannot be published"
        )
    first = json.loads(record.entries[0].body)
    stage = pathway.stages.get(shown["state"])
    status = STATUS_BY_OUTCOME.get(str(stage.outcome), "valid") if stage is not None and stage.final else "pending"
    value = shown["data"].get(value_field) if value_field and value_field not in confidential else None
    return Response(
        shown["id"],
        str(shown["data"].get(tenderer_field, "")),
        first["at"],
        status,
        None if value is None else str(value),
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
            "status": r.status,
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
