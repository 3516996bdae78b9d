"""FileName values: the JSON object typed into an ``Upload``, stored as its name,
and read back in chunks as a seekable file."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
import zipfile
from typing import Any

import pytest

from app.errors import InvalidParameter
from app.params import ParameterSpec, SessionValues, coerce_parameters
from app.uploads import read_upload, uploads_to_store
from processes.context import Upload
from processes.declarations import Ref

SESSION = SessionValues(user_id=101, client_id=11, org_id=11, today=dt.date(2026, 1, 1))
FILE = ParameterSpec(column_name="File", name="File", seqno=30, reference=Ref.FILE_NAME)


def sent(name: str, content: bytes) -> dict[str, str]:
    return {"fileName": name, "fileContent": base64.b64encode(content).decode()}


def test_a_file_object_becomes_an_upload_stored_by_its_name() -> None:
    coerced = coerce_parameters(
        [FILE], {"File": sent("a/b/rows.csv", b"1;2\n")}, SESSION
    )

    upload = coerced.values["File"]
    assert isinstance(upload, Upload)
    assert (upload.name, upload.size, upload.media_type) == ("rows.csv", 4, "text/csv")
    assert upload.sha256 == hashlib.sha256(b"1;2\n").hexdigest()
    assert upload.read() == b"1;2\n"
    assert coerced.rows[0]["p_string"] == "rows.csv"


def test_the_parameter_is_also_read_by_its_property_name() -> None:
    coerced = coerce_parameters([FILE], {"file": sent("x.bin", b"x")}, SESSION)

    assert coerced.values["File"].name == "x.bin"


def test_an_empty_file_is_not_sent() -> None:
    coerced = coerce_parameters([FILE], {"File": sent("x.bin", b"")}, SESSION)

    assert coerced.values["File"] is None
    assert coerced.rows[0]["p_string"] is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("/etc/passwd", "reads no files and fetches no URLs"),
        ("file:///etc/passwd", "reads no files and fetches no URLs"),
        (True, "expected"),
        ({"fileName": "x"}, '"fileContent" must be the file in base64'),
        ({"fileName": "x", "fileContent": None}, "fileContent"),
        ({"fileName": "x", "fileContent": "eHl6ñ"}, "not valid base64"),
        ({"fileName": "x", "fileContent": "eHl6\u00a0eHl6"}, "not valid base64"),
        ({"fileName": "x", "fileContent": "eH=l6"}, "not valid base64"),
        (
            {"fileName": 7, "fileContent": "eHl6"},
            '"fileName" must be the name of the file',
        ),
        ({"fileName": "", "fileContent": "eHl6"}, "is not a file name"),
        ({"fileName": "a/", "fileContent": "eHl6"}, "is not a file name"),
        ({"fileName": "a\\..", "fileContent": "eHl6"}, "is not a file name"),
        ({"fileName": "a\nb", "fileContent": "eHl6"}, "is not a file name"),
    ],
)
def test_a_bad_value_names_the_parameter(raw: Any, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message) as raised:
        read_upload(raw, "File")

    assert raised.value.detail.startswith("Invalid value for parameter File: ")


def test_base64_wrapped_in_lines_is_read_as_the_file() -> None:
    content = bytes(range(256)) * 3
    # As `base64 file` prints it: lines of 76 characters, a final newline.
    encoded = base64.encodebytes(content).decode()
    assert "\n" in encoded.rstrip("\n")

    for sent_content in (encoded, encoded.replace("\n", "\r\n"), " \t" + encoded):
        upload = read_upload({"fileName": "x.bin", "fileContent": sent_content}, "File")

        assert upload is not None
        assert upload.read() == content


@pytest.mark.parametrize(
    "raw", [{"fileContent": "eHl6"}, {"fileName": None, "fileContent": "eHl6"}]
)
def test_a_file_sent_without_a_name_is_named_as_the_original_names_it(
    raw: dict[str, Any],
) -> None:
    upload = read_upload(raw, "File")

    assert upload is not None
    assert (upload.name, upload.read()) == ("RESTUploadedFile.bin", b"xyz")


def test_uploads_over_the_limit_are_refused_by_name() -> None:
    coerced = coerce_parameters([FILE], {"File": sent("big.bin", b"x" * 11)}, SESSION)

    assert uploads_to_store(coerced.rows, coerced.values, 11)[0][0] == 30
    with pytest.raises(InvalidParameter, match=re.escape('"big.bin" has 11 bytes')):
        uploads_to_store(coerced.rows, coerced.values, 10)


# --- reading a stored file in chunks ------------------------------------------------


def chunked(content: bytes, chunk_size: int) -> tuple[Upload, list[int]]:
    fetched: list[int] = []

    def fetch(index: int) -> bytes:
        fetched.append(index)
        return content[index * chunk_size : (index + 1) * chunk_size]

    upload = Upload.from_chunks(
        "f.bin",
        len(content),
        "application/octet-stream",
        hashlib.sha256(content).hexdigest(),
        chunk_size=chunk_size,
        fetch=fetch,
    )
    return upload, fetched


def test_chunks_are_fetched_only_as_they_are_read() -> None:
    content = bytes(range(256)) * 4  # 1024 bytes in chunks of 100
    upload, fetched = chunked(content, 100)

    with upload.open() as stream:
        assert stream.read(10) == content[:10]
        assert fetched == [0]
        stream.seek(950)
        assert stream.read() == content[950:]
        assert fetched == [0, 9, 10]
        stream.seek(-30, io.SEEK_END)
        assert stream.tell() == 994
    assert upload.read() == content


def test_a_chunked_upload_opens_as_a_zip() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", b"alpha" * 100)
    upload, _ = chunked(buffer.getvalue(), 64)

    with upload.open() as stream, zipfile.ZipFile(stream) as archive:
        assert archive.read("a.txt") == b"alpha" * 100


def test_a_short_stored_chunk_is_an_error_not_a_wrong_file() -> None:
    upload = Upload.from_chunks(
        "f.bin", 300, "x/y", "", chunk_size=100, fetch=lambda index: b"x" * 50
    )

    with pytest.raises(OSError, match="chunk 0 has 50 bytes, not 100"):
        upload.read()
