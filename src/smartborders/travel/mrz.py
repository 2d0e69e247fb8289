"""ICAO Doc 9303 machine-readable zones: read, check and write TD1, TD2, TD3, MRV-A and MRV-B.

Pure rules: no I/O and no clock. The caller passes `today`, which decides the century of two-digit years.
Sources: Doc 9303 (8th ed., 2021) Part 3 (check digits, names, dates, transliteration), Part 4 (TD3
passports), Part 5 (TD1), Part 6 (TD2) and Part 7 (MRV-A and MRV-B visas).

Where Doc 9303 leaves a choice, this module picks:
- Transliteration uses the first option of Part 3 §6 (Ä→AE, Å→AA, Ö→OE, Ü→UE, Ñ→N) and the general
  Cyrillic column (not the language-specific variants). Part 3 has no Greek table: Greek follows ELOT 743
  (the Greek passport standard), with its OU, NG/NX/NCH and AV/AF, EV/EF, IV/IF digraphs.
- Unspecified sex is written '<', as in Doc 9303's MRZ layouts; 'X' and '<' both read back as "X".
- An empty TD3 optional-data field gets its computed check digit '0'; '<' is also accepted when reading.
- A document number of more than 9 characters (TD1, TD2 only) continues in the optional data, followed by
  its check digit and one filler; TD3 and visas have no such rule, so a longer number is refused.
- A birth date may be unknown in whole ('<<<<<<') or in part ('YYMM<<', 'YY<<<<'); either reads as None.
- TD1's two optional-data fields read back joined by one space, when both are non-empty.
- `errors` lists field names in the fixed order of `FIELDS` (the order of a passport's MRZ), not in the
  order a given layout stores them, so one error list means the same across formats.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from smartborders.core.errors import InvalidInput
from smartborders.reference.countries import is_icao_code

Format = Literal["TD1", "TD2", "TD3", "MRVA", "MRVB"]

FIELDS: tuple[str, ...] = (
    "document_type",
    "issuing_state",
    "surname",
    "given_names",
    "document_number",
    "nationality",
    "birth_date",
    "sex",
    "expiry_date",
    "optional_data",
    "composite",
    "characters",
)
_FIELD_ORDER = {name: i for i, name in enumerate(FIELDS)}

FILLER = "<"
_DIGITS = frozenset("0123456789")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_MRZ_CHARS = _DIGITS | _LETTERS | {FILLER}
_NAME_CHARS = _LETTERS | {FILLER}
_CHAR_VALUE = {c: int(c) for c in _DIGITS} | {c: ord(c) - ord("A") + 10 for c in _LETTERS} | {FILLER: 0}
_WEIGHTS = (7, 3, 1)

# Parts 4 (P), 5 and 6 (I, A, C) and 7 (V): the first character of the document code per layout.
_DOCUMENT_CODE_FIRST = {"TD1": "IAC", "TD2": "IAC", "TD3": "P", "MRVA": "V", "MRVB": "V"}
_NAME_WIDTH = {"TD1": 30, "TD2": 31, "TD3": 39, "MRVA": 39, "MRVB": 31}
_OPTIONAL_WIDTH = {"TD1": 15, "TD2": 7, "TD3": 14, "MRVA": 16, "MRVB": 8}
_TD1_OPTIONAL_2_WIDTH = 11


class MrzUnreadable(InvalidInput):
    """The text has no MRZ layout at all: wrong number of lines or wrong line lengths."""

    slug = "mrz-unreadable"
    title = "The machine-readable zone cannot be read"


@dataclass(frozen=True)
class MrzResult:
    """One MRZ as read, with every check that failed (Doc 9303 Parts 3-7)."""

    format: Format
    document_type: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date | None
    sex: str
    expiry_date: date | None
    optional_data: str
    valid: bool
    errors: list[str]
    details: list[tuple[str, str]]

    def to_json(self) -> dict[str, Any]:
        """The CLI/API contract: dates as ISO strings or null, details as {field, message} objects."""
        return {
            "format": self.format,
            "document_type": self.document_type,
            "issuing_state": self.issuing_state,
            "surname": self.surname,
            "given_names": self.given_names,
            "document_number": self.document_number,
            "nationality": self.nationality,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "sex": self.sex,
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "optional_data": self.optional_data,
            "valid": self.valid,
            "errors": list(self.errors),
            "details": [{"field": f, "message": m} for f, m in self.details],
        }


# --------------------------------------------------------------------------------------------------
# Check digits


def _check_digit_or_none(text: str) -> str | None:
    total = 0
    for i, ch in enumerate(text):
        value = _CHAR_VALUE.get(ch)
        if value is None:
            return None
        total += value * _WEIGHTS[i % 3]
    return str(total % 10)


def check_digit(s: str) -> str:
    """Doc 9303 Part 3 §4.9: weights 7,3,1 repeating; 0-9 as values, A-Z = 10-35, '<' = 0; sum mod 10."""
    digit = _check_digit_or_none(s)
    if digit is None:
        raise InvalidInput(f"check digit: {s!r} holds characters outside A-Z, 0-9 and '<'")
    return digit


# --------------------------------------------------------------------------------------------------
# Reading


class _Findings:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append((field, message))


@dataclass
class _Zone:
    """The raw slices of one MRZ, named by field; check digits kept as the single characters read."""

    document_code: str
    issuing_state: str
    name: str
    number: str
    number_check: str
    nationality: str
    birth: str
    birth_check: str
    sex: str
    expiry: str
    expiry_check: str
    optional: list[str]
    optional_check: str | None = None
    composite: tuple[str, str] | None = None


def _detect(lines: list[str]) -> Format:
    lengths = [len(line) for line in lines]
    if lengths == [30, 30, 30]:
        return "TD1"
    # Part 7: a visa's document code starts with V; that alone tells MRV-B from TD2 and MRV-A from TD3.
    if lengths == [36, 36]:
        return "MRVB" if lines[0][0] == "V" else "TD2"
    if lengths == [44, 44]:
        return "MRVA" if lines[0][0] == "V" else "TD3"
    raise MrzUnreadable(
        "an MRZ has 3 lines of 30 characters (TD1), 2 of 36 (TD2, MRV-B) or 2 of 44 (TD3, MRV-A); "
        f"got {len(lines)} line(s) of length {', '.join(map(str, lengths)) or '-'}",
        line_lengths=lengths,
    )


def _long_number(number: str, check: str, optional: str) -> tuple[str, str, str]:
    """Doc 9303 Part 5/6 note: a '<' check digit moves the rest of the number, its check digit and a filler
    to the head of the optional data."""
    if check != FILLER or not optional or optional[0] == FILLER:
        return number, check, optional
    end = optional.find(FILLER)
    if end < 0:
        end = len(optional)
    return number + optional[: end - 1], optional[end - 1], optional[end + 1 :]


def _lower_line(line: str, optional_end: int) -> dict[str, Any]:
    # TD2, TD3, MRV-A and MRV-B share the lower line up to the optional data (Parts 4, 6, 7).
    return {
        "number": line[0:9],
        "number_check": line[9],
        "nationality": line[10:13],
        "birth": line[13:19],
        "birth_check": line[19],
        "sex": line[20],
        "expiry": line[21:27],
        "expiry_check": line[27],
        "optional": [line[28:optional_end]],
    }


def _split(fmt: Format, lines: list[str]) -> _Zone:
    top = lines[0]
    head = {"document_code": top[0:2], "issuing_state": top[2:5]}
    if fmt == "TD1":
        middle, bottom = lines[1], lines[2]
        number, check, optional_1 = _long_number(top[5:14], top[14], top[15:30])
        return _Zone(
            **head,
            name=bottom,
            number=number,
            number_check=check,
            nationality=middle[15:18],
            birth=middle[0:6],
            birth_check=middle[6],
            sex=middle[7],
            expiry=middle[8:14],
            expiry_check=middle[14],
            optional=[optional_1, middle[18:29]],
            composite=(top[5:30] + middle[0:7] + middle[8:15] + middle[18:29], middle[29]),
        )
    lower = lines[1]
    if fmt == "TD2":
        fields = _lower_line(lower, 35)
        fields["number"], fields["number_check"], fields["optional"][0] = _long_number(
            fields["number"], fields["number_check"], fields["optional"][0]
        )
        composite = (lower[0:10] + lower[13:20] + lower[21:35], lower[35])
        return _Zone(**head, name=top[5:36], **fields, composite=composite)
    if fmt == "TD3":
        composite = (lower[0:10] + lower[13:20] + lower[21:43], lower[43])
        return _Zone(
            **head, name=top[5:44], **_lower_line(lower, 42), optional_check=lower[42], composite=composite
        )
    return _Zone(**head, name=top[5:], **_lower_line(lower, len(lower)))


def _check(findings: _Findings, field: str, data: str, check: str) -> None:
    if check not in _DIGITS:
        findings.add(field, f"check digit position holds {check!r}, not a digit")
        return
    computed = _check_digit_or_none(data)
    if computed is None:
        findings.add(field, "check digit cannot be computed over characters outside A-Z, 0-9 and '<'")
    elif computed != check:
        findings.add(field, f"check digit is {check}, computed {computed}")


def _read_document_code(fmt: Format, code: str, findings: _Findings) -> str:
    first, second = code[0], code[1]
    allowed = _DOCUMENT_CODE_FIRST[fmt]
    if first not in allowed:
        expected = ", ".join(allowed)
        findings.add("document_type", f"{fmt} document code must start with {expected}, not {first!r}")
    if second != FILLER and second not in _LETTERS:
        findings.add("document_type", f"second character {second!r} is neither a letter nor '<'")
    elif second == "V" and fmt in ("TD1", "TD2"):
        # Part 5/6: V is reserved for visas and must not be the second character of an official document.
        findings.add("document_type", "V may not be the second character of a TD1 or TD2 document code")
    return code.strip(FILLER)


def _read_country(field: str, raw: str, findings: _Findings) -> str:
    code = raw.rstrip(FILLER)
    if not is_icao_code(code):
        findings.add(field, f"{raw!r} is not an ICAO Doc 9303 country code")
    return code


def _words(part: str) -> str:
    return " ".join(word for word in part.split(FILLER) if word)


def _read_name(raw: str, findings: _Findings) -> tuple[str, str]:
    """Doc 9303 Part 3: primary identifier, '<<', secondary identifier; '<' separates name components."""
    split_at = raw.find(FILLER * 2)
    primary, secondary = (raw, "") if split_at < 0 else (raw[:split_at], raw[split_at + 2 :])
    surname, given_names = _words(primary), _words(secondary)
    if any(ch not in _NAME_CHARS for ch in primary):
        findings.add("surname", "holds characters other than A-Z and '<'")
    if not surname:
        findings.add("surname", "the primary identifier is empty")
    elif raw[0] == FILLER:
        findings.add("surname", "the name field starts with a filler")
    if any(ch not in _NAME_CHARS for ch in secondary):
        findings.add("given_names", "holds characters other than A-Z and '<'")
    return surname, given_names


def _is_ascii_digits(text: str) -> bool:
    return all(ch in _DIGITS for ch in text)


def _birth_year(yy: int, mm: int, dd: int, today: date) -> int:
    # The century that puts the date on or before today, else the one before it.
    year = today.year - today.year % 100 + yy
    return year - 100 if (year, mm, dd) > (today.year, today.month, today.day) else year


def _expiry_year(yy: int, today: date) -> int:
    # A sliding window of today.year - 49 .. today.year + 50: for 2000-2049 that is "20YY unless that is
    # more than 50 years ahead, then 19YY".
    year = today.year - today.year % 100 + yy
    if year > today.year + 50:
        return year - 100
    if year <= today.year - 50:
        return year + 100
    return year


def _read_date(field: str, raw: str, today: date, findings: _Findings) -> date | None:
    """Doc 9303 Part 3: dates are YYMMDD; fillers stand for an unknown date (for birth, also its end)."""
    if raw == FILLER * 6:
        return None
    if field == "birth_date":
        for known in (2, 4):
            if _is_ascii_digits(raw[:known]) and raw[known:] == FILLER * (6 - known):
                if known == 4 and not 1 <= int(raw[2:4]) <= 12:
                    findings.add(field, f"{raw!r} has no month {raw[2:4]}")
                return None
    if not _is_ascii_digits(raw):
        findings.add(field, f"{raw!r} is not a date in the form YYMMDD")
        return None
    yy, mm, dd = int(raw[0:2]), int(raw[2:4]), int(raw[4:6])
    year = _birth_year(yy, mm, dd, today) if field == "birth_date" else _expiry_year(yy, today)
    try:
        return date(year, mm, dd)
    except ValueError:
        findings.add(field, f"{raw} is not a calendar date")
        return None


def _read_sex(raw: str, findings: _Findings) -> str:
    if raw in ("M", "F"):
        return raw
    if raw not in ("X", FILLER):
        findings.add("sex", f"{raw!r} is not M, F, X or '<'")
    return "X"


def _read_optional(zone: _Zone, findings: _Findings) -> str:
    for part in zone.optional:
        if any(ch not in _MRZ_CHARS for ch in part):
            findings.add("optional_data", "holds characters outside A-Z, 0-9 and '<'")
            break
    if zone.optional_check is not None:
        data = zone.optional[0]
        # Part 4: an unused personal-number field may carry '<' or 0 as its check digit.
        if data.strip(FILLER) or zone.optional_check not in (FILLER, "0"):
            _check(findings, "optional_data", data, zone.optional_check)
    return " ".join(part.strip(FILLER) for part in zone.optional if part.strip(FILLER))


def _read_characters(lines: list[str], findings: _Findings) -> None:
    for number, line in enumerate(lines, start=1):
        bad = [(i, ch) for i, ch in enumerate(line, start=1) if ch not in _MRZ_CHARS]
        if bad:
            shown = ", ".join(f"{ch!r} at {i}" for i, ch in bad[:5]) + (", ..." if len(bad) > 5 else "")
            findings.add("characters", f"line {number} holds characters outside A-Z, 0-9 and '<': {shown}")


def parse_mrz(text: str, *, today: date) -> MrzResult:
    """Doc 9303 Parts 3-7: read an MRZ of any layout; only an unrecognisable shape raises (MrzUnreadable)."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    fmt = _detect(lines)
    zone = _split(fmt, lines)
    findings = _Findings()

    document_type = _read_document_code(fmt, zone.document_code, findings)
    issuing_state = _read_country("issuing_state", zone.issuing_state, findings)
    surname, given_names = _read_name(zone.name, findings)
    if not zone.number.strip(FILLER):
        findings.add("document_number", "the document number is empty")
    _check(findings, "document_number", zone.number, zone.number_check)
    nationality = _read_country("nationality", zone.nationality, findings)
    birth_date = _read_date("birth_date", zone.birth, today, findings)
    _check(findings, "birth_date", zone.birth, zone.birth_check)
    sex = _read_sex(zone.sex, findings)
    expiry_date = _read_date("expiry_date", zone.expiry, today, findings)
    _check(findings, "expiry_date", zone.expiry, zone.expiry_check)
    optional_data = _read_optional(zone, findings)
    if zone.composite is not None:
        _check(findings, "composite", *zone.composite)
    _read_characters(lines, findings)

    details = sorted(findings.items, key=lambda item: _FIELD_ORDER[item[0]])
    errors = list(dict.fromkeys(field for field, _ in details))
    return MrzResult(
        format=fmt,
        document_type=document_type,
        issuing_state=issuing_state,
        surname=surname,
        given_names=given_names,
        document_number=zone.number.strip(FILLER),
        nationality=nationality,
        birth_date=birth_date,
        sex=sex,
        expiry_date=expiry_date,
        optional_data=optional_data,
        valid=not errors,
        errors=errors,
        details=details,
    )


# --------------------------------------------------------------------------------------------------
# Transliteration (Doc 9303 Part 3 §6)

# Part 3 §6 Latin table: the letters that Unicode decomposition alone gets wrong or cannot reduce; every other
# Latin letter with a diacritic (Á, Ç, Ñ, Ş, Ž, ...) loses its marks under NFKD, as the table prescribes.
_LATIN = {
    "Ä": "AE",
    "Å": "AA",
    "Æ": "AE",
    "Ö": "OE",
    "Ø": "OE",
    "Ü": "UE",
    "Œ": "OE",
    "Ĳ": "IJ",
    "ẞ": "SS",
    "Þ": "TH",
    "Ð": "D",
    "Đ": "D",
    "Ħ": "H",
    "Ł": "L",
    "Ŀ": "L",
    "Ŋ": "N",
    "Ŧ": "T",
}

# Part 3 §6 Cyrillic table, general column. Letters with a diacritic (Й, Ё, Ї, Ў, Ѓ, Ќ) decompose to a
# base letter listed here that has the same transliteration.
_CYRILLIC = {
    "А": "A",
    "Б": "B",
    "В": "V",
    "Г": "G",
    "Ґ": "G",
    "Д": "D",
    "Ђ": "D",
    "Е": "E",
    "Є": "IE",
    "Ж": "ZH",
    "З": "Z",
    "Ѕ": "DZ",
    "И": "I",
    "І": "I",
    "Ј": "J",
    "К": "K",
    "Л": "L",
    "Љ": "LJ",
    "М": "M",
    "Н": "N",
    "Њ": "NJ",
    "О": "O",
    "П": "P",
    "Р": "R",
    "С": "S",
    "Т": "T",
    "Ћ": "C",
    "У": "U",
    "Ф": "F",
    "Х": "KH",
    "Ц": "TS",
    "Ч": "CH",
    "Џ": "DZ",
    "Ш": "SH",
    "Щ": "SHCH",
    "Ъ": "IE",
    "Ы": "Y",
    "Ь": "",
    "Э": "E",
    "Ю": "IU",
    "Я": "IA",
    "Ѫ": "U",
}

# ELOT 743 letters; accented vowels decompose to these.
_GREEK = {
    "Α": "A",
    "Β": "V",
    "Γ": "G",
    "Δ": "D",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "I",
    "Θ": "TH",
    "Ι": "I",
    "Κ": "K",
    "Λ": "L",
    "Μ": "M",
    "Ν": "N",
    "Ξ": "X",
    "Ο": "O",
    "Π": "P",
    "Ρ": "R",
    "Σ": "S",
    "Τ": "T",
    "Υ": "Y",
    "Φ": "F",
    "Χ": "CH",
    "Ψ": "PS",
    "Ω": "O",
}
# ELOT 743: after Α/Ε/Η, Υ is V before a vowel or voiced consonant, F before a voiceless one or at the end.
_GREEK_VOICED_NEXT = frozenset("ΑΕΗΙΟΥΩΒΓΔΖΛΜΝΡ")

_SEPARATORS = frozenset(",-\u2010\u2011\u2012\u2013\u2014<")
# Part 3 (names): apostrophes are dropped (D'ARTAGNAN -> DARTAGNAN); so are other punctuation marks.
_DROPPED = frozenset("'\u2018\u2019\u02bc\u02b9`\u00b4.")
_MAPPED = _LATIN | _CYRILLIC | _GREEK


def _greek_parts(ch: str) -> tuple[str, bool, bool]:
    """(base letter, has any mark, has a dialytika) of one uppercase Greek character."""
    decomposed = unicodedata.normalize("NFD", ch)
    return decomposed[0], len(decomposed) > 1, "\u0308" in decomposed


def _greek_digraph(text: str, i: int) -> str | None:
    if i + 1 >= len(text):
        return None
    first, first_marked, _ = _greek_parts(text[i])
    second, _, second_dialytika = _greek_parts(text[i + 1])
    if first_marked or second_dialytika:
        return None
    if first == "Ο" and second == "Υ":
        return "OU"
    if first in "ΑΕΗ" and second == "Υ":
        following = _greek_parts(text[i + 2])[0] if i + 2 < len(text) else ""
        return _GREEK[first] + ("V" if following and following in _GREEK_VOICED_NEXT else "F")
    if first == "Γ" and second in "ΓΞΧ":
        return "N" + _GREEK[second]
    return None


def _is_greek(ch: str) -> bool:
    return "\u0370" <= ch <= "\u03ff" or "\u1f00" <= ch <= "\u1fff"


def _transliterate_char(ch: str, name: str) -> str:
    if ch in _LETTERS:
        return ch
    if ch in _MAPPED:
        return _MAPPED[ch]
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)).upper()
    if base and all(c in _LETTERS for c in base):
        return base
    if base in _MAPPED:
        return _MAPPED[base]
    raise InvalidInput(
        f"cannot transliterate {ch!r} (U+{ord(ch):04X}) in {name!r} to the MRZ alphabet (Doc 9303 Part 3 §6)"
    )


def transliterate(name: str) -> str:
    """Doc 9303 Part 3 §6: a name in Latin, Cyrillic or Greek script as A-Z words separated by one space."""
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).upper())
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace() or ch in _SEPARATORS:
            out.append(" ")
        elif ch in _DROPPED or unicodedata.combining(ch):
            pass
        elif _is_greek(ch) and (digraph := _greek_digraph(text, i)) is not None:
            out.append(digraph)
            i += 1
        else:
            out.append(_transliterate_char(ch, name))
        i += 1
    return " ".join("".join(out).split())


# --------------------------------------------------------------------------------------------------
# Writing


def _join_name(primary: list[str], secondary: list[str]) -> str:
    text = FILLER.join(primary)
    return text + FILLER * 2 + FILLER.join(secondary) if secondary else text


def _name_field(surname: str, given_names: str, width: int) -> str:
    """Doc 9303 Part 3 truncation: cut given names from the end down to their initials, then the surname."""
    primary, secondary = transliterate(surname).split(), transliterate(given_names).split()
    if not primary:
        raise InvalidInput("surname: the primary identifier cannot be empty (Doc 9303 Part 3)")
    excess = len(_join_name(primary, secondary)) - width
    for i in reversed(range(len(secondary))):
        if excess <= 0:
            break
        cut = min(excess, len(secondary[i]) - 1)
        secondary[i] = secondary[i][: len(secondary[i]) - cut]
        excess -= cut
    if excess > 0:
        joined = FILLER.join(primary)
        cut = min(excess, len(joined) - 1)
        primary = [joined[: len(joined) - cut].rstrip(FILLER)]
    # A name still too long after that keeps its initials as far as the field allows.
    return _join_name(primary, secondary)[:width].rstrip(FILLER).ljust(width, FILLER)


def _ascii_upper(field: str, value: str) -> str:
    # str.upper() would turn some non-ASCII letters into ASCII ones (ß -> SS, ı -> I): refuse them first.
    if not value.isascii():
        raise InvalidInput(f"{field}: {value!r} holds characters outside A-Z, 0-9 and '<'")
    return value.strip().upper()


def _document_code(fmt: Format, value: str) -> str:
    code = _ascii_upper("document_type", value).rstrip(FILLER)
    allowed = _DOCUMENT_CODE_FIRST[fmt]
    if not 1 <= len(code) <= 2 or code[0] not in allowed or any(ch not in _LETTERS for ch in code):
        raise InvalidInput(f"document_type: {value!r} is not a {fmt} document code ({'/'.join(allowed)}...)")
    if fmt in ("TD1", "TD2") and code[1:] == "V":
        raise InvalidInput(f"document_type: V may not be the second character of a {fmt} document code")
    return code.ljust(2, FILLER)


def _country(field: str, value: str) -> str:
    code = _ascii_upper(field, value).rstrip(FILLER)
    if not is_icao_code(code):
        raise InvalidInput(f"{field}: {value!r} is not an ICAO Doc 9303 country code")
    return code.ljust(3, FILLER)


def _document_number(value: str) -> str:
    number = _ascii_upper("document_number", value)
    if not number or any(ch not in _DIGITS and ch not in _LETTERS for ch in number):
        raise InvalidInput(f"document_number: {value!r} must be 1 or more characters A-Z, 0-9")
    return number


def _yymmdd(field: str, value: date | None) -> str:
    if value is None:
        return FILLER * 6
    if not isinstance(value, date):
        raise InvalidInput(f"{field}: {value!r} is not a date")
    return value.strftime("%y%m%d")


def _sex(value: str) -> str:
    sex = _ascii_upper("sex", value)
    if sex in ("M", "F"):
        return sex
    if sex in ("X", FILLER, ""):
        return FILLER
    raise InvalidInput(f"sex: {value!r} is not M, F or X")


def _optional(field: str, value: str, width: int) -> str:
    text = _ascii_upper(field, value).replace(" ", FILLER)
    if any(ch not in _MRZ_CHARS for ch in text):
        raise InvalidInput(f"{field}: {value!r} holds characters outside A-Z, 0-9 and '<'")
    if len(text) > width:
        raise InvalidInput(f"{field}: {value!r} does not fit the {width} character(s) free in the field")
    return text


def _number_and_optional(fmt: Format, number: str, optional: str) -> tuple[str, str]:
    """The number field with its check digit, and the optional-data field, applying the long-number rule."""
    width = _OPTIONAL_WIDTH[fmt]
    if len(number) <= 9:
        padded = number.ljust(9, FILLER)
        return padded + check_digit(padded), _optional("optional_data", optional, width).ljust(width, FILLER)
    if fmt not in ("TD1", "TD2"):
        raise InvalidInput(f"document_number: {number!r} is longer than the 9 characters {fmt} allows")
    # Part 5/6: the rest of the number, its check digit and a filler open the optional-data field.
    head = number[9:] + check_digit(number) + FILLER
    if len(head) > width:
        longest = 9 + width - 2
        raise InvalidInput(f"document_number: {number!r} is longer than the {longest} characters of {fmt}")
    tail = _optional("optional_data", optional, width - len(head))
    return number[:9] + FILLER, (head + tail).ljust(width, FILLER)


def _generate(
    fmt: Format,
    *,
    document_type: str,
    issuing_state: str,
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: date | None,
    sex: str,
    expiry_date: date | None,
    optional_data: str,
    optional_data_2: str = "",
) -> str:
    code = _document_code(fmt, document_type)
    state = _country("issuing_state", issuing_state)
    name = _name_field(surname, given_names, _NAME_WIDTH[fmt])
    number, optional = _number_and_optional(fmt, _document_number(document_number), optional_data)
    nat = _country("nationality", nationality)
    birth = _yymmdd("birth_date", birth_date)
    birth += check_digit(birth)
    expiry = _yymmdd("expiry_date", expiry_date)
    expiry += check_digit(expiry)
    sx = _sex(sex)
    if fmt == "TD1":
        optional_2 = _optional("optional_data_2", optional_data_2, _TD1_OPTIONAL_2_WIDTH)
        top = code + state + number + optional
        middle = birth + sx + expiry + nat + optional_2.ljust(_TD1_OPTIONAL_2_WIDTH, FILLER)
        # Part 5: the composite covers upper line 6-30 and middle line 1-7, 9-15, 19-29.
        middle += check_digit(top[5:30] + middle[0:7] + middle[8:15] + middle[18:29])
        return "\n".join((top, middle, name))
    lower = number + nat + birth + sx + expiry + optional
    if fmt == "TD3":
        lower += check_digit(optional)
    if fmt in ("TD2", "TD3"):
        # Part 4 and Part 6: the composite covers number, birth and expiry with their check digits, and the
        # optional data (TD3: with its check digit).
        lower += check_digit(lower[0:10] + lower[13:20] + lower[21:])
    return code + state + name + "\n" + lower


def generate_td1(
    *,
    document_type: str,
    issuing_state: str,
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: date | None,
    sex: str,
    expiry_date: date | None,
    optional_data: str = "",
    optional_data_2: str = "",
) -> str:
    """Doc 9303 Part 5: a TD1 MRZ (3 lines of 30), numbers over 9 characters by the long-number rule."""
    return _generate("TD1", **locals())


def generate_td2(
    *,
    document_type: str,
    issuing_state: str,
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: date | None,
    sex: str,
    expiry_date: date | None,
    optional_data: str = "",
) -> str:
    """Doc 9303 Part 6: a TD2 MRZ (2 lines of 36), numbers over 9 characters by the long-number rule."""
    return _generate("TD2", **locals())


def generate_td3(
    *,
    document_type: str,
    issuing_state: str,
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: date | None,
    sex: str,
    expiry_date: date | None,
    optional_data: str = "",
) -> str:
    """Doc 9303 Part 4: a passport (TD3) MRZ, 2 lines of 44."""
    return _generate("TD3", **locals())


def generate_mrva(
    *,
    document_type: str,
    issuing_state: str,
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: date | None,
    sex: str,
    expiry_date: date | None,
    optional_data: str = "",
) -> str:
    """Doc 9303 Part 7: an MRV-A visa MRZ, 2 lines of 44, no composite check digit."""
    return _generate("MRVA", **locals())


def generate_mrvb(
    *,
    document_type: str,
    issuing_state: str,
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: date | None,
    sex: str,
    expiry_date: date | None,
    optional_data: str = "",
) -> str:
    """Doc 9303 Part 7: an MRV-B visa MRZ, 2 lines of 36, no composite check digit."""
    return _generate("MRVB", **locals())
