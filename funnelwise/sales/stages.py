"""The lifecycle ladder, and which moves along it go forward.

Subscriber → Lead → MQL → SQL → Opportunity → Customer → Evangelist. `other` sits below the ladder
(a contact we know nothing about yet). `disqualified` is off to the side: any contact that is not a
customer yet may be disqualified, and only a deliberate (forced) change takes a contact out again.
"""

from funnelwise.contacts.fields import LifecycleStage

LADDER = (
    LifecycleStage.OTHER,
    LifecycleStage.SUBSCRIBER,
    LifecycleStage.LEAD,
    LifecycleStage.MQL,
    LifecycleStage.SQL,
    LifecycleStage.OPPORTUNITY,
    LifecycleStage.CUSTOMER,
    LifecycleStage.EVANGELIST,
)
_RANK = {stage.value: rank for rank, stage in enumerate(LADDER)}
STAGES = tuple(stage.value for stage in LifecycleStage)


def parse_stage(value: str) -> str:
    """A stage name in lower case, or ValueError naming the stages there are."""
    stage = value.strip().casefold()
    if stage not in STAGES:
        raise ValueError(f"unknown lifecycle stage {value!r}; expected one of {', '.join(STAGES)}")
    return stage


def is_forward(current: str | None, target: str) -> bool:
    """Whether moving from `current` to `target` needs no `force`: it goes forward, or it disqualifies."""
    if current == target:
        return False
    if current is None or current not in STAGES:
        return True
    if current == LifecycleStage.DISQUALIFIED:
        return False
    if target == LifecycleStage.DISQUALIFIED:
        return _RANK[current] < _RANK[LifecycleStage.CUSTOMER]
    return _RANK[target] > _RANK[current]


def earlier_stages(target: str) -> list[str]:
    """The stages a rule may move a contact from to reach `target` (besides having none)."""
    return [stage for stage in STAGES if is_forward(stage, target)]


def precedence(target: str) -> int:
    """Rules are applied in this order: disqualifying first, then the furthest stage first."""
    if target == LifecycleStage.DISQUALIFIED:
        return -1
    return len(LADDER) - _RANK[target]
