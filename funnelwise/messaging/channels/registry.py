"""Which provider delivers each channel, from the settings; the development outbox where none is set.

Email: SMTP when `FUNNELWISE_SMTP_HOST` is set. SMS and Kakao: Solapi when its key is set. Push:
FCM when a service account is set. The generic HTTP adapter takes the channels it is configured for
that no dedicated provider serves. Webhooks always go out (to the URL the template names).
"""

from funnelwise.context import Context
from funnelwise.messaging.channels.fcm import FcmProvider
from funnelwise.messaging.channels.generic_http import GenericHttpProvider
from funnelwise.messaging.channels.outbox_capture import OutboxCapture
from funnelwise.messaging.channels.smtp import SmtpProvider
from funnelwise.messaging.channels.solapi import SolapiProvider
from funnelwise.messaging.channels.webhook import WebhookProvider
from funnelwise.messaging.message import MessageChannel, Provider

Providers = dict[MessageChannel, Provider]


def providers_from_settings(ctx: Context) -> Providers:
    """One provider object per configured service, shared by the channels it serves."""
    settings = ctx.settings
    providers: Providers = {MessageChannel.WEBHOOK: WebhookProvider(settings, clock=ctx.clock)}
    if settings.smtp_host:
        providers[MessageChannel.EMAIL] = SmtpProvider(settings, ctx.clock)
    # Solapi's request signatures and FCM's access tokens are checked against the providers' own
    # wall clocks, so they keep theirs rather than the (maybe simulated) clock of the context.
    if SolapiProvider.is_configured(settings):
        solapi = SolapiProvider(settings)
        providers |= dict.fromkeys(solapi.channels, solapi)
    if FcmProvider.is_configured(settings):
        fcm = FcmProvider(settings)
        providers |= dict.fromkeys(fcm.channels, fcm)
    if GenericHttpProvider.is_configured(settings):
        generic = GenericHttpProvider(settings)
        providers |= {channel: generic for channel in generic.channels if channel not in providers}
    capture = OutboxCapture()
    return {channel: providers.get(channel, capture) for channel in MessageChannel}
