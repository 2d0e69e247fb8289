"""The traveller console in a browser: "how long may I stay" from typed-in trips (with the calendar of the
180-day window) and from the EES web service (EES Art. 13); the ETIAS application form, its errors, its
status page and the answer to a request for information (ETIAS Art. 17-19, 27); the read-only view of
one's own data (EES Art. 52, ETIAS Art. 64). Data are made through the real use cases."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from smartborders.ees import service as ees
from smartborders.ees.service import run
from smartborders.etias import manual
from smartborders.etias import schemas as ETS
from smartborders.etias import service as etias
from smartborders.etias.models import Application
from tests.e2e.web.conftest import login, shot
from tests.ees.factory import Traveller
from tests.etias.factory import application

SLOW = 60_000  # the first ETIAS submission of a server may wait for the screening's name data


def applications(server) -> int:
    with server.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Application)).scalar_one()


def test_a_stay_check_from_typed_trips_shows_days_used_latest_exit_and_the_calendar(page, server):
    login(page, "traveller", "Tara Veller")
    assert page.url.endswith("/traveller")
    page.get_by_role("link", name="How long may I stay?").first.click()
    trips = page.locator("#trips")
    page.get_by_label("Stay 1: entry").fill("2026-01-10")
    page.get_by_label("Stay 1: exit").fill("2026-01-19")
    page.get_by_label("Stay 2: entry").fill("2026-03-01")
    page.get_by_label("Stay 2: exit").fill("2026-03-20")
    assert trips.locator(".stay-row").count() == 5
    page.get_by_role("button", name="Add a stay").click()  # htmx: a sixth row, focused
    page.wait_for_selector("#entry-6")
    assert page.evaluate("document.activeElement.id") == "entry-6"
    trips.get_by_label("Date (planned entry, or today)").fill("2026-05-01")
    trips.get_by_label("Planned exit (optional)").fill("2026-07-05")
    trips.get_by_role("button", name="Calculate").click()
    result = page.locator("#trips-result")
    result.wait_for()
    text = result.inner_text()
    assert "leave by 2026-06-29 at the latest" in text and "up to 60 days" in text
    assert re.search(r"Days used in the 180 days up to 2026-05-01\s+30\s*/ 90", text)
    assert "6 day(s) too late" in text
    cal = result.locator(".cal")
    assert cal.locator(".day.stay").count() == 30  # 10 + 20 days of the stays given
    assert cal.locator(".day.allowed").count() == 60  # 2026-05-01 .. 2026-06-29
    assert cal.locator(".day.entry").get_attribute("title") == "2026-05-01 · may stay, planned entry"
    assert cal.locator(".day.latest-exit").get_attribute("title").startswith("2026-06-29")
    assert cal.locator(".cal-row:not(.cal-head)").count() == 6  # January .. June 2026
    alt = result.locator(".cal-text").inner_text()  # the text alternative of the calendar
    assert "30 days of stay in this window" in alt and "2026-01-10 – 2026-01-19 (10 days)" in alt
    assert "90 of 90 days" in alt
    page.set_viewport_size({"width": 1024, "height": 768})
    shot(page, "traveller-stay")
    # An inconsistent history is refused by the calculator, next to the row it is about.
    page.get_by_label("Stay 2: entry").fill("2026-01-15")
    trips.get_by_role("button", name="Calculate").click()
    page.locator("#trips-errors").wait_for()
    assert "overlap" in page.locator("#trips-errors").inner_text()
    assert page.locator("#stay-2-err").is_visible()


def test_the_stay_form_works_without_javascript(server):
    http = server.http
    token = re.search(r'name="csrf" value="([^"]+)"', http.get("/login").text).group(1)
    http.post("/login", data={"csrf": token, "name": "No Script", "role": "traveller"})
    page = http.get("/traveller/stay")
    assert page.status_code == 200 and page.text.count('name="entry"') == 5
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = http.post("/traveller/stay", data={"csrf": token, "entry": ["2026-02-01", "", ""],
                                           "exit": ["2026-02-10", "", ""], "on": "2026-04-20", "mode": "plan"})
    assert r.status_code == 200 and "leave by" in r.text
    assert len(re.findall(r'class="day stay[^"]*" title="2026-02', r.text)) == 10
    bad = http.post("/traveller/stay", data={"csrf": token, "entry": ["2026-02-01"], "exit": [""], "on": "2026-04-20"})
    assert bad.status_code == 422 and "Give both the entry and the exit date" in bad.text


def test_the_ees_web_service_answers_from_the_recorded_crossings(page, server):
    t = Traveller("USA")
    run(server.engine, server.clock, lambda ctx: ees.record_entry(ctx, t.entry()))  # 2026-04-10
    server.clock.advance(timedelta(days=20))
    run(server.engine, server.clock, lambda ctx: ees.record_exit(ctx, t.exit()))  # 2026-04-30: 21 days
    login(page, "traveller", "Tara Veller")
    page.goto("/traveller/stay")
    box = page.locator("#ees")
    box.get_by_label("Document number").fill(t.document.number.lower())
    box.get_by_label("Issuing country (3 letters)").fill("usa")
    box.get_by_label("Planned entry").fill("2026-05-10")
    box.get_by_role("button", name="Ask the EES").click()
    result = page.locator("#ees-result")
    result.wait_for()
    text = result.inner_text()
    assert "OK" in text and "69 days" in text and "2026-07-17" in text
    cal = result.locator(".cal")
    assert cal.locator(".day.allowed").count() == 69 and cal.locator(".day.stay").count() == 0
    assert "does not show your recorded stays" in result.locator(".cal-text").inner_text()
    # A planned entry in the past is refused by the service, on the page.
    box = page.locator("#ees")
    box.get_by_label("Planned entry").fill("2026-04-01")
    box.get_by_role("button", name="Ask the EES").click()
    page.locator("#ees [role=alert]").wait_for()
    assert "in the past" in page.locator("#ees [role=alert]").inner_text()


def fill_application(page, body):
    """Type an application (tests/etias/factory.py's JSON) into the form, as an applicant would."""
    p, d = body["person"], body["document"]
    page.get_by_label("Surname (family name)").fill(p["surname"])
    page.get_by_label("First name(s)").first.fill(p["given_names"])
    page.get_by_label("Date of birth").first.fill(p["birth_date"])
    page.get_by_label("Place of birth").fill(p["birth_place"])
    page.get_by_label("Country of birth").fill(p["birth_country"])
    page.get_by_label("Sex").select_option(p["sex"])
    page.get_by_label("Nationality", exact=False).first.fill(p["nationality"])
    page.get_by_label("First name of your first parent").fill(p["parents_first_names"][0])
    page.get_by_label("First name of your second parent").fill(p["parents_first_names"][1])
    page.get_by_label("Document number").fill(d["number"])
    page.get_by_label("Issuing country").fill(d["issuing_country"])
    page.get_by_label("Date of issue").fill(d["issued_on"])
    page.get_by_label("Date of expiry").fill(d["expires_on"])
    page.get_by_label("Home address").fill(body["residence"]["address"])
    page.get_by_label("City of residence").fill(body["residence"]["city"])
    page.get_by_label("Country of residence").fill(body["residence"]["country"])
    page.get_by_label("E-mail address").fill(body["contact"]["email"])
    page.get_by_label("Telephone", exact=True).fill(body["contact"]["phones"][0])
    page.get_by_label("Level of education").select_option(body["education"])
    page.get_by_label("Current occupation (job group)").select_option(body["job_group"])
    page.get_by_label("Country of your first intended stay").select_option(body["first_member_state"])
    for q in ("conviction", "conflict-zone", "removal"):
        page.locator(f"#f-background-{q}-answer-no").check()
    page.get_by_label("The data I give are true, complete and correct").check()
    page.get_by_label("I know the conditions of entry").check()
    if body.get("payment"):
        page.get_by_label("Payment reference").fill(body["payment"]["reference"])
        page.get_by_label("Amount paid (EUR)").fill(body["payment"]["amount_eur"])


def test_an_etias_application_filled_in_and_submitted_is_issued(page, server):
    login(page, "traveller", "Ana Ramírez")
    page.goto("/traveller/etias")
    body = application()
    fill_application(page, body)
    # A "yes" shows its follow-up questions; back to "no" hides them again (and they are not sent).
    page.locator("#f-background-conviction-answer-yes").check()
    assert page.get_by_label("In which country").is_visible()
    page.locator("#f-background-conviction-answer-no").check()
    assert not page.get_by_label("In which country").is_visible()
    shot(page, "traveller-etias-form")
    page.get_by_role("button", name="Submit the application").click()
    page.wait_for_url(re.compile(r"/traveller/etias/applications/E"), timeout=SLOW)
    assert page.locator("#app-status").inner_text() == "Issued"
    text = page.locator("main").inner_text()
    assert "EUR 20.00" in text and "Valid until" in text and "issued automatically" in text
    assert applications(server) == 1


def test_a_form_with_errors_shows_them_next_to_the_fields_and_submits_nothing(page, server):
    login(page, "traveller", "Ana Ramírez")
    page.goto("/traveller/etias")
    page.get_by_label("E-mail address").fill("not-an-address")
    page.locator("#f-background-conviction-answer-yes").check()
    page.get_by_role("button", name="Submit the application").click()
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.locator("#f-person-surname-err").inner_text() == "Required."
    assert "e-mail address" in page.locator("#f-contact-email-err").inner_text()
    assert page.locator("#f-contact-email").input_value() == "not-an-address"  # what was typed stays
    assert "a yes needs when and in which country" in page.locator("#f-background-conviction-when-err").inner_text()
    assert page.locator("#f-declarations-data-true-and-complete-err").is_visible()
    summary.get_by_role("link", name=re.compile("^Surname")).click()
    assert page.evaluate("document.activeElement.id") == "f-person-surname"
    # A minor without the person with parental authority: the use case refuses, next to the guardian.
    body = application(person={"birth_date": "2016-06-01"}, payment=None)
    page.goto("/traveller/etias")
    fill_application(page, body)
    page.get_by_role("button", name="Submit the application").click()
    page.locator("#error-summary").wait_for(timeout=SLOW)
    assert "minor" in page.locator("#f-guardian-surname-err").inner_text()
    assert applications(server) == 0


def test_the_status_page_shows_a_request_for_information_and_takes_the_answer(page, server):
    yes = {"conviction": {"answer": True, "when": "2019-05-01", "country": "USA"},
           "conflict_zone": {"answer": False}, "removal": {"answer": False}}
    body = application(background=yes)
    out = run(server.engine, server.clock, lambda ctx: etias.submit(ctx, ETS.ApplicationIn.model_validate(body)))
    assert out.status == etias.MANUAL
    ask = ETS.InfoRequestIn(officer="enu.officer", state="NLD", kind="information",
                            text="Please send proof of your means of subsistence.")
    run(server.engine, server.clock, lambda ctx: manual.request_information(ctx, out.number, ask))
    login(page, "traveller", "Ana Ramírez")
    page.goto("/traveller/etias/status")
    page.get_by_label("Application number").fill(out.number)
    page.get_by_label("Travel document number").fill("X0000000")
    page.get_by_role("button", name="Show the application").click()
    assert "No application with this number and travel document number" in page.locator("[role=alert]").inner_text()
    page.get_by_label("Travel document number").fill(body["document"]["number"])
    page.get_by_role("button", name="Show the application").click()
    page.wait_for_url(re.compile(rf"/traveller/etias/applications/{out.number}$"))
    assert page.locator("#app-status").inner_text() == "Being examined by a national unit"
    req = page.locator("article.request")
    assert "means of subsistence" in req.inner_text() and "Answer by" in req.inner_text()
    shot(page, "traveller-status")
    req.get_by_label("Your answer").fill("My bank statement is attached.")
    req.get_by_label("Your travel document number").fill("X0000000")
    req.get_by_role("button", name="Send the answer").click()
    assert "not that of the application" in page.locator("article.request .field-error").inner_text()
    req = page.locator("article.request")
    assert req.get_by_label("Your answer").input_value() == "My bank statement is attached."  # kept
    req.get_by_label("Documents (PDF, JPEG or PNG, up to 5, 2 MB each)").set_input_files(
        files=[{"name": "statement.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 synthetic statement"}])
    req.get_by_label("Your travel document number").fill(body["document"]["number"])
    req.get_by_role("button", name="Send the answer").click()
    page.wait_for_url(re.compile(r"answered=true"))
    assert "Your answer was sent" in page.locator("[role=status]").inner_text()
    assert page.locator("article.request").count() == 0
    assert "your answer was received" in page.locator(".notices").inner_text()
    case = run(server.engine, server.clock, lambda ctx: etias.case(ctx, out.number))
    assert case.requests[0].status == "answered" and case.requests[0].documents == ["statement.pdf"]


def test_a_submission_sent_twice_makes_one_application(server):
    http = server.http
    token = re.search(r'name="csrf" value="([^"]+)"', http.get("/login").text).group(1)
    http.post("/login", data={"csrf": token, "name": "Double Click", "role": "traveller"})
    form = http.get("/traveller/etias").text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    client_id = re.search(r'name="client_id" value="([^"]+)"', form).group(1)
    body = application()
    p, d = body["person"], body["document"]
    data = {"csrf": token, "client_id": client_id, "person.surname": p["surname"], "person.given_names": p["given_names"],
            "person.birth_date": p["birth_date"], "person.birth_place": p["birth_place"],
            "person.birth_country": "USA", "person.sex": "F", "person.nationality": "USA",
            "person.parents_first_names.0": "Carlos", "document.document_type": "P", "document.number": d["number"],
            "document.issuing_country": "USA", "document.issued_on": d["issued_on"], "document.expires_on": d["expires_on"],
            "residence.city": "San Antonio", "residence.country": "USA", "contact.email": "ana@example.org",
            "education": "higher", "job_group": "25", "first_member_state": "NLD",
            "background.conviction.answer": "no", "background.conflict_zone.answer": "no",
            "background.removal.answer": "no", "declarations.data_true_and_complete": "yes",
            "declarations.aware_of_entry_conditions": "yes", "payment.reference": "PAY-TWICE", "payment.amount_eur": "20.00"}
    first = http.post("/traveller/etias", data=data, follow_redirects=False, timeout=SLOW / 1000)
    second = http.post("/traveller/etias", data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert applications(server) == 1


def test_the_own_data_view_shows_what_the_ees_and_etias_hold_only_when_all_four_details_match(page, server):
    t = Traveller("USA")
    run(server.engine, server.clock, lambda ctx: ees.record_entry(ctx, t.entry()))
    server.clock.advance(timedelta(days=5))
    run(server.engine, server.clock, lambda ctx: ees.record_exit(ctx, t.exit()))
    body = application(person={"surname": t.identity.surname.capitalize(), "birth_date": t.identity.birth_date.isoformat()},
                       document={"number": t.document.number})
    app = run(server.engine, server.clock, lambda ctx: etias.submit(ctx, ETS.ApplicationIn.model_validate(body)))
    login(page, "traveller", "Tara Veller")
    page.goto("/traveller/my-data")
    assert "read-only view" in page.locator("main").inner_text()

    def ask(number, surname, born):
        page.get_by_label("Travel document number").fill(number)
        page.get_by_label("Issuing country (3 letters)").fill("USA")
        page.get_by_label("Surname").fill(surname)
        page.get_by_label("Date of birth").fill(born)
        page.get_by_role("button", name="Show my data").click()
        page.locator("#own-data").wait_for()
        return page.locator("#own-data").inner_text()

    born = t.identity.birth_date.isoformat()
    text = ask(t.document.number, t.identity.surname.lower(), born)
    assert t.identity.given_names in text and t.document.number in text
    assert page.locator("#records tbody tr").count() == 1
    assert "2026-04-10" in text and "2026-04-15" in text and "NL-AMS" in text
    assert "held as biometric templates" in text and "No refusal of entry is recorded" in text
    assert page.locator("#applications").inner_text().count(app.number) == 1
    wrong_name = ask(t.document.number, "Somebody", born)
    unknown = ask("Z99999999", t.identity.surname, born)
    assert wrong_name == unknown and "No data is held" in unknown and t.document.number not in wrong_name
