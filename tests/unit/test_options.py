from __future__ import annotations

from typing import Any

import pytest

from app.errors import InvalidParameter
from app.options import run_options


def options(
    body: dict[str, Any], *, is_report: bool = True, is_job: bool = True
) -> Any:
    return run_options(body, is_report=is_report, is_job=is_job)


@pytest.mark.parametrize(
    ("given", "report_type"),
    [
        ("PDF", "PDF"),
        ("html", "HTML"),
        ("Csv", "CSV"),
        ("XLS", "XLSX"),
        ("xlsx", "XLSX"),
    ],
)
def test_report_type_is_case_insensitive_and_xls_gives_xlsx(
    given: str, report_type: str
) -> None:
    assert options({"report-type": given}).report_type == report_type


def test_report_type_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="report-type"):
        options({"report-type": "DOCX"})


def test_report_options_of_a_process_that_is_no_report_are_ignored() -> None:
    chosen = options({"report-type": "DOCX", "is-summary": "maybe"}, is_report=False)
    assert chosen.report_type is None
    assert chosen.is_summary is False


@pytest.mark.parametrize(
    ("given", "kind"), [(None, "B"), ("E", "E"), ("n", "N"), ("X", "X")]
)
def test_notification_type_defaults_to_both_and_accepts_none(
    given: str | None, kind: str
) -> None:
    assert options({"notification-type": given}).notification_type == kind


@pytest.mark.parametrize("given", ["Z", "", " ", " E ", "b\n", 1, True])
def test_notification_type_outside_e_n_b_x_is_refused(given: object) -> None:
    with pytest.raises(InvalidParameter, match=r"notification-type.*E, N, B or X"):
        options({"notification-type": given})


def test_notification_type_left_out_is_both() -> None:
    assert options({}).notification_type == "B"


def test_notification_type_is_only_read_for_jobs() -> None:
    assert options({"notification-type": "Z"}, is_job=False).notification_type is None


@pytest.mark.parametrize(
    ("given", "record_id"), [(117, 117), ("117", 117), (0, 0), (-5, 0)]
)
def test_record_id_takes_numbers_and_numeric_text(
    given: object, record_id: int
) -> None:
    assert options({"record-id": given}).record_id == record_id


@pytest.mark.parametrize("given", ["abc", 1.5, True, {"id": 1}, "99999999999"])
def test_record_id_that_is_not_an_integer_id_is_refused(given: object) -> None:
    with pytest.raises(InvalidParameter, match="record-id"):
        options({"record-id": given})


def test_table_options_only_count_with_a_record() -> None:
    assert options({"table-id": 259}).table_id is None
    with_record = options({"record-id": 1, "model-name": "c_order"})
    assert with_record.model_name == "c_order"


@pytest.mark.parametrize("given", ["123", 123, "5577f73c-1234-4abc-8def-0123456789ab"])
def test_print_format_id_takes_an_id_or_a_uuid(given: object) -> None:
    assert options({"print-format-id": given}).print_format == str(given)


def test_print_format_id_that_is_neither_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="print-format-id"):
        options({"print-format-id": "xyz"})


@pytest.mark.parametrize(
    ("given", "summary"),
    [
        (True, True),
        ("true", True),
        (" TRUE ", True),
        (False, False),
        ("yes", False),
        ("Y", False),
        (1, False),
        (None, False),
    ],
)
def test_is_summary_reads_as_the_original_does(given: object, summary: bool) -> None:
    # JSON true or the text "true"; any other value is false (reference §4).
    assert options({"is-summary": given}, is_report=True).is_summary is summary


def test_is_summary_that_is_not_a_value_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="is-summary"):
        options({"is-summary": {"a": 1}}, is_report=True)


@pytest.mark.parametrize("given", [0, "0", -3])
def test_print_format_id_of_zero_or_less_asks_for_the_default(given: object) -> None:
    assert options({"print-format-id": given}).print_format is None
