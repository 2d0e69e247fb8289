"""ETIAS name screening: names across scripts, spellings and orders; birth dates that disagree; the
blocking that keeps it fast; and the `smartborders watchlist match` contract."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartborders.core.errors import InvalidInput
from smartborders.etias.watchlist import THRESHOLD, Person, Watchlist, parse_request
from tests.conftest import run_cli

ENTRIES = [
    Person("w-hassan", "Mohammed Al-Hassan", "1980-01-02", "SYR"),
    Person("w-ivanov", "Aleksandr Ivanov", "1975-05-05", "RUS"),
    Person("w-eriksson", "Anna Maria Eriksson", "1990-07-14", "SWE"),
    Person("w-mueller", "Hans Müller", "1966-02-28", "DEU"),
    Person("w-smith", "John Smith", "1970-01-01", "GBR"),
    Person("w-kowalska", "Anna Kowalska", "1985-03-03", "POL"),
]


@pytest.fixture(scope="module")
def watchlist() -> Watchlist:
    return Watchlist(ENTRIES)


@pytest.mark.parametrize(("query", "expected", "because"), [
    (Person("q", "Muhammad Alhasan", "1980-01-02"), "w-hassan", "symbolMatch"),
    (Person("q", "محمد الحسن"), "w-hassan", "محمد"),  # Arabic script, no vowels written
    (Person("q", "Александр Иванов", "1975-05-05", "RUS"), "w-ivanov", "aleksandr ivanov"),
    (Person("q", "Alexander Iwanow"), "w-ivanov", "alexander"),
    (Person("q", "ERIKSSON ANNA MARIA"), "w-eriksson", "eriksson"),  # MRZ order and case
    (Person("q", "Mueller Hans", "1966-02-28"), "w-mueller", "birth"),
])
def test_the_same_person_is_found_across_scripts_spellings_and_orders(watchlist, query, expected, because):
    hits = watchlist.match(query)
    assert hits and hits[0].entry == expected and hits[0].score >= THRESHOLD
    assert because in hits[0].explanation


@pytest.mark.parametrize("query", [
    Person("q", "Peter Jones"),
    Person("q", "John Smith", "1990-03-03"),  # the name alone, but born twenty years apart
    Person("q", "Anna Nowak", "1985-03-03", "POL"),
])
def test_other_people_are_not_hits(watchlist, query):
    assert watchlist.match(query) == []


def test_a_birth_date_that_disagrees_pulls_the_score_down(watchlist):
    same = watchlist.match(Person("q", "John Smith", "1970-01-01"), threshold=0)
    other = watchlist.match(Person("q", "John Smith", "1990-03-03"), threshold=0)
    assert same[0].entry == other[0].entry == "w-smith"
    assert same[0].score > other[0].score
    assert "birth" in other[0].explanation


def test_blocking_finds_the_planted_entry_among_many_without_scoring_them_all():
    rng_names = [(g, s) for g in ("Anna", "Maria", "Jan", "Peter", "Ali", "Fatima", "Olga", "Luis", "Chen", "Aisha")
                 for s in ("Novak", "Garcia", "Kim", "Haddad", "Petrov", "Silva", "Nguyen", "Okafor", "Rossi", "Berg",
                           "Larsen", "Costa", "Yilmaz", "Sato", "Ahmadi", "Dubois", "Horvat", "Jensen", "Moreau",
                           "Popescu")]
    entries = [Person(f"e{i}", f"{g} {s}", f"19{50 + i % 50:02d}-0{1 + i % 9}-1{i % 10}")
               for i, (g, s) in enumerate(rng_names * 10)]
    entries.append(Person("planted", "Abdulrahman Al-Qasimi", "1979-09-09", "YEM"))
    wl = Watchlist(entries)
    query = Person("q", "Abdul Rahman Alqasimi", "1979-09-09")
    candidates = wl.candidates(query)
    assert len(candidates) < 40 and len(wl) == 2001
    hits = wl.match(query)
    assert [h.entry for h in hits] == ["planted"]


names = st.lists(st.text("abcdefghijklmnoprstuvz", min_size=3, max_size=9), min_size=2, max_size=3).map(
    lambda parts: " ".join(p.capitalize() for p in parts))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, born=st.dates().map(lambda d: d.isoformat()))
def test_an_entry_is_always_found_by_its_own_data(watchlist, name, born):
    wl = Watchlist([*ENTRIES, Person("target", name, born)])
    hits = wl.match(Person("q", name.upper(), born))
    assert hits and hits[0].entry == "target" and hits[0].score >= THRESHOLD
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))


@pytest.mark.parametrize(("payload", "message"), [
    ([], "expected a JSON object"),
    ({"watchlist": []}, "queries: expected a list"),
    ({"watchlist": [{"id": "a"}], "queries": []}, "watchlist[0].name"),
    ({"watchlist": [{"id": True, "name": "X Y"}], "queries": []}, "watchlist[0].id"),
    ({"watchlist": [], "queries": [{"id": 1, "name": "X Y", "birth_date": "02/01/1980"}]}, "queries[0].birth_date"),
    ({"watchlist": [], "queries": [{"id": 1, "name": "X Y", "birth_date": "1980-02-30"}]}, "not a calendar date"),
    ({"watchlist": [], "queries": [{"id": 1, "name": "X Y", "nationality": "DE"}]}, "queries[0].nationality"),
    ({"watchlist": [{"id": 1, "name": "A B"}, {"id": 1, "name": "C D"}], "queries": []}, "appears twice"),
])
def test_bad_requests_say_where_the_problem_is(payload, message):
    with pytest.raises(InvalidInput) as err:
        parse_request(payload)
    assert message in err.value.detail


def test_the_cli_contract():
    request = {
        "watchlist": [{"id": "w1", "name": "Mohammed Al-Hassan", "birth_date": "1980-01-02", "nationality": "SYR"},
                      {"id": 2, "name": "Aleksandr Ivanov", "birth_date": "1975"},
                      {"id": "w3", "name": "Anna Kowalska"}],
        "queries": [{"id": "q1", "name": "محمد الحسن"},
                    {"id": 7, "name": "Александр Иванов", "birth_date": "1975-05-05", "nationality": "RUS"},
                    {"id": "q3", "name": "Peter Jones"}],
    }
    res = run_cli("watchlist", "match", stdin=json.dumps(request))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert list(out) == ["results"]
    assert [r["query"] for r in out["results"]] == ["q1", 7, "q3"]  # input order, ids as given
    q1, q2, q3 = out["results"]
    assert [h["entry"] for h in q1["hits"]] == ["w1"] and [h["entry"] for h in q2["hits"]] == [2]
    assert q3["hits"] == []
    for hit in q1["hits"] + q2["hits"]:
        assert set(hit) == {"entry", "score", "explanation"}
        assert isinstance(hit["score"], float) and THRESHOLD <= hit["score"] <= 1 and hit["explanation"]
    bad = run_cli("watchlist", "match", stdin='{"watchlist": [], "queries": [{"id": 1}]}')
    assert bad.returncode == 2 and bad.stdout == "" and "queries[0].name" in bad.stderr
    assert run_cli("watchlist", "match", stdin="{not json").returncode == 2
