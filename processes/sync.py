"""Write the declared processes into the dictionary.

Runs in one transaction under an advisory lock, so two starting services cannot
interleave. Declared text always replaces the base text. Translation rows are
created, from the base text, for active languages where missing, and never
changed afterwards, translated or not, as iDempiere's language maintenance only
adds missing rows: an import writes untranslated rows too (``trl="N"``), and a
sync at the next start must not take their texts back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import psycopg
import structlog

from app.db import Row
from processes.declarations import (
    REFERENCE_NAMES,
    ListReference,
    Parameter,
    Process,
    TableReference,
    derived_uuid,
    print_format_uuid,
    report_view_uuid,
)
from processes.registry import RegistryError
from processes.reports.declarations import FormatItem, PrintFormat

log = structlog.get_logger(__name__)

_SYNC_LOCK = 7_265_001  # pg_advisory_xact_lock key of the dictionary sync

_UPSERT_REFERENCE = """
INSERT INTO ad_reference (ad_reference_id, ad_reference_uu, name, validationtype)
VALUES (COALESCE(%(id)s, nextval(pg_get_serial_sequence('ad_reference',
        'ad_reference_id'))), %(uuid)s, %(name)s, %(kind)s)
ON CONFLICT (ad_reference_uu) DO UPDATE
   SET name = EXCLUDED.name, validationtype = EXCLUDED.validationtype, isactive = true
RETURNING ad_reference_id
"""

_UPSERT_REF_TABLE = """
INSERT INTO ad_ref_table (ad_reference_id, tablename, keycolumn, displaycolumn,
                          whereclause)
VALUES (%(reference_id)s, %(table)s, %(key)s, %(display)s, %(where)s)
ON CONFLICT (ad_reference_id) DO UPDATE
   SET tablename = EXCLUDED.tablename, keycolumn = EXCLUDED.keycolumn,
       displaycolumn = EXCLUDED.displaycolumn, whereclause = EXCLUDED.whereclause
"""

_UPSERT_REF_LIST = """
INSERT INTO ad_ref_list (ad_ref_list_id, ad_ref_list_uu, ad_reference_id, value, name,
                         description, seqno, entitytype)
VALUES (COALESCE(%(id)s, nextval(pg_get_serial_sequence('ad_ref_list',
        'ad_ref_list_id'))), %(uuid)s, %(reference_id)s, %(value)s, %(name)s,
        %(description)s, %(seqno)s, %(entity_type)s)
ON CONFLICT (ad_ref_list_uu) DO UPDATE
   SET value = EXCLUDED.value, name = EXCLUDED.name,
       description = EXCLUDED.description, seqno = EXCLUDED.seqno,
       entitytype = EXCLUDED.entitytype, isactive = true, updated = now()
"""

_UPSERT_PROCESS = """
INSERT INTO ad_process (ad_process_id, ad_process_uu, value, slug, name, description,
                        help, entitytype, isreport, ad_reportview_id,
                        ad_printformat_id, classname, allowmultipleexecution, queue)
VALUES (COALESCE(%(id)s, nextval(pg_get_serial_sequence('ad_process',
        'ad_process_id'))), %(uuid)s, %(value)s, %(slug)s, %(name)s, %(description)s,
        %(help)s, %(entity_type)s, %(is_report)s, %(report_view_id)s,
        %(print_format_id)s, %(classname)s, %(allow_multiple)s, %(queue)s)
ON CONFLICT (ad_process_uu) DO UPDATE
   SET value = EXCLUDED.value, slug = EXCLUDED.slug, name = EXCLUDED.name,
       description = EXCLUDED.description, help = EXCLUDED.help,
       entitytype = EXCLUDED.entitytype, isreport = EXCLUDED.isreport,
       ad_reportview_id = EXCLUDED.ad_reportview_id,
       ad_printformat_id = EXCLUDED.ad_printformat_id,
       classname = EXCLUDED.classname,
       allowmultipleexecution = EXCLUDED.allowmultipleexecution,
       queue = EXCLUDED.queue, isactive = true, updated = now()
RETURNING ad_process_id
"""

_UPSERT_PARAMETER = """
INSERT INTO ad_process_para (ad_process_para_id, ad_process_para_uu, ad_process_id,
    seqno, columnname, name, description, help, ad_reference_id,
    ad_reference_value_id, ismandatory, isrange, defaultvalue, defaultvalue2,
    valuemin, valuemax, fieldlength, displaylogic, entitytype)
VALUES (COALESCE(%(id)s, nextval(pg_get_serial_sequence('ad_process_para',
        'ad_process_para_id'))), %(uuid)s, %(process_id)s, %(seqno)s,
        %(column_name)s, %(name)s, %(description)s, %(help)s, %(reference)s,
        %(reference_value)s, %(mandatory)s, %(is_range)s, %(default)s,
        %(default_to)s, %(value_min)s, %(value_max)s, %(length)s,
        %(display_logic)s, %(entity_type)s)
ON CONFLICT (ad_process_para_uu) DO UPDATE
   SET seqno = EXCLUDED.seqno, columnname = EXCLUDED.columnname,
       name = EXCLUDED.name, description = EXCLUDED.description,
       help = EXCLUDED.help, ad_reference_id = EXCLUDED.ad_reference_id,
       ad_reference_value_id = EXCLUDED.ad_reference_value_id,
       ismandatory = EXCLUDED.ismandatory, isrange = EXCLUDED.isrange,
       defaultvalue = EXCLUDED.defaultvalue, defaultvalue2 = EXCLUDED.defaultvalue2,
       valuemin = EXCLUDED.valuemin, valuemax = EXCLUDED.valuemax,
       fieldlength = EXCLUDED.fieldlength, displaylogic = EXCLUDED.displaylogic,
       entitytype = EXCLUDED.entitytype, isactive = true, updated = now()
"""

# Report views and print formats keep their ids from sync to sync (matched by
# UUID), so a print-format-id that a client keeps stays valid.
_UPSERT_REPORT_VIEW = """
INSERT INTO ad_reportview (ad_reportview_id, ad_reportview_uu, name, source,
                           clientcolumn, arguments, entitytype)
VALUES (COALESCE(%(id)s, nextval(pg_get_serial_sequence('ad_reportview',
        'ad_reportview_id'))), %(uuid)s, %(name)s, %(source)s, %(client_column)s,
        %(arguments)s, %(entity_type)s)
ON CONFLICT (ad_reportview_uu) DO UPDATE
   SET name = EXCLUDED.name, source = EXCLUDED.source,
       clientcolumn = EXCLUDED.clientcolumn, arguments = EXCLUDED.arguments,
       entitytype = EXCLUDED.entitytype, isactive = true, updated = now()
RETURNING ad_reportview_id
"""

_UPSERT_PRINT_FORMAT = """
INSERT INTO ad_printformat (ad_printformat_id, ad_printformat_uu, ad_reportview_id,
                            name, isdefault, entitytype)
VALUES (COALESCE(%(id)s, nextval(pg_get_serial_sequence('ad_printformat',
        'ad_printformat_id'))), %(uuid)s, %(view_id)s, %(name)s, %(is_default)s,
        %(entity_type)s)
ON CONFLICT (ad_printformat_uu) DO UPDATE
   SET ad_reportview_id = EXCLUDED.ad_reportview_id, name = EXCLUDED.name,
       isdefault = EXCLUDED.isdefault, entitytype = EXCLUDED.entitytype,
       isactive = true, updated = now()
RETURNING ad_printformat_id
"""

_DELETE_PRINT_FORMAT_ITEMS = """
DELETE FROM ad_printformatitem WHERE ad_printformat_id = %(print_format_id)s
"""

_INSERT_PRINT_FORMAT_ITEM = """
INSERT INTO ad_printformatitem (ad_printformat_id, seqno, columnname, printname,
    kind, width, align, formatpattern, sortno, isdesc, isgroupby, totalfunction)
VALUES (%(print_format_id)s, %(seqno)s, %(column)s, %(header)s, %(kind)s,
    %(width)s, %(align)s, %(format)s, %(sort)s, %(descending)s, %(group_by)s,
    %(total)s)
"""

_DEACTIVATE_OTHER_REPORT_VIEWS = """
UPDATE ad_reportview SET isactive = false, updated = now()
 WHERE isactive AND NOT (ad_reportview_uu = ANY(%(kept)s::uuid[]))
"""

_DEACTIVATE_OTHER_PRINT_FORMATS = """
UPDATE ad_printformat SET isactive = false, updated = now()
 WHERE isactive AND NOT (ad_printformat_uu = ANY(%(kept)s::uuid[]))
"""

_DEACTIVATE_OTHER_PARAMETERS = """
UPDATE ad_process_para SET isactive = false, updated = now()
 WHERE ad_process_id = %(process_id)s AND isactive
   AND NOT (ad_process_para_uu = ANY(%(kept)s::uuid[]))
"""

_DEACTIVATE_OTHER_PROCESSES = """
UPDATE ad_process SET isactive = false, updated = now()
 WHERE isactive AND NOT (ad_process_uu = ANY(%(kept)s::uuid[]))
"""

# For each translated table: make the missing rows of active non-base languages.
_TRANSLATIONS = [
    """
    INSERT INTO ad_process_trl (ad_process_id, ad_language, name, description, help)
    SELECT p.ad_process_id, l.ad_language, p.name, p.description, p.help
      FROM ad_process p CROSS JOIN ad_language l
     WHERE l.isactive AND l.issystemlanguage AND NOT l.isbaselanguage
    ON CONFLICT DO NOTHING
    """,
    """
    INSERT INTO ad_process_para_trl (ad_process_para_id, ad_language, name,
                                     description, help, placeholder, placeholder2)
    SELECT p.ad_process_para_id, l.ad_language, p.name, p.description, p.help,
           p.placeholder, p.placeholder2
      FROM ad_process_para p CROSS JOIN ad_language l
     WHERE l.isactive AND l.issystemlanguage AND NOT l.isbaselanguage
    ON CONFLICT DO NOTHING
    """,
    """
    INSERT INTO ad_ref_list_trl (ad_ref_list_id, ad_language, name, description)
    SELECT r.ad_ref_list_id, l.ad_language, r.name, r.description
      FROM ad_ref_list r CROSS JOIN ad_language l
     WHERE l.isactive AND l.issystemlanguage AND NOT l.isbaselanguage
    ON CONFLICT DO NOTHING
    """,
]


def sync_dictionary(
    conn: psycopg.Connection[Row], declared: Mapping[str, Process]
) -> None:
    """Make the dictionary say what the code declares (call inside a transaction)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SYNC_LOCK,))
    _sync_data_types(conn)
    kept = [d.process_uuid for d in declared.values()]
    conn.execute(_DEACTIVATE_OTHER_PROCESSES, {"kept": kept})
    for declaration in declared.values():
        _sync_process(conn, declaration)
    _deactivate_other_reports(conn, declared.values())
    sync_translations(conn)
    log.info("dictionary.synced", processes=len(declared))


def sync_translations(conn: psycopg.Connection[Row]) -> None:
    """Make the missing translation rows; rows that exist are left as they are."""
    for statement in _TRANSLATIONS:
        conn.execute(statement)


def _sync_data_types(conn: psycopg.Connection[Row]) -> None:
    for ref, name in REFERENCE_NAMES.items():
        conn.execute(
            _UPSERT_REFERENCE,
            {
                "id": int(ref),
                "uuid": derived_uuid("reference", str(int(ref))),
                "name": name,
                "kind": "D",
            },
        )


def _sync_process(conn: psycopg.Connection[Row], declaration: Process) -> None:
    report_ids = _sync_report(conn, declaration)
    try:
        with conn.transaction():
            process_id = _upsert_process(conn, declaration, *report_ids)
    except psycopg.errors.UniqueViolation as error:
        raise RegistryError(
            f"{declaration.value!r} ({declaration.origin}) has the slug "
            f"{declaration.slug!r}, which another process of the dictionary has"
        ) from error
    for seqno, parameter in _numbered(declaration.parameters):
        _sync_parameter(conn, declaration, process_id, seqno, parameter)
    conn.execute(
        _DEACTIVATE_OTHER_PARAMETERS,
        {
            "process_id": process_id,
            "kept": [declaration.parameter_uuid(p) for p in declaration.parameters],
        },
    )


def _upsert_process(
    conn: psycopg.Connection[Row],
    declaration: Process,
    report_view_id: int | None,
    print_format_id: int | None,
) -> int:
    row = conn.execute(
        _UPSERT_PROCESS,
        {
            "id": declaration.id,
            "uuid": declaration.process_uuid,
            "value": declaration.value,
            "slug": declaration.slug,
            "name": declaration.name,
            "description": declaration.description or None,
            "help": declaration.help or None,
            "entity_type": declaration.entity_type,
            "is_report": declaration.is_report,
            "report_view_id": report_view_id,
            "print_format_id": print_format_id,
            "classname": declaration.classname,
            "allow_multiple": declaration.allow_multiple_execution,
            "queue": declaration.queue,
        },
    ).fetchone()
    assert row is not None
    return int(row["ad_process_id"])


def _sync_report(
    conn: psycopg.Connection[Row], declaration: Process
) -> tuple[int | None, int | None]:
    """Write a report's view and print formats; their ids, the first format's
    being the default."""
    report = declaration.report
    if report is None:
        return None, None
    view = report.view
    row = conn.execute(
        _UPSERT_REPORT_VIEW,
        {
            "id": view.id,
            "uuid": report_view_uuid(view),
            "name": view.name,
            "source": view.source,
            "client_column": view.client_column,
            "arguments": list(view.arguments),
            "entity_type": declaration.entity_type,
        },
    ).fetchone()
    assert row is not None
    view_id = int(row["ad_reportview_id"])
    format_ids = [
        _sync_print_format(conn, declaration, view_id, print_format, index == 0)
        for index, print_format in enumerate(report.formats)
    ]
    return view_id, format_ids[0]


def _sync_print_format(
    conn: psycopg.Connection[Row],
    declaration: Process,
    view_id: int,
    print_format: PrintFormat,
    is_default: bool,
) -> int:
    assert declaration.report is not None
    row = conn.execute(
        _UPSERT_PRINT_FORMAT,
        {
            "id": print_format.id,
            "uuid": print_format_uuid(declaration.report.view, print_format),
            "view_id": view_id,
            "name": print_format.name,
            "is_default": is_default,
            "entity_type": declaration.entity_type,
        },
    ).fetchone()
    assert row is not None
    print_format_id = int(row["ad_printformat_id"])
    conn.execute(_DELETE_PRINT_FORMAT_ITEMS, {"print_format_id": print_format_id})
    with conn.cursor() as cursor:
        cursor.executemany(
            _INSERT_PRINT_FORMAT_ITEM,
            [
                {
                    "print_format_id": print_format_id,
                    "seqno": 10 * (index + 1),
                    **_item_values(item),
                }
                for index, item in enumerate(print_format.items)
            ],
        )
    return print_format_id


def _item_values(item: FormatItem) -> dict[str, object]:
    return {
        "column": item.column,
        "header": item.header,
        "kind": item.kind,
        "width": item.width,
        "align": item.align,
        "format": item.format,
        "sort": item.sort,
        "descending": item.descending,
        "group_by": item.group_by,
        "total": item.total,
    }


def _deactivate_other_reports(
    conn: psycopg.Connection[Row], declared: Iterable[Process]
) -> None:
    reports = [d.report for d in declared if d.report is not None]
    views = [report_view_uuid(r.view) for r in reports]
    formats = [print_format_uuid(r.view, f) for r in reports for f in r.formats]
    conn.execute(_DEACTIVATE_OTHER_REPORT_VIEWS, {"kept": views})
    conn.execute(_DEACTIVATE_OTHER_PRINT_FORMATS, {"kept": formats})


def _numbered(parameters: Iterable[Parameter]) -> Iterable[tuple[int, Parameter]]:
    return ((10 * (index + 1), p) for index, p in enumerate(parameters))


def _sync_parameter(
    conn: psycopg.Connection[Row],
    declaration: Process,
    process_id: int,
    seqno: int,
    parameter: Parameter,
) -> None:
    reference_value = _sync_values(conn, declaration, parameter)
    conn.execute(
        _UPSERT_PARAMETER,
        {
            "id": parameter.id,
            "uuid": declaration.parameter_uuid(parameter),
            "process_id": process_id,
            "seqno": seqno,
            "column_name": parameter.column_name,
            "name": parameter.name,
            "description": parameter.description or None,
            "help": parameter.help or None,
            "reference": int(parameter.reference),
            "reference_value": reference_value,
            "mandatory": parameter.mandatory,
            "is_range": parameter.is_range,
            "default": parameter.default,
            "default_to": parameter.default_to,
            "value_min": parameter.value_min,
            "value_max": parameter.value_max,
            "length": parameter.length,
            "display_logic": parameter.display_logic,
            "entity_type": declaration.entity_type,
        },
    )


def _sync_values(
    conn: psycopg.Connection[Row], declaration: Process, parameter: Parameter
) -> int | None:
    values = parameter.values
    if values is None:
        return None
    reference_uuid = values.uuid or derived_uuid("reference", values.name)
    kind = "L" if isinstance(values, ListReference) else "T"
    row = conn.execute(
        _UPSERT_REFERENCE,
        {"id": values.id, "uuid": reference_uuid, "name": values.name, "kind": kind},
    ).fetchone()
    assert row is not None
    reference_id: int = row["ad_reference_id"]
    if isinstance(values, TableReference):
        _sync_table_reference(conn, reference_id, values)
    else:
        _sync_list(conn, declaration, reference_id, values)
    return reference_id


def _sync_table_reference(
    conn: psycopg.Connection[Row], reference_id: int, values: TableReference
) -> None:
    conn.execute(
        _UPSERT_REF_TABLE,
        {
            "reference_id": reference_id,
            "table": values.table,
            "key": values.key,
            "display": values.display,
            "where": values.where,
        },
    )


def _sync_list(
    conn: psycopg.Connection[Row],
    declaration: Process,
    reference_id: int,
    values: ListReference,
) -> None:
    for seqno, item in enumerate(values.values, start=1):
        conn.execute(
            _UPSERT_REF_LIST,
            {
                "id": item.id,
                "uuid": item.uuid or derived_uuid("list", values.name, item.value),
                "reference_id": reference_id,
                "value": item.value,
                "name": item.name,
                "description": item.description or None,
                "seqno": seqno * 10,
                "entity_type": declaration.entity_type,
            },
        )
