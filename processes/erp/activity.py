"""Process Activity: procserv's own instances by process, with how many ran, how
many failed and how long they took. Operators read it to see what the workers do.
"""

from __future__ import annotations

from processes.declarations import Parameter, Ref
from processes.erp.lookups import INSTANCE_STATUS, PROCESSES, USERS
from processes.reports import report
from processes.reports.declarations import FormatItem, PrintFormat, ReportView

VIEW = ReportView(name="RV_Process_Activity", source="rv_process_activity")

BY_PROCESS = PrintFormat(
    name="Process Activity",
    items=(
        FormatItem("processname", "Process", width=28, sort=1, group_by=True),
        FormatItem(
            "ad_pinstance_id",
            "Instance",
            "integer",
            align="right",
            sort=3,
            total="count",
        ),
        FormatItem("created", "Created", "datetime", width=16, sort=2),
        FormatItem("username", "User", width=16),
        FormatItem("status", "Status", width=10),
        FormatItem(
            "durationseconds",
            "Duration (s)",
            "number",
            align="right",
            format="#,##0.000",
            total="avg",
        ),
        # 100 for a failed run, 0 for another finished one: its average is the
        # failure rate in percent.
        FormatItem(
            "failed",
            "Failed %",
            "number",
            width=8,
            align="right",
            format="0.0",
            total="avg",
        ),
    ),
)

PROCESS_ACTIVITY = report(
    "RV_Process_Activity",
    "Process Activity",
    view=VIEW,
    formats=(BY_PROCESS,),
    description="Runs of each process: how many, the failure rate and the average "
    "duration",
    help="Every instance of the tenant's processes, grouped by process. The "
    "totals of a process are its number of instances, its average duration in "
    "seconds and the percentage of its finished instances that failed or timed "
    "out; instances still queued or running count in neither average.",
    parameters=(
        Parameter(
            "AD_Process_ID",
            "Process",
            Ref.TABLE,
            description="Process or Report",
            length=10,
            values=PROCESSES,
        ),
        Parameter(
            "AD_User_ID",
            "User",
            Ref.TABLE,
            description="User within the system",
            length=10,
            values=USERS,
        ),
        Parameter(
            "Status",
            "Status",
            Ref.LIST,
            description="Where the instance is: queued, running or finished how",
            length=10,
            values=INSTANCE_STATUS,
        ),
        Parameter(
            "Created",
            "Created",
            Ref.DATE,
            description="The day the instance was created",
            is_range=True,
            length=7,
        ),
    ),
)
