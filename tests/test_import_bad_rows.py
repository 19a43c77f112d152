"""A file with bad rows: every bad row is in the error file with its physical line number,
column and reason, and every good row is imported."""

import pytest
from django.core.management import CommandError, call_command

from leadflow.leads.models import Lead, StageChange
from leadflow.transfer.models import ImportJob
from leadflow.transfer.testing import error_rows

HEADER = "email,first_name,last_name,company,source,created_at\n"


def test_bad_rows_are_reported_by_line_and_good_rows_are_imported(world, tmp_path):
    text = (
        HEADER
        + "ann@acme.com,Ann,Lee,Acme,Organic Web,2025-01-02\n"  # 2
        + 'bob@beta.com,Bob,Ray,"Beta, Inc.",Organic Web,2025-01-03\n'  # 3
        + 'cy@gamma.com,Cy,"Oh,Gamma,Organic Web,2025-01-04\n'  # 4: the quote never closes
        + "di@delta.com,Di,Fox,Delta,Organic Web,2025-02-30\n"  # 5: no such day
        + "ed@echo.com,Ed,Po,Echo,Trade Show,2025-01-05\n"  # 6: unknown source
        + "\n"  # 7: blank
        + "ANN@acme.com,Ann,Lee,Acme Corp,Organic Web,2025-01-06\n"  # 8: same person as 2
        + 'fay@fox.com,Fay,"Multi\nLine",Fox,Organic Web,2025-01-07\n'  # 9-10: one record
        + "gus@golf.com,Gus,Ng,Golf,Organic Web,2025-01-08\n"  # 11
    )
    path = tmp_path / "leads.csv"
    path.write_text(text)
    errors = tmp_path / "errors.csv"

    call_command("import", str(path), errors=str(errors), quiet=True, user="marketing")

    bad = [(int(r["line"]), r["column"], r["reason"]) for r in error_rows(errors)]
    assert [(line, column) for line, column, _ in bad] == [
        (4, ""), (5, "created_at"), (6, "source"), (7, ""), (8, "email"),
    ]
    reasons = [reason for _, _, reason in bad]
    assert "quote" in reasons[0]
    assert "'2025-02-30' is not a date" in reasons[1]
    assert "unknown source 'Trade Show'" in reasons[2]
    assert reasons[3] == "blank line"
    assert reasons[4] == "duplicate of line 2"
    assert error_rows(errors)[0]["row"].startswith("cy@gamma.com,Cy,")
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        "ann@acme.com", "bob@beta.com", "fay@fox.com", "gus@golf.com",
    ]
    assert Lead.objects.get(email="fay@fox.com").last_name == "Multi\nLine"
    assert Lead.objects.get(email="bob@beta.com").company == "Beta, Inc."
    assert Lead.objects.get(email="ann@acme.com").company == "Acme"  # the first row won
    job = ImportJob.objects.get()
    assert (job.status, job.rows_done, job.created, job.merged, job.failed) == (
        "done", 9, 4, 0, 5,
    )
    # The create history notes where each lead came from.
    assert StageChange.objects.get(
        lead__email="gus@golf.com", transition="create"
    ).comment == f"import #{job.pk} line 11"


def test_a_duplicate_across_chunks_names_the_earlier_line(world, tmp_path):
    rows = "".join(f"p{i}@x.com,P,{i},Co,Organic Web,2025-01-02\n" for i in range(5))
    path = tmp_path / "leads.csv"
    path.write_text(HEADER + rows + "P3@X.com,P,again,Co,Organic Web,2025-01-02\n")
    errors = tmp_path / "errors.csv"

    call_command("import", str(path), errors=str(errors), quiet=True, chunk_size=2)

    assert [(r["line"], r["reason"]) for r in error_rows(errors)] == [
        ("7", "duplicate of line 5")
    ]
    assert Lead.objects.count() == 5


def test_a_person_already_known_is_merged_not_duplicated(world, tmp_path):
    known = world.lead(email="pat@example.com", title="", phone="")
    path = tmp_path / "leads.csv"
    path.write_text("email,title,phone,source\nPat@Example.com,CTO,+1 555 0100,Trade Show\n")

    call_command(
        "import", str(path), errors=str(tmp_path / "e.csv"), quiet=True, create_sources=True
    )

    known.refresh_from_db()
    assert Lead.objects.count() == 1
    assert (known.title, known.phone, known.source.name) == ("CTO", "+1 555 0100", "Organic Web")
    assert known.version == 2
    assert ImportJob.objects.get().merged == 1


def test_an_unknown_mapping_target_is_refused_naming_it(world, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("E-mail,source\nann@acme.com,Organic Web\n")

    with pytest.raises(CommandError, match="'E-mail' -> 'mail'"):
        call_command("import", str(path), map=["E-mail=mail"], quiet=True)
    assert not ImportJob.objects.exists()


def test_blank_lines_before_the_header_are_skipped_and_lines_still_counted(world, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("\n\n" + HEADER + "ann@acme.com,Ann,Lee,Acme,Organic Web,2025-01-02\n"
                    + "bo@x.com,Bo,Li,X,Organic Web,yesterday\n")
    errors = tmp_path / "errors.csv"

    call_command("import", str(path), errors=str(errors), quiet=True)

    assert [(r["line"], r["column"]) for r in error_rows(errors)] == [("5", "created_at")]
    assert list(Lead.objects.values_list("email", flat=True)) == ["ann@acme.com"]
