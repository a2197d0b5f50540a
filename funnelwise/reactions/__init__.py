"""Reactions to what happened to a contact: its segments (and, as they land, scores, stage, triggers)."""
