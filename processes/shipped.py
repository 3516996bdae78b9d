"""The processes that ship with procserv, through its own entry point."""

from __future__ import annotations

from processes.erp import PROCESSES as ERP
from processes.translation import TRANSLATION_IMP_EXP

PROCESSES = (TRANSLATION_IMP_EXP, *ERP)
