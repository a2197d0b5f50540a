"""Lead scoring: score models of rules in the condition language, with limits, decay, caps and grades.

Importing the package registers the `score` and `grade` condition leaves. The worker calls
`update_scores` for the contacts of each batch of new events; `run_pending_rescores` fills the
versions a rule change asked for.
"""

from funnelwise.scoring import leaves as _leaves  # noqa: F401 (registers the leaves on import)
from funnelwise.scoring.reading import current_scores
from funnelwise.scoring.rescore import run_pending_rescores, run_rescore
from funnelwise.scoring.upkeep import update_scores

__all__ = ["current_scores", "run_pending_rescores", "run_rescore", "update_scores"]
