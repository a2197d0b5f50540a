"""Score models, their versions (a rule change builds a new one), and each contact's score per version."""

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from funnelwise.db.base import Base
from funnelwise.db.types import BigIntId, JSONDoc, UTCDateTime


class ScoreModel(Base):
    """A named way of scoring contacts ("fit", "engagement"); readers see its current version's scores."""

    __tablename__ = "score_models"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # The version whose scores readers see; switched in one UPDATE when a rescore finishes.
    # Not a foreign key: versions point at their model, and the cycle would complicate deletes.
    current_version_id: Mapped[int | None] = mapped_column(BigIntId, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScoreModelVersion(Base):
    """One set of rules of a model, with the progress of the rescore that fills its scores.

    `state` is building (a rescore fills it), current (readers see it), retired or failed. The
    columns besides `definition` repeat what SQL needs to read a score at any moment: decay by
    `half_life_days` from `reference_at`, the `cap`, and the three grade thresholds (top first).
    """

    __tablename__ = "score_model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    model_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("score_models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    state: Mapped[str] = mapped_column(String(16))
    reference_at: Mapped[datetime] = mapped_column(UTCDateTime)
    half_life_days: Mapped[float | None] = mapped_column(Float, nullable=True)
    cap: Mapped[float | None] = mapped_column(Float, nullable=True)
    grade_scale: Mapped[str | None] = mapped_column(String(16), nullable=True)
    threshold_1: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold_2: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold_3: Mapped[float | None] = mapped_column(Float, nullable=True)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ContactScore(Base):
    """A contact's score in one version, kept so that it can be read at any moment.

    `fixed` is the sum of the property rules that hold; `level` the event points, each weighted by
    2^((occurred_at - reference_at) / half-life), so the score at `now` is
    min(cap, fixed + level * 2^(-(now - reference_at) / half-life)) without touching the events.
    `by_rule` holds the same two numbers per rule name: what a Score Changed event names.
    """

    __tablename__ = "contact_scores"
    __table_args__ = (Index("ix_contact_scores_contact_id", "contact_id"),)

    version_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("score_model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    fixed: Mapped[float] = mapped_column(Float, default=0.0)
    level: Mapped[float] = mapped_column(Float, default=0.0)
    by_rule: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
