"""Files clients send for FileName parameters.

A file comes inside the JSON body as ``{"fileName": "x.zip", "fileContent":
"<base64>"}``, as in iDempiere's REST API (PR #464). The API types it into an
``Upload``; the instance keeps the name as the parameter's text and the bytes as an
output of kind ``upload``, stored in the same transaction, because workers share no
disk. A plain text (a path or a URL) is refused: the server reads no files and
fetches no URLs on a client's behalf. A file sent without a name is called
``RESTUploadedFile.bin``, as in the original; its base64 may be wrapped in lines,
as ``base64 file.zip`` prints it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from app.errors import InvalidParameter
from processes.context import Upload

_FORM = '{"fileName": "<name>", "fileContent": "<the file in base64>"}'
# A name, not a path: only its last part is kept, and it must be a plain one.
_SEPARATORS = re.compile(r"[/\\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME_LENGTH = 255
UNNAMED = "RESTUploadedFile.bin"
_BASE64_SPACE = b" \t\n\r\f\v"


def read_upload(raw: Any, shown_as: str) -> Upload | None:
    """The file of a FileName parameter's JSON value; None for an empty file,
    which counts as not sent (as in the original)."""
    if isinstance(raw, str):
        raise _invalid(
            shown_as,
            f"a file is sent as {_FORM}; the server reads no files and fetches no "
            f"URLs, so {_quoted(raw)} cannot name one",
        )
    if not isinstance(raw, dict):
        raise _invalid(shown_as, f"expected {_FORM}")
    name = _file_name(raw.get("fileName"), shown_as)
    content = raw.get("fileContent")
    if not isinstance(content, str):
        raise _invalid(shown_as, '"fileContent" must be the file in base64')
    try:
        # Only ASCII can be base64; its whitespace is line wrapping, not data.
        data = base64.b64decode(
            content.encode("ascii").translate(None, _BASE64_SPACE), validate=True
        )
    except (binascii.Error, ValueError):
        raise _invalid(shown_as, '"fileContent" is not valid base64') from None
    if not data:
        return None
    return Upload.from_bytes(name, data)


def uploads_to_store(
    rows: Sequence[Mapping[str, Any]], values: Mapping[str, Any], limit: int
) -> tuple[tuple[int, Upload], ...]:
    """The uploads among a request's typed values, each with its parameter's
    seqno; a file over ``limit`` bytes is a 400."""
    found = []
    for row in rows:
        upload = values.get(row["name"])
        if not isinstance(upload, Upload):
            continue
        if upload.size > limit:
            raise _invalid(
                row["name"],
                f"the file {_quoted(upload.name)} has {upload.size} bytes; an "
                f"upload may have at most {limit}",
            )
        found.append((int(row["seqno"]), upload))
    return tuple(found)


def _file_name(raw: Any, shown_as: str) -> str:
    if raw is None:
        return UNNAMED
    if not isinstance(raw, str):
        raise _invalid(shown_as, '"fileName" must be the name of the file')
    name = _SEPARATORS.split(raw)[-1]
    if name.strip() in ("", ".", "..") or _CONTROL.search(name):
        raise _invalid(shown_as, f'"fileName" {_quoted(raw)} is not a file name')
    if len(name) > MAX_NAME_LENGTH:
        raise _invalid(
            shown_as, f'"fileName" is longer than {MAX_NAME_LENGTH} characters'
        )
    return name


def _invalid(shown_as: str, reason: str) -> InvalidParameter:
    return InvalidParameter(f"Invalid value for parameter {shown_as}: {reason}")


def _quoted(text: str, limit: int = 80) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    return quoted if len(quoted) <= limit else quoted[: limit - 3] + "..."
