"""The queue of contacts whose derived state is to be decided again."""

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from funnelwise.db.base import Base
from funnelwise.db.types import BigIntId, UTCDateTime


class DueContact(Base):
    """Something happened to this contact: an event was logged, a property or a list changed.

    No foreign key: a contact deleted before its turn is skipped, and queueing never waits on
    the contacts table. A contact may be queued many times; one pass decides it for all of them.
    """

    __tablename__ = "reactions_due"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(BigIntId, index=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
