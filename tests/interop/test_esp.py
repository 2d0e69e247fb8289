"""The European search portal: one query, only what the caller's profile may see (Art. 6-11, 26)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from smartborders.core.db import unit_of_work
from smartborders.core.errors import InvalidInput
from smartborders.ees import schemas as S
from smartborders.ees import service
from smartborders.ees.service import run
from smartborders.interop import cir, esp, mid
from tests.ees.factory import Traveller, clock

AT = datetime(2026, 4, 10, 9, tzinfo=UTC)


@pytest.fixture
def scene(ees_engine):
    """An EES traveller whose passport an ETIAS application gives under another identity (a yellow link)."""
    c, t = clock(), Traveller("USA")
    with unit_of_work(ees_engine) as s:
        cir.store(s, "ETIAS", "APP-7", cir.Identity("OTHER", "NAME", None, "F", "USA", t.document.number,
                                                    t.document.issuing_state), AT)
    res = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    assert [lk.colour for lk in res.mid_links] == ["yellow"]
    return c, t, res


def ask(engine, c, profile, t):
    return run(engine, c, lambda ctx: esp.search(ctx, profile, document=t.document), readonly=True)


def test_the_border_sees_the_file_the_identities_and_the_link_it_must_verify(ees_engine, scene):
    c, t, res = scene
    out = ask(ees_engine, c, "border", t)
    assert [f["id"] for f in out.ees] == [res.file_id] and out.ees[0]["records"]
    assert {(r["system"], r["reference"]) for r in out.cir} == {("EES", res.file_id), ("ETIAS", "APP-7")}
    assert [(m["colour"], m["system"]) for m in out.mid] == [("yellow", "ETIAS")]


def test_other_profiles_see_less(ees_engine, scene):
    c, t, res = scene
    imm = ask(ees_engine, c, "immigration", t)
    assert imm.ees and imm.mid == []  # a yellow link is for the authority that verifies it
    police = ask(ees_engine, c, "police_identification", t)
    assert police.ees == [] and police.mid == [] and police.cir
    assert set(police.cir[0]) >= {"surname", "birth_date", "document_number"} and "records" not in police.cir[0]
    etias = ask(ees_engine, c, "etias_central_unit", t)
    assert etias.ees and "visa_required" not in etias.ees[0] and "records" in etias.ees[0]


def test_a_red_link_is_shown_to_anyone_with_access_to_either_system(ees_engine, scene):
    c, t, res = scene
    with unit_of_work(ees_engine) as s:
        mid.verify(s, uuid.UUID(res.mid_links[0].id), "red", by="NL-KMAR", reason="impostor", at=AT)
    assert [m["colour"] for m in ask(ees_engine, c, "immigration", t).mid] == ["red"]
    assert ask(ees_engine, c, "police_identification", t).mid == []  # no access to the MID


def test_bad_queries(ees_engine):
    c = clock()
    with pytest.raises(InvalidInput, match="no ESP profile"):
        run(ees_engine, c, lambda ctx: esp.search(ctx, "curious", document=Traveller().document), readonly=True)
    with pytest.raises(InvalidInput):
        run(ees_engine, c, lambda ctx: esp.search(ctx, "border"), readonly=True)
    assert run(ees_engine, c, lambda ctx: esp.search(ctx, "border", identity=S.IdentityIn(
        surname="NOBODY", given_names="", birth_date=None, sex="X", nationality="USA")), readonly=True).ees == []
