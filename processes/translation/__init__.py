"""Translation Import/Export (iDempiere's TranslationImpExp).

The process, its parameters and its list values keep iDempiere's ids and UUIDs
(migration IDEMPIERE-4566), so iDempiere's translation packs apply to them.
iDempiere's ``AD_AllClients_V_ID`` and ``Folder`` parameters are left out:
procserv's dictionary is system-wide, and the server reads no folders. An import
reads the file sent in FileName (``{"fileName", "fileContent"}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from processes.context import Context, Result
from processes.declarations import (
    ListReference,
    ListValue,
    Parameter,
    Process,
    Ref,
    TableReference,
)
from processes.translation.export import export_translations
from processes.translation.importer import check_import, import_translations

__all__ = ["TRANSLATION_IMP_EXP"]


def check_parameters(params: Mapping[str, Any]) -> None:
    if params.get("ImportOrExport") == "import":
        check_import(params)


def import_or_export(ctx: Context) -> Result:
    # As in iDempiere, anything but "import" exports.
    if ctx.params.get("ImportOrExport") == "import":
        return import_translations(ctx)
    return export_translations(ctx)


_IMPORT_OR_EXPORT = ListReference(
    name="ImportOrExport",
    values=(
        ListValue(
            "import", "Import", id=200495, uuid="b4359db4-9448-4a1f-b38a-38dc35335b02"
        ),
        ListValue(
            "export", "Export", id=200496, uuid="51595870-5f58-45d0-80d6-8b075fd86d33"
        ),
    ),
    id=200178,
    uuid="2d291969-c2a8-401d-b9ed-1d6f23539f04",
)

_SYSTEM_LANGUAGES = TableReference(
    name="AD_Language System",
    table="ad_language",
    key="ad_language",
    display="name",
    where="issystemlanguage AND isactive",
    id=327,
)

_TRANSLATION_TABLES = TableReference(
    name="AD_Table Trl",
    table="ad_table",
    key="ad_table_id",
    display="tablename",
    where="tablename LIKE '%\\_Trl'",
    id=200179,
    uuid="78da012b-514b-45e0-b253-84510b08cd32",
)

_PARAMETERS = (
    Parameter(
        "ImportOrExport",
        "Import/Export",
        Ref.LIST,
        mandatory=True,
        default="import",
        length=6,
        values=_IMPORT_OR_EXPORT,
        id=200329,
        uuid="c9301822-bbe7-4058-9087-6c90c71a878c",
    ),
    # iDempiere's default is "@SQL=...", which procserv does not evaluate.
    Parameter(
        "AD_Language",
        "Language",
        Ref.TABLE,
        description="Language for this entity",
        help="The Language identifies the language to use for display and formatting",
        mandatory=True,
        length=6,
        values=_SYSTEM_LANGUAGES,
        id=200328,
        uuid="a0c0f233-3825-4e0f-870d-e4dfb73b696d",
    ),
    Parameter(
        "AD_Table_ID",
        "Table",
        Ref.TABLE,
        description="Database Table information",
        help="The Database Table provides the information of the table definition",
        length=10,
        values=_TRANSLATION_TABLES,
        id=200330,
        uuid="6aee4c66-4fa8-4712-bf96-69b3a38b0204",
    ),
    Parameter(
        "IsOnlyCentralizedData",
        "Only Centralized Data",
        Ref.YES_NO,
        # iDempiere has no description; procserv's meaning differs from its id range.
        description="Export only the texts of processes that ship with procserv, "
        "not those added by other packages",
        mandatory=True,
        default="Y",
        length=1,
        display_logic="@ImportOrExport@='export'",
        id=200331,
        uuid="47674c8b-4235-44b5-97c1-84d1d44e99c1",
    ),
    Parameter(
        "FileName",
        "File Name",
        Ref.FILE_NAME,
        # iDempiere's texts offer a local file or a URL; procserv takes neither.
        description="The translation file, or a zip of them, sent with the request",
        help='Sent in the request as {"fileName": "<name>", "fileContent": "<the '
        'file in base64>"}: a zip of *_<language>.xml files (a procserv export or '
        "an iDempiere language pack) or one translation file. The server reads "
        "no files of its own and fetches no URLs.",
        length=1000,
        display_logic="@ImportOrExport@='import'",
        id=200333,
        uuid="25f51c86-2286-45dd-9d14-1e34bbd5e148",
    ),
)

TRANSLATION_IMP_EXP = Process(
    value="TranslationImpExp",
    name="Translation Import/Export",
    run=import_or_export,
    description="Import or Export Language Translation",
    # Two spaces after "tool." as in iDempiere, so the texts match exactly.
    help="Export/Import Translation info to/from xml for translation in external "
    "tool.  Please note that the Language MUST be an enabled and verified System "
    "Language.",
    parameters=_PARAMETERS,
    allow_multiple_execution="P",
    check=check_parameters,
    id=200126,
    uuid="9b654152-331f-4ac7-9c61-06b1d1bc3edf",
)
