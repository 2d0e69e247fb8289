"""EES Art. 34: how long entry/exit records, refusal records and individual files are kept.

Pure functions over dates: no database, no clock. `ees.purge` turns the same functions into
SQL cut-offs (`Cutoffs`), and the tests check the SQL against `erasure_plan` row by row.

Counting periods [I, following Regulation (EEC, Euratom) No 1182/71 on periods, dates and time
limits]: a period of N years "following" day X starts the day after X (its Art. 3(1), second
subparagraph) and ends at the end of the day of the last year that has X's date (Art. 3(2)(c)); where
that date does not exist there (29 February), the period ends at the end of the month, on 28
February. The data are kept through that day (`kept_until`) and are due for erasure from the next
day on: the *erasure date* of this module is the first day on which the data must no longer be
held, and a purge on day D erases everything whose erasure date is on or before D.

    exit on 10 May 2026       -> record kept through 10 May 2029, erased from 11 May 2029 (34(1))
    exit on 29 February 2028  -> record kept through 28 February 2031, erased from 1 March 2031
    last exit on 10 May 2026  -> file kept through 11 May 2029 ("3 years and 1 day"), erased from 12 May

Interpretations [I], each chosen so that the date of a file can be computed at any time from the rows
it still holds (the tables store no "last activity" of a file), which makes a daily purge, a
weekly purge and a purge after a year of downtime erase exactly the same data:

- 34(2) keeps the file "together with the linked records" one day longer than 34(1) keeps a record:
  the records and refusals dated on the file's last exit or refusal day stay with the file and go
  with it, unless an open record not yet due keeps the file alive anyway (then 34(1) applies to
  them as to any older record).
- An Art. 2(1)(b) family member's record may be kept at most one year after exit (34(4)); its
  exit does not extend the file under 34(2), else the file would outlive, by two years, the only
  records that it exists to link. A family member's file therefore goes with its last record.
- A file with an open record (no exit) is kept at least as long as that record (34(3) or 34(4));
  an entry after the last exit or refusal is always such a record or has a later exit, so "no new
  entry record within those three years" needs no test of its own.
- A record without an authorised stay (the calculator did not apply, Art. 11(1)) and without exit
  is kept 5 years from its entry, as 34(4) says for family members, the only such travellers.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

DAY = timedelta(days=1)

RECORD_YEARS = 3  # 34(1)
OVERSTAY_YEARS = 5  # 34(3)
FAMILY_EXIT_YEARS = 1  # 34(4)
FAMILY_ENTRY_YEARS = 5  # 34(4)
NOTICE_MONTHS = 3  # 34(3), second sentence
LOG_YEARS = 1  # Art. 46(4)


class Rule(StrEnum):
    """The paragraph of Art. 34 under which a row is erased."""

    EXIT = "34(1)"  # a record 3 years after its exit, a refusal 3 years after its date
    FILE = "34(2)"  # the file with all it holds: 3 years and 1 day after the last exit or refusal, or later
    OVERSTAY = "34(3)"  # no exit: 5 years after the authorised stay ended
    FAMILY_EXIT = "34(4) after exit"  # family member: 1 year after exit
    FAMILY_NO_EXIT = "34(4) without exit"  # family member without exit: 5 years after the entry


@dataclass(frozen=True)
class RecordDates:
    """What Art. 34 needs of one entry/exit record."""

    entry_date: date
    exit_date: date | None = None
    authorised_until: date | None = None
    family_member: bool = False


# ---- calendar ------------------------------------------------------------------------------------


def add_months(d: date, months: int) -> date:
    """The same day `months` later (or earlier, if negative); past the month's end, its last day
    (Reg. 1182/71 Art. 3(2)(c))."""
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def add_years(d: date, years: int) -> date:
    """The same date `years` later; 29 February becomes 28 February in a common year (Reg. 1182/71)."""
    return add_months(d, 12 * years)


def kept_until(start: date, years: int) -> date:
    """Reg. 1182/71 Art. 3: the last day of a period of `years` years following `start`."""
    return add_years(start, years)


# ---- one record, one refusal ---------------------------------------------------------------------


def record_rule(r: RecordDates) -> Rule:
    """EES Art. 34(1), (3), (4): the paragraph that dates this record."""
    if r.exit_date is not None:
        return Rule.FAMILY_EXIT if r.family_member else Rule.EXIT
    if r.family_member or r.authorised_until is None:
        return Rule.FAMILY_NO_EXIT
    return Rule.OVERSTAY


def record_erasure_date(r: RecordDates) -> date:
    """EES Art. 34(1), (3), (4): the first day on which the record must be erased by its own paragraph.

    For a record without exit this is the scheduled date: an exit recorded later replaces it."""
    rule = record_rule(r)
    if rule is Rule.EXIT:
        assert r.exit_date is not None
        return kept_until(r.exit_date, RECORD_YEARS) + DAY
    if rule is Rule.FAMILY_EXIT:
        assert r.exit_date is not None
        return kept_until(r.exit_date, FAMILY_EXIT_YEARS) + DAY
    if rule is Rule.OVERSTAY:
        assert r.authorised_until is not None
        return kept_until(r.authorised_until, OVERSTAY_YEARS) + DAY
    return kept_until(r.entry_date, FAMILY_ENTRY_YEARS) + DAY


def refusal_erasure_date(refusal_date: date) -> date:
    """EES Art. 34(1): a refusal record is erased 3 years after its date."""
    return kept_until(refusal_date, RECORD_YEARS) + DAY


def overstayer_notice_date(authorised_until: date) -> date:
    """EES Art. 34(3): the Member States are told 3 months before an overstayer's data are erased.

    [I] Three months before the erasure date, on the same day of the month or the month's last day."""
    return add_months(kept_until(authorised_until, OVERSTAY_YEARS) + DAY, -NOTICE_MONTHS)


def log_erasure_date(data_erasure_date: date) -> date:
    """EES Art. 46(4): logs are erased 1 year after the Art. 34 retention period of their data ends.

    The period ends with the day before `data_erasure_date`; the log is kept one year past it."""
    return kept_until(data_erasure_date - DAY, LOG_YEARS) + DAY


# ---- a whole file --------------------------------------------------------------------------------


def last_exit_or_refusal(records: Sequence[RecordDates], refusals: Sequence[date]) -> date | None:
    """EES Art. 34(2): the date a file's retention runs from (family members' exits excepted: module doc)."""
    dates = [r.exit_date for r in records if r.exit_date is not None and not r.family_member]
    dates.extend(refusals)
    return max(dates, default=None)


def file_erasure_date_after(last: date) -> date:
    """EES Art. 34(2): a file is kept 3 years and 1 day after its last exit or refusal, then erased."""
    return kept_until(last, RECORD_YEARS) + DAY + DAY


def file_erasure_date(records: Sequence[RecordDates], refusals: Sequence[date]) -> date | None:
    """EES Art. 34(2): the first day on which the file is erased with everything it still holds.

    3 years and 1 day after the last exit or refusal, and never before any of its records or refusals
    is due by its own paragraph (an open record keeps the file). None for a file that holds nothing:
    the use cases never make one, and the purge never leaves one (see `erasure_plan`)."""
    own = [record_erasure_date(r) for r in records] + [refusal_erasure_date(d) for d in refusals]
    if not own:
        return None
    last = last_exit_or_refusal(records, refusals)
    if last is not None:
        own.append(file_erasure_date_after(last))
    return max(own)


@dataclass(frozen=True)
class Plan:
    """What a purge on one day erases of one file: the rule for each row, None where it is kept."""

    file: bool
    records: tuple[Rule | None, ...]
    refusals: tuple[Rule | None, ...]


def erasure_plan(records: Sequence[RecordDates], refusals: Sequence[date], as_of: date) -> Plan:
    """EES Art. 34(1)-(4): which of a file's rows a purge on `as_of` erases, and under which paragraph."""
    f = file_erasure_date(records, refusals)
    if f is not None and f <= as_of:
        return Plan(True, (Rule.FILE,) * len(records), (Rule.FILE,) * len(refusals))
    last = last_exit_or_refusal(records, refusals)
    # 34(2): the rows of the last day stay with the file, unless an open record keeps the file anyway.
    open_keeps = any(r.exit_date is None and record_erasure_date(r) > as_of for r in records)

    def anchored(day: date) -> bool:
        return day == last and not open_keeps

    recs: list[Rule | None] = []
    for r in records:
        rule = record_rule(r)
        due = record_erasure_date(r) <= as_of
        if rule is Rule.EXIT and r.exit_date is not None and anchored(r.exit_date):
            due = False
        recs.append(rule if due else None)
    refs = tuple(Rule.EXIT if refusal_erasure_date(d) <= as_of and not anchored(d) else None
                 for d in refusals)
    return Plan(False, tuple(recs), refs)


# ---- cut-offs for set-based purges ---------------------------------------------------------------


def latest_due(erasure: Callable[[date], date], as_of: date) -> date:
    """The latest start date whose erasure date is on or before `as_of`: a row is due iff its date is
    on or before this. `erasure` must be non-decreasing with erasure(d) > d (all of this module's are)."""
    lo = as_of - DAY
    step = 400
    while erasure(lo) > as_of:
        lo -= timedelta(days=step)
        step *= 2
    hi = as_of  # erasure(hi) > as_of since every erasure date lies after its start
    while (hi - lo).days > 1:
        mid = lo + timedelta(days=(hi - lo).days // 2)
        if erasure(mid) <= as_of:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass(frozen=True)
class Cutoffs:
    """For one purge day: the latest date of each kind that is due (`date <= cutoff` selects the due rows)."""

    as_of: date
    exit: date  # 34(1): exit date of a record, date of a refusal
    file_last: date  # 34(2): last exit or refusal of a file
    overstay_until: date  # 34(3): authorised_until of a record without exit
    family_exit: date  # 34(4): exit date of a family member's record
    family_entry: date  # 34(4): entry date of a family member's record without exit
    notice_until: date  # 34(3): authorised_until whose notice date has come

    @classmethod
    def on(cls, as_of: date) -> Cutoffs:
        return cls(
            as_of=as_of,
            exit=latest_due(refusal_erasure_date, as_of),
            file_last=latest_due(file_erasure_date_after, as_of),
            overstay_until=latest_due(lambda d: record_erasure_date(RecordDates(d, None, d)), as_of),
            family_exit=latest_due(lambda d: record_erasure_date(RecordDates(d, d, None, True)), as_of),
            family_entry=latest_due(lambda d: record_erasure_date(RecordDates(d, None, None, True)), as_of),
            notice_until=latest_due(overstayer_notice_date, as_of),
        )
