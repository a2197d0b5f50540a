"""Message templates: definitions checked and compiled at save time, rendered in a sandbox per contact."""
