"""Synthetic biometrics and other systems' records for a generated population, so that the demo shows
the sBMS, the CIR and the MID at work: a face descriptor for every individual file, and a few people
who are also in a second system (ETIAS here), some of them under other identity data.

Never real people: descriptors come from `biometrics.synthetic.FACE_MODEL`, names from the files.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from smartborders.biometrics.synthetic import FACE_MODEL
from smartborders.core.db import unit_of_work
from smartborders.ees.models import IndividualFile, TravelDocument
from smartborders.interop import cir, mid
from smartborders.interop.models import BiometricTemplate
from smartborders.interop.sbms import service_for


def enrol_population(engine: Engine, at: datetime, *, seed: int = 7, elsewhere: int = 12) -> dict[str, int]:
    """Enrol a synthetic face for every EES file, copy the files to the CIR, and register `elsewhere`
    of the travellers in ETIAS: a third under the same identity and passport (white links), a third
    with the same face under another name (yellow), a third with the same passport under another
    identity (yellow). The MID then runs for each of them as it would at their next EES write."""
    rng = np.random.default_rng(seed)
    with unit_of_work(engine, readonly=True) as s:
        files = s.execute(
            select(IndividualFile.id, IndividualFile.surname, IndividualFile.given_names, IndividualFile.birth_date,
                   IndividualFile.sex, IndividualFile.nationality, TravelDocument.number, TravelDocument.issuing_state)
            .join(TravelDocument, TravelDocument.file_id == IndividualFile.id).order_by(IndividualFile.id)
        ).all()
    if not files:
        return {"faces": 0, "etias": 0, "links": 0}
    identities = FACE_MODEL.identities(len(files), rng)
    faces = FACE_MODEL.captures(identities, rng)
    t = BiometricTemplate.__table__
    with unit_of_work(engine) as s:
        s.execute(t.insert(), [{"subject": f"EES:{f.id}", "system": "EES", "kind": "face", "position": "",
                                "data": faces[i].tobytes(), "quality": int(rng.integers(55, 95)), "created_at": at}
                               for i, f in enumerate(files)])
        for f in files:
            cir.store(s, "EES", str(f.id), _who(f), at, has_biometrics=True)
    sbms = service_for(engine)
    picks = rng.choice(len(files), min(elsewhere, len(files)), replace=False)
    links = 0
    for k, i in enumerate(picks):
        f = files[i]
        ref = f"DEMO-{k + 1:04d}"
        with unit_of_work(engine) as s:
            if k % 3 == 0:  # the same person, the same passport, a spelling variant of the name
                cir.store(s, "ETIAS", ref, _who(f, surname=f.surname[:-1] + "E" + f.surname[-1:]), at)
            elif k % 3 == 1:  # the same face under another identity
                cir.store(s, "ETIAS", ref, cir.Identity("ALIAS", "DEMO", None, f.sex, f.nationality), at,
                          has_biometrics=True)
                sbms.enrol(s, f"ETIAS:{ref}", "ETIAS", at,
                           face=_sample(FACE_MODEL.captures(identities[i][None], rng)[0]))
            else:  # the same passport, another person's identity data
                cir.store(s, "ETIAS", ref, cir.Identity("OTHER", "HOLDER", None, "X", f.nationality, f.number,
                                                        f.issuing_state), at)
        with unit_of_work(engine) as s:
            links += len(mid.detect(s, "EES", str(f.id), _who(f), at, face=faces[i], sbms=sbms))
    return {"faces": len(files), "etias": len(picks), "links": links}


def _who(f: Any, **change: Any) -> cir.Identity:
    base = {"surname": f.surname, "given_names": f.given_names, "birth_date": f.birth_date, "sex": f.sex,
            "nationality": f.nationality, "document_number": f.number, "document_state": f.issuing_state}
    base.update(change)
    return cir.Identity(**base)


def _sample(vector: np.ndarray) -> Any:
    from smartborders.biometrics.face import FaceQuality, FaceSample

    return FaceSample(vector.astype(np.float32), FaceQuality(faces=1, eye_distance=60, sharpness=100, brightness=120,
                                                             contrast=50))
