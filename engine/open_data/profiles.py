"""How each pathway reads as an OCDS contracting process: method, phases and the fields that map.

A :class:`Profile` says, for one pathway, which OCDS phase each stage belongs
to, how each final stage ends the process, and which *public* fields fill
which OCDS fields. Only fields named here are published, and a field the
pathway declares confidential is never read even if named (``releases.py``
skips it): the mapping is an allow-list, not a redaction.

Procurement methods (OCDS ``procurementMethod`` codelist: open, selective,
limited, direct) and why (DOMAIN.md, "Open data"):

- **rfp**: ``open``. Public notice once a week for two weeks before bid
  opening (Tex. Loc. Gov't Code §252.041(a)), sealed bids or proposals.
- **challenge**: ``open``. Anyone eligible may enter; the notice is on a
  public website (15 U.S.C. 3719(f)).
- **unsolicited**: depends on the route taken. Until the acceptance decision
  there is no procurement yet (``planning``, no method); a Swiss challenge is
  ``open`` (competing proposals invited publicly for at least 45 days,
  Virginia PPEA guidelines; PPIAF / World Bank guidance); a sole-source
  negotiation is ``direct`` (FAR 6.302-1(a)(2)(i), after a public synopsis,
  FAR 15.607).
- **pilot**: ``direct``. A pilot is one vendor's offer, agreed without
  competition under a cap (at most $25,000 and one year, West Palm Beach Code
  §66-74) and with no obligation to buy; "direct" is OCDS's code for an
  award to a single supplier without competition. Not exclusive (Coral Gables
  AO 2018-02): another vendor's pilot is another process.
- **sandbox**: ``direct``. Each case is one applicant's application, admitted
  on published eligibility criteria (A.R.S. §41-5604; the FCA's five
  criteria), with no competition among applicants and no purchase. The
  "award" is the admission, the "contract" the agreed sandbox plan (EU AI Act
  Art. 57, testing under a specific plan agreed with the authority); it
  carries no value.
- A new pathway kind without a profile is published as ``planning`` releases
  only (its stages as milestones), with no method: choose one here, cited,
  before its tender or award data is published.

Phases: ``planning`` (tender status planning), ``tender`` (a public call is
open: active), ``evaluation`` (call closed, deciding: active; who is
recommended stays internal), ``intent`` (the decision is announced: an award
pending to the named supplier), ``award`` (award active, tender complete),
``contract`` and ``implementation`` (contract active). Final stages end the
process as ``cancelled``, ``unsuccessful``, ``withdrawn`` (tender status),
``complete`` (the work is done) or ``terminated`` (ended early); once a
contract exists, any final stage terminates it (OCDS: "fully executed or no
longer in force").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field

PHASES = ("planning", "tender", "evaluation", "intent", "award", "contract", "implementation")
ENDINGS = ("cancelled", "unsuccessful", "withdrawn", "complete", "terminated")
#: OCDS milestone type (open milestoneType codelist) for a stage's deadline, by the stage's phase.
MILESTONE_TYPES = {
    "planning": "preProcurement",
    "tender": "engagement",
    "evaluation": "assessment",
    "intent": "approval",
    "award": "approval",
    "contract": "delivery",
    "implementation": "delivery",
}


@dataclass(frozen=True)
class Method:
    """``tender.procurementMethod`` with its local name and justification (all public text)."""

    code: str
    details: str
    rationale: str


#: (public data, stages visited so far) -> the method, or None while no route is chosen.
MethodRule = Callable[[Mapping[str, object], Set[str]], Method | None]


def fixed(method: Method) -> MethodRule:
    return lambda data, visited: method


@dataclass(frozen=True)
class Profile:
    """One pathway's OCDS mapping; every field name is a *public* field of that pathway."""

    method: MethodRule
    phases: Mapping[str, str]
    endings: Mapping[str, str]
    title: str | None = "title"
    description: str | None = None
    tender_value: str | None = None
    tender_period: tuple[str, str] | None = None
    #: The public count of tenders received, for a pathway whose tenders are not cases of their own (an
    #: opportunity's responses are counted themselves: ``bids.py``).
    tenderers_count: Callable[[Mapping[str, object]], int | None] = lambda data: None
    #: Fields naming organisations that tendered (published as parties with role tenderer).
    tenderers: tuple[str, ...] = ()
    #: Fields naming the supplier(s) of the award, first one set wins (a list field gives several).
    suppliers: tuple[str, ...] = ()
    award_value: str | None = None
    contract_value: str | None = None
    contract_signed: str | None = None
    contract_period: tuple[str, str] | None = None
    #: A field naming the buyer's contact person, published only because the rules make it public
    #: (the notice names the authorized contact, Austin City Code §2-7-105).
    contact: str | None = None
    notes: tuple[str, ...] = field(default=())


def _count(name: str, plus: int = 0) -> Callable[[Mapping[str, object]], int | None]:
    def count(data: Mapping[str, object]) -> int | None:
        value = data.get(name)
        return value + plus if isinstance(value, int) and not isinstance(value, bool) else None

    return count


RFP = Profile(
    method=lambda data, visited: Method(
        "open",
        {
            "competitive_sealed_bids": "Competitive sealed bids (Tex. Loc. Gov't Code ch. 252)",
            "competitive_sealed_proposals": "Competitive sealed proposals (Tex. Loc. Gov't Code ch. 252)",
        }.get(str(data.get("method")), "Competitive solicitation (Tex. Loc. Gov't Code ch. 252)"),
        "Competition required above the threshold (Tex. Loc. Gov't Code §252.021(a)); notice published "
        "once a week for two consecutive weeks before bid opening (§252.041(a)).",
    ),
    phases={
        "draft": "planning",
        "legal_review": "planning",
        "published": "tender",
        "evaluation": "evaluation",
        "intent_to_award": "evaluation",
        # The notice of intent is posted on entering the protest window: from then the recommended vendor is public.
        "protest_window": "intent",
        "award_pending": "intent",
        "awarded": "award",
        "contract_signed": "contract",
    },
    endings={"closed": "complete", "cancelled": "cancelled", "unsuccessful": "unsuccessful"},
    description="scope_of_work",
    tender_value="estimated_value",
    tender_period=("notice_first_published", "bid_opening"),
    # The bids are rfp-bid cases (bids.py): they give numberOfTenderers, the tenderers and each bid's status. A
    # bid's price is sealed until the opening and so never read (a sealed field counts as confidential).
    # The award names a bid; its vendor is the supplier (releases.py maps response ids to tenderers).
    suppliers=("awarded_response", "recommended_response"),
    award_value="award_amount",
    contract_signed="contract_signed_on",
    contact="authorized_contact_name",
)

CHALLENGE = Profile(
    method=fixed(
        Method(
            "open",
            "Prize competition (15 U.S.C. 3719)",
            "Open to every eligible entrant; notice on a public website stating subject, "
            "eligibility, prize and basis for selection (15 U.S.C. 3719(f)).",
        )
    ),
    phases={
        "draft": "planning",
        "internal_review": "planning",
        "edits_requested": "planning",
        "approved": "planning",
        "published": "tender",
        "submissions_closed": "evaluation",
        "eligibility_screening": "evaluation",
        "judging": "evaluation",
        "winners_selected": "evaluation",
        "awarded": "award",
    },
    endings={"archived": "complete", "no_award": "unsuccessful", "cancelled": "cancelled"},
    description="subject",
    tender_value="total_prize",
    tender_period=("opens_on", "closes_on"),
    # The entries are challenge-entry cases (bids.py); every prize winner is a supplier of the award, first
    # place first (``winners`` names entries; releases.py maps them to their teams).
    suppliers=("winners", "first_place"),
    award_value="prizes_paid_total",
)


def _unsolicited_method(data: Mapping[str, object], visited: Set[str]) -> Method | None:
    if "competitive_notice" in visited:
        return Method(
            "open",
            "Unsolicited proposal opened to competition (Swiss challenge: the proponent may match the best challenger)",
            "Competing proposals invited publicly for at least 45 days (Virginia PPEA guidelines); "
            "Swiss challenge per PPIAF / World Bank, Policy Guidelines for Managing Unsolicited "
            "Proposals in Infrastructure Projects.",
        )
    if "sole_source_negotiation" in visited:
        return Method(
            "direct",
            "Unsolicited proposal negotiated sole source (FAR 15.607)",
            "Only one responsible source: an acceptable unsolicited proposal (FAR 6.302-1(a)(2)(i)), "
            "with a favourable evaluation, an approved justification, funding and a public synopsis "
            "(FAR 15.607); above the ch. 252 threshold, an exemption confirmed by the city attorney "
            "(Tex. Loc. Gov't Code §252.021(a)).",
        )
    return None


UNSOLICITED = Profile(
    method=_unsolicited_method,
    phases={
        "received": "planning",
        "initial_review": "planning",
        "awaiting_resubmission": "planning",
        "comprehensive_evaluation": "planning",
        "acceptance_decision": "planning",
        "sole_source_negotiation": "evaluation",
        "competitive_notice": "planning",
        "challenge_period": "tender",
        "challenger_evaluation": "evaluation",
        "match_window": "evaluation",
        "award": "award",
        "contract": "contract",
    },
    # The final stage 'contract' is the contract signed and in force: a phase, not an ending.
    endings={"returned": "unsuccessful", "withdrawn": "withdrawn", "cancelled": "cancelled"},
    description="abstract",
    tender_period=("notice_published_on", "challenge_closes_on"),
    tenderers_count=_count("challengers_received", plus=1),
    tenderers=("offeror", "best_challenger"),
    suppliers=("winner",),
    award_value="award_amount",
    contract_value="contract_value",
    contract_signed="contract_signed_on",
    contact="authorized_contact_name",
    notes=("numberOfTenderers counts the original proponent with the challengers received.",),
)

PILOT = Profile(
    method=fixed(
        Method(
            "direct",
            "Technology pilot (no obligation to buy)",
            "One vendor's pilot under the cap, at most $25,000 and one year, with a written "
            "agreement and no obligation to buy (West Palm Beach Code §66-74); not exclusive "
            "(Coral Gables Administrative Order 2018-02).",
        )
    ),
    phases={
        "intake": "planning",
        "screening": "planning",
        "legal_review": "planning",
        "agreement_signed": "contract",
        "active": "implementation",
        "evaluation": "implementation",
        "completed": "implementation",
        "removal_restoration": "implementation",
    },
    endings={
        "follow_on_procurement": "complete",
        "terminated": "terminated",
        "declined": "unsuccessful",
        "withdrawn": "withdrawn",
    },
    description="scope",
    tender_value="value",
    tenderers=("vendor",),
    suppliers=("vendor",),
    award_value="value",
    contract_value="value",
    contract_signed="agreement_signed_on",
    contract_period=("start_date", "end_date"),
)

SANDBOX = Profile(
    method=fixed(
        Method(
            "direct",
            "Regulatory sandbox admission (no purchase)",
            "One applicant's application, admitted on published eligibility criteria "
            "(A.R.S. §41-5604; FCA sandbox criteria); no competition among applicants and no "
            "purchase; testing under an agreed sandbox plan (EU AI Act Art. 57).",
        )
    ),
    phases={
        "application": "planning",
        "completeness": "planning",
        "eligibility_review": "planning",
        "admitted": "award",
        "test_design": "award",
        "testing": "contract",
        "suspended": "implementation",
        "exit_notice": "implementation",
        "extension": "implementation",
        "wind_down": "implementation",
        "exit_report": "implementation",
    },
    endings={"closed": "complete", "rejected": "unsuccessful", "withdrawn": "withdrawn"},
    title="product",
    description="product_description",
    tenderers=("applicant",),
    suppliers=("applicant",),
    contract_period=("test_start", "test_end"),
)

#: The shipped pathways' profiles, by pathway id.
PROFILES: dict[str, Profile] = {
    "rfp": RFP,
    "challenge": CHALLENGE,
    "unsolicited": UNSOLICITED,
    "pilot": PILOT,
    "sandbox": SANDBOX,
}


def profile_for(pathway_id: str, stages: Set[str], finals: Mapping[str, str | None]) -> Profile:
    """The pathway's profile, or the planning-only fallback for a pathway without one (see the docstring)."""
    known = PROFILES.get(pathway_id)
    if known is not None:
        return known
    negative = {
        "cancelled": "cancelled",
        "withdrawn": "withdrawn",
        "rejected": "unsuccessful",
        "returned": "unsuccessful",
        "declined": "unsuccessful",
        "unsuccessful": "unsuccessful",
    }
    endings = {name: negative.get(str(outcome), "complete") for name, outcome in finals.items()}
    return Profile(
        method=lambda data, visited: None,
        phases={s: "planning" for s in stages if s not in finals},
        endings=endings,
        title=None,
    )
