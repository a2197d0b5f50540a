"""Sales: lifecycle stages, owners and assignment, follow-up tasks with SLAs, deals and accounts.

The worker calls `upkeep.process_batch(session, ctx, contact_ids)` after each batch of events (stage
rules, then assignment), `lifecycle.apply_all_stage_rules(session, ctx)` periodically, and
`escalation.escalate_due(sessions, ctx)` on every tick.
"""
