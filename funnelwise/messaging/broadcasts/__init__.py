"""Broadcasts: one-off or scheduled sends to a segment or list, optionally A/B tested, with figures."""

from funnelwise.messaging.broadcasts.figures import broadcast_figures, workflow_figures
from funnelwise.messaging.broadcasts.schemas import (
    BroadcastDetail,
    BroadcastFigures,
    BroadcastIn,
    BroadcastOut,
    BroadcastStatus,
    Figures,
    Rates,
    WorkflowFigures,
)
from funnelwise.messaging.broadcasts.service import (
    advance_broadcasts,
    broadcast_id_named,
    cancel_broadcast,
    create_broadcast,
    get_broadcast,
    list_broadcasts,
    schedule_broadcast,
    send_broadcast,
    start_broadcast,
)

__all__ = [
    "BroadcastDetail",
    "BroadcastFigures",
    "BroadcastIn",
    "BroadcastOut",
    "BroadcastStatus",
    "Figures",
    "Rates",
    "WorkflowFigures",
    "advance_broadcasts",
    "broadcast_figures",
    "broadcast_id_named",
    "cancel_broadcast",
    "create_broadcast",
    "get_broadcast",
    "list_broadcasts",
    "schedule_broadcast",
    "send_broadcast",
    "start_broadcast",
    "workflow_figures",
]
