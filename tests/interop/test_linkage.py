"""The splink scan of the CIR: planted re-registrations across systems are found and classed by the MID
rules; running it again adds nothing; one system alone gives no links."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime

from smartborders.core.db import unit_of_work
from smartborders.interop import cir
from smartborders.interop.linkage import scan
from smartborders.interop.models import MidLink
from tests.conftest import run_cli

AT = datetime(2026, 11, 29, 12, tzinfo=UTC)
SURNAMES = ["SMITH", "JONES", "GARCIA", "MULLER", "ROSSI", "NOVAK", "KOVAC", "IVANOV", "SILVA", "TANAKA",
            "NGUYEN", "OKAFOR", "HANSEN", "PETROV", "LINDQVIST", "MORENO"]
GIVEN = ["ANNA", "JOHN", "MARIA", "IVAN", "LI", "SARA", "OMAR", "EVA", "LUCA", "NOAH", "ADA", "YUKI"]


def person(rng: random.Random, n: int) -> cir.Identity:
    return cir.Identity(rng.choice(SURNAMES), rng.choice(GIVEN),
                        date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)), rng.choice("MF"),
                        rng.choice(["USA", "BRA", "JPN", "CAN"]), f"P{n:08d}", "USA")


def colours(engine) -> Counter:
    t = MidLink.__table__
    with unit_of_work(engine, readonly=True) as s:
        return Counter(s.scalars(t.select().with_only_columns(t.c.colour)))


def test_a_scan_links_re_registrations_across_systems(ees_engine):
    rng = random.Random(5)
    ees = [person(rng, i) for i in range(300)]
    with unit_of_work(ees_engine) as s:
        for i, p in enumerate(ees):
            cir.store(s, "EES", f"F{i}", p, AT)
        for i in range(300):
            cir.store(s, "ETIAS", f"A{i}", person(rng, 10_000 + i), AT)
        for k in range(5):  # the same passport, the surname spelt differently: the same person (white)
            p = ees[k]
            cir.store(s, "ETIAS", f"W{k}", cir.Identity(p.surname[:-1] + "E" + p.surname[-1], p.given_names,
                                                        p.birth_date, p.sex, p.nationality, p.document_number,
                                                        p.document_state), AT)
        for k in range(5, 10):  # the same identity data on another passport: to be verified (yellow)
            p = ees[k]
            cir.store(s, "ETIAS", f"Y{k}", cir.Identity(p.surname, p.given_names, p.birth_date, p.sex,
                                                        p.nationality, f"Q{k:08d}", "BRA"), AT)
    out = scan(ees_engine, AT)
    assert out["systems"] == ["EES", "ETIAS"] and out["records"] == 610
    assert colours(ees_engine) == {"white": 5, "yellow": 5}
    again = scan(ees_engine, AT)
    assert again["links"] == 10 and colours(ees_engine) == {"white": 5, "yellow": 5}


def test_one_system_alone_gives_no_links_and_the_cli_reports(ees_engine, ees_url):
    rng = random.Random(6)
    with unit_of_work(ees_engine) as s:
        for i in range(20):
            cir.store(s, "EES", f"F{i}", person(rng, i), AT)
    assert scan(ees_engine, AT)["links"] == 0 and colours(ees_engine) == Counter()
    import os

    env_url = os.environ.get("SMARTBORDERS_DATABASE_URL")
    os.environ["SMARTBORDERS_DATABASE_URL"] = ees_url
    try:
        res = run_cli("mid", "scan", "--json")
    finally:
        if env_url is None:
            os.environ.pop("SMARTBORDERS_DATABASE_URL")
        else:
            os.environ["SMARTBORDERS_DATABASE_URL"] = env_url
    assert res.returncode == 0, res.stderr
    assert '"links": 0' in res.stdout and '"records": 20' in res.stdout
