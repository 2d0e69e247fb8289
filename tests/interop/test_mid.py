"""The multiple-identity detector: its rules, and links found when the EES creates a file while
other systems (ETIAS, VIS: written here straight into the CIR and the sBMS) hold the same person."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from smartborders.biometrics import face
from smartborders.core.db import unit_of_work
from smartborders.ees import purge as P
from smartborders.ees import schemas as S
from smartborders.ees import service
from smartborders.ees.service import run
from smartborders.interop import cir, mid
from smartborders.interop.sbms import service_for
from tests.ees.factory import Traveller, clock
from tests.specimens import b64, face_png

AT = datetime(2026, 4, 10, 9, tzinfo=UTC)


def who(surname="SMITH", given="JOHN", born=date(1980, 3, 4), sex="M", nat="USA", doc=None, state=None):
    return cir.Identity(surname, given, born, sex, nat, doc, state)


@pytest.mark.parametrize("a, b, expected", [
    (who(), who(), "same"),
    (who(), who(surname="SMIETH"), "similar"),  # the Commission's own example
    (who(), who(born=date(1980, 4, 3)), "similar"),  # day and month transposed
    (who(), who(surname="JOHN", given="SMITH"), "similar"),  # surname and given names swapped
    (who(surname="ШЕВЧЕНКО", given="ТАРАС"), who(surname="SHEVCHENKO", given="TARAS"), "same"),  # transliterated
    (who(), who(nat="CAN"), "similar"),  # another nationality: not the same, the names and date agree
    (who(), who(surname="JOHNSSON"), "different"),
    (who(), who(born=date(1975, 8, 9)), "different"),
])
def test_same_similar_or_different_identity_data(a, b, expected):
    assert mid.compare_identity(a, b) == expected
    assert mid.compare_identity(b, a) == expected


@pytest.mark.parametrize("bio, other_bio, identity, document, colour", [
    (True, False, "same", False, "white"),
    (True, False, "similar", True, "white"),
    (True, False, "different", False, "yellow"),  # the same face under another identity
    (False, False, "similar", True, "white"),  # same document, one side without biometrics
    (False, True, "same", True, "yellow"),  # same document, different biometrics: who holds it?
    (False, False, "different", True, "yellow"),  # same document, another identity
    (False, False, "same", False, "yellow"),
    (False, False, "similar", False, None),  # a namesake, nothing more: no link
    (False, False, "different", False, None),
])
def test_link_colours(bio, other_bio, identity, document, colour):
    assert mid.colour_for(same_biometrics=bio, different_biometrics=other_bio, identity=identity,
                          same_document=document) == colour


def etias(engine, reference, identity, *, face_png_bytes=None):
    with unit_of_work(engine) as s:
        cir.store(s, "ETIAS", reference, identity, AT, has_biometrics=face_png_bytes is not None)
        if face_png_bytes is not None:
            service_for(engine).enrol(s, f"ETIAS:{reference}", "ETIAS", AT, face=face.capture(face_png_bytes))


def test_the_same_document_with_similar_identity_data_elsewhere_is_a_white_link(ees_engine):
    c, t = clock(), Traveller("USA", surname="SMITH", given_names="JOHN", birth_date=date(1980, 3, 4), sex="M")
    etias(ees_engine, "APP-1", who(surname="SMIETH", doc=t.document.number, state=t.document.issuing_state))
    res = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    [link] = res.mid_links
    assert (link.colour, link.system, link.reference) == ("white", "ETIAS", "APP-1")
    assert link.identity == "similar" and link.same_document and not link.same_biometrics


def test_a_yellow_link_is_verified_by_the_responsible_authority_and_kept_with_its_history(ees_engine):
    c, t = clock(), Traveller("USA", surname="SMITH", given_names="JOHN", birth_date=date(1980, 3, 4), sex="M")
    etias(ees_engine, "APP-2", who(surname="OKONKWO", given="ADA", born=date(1991, 1, 1), sex="F",
                                   doc=t.document.number, state=t.document.issuing_state))
    res = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    [link] = res.mid_links
    assert link.colour == "yellow" and link.identity == "different" and link.responsible.startswith("border")
    with unit_of_work(ees_engine) as s:
        queue = mid.yellow_links(s, "EES")
        assert [q["id"] for q in queue] == [link.id]
        done = mid.verify(s, uuid.UUID(link.id), "red", by="NL-KMAR/4711", reason="one passport, two people",
                          at=AT)
    assert done.colour == "red"
    with unit_of_work(ees_engine) as s:
        steps = mid.history(s, uuid.UUID(link.id))
        assert [(h["from"], h["to"]) for h in steps] == [(None, "yellow"), ("yellow", "red")]
        assert steps[1]["by"] == "NL-KMAR/4711" and mid.yellow_links(s) == []
        with pytest.raises(mid.LinkNotYellow):
            mid.verify(s, uuid.UUID(link.id), "white", by="X", reason="changed my mind", at=AT)
        with pytest.raises(service.InvalidInput):
            mid.verify(s, uuid.UUID(link.id), "yellow", by="X", reason="r", at=AT)
    # Found again from the other side, with the verified colour.
    with unit_of_work(ees_engine, readonly=True) as s:
        assert [(lk.colour, lk.system) for lk in mid.links_for(s, "ETIAS", "APP-2")] == [("red", "EES")]


def test_the_same_face_under_another_identity_in_another_system_is_a_yellow_link(ees_engine):
    c, t = clock(), Traveller("USA")
    etias(ees_engine, "APP-3", who(surname="DOE", given="JANE", born=date(1970, 1, 1), sex="F"),
          face_png_bytes=face_png())
    res = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=S.BiometricsIn(
        face=b64(face_png())))))
    [link] = res.mid_links
    assert link.colour == "yellow" and link.same_biometrics and link.system == "ETIAS"
    # Erasing the EES file erases its CIR copy and its links (Art. 23, 35).
    run(ees_engine, c, lambda ctx: P.erase_file(ctx, res.file_id, basis="nationality"))
    with unit_of_work(ees_engine, readonly=True) as s:
        assert mid.links_for(s, "ETIAS", "APP-3") == [] and cir.get(s, "EES", res.file_id) is None


def test_no_links_within_one_system(ees_engine):
    c = clock()
    a = Traveller("USA", surname="SMITH", given_names="JOHN", birth_date=date(1980, 3, 4), sex="M")
    b = Traveller("USA", surname="SMIETH", given_names="JOHN", birth_date=date(1980, 3, 4), sex="M")
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, a.entry()))
    assert run(ees_engine, c, lambda ctx: service.record_entry(ctx, b.entry())).mid_links == []
