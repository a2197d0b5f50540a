"""Dynamic segments, static lists, membership upkeep and audience export.

Importing the package registers the `in_list` and `in_segment` condition leaves.
"""

from funnelwise.segments import leaves as _leaves  # noqa: F401 (registers the leaves on import)
