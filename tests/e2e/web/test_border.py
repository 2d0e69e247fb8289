"""The border guard's console in a browser: the MRZ typed as a scanner types it, the check's answer (file,
authorised stay and the days that fill the window, ETIAS), then one action each: an entry, an exit for a
traveller inside, a refusal with its reason letters. A bad MRZ, a poor face capture, the crossing point's
heavy-traffic mode as its supervisor set it (no toggle of the guard's), the fall-back mode, a document
reader's JSON, the plain-form path without JavaScript, the wrong role; and how long a check takes with a
few thousand travellers loaded."""

from __future__ import annotations

import base64
import json
import re
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from html import escape, unescape
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from smartborders.ees import modes, service
from smartborders.ees import schemas as S
from smartborders.ees.models import EntryExitRecord, RefusalRecord
from smartborders.ees.service import run
from smartborders.travel.mrz import generate_td3
from tests.e2e.web.conftest import ARTIFACTS, login, shot
from tests.ees.factory import Traveller, document
from tests.specimens import face_png, four_fingers


def passport(nationality: str = "USA") -> Traveller:
    t = Traveller(nationality)
    t.document = document(state=nationality, expiry_date=date(2031, 5, 1))
    return t


def mrz_of(t: Traveller) -> str:
    i, d = t.identity, t.document
    return generate_td3(document_type="P", issuing_state=d.issuing_state, surname=i.surname, given_names=i.given_names,
                        document_number=d.number, nationality=i.nationality, birth_date=i.birth_date, sex=i.sex,
                        expiry_date=d.expiry_date)


def at(server, when: datetime, use_case):  # type: ignore[no-untyped-def]
    server.clock.set(when)
    return run(server.engine, server.clock, use_case)


def file_of(server, t: Traveller) -> S.FileOut | None:  # type: ignore[no-untyped-def]
    return run(server.engine, server.clock, lambda ctx: service.search(ctx, S.SearchRequest(document=t.document)),
               readonly=True).file


def type_mrz_as_a_scanner(page, mrz: str) -> None:  # type: ignore[no-untyped-def]
    """A document scanner types each line and Enter: the first Enter breaks the line, the last runs the check."""
    page.keyboard.press("F2")
    expect(page.locator("#mrz")).to_be_focused()
    for line in mrz.splitlines():
        page.keyboard.type(line)
        page.keyboard.press("Enter")


def test_the_full_border_check_entry_exit_and_refusal(page, server):
    from smartborders.etias import schemas as ES
    from smartborders.etias import service as etias
    from smartborders.interop import mid
    from tests.etias.factory import application

    # A: two earlier stays (20 + 36 days) and an issued ETIAS travel authorisation; B: entered, still inside.
    a, b, c = passport("USA"), passport("CAN"), passport("IND")
    for day_in, day_out in ((datetime(2026, 10, 1, 9, tzinfo=UTC), datetime(2026, 10, 20, 17, tzinfo=UTC)),
                            (datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2027, 1, 5, 17, tzinfo=UTC))):
        at(server, day_in, lambda ctx: service.record_entry(ctx, a.entry(bcp="FR-CDG")))
        at(server, day_out, lambda ctx: service.record_exit(ctx, a.exit(bcp="FR-CDG")))
    body = application(person={"surname": a.identity.surname.title(), "given_names": a.identity.given_names.title(),
                               "birth_date": a.identity.birth_date.isoformat(), "nationality": "USA"},
                       document={"number": a.document.number, "issuing_country": "USA"})
    ta = at(server, datetime(2027, 1, 20, 12, tzinfo=UTC),
            lambda ctx: etias.submit(ctx, ES.ApplicationIn.model_validate_json(json.dumps(body))))
    assert ta.status == "issued"
    # The MID found A's file and the application alike but not the same: a yellow link for the border to verify.
    a_file = file_of(server, a).id
    at(server, datetime(2027, 1, 20, 13, tzinfo=UTC), lambda ctx: mid.create_link(
        ctx.session, "EES", a_file, "ETIAS", ta.number, "yellow", False, "similar", True, ctx.now()))
    at(server, datetime(2027, 1, 25, 9, tzinfo=UTC), lambda ctx: service.record_entry(ctx, b.entry()))
    server.clock.set(datetime(2027, 2, 1, 10, tzinfo=UTC))

    login(page, "border_guard", "Bo Guard", bcp="NL-AMS")
    assert page.url.endswith("/border")
    expect(page.locator(".start")).to_contain_text("Ready for the next traveller")

    # Entry: who this is, the stay and the window, ETIAS; then F8 records the entry.
    type_mrz_as_a_scanner(page, mrz_of(a))
    result = page.locator("#result")
    expect(result.locator(".verdict")).to_contain_text("No refusal ground found")
    expect(result.locator(".name")).to_contain_text(a.identity.surname)
    expect(result.get_by_text("found", exact=True)).to_be_visible()
    stay = result.locator("section[aria-labelledby=stay-h]")
    expect(stay).to_contain_text("56 / 90 days used in the 180-day window")
    expect(stay).to_contain_text("34 days may be authorised, until 2027-03-06")
    rows = stay.locator("figure.window tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("2026-10-01 – 2026-10-20")
    expect(rows.nth(1)).to_contain_text("2026-12-01 – 2027-01-05")
    expect(stay.locator("tfoot")).to_contain_text("56")
    expect(stay.locator(".window-bar .seg")).to_have_count(2)
    expect(stay.locator(".explanation")).to_contain_text("56 day(s) of recorded presence")
    etias_box = result.locator("section[aria-labelledby=travel-h]")
    expect(etias_box).to_contain_text("valid")
    expect(etias_box).to_contain_text(ta.number)
    links = result.locator("section[aria-labelledby=bio-h] .links")
    expect(links).to_contain_text("yellow")
    expect(links).to_contain_text(f"ETIAS {ta.number}")
    expect(links).to_contain_text("identity: similar · same document · to verify by border authority")
    expect(result.get_by_role("button", name="Record entry")).to_be_visible()
    expect(result.locator("#check-ms")).to_be_visible()
    shot(page, "border-check")
    page.set_viewport_size({"width": 1024, "height": 768})
    shot(page, "border-check-tablet")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.keyboard.press("F8")
    expect(result.locator(".verdict")).to_contain_text("Entry recorded")
    expect(result).to_contain_text("until 2027-03-06")
    f = file_of(server, a)
    assert f is not None and f.records[-1].exit_at is None and f.records[-1].entry_bcp == "NL-AMS"
    assert f.records[-1].authorised_until == date(2027, 3, 6)

    # Exit for B, who is inside: the open entry, then F8 records the exit.
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r"/border$"))
    page.get_by_label("Exit", exact=True).check()
    page.locator("#mrz").fill(mrz_of(b))
    page.locator("#mrz").press("Control+Enter")
    expect(result.locator(".verdict")).to_contain_text("Open entry found; no overstay")
    expect(result.locator("section[aria-labelledby=open-h]")).to_contain_text("Entered on 2027-01-25 at NL-AMS")
    expect(result.locator("section[aria-labelledby=stay-h]")).to_contain_text("8 / 90")
    page.keyboard.press("F8")
    expect(result.locator(".verdict")).to_contain_text("Exit recorded")
    expect(result).to_contain_text("2027-01-25 – 2027-02-01 (8 days)")
    assert file_of(server, b).records[-1].exit_date == date(2027, 2, 1)

    # Refusal for C, who needs a visa and has none: reason C comes from the check, the guard adds E.
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r"/border$"))
    page.get_by_label("Entry", exact=True).check()
    type_mrz_as_a_scanner(page, mrz_of(c))
    expect(result.locator(".verdict")).to_contain_text("refusal reason C")
    expect(result.locator(".findings")).to_contain_text("a short-stay visa is required")
    expect(result.locator("section[aria-labelledby=travel-h]")).to_contain_text("Visa required: none given")
    reason_c = result.locator('input[name="reason"][value="C"]')
    expect(reason_c).to_be_checked()
    shot(page, "border-refusal")
    page.keyboard.press("F9")
    expect(result.locator('input[name="reason"][value="A"]')).to_be_focused()
    for _ in "ABCD":  # from A to E by keyboard, and tick it
        page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(result.locator('input[name="reason"][value="E"]')).to_be_checked()
    page.keyboard.press("F4")
    expect(result.locator(".verdict")).to_contain_text("Refusal of entry recorded")
    expect(result).to_contain_text("has no valid visa or residence permit")
    with server.engine.connect() as conn:
        refused = conn.execute(select(RefusalRecord.reasons, RefusalRecord.bcp)).all()
    assert [(r.reasons, r.bcp) for r in refused] == [("CE", "NL-AMS")]


def test_a_bad_mrz_a_refusal_without_reasons_and_the_wrong_role(page, server):
    t = passport("USA")
    login(page, "border_guard", "Bo Guard", bcp="NL-AMS")
    lines = mrz_of(t).splitlines()
    wrong = lines[1][:13] + ("1" if lines[1][13] != "1" else "2") + lines[1][14:]  # a birth-date digit
    page.locator("#mrz").fill(lines[0] + "\n" + wrong)
    page.get_by_role("button", name="Check").click()
    alert = page.locator("#result [role=alert]")
    expect(alert).to_contain_text("The machine-readable zone fails its checks")
    expect(alert).to_contain_text("birth date")
    expect(page.locator("#mrz-error")).to_contain_text("the MRZ fails its checks: birth_date")
    expect(alert).to_be_focused()

    page.locator("#mrz").fill("P<USA-DOE")
    page.locator("#mrz").press("Control+Enter")
    expect(page.locator("#mrz-error")).to_contain_text("an MRZ has 3 lines of 30 characters")
    page.locator("#mrz").fill("")
    page.locator("#mrz").press("Control+Enter")
    expect(page.locator("#mrz-error")).to_contain_text("Scan or type the MRZ")

    # A refusal needs its reasons; the check stays on screen with the message.
    page.locator("#mrz").fill(mrz_of(t))
    page.locator("#mrz").press("Enter")
    expect(page.locator("#result .verdict")).to_contain_text("No refusal ground found")
    expect(page.locator("#mrz-error")).to_be_hidden()
    page.get_by_text("Refuse entry").click()
    page.get_by_role("button", name="Record refusal").click()
    expect(page.locator("#result [role=alert]")).to_contain_text("Tick at least one refusal reason")
    assert file_of(server, t) is None

    # Recording an entry for someone already inside is refused with the use case's words.
    run(server.engine, server.clock, lambda ctx: service.record_entry(ctx, t.entry()))
    page.get_by_role("button", name="Record entry").click()
    expect(page.locator("#result [role=alert]")).to_contain_text("has not exited")
    expect(page.locator("#result .verdict")).to_contain_text("entry without an exit")
    assert len(file_of(server, t).records) == 1

    login(page, "analyst", "Ana Lyst")
    r = page.goto("/border")
    assert r.status == 403 and "may not open /border" in page.content()
    r = page.request.post("/border/check", form={"mrz": mrz_of(t)})
    assert r.status == 403


def test_face_quality_feedback_then_a_good_capture_is_verified_and_enrolled(page, server, tmp_path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (320, 400), (128, 128, 128)).save(blank)
    face = tmp_path / "face.png"
    face.write_bytes(face_png())
    t = passport("USA")
    login(page, "border_guard", "Bo Guard", bcp="NL-AMS")
    page.locator("#mrz").fill(mrz_of(t))
    page.get_by_label("Face: camera or photo").set_input_files(str(blank))
    expect(page.locator("#face-preview")).to_be_visible()
    assert page.locator("#face").get_attribute("capture") == "user"
    page.get_by_role("button", name="Check").click()
    alert = page.locator("#result [role=alert]")
    expect(alert).to_contain_text("The facial image does not pass the capture quality gate")
    expect(alert.locator(".quality-reasons")).to_contain_text("no face found")
    expect(page.locator("#face-error")).to_contain_text("no face found")
    shot(page, "border-face-quality")

    page.get_by_label("Face: camera or photo").set_input_files(str(face))
    page.get_by_text("Fingerprints", exact=True).click()
    for position, data in four_fingers(41).items():  # Art. 17(1)(c): four fingers of the right hand
        path = tmp_path / f"{position}.png"
        path.write_bytes(base64.b64decode(data))
        page.get_by_label(position.replace("_", " ").capitalize(), exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Check").click()
    bio = page.locator("#result section[aria-labelledby=bio-h]")
    expect(bio).to_contain_text("Face quality", timeout=30_000)
    expect(bio).to_contain_text("nothing to compare (no face on file)")
    expect(page.locator("#face-error")).to_be_hidden()
    page.keyboard.press("F8")
    expect(page.locator("#result .verdict")).to_contain_text("Entry recorded")
    expect(page.locator("#result")).to_contain_text("stored in the shared biometric matching service")
    f = file_of(server, t)
    assert (f.face_status, f.fingerprint_status) == ("present", "present")


def test_a_visa_holder_is_checked_with_the_visa_as_read(page, server):
    t = passport("IND")
    login(page, "border_guard", "Bo Guard", bcp="NL-AMS")
    page.locator("#mrz").fill(mrz_of(t))
    page.get_by_text("Visa (from the VIS or the sticker)").click()
    page.get_by_label("Sticker number").fill("NLD12345678")
    page.get_by_label("Issued by (alpha-3)").fill("NLD")
    page.get_by_label("Entries").select_option("1")
    page.get_by_label("Duration of stay (days)").fill("30")
    page.get_by_label("Valid from").fill("2026-04-01")
    page.get_by_label("Valid until").fill("2026-06-30")
    page.get_by_role("button", name="Check").click()
    result = page.locator("#result")
    expect(result.locator(".verdict")).to_contain_text("30 days may be authorised, until 2026-05-09")
    box = result.locator("section[aria-labelledby=travel-h]")
    expect(box).to_contain_text("Visa required: given NLD12345678")
    expect(box).to_contain_text("2026-04-01 – 2026-06-30")
    expect(result.locator("section[aria-labelledby=stay-h]")).to_contain_text("visa duration")
    page.keyboard.press("F8")
    expect(result.locator(".verdict")).to_contain_text("Entry recorded")
    expect(result).to_contain_text("Visa entries used")
    assert file_of(server, t).records[0].visa_sticker == "NLD12345678"

    page.keyboard.press("Escape")
    page.locator("#mrz").fill(mrz_of(passport("IND")))
    page.get_by_text("Visa (from the VIS or the sticker)").click()
    page.get_by_label("Sticker number").fill("NLD12345679")  # and no dates
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#visa-error")).to_contain_text("Visa valid from: expected a date written")
    expect(page.locator("#result [role=alert]")).to_contain_text("Visa valid until")


def test_heavy_traffic_and_fall_back_are_visible_and_recorded_and_a_reader_json_is_taken(page, server):
    t = passport("JPN")
    login(page, "border_guard", "Bo Guard", bcp="NL-AMS")
    # Heavy traffic is not the guard's to switch: no toggle, the crossing point's mode is shown.
    expect(page.get_by_role("button", name=re.compile("Heavy traffic"))).to_have_count(0)
    expect(page.locator("#bcp-mode")).to_contain_text("full operation")
    expect(page.locator("#face")).to_be_enabled()
    # A supervisor sets the mode (Reg. 2025/1534): the console takes it.
    cmd = modes.ModeIn(supervisor="sup.1", mode="no_biometrics", minutes=90, reason="queue over 90 minutes")
    m = run(server.engine, server.clock, lambda ctx: modes.set_mode(ctx, "NL-AMS", cmd))
    page.reload()
    page.get_by_role("button", name="Fall-back: off").click()
    banner = page.locator(".mode-banner")
    expect(banner).to_contain_text("Heavy-traffic mode.")
    expect(banner).to_contain_text("queue over 90 minutes")
    expect(banner).to_contain_text("Fall-back procedure.")
    expect(page.locator("#bcp-mode")).to_contain_text("without biometrics")
    expect(page.locator("#face")).to_be_disabled()

    reader = {"document": t.document.model_dump(mode="json"), "identity": t.identity.model_dump(mode="json"),
              "reader": {"model": "any reader", "read_at": "2026-04-10T09:00:00Z"}}
    page.get_by_text("Document reader (JSON)").click()
    page.get_by_label("The reader's output").fill(json.dumps(reader))
    page.get_by_role("button", name="Check").click()
    result = page.locator("#result")
    expect(result.locator(".name")).to_contain_text(t.identity.surname)
    expect(result).to_contain_text("a new file is created on entry")
    expect(result.locator("#action-form")).to_contain_text("heavy traffic, no biometrics")
    page.keyboard.press("F8")
    expect(result.locator(".verdict")).to_contain_text("Entry recorded")
    expect(result).to_contain_text("fall-back procedure")
    with server.engine.connect() as conn:
        rec = conn.execute(select(EntryExitRecord.mode, EntryExitRecord.fallback)).one()
    assert (rec.mode, rec.fallback) == ("heavy_traffic", True)

    # The supervisor ends it: biometrics again.
    run(server.engine, server.clock, lambda ctx: modes.end_mode(ctx, "NL-AMS", m.id, modes.ModeEndIn(supervisor="sup.1")))
    page.reload()
    expect(page.locator(".mode-banner")).not_to_contain_text("Heavy-traffic mode.")
    expect(page.locator("#bcp-mode")).to_contain_text("full operation")
    expect(page.locator("#face")).to_be_enabled()
    page.get_by_text("Document reader (JSON)").click()
    page.get_by_label("The reader's output").fill("{not json")
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#reader-error")).to_contain_text("cannot be read")

    # Suspended: the console says so, and nothing can be recorded (stamp, national procedure).
    stop = modes.ModeIn(supervisor="sup.1", mode="suspended", minutes=30, reason="system slow")
    run(server.engine, server.clock, lambda ctx: modes.set_mode(ctx, "NL-AMS", stop))
    page.reload()
    expect(page.locator(".mode-banner")).to_contain_text("EES registration is suspended at this crossing point.")
    expect(page.locator("#bcp-mode")).to_contain_text("EES suspended")
    type_mrz_as_a_scanner(page, mrz_of(passport("CAN")))
    expect(result.locator("#action-form")).to_contain_text("stamp the travel document")
    expect(result.get_by_role("button", name=re.compile("Record entry"))).to_be_disabled()


def test_without_javascript_the_check_and_the_entry_are_plain_form_posts(server):
    t = passport("BRA")
    http = server.http
    token = re.search(r'name="csrf" value="([^"]+)"', http.get("/login").text).group(1)
    http.post("/login", data={"csrf": token, "name": "No Script", "role": "border_guard", "bcp": "NL-AMS"})
    page = http.get("/border")
    assert page.status_code == 200 and 'action="/border/check"' in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = http.post("/border/check", data={"csrf": token, "direction": "entry", "mrz": mrz_of(t)})
    assert r.status_code == 200 and "<html" in r.text and "No refusal ground found" in r.text
    assert escape(mrz_of(t).splitlines()[0]) in r.text  # the form is filled in again
    client_id = re.search(r'name="client_id" value="([^"]*)"', r.text).group(1)
    payload = [unescape(p) for p in re.findall(r'name="payload" value="([^"]*)"', r.text)]
    form = {"csrf": token, "action": "entry", "client_id": client_id, "payload": payload}
    done = http.post("/border/record", data=form)
    assert done.status_code == 200 and "Entry recorded" in done.text
    again = http.post("/border/record", data=form)  # sent twice: recorded once
    assert again.status_code == 200 and "Entry recorded" in again.text
    assert len(file_of(server, t).records) == 1
    bad = http.post("/border/check", data={"csrf": token, "direction": "entry", "mrz": "P<BRA"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert http.post("/border/check", data={"csrf": "forged", "mrz": mrz_of(t)}).status_code == 403
    # A guard cannot switch heavy traffic on: the old toggle's field does nothing, no supervisor set a mode.
    http.post("/border/mode", data={"csrf": token, "heavy_traffic": "on"})
    page = http.get("/border")
    assert "Heavy-traffic mode." not in page.text and 'name="heavy_traffic"' not in page.text
    assert "full operation" in page.text and 'id="face"' in page.text


def test_a_check_is_on_screen_within_a_second_with_thousands_of_travellers(page, server, database_url):
    """Issue 6: "result on screen within 1 s of submit on the demo data". The demo loads 3,000 travellers
    and a month of traffic; here 5,000 and half a year. Measured from the key press to the traveller's
    document number on screen; asserted only against a generous bound (a loaded CI machine must not
    flake), and written to test-artifacts/border-check-timing-<engine>.json."""
    from smartborders.sim import generate
    from smartborders.sim.population import generate_population

    on = server.clock.now().date()
    made = generate(server.engine, travellers=5000, days=180, end=on, seed=2026)
    population = generate_population(5000, seed=2026, on=on)
    login(page, "border_guard", "Bo Guard", bcp="NL-AMS")
    result, seconds = page.locator("#result"), []
    for i in range(0, 5000, 500):
        number = population.document_numbers([i])[0]
        page.locator("#mrz").fill(population.mrz(i))
        t0 = time.perf_counter()
        page.locator("#mrz").press("Enter")
        expect(result.locator(".facts")).to_contain_text(number)
        seconds.append(time.perf_counter() - t0)
    server_ms = float(result.locator("#check-ms").get_attribute("data-ms"))
    engine = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    report = {"engine": engine, "files": made["files"], "records": made["records"], "checks": len(seconds),
              "median_s": round(statistics.median(seconds), 3), "max_s": round(max(seconds), 3),
              "last_server_ms": server_ms}
    Path(ARTIFACTS).parent.mkdir(parents=True, exist_ok=True)
    (Path(ARTIFACTS).parent / f"border-check-timing-{engine}.json").write_text(json.dumps(report, indent=2))
    print(f"border check on screen: {report}")
    assert max(seconds) < 5, report


def test_the_window_table_counts_only_the_last_180_days(page, server):
    t = passport("AUS")
    old = datetime(2025, 6, 1, 9, tzinfo=UTC)  # before the window of the check
    at(server, old, lambda ctx: service.record_entry(ctx, t.entry()))
    at(server, old + timedelta(days=30), lambda ctx: service.record_exit(ctx, t.exit()))
    at(server, datetime(2026, 1, 2, 9, tzinfo=UTC), lambda ctx: service.record_entry(ctx, t.entry()))
    at(server, datetime(2026, 1, 11, 9, tzinfo=UTC), lambda ctx: service.record_exit(ctx, t.exit()))
    server.clock.set(datetime(2026, 4, 10, 9, tzinfo=UTC))
    login(page, "border_guard", "Bo Guard", bcp="NL-AMS")
    page.locator("#mrz").fill(mrz_of(t))
    page.locator("#mrz").press("Enter")
    stay = page.locator("#result section[aria-labelledby=stay-h]")
    expect(stay).to_contain_text("10 / 90 days used")
    expect(stay.locator("figure.window tbody tr")).to_have_count(1)
    expect(stay.locator("figcaption")).to_contain_text("2025-10-13 – 2026-04-10")
