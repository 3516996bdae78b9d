"""Reading the process dictionary for the API: processes, access, parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg

from app.db import Row
from app.errors import InvalidFilter
from app.odata import FilterColumn, SqlFragment
from app.params import LookupSpec, ParameterSpec
from app.tables import identifier_column

# The columns a $filter may name: those the process JSON shows, plus id, uid, slug.
FILTER_COLUMNS: Mapping[str, FilterColumn] = {
    "id": FilterColumn("p.ad_process_id", "integer", "id"),
    "uid": FilterColumn("p.ad_process_uu::text", "string", "uid"),
    "slug": FilterColumn("p.slug", "string", "slug"),
    "ad_process_id": FilterColumn("p.ad_process_id", "integer", "AD_Process_ID"),
    "ad_process_uu": FilterColumn("p.ad_process_uu::text", "string", "AD_Process_UU"),
    "value": FilterColumn("p.value", "string", "Search Key"),
    "name": FilterColumn("p.name", "string", "Name"),
    "description": FilterColumn("p.description", "string", "Description"),
    "help": FilterColumn("p.help", "string", "Comment/Help"),
    "entitytype": FilterColumn("p.entitytype", "string", "Entity Type"),
    "isreport": FilterColumn("p.isreport", "yesno", "Report"),
    "ad_reportview_id": FilterColumn("p.ad_reportview_id", "integer", "Report View"),
    "ad_printformat_id": FilterColumn("p.ad_printformat_id", "integer", "Print Format"),
    "ad_workflow_id": FilterColumn("p.ad_workflow_id", "integer", "Workflow"),
    "jasperreport": FilterColumn("p.jasperreport", "string", "Jasper Report"),
}

# Texts in the caller's language where a translation row exists (t), else the
# base text; filters and sorting stay on the base columns, as in the original.
_PROCESS_COLUMNS = """
p.ad_process_id, p.ad_process_uu, p.value, p.slug,
COALESCE(t.name, p.name) AS name, COALESCE(t.description, p.description) AS description,
COALESCE(t.help, p.help) AS help,
p.entitytype, p.isreport, p.ad_reportview_id, p.ad_printformat_id, p.ad_workflow_id,
p.jasperreport, p.allowmultipleexecution, p.queue, p.classname,
(SELECT v.name FROM ad_reportview v
  WHERE v.ad_reportview_id = p.ad_reportview_id) AS reportview_name,
(SELECT f.name FROM ad_printformat f
  WHERE f.ad_printformat_id = p.ad_printformat_id) AS printformat_name
"""

_ACTIVE_LANGUAGE = """
SELECT ad_language FROM ad_language
 WHERE lower(ad_language) = lower(%s) AND isactive
   AND (issystemlanguage OR isbaselanguage)
"""
# What a locale may look like: es_CO, es-co, en.
_LOCALE = re.compile(r"[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})?")

_LIST_PROCESSES = f"""
SELECT {_PROCESS_COLUMNS}
  FROM ad_process p
  JOIN ad_process_access a
    ON a.ad_process_id = p.ad_process_id AND a.ad_role_id = %s AND a.isactive
  LEFT JOIN ad_process_trl t
    ON t.ad_process_id = p.ad_process_id AND t.ad_language = %s
 WHERE p.isactive AND p.ad_form_id IS NULL
"""

_PROCESS_BY_SLUG = f"""
SELECT {_PROCESS_COLUMNS},
       (SELECT a.isreadwrite FROM ad_process_access a
         WHERE a.ad_process_id = p.ad_process_id AND a.ad_role_id = %(role_id)s
           AND a.isactive) AS isreadwrite
  FROM ad_process p
  LEFT JOIN ad_process_trl t
    ON t.ad_process_id = p.ad_process_id AND t.ad_language = %(language)s
 WHERE p.slug = %(slug)s AND p.isactive
"""

_PARAMETERS = """
SELECT pp.ad_process_para_id, pp.ad_process_para_uu, pp.seqno, pp.columnname,
       COALESCE(t.name, pp.name) AS name,
       COALESCE(t.description, pp.description) AS description,
       COALESCE(t.help, pp.help) AS help,
       pp.ad_reference_id, pp.ad_reference_value_id,
       pp.ismandatory, pp.isrange, pp.defaultvalue, pp.defaultvalue2, pp.valuemin,
       pp.valuemax, pp.displaylogic,
       COALESCE(t.placeholder, pp.placeholder) AS placeholder,
       COALESCE(t.placeholder2, pp.placeholder2) AS placeholder2, pp.entitytype,
       r.name AS reference_name, rv.name AS reference_value_name,
       rt.tablename AS lookup_table, rt.keycolumn AS lookup_key,
       rt.displaycolumn AS lookup_display, rt.whereclause AS lookup_where,
       (SELECT json_agg(json_build_object(
                   'value', l.value,
                   'name', COALESCE(lt.name, l.name),
                   'description', COALESCE(lt.description, l.description))
                 ORDER BY l.seqno)
          FROM ad_ref_list l
          LEFT JOIN ad_ref_list_trl lt
            ON lt.ad_ref_list_id = l.ad_ref_list_id
           AND lt.ad_language = %(language)s
         WHERE l.ad_reference_id = pp.ad_reference_value_id AND l.isactive
       ) AS list_entries
  FROM ad_process_para pp
  JOIN ad_reference r ON r.ad_reference_id = pp.ad_reference_id
  LEFT JOIN ad_reference rv ON rv.ad_reference_id = pp.ad_reference_value_id
  LEFT JOIN ad_ref_table rt ON rt.ad_reference_id = pp.ad_reference_value_id
  LEFT JOIN ad_process_para_trl t
    ON t.ad_process_para_id = pp.ad_process_para_id AND t.ad_language = %(language)s
 WHERE pp.ad_process_id = %(process_id)s AND pp.isactive
 ORDER BY pp.seqno
"""

# Types whose table, with no table reference, is named by the column (C_BPartner_ID
# looks up c_bpartner), as iDempiere's Table Direct and Search do.
_TABLE_OF_COLUMN = frozenset({19, 30, 200162, 200163})

# Lookup tables whose key is text rather than a number.
_STRING_KEYS = frozenset({("ad_language", "ad_language")})


@dataclass(frozen=True)
class Page:
    """Order and window of a list: ``order`` holds trusted SQL (column, direction)."""

    order: tuple[tuple[str, str], ...] = (("p.value", "ASC"),)
    top: int | None = None
    skip: int = 0


async def list_processes(
    conn: psycopg.AsyncConnection[Row],
    role_id: int,
    language: str,
    condition: SqlFragment | None,
    page: Page,
) -> list[Row]:
    query = _LIST_PROCESSES
    params: list[object] = [role_id, language]
    if condition is not None:
        query += f" AND ({condition.text})"
        params.extend(condition.params)
    # The id last, so that pages of equal sort keys do not overlap.
    order = [f"{column} {direction}" for column, direction in page.order]
    query += " ORDER BY " + ", ".join([*order, "p.ad_process_id"])
    if page.top is not None:
        query += " LIMIT %s"
        params.append(page.top)
    query += " OFFSET %s"
    params.append(page.skip)
    return await (await conn.execute(query, params)).fetchall()


MAX_TOP = 1000


def parse_page(orderby: str | None, top: str | None, skip: str | None) -> Page:
    """``$orderby=<Column> [asc|desc][, ...]``, ``$top`` (at most 1000), ``$skip``
    (decision D13); a bad value is an ``InvalidFilter`` naming it."""
    return Page(
        order=_order(orderby) if orderby and orderby.strip() else Page.order,
        top=_count("$top", top, MAX_TOP),
        skip=_count("$skip", skip, 2**31 - 1) or 0,
    )


def _order(text: str) -> tuple[tuple[str, str], ...]:
    order = []
    for item in text.split(","):
        words = item.split()
        if not 1 <= len(words) <= 2:
            raise InvalidFilter(f"Invalid $orderby item: {item.strip()!r}")
        column = FILTER_COLUMNS.get(words[0].lower())
        if column is None:
            raise InvalidFilter(f"Invalid column for $orderby: {words[0][:80]}")
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise InvalidFilter(f"Invalid $orderby direction: {words[1][:80]}")
        order.append((column.sql, direction))
    return tuple(order)


def _count(name: str, raw: str | None, most: int) -> int | None:
    if raw is None:
        return None
    text = raw.strip()
    if not re.fullmatch(r"[0-9]{1,10}", text) or int(text) > most:
        raise InvalidFilter(
            f"Invalid {name}: {text[:80]!r} (a whole number from 0 to {most})"
        )
    return int(text)


async def process_by_slug(
    conn: psycopg.AsyncConnection[Row], slug: str, role_id: int, language: str
) -> Row | None:
    """The active process with this slug, with the role's access to it
    (``isreadwrite``: None for no access, False for read-only, True)."""
    cursor = await conn.execute(
        _PROCESS_BY_SLUG, {"slug": slug, "role_id": role_id, "language": language}
    )
    return await cursor.fetchone()


async def parameters(
    conn: psycopg.AsyncConnection[Row], process_id: int, language: str
) -> list[Row]:
    cursor = await conn.execute(
        _PARAMETERS, {"process_id": process_id, "language": language}
    )
    return await cursor.fetchall()


def parameter_spec(row: Row) -> ParameterSpec:
    return ParameterSpec(
        column_name=row["columnname"],
        name=row["name"],
        seqno=row["seqno"],
        reference=row["ad_reference_id"],
        mandatory=row["ismandatory"],
        is_range=row["isrange"],
        default=row["defaultvalue"],
        default_to=row["defaultvalue2"],
        list_values={e["value"]: e["name"] for e in row["list_entries"] or ()},
        lookup=_lookup_spec(row),
    )


def _lookup_spec(row: Row) -> LookupSpec | None:
    table, key = row["lookup_table"], row["lookup_key"]
    if table is None:
        column = row["columnname"]
        if row[
            "ad_reference_id"
        ] not in _TABLE_OF_COLUMN or not column.lower().endswith("_id"):
            return None
        table, key = column[:-3].lower(), column.lower()
        return LookupSpec(table=table, key=key, display=identifier_column(table))
    return LookupSpec(
        table=table,
        key=key,
        display=row["lookup_display"],
        where=row["lookup_where"] or "",
        string_key=(table, key) in _STRING_KEYS,
    )


async def answer_language(
    conn: psycopg.AsyncConnection[Row], locale: str | None, session_language: str
) -> str:
    """The language of an answer: ``locale`` when it names an active language
    (``es_CO``, or ``es-co`` as browsers write it; anything else is ignored, as the
    original does), else the token's."""
    if locale and _LOCALE.fullmatch(locale):
        wanted = locale.replace("-", "_")
        row = await (await conn.execute(_ACTIVE_LANGUAGE, (wanted,))).fetchone()
        if row is not None:
            return str(row["ad_language"])
    return session_language
