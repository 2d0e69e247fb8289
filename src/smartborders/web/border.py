"""The border guard's console (issue 6): one screen from the travel document to the recorded crossing.

The guard scans or types the MRZ (or hands in a document reader's JSON), adds the face and fingerprints
where taken, and gets the border check of `ees.service.border_check` in one panel: the individual file
found, the biometric verification, the MID links the border profile may see (through the ESP), the
authorised stay with the days that fill the 180-day window, the ETIAS or visa status and every finding.
One button then records the entry, the exit or the refusal (with its Annex V Part B letters).

Nothing is kept on the server between the check and the action: the check's input travels in the result
panel (hidden fields) with a client id made at check time, so pressing the button twice, or resending
the form, records once (DESIGN: idempotent writes). Every screen works as a plain form post; htmx swaps
the result panel in place when JavaScript runs.

The document reader's JSON (a textarea or a file) is one object:

    {"mrz": "P<UTO...\\n...",                        the MRZ as read, lines separated by newlines; or
     "document": {DocumentIn}, "identity": {IdentityIn},        the chip's data group 1 as fields
     "chip": {"face_image_base64": "..."},          optional: the chip's facial image (DG2), used as the
                                                    face when none is taken live (EES Art. 15(2)-(3))
     "visa": {VisaIn}}                              optional: the visa as read from the VIS or sticker

Other keys (a reader's own metadata) are ignored.

Heavy traffic is not the guard's choice (Reg. (EU) 2025/1534): the console shows the crossing point's mode
as its supervisor set it (`ees.modes`) and takes no biometrics only while a `no_biometrics` mode is in
force; while EES registration is suspended there it says so (stamp, national procedure) and records
nothing. The fall-back procedure (EES Art. 21) stays the guard's switch.
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from smartborders.core.errors import Problem
from smartborders.ees import schemas as S
from smartborders.web.auth import User
from smartborders.web.common import _, attempt, csrf, is_htmx, render, require

router = APIRouter(include_in_schema=False)
guard = require("border_guard")

SESSION_KEY = "border"
# Starlette limits a form field (not a file) to 1 MB; the images of a check travel to the action in
# hidden fields, so they are cut in pieces well under it (base64 has no characters a form escapes
# beyond three times their size).
PIECE = 256 * 1024
MAX_FORM_FIELD = 8 * 1024 * 1024
FACE_MAX_B64 = 2_000_000  # BiometricsIn.face
FINGER_MAX_B64 = 500_000  # BiometricsIn.fingerprints[...]
FINGERS = ("right_index", "right_middle", "right_ring", "right_little",
           "left_index", "left_middle", "left_ring", "left_little")
WINDOW_DAYS = 180

# Form fields and schema paths, as the guard reads them on the screen.
LABELS = {
    "mrz": "MRZ", "document": "Document", "identity": "Identity", "visa.sticker": "Visa sticker",
    "visa.issuing_state": "Visa issued by", "visa.type": "Visa type", "visa.entries": "Visa entries",
    "visa.duration_days": "Visa duration of stay", "visa.valid_from": "Visa valid from",
    "visa.valid_until": "Visa valid until", "visa.ltv_states": "Visa valid only in", "reasons": "Refusal reasons",
    "biometrics.face": "Face", "biometrics.fingerprints": "Fingerprints",
    "biometrics.fingerprint_exemption": "Fingerprint exemption",
}


def mode(request: Request) -> dict[str, Any]:
    """The guard's working mode. Fall-back and the direction are the guard's, kept in the session. Heavy
    traffic (biometrics not taken) and suspension are not: they are the crossing point's mode as its
    supervisor set it (Reg. (EU) 2025/1534, `ees.modes`), read once per request by `read_bcp_mode`."""
    m = request.session.get(SESSION_KEY)
    m = m if isinstance(m, dict) else {}
    bcp_mode = getattr(request.state, "bcp_mode", None)
    return {"heavy_traffic": bcp_mode is not None and bcp_mode.mode == "no_biometrics",
            "suspended": bcp_mode is not None and bcp_mode.mode == "suspended", "bcp_mode": bcp_mode,
            "fallback": bool(m.get("fallback")), "direction": "exit" if m.get("direction") == "exit" else "entry"}


def _set_mode(request: Request, **change: Any) -> None:
    m = mode(request)
    request.session[SESSION_KEY] = {"fallback": m["fallback"], "direction": m["direction"], **change}


async def read_bcp_mode(request: Request, user: User) -> None:
    """The mode in force at the guard's crossing point now (None: full operation), for `mode`."""
    from smartborders.ees import modes

    code = user.bcp
    found = None
    if code:
        found, _problem = await attempt(request, lambda ctx: modes.in_force(ctx, code), readonly=True, border=True)
    request.state.bcp_mode = found


# ---- reading the form ------------------------------------------------------------------------------


class FormError(Exception):
    """Bad input of the guard's: (field, message) pairs, shown beside the fields and at the top."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(m for _, m in errors))
        self.errors = errors


@dataclass
class CheckInput:
    """What the check and the action after it are asked with: the API's own fields, as JSON."""

    direction: Literal["entry", "exit"]
    source: dict[str, Any]  # {"mrz": ...} or {"document": ..., "identity": ...}
    visa: dict[str, Any] | None = None
    family_member: bool = False
    biometrics: dict[str, Any] | None = None
    face_from_chip: bool = False
    notes: list[str] = field(default_factory=list)  # what was done to the input (a photo scaled down)

    def to_json(self) -> dict[str, Any]:
        return {"direction": self.direction, "source": self.source, "visa": self.visa,
                "family_member": self.family_member, "biometrics": self.biometrics,
                "face_from_chip": self.face_from_chip}

    @classmethod
    def from_json(cls, data: Any) -> CheckInput:
        if not isinstance(data, dict) or data.get("direction") not in ("entry", "exit") \
                or not isinstance(data.get("source"), dict):
            raise ValueError("not a check")
        return cls(direction=data["direction"], source=data["source"], visa=data.get("visa"),
                   family_member=bool(data.get("family_member")), biometrics=data.get("biometrics"),
                   face_from_chip=bool(data.get("face_from_chip")))


def normalise_mrz(text: str) -> str:
    """As typed or scanned: capitals, no spaces; one long line (a scanner without line breaks) is cut at
    the line length of its layout (TD3 2 x 44, TD2 2 x 36, TD1 3 x 30)."""
    lines = [re.sub(r"[ \t]+", "", line).upper() for line in text.strip().splitlines()]
    lines = [line for line in lines if line]
    if len(lines) == 1:
        one = lines[0]
        width = {88: 44, 72: 36, 90: 30}.get(len(one))
        if width:
            lines = [one[i:i + width] for i in range(0, len(one), width)]
    return "\n".join(lines)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _upload(form: FormData, name: str) -> bytes | None:
    value = form.get(name)
    if isinstance(value, UploadFile) and value.filename:
        data = await value.read()
        return data or None
    return None


def _scaled_face(data: bytes) -> tuple[bytes, bool]:
    """A tablet's photo can be larger than the API takes for a face: scale it to 1600 px on its longer
    side, as a capture device would (the quality gate needs eyes 30 px apart; this leaves far more)."""
    if len(base64.b64encode(data)) <= FACE_MAX_B64:
        return data, False
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            rgb = ImageOps.exif_transpose(im).convert("RGB")
            rgb.thumbnail((1600, 1600))
            buf = io.BytesIO()
            rgb.save(buf, format="JPEG", quality=90)
    except (UnidentifiedImageError, OSError):
        raise FormError([("face", "The face file is not a readable image.")]) from None
    return buf.getvalue(), True


def _reader(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FormError([("reader", f"The document reader's JSON cannot be read: {exc}.")]) from None
    if not isinstance(data, dict):
        raise FormError([("reader", "The document reader's JSON must be one object, e.g. {\"mrz\": \"...\"}.")])
    return data


async def read_check_form(request: Request, form: FormData, m: dict[str, Any]) -> CheckInput:
    """The check form as the API's input; bad input raises FormError with every problem found."""
    errors: list[tuple[str, str]] = []
    direction = "exit" if _text(form, "direction") == "exit" else "entry"
    mrz = normalise_mrz(_text(form, "mrz"))
    reader_text = _text(form, "reader_json")
    reader_file = await _upload(form, "reader_file")
    if reader_file is not None:
        if reader_text:
            errors.append(("reader", _(request, "Give the document reader's JSON as text or as a file, not both.")))
        reader_text = reader_file.decode("utf-8", errors="replace")
    reader: dict[str, Any] = {}
    if reader_text:
        try:
            reader = _reader(reader_text)
        except FormError as exc:
            errors += exc.errors
    source: dict[str, Any] = {}
    if mrz and reader:
        errors.append(("mrz", _(request, "Give the MRZ or the document reader's JSON, not both.")))
    elif mrz:
        source = {"mrz": mrz}
    elif reader:
        if isinstance(reader.get("mrz"), str) and reader["mrz"].strip():
            source = {"mrz": normalise_mrz(reader["mrz"])}
        elif isinstance(reader.get("document"), dict):
            source = {"document": reader["document"], "identity": reader.get("identity")}
        else:
            errors.append(("reader", _(request, "The document reader's JSON has neither \"mrz\" nor \"document\".")))
    elif not errors:
        errors.append(("mrz", _(request, "Scan or type the MRZ of the travel document (F2), or give the document "
                                         "reader's JSON.")))

    visa = _visa_fields(request, form, errors)
    if visa is None and isinstance(reader.get("visa"), dict):
        visa = reader["visa"]

    bio: dict[str, Any] = {}
    notes: list[str] = []
    face_from_chip = False
    if not m["heavy_traffic"]:
        face = await _upload(form, "face")
        if face is not None:
            try:
                face, scaled = _scaled_face(face)
                if scaled:
                    notes.append(_(request, "The photo was scaled to 1600 px for the face check."))
                bio["face"] = base64.b64encode(face).decode()
            except FormError as exc:
                errors += exc.errors
        else:
            chip = reader.get("chip")
            chip_face = chip.get("face_image_base64") if isinstance(chip, dict) else None
            if isinstance(chip_face, str) and chip_face.strip():
                bio["face"], bio["face_source"] = re.sub(r"\s+", "", chip_face), "chip"
                face_from_chip = True
        prints: dict[str, str] = {}
        for pos in FINGERS:
            data = await _upload(form, f"fp_{pos}")
            if data is not None:
                b64 = base64.b64encode(data).decode()
                if len(b64) > FINGER_MAX_B64:
                    errors.append((f"fp_{pos}", _(request, "The fingerprint image of %(finger)s is too large "
                                                           "(at most 375 kB).", finger=pos.replace("_", " "))))
                prints[pos] = b64
        if prints:
            bio["fingerprints"] = prints
        exemption = _text(form, "fp_exemption")
        if exemption:
            bio["fingerprint_exemption"] = exemption
    if "mrz" in source:
        unreadable = _unreadable(request, source["mrz"])
        if unreadable:
            errors.append(("mrz", unreadable))
    if errors:
        raise FormError(errors)
    return CheckInput(direction=direction, source=source, visa=visa,  # type: ignore[arg-type]
                      family_member=_text(form, "family_member") == "on", biometrics=bio or None,
                      face_from_chip=face_from_chip, notes=notes)


def _unreadable(request: Request, mrz: str) -> str | None:
    """Doc 9303's own words for an MRZ without a layout (the API's length limits would answer first,
    in words about strings rather than about travel documents)."""
    from smartborders.travel.mrz import MrzUnreadable, parse_mrz

    try:
        parse_mrz(mrz, today=date.today())  # the century of two-digit years does not decide the layout
    except MrzUnreadable as exc:
        return exc.detail
    bad = sorted(set(re.sub(r"[A-Z0-9<\n]", "", mrz)))
    if bad:
        return _(request, "an MRZ holds only A-Z, 0-9 and <; found %(chars)s", chars=" ".join(repr(c) for c in bad))
    return None


def _visa_fields(request: Request, form: FormData, errors: list[tuple[str, str]]) -> dict[str, Any] | None:
    names = ("visa_sticker", "visa_state", "visa_days", "visa_from", "visa_until", "visa_ltv")  # the typed ones
    if not any(_text(form, n) for n in names):
        return None
    sticker = _text(form, "visa_sticker").upper()
    if not sticker:
        errors.append(("visa_sticker", _(request, "Give the visa sticker number, or leave the visa empty.")))
    entries = _text(form, "visa_entries") or "multi"
    days = _text(form, "visa_days") or "90"
    if not days.isdigit():
        errors.append(("visa_days", _(request, "The visa's duration of stay is a number of days.")))
    return {
        "sticker": sticker, "issuing_state": _text(form, "visa_state").upper(),
        "type": "A" if _text(form, "visa_type") == "A" else "C",
        "entries": int(entries) if entries in ("1", "2") else None,
        "duration_days": int(days) if days.isdigit() else 0,
        "valid_from": _text(form, "visa_from"), "valid_until": _text(form, "visa_until"),
        "ltv_states": [s for s in re.split(r"[\s,;]+", _text(form, "visa_ltv").upper()) if s],
    }


def validation_errors(request: Request, exc: ValidationError) -> list[tuple[str, str]]:
    """pydantic's errors with the screen's names: "Visa valid from: expected a date written YYYY-MM-DD"."""
    out = []
    for e in exc.errors():
        loc = [str(x) for x in e["loc"] if not isinstance(x, int)]
        path = ".".join(loc)
        key = next((k for k in (path, ".".join(loc[:2]), loc[0] if loc else "") if k in LABELS), "")
        label = _(request, LABELS[key]) if key in LABELS else path or "input"
        msg = str(e["msg"]).removeprefix("Value error, ")
        out.append((key.replace("visa.", "visa_") if key.startswith("visa.") else key or "form", f"{label}: {msg}"))
    return out


# ---- the use cases, as the API runs them --------------------------------------------------------


def check_request(inp: CheckInput, bcp: str) -> S.BorderCheckRequest:
    body: dict[str, Any] = {"direction": inp.direction, "bcp": bcp, **inp.source}
    if inp.direction == "entry":
        if inp.visa is not None:
            body["visa"] = inp.visa
        body["family_member"] = inp.family_member
    if inp.biometrics:
        body["biometrics"] = inp.biometrics
    return S.BorderCheckRequest.model_validate_json(json.dumps(body))


def document_of(inp: CheckInput, on: date) -> S.DocumentIn | None:
    """The document the check was asked with (for the ESP search of MID links)."""
    if "document" in inp.source:
        return S.DocumentIn.model_validate_json(json.dumps(inp.source["document"]))
    from smartborders.travel.mrz import parse_mrz

    read = parse_mrz(inp.source["mrz"], today=on)
    return S.DocumentIn(document_type=read.document_type, number=read.document_number,
                        issuing_state=read.issuing_state, expiry_date=read.expiry_date)


def _who(inp: CheckInput, on: date) -> dict[str, Any]:
    """Who the document says this is (shown when no file holds it yet)."""
    if "document" in inp.source:
        ident = inp.source.get("identity") or {}
        doc = inp.source["document"]
        return {"surname": ident.get("surname", ""), "given_names": ident.get("given_names", ""),
                "birth_date": ident.get("birth_date"), "sex": ident.get("sex", ""),
                "nationality": ident.get("nationality", ""), "number": doc.get("number", ""),
                "issuing_state": doc.get("issuing_state", ""), "expiry_date": doc.get("expiry_date"),
                "format": "reader"}
    from smartborders.travel.mrz import parse_mrz

    r = parse_mrz(inp.source["mrz"], today=on)
    return {"surname": r.surname, "given_names": r.given_names, "birth_date": r.birth_date, "sex": r.sex,
            "nationality": r.nationality, "number": r.document_number, "issuing_state": r.issuing_state,
            "expiry_date": r.expiry_date, "format": r.format}


@dataclass
class Checked:
    result: S.BorderCheckResult
    links: list[dict[str, Any]]
    ms: float = 0.0


def run_check(ctx: Any, req: S.BorderCheckRequest, inp: CheckInput) -> Checked:
    """The border check, then the MID links the border profile may see (Reg. 2019/817 Art. 26) through
    the ESP, in the same read-only transaction."""
    from smartborders.ees import service
    from smartborders.interop import esp

    result = service.border_check(ctx, req)
    links: list[dict[str, Any]] = []
    if result.file is not None:
        doc = document_of(inp, result.date)
        if doc is not None:
            links = esp.search(ctx, "border", document=doc).mid
    return Checked(result, links)


def authority(user: User) -> str:
    """Who records: the crossing point and the guard (EES Art. 16(1)(e)-(f): the authority and place)."""
    name = re.sub(r"[^A-Za-z0-9_. -]+", "", user.name).strip() or "guard"
    return f"{user.bcp}/{name}"[:64]


def command(action: str, inp: CheckInput, user: User, client_id: str, m: dict[str, Any],
            reasons: list[str]) -> S.EntryCommand | S.ExitCommand | S.RefusalCommand:
    body: dict[str, Any] = {"client_id": client_id, "bcp": user.bcp, "authority": authority(user),
                            "fallback": m["fallback"], **inp.source}
    bio = None if m["heavy_traffic"] else inp.biometrics
    if action == "entry":
        body.update(family_member=inp.family_member, heavy_traffic=m["heavy_traffic"])
        if inp.visa is not None:
            body["visa"] = inp.visa
        if bio:
            body["biometrics"] = bio
        return S.EntryCommand.model_validate_json(json.dumps(body))
    if action == "exit":
        body["heavy_traffic"] = m["heavy_traffic"]
        if bio:
            body["biometrics"] = bio
        return S.ExitCommand.model_validate_json(json.dumps(body))
    body["reasons"] = reasons
    if bio:
        body["biometrics"] = bio
    return S.RefusalCommand.model_validate_json(json.dumps(body))


# ---- what the screen shows -------------------------------------------------------------------------


def window(result: S.BorderCheckResult) -> dict[str, Any] | None:
    """The 180-day window ending on the day of the check and the recorded stays inside it, for the bar
    and table under the authorised stay. The count that decides is the calculator's (`stay.days_used`);
    this only shows where those days lie."""
    if result.stay is None:
        return None
    on = result.stay.date
    start = on - timedelta(days=WINDOW_DAYS - 1)
    rows: list[dict[str, Any]] = []
    for r in (result.file.records if result.file else []):
        last = r.exit_date or on
        lo, hi = max(r.entry_date, start), min(last, on)
        if lo > hi:
            continue
        days = (hi - lo).days + 1
        rows.append({"entry": r.entry_date, "exit": r.exit_date, "bcp": r.entry_bcp, "from": lo, "to": hi,
                     "days": days, "counted": not r.family_member, "open": r.exit_date is None,
                     "left": round(100 * (lo - start).days / WINDOW_DAYS, 2),
                     "width": round(100 * days / WINDOW_DAYS, 2)})
    rows.sort(key=lambda x: x["from"])
    return {"start": start, "end": on, "rows": rows, "used": result.stay.days_used,
            "used_pct": min(100, round(100 * result.stay.days_used / 90))}


def etias_view(result: S.BorderCheckResult, visa: dict[str, Any] | None, nationality: str | None) -> dict[str, Any]:
    """ETIAS or visa: what applies to this traveller on the day of the check (`nationality`: the
    document's, where no file holds it yet)."""
    from smartborders.etias import rules as etias_rules
    from smartborders.reference.policy import VisaPolicy, visa_policy

    nationality = result.file.nationality if result.file else nationality
    visa_required = result.file.visa_required if result.file else None
    if visa_required is None and nationality:
        visa_required = visa_policy(nationality) is VisaPolicy.VISA_REQUIRED
    periods = etias_rules.periods()
    return {"visa_required": visa_required, "visa": visa, "period": periods.on(result.date).value,
            "etias_start": periods.start}


def _verdict(request: Request, result: S.BorderCheckResult) -> tuple[str, str]:
    """The one line on top of the panel: (class, text)."""
    letters = sorted({f.refusal_reason for f in result.findings if f.refusal_reason})
    if result.direction == "entry":
        if letters:
            return "error", _(request, "Entry conditions not met: see the findings (refusal reason %(letters)s).",
                              letters=", ".join(letters))
        if result.open_record is not None:
            return "notice", _(request, "The traveller has an entry without an exit.")
        if result.findings:
            return "notice", _(request, "No refusal ground found; read the findings before recording.")
        return "good", _(request, "No refusal ground found.")
    if result.open_record is None:
        return "notice", _(request, "No entry to close.")
    if any(f.code == "overstay" for f in result.findings):
        return "error", _(request, "Overstay: the authorised stay has ended.")
    return "good", _(request, "Open entry found; no overstay.")


def _refusal_reasons() -> dict[str, str]:
    from smartborders.reference.policy import refusal_reasons

    return refusal_reasons()


def pieces(text: str) -> list[str]:
    return [text[i:i + PIECE] for i in range(0, len(text), PIECE)] or [""]


SLOTS = ("mrz", "reader", "visa", "face", "fingers")


def _slot(key: str) -> str | None:
    """Where beside the form a message about `key` goes."""
    if key.startswith("visa"):
        return "visa"
    if key.startswith(("fp_", "biometrics.finger", "fingerprints")):
        return "fingers"
    if key in ("face", "biometrics.face"):
        return "face"
    if key in ("mrz", "document", "identity"):
        return "mrz"
    return "reader" if key == "reader" else None


def _respond(request: Request, user: User, *, status: int = 200, **ctx: Any) -> HTMLResponse:
    """The result panel alone for htmx (always 200, so htmx swaps it in), the whole page otherwise."""
    m = mode(request)
    errors = ctx.pop("errors", None) or []
    slot_errors: dict[str, list[str]] = {}
    for key, message in errors:
        slot = _slot(key)
        if slot:
            slot_errors.setdefault(slot, []).append(message)
    base: dict[str, Any] = {"mode": m, "reasons": _refusal_reasons(), "fingers": FINGERS, "errors": errors,
                            "form": ctx.pop("form", None) or {}, "slot_errors": slot_errors, "slots": SLOTS}
    if is_htmx(request):
        return render(request, "border/_result.html", **base, **ctx)
    return render(request, "border/check.html", status_code=status, title=_(request, "Border check"), **base, **ctx)


def _problem_view(p: Problem) -> dict[str, Any]:
    ext = p.extensions
    quality = ext.get("quality") if isinstance(ext.get("quality"), dict) else None
    details = ext.get("details") if isinstance(ext.get("details"), list) else []
    return {"title": p.title, "detail": p.detail, "status": p.status, "slug": p.slug, "quality": quality,
            "reasons": ext.get("reasons") if isinstance(ext.get("reasons"), list) else [],
            "details": details, "refusal_reason": ext.get("refusal_reason"), "stay": ext.get("stay")}


def _problem_field(p: Problem) -> str:
    if p.slug in ("invalid-mrz", "mrz-unreadable"):
        return "mrz"
    if p.slug == "face-quality":
        return "face"
    if p.slug == "fingerprint-quality":
        m = re.match(r"fingerprints\.(\w+):", p.detail)
        return f"fp_{m.group(1)}" if m else "fingerprints"
    return "form"


def _form_values(form: FormData) -> dict[str, str]:
    """What the guard typed, to fill the form again on a page without JavaScript (files cannot be)."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf" and len(v) < 100_000}


# ---- routes ------------------------------------------------------------------------------------------


@router.get("/border")
async def index(request: Request, user: User = Depends(guard)):  # type: ignore[no-untyped-def]  # noqa: B008
    await read_bcp_mode(request, user)
    return _respond(request, user, form={"direction": mode(request)["direction"]})


@router.post("/border/mode", dependencies=[Depends(csrf)])
async def set_mode(request: Request, user: User = Depends(guard)):  # type: ignore[no-untyped-def]  # noqa: B008
    form = await request.form()
    _set_mode(request, fallback=form.get("fallback") == "on")  # heavy traffic is the supervisor's, not the guard's
    return RedirectResponse("/border", status_code=303)


@router.post("/border/check", dependencies=[Depends(csrf)])
async def check(request: Request, user: User = Depends(guard)):  # type: ignore[no-untyped-def]  # noqa: B008
    t0 = time.perf_counter()
    form = await request.form(max_part_size=MAX_FORM_FIELD)
    values = _form_values(form)
    await read_bcp_mode(request, user)
    m = mode(request)
    try:
        inp = await read_check_form(request, form, m)
        if inp.direction != m["direction"]:
            _set_mode(request, direction=inp.direction)
        req = check_request(inp, user.bcp or "")
    except FormError as exc:
        return _respond(request, user, status=422, form=values, errors=exc.errors)
    except ValidationError as exc:
        return _respond(request, user, status=422, form=values, errors=validation_errors(request, exc))
    checked, problem = await attempt(request, lambda ctx: run_check(ctx, req, inp), readonly=True, border=True)
    if problem is not None or checked is None:
        assert problem is not None
        return _respond(request, user, status=problem.status, form=values, problem=_problem_view(problem),
                        errors=[(_problem_field(problem), problem.detail)])
    checked.ms = (time.perf_counter() - t0) * 1000
    return _result(request, user, inp, checked, form=values)


def _result(request: Request, user: User, inp: CheckInput, checked: Checked, *, status: int = 200,
            action_problem: dict[str, Any] | None = None, **ctx: Any) -> HTMLResponse:
    r = checked.result
    suggested = sorted({f.refusal_reason for f in r.findings if f.refusal_reason})
    if action_problem and action_problem.get("refusal_reason"):
        suggested = sorted(set(suggested) | {action_problem["refusal_reason"]})
    ctx.setdefault("form", {"direction": inp.direction, "mrz": inp.source.get("mrz", "")})
    who = _who(inp, r.date)
    return _respond(
        request, user, status=status, r=r, inp=inp, who=who, links=checked.links, ms=checked.ms,
        window=window(r), travel=etias_view(r, inp.visa, who["nationality"] or None), verdict=_verdict(request, r),
        suggested=suggested, payload=pieces(json.dumps(inp.to_json(), separators=(",", ":"))),
        client_id=uuid.uuid4().hex, action_problem=action_problem, notes=inp.notes, **ctx)


@router.post("/border/record", dependencies=[Depends(csrf)])
async def record(request: Request, user: User = Depends(guard)):  # type: ignore[no-untyped-def]  # noqa: B008
    """One action after the check: the entry, the exit or the refusal."""
    from smartborders.ees import service

    form = await request.form(max_part_size=MAX_FORM_FIELD)
    action = _text(form, "action")
    client_id = _text(form, "client_id")
    await read_bcp_mode(request, user)  # as in force now: a mode ended since the check no longer applies
    m = mode(request)
    try:
        inp = CheckInput.from_json(json.loads("".join(v for v in form.getlist("payload") if isinstance(v, str))))
    except ValueError:
        return _respond(request, user, status=422, errors=[("form", _(request, "The check to act on is missing: "
                                                                               "run the check again."))])
    if action not in ("entry", "exit", "refusal") or not re.fullmatch(r"[0-9a-f]{32}", client_id):
        return _respond(request, user, status=422, errors=[("form", _(request, "Choose entry, exit or refusal."))])
    reasons = sorted({v for v in form.getlist("reason") if isinstance(v, str) and v in _refusal_reasons()})
    if action == "refusal" and not reasons:
        return await _again(request, user, inp, status=422, problem={
            "title": _(request, "Refusal reasons missing"), "status": 422, "quality": None, "details": [],
            "reasons": [], "detail": _(request, "Tick at least one refusal reason (Annex V Part B) before "
                                                "recording the refusal.")}, reasons_checked=reasons)
    try:
        cmd = command(action, inp, user, client_id, m, reasons)
    except ValidationError as exc:
        return _respond(request, user, status=422, errors=validation_errors(request, exc))
    uses: dict[str, Callable[[Any, Any], Any]] = {"entry": service.record_entry, "exit": service.record_exit,
                                                  "refusal": service.record_refusal}
    use_case = uses[action]
    t0 = time.perf_counter()
    done, problem = await attempt(request, lambda ctx: use_case(ctx, cmd), border=True)
    if problem is not None:
        return await _again(request, user, inp, status=problem.status, problem=_problem_view(problem),
                            reasons_checked=reasons)
    assert done is not None
    today = request.app.state.sb.clock.now().date()
    return _respond(request, user, done=done, action=action, inp=inp, who=_who(inp, today), mode_used=m,
                    ms=(time.perf_counter() - t0) * 1000)


async def _again(request: Request, user: User, inp: CheckInput, *, status: int, problem: dict[str, Any],
                 reasons_checked: list[str]) -> HTMLResponse:
    """An action was refused: the check again (the state may have moved), with why on top."""
    try:
        req = check_request(inp, user.bcp or "")
    except ValidationError as exc:
        return _respond(request, user, status=422, errors=validation_errors(request, exc))
    checked, p2 = await attempt(request, lambda ctx: run_check(ctx, req, inp), readonly=True, border=True)
    if checked is None:
        return _respond(request, user, status=status, problem=_problem_view(p2) if p2 else problem)
    return _result(request, user, inp, checked, status=status, action_problem=problem, reasons_checked=reasons_checked)

