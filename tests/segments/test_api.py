"""A developer defines segments and keeps lists over the REST API, with a key scoped to segments."""

import csv
import hashlib
import io
from collections.abc import Callable

import httpx
from sqlalchemy.orm import Session

from funnelwise.context import Context
from tests.api.support import assert_error, message_of
from tests.factories import make_contact, make_property
from tests.segments.support import track

MQL = {"property": "lifecycle_stage", "operator": "equals", "value": "mql"}


def _rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.text.removeprefix("\ufeff"))))


def test_a_marketer_previews_an_unsaved_segment_then_saves_it_and_reads_its_members(
    client_with: Callable[..., httpx.Client], session: Session, ctx: Context
) -> None:
    api = client_with("segments:write")
    ada = make_contact(session, ctx, email="ada@example.org", lifecycle_stage="mql")
    make_contact(session, ctx, email="bob@example.org", lifecycle_stage="lead")
    cho = make_contact(session, ctx, email="cho@example.org", lifecycle_stage="mql")

    preview = api.post("/api/v1/segments/preview", json={"condition": MQL, "sample_size": 1})
    created = api.post("/api/v1/segments", json={"name": "MQLs", "description": "ready", "condition": MQL})
    segment = created.json()["segment"]
    members = api.get(f"/api/v1/segments/{segment['id']}/members", params={"limit": 1})
    rest = api.get(
        f"/api/v1/segments/{segment['id']}/members", params={"cursor": members.json()["next_cursor"]}
    )

    assert preview.status_code == 200, preview.text
    assert preview.json()["count"] == 2
    assert [m["email"] for m in preview.json()["sample"]] == ["ada@example.org"]
    assert created.status_code == 201, created.text
    assert created.json()["warnings"] == []
    assert (segment["name"], segment["description"], segment["condition"], segment["member_count"]) == (
        "MQLs", "ready", MQL, 2,
    )  # fmt: skip
    assert [m["id"] for m in members.json()["results"]] == [ada.id]
    assert [m["id"] for m in rest.json()["results"]] == [cho.id]
    assert rest.json()["next_cursor"] is None
    assert api.get("/api/v1/segments").json() == [segment]


def test_a_bad_tree_is_refused_by_the_path_of_its_bad_node(api: httpx.Client) -> None:
    condition = {"all": [MQL, {"event": "Order Completed", "within_last_days": -3}]}

    response = api.post("/api/v1/segments", json={"name": "Broken", "condition": condition})

    body = assert_error(response, 422, "condition.all[1].within_last_days")
    assert (
        message_of(body, "condition.all[1].within_last_days")
        == "expected a whole number of days from 0 to 36600, got int -3"
    )
    assert api.get("/api/v1/segments").json() == []


def test_unknown_names_are_warnings_beside_the_created_segment(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "plan")
    ada = make_contact(session, ctx)
    track(session, ctx, ada.id, "Order Completed", revenue=1000)
    condition = {"any": [{"property": "plna", "operator": "equals", "value": "pro"},
                         {"event": "order completed"}]}  # fmt: skip

    response = api.post("/api/v1/segments", json={"name": "Typos", "condition": condition})

    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == [
        {"path": "any[0]", "message": "no contact property is named 'plna' yet"},
        {
            "path": "any[1]",
            "message": "no event named 'order completed' has been recorded yet; "
            "did you mean 'Order Completed'? Event names match exactly",
        },
    ]


def test_a_second_segment_of_the_same_name_is_a_conflict(api: httpx.Client) -> None:
    assert api.post("/api/v1/segments", json={"name": "MQLs", "condition": MQL}).status_code == 201

    response = api.post("/api/v1/segments", json={"name": "MQLs", "condition": {"all": []}})

    body = assert_error(response, 409, "name")
    assert message_of(body, "name") == "a segment named 'MQLs' exists already"


def test_a_key_without_the_segments_scope_is_refused(client_with: Callable[..., httpx.Client]) -> None:
    reader = client_with("segments:read")
    outsider = client_with("contacts:write")

    assert_error(outsider.get("/api/v1/segments"), 403)
    assert_error(reader.post("/api/v1/segments", json={"name": "x", "condition": MQL}), 403)
    assert_error(reader.post("/api/v1/lists", json={"name": "x"}), 403)
    assert reader.get("/api/v1/lists").json() == []


def test_a_changed_condition_moves_members_in_and_out_at_once(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    ada = make_contact(session, ctx, lifecycle_stage="mql")
    bob = make_contact(session, ctx, lifecycle_stage="sql")
    segment_id = api.post("/api/v1/segments", json={"name": "Hot", "condition": MQL}).json()["segment"]["id"]

    patched = api.patch(
        f"/api/v1/segments/{segment_id}",
        json={"condition": {"property": "lifecycle_stage", "operator": "equals", "value": "sql"}},
    )
    refreshed = api.post(f"/api/v1/segments/{segment_id}/refresh")

    assert patched.status_code == 200, patched.text
    assert patched.json()["segment"]["member_count"] == 1
    members = api.get(f"/api/v1/segments/{segment_id}/members").json()["results"]
    assert [m["id"] for m in members] == [bob.id]
    assert refreshed.json() == {"segment_id": segment_id, "segment_name": "Hot", "entered": 0, "exited": 0,
                                "members": 1}  # fmt: skip
    assert ada.id != bob.id
    assert api.delete(f"/api/v1/segments/{segment_id}").status_code == 204
    assert_error(api.get(f"/api/v1/segments/{segment_id}"), 404)


def test_a_list_gains_members_by_id_email_and_csv_and_loses_them_again(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    ada = make_contact(session, ctx, email="ada@example.org")
    bob = make_contact(session, ctx, email="bob@example.org", user_id="u-bob")
    cho = make_contact(session, ctx, email="cho@example.org")
    list_id = api.post("/api/v1/lists", json={"name": "Webinar 11월"}).json()["id"]

    by_api = api.post(
        f"/api/v1/lists/{list_id}/members",
        json={"contact_ids": [ada.id, 999999], "emails": [" ADA@example.org", "nobody@example.org"]},
    )
    by_csv = api.post(
        f"/api/v1/lists/{list_id}/import",
        files={"file": ("members.csv", "user_id\nu-bob\nu-ghost\n\n", "text/csv")},
    )
    removed = api.post(f"/api/v1/lists/{list_id}/members/remove", json={"emails": ["ada@example.org"]})

    assert by_api.json() == {"changed": 1, "unchanged": 0, "not_found": ["999999", "nobody@example.org"]}
    assert by_csv.json() == {"rows": 2, "added": 1, "unchanged": 0, "failed": 1,
                             "errors": [{"line": 3, "reason": "user_id: no contact with user_id 'u-ghost'"}]}  # fmt: skip
    assert removed.json() == {"changed": 1, "unchanged": 0, "not_found": []}
    assert [m["id"] for m in api.get(f"/api/v1/lists/{list_id}/members").json()["results"]] == [bob.id]
    assert api.get(f"/api/v1/lists/{list_id}").json()["member_count"] == 1
    assert cho.id not in (ada.id, bob.id)


def test_a_segment_exports_chosen_columns_and_hashed_identifiers(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    make_contact(session, ctx, email="Ada@Example.org", phone="010-1234-5678", lifecycle_stage="mql",
                 first_name="=HYPERLINK(1)")  # fmt: skip
    make_contact(session, ctx, email="bob@example.org", lifecycle_stage="lead")
    segment_id = api.post("/api/v1/segments", json={"name": "MQLs", "condition": MQL}).json()["segment"]["id"]

    plain = api.get(f"/api/v1/segments/{segment_id}/export", params={"columns": "email,first_name,phone"})
    google = api.get(f"/api/v1/segments/{segment_id}/export", params={"hashed": "google"})
    meta = api.get(f"/api/v1/segments/{segment_id}/export", params={"hashed": "meta"})
    bad = api.get(f"/api/v1/segments/{segment_id}/export", params={"columns": "email,shoe_size"})

    email = hashlib.sha256(b"ada@example.org").hexdigest()
    assert _rows(plain) == [
        ["email", "first_name", "phone"],
        ["ada@example.org", "'=HYPERLINK(1)", "+821012345678"],
    ]
    assert _rows(google) == [["Email", "Phone"], [email, hashlib.sha256(b"+821012345678").hexdigest()]]
    assert _rows(meta) == [["email", "phone"], [email, hashlib.sha256(b"821012345678").hexdigest()]]
    assert_error(bad, 422, "columns")
