"""Finished jobs and their notices, written straight into the test database, for
the tests of the notice routes and stream (which only read notices)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import psycopg

from app.db import Row

GARDENWORLD = 11
PROCESS = "translationimpexp"

_JOB = """
INSERT INTO ad_pinstance (ad_client_id, ad_org_id, ad_process_id, ad_user_id,
                          ad_role_id, isrunasjob, notificationtype, status, result,
                          errormsg, attempt, queue, paramsdigest, started, finished,
                          createdby, updatedby)
SELECT %(client_id)s, 0, ad_process_id, %(user_id)s, 0, true, 'N', 'succeeded', 1,
       'Done', 1, 'default', 'test', now(), now(), %(user_id)s, %(user_id)s
  FROM ad_process WHERE slug = %(slug)s
RETURNING ad_pinstance_id
"""

_OUTPUT = """
INSERT INTO ad_pinstance_output (ad_pinstance_id, seqno, kind, attempt, name,
                                 mediatype, size, sha256)
VALUES (%(id)s, %(seqno)s, %(kind)s, 1, %(name)s, 'text/plain', %(size)s, %(sha256)s)
"""

_NOTICE = """
INSERT INTO ad_note (ad_client_id, ad_user_id, ad_pinstance_id, textmsg, reference)
VALUES (%(client_id)s, %(user_id)s, %(id)s, %(text)s, 'Translation Import/Export')
RETURNING ad_note_id
"""


def make_job(
    db: psycopg.Connection[Row],
    user_id: int,
    *,
    client_id: int = GARDENWORLD,
    outputs: Iterable[tuple[str, str]] = (),
) -> int:
    """A background job of the user that succeeded, with outputs given as
    (kind, name): kind ``report``, ``export`` or ``upload``."""
    row = db.execute(
        _JOB, {"client_id": client_id, "user_id": user_id, "slug": PROCESS}
    ).fetchone()
    assert row is not None
    instance_id = int(row["ad_pinstance_id"])
    for seqno, (kind, name) in enumerate(outputs, start=1):
        content = name.encode()
        db.execute(
            _OUTPUT,
            {
                "id": instance_id,
                "seqno": seqno,
                "kind": kind,
                "name": name,
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
            },
        )
    return instance_id


def make_notice(
    db: psycopg.Connection[Row],
    user_id: int,
    instance_id: int | None = None,
    *,
    client_id: int = GARDENWORLD,
    text: str = "Translation Import/Export\nDone",
) -> int:
    """A notice for the user about ``instance_id`` (a new job when None)."""
    if instance_id is None:
        instance_id = make_job(db, user_id, client_id=client_id)
    row = db.execute(
        _NOTICE,
        {"client_id": client_id, "user_id": user_id, "id": instance_id, "text": text},
    ).fetchone()
    assert row is not None
    return int(row["ad_note_id"])
