"""Request and response bodies that exist only at the HTTP edge."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from funnelwise.api.deps import MAX_ID
from funnelwise.contacts.bulk import DedupeKey, Outcome, RowResult, UpdatePolicy, counts_by_outcome
from funnelwise.contacts.importer import ImportSummary
from funnelwise.csvfile import RowError

MAX_BATCH = 1_000


class FieldErrorOut(BaseModel):
    field: str
    message: str


class ContactBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: DedupeKey = DedupeKey.EMAIL
    policy: UpdatePolicy = UpdatePolicy.OVERWRITE
    # Items stay loose here so that one bad contact fails alone, reported by its index.
    contacts: list[Any] = Field(min_length=1, max_length=MAX_BATCH)


class BatchItemOut(BaseModel):
    index: int
    status: Outcome
    id: int | None
    errors: list[FieldErrorOut]


class ContactBatchOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    failed: int
    results: list[BatchItemOut]

    @classmethod
    def of(cls, results: list[RowResult]) -> "ContactBatchOut":
        items = [
            BatchItemOut(
                index=i,
                status=r.outcome,
                id=r.contact_id,
                errors=[FieldErrorOut(field=e.field, message=e.message) for e in r.errors],
            )
            for i, r in enumerate(results)
        ]
        return cls(**counts_by_outcome(r.outcome for r in results), results=items)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merge_id: int = Field(
        ge=1, le=MAX_ID, description="The contact folded into this one; its id keeps resolving here."
    )


class ImportErrorOut(BaseModel):
    line: int
    errors: list[FieldErrorOut]


class ImportOut(BaseModel):
    rows: int
    created: int
    updated: int
    unchanged: int
    failed: int
    columns: dict[str, str | None]
    ignored_columns: list[str]
    errors: list[ImportErrorOut]

    @classmethod
    def of(cls, summary: ImportSummary, errors: list[RowError]) -> "ImportOut":
        return cls(
            **{k: getattr(summary, k) for k in ("rows", "created", "updated", "unchanged", "failed")},
            columns=summary.columns,
            ignored_columns=summary.ignored_columns,
            errors=[
                ImportErrorOut(
                    line=e.line, errors=[FieldErrorOut(field=f.field, message=f.message) for f in e.errors]
                )
                for e in errors
            ],
        )
