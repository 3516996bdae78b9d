"""Reading translation files for the import: every layout of real files, the
older roots, and hostile files refused; picking the files out of a zip."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from processes.context import Upload
from processes.translation.archive import Limits, TrlFiles, translation_files
from processes.translation.trlfile import TrlRow, TrlValue, trl_file
from processes.translation.trlread import (
    HEADER_LIMIT,
    MAX_ROWS,
    MAX_VALUE_CHARS,
    MAX_VALUES_PER_ROW,
    FileRow,
    ReadLimits,
    TrlFileError,
    TrlHeader,
    read_trl_file,
    read_trl_header,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "translation"
LIMITS = Limits(entries=1000, unzipped_bytes=256 * 1024 * 1024)
PROCESS_UU = "9b654152-331f-4ac7-9c61-06b1d1bc3edf"


def read(document: bytes) -> tuple[TrlHeader, list[FileRow]]:
    header, rows = read_trl_file(io.BytesIO(document))
    return header, list(rows)


def fixture(path: str) -> tuple[TrlHeader, list[FileRow]]:
    return read((FIXTURES / path).read_bytes())


def texts(row: FileRow) -> dict[str, str]:
    return dict(row.values)


# --- the layouts of real files ----------------------------------------------------


def test_separate_line_prolog_rows_by_id_and_by_uuid() -> None:
    header, rows = fixture("es_CO/AD_Process_Trl_es_CO.xml")

    assert header == TrlHeader("idempiereTrl", "es_CO", "AD_Process")
    assert [(r.id, r.uuid, r.trl) for r in rows] == [
        ("100", None, "Y"),
        ("101", None, "Y"),
        ("200126", None, "Y"),
        ("1000123", None, "Y"),
        (None, "0f6c1a2e-7d44-4b1f-9a55-3c2e8b9d1f40", "N"),
    ]
    assert [r.line for r in rows] == [5, 10, 17, 24, 29]


def test_text_is_kept_as_written_and_original_is_not_read() -> None:
    _, rows = fixture("es_CO/AD_Process_Trl_es_CO.xml")

    first = texts(rows[0])
    assert first["Name"] == "Hacer Períodos "  # the trailing space stays
    assert first["Help"] == ""  # self-closing although the original is not empty
    assert [column for column, _ in rows[0].values] == ["Name", "Description", "Help"]
    assert texts(rows[1])["Help"] == "(vacío)"


def test_cdata_on_its_own_line_without_xml_space_loses_only_the_layout() -> None:
    _, rows = fixture("es_CO/AD_Process_Trl_es_CO.xml")

    assert texts(rows[1])["Description"] == 'Renumera cuando <Línea> es "10" & más'


def test_one_line_prolog_and_cdata_with_xml_space() -> None:
    header, rows = fixture("es_CO/AD_Ref_List_Trl_es_CO.xml")

    assert header.table == "AD_Ref_List"
    assert texts(rows[0])["Description"] == "Cada semana <7 días>"
    assert rows[2].trl == "N"


def test_single_space_literal_newlines_and_quotes_are_content() -> None:
    _, rows = fixture("es_CO/AD_Message_Trl_es_CO.xml")

    assert texts(rows[0])["MsgText"] == " "
    assert texts(rows[1]) == {
        "MsgText": 'Guardado "{0}"\n¿Continuar?',
        "MsgTip": "Presione <Enter>",
    }


def test_an_empty_root_has_no_rows() -> None:
    header, rows = fixture("es_CO/AD_Table_Trl_es_CO.xml")

    assert header == TrlHeader("idempiereTrl", "es_CO", "AD_Table")
    assert rows == []


@pytest.mark.parametrize(
    ("path", "root"),
    [
        ("legacy/AD_Process_Trl_es_CO.xml", "adempiereTrl"),
        ("legacy/AD_Ref_List_Trl_es_CO.xml", "compiereTrl"),
    ],
)
def test_older_roots_are_read(path: str, root: str) -> None:
    header, rows = fixture(path)

    assert header.root == root
    assert rows[0].id == "200126" or rows[0].id == "200496"


def test_every_fixture_reads_through() -> None:
    for path in sorted(FIXTURES.glob("*/*.xml")):
        header, rows = read(path.read_bytes())

        assert path.name.endswith(f"_{header.language}.xml"), path
        assert all(row.values or header.table == "AD_Table" for row in rows)


def test_procserv_writes_what_it_reads() -> None:
    text = "a <b> & c\r\nd ]]> e "
    rows = [
        TrlRow(
            PROCESS_UU, True, [TrlValue("Name", text, "x"), TrlValue("Help", "", "")]
        ),
        TrlRow(PROCESS_UU, False, [TrlValue("Name", " plain ", None)]),
    ]
    document = trl_file(language="es_CO", table="AD_Process", product="p", rows=rows)

    _, read_rows = read(document)

    assert [(r.uuid, r.trl, texts(r)) for r in read_rows] == [
        (PROCESS_UU, "Y", {"Name": text, "Help": ""}),
        (PROCESS_UU, "N", {"Name": " plain "}),
    ]


def test_rows_are_read_as_they_are_iterated() -> None:
    row = b'<row id="1"><value column="Name" original="">x</value></row>\n'
    document = (
        b'<idempiereTrl language="es_CO" table="AD_Process">\n'
        + row * 20_000
        + b"<broken>"
    )
    header, rows = read_trl_file(io.BytesIO(document))

    assert header.table == "AD_Process"
    assert next(rows).id == "1"
    with pytest.raises(TrlFileError, match="line 20002"):
        list(rows)


def test_the_header_alone_stops_at_the_root() -> None:
    document = b'<idempiereTrl language="es_CO" table="AD_Process"><broken></x>'

    assert read_trl_header(io.BytesIO(document)).language == "es_CO"


# --- files that are refused ----------------------------------------------------------

BILLION_LAUGHS = (
    b'<!DOCTYPE idempiereTrl [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    b'<idempiereTrl language="es_CO" table="AD_Process">&b;</idempiereTrl>'
)
EXTERNAL = (
    b'<!DOCTYPE idempiereTrl [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<idempiereTrl language="es_CO" table="AD_Process">&x;</idempiereTrl>'
)
EXTERNAL_DTD = (
    b'<!DOCTYPE idempiereTrl SYSTEM "http://www.idempiere.com/dtd/idempiereTrl.dtd">'
    b'<idempiereTrl language="es_CO" table="AD_Process"/>'
)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (BILLION_LAUGHS, "declares a DTD"),
        (EXTERNAL, "declares a DTD"),
        (EXTERNAL_DTD, "declares a DTD"),
        (b"<idempiereTrl>&x;</idempiereTrl>", "language and a table"),
        (b'<a language="es_CO" table="AD_Process"/>', "root element is <a>"),
        (b"", "no element found"),
        (b"<idempiereTrl", "unclosed token|no element found"),
        (
            b'<idempiereTrl language="es_CO" table="T"><value column="N"/>'
            b"</idempiereTrl>",
            "line 1: unexpected element <value> in the root",
        ),
        (
            b'<idempiereTrl language="es_CO" table="T">\n<row id="1">\n<value/></row>'
            b"</idempiereTrl>",
            "line 3: a <value> has no column attribute",
        ),
        (
            b'<idempiereTrl language="es_CO" table="T"><row id="1"><value column="N">'
            b"<b>x</b></value></row></idempiereTrl>",
            "unexpected element <b> in <value>",
        ),
        (
            b'<idempiereTrl language="es_CO" table="T">&undefined;</idempiereTrl>',
            "undefined entity",
        ),
        (
            b'<idempiereTrl language="es_CO" table="T">\n<row trl="Y">'
            b'<value column="Name">x</value></row></idempiereTrl>',
            "line 2: a <row> has neither a uuid nor an id",
        ),
        (
            b'<idempiereTrl language="es_CO" table="T"><row id="1">'
            b'<value column="Name">&#0;</value></row></idempiereTrl>',
            "reference to invalid character number",
        ),
        (
            b'<idempiereTrl language="es_CO" table="T"><row id="1">'
            b'<value column="Name">\xc3\x28</value></row></idempiereTrl>',
            "not well-formed",
        ),
        (
            b'<idempiereTrl language="es_CO" table="T"><row id="1">'
            b'<value column="Name">x</value></row>',
            "no element found",
        ),
    ],
)
def test_a_file_that_is_not_a_plain_translation_file_is_refused(
    document: bytes, message: str
) -> None:
    with pytest.raises(TrlFileError, match=message):
        read(document)


def test_a_root_must_start_near_the_beginning() -> None:
    document = b"<!--" + b"x" * HEADER_LIMIT + b"-->" + b"<idempiereTrl/>"

    with pytest.raises(TrlFileError, match="no root element in the first 64 KiB"):
        read_trl_header(io.BytesIO(document))


# --- encodings ------------------------------------------------------------------------

ROW = '<row id="1"><value column="Name">Traducción</value></row>'


def declared(encoding: str, codec: str = "latin-1", bom: bytes = b"") -> bytes:
    return bom + (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        f'<idempiereTrl language="es_CO" table="AD_Process">{ROW}</idempiereTrl>'
    ).encode(codec)


@pytest.mark.parametrize(
    "document",
    [
        declared("UTF-8", "utf-8"),
        declared("utf-8", "utf-8", b"\xef\xbb\xbf"),
        declared("ISO-8859-1"),
        declared("UTF-16", "utf-16-le", b"\xff\xfe"),
        declared("UTF-16", "utf-16-be", b"\xfe\xff"),
    ],
)
def test_the_encodings_expat_reads_itself_are_read(document: bytes) -> None:
    _, rows = read(document)

    assert texts(rows[0]) == {"Name": "Traducción"}


@pytest.mark.parametrize(
    "encoding",
    # Unknown, multi-byte, and codecs Python has that are no text encoding at all.
    ["EBCDIC-FOO", "shift_jis", "cp1252", "rot13", "unicode_escape", "idna", "x" * 300],
)
@pytest.mark.parametrize("bom", [b"", b"\xff\xfe"])
def test_any_other_declared_encoding_is_refused_by_name(
    encoding: str, bom: bytes
) -> None:
    codec = "utf-16-le" if bom else "latin-1"

    with pytest.raises(TrlFileError, match="declares the encoding") as raised:
        read_trl_header(io.BytesIO(declared(encoding, codec, bom)))

    assert "UTF-8" in str(raised.value)
    assert len(str(raised.value)) < 300


# --- what one file may cost -----------------------------------------------------------


class Endless(io.RawIOBase):
    """``start``, then ``unit`` repeated over ``size`` bytes, then ``end``, made
    as they are read, counting the bytes read."""

    def __init__(self, start: bytes, unit: bytes, end: bytes, size: int) -> None:
        super().__init__()
        self._start, self._end = start, end
        self._unit = unit
        self._size = size
        self._position = 0  # within the repeated part
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._start:
            data, self._start = self._start[: len(buffer)], self._start[len(buffer) :]
        elif self._position < self._size:
            count = min(len(buffer), self._size - self._position)
            offset = self._position % len(self._unit)
            repeated = self._unit * ((offset + count) // len(self._unit) + 1)
            data = repeated[offset : offset + count]
            self._position += count
        else:
            data, self._end = self._end[: len(buffer)], self._end[len(buffer) :]
        buffer[: len(data)] = data
        self.read_bytes += len(data)
        return len(data)


ROOT = b'<idempiereTrl language="es_CO" table="AD_Process">\n'
HUGE = 200 * 1024 * 1024


@pytest.mark.parametrize(
    ("start", "unit", "end"),
    [
        (ROOT + b"<row", b" ", b' id="1"/></idempiereTrl>'),  # inside a tag
        (ROOT + b'<row id="1" uuid="', b"a", b'"/></idempiereTrl>'),  # an attribute
        (ROOT + b"<!--", b"a", b"--></idempiereTrl>"),  # a comment
        (ROOT + b"<?pi ", b"a", b"?></idempiereTrl>"),  # a processing instruction
        (ROOT + b"&#", b"0", b"65;</idempiereTrl>"),  # a character reference
        (ROOT + b"</", b"a", b"></idempiereTrl>"),  # an end tag
    ],
)
def test_a_long_token_is_refused_having_read_little_more_than_its_bound(
    start: bytes, unit: bytes, end: bytes
) -> None:
    stream = Endless(start, unit, end, HUGE)
    limits = ReadLimits()

    with pytest.raises(TrlFileError, match=f"longer than {limits.token_bytes} bytes"):
        read_trl_file(io.BufferedReader(stream))[1].__next__()

    assert stream.read_bytes <= 3 * limits.token_bytes


def test_a_long_text_is_refused_naming_its_table_row_and_column() -> None:
    start = ROOT + b' <row trl="Y" id="200126">\n  <value column="Name">'
    stream = Endless(start, "ñ".encode(), b"</value></row></idempiereTrl>", HUGE)
    limits = ReadLimits()

    with pytest.raises(TrlFileError) as raised:
        list(read_trl_file(io.BufferedReader(stream))[1])

    assert str(raised.value) == (
        "line 3: the AD_Process row id=200126, column Name: the text is longer than "
        f"{limits.value_chars} characters, the most a translation may have"
    )
    assert stream.read_bytes <= 4 * limits.value_chars + 256 * 1024


def test_a_text_of_the_bound_is_read_whole() -> None:
    text = "ñ" * MAX_VALUE_CHARS
    document = ROOT + f'<row id="1"><value column="Name">{text}</value></row>'.encode()

    _, rows = read(document + b"</idempiereTrl>")

    assert texts(rows[0])["Name"] == text


def test_a_row_of_too_many_values_is_refused_after_the_bound() -> None:
    stream = Endless(ROOT + b'<row id="7">', b'<value column="Name"/>', b"</row>", HUGE)
    limits = ReadLimits()

    with pytest.raises(TrlFileError, match="the AD_Process row id=7 has more than 64"):
        list(read_trl_file(io.BufferedReader(stream))[1])

    assert stream.read_bytes < 256 * 1024
    assert limits.values_per_row == MAX_VALUES_PER_ROW == 64


def test_a_file_over_its_bound_is_refused_however_small_its_parts() -> None:
    stream = Endless(ROOT, b'<row id="1"/>', b"</idempiereTrl>", HUGE)
    limits = ReadLimits(file_bytes=1024 * 1024)

    with pytest.raises(TrlFileError, match="has more than 1048576 bytes"):
        list(read_trl_file(io.BufferedReader(stream), limits)[1])

    assert stream.read_bytes <= limits.file_bytes + 128 * 1024


def test_a_file_of_too_many_rows_is_refused_at_the_first_row_over() -> None:
    stream = Endless(ROOT, b'<row id="1"/>\n', b"</idempiereTrl>", HUGE)
    limits = ReadLimits(rows=1000)

    with pytest.raises(TrlFileError) as raised:
        list(read_trl_file(io.BufferedReader(stream), limits)[1])

    assert str(raised.value) == (
        "line 1002: the file has more than 1000 rows, more than a translation file "
        "is read"
    )
    assert ReadLimits().rows == MAX_ROWS == 100_000


def test_rows_are_handed_over_as_they_are_read_not_gathered() -> None:
    stream = Endless(
        ROOT,
        b'<row id="1"><value column="Name">x</value></row>\n',
        b"</idempiereTrl>",
        8 * 1024 * 1024,
    )
    _, rows = read_trl_file(io.BufferedReader(stream))

    next(rows)

    assert stream.read_bytes <= 256 * 1024


# --- picking files out of an upload ---------------------------------------------------


def zipped(files: Mapping[str, bytes]) -> Upload:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return Upload.from_bytes("upload.zip", buffer.getvalue())


def picked(upload: Upload, limits: Limits = LIMITS) -> tuple[list[str], list[str]]:
    with translation_files(upload, "es_CO", limits) as found:
        return [entry.name for entry in found.entries], found.ignored


def test_entries_named_for_the_language_are_picked_in_a_lang_folder_or_flat() -> None:
    upload = zipped(
        {
            "es_CO/": b"",
            "es_CO/AD_Process_Trl_es_CO.xml": b"<x/>",
            "AD_Ref_List_Trl_es_CO.xml": b"<x/>",
            "AD_Ref_List_Trl_pt_BR.xml": b"<x/>",
            "other/AD_Process_Para_Trl_es_CO.xml": b"<x/>",
            "../../AD_Process_Trl_es_CO.xml": b"<x/>",
            "es_CO/../../AD_Process_Trl_es_CO.xml": b"<x/>",
            "/etc/AD_Process_Trl_es_CO.xml": b"<x/>",
            "C:/AD_Process_Trl_es_CO.xml": b"<x/>",
            "..\\AD_Process_Trl_es_CO.xml": b"<x/>",
        }
    )

    names, ignored = picked(upload)

    assert names == ["es_CO/AD_Process_Trl_es_CO.xml", "AD_Ref_List_Trl_es_CO.xml"]
    assert ignored == [
        "Ignored file AD_Ref_List_Trl_pt_BR.xml: its name does not end _es_CO.xml",
        "Ignored file other/AD_Process_Para_Trl_es_CO.xml: it is in a folder",
        "Ignored file ../../AD_Process_Trl_es_CO.xml: its path leaves the folder",
        "Ignored file es_CO/../../AD_Process_Trl_es_CO.xml: its path leaves the folder",
        "Ignored file /etc/AD_Process_Trl_es_CO.xml: its path leaves the folder",
        "Ignored file C:/AD_Process_Trl_es_CO.xml: its path leaves the folder",
        "Ignored file ..\\AD_Process_Trl_es_CO.xml: its path leaves the folder",
    ]


def test_an_xml_upload_is_the_one_file() -> None:
    upload = Upload.from_bytes("anything.XML", b"<x/>")

    with translation_files(upload, "es_CO", LIMITS) as found:
        assert found == TrlFiles([found.entries[0]], [])
        assert found.entries[0].name == "anything.XML"
        assert found.entries[0].open().read() == b"<x/>"


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (Upload.from_bytes("x.csv", b"a;b"), "must be a .zip or an .xml file"),
        (Upload.from_bytes("x.zip", b"PK\x03\x04 but no zip"), "not a readable zip"),
        (zipped({"notes.txt": b"x"}), "holds no \\*_es_CO.xml file; Ignored file"),
    ],
)
def test_an_upload_without_translation_files_is_refused(
    upload: Upload, message: str
) -> None:
    with pytest.raises(TrlFileError, match=message):
        picked(upload)


def test_a_zip_with_too_many_entries_is_refused() -> None:
    upload = zipped({f"{n}_es_CO.xml": b"" for n in range(11)})

    with pytest.raises(TrlFileError, match="has 11 entries; at most 10"):
        picked(upload, Limits(entries=10, unzipped_bytes=LIMITS.unzipped_bytes))


def test_a_zip_claiming_too_many_bytes_is_refused_before_reading() -> None:
    upload = zipped({"AD_Process_Trl_es_CO.xml": b" " * 2000})

    with pytest.raises(TrlFileError, match="more than 1000 bytes"):
        picked(upload, Limits(entries=10, unzipped_bytes=1000))


def test_entries_are_counted_while_read_against_one_budget() -> None:
    # Each entry is under the limit; read one after the other, they are not.
    upload = zipped({"A_es_CO.xml": b"a" * 600, "B_es_CO.xml": b"b" * 600})

    with translation_files(upload, "es_CO", Limits(10, 1200)) as found:
        # The claimed sizes fit (1200); reading one twice does not.
        first = found.entries[0]
        assert len(first.open().read()) == 600
        assert len(first.open().read()) == 600
        with pytest.raises(TrlFileError, match="more than 1200 bytes"):
            found.entries[1].open().read(100)


# --- how entries are named in messages ------------------------------------------------


def _flagged(document: bytes, *, set_bits: int = 0, clear_bits: int = 0) -> bytes:
    """The zip with the general purpose flags of every entry changed, in its
    local and its central header, as other tools write them."""
    data = bytearray(document)
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            at = start + flags_at
            flags = int.from_bytes(data[at : at + 2], "little")
            flags = (flags | set_bits) & ~clear_bits
            data[at : at + 2] = flags.to_bytes(2, "little")
            start += 4
    return bytes(data)


def test_entry_names_are_shown_as_written_and_controls_escaped() -> None:
    upload = zipped(
        {
            "traducción/AD_Process_Trl_es_CO.xml": b"<x/>",
            "año\n\u202enoitcudart_es_CO.txt": b"<x/>",
            "AD_Ref_List_Trl_es_CO.xml": b"<x/>",
        }
    )

    _, ignored = picked(upload)

    assert ignored == [
        "Ignored file traducción/AD_Process_Trl_es_CO.xml: it is in a folder",
        "Ignored file año\\n\\u202enoitcudart_es_CO.txt: its name does not end "
        "_es_CO.xml",
    ]


def test_utf8_names_written_without_their_flag_are_read_as_utf8() -> None:
    upload = zipped({"Ñandú/AD_Process_Trl_es_CO.xml": b"", "A_es_CO.xml": b""})
    # Zip tools that write UTF-8 names without flagging them.
    unflagged = _flagged(upload.read(), clear_bits=0x800)

    _, ignored = picked(Upload.from_bytes("upload.zip", unflagged))

    assert ignored == ["Ignored file Ñandú/AD_Process_Trl_es_CO.xml: it is in a folder"]


def test_an_encrypted_entry_is_refused_by_its_plain_name() -> None:
    plain = zipped({"AD_Process_Trl_es_CO.xml": b"<x/>"}).read()
    upload = Upload.from_bytes("secret.zip", _flagged(plain, set_bits=0x1))

    with (
        translation_files(upload, "es_CO", LIMITS) as found,
        pytest.raises(TrlFileError) as raised,
    ):
        found.entries[0].open()

    assert str(raised.value) == (
        "AD_Process_Trl_es_CO.xml: it is encrypted; only unencrypted zips are read"
    )
