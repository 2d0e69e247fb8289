"""A synthetic population of third-country nationals: who they are and what passport they carry.

Everything is columnar numpy, drawn from one seed, so a million travellers take well under a second
(bench/ees_load.py measures it). Strings (names, document numbers, the MRZ) are made only when asked
for, from small name banks: a traveller is a handful of integers.

The people are invented. Names are built from syllables per naming region, not taken from lists of
real persons; dates of birth, document numbers and expiry dates are drawn at random. Any likeness to a
real person is chance.

The nationality mix (`NATIONALITY_WEIGHTS`) is an approximation [I] of who crosses the Schengen
external border, set from public orders of magnitude: UK and US residents make the most trips
(UK ONS Travel Trends, US NTTO outbound statistics); Ukraine and the visa-free Western Balkans cross
often by land; the visa-required shares follow the order of the Schengen visa statistics of DG HOME
for 2023 (Türkiye, China, India, Morocco, Russia, Algeria ... each about 0.5-1 M applications) [M:
figures from memory, not re-read]. About one traveller in five needs a visa. The weights are shares of
individual files, not of crossings.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache

import numpy as np

from smartborders.reference.policy import VisaPolicy, in_ees_scope, visa_policy
from smartborders.travel.mrz import generate_td3

EPOCH = date(1970, 1, 1)
_EPOCH_ORD = EPOCH.toordinal()

# code: (weight, naming region, travel class). Travel class sets how often and how (trips, crossing
# points, trip lengths) in `traffic`: "near" land and short-haul neighbours, "mid" the Mediterranean,
# Middle East and former Soviet space, "far" long-haul.
NATIONALITIES: dict[str, tuple[float, str, str]] = {
    # visa-exempt (Reg. (EU) 2018/1806 Annex II)
    "GBR": (24.0, "anglo", "near"),
    "USA": (14.0, "anglo", "far"),
    "UKR": (6.0, "east_slavic", "near"),
    "SRB": (3.0, "balkan", "near"),
    "CAN": (3.0, "anglo", "far"),
    "AUS": (2.5, "anglo", "far"),
    "ALB": (2.0, "albanian", "near"),
    "JPN": (2.0, "japanese", "far"),
    "KOR": (2.0, "korean", "far"),
    "BRA": (2.0, "iberian", "far"),
    "BIH": (1.5, "balkan", "near"),
    "MDA": (1.5, "romanian", "near"),
    "ISR": (1.5, "hebrew", "mid"),
    "MKD": (1.0, "balkan", "near"),
    "MEX": (1.0, "iberian", "far"),
    "ARG": (1.0, "iberian", "far"),
    "RKS": (0.8, "albanian", "near"),
    "TWN": (0.8, "chinese", "far"),
    "GEO": (0.7, "caucasus", "mid"),
    "ARE": (0.6, "arabic", "mid"),
    "MNE": (0.5, "balkan", "near"),
    "COL": (0.5, "iberian", "far"),
    "SGP": (0.5, "chinese", "far"),
    "MYS": (0.5, "southeast_asian", "far"),
    "NZL": (0.5, "anglo", "far"),
    "CHL": (0.4, "iberian", "far"),
    "HKG": (0.3, "chinese", "far"),
    "PER": (0.3, "iberian", "far"),
    "URY": (0.2, "iberian", "far"),
    # visa required (Annex I)
    "TUR": (4.0, "turkic", "mid"),
    "CHN": (4.0, "chinese", "far"),
    "IND": (3.0, "south_asian", "far"),
    "RUS": (2.0, "east_slavic", "mid"),
    "MAR": (2.0, "arabic", "mid"),
    "DZA": (1.0, "arabic", "mid"),
    "ZAF": (0.8, "african", "far"),
    "BLR": (0.8, "east_slavic", "near"),
    "TUN": (0.6, "arabic", "mid"),
    "EGY": (0.6, "arabic", "mid"),
    "SAU": (0.6, "arabic", "mid"),
    "THA": (0.6, "southeast_asian", "far"),
    "PHL": (0.6, "southeast_asian", "far"),
    "IDN": (0.5, "southeast_asian", "far"),
    "KAZ": (0.5, "turkic", "mid"),
    "NGA": (0.4, "african", "far"),
    "ARM": (0.4, "caucasus", "mid"),
    "AZE": (0.3, "turkic", "mid"),
    "IRN": (0.3, "persian", "mid"),
    "PAK": (0.3, "south_asian", "far"),
    "VNM": (0.3, "southeast_asian", "far"),
    "LBN": (0.2, "arabic", "mid"),
    "JOR": (0.2, "arabic", "mid"),
    "QAT": (0.2, "arabic", "mid"),
    "KWT": (0.2, "arabic", "mid"),
    "GHA": (0.2, "african", "far"),
}
NATIONALITY_CODES: tuple[str, ...] = tuple(NATIONALITIES)
NATIONALITY_WEIGHTS = np.array([w for w, _, _ in NATIONALITIES.values()]) / sum(
    w for w, _, _ in NATIONALITIES.values()
)
VISA_REQUIRED = np.array([visa_policy(c) is VisaPolicy.VISA_REQUIRED for c in NATIONALITY_CODES])
TRAVEL_CLASS = tuple(cls for _, _, cls in NATIONALITIES.values())
# States whose passports may show sex "X" (written '<' in the MRZ, ICAO Doc 9303 Part 4).
_X_STATES = frozenset({"AUS", "CAN", "NZL", "USA", "ARG", "COL"})
X_SHARE = 0.001

# Age at the reference day, by band [I]: leisure travel is adult-heavy; children under 12 give no
# fingerprints (EES Art. 17(3)), so their share is kept visible.
_AGE_BANDS = ((0, 12, 0.07), (12, 18, 0.05), (18, 30, 0.18), (30, 45, 0.28), (45, 60, 0.25),
              (60, 75, 0.14), (75, 90, 0.03))
_SERIAL_SPACE = 10_000_000
_SERIAL_STEP = 7_654_321  # coprime to 10: k -> k * step mod 10^7 is a permutation
SEX_CODES = ("M", "F", "X")


# --------------------------------------------------------------------------------------------------
# Names: syllable banks per naming region, all A-Z (ICAO Doc 9303 Part 3 needs no transliteration).


@dataclass(frozen=True)
class _Region:
    onsets: tuple[str, ...]
    vowels: tuple[str, ...]
    codas: tuple[str, ...]
    surname_syllables: tuple[int, int]
    surname_m: tuple[str, ...]  # endings of a man's surname ("" = none); same index = same family name
    surname_f: tuple[str, ...] | None  # a woman's form where the language has one
    given_syllables: tuple[int, int]
    given_m: tuple[str, ...]
    given_f: tuple[str, ...]
    prefixes: tuple[str, ...] = ("",)
    double_surname: float = 0.0  # share of two-part surnames (Iberian custom)


def _t(text: str) -> tuple[str, ...]:
    return tuple("" if w == "-" else w for w in text.split())


_REGIONS: dict[str, _Region] = {
    "anglo": _Region(_t("B BR C CH D DR F G GR H J K L M N P R S SH ST T TH TR W WH"), _t("A E I O U EA OO AI"),
                     _t("- N R L S T CK LL RD RT ND NT"), (1, 2),
                     _t("- SON TON LEY FORD MAN WELL ER BY WOOD FIELD HAM ING"), None, (1, 2),
                     _t("- N RD TON LAN VIN Y RICK"), _t("A Y IE ENNE ETTE INE ELLA")),
    "iberian": _Region(_t("B C CH D F G J L LL M N P R S T V Z"), _t("A E I O U IA UE"),
                       _t("- - N R S L Z"), (2, 3), _t("EZ ES AS ERA EDO ADA ILLA ANO OSA EIRA INHO"), None, (2, 3),
                       _t("O IO EL AN ANDO ERTO"), _t("A IA ELA INA ANA ITA"), double_surname=0.5),
    "chinese": _Region(_t("B C CH D F G H J K L M N P Q R S SH T W X Y Z ZH"),
                       _t("A AI AN ANG AO E EI EN ENG I IAN IANG IAO IN ING ONG OU U UAN UN UO"),
                       _t("-"), (1, 1), _t("-"), None, (1, 2), _t("-"), _t("-")),
    "japanese": _Region(_t("K S SH T CH TS N H F M Y R W G Z D B"), _t("A I U E O"), _t("- - - N"), (2, 3),
                        _t("MURA TA MOTO KAWA SAKI NO YAMA DA"), None, (1, 2),
                        _t("O SHI TA KI RO TO YA"), _t("KO MI NA E KA RI YO")),
    "korean": _Region(_t("K N D R M B S J CH H Y G P"), _t("A EO O U EU I AE E YEO YU"), _t("- N NG M K L"),
                      (1, 1), _t("-"), None, (2, 2), _t("-"), _t("-")),
    "south_asian": _Region(_t("B BH CH D DH G J K KH M N P R S SH T V Y"), _t("A AA I EE U O E"),
                           _t("- N R L SH T"), (2, 2), _t("AN AR ESH ANI WAL ARI ETTY ANDA"), None, (2, 3),
                           _t("ESH AN IT EEV AJ"), _t("A I ITA ALI ANA")),
    "turkic": _Region(_t("B C CH D G H K M N R S SH T Y Z"), _t("A E I O U"), _t("- R N L K Z Y"), (2, 2),
                      _t("OGLU LI CI ER KAN TAN OV EV"), _t("OGLU LI CI ER KAN TAN OVA EVA"), (2, 2),
                      _t("AN ER UK EM AY"), _t("E A ER ANUR IYE")),
    "east_slavic": _Region(_t("B V G D Z K L M N P R S T F KH CH SH"), _t("A E I O U Y"), _t("- - N R L K"),
                           (2, 2), _t("OV EV IN ENKO UK SKYI CHUK"), _t("OVA EVA INA ENKO UK SKA CHUK"), (2, 3),
                           _t("IY AN OR ISLAV ODYMYR"), _t("A IA ANA INA ENA")),
    "balkan": _Region(_t("B V G D Z J K L M N P R S T C DJ"), _t("A E I O U"), _t("- - N R L"), (2, 2),
                      _t("IC OVIC EVIC SKI"), _t("IC OVIC EVIC SKA"), (2, 2), _t("AN OR IJA O ISLAV"),
                      _t("A ANA IJA ENA ICA")),
    "albanian": _Region(_t("B D DH G GJ K L M N P R SH T V XH Z"), _t("A E I O U"), _t("- - R N M"), (2, 3),
                        _t("AJ I ATI OLLI"), None, (2, 2), _t("ON AR IM EN"), _t("A JA ONA ETA")),
    "romanian": _Region(_t("B C D F G L M N P R S T V"), _t("A E I O U"), _t("- - N R L"), (2, 2),
                        _t("ESCU EANU ARU ANU"), None, (2, 3), _t("EL AN IN ORE"), _t("A ELA INA ICA")),
    "caucasus": _Region(_t("B G D K L M N P R S T V Z KH SH"), _t("A E I O U"), _t("- - R N"), (2, 2),
                        _t("SHVILI DZE YAN IAN"), None, (2, 2), _t("I ARI EN O"), _t("A ANA INE")),
    "arabic": _Region(_t("B D F H J K KH L M N R S SH T Y Z"), _t("A I U AA EE OU"), _t("- M D R L N"), (2, 2),
                      _t("- I ANI AWI"), None, (2, 2), _t("AD IM IR AN"), _t("A IA AH INE"),
                      prefixes=_t("- - EL AL BEN ABU")),
    "persian": _Region(_t("B D F G H J K KH M N P R S SH T Z"), _t("A E I O OO"), _t("- R N D"), (2, 2),
                       _t("I ZADEH POUR NIA IAN"), None, (2, 2), _t("AD AN EH IR"), _t("A EH IN ANEH")),
    "hebrew": _Region(_t("B D G H K L M N R S SH T Y Z"), _t("A E I O"), _t("- L N R V"), (2, 2),
                      _t("MAN OV I ER EL"), None, (2, 2), _t("AN EL ON I"), _t("A IT AL ELLE")),
    "african": _Region(_t("B D F G K KW L M N NG NK O A P S T W Y"), _t("A E I O U"), _t("- - N M"), (2, 3),
                       _t("- WU LE DE ENI KE"), None, (2, 3), _t("O E UDE AKU"), _t("A E ATA INE")),
    "southeast_asian": _Region(_t("B D G H K L M N NG P R S T W Y"), _t("A E I O U AI"), _t("- N NG T K"),
                               (2, 3), _t("- WONG SARI TO NA"), None, (2, 3), _t("- AN IT O"), _t("A I ITA ANI")),
}
REGIONS: tuple[str, ...] = tuple(_REGIONS)
_SURNAMES_PER_REGION = 2048
_GIVEN_PER_REGION = 512
_MAX_NAME = 24


def _words(rng: np.random.Generator, r: _Region, syllables: tuple[int, int], n: int) -> list[str]:
    """`n` words of onset-vowel syllables and a closing consonant, drawn at once."""
    lo, hi = syllables
    count = rng.integers(lo, hi + 1, size=n)
    onset = np.array(r.onsets, dtype=object)[rng.integers(len(r.onsets), size=(n, hi))]
    vowel = np.array(r.vowels, dtype=object)[rng.integers(len(r.vowels), size=(n, hi))]
    syll = onset + vowel
    syll[np.arange(hi)[None, :] >= count[:, None]] = ""
    coda = np.array(r.codas, dtype=object)[rng.integers(len(r.codas), size=n)]
    return ["".join(row) + c for row, c in zip(syll.tolist(), coda.tolist())]


def _pick_from(rng: np.random.Generator, options: tuple[str, ...], n: int) -> list[str]:
    return np.array(options, dtype=object)[rng.integers(len(options), size=n)].tolist()


def _unique(candidates: list[tuple[str, ...]], size: int) -> list[tuple[str, ...]]:
    """The first `size` candidates with distinct first elements; regions with few possible names (one-
    syllable Chinese and Korean surnames) repeat names to fill the bank, as real surnames there do."""
    out = list({c[0]: c for c in candidates}.values())[:size]
    i = 0
    while len(out) < size:
        out.append(out[i % len(out)])
        i += 1
    return out


def _region_bank(name: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """Surnames (male form, female form) and given names (male, female) of one region."""
    r = _REGIONS[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # fixed: banks do not depend on the seed
    m = 4 * _SURNAMES_PER_REGION
    k = rng.integers(len(r.surname_m), size=m)
    stem = _words(rng, r, r.surname_syllables, m)
    prefix = [p + " " if p else "" for p in _pick_from(rng, r.prefixes, m)]
    double = (rng.random(m) < r.double_surname).tolist()
    extra = [w + e for w, e in zip(_words(rng, r, r.surname_syllables, m), _pick_from(rng, r.surname_m, m))]
    female = r.surname_f or r.surname_m
    sur = []
    for i in range(m):
        tail = " " + extra[i] if double[i] else ""
        male_form = prefix[i] + stem[i] + r.surname_m[k[i]] + tail
        female_form = prefix[i] + stem[i] + female[k[i]] + tail
        if max(len(male_form), len(female_form)) <= _MAX_NAME:
            sur.append((male_form, female_form))
    sur = _unique(sur, _SURNAMES_PER_REGION)
    given = []
    for endings in (r.given_m, r.given_f):
        m = 4 * _GIVEN_PER_REGION
        cand = [(w + e,) for w, e in zip(_words(rng, r, r.given_syllables, m), _pick_from(rng, endings, m))]
        given.append([g[0] for g in _unique([c for c in cand if 2 <= len(c[0]) <= 14], _GIVEN_PER_REGION)])
    return [a for a, _ in sur], [b for _, b in sur], given[0], given[1]


@lru_cache(maxsize=1)
def name_banks() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All regions' banks joined: surnames (male, female form) and given names (male, female).
    Region r owns surnames [r * 2048, (r + 1) * 2048) and given names [r * 512, (r + 1) * 512)."""
    parts = [_region_bank(name) for name in REGIONS]
    return tuple(np.array([n for p in parts for n in p[i]]) for i in range(4))  # type: ignore[return-value]


_REGION_OF = np.array([REGIONS.index(region) for _, region, _ in NATIONALITIES.values()], dtype=np.int16)


# --------------------------------------------------------------------------------------------------


def day_number(d: date) -> int:
    """Days since 1970-01-01, the unit of every date array here (numpy datetime64[D] uses the same)."""
    return d.toordinal() - _EPOCH_ORD


def from_day_number(n: int) -> date:
    return date.fromordinal(int(n) + _EPOCH_ORD)


@dataclass(frozen=True, eq=False)
class Population:
    """Travellers as columns; traveller i is row i of every array. Dates are day numbers (`day_number`)."""

    seed: int
    on: date  # the reference day: ages and passport validity are drawn for it
    nationality: np.ndarray  # uint8 index into NATIONALITY_CODES (also the passport's issuing state)
    sex: np.ndarray  # uint8 index into SEX_CODES
    birth: np.ndarray  # int32 day number
    surname: np.ndarray  # int32 index into the surname banks
    given: np.ndarray  # int32 index into the given-name banks
    given2: np.ndarray  # int32 second given name, -1 for none
    serial: np.ndarray  # int32, 7 digits of the passport number, unique per issuing state
    expiry: np.ndarray  # int32 day number: the passport's date of expiry
    series: str  # two letters opening every passport number of this population (from the seed)

    def __len__(self) -> int:
        return int(self.nationality.size)

    # ---- columns as strings (vectorised) ---------------------------------------------------------

    @cached_property
    def codes(self) -> np.ndarray:
        """Nationality codes (ICAO 9303 / ISO 3166 alpha-3) per traveller."""
        return np.array(NATIONALITY_CODES)[self.nationality]

    @cached_property
    def visa_required(self) -> np.ndarray:
        return VISA_REQUIRED[self.nationality]

    def surnames(self, idx: np.ndarray | slice = slice(None)) -> np.ndarray:
        sur_m, sur_f, _, _ = name_banks()
        s = self.surname[idx]
        return np.where(self.sex[idx] == 1, sur_f[s], sur_m[s])

    def given_names(self, idx: np.ndarray | slice = slice(None)) -> np.ndarray:
        _, _, giv_m, giv_f = name_banks()
        female = self.sex[idx] == 1
        first = np.where(female, giv_f[self.given[idx]], giv_m[self.given[idx]])
        g2 = self.given2[idx]
        second = np.where(female, giv_f[np.maximum(g2, 0)], giv_m[np.maximum(g2, 0)])
        return np.where(g2 >= 0, np.char.add(np.char.add(first, " "), second), first)

    def document_numbers(self, idx: np.ndarray | slice = slice(None)) -> list[str]:
        series = self.series
        return [f"{series}{n:07d}" for n in self.serial[idx].tolist()]

    # ---- one traveller ---------------------------------------------------------------------------

    def identity(self, i: int):  # -> ees.schemas.IdentityIn (imported lazily: ees imports pydantic models)
        from smartborders.ees.schemas import IdentityIn

        return IdentityIn(surname=str(self.surnames([i])[0]), given_names=str(self.given_names([i])[0]),
                          birth_date=from_day_number(self.birth[i]), sex=SEX_CODES[self.sex[i]],
                          nationality=NATIONALITY_CODES[self.nationality[i]])

    def document(self, i: int):  # -> ees.schemas.DocumentIn
        from smartborders.ees.schemas import DocumentIn

        return DocumentIn(document_type="P", number=self.document_numbers([i])[0],
                          issuing_state=NATIONALITY_CODES[self.nationality[i]],
                          expiry_date=from_day_number(self.expiry[i]))

    def mrz(self, i: int) -> str:
        """The passport's TD3 machine-readable zone (ICAO Doc 9303 Part 4), made on demand."""
        code = NATIONALITY_CODES[self.nationality[i]]
        return generate_td3(
            document_type="P", issuing_state=code, surname=str(self.surnames([i])[0]),
            given_names=str(self.given_names([i])[0]), document_number=self.document_numbers([i])[0],
            nationality=code, birth_date=from_day_number(self.birth[i]), sex=SEX_CODES[self.sex[i]],
            expiry_date=from_day_number(self.expiry[i]),
        )


def series_for(seed: int) -> str:
    """Two letters from the seed: populations of different seeds (mod 676) never share a number."""
    k = seed % 676
    return chr(65 + k // 26) + chr(65 + k % 26)


def generate_population(n: int, *, seed: int, on: date) -> Population:
    """`n` travellers with nationality, sex, date of birth, names and a passport valid after `on`."""
    if n < 0:
        raise ValueError("the number of travellers cannot be negative")
    rng = np.random.default_rng([seed, 0x5EED])
    k = len(NATIONALITY_CODES)
    nat = rng.choice(k, size=n, p=NATIONALITY_WEIGHTS).astype(np.uint8)

    sex = (rng.random(n) < 0.48).astype(np.uint8)  # [I] slightly more men: business travel
    x_ok = np.isin(nat, [NATIONALITY_CODES.index(c) for c in _X_STATES])
    sex[x_ok & (rng.random(n) < X_SHARE)] = 2

    lo, hi, w = (np.array(col) for col in zip(*_AGE_BANDS))
    band = rng.choice(lo.size, size=n, p=w / w.sum())
    age_days = ((lo[band] + rng.random(n) * (hi[band] - lo[band])) * 365.25).astype(np.int32)
    ref = day_number(on)
    birth = (ref - age_days).astype(np.int32)

    region = _REGION_OF[nat].astype(np.int32)
    surname = region * _SURNAMES_PER_REGION + rng.integers(0, _SURNAMES_PER_REGION, n, dtype=np.int32)
    given = region * _GIVEN_PER_REGION + rng.integers(0, _GIVEN_PER_REGION, n, dtype=np.int32)
    given2 = region * _GIVEN_PER_REGION + rng.integers(0, _GIVEN_PER_REGION, n, dtype=np.int32)
    given2[rng.random(n) >= 0.3] = -1
    given2[given2 == given] = -1

    # Passport numbers: the k-th holder of a state's passports gets (k * step + offset) mod 10^7.
    order = np.argsort(nat, kind="stable")
    counts = np.bincount(nat, minlength=k)
    if counts.max(initial=0) > _SERIAL_SPACE:
        raise ValueError(f"at most {_SERIAL_SPACE:,} travellers of one nationality per population")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64) - np.repeat(starts, counts)
    offset = rng.integers(0, _SERIAL_SPACE, size=k, dtype=np.int64)
    serial = ((rank * _SERIAL_STEP + offset[nat]) % _SERIAL_SPACE).astype(np.int32)

    # [I] 10-year passports for adults, 5-year for minors; every one is valid after `on`, so a
    # traveller of the period never shows an expired document (no renewals are simulated).
    validity = np.where(age_days >= 18 * 365, 3652, 1826)
    expiry = (ref + 1 + (rng.random(n) * validity).astype(np.int32)).astype(np.int32)

    return Population(seed=seed, on=on, nationality=nat, sex=sex, birth=birth, surname=surname, given=given,
                      given2=given2, serial=serial, expiry=expiry, series=series_for(seed))


def _check_scope() -> None:
    outside = [c for c in NATIONALITY_CODES if not in_ees_scope(c)]
    if outside:  # pragma: no cover - a data error, caught at import
        raise AssertionError(f"nationalities outside the EES scope: {outside}")


_check_scope()
