"""The `smartborders mrz` contract, run as the installed command."""

from __future__ import annotations

import json

from tests.conftest import run_cli

KEYS = {
    "document_type", "issuing_state", "surname", "given_names", "document_number", "nationality",
    "birth_date", "sex", "expiry_date", "optional_data", "valid", "errors",
}
SPECIMEN = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10\n"


def mrz(stdin: str, *args: str) -> dict:
    proc = run_cli("mrz", *args, stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert KEYS <= set(out)
    return out


def test_icao_specimen_reads_back():
    out = mrz(SPECIMEN, "--today", "2026-11-29")
    assert out["valid"] is True and out["errors"] == []
    assert (out["surname"], out["given_names"]) == ("ERIKSSON", "ANNA MARIA")
    assert (out["document_number"], out["nationality"], out["issuing_state"]) == ("L898902C3", "UTO", "UTO")
    assert (out["birth_date"], out["expiry_date"], out["sex"]) == ("1974-08-12", "2012-04-15", "F")
    assert out["optional_data"] == "ZE184226B" and out["document_type"] == "P"


def test_tampered_birth_date_names_the_field():
    out = mrz(SPECIMEN.replace("7408122F", "7408132F"), "--today", "2026-11-29")
    assert out["valid"] is False
    assert "birth_date" in out["errors"] and "composite" in out["errors"]
    assert out["birth_date"] == "1974-08-13"  # still read, so an officer sees what the zone claims


def test_td1_through_stdin_with_crlf():
    td1 = "I<UTOD231458907<<<<<<<<<<<<<<<\r\n7408122F1204159UTO<<<<<<<<<<<6\r\nERIKSSON<<ANNA<MARIA<<<<<<<<<<\r\n"
    out = mrz(td1)
    assert out["valid"] is True and out["document_number"] == "D23145890"


def test_unreadable_input_exits_non_zero():
    for junk in ("", "hello", "P<UTO\n" * 2, "x" * 44 + "\n" + "y" * 30):
        proc = run_cli("mrz", stdin=junk)
        assert proc.returncode == 2 and proc.stdout == ""
        assert "error:" in proc.stderr


def test_demo_tour_runs():
    proc = run_cli("demo", "--tour")
    assert proc.returncode == 0, proc.stderr
    assert "90/180" in proc.stdout and "OESTERGAARD" in proc.stdout
