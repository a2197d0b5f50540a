"""Sales: lifecycle stages, owners and assignment, follow-up tasks with SLAs, deals and accounts.

The worker calls `process_batch(session, ctx, contact_ids)` after each batch of events (stage rules,
then assignment) and `escalate_overdue(session, ctx)` on every tick.
"""
