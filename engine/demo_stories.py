"""The demo's stories: eight proposals through the five shipped pathways.

Each story is a generator that acts on a :class:`~engine.demo_support.Demo`
and yields the moment it next acts, so ``run_demo`` can run them side by side
in calendar order. Every step is an ordinary ``Engine`` call: read them as a
worked example of the Python API, with realistic data for each pathway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from .demo_support import Demo, Story

# City staff. The first one is added before anything else and adds the rest.
MARIA = "maria.alvarez"  # buyer, Purchasing Office
DAVID = "david.okafor"  # Purchasing Director
MARCUS = "marcus.lee"  # Purchasing Office point of contact for vendors
HANNAH = "hannah.cole"  # Assistant City Attorney
TOM = "tom.becker"  # Risk Manager
PRIYA = "priya.nair"  # Smart City Office program manager
GRACE = "grace.kim"  # Chief Innovation Officer, decides sandbox admission
SOFIA = "sofia.martinez"  # Solid Waste Services
JAMES = "james.wu"  # Transportation and Public Works
ELENA = "elena.garcia"  # Development Services
LI = "li.chen"  # Watershed Protection engineer
RAJ = "raj.patel"  # Transportation engineer
KWAME = "kwame.mensah"  # Transportation data analyst
NINA = "nina.brooks"  # Office of Innovation policy analyst
ROBERT = "robert.hayes"  # City Manager
CARMEN = "carmen.diaz"  # Purchasing supervisor, chairs evaluation panels

STAFF: tuple[tuple[str, tuple[str, ...]], ...] = (
    (MARIA, ("procurement_officer",)),
    (DAVID, ("purchasing_director",)),
    (MARCUS, ("intake_officer", "authorized_contact", "bid_clerk")),
    (HANNAH, ("legal",)),
    (TOM, ("risk_manager",)),
    (PRIYA, ("program_manager", "sandbox_manager")),
    (GRACE, ("admitting_official",)),
    (SOFIA, ("department_sponsor",)),
    (JAMES, ("department_sponsor",)),
    (ELENA, ("department_liaison",)),
    (LI, ("evaluator", "judge")),
    (RAJ, ("evaluator", "judge", "technical_evaluator")),
    (KWAME, ("technical_evaluator", "evaluator")),
    (NINA, ("eligibility_reviewer", "judge")),
    (ROBERT, ("city_manager",)),
    (CARMEN, ("panel_chair",)),
)



def pilot_smart_bins(demo: Demo) -> Iterator[dt.datetime]:
    """A pilot that works: every step of §66-74, the clock starting and ending it, a follow-on buy."""
    start, end = dt.date(2026, 3, 2), dt.date(2026, 8, 31)
    pid = demo.intake("pilot", PRIYA, "BinSense smart-bin fill sensors on 120 bins, $18,500 for 6 months", {
        "vendor": "BinSense Technologies, Inc.",
        "title": "Smart-bin fill-level sensors, East 6th Street",
        "scope": "Ultrasonic fill-level sensors on 120 public litter bins between Congress Avenue and I-35, "
                 "reporting every 15 minutes so collection crews are routed to full bins only.",
        "department": "Solid Waste Services",
        "location": "East 6th Street, Congress Ave to I-35",
        "value": "18500", "start_date": start, "end_date": end, "exclusive": False,
        "vendor_pricing": "After the pilot: $11.40 per sensor per month for 500+ sensors on a 3-year term.",
        "proprietary_technical_details": "BS-400 sensor, LoRaWAN class A; fill-estimation firmware 3.2.",
    })
    yield demo.cal.later(business_days=1)
    demo.act(pid, "screen", PRIYA)
    yield demo.cal.later(business_days=3)
    demo.refused(pid, "send_to_legal", SOFIA, rationale="Fits the caps; please review the agreement.")
    yield demo.cal.later(hours=2)
    demo.act(pid, "record_screening", SOFIA,
             success_criteria="Overflow reports down 30%; corridor collection trips down 20%; sensor uptime 95%+",
             data_ownership="city",
             data_handling_terms="Fill levels and location only, no images or personal data; the vendor deletes "
                                 "its copy 30 days after the pilot",
             screening_notes="Within the $25,000 and one-year caps; non-exclusive.")
    yield demo.cal.later(minutes=30)
    demo.act(pid, "send_to_legal", SOFIA, rationale="Within the caps, non-exclusive; criteria and data terms set.")
    yield demo.cal.later(business_days=5)
    demo.act(pid, "record_legal_review", HANNAH, agreement_form_approved=True, performance_standards_included=True,
             removal_restoration_included=True, no_purchase_obligation=True)
    yield demo.cal.later(business_days=2)
    demo.act(pid, "record_insurance", TOM, additional_insured=True, insurance_expires="2027-01-31",
             doc="Certificate of liability insurance, BinSense Technologies: the City named as additional insured; "
                 "policy GL-448812, expires 2027-01-31.")
    yield demo.cal.later(business_days=1)
    demo.act(pid, "sign_agreement", MARIA, agreement_signed_on=demo.cal.today(),
             rationale="Signed on the city attorney's pilot form; no obligation to buy.",
             doc="Pilot agreement PA-2026-014, City and BinSense Technologies, Inc., signed.")
    yield from demo.wait_for_clock(pid, "active")  # the clock starts the pilot
    yield demo.cal.on(dt.date(2026, 6, 1))
    demo.act(pid, "record_monitoring", SOFIA, monitoring_reports=3, incidents=0,
             doc="Monitoring report March-May: sensor uptime 97.8%, no incidents.")
    yield demo.cal.on(dt.date(2026, 8, 24))
    demo.act(pid, "record_monitoring", SOFIA, monitoring_reports=6, incidents=1,
             doc="Monitoring report June-August: one sensor vandalised and replaced by the vendor.")
    yield from demo.wait_for_clock(pid, "evaluation")  # the clock ends the term
    yield demo.cal.later(business_days=8)
    demo.act(pid, "record_evaluation", SOFIA, recommendation="procure",
             evaluation_summary="Overflow reports down 41%, corridor collection trips down 27%, uptime 97.1%.",
             rationale="Every success criterion met; the department recommends a citywide purchase.",
             doc="Pilot evaluation report, Solid Waste Services.")
    yield demo.cal.later(business_days=1)
    demo.act(pid, "schedule_removal", SOFIA, removal_due=demo.cal.today() + dt.timedelta(days=21))
    yield demo.cal.later(days=14)
    demo.act(pid, "verify_restoration", SOFIA, removal_verified=True, site_restored=True,
             doc="Site inspection: all 120 sensors removed, bin lids restored; photographs attached.")
    yield demo.cal.later(business_days=1)
    demo.act(pid, "recommend_follow_on", MARIA,
             rationale="Citywide rollout (about 2,400 bins, est. $310,000) is above the §252.021(a) threshold, "
                       "so it will be competed through the rfp pathway.")


def pilot_parking_cameras(demo: Demo) -> Iterator[dt.datetime]:
    """A pilot the rules stop: $42,000 is over the $25,000 cap, so the department declines it."""
    yield demo.cal.later(days=7)
    pid = demo.intake("pilot", PRIYA, "Vizion AI parking-occupancy cameras, $42,000: over the pilot cap", {
        "vendor": "Vizion Curb AI, LLC",
        "title": "AI parking-occupancy cameras, downtown",
        "scope": "40 pole-mounted cameras counting on-street parking on Congress Ave and 2nd Street, "
                 "feeding a public availability map.",
        "department": "Transportation and Public Works",
        "location": "Congress Ave and 2nd Street",
        "value": "42000", "start_date": "2026-04-01", "end_date": "2027-03-31", "exclusive": False,
        "vendor_pricing": "$1,050 per camera per year after the pilot; 15% off a 5-year term.",
        "proprietary_technical_details": "On-device occupancy model VZ-7; images never leave the camera.",
    })
    yield demo.cal.later(business_days=2)
    demo.act(pid, "screen", PRIYA)
    yield demo.cal.later(business_days=4)
    demo.act(pid, "record_screening", JAMES,
             success_criteria="Occupancy counts within 5% of manual counts; map updated every 2 minutes",
             data_ownership="shared",
             data_handling_terms="Only counts leave the device; no plates or faces stored")
    yield demo.cal.later(hours=1)
    demo.refused(pid, "send_to_legal", JAMES, rationale="Department wants to test the cameras on two blocks.")
    yield demo.cal.later(hours=1)
    demo.act(pid, "decline", JAMES,
             rationale="The cost to the city, $42,000, is over the $25,000 pilot cap (West Palm Beach Code §66-74 "
                       "model). Vizion may propose a no-cost or smaller pilot, or answer a competitive solicitation.")


# --- rfp ----------------------------------------------------------------------------------


SIGNAL_BIDS = (  # (days after the addendum, vendor, price, technical proposal, confidential pricing details)
    (2, "Meridian Mobility Systems, LLC", "812400", "Radar and video detection at every approach, central "
        "adaptive software hosted by the vendor, 120-day rollout.", "Per intersection $33,100; software $84,200."),
    (4, "Crosstown Signal Co.", "779000", "Video detection, on-premise adaptive software, 150-day rollout.",
     "Per intersection $31,900; software $77,200."),
    (5, "Signalogic Inc.", "845500", "Radar detection, cloud software, 100-day rollout.",
     "Per intersection $34,600; software $84,300."),
)
#: Each bid's sheets: evaluator -> (technical, experience, price), out of 100 each.
SIGNAL_SCORES = {
    "Meridian Mobility Systems, LLC": {LI: ("90", "85", "88"), RAJ: ("60", "80", "88"), KWAME: ("78", "85", "88")},
    "Crosstown Signal Co.": {LI: ("70", "75", "95"), RAJ: ("72", "70", "95")},
    "Signalogic Inc.": {LI: ("74", "70", "80"), RAJ: ("70", "72", "80"), KWAME: ("72", "70", "80")},
}


def rfp_traffic_signals(demo: Demo) -> Iterator[dt.datetime]:
    """The competitive baseline: notice, three sealed bids opened by the clock, a panel with a recusal and a
    flagged spread, the award naming a bid, a protest denied, a contract."""
    yield demo.cal.later(business_days=1)
    pid = demo.intake("rfp", JAMES, "Adaptive signals on N. Lamar (22 intersections), est. $875,000", {
        "title": "Adaptive traffic signal control, North Lamar Blvd (22 intersections)",
        "department": "Transportation and Public Works",
        "estimated_value": "875000",
        "method": "competitive_sealed_proposals",
        "scope_of_work": "Supply, install and support adaptive signal control at 22 intersections from US 183 to "
                         "Rundberg Lane. Criteria: technical approach 40, price 30, experience 20, local 10.",
    })
    yield demo.cal.later(business_days=8)
    demo.act(pid, "submit_for_review", JAMES)
    yield demo.cal.later(business_days=4)
    demo.act(pid, "request_edits", HANNAH, rationale="Add the anti-lobbying no-contact clause and name the "
                                                     "authorized contact person (Austin City Code ch. 2-7, art. 6).")
    yield demo.cal.later(business_days=3)
    demo.act(pid, "submit_for_review", MARIA)
    yield demo.cal.later(business_days=3)
    demo.act(pid, "approve_solicitation", HANNAH, legal_approved=True, rationale="Approved as to form.")
    yield demo.cal.later(business_days=1)
    first = demo.cal.today()
    demo.act(pid, "publish", MARIA, solicitation_number="RFP 2026-TPW-0117", authorized_contact_name="Marcus Lee",
             notice_first_published=first, bid_opening=first + dt.timedelta(days=35))
    yield demo.cal.later(days=7)
    demo.act(pid, "record_second_notice", MARIA, notice_second_published=demo.cal.today())
    yield demo.cal.later(days=10)
    demo.act(pid, "issue_addendum", MARCUS, addenda_issued=1,
             rationale="Addendum 1: answers to 14 questions from the pre-proposal conference.")
    bids = {}
    for days, vendor, price, approach, details in SIGNAL_BIDS:
        yield demo.cal.later(days=days)
        bids[vendor] = demo.respond(pid, "rfp-bid", MARCUS, f"Bid from {vendor}, sealed until the opening", {
            "vendor": vendor, "contact_email": f"bids@{vendor.split()[0].lower()}.example",
            "price": price, "technical_proposal": approach, "pricing_details": details})
    yield from demo.wait_for_clock(pid, "evaluation")  # the clock opens the bids: every bid is unsealed at once
    yield demo.cal.later(hours=1)
    meridian, crosstown = bids["Meridian Mobility Systems, LLC"], bids["Crosstown Signal Co."]
    demo.panel("assign", pid, MARIA, evaluators=[LI, RAJ, KWAME])  # on the rfp: the panel of every bid
    yield demo.cal.later(hours=2)
    demo.panel_refused("score", meridian, RAJ, scores={"technical": "80"})  # before declaring: refused
    for bid in bids.values():
        for who in (LI, RAJ, KWAME):
            if who == KWAME and bid == crosstown:
                demo.panel("declare", bid, KWAME, conflict=True,
                           statement="I worked for Crosstown Signal Co. until 2024 and hold its stock options.")
            else:
                demo.panel("declare", bid, who, conflict=False)
    yield demo.cal.later(business_days=1)
    demo.panel_refused("score", crosstown, KWAME, scores={"technical": "95"})  # recused: refused, never counted
    for vendor, sheets in SIGNAL_SCORES.items():
        for who, (technical, experience, price) in sheets.items():
            demo.panel("score", bids[vendor], who, scores={"technical": technical, "experience": experience,
                                                           "price": price})
        yield demo.cal.later(hours=3)
    yield demo.cal.later(business_days=3)  # the consensus meeting: the technical spread on Meridian is flagged
    demo.panel("consensus", meridian, CARMEN, scores={"technical": "82", "experience": "85", "price": "88"},
               rationale="Consensus meeting: Dr. Chen's technical score rests on the detector redundancy the others "
                         "had missed; the panel agrees on 82.")
    yield demo.cal.later(business_days=2)
    award = {"recommended_response": meridian, "award_amount": "812400"}
    demo.refused(pid, "recommend_award", JAMES, rationale="Our department prefers Meridian.", **award)
    yield demo.cal.later(hours=1)
    demo.act(pid, "recommend_award", DAVID, rationale="Best value: highest panel score; price within the estimate.",
             **award)
    yield demo.cal.later(business_days=3)
    demo.act(pid, "announce_intent", MARIA, intent_announced_on=demo.cal.today(),
             doc="Notice of intent to award RFP 2026-TPW-0117 to Meridian Mobility Systems, LLC.")
    yield demo.cal.later(days=3)
    demo.act(pid, "record_protest", MARCUS, protest_pending=True, protest_received_on=demo.cal.today(),
             protester="Crosstown Signal Co.", doc="Protest letter from Crosstown Signal Co.: alleges a price "
                                                   "scoring error.")
    yield demo.cal.later(days=4)
    demo.act(pid, "decide_protest", HANNAH, protest_pending=False, protest_decision="denied",
             rationale="Price scores recomputed from the bid forms: no error, ranking unchanged.",
             doc="Written protest decision sent to Crosstown Signal Co.")
    yield from demo.wait_for_clock(pid, "award_pending")  # the clock closes the 10-day protest window
    yield demo.cal.later(business_days=2)
    demo.refused(pid, "award", DAVID, awarded_response=meridian, award_amount="812400",  # he recommended it
                 rationale="Protest window closed; award as noticed.")
    yield demo.cal.later(hours=2)
    demo.act(pid, "award", ROBERT, awarded_response=meridian, award_amount="812400",
             rationale="Protest window closed with no protest pending; award as noticed.")
    yield demo.cal.later(business_days=10)
    demo.act(pid, "sign_contract", DAVID, contract_number="CT-2026-0458", contract_signed_on=demo.cal.today(),
             doc="Contract CT-2026-0458, executed by Meridian Mobility Systems and the City.")
    yield demo.cal.later(business_days=5)
    demo.act(pid, "close_out", MARIA, rationale="Contract executed; file complete and retained.")


# --- challenge ----------------------------------------------------------------------------


def challenge_flood_sensors(demo: Demo) -> Iterator[dt.datetime]:
    """A prize challenge: review with edits, the clock closing the call, a judge recusing, winners paid."""
    yield demo.cal.later(business_days=2)
    pid = demo.intake("challenge", PRIYA, "Flash-flood sensor prize challenge, $150,000 in prizes", {
        "title": "Flash Flood Early Warning Challenge",
        "problem_statement": "Low-water crossings flood within minutes; drivers need a warning before they "
                             "reach the water, at a cost the city can afford at 40 crossings.",
        "subject": "Low-cost, solar-powered water-level sensors and warning beacons for low-water crossings",
        "eligibility_rules": "US-based teams of any size; city employees and their families are not eligible.",
        "registration_process": "Register on the challenge page; submit a design, a prototype video and a cost "
                                "sheet by the closing date.",
        "total_prize": "150000",
        "prize_structure": "First $75,000; second $45,000; third $30,000",
        "selection_basis": "Field accuracy 40%, cost per crossing 30%, durability 20%, ease of installation 10%",
        "ip_terms": "Entrants keep their IP; the city seeks a royalty-free licence to winners' data formats, "
                    "only with their written consent.",
        "city_takes_ip_interest": True,
    })
    yield demo.cal.later(business_days=5)
    demo.act(pid, "submit_for_review", PRIYA)
    yield demo.cal.later(business_days=2)
    demo.refused(pid, "publish", PRIYA)
    yield demo.cal.later(business_days=1)
    demo.act(pid, "request_edits", MARIA, rationale="State that prizes are paid only after eligibility is verified.")
    yield demo.cal.later(business_days=3)
    demo.act(pid, "resubmit", PRIYA, rationale="Payment terms added to the rules.")
    yield demo.cal.later(business_days=3)
    demo.act(pid, "approve", HANNAH, rationale="Notice, eligibility, IP terms and prizes approved.")
    yield demo.cal.later(business_days=2)
    opens = demo.cal.today()
    demo.act(pid, "publish", PRIYA, notice_url="https://www.challenge.gov/challenge/flash-flood-early-warning/",
             opens_on=opens, closes_on=opens + dt.timedelta(days=45), doc="Challenge notice as published.")
    yield demo.cal.later(days=20)
    demo.act(pid, "answer_questions", MARCUS, questions_answered=23, doc="Questions and answers sent to all "
                                                                         "registrants.")
    yield from demo.wait_for_clock(pid, "submissions_closed")  # the clock closes the call
    yield demo.cal.later(business_days=2)
    demo.act(pid, "begin_screening", PRIYA, submissions_received=17,
             entrant_materials="Sealed: 17 entries' sensor designs and cost sheets, opened only by the judges.")
    yield demo.cal.later(business_days=5)
    demo.act(pid, "record_screening", HANNAH, eligible_submissions=14,
             rationale="Three entries ineligible: two registered late, one team includes a city employee.")
    yield demo.cal.later(business_days=1)
    demo.act(pid, "appoint_judges", PRIYA, judges=["Li Chen", "Raj Patel", "Nina Brooks", "Dr. Ana Morales"],
             judges_conflict_free=True, doc="Judges' declarations of no personal, financial or family tie.")
    yield demo.cal.later(hours=1)
    demo.act(pid, "begin_judging", PRIYA)
    yield demo.cal.later(business_days=3)
    demo.act(pid, "recuse_judge", RAJ, recusals=["Raj Patel: entry 9, StreamSense (former employer)"],
             judges=["Li Chen", "Nina Brooks", "Dr. Ana Morales"],
             rationale="I worked for StreamSense until 2024; I recuse from the whole competition.")
    yield demo.cal.later(business_days=12)
    demo.act(pid, "record_evaluations", LI, evaluations_complete=True)
    yield demo.cal.later(business_days=2)
    demo.act(pid, "select_winners", PRIYA, winners=["HydroPulse Labs", "StreamWatch (Texas State)", "Gauge & Beacon"],
             rationale="Top three consensus scores: 91, 86, 80.", doc="Judging report with scores and reasons.")
    yield demo.cal.later(business_days=5)
    demo.act(pid, "verify_winners", HANNAH, winners_eligibility_verified=True, ip_written_consent=True,
             rationale="Eligibility confirmed; all three winners signed the data-format licence.")
    yield demo.cal.later(business_days=5)
    demo.act(pid, "award_prizes", MARIA, prizes_paid_total="150000", rationale="Prizes paid as published.",
             doc="Payment vouchers for the three prizes.")
    yield demo.cal.later(business_days=10)
    demo.act(pid, "archive", PRIYA, rationale="Winners announced; record closed.")


# --- sandbox ------------------------------------------------------------------------------


def sandbox_permit_chatbot(demo: Demo) -> Iterator[dt.datetime]:
    """A sandbox test: admission on the five criteria, a reported failure, exit notice, clock-run wind-down."""
    yield demo.cal.later(days=28)
    pid = demo.intake("sandbox", PRIYA, "Permitly AI permit chatbot, 6-month test for up to 5,000 residents", {
        "applicant": "Permitly AI, Inc.",
        "product": "Residential permit assistant (AI chatbot)",
        "product_description": "A generative-AI assistant on the Development Services site that answers "
                               "permit questions and pre-checks applications for missing documents.",
        "relief_requested": "Waive the departmental rule that only staff give permit pre-screening guidance.",
        "max_consumers": 5000,
        "consumer_safeguards": "Every chat says it is an AI; hand-off to staff at any time; answers are not "
                               "binding determinations; complaints through 311.",
        "consumer_data_plan": "Transcripts kept in the city's cloud tenant, personal data redacted within 24 h, "
                              "deleted 90 days after the test; the vendor sees redacted transcripts only.",
        "proprietary_details": "Fine-tuned model weights and retrieval index of the city code.",
    })
    yield demo.cal.later(business_days=1)
    demo.act(pid, "submit", PRIYA, doc="Sandbox application from Permitly AI, Inc.")
    yield demo.cal.later(business_days=3)
    demo.act(pid, "accept_complete", PRIYA)
    yield demo.cal.later(business_days=10)
    demo.act(pid, "record_criteria", NINA, in_scope=True, genuine_innovation=True, consumer_benefit=True,
             ready_for_testing=True, needs_sandbox=True,
             rationale="All five criteria met: a city rule blocks the test, and residents get faster answers.")
    yield demo.cal.later(business_days=5)
    demo.act(pid, "admit", GRACE, rationale="Admitted for up to 5,000 residents.")
    yield demo.cal.later(business_days=2)
    demo.act(pid, "begin_test_design", PRIYA)
    yield demo.cal.later(business_days=15)
    demo.act(pid, "confirm_relief", HANNAH, relief_confirmed=True,
             rationale="A departmental rule the city may relax; no state or federal requirement is affected.")
    yield demo.cal.on(dt.date(2026, 5, 4))
    demo.act(pid, "agree_sandbox_plan", GRACE, sandbox_plan_agreed=True, test_start="2026-05-04",
             test_end="2026-10-30", rationale="Plan agreed: metrics, safeguards and weekly reports.",
             doc="Sandbox plan signed by Permitly AI and the Office of Innovation.")
    yield demo.cal.later(days=30)
    demo.act(pid, "record_enrolment", PRIYA, consumers_enrolled=2140)
    yield demo.cal.later(days=21)
    demo.act(pid, "report_failure", ELENA, failures_reported=1, last_failure_reported_on=demo.cal.today(),
             last_failure_summary="Quoted an outdated fence-permit fee to 37 residents; all told, fee table fixed.",
             doc="Incident report: outdated fee table, corrected within a day.")
    yield demo.cal.on(dt.date(2026, 9, 21))
    demo.act(pid, "file_exit_notice", PRIYA, exit_notice_received_on=demo.cal.today(),
             exit_plan="No new chats after 30 October; open conversations handed to staff; transcripts deleted "
                       "by 28 January 2027.", doc="Exit notice from Permitly AI, Inc.")
    yield from demo.wait_for_clock(pid, "wind_down")  # the clock ends testing and starts the wind-down
    yield demo.cal.later(days=20)
    demo.act(pid, "complete_wind_down", ELENA, wind_down_completed_on=demo.cal.today(),
             doc="Wind-down checklist: chats closed, transcripts deletion scheduled, residents informed.")
    yield demo.cal.later(business_days=10)
    demo.act(pid, "issue_exit_report", GRACE, exit_report_issued_on=demo.cal.today(),
             exit_report_summary="3,870 residents served; 82% of questions answered without staff; one failure, "
                                 "fixed within a day. Recommend competing a permanent service.",
             rationale="Exit report issued against the agreed plan.", doc="Sandbox exit report.")


def sandbox_drone_delivery(demo: Demo) -> Iterator[dt.datetime]:
    """A rejected application: the relief asked for is federal, and a rejection needs written reasons."""
    yield demo.cal.later(days=42)
    pid = demo.intake("sandbox", PRIYA, "SkyDrop drone pharmacy delivery: airspace is federal, rejected", {
        "applicant": "SkyDrop Logistics, Inc.",
        "product": "Drone delivery of pharmacy orders",
        "product_description": "Delivery drones carrying prescriptions from two pharmacies to homes within 5 miles.",
        "relief_requested": "Permission to fly over residential neighborhoods and to land in city parks.",
        "max_consumers": 2000,
        "consumer_safeguards": "Signature on delivery; a hotline for noise and safety complaints.",
        "consumer_data_plan": "Names, addresses and prescriptions kept by the pharmacies; flight logs 1 year.",
        "proprietary_details": "Route-planning software and airframe design.",
    })
    yield demo.cal.later(business_days=1)
    demo.act(pid, "submit", PRIYA, doc="Sandbox application from SkyDrop Logistics, Inc.")
    yield demo.cal.later(business_days=2)
    demo.act(pid, "accept_complete", PRIYA)
    yield demo.cal.later(business_days=8)
    demo.act(pid, "record_criteria", NINA, in_scope=False, genuine_innovation=True, consumer_benefit=True,
             ready_for_testing=True, needs_sandbox=False,
             rationale="Flights over neighborhoods are regulated by the FAA (14 CFR Parts 107 and 135), which "
                       "the city cannot relax; park landings need only a park-use permit.")
    yield demo.cal.later(business_days=2)
    demo.refused(pid, "reject", GRACE)
    yield demo.cal.later(minutes=10)
    demo.act(pid, "reject", GRACE, rationale="Not admitted: the airspace relief is outside the city's authority, "
                                             "and park landings need no sandbox. SkyDrop may apply for a park-use "
                                             "permit.")


# --- unsolicited --------------------------------------------------------------------------


def unsolicited_curb_management(demo: Demo) -> Iterator[dt.datetime]:
    """The Swiss challenge: a challenger beats the proponent, who matches in the window and wins."""
    yield demo.cal.later(business_days=2)
    pid = demo.intake("unsolicited", MARCUS, "Curbside Labs curb management, $640,000: outbid by a "
                                             "challenger, matched, won", {
        "offeror": "Curbside Labs, Inc.",
        "title": "Dynamic curb management for downtown loading zones",
        "abstract": "Digital reservations and per-minute pricing for 300 commercial loading zones downtown, "
                    "with occupancy sensors and a permit app for delivery fleets.",
        "technical_proposal": "Curb sensors on every loading zone; reservation API for fleets; enforcement feed.",
        "cost_proposal": "Sensors and installation $310,000; platform for 3 years $270,000; training $60,000.",
        "proposed_price": "640000",
        "proprietary_details": "Demand-pricing algorithm and sensor firmware, under a FAR 15.609 legend.",
        "has_restrictive_legend": True,
    })
    yield demo.cal.later(business_days=1)
    demo.act(pid, "acknowledge", MARCUS, access_list=[MARCUS, MARIA])
    yield demo.cal.later(business_days=6)
    demo.act(pid, "accept_for_evaluation", MARCUS, valid_unsolicited=True, not_known_requirement=True,
             mission_related=True, sufficient_information=True, has_merit=True, signed_by_authorized_official=True,
             legend_compliant=True, evaluation_due=demo.cal.today() + dt.timedelta(days=45))
    yield demo.cal.later(business_days=1)
    demo.act(pid, "record_evaluation_safeguards", MARCUS, evaluation_legend_applied=True,
             outside_evaluators_used=False, evaluator_ndas_signed=True,
             access_list=[MARCUS, MARIA, KWAME, RAJ, JAMES])
    yield demo.cal.later(business_days=25)
    demo.act(pid, "complete_evaluation", KWAME, evaluation_favorable=True, evaluation_score="84",
             doc="Comprehensive evaluation: innovation 9/10, merit 8/10, cost realism 7/10.")
    yield demo.cal.later(business_days=3)
    demo.refused(pid, "approve_sole_source", MARIA, synopsis_published_on=demo.cal.today(),
                 rationale="The department asks to negotiate with Curbside Labs alone.")
    yield demo.cal.later(business_days=2)
    demo.act(pid, "certify_funding", JAMES, funds_available=True)
    yield demo.cal.later(business_days=1)
    demo.act(pid, "open_competition", MARIA, offeror_consent_to_use=True,
             rationale="Above the threshold with no exemption: open a Swiss challenge. Curbside Labs consented in "
                       "writing to a notice describing its concept.")
    yield demo.cal.later(business_days=5)
    demo.act(pid, "publish_challenge_notice", MARIA, notice_published_on=demo.cal.today(),
             challenge_closes_on=demo.cal.today() + dt.timedelta(days=50), authorized_contact_name="Marcus Lee",
             doc="Public notice inviting competing proposals for downtown curb management.")
    yield from demo.wait_for_clock(pid, "challenger_evaluation")  # the clock closes the challenge period
    yield demo.cal.later(business_days=3)
    demo.act(pid, "record_challengers", MARCUS, challengers_received=3, responsive_challengers=2)
    yield demo.cal.later(business_days=15)
    demo.act(pid, "record_challenger_evaluations", KWAME, challenger_evaluations_complete=True,
             best_challenger="ParkLogic Systems, LLC", best_challenger_offer="585000",
             doc="Evaluation of competing proposals: ParkLogic best value at $585,000.")
    yield demo.cal.later(business_days=1)
    demo.act(pid, "invite_match", MARIA, match_invited_on=demo.cal.today(),
             rationale="ParkLogic's offer beats the proposal; Curbside Labs was told its terms in confidence "
                       "and may match within 30 days.")
    yield demo.cal.later(days=12)
    demo.act(pid, "record_match_response", MARCUS, proponent_match_response="matched",
             proponent_matched_offer="585000", doc="Curbside Labs' signed letter matching $585,000.")
    yield demo.cal.later(business_days=2)
    demo.act(pid, "award_to_proponent", DAVID, winner="Curbside Labs, Inc.", award_amount="585000",
             rationale="The proponent matched the best challenger's offer within the window.")
    hearing = demo.cal.today() + dt.timedelta(days=7)
    yield demo.cal.on(hearing + dt.timedelta(days=31))
    demo.act(pid, "sign_contract", HANNAH, public_hearing_on=hearing, contract_value="585000",
             contract_signed_on=demo.cal.today(), rationale="Signed 31 days after the public hearing.",
             doc="Agreement with Curbside Labs, Inc. for downtown curb management.")


def unsolicited_streetlights(demo: Demo) -> Iterator[dt.datetime]:
    """A return after initial review: an advance proposal for something the city will compete anyway."""
    yield demo.cal.later(days=21)
    pid = demo.intake("unsolicited", MARCUS, "Brightway smart-streetlight retrofit: a known requirement, returned", {
        "offeror": "Brightway Lighting Co.",
        "title": "Smart streetlight retrofit paid from energy savings",
        "abstract": "Replace 18,000 streetlights with networked LEDs, paid over 12 years from energy savings.",
        "technical_proposal": "Networked LED luminaires with dimming schedules and outage alerts.",
        "cost_proposal": "Shared-savings contract, 12 years; city pays 80% of verified savings.",
        "proposed_price": "2400000",
        "has_restrictive_legend": False,
    })
    yield demo.cal.later(business_days=1)
    demo.act(pid, "acknowledge", MARCUS, access_list=[MARCUS])
    yield demo.cal.later(business_days=5)
    demo.act(pid, "return_after_initial_review", MARCUS, valid_unsolicited=True, not_known_requirement=False,
             mission_related=True, sufficient_information=True, has_merit=True, signed_by_authorized_official=True,
             legend_compliant=True,
             rationale="The city is preparing a competitive solicitation for LED streetlights: this is an advance "
                       "proposal for a known requirement (FAR 15.603(c)). Its data will not be used.",
             doc="Letter returning the proposal to Brightway Lighting Co. with the reasons.")


STORIES: tuple[Story, ...] = (
    pilot_smart_bins, pilot_parking_cameras, rfp_traffic_signals, challenge_flood_sensors,
    sandbox_permit_chatbot, sandbox_drone_delivery, unsolicited_curb_management, unsolicited_streetlights,
)


# --- running ------------------------------------------------------------------------------
