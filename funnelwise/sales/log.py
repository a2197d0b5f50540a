"""What the sales package writes to the one event log, with message ids that make a retry harmless.

A message id names what changed and when: `stage-345-mql-2026-11-22T01:00:00+00:00`,
`owner-345-7-2026-11-22T01:00:00+00:00`, so writing the same change twice stores one event.
"""

STAGE_CHANGED = "Lifecycle Stage Changed"
OWNER_ASSIGNED = "Owner Assigned"
TASK_OVERDUE = "Sales Task Overdue"
DEAL_STAGE_CHANGED = "Deal Stage Changed"
