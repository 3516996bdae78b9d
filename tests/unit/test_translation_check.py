"""The import's check, as the API runs it before storing anything: every fault of
the file itself is an InvalidParameter naming FileName, whatever bytes are sent,
and only the files the run would import are read past their root."""

from __future__ import annotations

import codecs
import io
import random
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from app.errors import InvalidParameter
from processes.context import Upload
from processes.translation.importer import check_import
from processes.translation.trlfile import TrlRow, TrlValue, trl_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "translation"
PROCESS_UU = "9b654152-331f-4ac7-9c61-06b1d1bc3edf"
AD_PROCESS_TRL = 287
AD_REF_LIST_TRL = 136

HEAD = b'<idempiereTrl language="es_CO" table="AD_Process">\n'


def zipped(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def check(name: str, content: bytes, **values: Any) -> None:
    check_import(
        {
            "ImportOrExport": "import",
            "AD_Language": "es_CO",
            "FileName": Upload.from_bytes(name, content),
            **values,
        }
    )


def refusal(name: str, content: bytes, **values: Any) -> str:
    with pytest.raises(InvalidParameter) as raised:
        check(name, content, **values)
    return raised.value.detail


def rows(*body: bytes) -> bytes:
    return HEAD + b"".join(body) + b"\n</idempiereTrl>"


VALID = rows(b' <row id="200126" trl="Y"><value column="Name">Nombre</value></row>')


# --- every fault of the file, found before anything is stored -----------------------

FAULTS = [
    (VALID[: VALID.index(b"\n</idempiereTrl>")], "no element found"),
    (VALID.replace(b"Nombre", b"N\xc3\x28mbre"), "not well-formed"),
    (VALID.replace(b"Nombre", b"&#0;"), "reference to invalid character number"),
    (VALID.replace(b"Nombre", b"<b>x</b>"), "unexpected element <b> in <value>"),
    (VALID.replace(b'id="200126" ', b""), "neither a uuid nor an id"),
    (
        VALID.replace(b">Nombre</value>", b"/>"),
        "line 2: the AD_Process row id=200126 gives an empty Name, which a "
        "AD_Process_Trl row must have",
    ),
    (
        b'<?xml version="1.0" encoding="EBCDIC-FOO"?>' + VALID,
        "declares the encoding EBCDIC-FOO",
    ),
    (
        VALID.replace(b"Nombre", b"x" * 70_000),
        "line 2: the AD_Process row id=200126, column Name: the text is longer "
        "than 65536 characters",
    ),
    (
        rows(b'<row id="1">' + b'<value column="Help"/>' * 65 + b"</row>"),
        "the AD_Process row id=1 has more than 64 <value> elements",
    ),
    (rows(b"<row" + b" " * (2 * 1024 * 1024) + b'id="1"/>'), "longer than 1048576"),
]


@pytest.mark.parametrize(("content", "naming"), FAULTS)
def test_a_fault_of_a_single_file_is_refused_naming_it(
    content: bytes, naming: str
) -> None:
    detail = refusal("AD_Process_Trl_es_CO.xml", content)

    assert detail.startswith(
        "Invalid value for parameter FileName: AD_Process_Trl_es_CO.xml: "
    )
    assert naming in detail


@pytest.mark.parametrize(("content", "naming"), FAULTS)
def test_a_fault_of_a_file_in_a_zip_is_refused_naming_the_entry(
    content: bytes, naming: str
) -> None:
    files = {
        "es_CO/AD_Ref_List_Trl_es_CO.xml": (
            FIXTURES / "es_CO" / "AD_Ref_List_Trl_es_CO.xml"
        ).read_bytes(),
        "es_CO/AD_Process_Trl_es_CO.xml": content,
    }

    detail = refusal("pack.zip", zipped(files))

    assert detail.startswith(
        "Invalid value for parameter FileName: pack.zip: "
        "es_CO/AD_Process_Trl_es_CO.xml: "
    )
    assert naming in detail


def test_every_fixture_pack_passes() -> None:
    pack = {
        f"es_CO/{path.name}": path.read_bytes()
        for path in sorted((FIXTURES / "es_CO").iterdir())
    }

    check("es_CO.zip", zipped(pack))
    check(
        "legacy.zip",
        zipped({p.name: p.read_bytes() for p in (FIXTURES / "legacy").iterdir()}),
    )


def test_a_procserv_export_passes() -> None:
    row = TrlRow(PROCESS_UU, True, [TrlValue("Name", "a <b> & c\r\n", "x")])
    document = trl_file(language="es_CO", table="AD_Process", product="p", rows=[row])

    check("AD_Process_Trl_es_CO.xml", document)


# --- only what the run imports is read ----------------------------------------------


def test_files_of_tables_procserv_lacks_are_not_read_past_their_root() -> None:
    files = {
        "AD_Message_Trl_es_CO.xml": b'<idempiereTrl language="es_CO" '
        b'table="AD_Message"><broken',
        "AD_Process_Trl_es_CO.xml": VALID,
    }

    check("pack.zip", zipped(files))


def test_a_second_file_for_a_table_is_not_read_past_its_root() -> None:
    files = {"A_es_CO.xml": VALID, "B_es_CO.xml": HEAD + b"<broken"}

    check("pack.zip", zipped(files))


def test_with_ad_table_id_only_that_tables_file_is_read() -> None:
    files = {
        "AD_Ref_List_Trl_es_CO.xml": b'<idempiereTrl language="es_CO" '
        b'table="AD_Ref_List"><broken',
        "AD_Process_Trl_es_CO.xml": VALID,
    }

    check("pack.zip", zipped(files), AD_Table_ID=AD_PROCESS_TRL)
    detail = refusal("pack.zip", zipped(files), AD_Table_ID=AD_REF_LIST_TRL)

    assert "AD_Ref_List_Trl_es_CO.xml: line 1" in detail


def test_with_ad_table_id_a_zip_without_that_tables_file_is_refused() -> None:
    detail = refusal(
        "pack.zip",
        zipped({"AD_Process_Trl_es_CO.xml": VALID}),
        AD_Table_ID=AD_REF_LIST_TRL,
    )

    assert detail == (
        "Invalid value for parameter FileName: pack.zip: nothing in it is for "
        "AD_Ref_List_Trl, the table the AD_Table_ID parameter names; it holds "
        "AD_Process"
    )


@pytest.mark.parametrize("table_id", [100, 284, 999_999, "AD_Process_Trl"])
def test_an_ad_table_id_procserv_does_not_import_is_refused(table_id: Any) -> None:
    detail = refusal("AD_Process_Trl_es_CO.xml", VALID, AD_Table_ID=table_id)

    assert detail.startswith("Invalid value for parameter AD_Table_ID: ")
    assert "AD_Process_Para_Trl, AD_Process_Trl, AD_Ref_List_Trl" in detail


# --- whatever bytes are sent, the check answers with a 400 or passes ----------------


def _valid_zip() -> bytes:
    return zipped(
        {
            f"es_CO/{path.name}": path.read_bytes()
            for path in sorted((FIXTURES / "es_CO").iterdir())
        }
    )


def _mutations(seed: int, content: bytes, count: int) -> list[bytes]:
    """Truncations at random places, and random bytes overwritten."""
    rng = random.Random(seed)  # noqa: S311 - a fixed seed, so failures repeat
    found = [content[: rng.randrange(len(content))] for _ in range(count)]
    for _ in range(count):
        data = bytearray(content)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        found.append(bytes(data))
    return found


def _answers_with_a_400_or_passes(name: str, content: bytes) -> None:
    try:
        check(name, content)
    except InvalidParameter as error:
        detail = error.detail
    except Exception as error:  # anything else would be a 500
        pytest.fail(f"{type(error).__name__}: {error} for {content[:80]!r}")
    else:
        return
    assert detail.startswith("Invalid value for parameter FileName: ")


def test_damaged_zips_are_a_400_or_pass() -> None:
    for content in _mutations(1, _valid_zip(), 300):
        _answers_with_a_400_or_passes("pack.zip", content)


def test_damaged_xml_is_a_400_or_passes() -> None:
    document = (FIXTURES / "es_CO" / "AD_Process_Trl_es_CO.xml").read_bytes()
    for content in _mutations(2, document, 300):
        _answers_with_a_400_or_passes("AD_Process_Trl_es_CO.xml", content)


def test_random_bytes_are_a_400() -> None:
    rng = random.Random(3)  # noqa: S311 - a fixed seed, so failures repeat
    for size in (0, 1, 2, 3, 4, 22, 100, 5000):
        for name in ("x.xml", "x.zip"):
            content = bytes(rng.randrange(256) for _ in range(size))
            if size:
                _answers_with_a_400_or_passes(name, content)


@pytest.mark.parametrize(
    "bom",
    [
        codecs.BOM_UTF8,
        codecs.BOM_UTF16_LE,
        codecs.BOM_UTF16_BE,
        codecs.BOM_UTF32_LE,
        b"",
    ],
)
@pytest.mark.parametrize(
    "encoding",
    [
        "UTF-8",
        "UTF-16",
        "ISO-8859-1",
        "US-ASCII",
        "UTF-32",
        "EBCDIC-FOO",
        "rot13",
        "unicode_escape",
        "punycode",
        "idna",
        "undefined",
        "shift_jis",
        "cp037",
        "",
    ],
)
def test_any_declared_encoding_and_bom_is_a_400_or_passes(
    bom: bytes, encoding: str
) -> None:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>'.encode()
    content = bom + declaration + VALID

    _answers_with_a_400_or_passes("AD_Process_Trl_es_CO.xml", content)
    _answers_with_a_400_or_passes(
        "x.zip", zipped({"AD_Process_Trl_es_CO.xml": content})
    )
