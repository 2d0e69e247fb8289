"""The ETIAS officers' console in a browser: the Central Unit verifies a watchlist hit side by side with
the entry that hit; the national unit of the Member State responsible asks the applicant, passes its
96 hours and refuses on an Art. 37 ground; the consulted Member State gives its opinion but may not
decide; a state neither responsible nor consulted may not open the file; a confirmed SIS refusal alert
forces refusal on 37(1)(e); a valid authorisation hit by a new watchlist entry is kept on review; and
the MID's yellow link is verified beside the two identities. The data come from the real use cases."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

from smartborders.core.db import unit_of_work
from smartborders.ees import service as ees
from smartborders.ees.service import run
from smartborders.etias import lists, manual, service
from smartborders.etias import schemas as S
from smartborders.interop import cir, mid
from tests.e2e.web.conftest import login, shot
from tests.ees.factory import Traveller
from tests.etias.factory import application

T0 = datetime(2026, 12, 21, 8, 0, tzinfo=UTC)


def _ready(server) -> None:
    """The server loads the name lists and the matcher on a thread at start (about 10 s the first time)."""
    deadline = time.monotonic() + 90
    while not server.http.get("/health").json().get("etias_screening", "").startswith("ready"):
        assert time.monotonic() < deadline, server.http.get("/health").json()
        time.sleep(0.2)


def _do(server, fn):
    return run(server.engine, server.clock, fn)


def _entry(server, list_name: str, **body) -> None:
    _do(server, lambda ctx: lists.add(ctx, list_name, S.ListEntryIn.model_validate(body)))


def _submit(server, **over) -> S.ApplicationOut:
    cmd = S.ApplicationIn.model_validate(application(**over))
    return _do(server, lambda ctx: service.submit(ctx, cmd))


def _csrf(page) -> str:
    return page.locator('meta[name="csrf-token"]').get_attribute("content")


def _row(page, number: str):
    return page.locator(f'tr[data-number="{number}"]')


def test_a_watchlist_hit_goes_from_the_central_unit_to_the_responsible_state_which_asks_and_refuses(page, server):
    server.clock.set(T0)
    _ready(server)
    # Two Member States entered the same person on the watchlist, France first, then Germany (in Cyrillic).
    _entry(server, "watchlist", reference="WL-FR-31", supplied_by="FR", name="Ivan Petrenko",
           birth_date="1984-09-09", nationality="USA", reason="serious criminal offence: fraud investigation")
    server.clock.advance(timedelta(minutes=5))
    _entry(server, "watchlist", reference="WL-DE-07", supplied_by="DE", name="Иван Петренко", birth_date="1984",
           reason="serious criminal offence: money laundering")
    server.clock.advance(timedelta(minutes=5))
    out = _submit(server, person={"surname": "Petrenko", "given_names": "Ivan", "birth_date": "1984-09-09"},
                  document={"number": "P77007701"})
    n = out.number
    assert out.status == service.CENTRAL_UNIT

    # The Central Unit: the file is in its queue with its 12 hours.
    login(page, "etias_central_unit", "Cora Unit")
    assert page.url.endswith("/etias")
    row = _row(page, n)
    assert "Petrenko" in row.inner_text() and "20(4)" in row.inner_text() and "12 h 0 min left" in row.inner_text()
    page.set_viewport_size({"width": 1024, "height": 768})  # a tablet
    row.get_by_role("link", name=n).click()
    page.wait_for_url(re.compile(f"/etias/cases/{n}$"))
    # Each hit beside the entry that hit: the application's data and the watchlist entry's, by reference.
    hits = page.locator("article.hit")
    assert hits.count() == 2
    fr, de = (page.locator("article.hit", has_text=ref) for ref in ("WL-FR-31", "WL-DE-07"))
    assert "Ivan Petrenko" in fr.locator("table.sbs").inner_text()
    assert "Иван Петренко" in de.locator("table.sbs").inner_text()
    assert "DE" in de.inner_text() and "money laundering" in de.inner_text()
    assert fr.locator("td.same").count() >= 4  # name, date of birth, both columns
    # A verdict without reasons is refused, field by field.
    page.get_by_role("button", name="Record verification").click()
    assert "Hit 2: give the reason for the verdict." in page.locator(".error[role=alert]").inner_text()
    page.goto(f"/etias/cases/{n}")
    for hit in (fr, de):
        hit.get_by_label("Confirmed: it is this person").check()
        hit.get_by_label(re.compile("Reason for hit")).fill("same name and date of birth")
    shot(page, "etias-case")
    page.get_by_role("button", name="Record verification").click()
    assert "Verification recorded." in page.locator("[role=status]").inner_text()
    assert page.locator("#status").inner_text() == "Manual processing"
    assert page.locator("#responsible").inner_text() == "DEU"  # the later entry's state (Art. 25)
    assert page.locator("#decide").count() == 0  # the Central Unit does not decide
    page.goto("/etias")
    assert _row(page, n).count() == 0

    # France is consulted: it sees the file in its queue page, gives its opinion, and may not decide.
    login(page, "etias_national_unit", "Fleur Unit", state="FRA")
    assert _row(page.locator(".etias-consulted"), n).count() == 1
    page.goto(f"/etias/cases/{n}")
    assert page.locator("#decide").count() == 0 and "DEU is responsible" in page.locator("#not-yours").inner_text()
    forged = page.request.post(f"/etias/cases/{n}/decision",
                               form={"csrf": _csrf(page), "decision": "issue", "reason": "not mine to give"})
    assert forged.status == 422 and "DEU is responsible for application" in forged.text()
    page.get_by_label("Positive: no objection to issuing").check()
    page.get_by_label("Reasons").fill("no information of ours against issuing")
    page.get_by_role("button", name="Give the opinion").click()
    assert "Opinion recorded." in page.locator("[role=status]").inner_text()
    assert "no information of ours" in page.locator("#consultations").inner_text()

    # Italy is neither responsible nor consulted: the file is not shown.
    login(page, "etias_national_unit", "Ida Unit", state="ITA")
    r = page.goto(f"/etias/cases/{n}")
    assert r.status == 403 and "neither responsible" in page.content()

    # Germany: the file waits on its unit, with the 96 hours running.
    login(page, "etias_national_unit", "Dieter Unit", state="DEU")
    row = _row(page, n)
    assert "National unit" in row.inner_text() and "left" in row.inner_text()
    assert "overdue" not in (row.get_attribute("class") or "")
    row.get_by_role("link", name=n).click()
    page.get_by_text("Ask the applicant for information or an interview (Art. 27)").click()
    page.get_by_label("What is needed").fill("the purpose of the journey and an invitation letter")
    page.get_by_role("button", name="Send the request").click()
    assert "The applicant was asked" in page.locator("[role=status]").inner_text()
    assert page.locator("#waiting-on").inner_text() == "Applicant"
    assert "open" in page.locator("#requests").inner_text()
    # Deciding while the applicant has time to answer: the service refuses, and the page says why.
    page.get_by_label("Issue the travel authorisation").check()
    page.get_by_label("Reasons for the decision").fill("a namesake")
    page.get_by_role("button", name="Record the decision").click()
    assert "waits on the applicant" in page.locator("#problem").inner_text()

    # The applicant answers through the secure account, two days later.
    server.clock.advance(timedelta(days=2))
    case = _do(server, lambda ctx: service.case(ctx, n))
    answer = S.AnswerIn(request_id=case.requests[0].id, document_number="P77007701",
                        answer="a conference in Berlin; the invitation follows")
    _do(server, lambda ctx: manual.answer(ctx, n, answer))
    # The 96 hours from the answer pass (Art. 32(2)): the queue marks the file overdue.
    server.clock.advance(timedelta(hours=97))
    page.goto("/etias")
    row = _row(page, n)
    assert "overdue" in row.get_attribute("class") and "Overdue" in row.inner_text()
    assert "1 file is past its deadline" in page.locator(".etias-overdue").inner_text()
    shot(page, "etias-queue")
    row.get_by_role("link", name=n).click()
    assert "Overdue" in page.locator("#deadline").inner_text()
    assert "answered" in page.locator("#requests").inner_text() and "a conference in Berlin" in page.content()
    # A refusal needs its grounds; then it is recorded with them.
    page.get_by_label("Refuse it").check()
    page.get_by_label("Reasons for the decision").fill("the answers confirm the watchlist information")
    page.get_by_role("button", name="Record the decision").click()
    assert "a refusal states its grounds (Art. 37)" in page.locator("#decide .error").inner_text()
    page.get_by_label("Refuse it").check()
    page.locator("#decide").get_by_label(re.compile(r"37\(1\)\(b\)")).check()
    page.get_by_label("Reasons for the decision").fill("the answers confirm the watchlist information")
    page.get_by_role("button", name="Record the decision").click()
    assert "Travel authorisation refused." in page.locator("[role=status]").inner_text()
    assert page.locator("#status").inner_text() == "Refused"
    decision = page.locator("#decision").inner_text()
    assert "37(1)(b)" in decision and "poses a security risk" in decision and "DEU:Dieter.Unit" in decision
    page.goto("/etias")
    assert _row(page, n).count() == 0


def test_a_confirmed_sis_refusal_alert_forces_the_ground_and_a_monitoring_hit_is_kept_on_review(page, server):
    server.clock.set(T0)
    _ready(server)
    _entry(server, "sis_refusal", reference="SIS-NL-5501", supplied_by="NL", name="Marta Kowalczyk",
           birth_date="1979-02-14", nationality="USA")
    hit = _submit(server, person={"surname": "Kowalczyk", "given_names": "Marta", "birth_date": "1979-02-14"},
                  document={"number": "P55005501"})
    clean = _submit(server, person={"surname": "Lindqvist", "given_names": "Oskar", "birth_date": "1990-07-01"},
                    document={"number": "P55005502"})
    assert hit.status == service.CENTRAL_UNIT and clean.status == service.ISSUED

    login(page, "etias_central_unit", "Cora Unit")
    page.goto(f"/etias/cases/{hit.number}")
    page.get_by_label("Confirmed: it is this person").check()
    page.get_by_label("Reason for hit 1").fill("same person")
    page.get_by_role("button", name="Record verification").click()
    assert page.locator("#responsible").inner_text() == "NLD"

    login(page, "etias_national_unit", "Nora Unit", state="NLD")
    page.goto(f"/etias/cases/{hit.number}")
    page.get_by_label("Issue the travel authorisation").check()
    page.get_by_label("Reasons for the decision").fill("assessed")
    page.get_by_role("button", name="Record the decision").click()
    assert "a confirmed hit requires refusal on ground(s) 37(1)(e)" in page.locator("#problem").inner_text()
    assert page.get_by_label("Reasons for the decision").input_value() == "assessed"  # the form is kept
    page.get_by_label("Refuse it").check()
    page.locator("#decide").get_by_label(re.compile(r"37\(1\)\(e\)")).check()
    page.get_by_role("button", name="Record the decision").click()
    assert page.locator("#status").inner_text() == "Refused"

    # A new watchlist entry of the Netherlands hits the valid authorisation: it waits on NLD's review.
    _entry(server, "watchlist", reference="WL-NL-90", supplied_by="NL", name="Oskar Lindqvist",
           birth_date="1990-07-01", reason="serious criminal offence: trafficking investigation")
    page.goto("/etias")
    row = _row(page, clean.number)
    assert "monitoring hit" in row.inner_text()
    row.get_by_role("link", name=clean.number).click()
    assert "monitoring (Art. 41)" in page.locator("article.hit").inner_text()
    assert "Oskar Lindqvist" in page.locator("table.sbs").inner_text()
    page.get_by_label("Why the authorisation is kept").fill("a namesake: another place of birth")
    page.get_by_role("button", name="Keep the authorisation").click()
    assert "is kept" in page.locator("[role=status]").inner_text()
    assert page.locator("#status").inner_text() == "Issued" and "hit_assessed" in page.content()
    page.goto("/etias")
    assert _row(page, clean.number).count() == 0


def test_the_central_unit_verifies_a_yellow_mid_link_beside_the_two_identities(page, server):
    # As tests/interop/test_mid.py: ETIAS holds the travel document under another identity; the EES
    # entry of its holder creates a yellow link.
    t = Traveller("USA", surname="SMITH", given_names="JOHN", birth_date=date(1980, 3, 4), sex="M")
    with unit_of_work(server.engine) as s:
        cir.store(s, "ETIAS", "APP-77", cir.Identity("OKONKWO", "ADA", date(1991, 1, 1), "F", "USA", t.document.number,
                                                     t.document.issuing_state), server.clock.now())
    res = _do(server, lambda ctx: ees.record_entry(ctx, t.entry()))
    [link] = res.mid_links
    assert link.colour == "yellow"

    login(page, "etias_national_unit", "Nora Unit", state="NLD")
    assert page.goto("/etias/mid").status == 403  # the Central Unit's screen (issue 7 refines the roles)

    login(page, "etias_central_unit", "Cora Unit")
    page.get_by_role("link", name="MID: yellow links to verify").click()
    row = page.locator(f'tr[data-link="{link.id}"]')
    assert "ETIAS:APP-77" in row.inner_text() and "border authority" in row.inner_text()
    row.get_by_role("link", name=re.compile("Verify")).click()
    sbs = page.locator("table.mid-sbs").inner_text()
    assert "SMITH" in sbs and "OKONKWO" in sbs and "1991-01-01" in sbs
    assert page.locator("table.mid-sbs td.same").count() == 4  # nationality and travel document, both sides
    assert page.locator("#colour").inner_text() == "yellow"
    page.get_by_role("button", name="Record the verification").click()
    assert "Choose white, green or red." in page.locator("[role=alert]").inner_text()
    assert "Give the reason for the verdict" in page.locator("[role=alert]").inner_text()
    page.goto(f"/etias/mid/{link.id}")
    page.get_by_label(re.compile("Red: an unjustified multiple identity")).check()
    page.get_by_label("Reason").fill("one passport, two people")
    shot(page, "mid-link")
    page.get_by_role("button", name="Record the verification").click()
    assert "The link is now red." in page.locator("[role=status]").inner_text()
    assert page.locator("#colour").inner_text() == "red" and page.locator("#mid-form").count() == 0
    history = page.locator("#mid-history").inner_text()
    assert "one passport, two people" in history and "ETIAS-CU/Cora Unit" in history
    with unit_of_work(server.engine, readonly=True) as s:
        assert [lk.colour for lk in mid.links_for(s, "ETIAS", "APP-77")] == ["red"]
    page.goto("/etias/mid")
    assert "No yellow link waits." in page.content()

