"""The translation file writer: iDempiere's layout, read back with ElementTree."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from processes.translation.trlfile import TrlRow, TrlValue, trl_file

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
UUID = "9b654152-331f-4ac7-9c61-06b1d1bc3edf"


def parse(document: bytes) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - the writer's own output


def one_value(text: str | None, original: str | None = "Original") -> bytes:
    row = TrlRow(UUID, True, [TrlValue("Name", text, original)])
    return trl_file(language="es_CO", table="AD_Process", product="test", rows=[row])


def the_value(document: bytes) -> ET.Element:
    value = parse(document).find("row/value")
    assert value is not None
    return value


def test_trl_file_starts_with_idempieres_prolog() -> None:
    document = trl_file(
        language="es_CO", table="AD_Process", product="procserv 1.0", rows=[]
    )

    lines = document.decode("utf-8").splitlines()
    assert lines[0] == '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
    assert lines[1] == "<!--procserv 1.0-->"
    assert lines[2] == (
        '<!--<!DOCTYPE idempiereTrl PUBLIC "-//ComPiere, Inc.//DTD iDempiere '
        'Translation 1.0//EN" "http://www.idempiere.com/dtd/idempiereTrl.dtd">-->'
    )
    assert "<!DOCTYPE" not in document.decode("utf-8").replace("<!--<!DOCTYPE", "")


def test_trl_file_without_rows_is_an_empty_root() -> None:
    document = trl_file(language="es_CO", table="AD_Table", product="p", rows=[])

    assert document.decode("utf-8").splitlines()[3] == (
        '<idempiereTrl language="es_CO" table="AD_Table"/>'
    )
    root = parse(document)
    assert root.attrib == {"language": "es_CO", "table": "AD_Table"}
    assert len(root) == 0


def test_trl_file_rows_carry_trl_and_uuid_only() -> None:
    rows = [
        TrlRow("b4359db4-9448-4a1f-b38a-38dc35335b02", True, []),
        TrlRow("51595870-5f58-45d0-80d6-8b075fd86d33", False, []),
    ]

    document = trl_file(language="es_CO", table="AD_Ref_List", product="p", rows=rows)

    root = parse(document)
    assert root.tag == "idempiereTrl"
    assert root.attrib == {"language": "es_CO", "table": "AD_Ref_List"}
    assert [row.attrib for row in root] == [
        {"trl": "Y", "uuid": "b4359db4-9448-4a1f-b38a-38dc35335b02"},
        {"trl": "N", "uuid": "51595870-5f58-45d0-80d6-8b075fd86d33"},
    ]
    assert b' <row trl="Y" uuid="b4359db4' in document


def test_trl_file_values_keep_column_order_and_indent() -> None:
    row = TrlRow(
        UUID,
        True,
        [
            TrlValue("Name", "Importar", "Import"),
            TrlValue("Description", "Descripción", "Description"),
        ],
    )

    document = trl_file(language="es_CO", table="AD_Process", product="p", rows=[row])

    lines = document.decode("utf-8").splitlines()
    assert lines[4:8] == [
        f' <row trl="Y" uuid="{UUID}">',
        '  <value column="Name" original="Import">Importar</value>',
        '  <value column="Description" original="Description">Descripción</value>',
        " </row>",
    ]
    assert lines[8] == "</idempiereTrl>"


@pytest.mark.parametrize("text", [None, ""])
def test_trl_file_writes_an_empty_value_self_closing(text: str | None) -> None:
    document = one_value(text, original=None)

    assert b'  <value column="Name" original=""/>\n' in document
    value = the_value(document)
    assert value.text is None
    assert value.attrib == {"column": "Name", "original": ""}


def test_trl_file_keeps_the_original_of_an_untranslated_empty_value() -> None:
    document = one_value(None, original="Create Periods ")

    assert b'<value column="Name" original="Create Periods "/>' in document


def test_trl_file_plain_text_has_no_cdata_and_no_xml_space() -> None:
    document = one_value('Texto "citado" con\nlínea nueva ')

    value = the_value(document)
    assert value.text == 'Texto "citado" con\nlínea nueva '
    assert XML_SPACE not in value.attrib
    assert b"CDATA" not in document


@pytest.mark.parametrize("text", ["a < b", "a > b", "R&D", "<b>negrita</b>"])
def test_trl_file_puts_markup_characters_in_cdata_with_xml_space(text: str) -> None:
    document = one_value(text)

    assert f"<![CDATA[{text}]]>".encode() in document
    value = the_value(document)
    assert value.text == text
    assert value.attrib[XML_SPACE] == "preserve"
    assert b'original="Original" xml:space="preserve">' in document


def test_trl_file_splits_cdata_around_its_end_marker() -> None:
    text = "x]]>y & ]]>"

    document = one_value(text)

    assert the_value(document).text == text
    assert b"<![CDATA[x]]]]><![CDATA[>y & ]]]]><![CDATA[>]]>" in document


def test_trl_file_keeps_carriage_returns_in_text_and_cdata() -> None:
    assert the_value(one_value("a\r\nb")).text == "a\r\nb"
    assert the_value(one_value("<a>\r\n</a>")).text == "<a>\r\n</a>"


def test_trl_file_escapes_the_original_attribute() -> None:
    original = 'Tom & "Jerry" <1>\nline\r\tend'

    document = one_value("x", original=original)

    assert (
        b'original="Tom &amp; &quot;Jerry&quot; &lt;1&gt;&#10;line&#13;&#9;end"'
        in document
    )
    assert the_value(document).attrib["original"] == original


def test_trl_file_is_utf8() -> None:
    text = "Traducción — 日本語 ✓ 😀"

    document = one_value(text, original=text)

    assert text.encode("utf-8") in document
    value = the_value(document)
    assert value.text == text
    assert value.attrib["original"] == text


def test_trl_file_replaces_characters_xml_cannot_carry() -> None:
    document = one_value("bell\x07", original="nul\x01")

    value = the_value(document)
    assert value.text == "bell\ufffd"
    assert value.attrib["original"] == "nul\ufffd"


def test_trl_file_refuses_a_product_that_breaks_the_comment() -> None:
    with pytest.raises(ValueError, match="comment"):
        trl_file(language="es_CO", table="AD_Process", product="a--b", rows=[])
