"""In-app notices (``ad_note``): the SQL that reads, marks and removes a user's
notices, and the JSON a notice is shown as, by the routes and in its live event.

The delivery worker creates notices (``workers/``); everything that reads them is
here, so that the event it publishes and the API's answers have one shape.
"""

from __future__ import annotations

from typing import Any

import psycopg

from app.db import Row
from app.serialize import iso, output_json

# The outputs are those of instances.fetch_outputs, in its order, so that each
# index is the one the download route (and the job's own JSON) uses.
_SELECT = """
SELECT n.ad_note_id, n.ad_note_uu, n.ad_pinstance_id, n.ad_message, n.textmsg,
       n.processed, n.created, p.slug AS process_slug,
       coalesce(o.outputs, '[]'::json) AS outputs
  FROM ad_note n
  JOIN ad_pinstance i ON i.ad_pinstance_id = n.ad_pinstance_id
  JOIN ad_process p ON p.ad_process_id = i.ad_process_id
  LEFT JOIN LATERAL (
       SELECT json_agg(
                json_build_object('name', po.name, 'mediatype', po.mediatype,
                                  'size', po.size, 'sha256', po.sha256)
                ORDER BY po.created, po.ad_pinstance_output_id) AS outputs
         FROM ad_pinstance_output po
        WHERE po.ad_pinstance_id = n.ad_pinstance_id
          AND po.kind <> 'upload' AND po.size IS NOT NULL
       ) o ON true
"""

_MINE = """
 WHERE n.ad_user_id = %(user_id)s AND n.ad_client_id = %(client_id)s AND n.isactive
"""

_SELECT_ONE = _SELECT + _MINE + "   AND n.ad_note_id = %(id)s"

_SELECT_PAGE = f"""{_SELECT}{_MINE}
   AND (NOT %(unread_only)s OR NOT n.processed)
 ORDER BY n.ad_note_id DESC
 LIMIT %(top)s OFFSET %(skip)s
"""

_SELECT_AFTER = f"""{_SELECT}{_MINE}
   AND n.ad_note_id > %(after)s
 ORDER BY n.ad_note_id
 LIMIT %(limit)s
"""

_SELECT_FOR_EVENT = _SELECT + " WHERE n.ad_note_id = %(id)s"

_COUNT_UNREAD = """
SELECT count(*) AS unread FROM ad_note
 WHERE ad_user_id = %(user_id)s AND ad_client_id = %(client_id)s AND isactive
   AND NOT processed
"""

_MARK_READ = """
UPDATE ad_note
   SET processed = true, processedat = coalesce(processedat, now()), updated = now()
 WHERE ad_note_id = %(id)s
   AND ad_user_id = %(user_id)s AND ad_client_id = %(client_id)s AND isactive
RETURNING ad_note_id
"""

# Removal keeps the row, inactive: ad_note's one-notice-per-instance key then
# still stops a late or retried delivery from making the notice again.
_REMOVE = """
UPDATE ad_note SET isactive = false, updated = now()
 WHERE ad_note_id = %(id)s
   AND ad_user_id = %(user_id)s AND ad_client_id = %(client_id)s AND isactive
RETURNING ad_note_id
"""

_OWNS_INSTANCE = """
SELECT 1 FROM ad_pinstance
 WHERE ad_pinstance_id = %(id)s
   AND ad_user_id = %(user_id)s AND ad_client_id = %(client_id)s
"""


def notice_json(row: Row, base_url: str) -> dict[str, Any]:
    """A notice as ``GET /api/v1/notices/{id}`` shows it; ``base_url`` is the root
    of the output URLs (no trailing slash)."""
    instance_id = row["ad_pinstance_id"]
    return {
        "id": row["ad_note_id"],
        "uid": str(row["ad_note_uu"]),
        "AD_PInstance_ID": instance_id,
        "process": row["process_slug"],
        "message": row["ad_message"],
        "text": row["textmsg"],
        "isRead": row["processed"],
        "created": iso(row["created"]),
        "outputs": [
            output_json(instance_id, index, output, base_url)
            for index, output in enumerate(row["outputs"], start=1)
        ],
        "model-name": "ad_note",
    }


def load_notice(conn: psycopg.Connection[Row], note_id: int) -> Row | None:
    """Any notice, whoever's, for the worker that created it to announce it."""
    return conn.execute(_SELECT_FOR_EVENT, {"id": note_id}).fetchone()


def _mine(note_id: int, user_id: int, client_id: int) -> dict[str, Any]:
    return {"id": note_id, "user_id": user_id, "client_id": client_id}


async def fetch_notice(
    conn: psycopg.AsyncConnection[Row], note_id: int, user_id: int, client_id: int
) -> Row | None:
    cursor = await conn.execute(_SELECT_ONE, _mine(note_id, user_id, client_id))
    return await cursor.fetchone()


async def fetch_page(
    conn: psycopg.AsyncConnection[Row],
    user_id: int,
    client_id: int,
    *,
    unread_only: bool,
    top: int,
    skip: int,
) -> list[Row]:
    """The user's notices in the tenant, newest first."""
    params = {
        "user_id": user_id,
        "client_id": client_id,
        "unread_only": unread_only,
        "top": top,
        "skip": skip,
    }
    return await (await conn.execute(_SELECT_PAGE, params)).fetchall()


async def fetch_after(
    conn: psycopg.AsyncConnection[Row],
    note_id: int,
    user_id: int,
    client_id: int,
    limit: int,
) -> list[Row]:
    """The user's notices with a higher id than ``note_id``, oldest first."""
    params = {**_mine(note_id, user_id, client_id), "after": note_id, "limit": limit}
    return await (await conn.execute(_SELECT_AFTER, params)).fetchall()


async def count_unread(
    conn: psycopg.AsyncConnection[Row], user_id: int, client_id: int
) -> int:
    params = {"user_id": user_id, "client_id": client_id}
    row = await (await conn.execute(_COUNT_UNREAD, params)).fetchone()
    return int(row["unread"]) if row else 0


async def mark_read(
    conn: psycopg.AsyncConnection[Row], note_id: int, user_id: int, client_id: int
) -> bool:
    """Mark the notice read (again, harmlessly); False when it is not the user's."""
    cursor = await conn.execute(_MARK_READ, _mine(note_id, user_id, client_id))
    return await cursor.fetchone() is not None


async def remove(
    conn: psycopg.AsyncConnection[Row], note_id: int, user_id: int, client_id: int
) -> bool:
    """Remove the notice from the user's view; False when there is none to remove."""
    cursor = await conn.execute(_REMOVE, _mine(note_id, user_id, client_id))
    return await cursor.fetchone() is not None


async def owns_instance(
    conn: psycopg.AsyncConnection[Row], instance_id: int, user_id: int, client_id: int
) -> bool:
    """Whether the instance is the user's, in this tenant."""
    cursor = await conn.execute(_OWNS_INSTANCE, _mine(instance_id, user_id, client_id))
    return await cursor.fetchone() is not None
