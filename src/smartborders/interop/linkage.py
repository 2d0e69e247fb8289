"""Biographic candidates across systems with splink (DESIGN.md: splink on DuckDB): a scan of the whole
CIR that links each system's records to the others' where a Fellegi-Sunter model, trained without
labels on the data themselves, gives a high match probability. Each candidate pair is then classed by
the MID's own rules (mid.compare_identity, mid.colour_for) and becomes a link like any other.

This is the batch pass: the transitional multiple-identity detection of Reg. 2019/817 Art. 69 and a
periodic sweep for what per-record detection (`mid.detect`, on each write) cannot see, such as two
records that only resemble each other once both exist. Per record, splink's setup (a DuckDB
database, the model) costs more than the few SQL lookups of `mid.detect`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from smartborders.core.db import unit_of_work
from smartborders.interop import cir, mid
from smartborders.interop.models import CirIdentity

# A pair at or above this match probability goes to the MID rules (which may still make no link).
MATCH_PROBABILITY = 0.9


def scan(engine: Engine, at: datetime, *, threshold: float = MATCH_PROBABILITY) -> dict[str, Any]:
    """Link the CIR's records across systems. Returns counts: records, systems, candidate pairs, links
    created or found, and by colour."""
    import pyarrow as pa
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    c = CirIdentity.__table__
    with unit_of_work(engine, readonly=True) as s:
        rows = s.execute(select(c)).all()
    by_system: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_system.setdefault(r.system, []).append({
            "unique_id": f"{r.system}:{r.reference}", "surname": r.surname, "given_names": r.given_names,
            "birth_date": r.birth_date.isoformat() if r.birth_date else None, "sex": r.sex,
            "nationality": r.nationality, "document_number": r.document_number})
    out: dict[str, Any] = {"records": len(rows), "systems": sorted(by_system), "pairs": 0, "links": 0,
                           "colours": {}}
    if len(by_system) < 2:
        return out  # links join systems (2019/818 Art. 27(5)): one system alone gives none
    db = DuckDBAPI()
    tables = [db.register(pa.Table.from_pylist(v), dataset_display_name=k) for k, v in sorted(by_system.items())]
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[cl.NameComparison("surname"), cl.NameComparison("given_names"),
                     cl.DateOfBirthComparison("birth_date", input_is_string=True), cl.ExactMatch("sex"),
                     cl.ExactMatch("nationality"), cl.ExactMatch("document_number")],
        blocking_rules_to_generate_predictions=[
            block_on("birth_date"), block_on("document_number"),
            block_on("substr(surname, 1, 3)", "substr(birth_date, 1, 4)")],
    )
    linker = Linker(tables, settings, log_level=logging.ERROR)
    # Unsupervised training: the share of true pairs from shared documents, u from random pairs, m by EM
    # on pairs with the same date of birth. Small stores may not support every step; splink's default
    # m values then stand.
    try:
        linker.training.estimate_probability_two_random_records_match([block_on("document_number")], recall=0.7)
    except Exception:  # noqa: BLE001 - no shared documents to learn from: splink's default prior stands
        pass
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    try:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    except Exception:  # noqa: BLE001 - too few pairs to train on
        pass
    pairs = linker.inference.predict(threshold_match_probability=threshold).as_record_list()
    out["pairs"] = len(pairs)
    people = {f"{r.system}:{r.reference}": r for r in rows}
    colours: dict[str, int] = {}
    with unit_of_work(engine) as s:
        for p in pairs:
            a, b = people[p["unique_id_l"]], people[p["unique_id_r"]]
            ia, ib = _identity(a), _identity(b)
            identity = mid.compare_identity(ia, ib)
            same_document = bool(ia.document_number) and (ia.document_number, ia.document_state) == (
                ib.document_number, ib.document_state)
            colour = mid.colour_for(same_biometrics=False, different_biometrics=False, identity=identity,
                                    same_document=same_document)
            if colour is None:
                continue
            link = mid.create_link(s, a.system, a.reference, b.system, b.reference, colour, False, identity,
                                   same_document, at)
            colours[link.colour] = colours.get(link.colour, 0) + 1
    out["links"] = sum(colours.values())
    out["colours"] = colours
    return out


def _identity(r: Any) -> cir.Identity:
    return cir.Identity(r.surname, r.given_names, r.birth_date, r.sex, r.nationality, r.document_number,
                        r.document_state)
