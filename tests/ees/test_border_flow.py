"""Border checks end to end through the use cases, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from smartborders.ees import schemas as S
from smartborders.ees import service
from smartborders.ees.service import run
from tests.ees.factory import START, Traveller, clock, visa


def test_entry_then_exit_within_the_authorised_stay(ees_engine):
    c, t = clock(), Traveller("USA")
    res = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    assert res.file_created and res.entry_date == date(2026, 4, 10)
    assert res.max_stay_days == 90 and res.authorised_until == date(2026, 7, 8)
    c.advance(timedelta(days=20))
    out = run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit()))
    assert out.stay_days == 21 and not out.overstay and out.overstay_days == 0
    again = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    assert not again.file_created and again.max_stay_days == 69


def test_replayed_entry_returns_the_first_answer_and_writes_once(ees_engine):
    c, t = clock(), Traveller("CAN")
    cmd = t.entry()
    first = run(ees_engine, c, lambda ctx: service.record_entry(ctx, cmd))
    c.advance(timedelta(hours=1))
    second = run(ees_engine, c, lambda ctx: service.record_entry(ctx, cmd))
    assert second == first
    found = run(ees_engine, c, lambda ctx: service.search(ctx, S.SearchRequest(document=t.document)), readonly=True)
    assert len(found.file.records) == 1
    other = t.entry(client_id=cmd.client_id, bcp="FR-CDG")
    with pytest.raises(service.ClientIdReused):
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, other))


def test_entry_while_inside_and_exit_without_entry_are_refused(ees_engine):
    c, t = clock(), Traveller("JPN")
    with pytest.raises(service.UnknownDocument):
        run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit()))
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    with pytest.raises(service.AlreadyInside):
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit()))
    with pytest.raises(service.ExitWithoutEntry):
        run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit()))


def test_overstay_is_flagged_by_the_sweep_and_reported_at_exit(ees_engine):
    c, t = clock(), Traveller("BRA")
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    c.advance(timedelta(days=89))
    assert run(ees_engine, c, lambda ctx: service.sweep_overstays(ctx)).flagged == 0
    c.advance(timedelta(days=2))  # 10.07: authorised until 08.07 (day 90); 09.07 and 10.07 are over
    swept = run(ees_engine, c, lambda ctx: service.sweep_overstays(ctx))
    assert swept.flagged == 1
    assert run(ees_engine, c, lambda ctx: service.sweep_overstays(ctx)).flagged == 0  # re-run: nothing new
    listed = run(ees_engine, c, lambda ctx: service.overstayers(ctx), readonly=True)
    assert [o.surname for o in listed] == [t.identity.surname] and listed[0].days_over == 2
    out = run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit()))
    assert out.overstay and out.overstay_days == 2
    assert run(ees_engine, c, lambda ctx: service.overstayers(ctx), readonly=True) == []


def test_visa_holder_needs_a_visa_and_single_entry_is_used_up(ees_engine):
    c, t = clock(), Traveller("IND")
    with pytest.raises(service.VisaRequired):
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    v = visa(entries=1, duration_days=15)
    res = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(visa=v)))
    assert res.max_stay_days == 15 and res.visa_entries_used_up
    c.advance(timedelta(days=5))
    run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit()))
    carrier = run(ees_engine, c, lambda ctx: service.carrier_query(
        ctx, S.CarrierQuery(document=t.document, visa_sticker=v.sticker)), readonly=True)
    assert carrier.answer == "NOT OK"
    with pytest.raises(service.NoAuthorisedStay):
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(visa=v)))


def test_unknown_crossing_point_and_future_time(ees_engine):
    c, t = clock(), Traveller("USA")
    with pytest.raises(service.UnknownCrossingPoint):
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(bcp="XX-NOPE")))
    with pytest.raises(service.FutureTime):
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(at=START + timedelta(hours=2))))


def test_stored_answers_expire_after_the_replay_window(ees_engine):
    from smartborders.ees.purge import REPLAY_ANSWERS, purge

    c, t = clock(), Traveller("USA")
    cmd = t.entry()
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, cmd))
    c.advance(service.REPLAY_WINDOW - timedelta(hours=1))
    assert run(ees_engine, c, lambda ctx: purge(ctx)).detail[REPLAY_ANSWERS] == 0
    assert run(ees_engine, c, lambda ctx: service.record_entry(ctx, cmd)).entry_date == date(2026, 4, 10)
    c.advance(timedelta(hours=2))
    assert run(ees_engine, c, lambda ctx: purge(ctx)).detail[REPLAY_ANSWERS] == 1
    with pytest.raises(service.AlreadyInside):  # no stored answer any more: a late replay is a new request
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, cmd.model_copy(update={"at": None})))


@pytest.mark.parametrize("known", [False, True], ids=["new-traveller", "known-traveller"])
def test_two_entries_of_one_traveller_at_once_cannot_both_win(ees_engine, known):
    import threading

    c, t = clock(), Traveller("USA")
    if known:
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
        c.advance(timedelta(days=1))
        run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit()))
        c.advance(timedelta(days=1))
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def enter(bcp: str) -> None:
        cmd = t.entry(bcp=bcp)
        barrier.wait()
        try:
            run(ees_engine, c, lambda ctx: service.record_entry(ctx, cmd))
            outcomes.append("entered")
        except service.AlreadyInside:
            outcomes.append("already-inside")

    threads = [threading.Thread(target=enter, args=(b,)) for b in ("NL-AMS", "FR-CDG", "DE-FRA", "IT-FCO")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(outcomes) == ["already-inside"] * 3 + ["entered"]
    found = run(ees_engine, c, lambda ctx: service.search(ctx, S.SearchRequest(document=t.document)), readonly=True)
    assert sum(1 for r in found.file.records if r.exit_at is None) == 1


def test_the_file_is_brought_up_to_date_at_the_next_crossing(ees_engine):
    """Art. 14(1), 17(4): what a crossing learns lands on the file; what it does not change stays."""
    from tests.ees.factory import document

    c, t = clock(), Traveller("USA")
    prints = S.BiometricsIn(fingerprint_exemption="temporarily_impossible")
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=prints)))
    c.advance(timedelta(days=5))
    run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit()))

    def file():
        found = run(ees_engine, c, lambda ctx: service.search(ctx, S.SearchRequest(document=t.document)),
                    readonly=True)
        return found.file

    before = file()
    assert before.fingerprint_status == "temporarily_impossible" and not before.nfp
    # The same passport with its expiry date read from the chip, a new surname, prints taken, NFP.
    t.document = t.document.model_copy(update={"expiry_date": date(2031, 5, 1)})
    t.identity = t.identity.model_copy(update={"surname": "MARRIEDNAME"})
    c.advance(timedelta(days=30))
    from tests.specimens import four_fingers

    with pytest.raises(service.InvalidInput, match="missing: ring, little"):  # Art. 17(1)(c): four fingers
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=S.BiometricsIn(
            fingerprints=dict(list(four_fingers(3).items())[:2])))))
    bio = S.BiometricsIn(fingerprints=four_fingers(3))
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(biometrics=bio, nfp=True)))
    after = file()
    assert after.id == before.id and after.surname == "MARRIEDNAME"
    assert [d.expiry_date for d in after.documents] == [date(2031, 5, 1)]
    assert after.fingerprint_status == "present" and after.nfp
    c.advance(timedelta(days=3))
    run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit()))
    # A new passport: the file is found by the identity, and the new document joins it.
    old = t.document
    t.document = document(state="USA")
    c.advance(timedelta(days=30))
    res = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    assert not res.file_created and res.file_id == before.id
    newest = file()
    assert sorted(d.number for d in newest.documents) == sorted([old.number, t.document.number])
    assert len(newest.records) == 3 and newest.records[-1].exit_date is None
    assert newest.surname == "MARRIEDNAME" and newest.fingerprint_status == "present"


def test_replays_of_exits_and_refusals_return_their_first_answers(ees_engine):
    """Each write's client id is looked up in the query that locks the file; a replay made after the
    traveller moved on still gets the first answer, and writes nothing."""
    c, t = clock(), Traveller("KOR")
    run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    c.advance(timedelta(days=3))
    out = t.exit()
    first = run(ees_engine, c, lambda ctx: service.record_exit(ctx, out))
    c.advance(timedelta(days=1))
    assert run(ees_engine, c, lambda ctx: service.record_exit(ctx, out)) == first  # now outside: still the answer
    refusal = S.RefusalCommand(client_id="refusal-1", bcp="NL-AMS", authority="NL-KMAR", document=t.document,
                               reasons=["E"])
    once = run(ees_engine, c, lambda ctx: service.record_refusal(ctx, refusal))
    assert run(ees_engine, c, lambda ctx: service.record_refusal(ctx, refusal)) == once
    with pytest.raises(service.ClientIdReused):  # the exit's id, given to an entry
        run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry(client_id=out.client_id)))
    found = run(ees_engine, c, lambda ctx: service.search(ctx, S.SearchRequest(document=t.document)), readonly=True)
    assert len(found.file.records) == 1 and len(found.file.refusals) == 1


def test_a_check_points_to_a_file_with_similar_identity_data(ees_engine):
    """A new passport whose MRZ cut the given names short: no file by document or exact identity, but
    the check points the guard to the similar file instead of letting a second file be created blind."""
    from tests.ees.factory import document

    c = clock()
    t = Traveller("USA", surname="WOLFESCHLEGELSTEIN", given_names="HUBERT BLAINE", birth_date=date(1975, 2, 3),
                  sex="M")
    first = run(ees_engine, c, lambda ctx: service.record_entry(ctx, t.entry()))
    c.advance(timedelta(days=3))
    run(ees_engine, c, lambda ctx: service.record_exit(ctx, t.exit()))
    new_doc = document(state="USA")
    cut = t.identity.model_copy(update={"given_names": "HUBERT BLAIN"})
    req = S.BorderCheckRequest(direction="entry", bcp="NL-AMS", document=new_doc, identity=cut)
    res = run(ees_engine, c, lambda ctx: service.border_check(ctx, req), readonly=True)
    [hint] = [f for f in res.findings if f.code == "similar-identity-on-file"]
    assert first.file_id in hint.message and res.file is None
    other = t.identity.model_copy(update={"surname": "WOLFF", "given_names": "ANNA"})
    req2 = S.BorderCheckRequest(direction="entry", bcp="NL-AMS", document=new_doc, identity=other)
    res2 = run(ees_engine, c, lambda ctx: service.border_check(ctx, req2), readonly=True)
    assert not [f for f in res2.findings if f.code == "similar-identity-on-file"]
