"""A developer manages contacts over the REST API."""

import httpx
import pytest
from sqlalchemy.orm import Session

from funnelwise.context import Context
from tests.factories import make_contact, make_property


def test_a_created_contact_is_normalised_and_linked_to_its_company(api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/contacts",
        json={"email": " Kim.Minsu@ACME.co.kr ", "phone": "010-1234-5678", "job_title": "마케팅팀 과장"},
    )

    assert response.status_code == 201, response.text
    contact = response.json()
    assert contact["email"] == "kim.minsu@acme.co.kr"
    assert contact["phone"] == "+821012345678"
    assert contact["job_level"] == "manager"
    company = api.get(f"/api/v1/companies/{contact['company_id']}").json()
    assert company["domain"] == "acme.co.kr"


def test_a_contact_lives_through_create_read_patch_and_delete(api: httpx.Client) -> None:
    created = api.post(
        "/api/v1/contacts",
        json={
            "email": "lee.jiwoo@gmail.com",
            "first_name": "지우",
            "last_name": "이",
            "lifecycle_stage": "lead",
        },
    )
    assert created.status_code == 201, created.text
    contact_id = created.json()["id"]
    assert created.json()["company_id"] is None  # free mail: no company

    read = api.get(f"/api/v1/contacts/{contact_id}")
    assert read.status_code == 200
    assert read.json() == created.json()

    patched = api.patch(f"/api/v1/contacts/{contact_id}", json={"lifecycle_stage": "mql", "first_name": None})
    assert patched.status_code == 200, patched.text
    assert patched.json()["lifecycle_stage"] == "mql"
    assert patched.json()["first_name"] is None
    assert patched.json()["last_name"] == "이"
    assert api.get(f"/api/v1/contacts/{contact_id}").json() == patched.json()

    deleted = api.delete(f"/api/v1/contacts/{contact_id}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert api.get(f"/api/v1/contacts/{contact_id}").status_code == 404
    assert api.delete(f"/api/v1/contacts/{contact_id}").status_code == 404


def test_null_removes_a_property_and_leaves_the_others(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "grade", options=None)
    make_property(session, ctx, "seats", "number")
    contact = make_contact(session, ctx, properties={"grade": "A", "seats": 12})

    response = api.patch(f"/api/v1/contacts/{contact.id}", json={"properties": {"grade": None}})

    assert response.status_code == 200, response.text
    assert response.json()["properties"] == {"seats": 12}


@pytest.mark.parametrize("phone", ["010-1234-5678", "01012345678", "+82 10 1234 5678", "+821012345678"])
def test_a_contact_is_found_by_its_phone_in_any_format(
    api: httpx.Client, session: Session, ctx: Context, phone: str
) -> None:
    wanted = make_contact(session, ctx, phone="010 1234 5678")
    make_contact(session, ctx, phone="010-9999-0000")

    response = api.get("/api/v1/contacts", params={"phone": phone})

    assert response.status_code == 200, response.text
    assert [c["id"] for c in response.json()["results"]] == [wanted.id]


def test_contacts_are_filtered_by_lifecycle_stage(api: httpx.Client, session: Session, ctx: Context) -> None:
    lead = make_contact(session, ctx, lifecycle_stage="lead")
    make_contact(session, ctx, lifecycle_stage="customer")
    make_contact(session, ctx)
    another_lead = make_contact(session, ctx, lifecycle_stage="리드")

    response = api.get("/api/v1/contacts", params={"lifecycle_stage": "lead"})

    assert [c["id"] for c in response.json()["results"]] == [lead.id, another_lead.id]
    assert response.json()["next_cursor"] is None


def test_cursor_pages_return_every_contact_exactly_once(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    ids = [make_contact(session, ctx).id for _ in range(7)]
    seen: list[int] = []
    page_sizes: list[int] = []
    params: dict[str, str | int] = {"limit": 3}

    while True:
        page = api.get("/api/v1/contacts", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [c["id"] for c in body["results"]]
        page_sizes.append(len(body["results"]))
        if body["next_cursor"] is None:
            break
        params = {"limit": 3, "cursor": body["next_cursor"]}

    assert seen == ids
    assert page_sizes == [3, 3, 1]


def test_a_batch_stores_the_good_items_and_reports_the_bad_by_index(api: httpx.Client) -> None:
    batch = {
        "key": "email",
        "policy": "overwrite",
        "contacts": [{"email": "a@acme.co.kr", "first_name": "민수"}, {"email": "not-an-email"}],
    }

    response = api.post("/api/v1/contacts/batch", json=batch)

    assert response.status_code == 200, response.text
    body = response.json()
    stored = api.get("/api/v1/contacts", params={"email": "a@acme.co.kr"}).json()["results"]
    assert [c["first_name"] for c in stored] == ["민수"]
    assert (body["created"], body["updated"], body["unchanged"], body["failed"]) == (1, 0, 0, 1)
    good, bad = body["results"]
    assert good == {"index": 0, "status": "created", "id": stored[0]["id"], "errors": []}
    assert bad["index"] == 1
    assert bad["status"] == "failed"
    assert bad["id"] is None
    assert [e["field"] for e in bad["errors"]] == ["email"]
    assert bad["errors"][0]["message"].startswith("invalid email 'not-an-email'")


def test_a_repeated_batch_changes_nothing(api: httpx.Client) -> None:
    batch = {"contacts": [{"email": "a@acme.co.kr", "first_name": "민수"}, {"email": "b@acme.co.kr"}]}
    first = api.post("/api/v1/contacts/batch", json=batch).json()
    before = api.get("/api/v1/contacts").json()["results"]

    again = api.post("/api/v1/contacts/batch", json=batch)

    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["created"], body["updated"], body["unchanged"], body["failed"]) == (0, 0, 2, 0)
    assert [r["id"] for r in body["results"]] == [r["id"] for r in first["results"]]
    assert api.get("/api/v1/contacts").json()["results"] == before


def test_a_batch_updates_an_existing_contact_by_its_key(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    existing = make_contact(session, ctx, email="kim@acme.co.kr", first_name="민수", job_title="대리")

    response = api.post(
        "/api/v1/contacts/batch", json={"contacts": [{"email": "KIM@acme.co.kr", "job_title": "과장"}]}
    )

    assert response.json()["results"] == [{"index": 0, "status": "updated", "id": existing.id, "errors": []}]
    stored = api.get(f"/api/v1/contacts/{existing.id}").json()
    assert (stored["first_name"], stored["job_title"]) == ("민수", "과장")


def test_merging_folds_one_contact_into_another(api: httpx.Client, session: Session, ctx: Context) -> None:
    make_property(session, ctx, "grade")
    keep = make_contact(session, ctx, email="kim@acme.co.kr", first_name="민수")
    gone = make_contact(
        session,
        ctx,
        email="minsu@gmail.com",
        phone="010-1234-5678",
        first_name="Minsu",
        properties={"grade": "A"},
    )

    response = api.post(f"/api/v1/contacts/{keep.id}/merge", json={"merge_id": gone.id})

    assert response.status_code == 200, response.text
    merged = response.json()
    assert merged["id"] == keep.id
    assert (merged["email"], merged["phone"], merged["first_name"]) == (
        "kim@acme.co.kr",
        "+821012345678",
        "민수",
    )
    assert merged["properties"] == {"grade": "A"}
    assert api.get(f"/api/v1/contacts/{gone.id}").json()["id"] == keep.id
    assert [c["id"] for c in api.get("/api/v1/contacts").json()["results"]] == [keep.id]
    # The merged-away email still means the kept contact.
    upsert = api.post(
        "/api/v1/contacts/batch", json={"contacts": [{"email": "minsu@gmail.com", "job_title": "과장"}]}
    )
    assert upsert.json()["results"] == [{"index": 0, "status": "updated", "id": keep.id, "errors": []}]
    assert api.get(f"/api/v1/contacts/{keep.id}").json()["job_title"] == "과장"


def test_a_contact_cannot_be_merged_into_itself(api: httpx.Client, session: Session, ctx: Context) -> None:
    contact = make_contact(session, ctx)

    response = api.post(f"/api/v1/contacts/{contact.id}/merge", json={"merge_id": contact.id})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["merge_id"]


def test_a_csv_with_korean_headers_is_imported_and_bad_rows_reported_by_line(api: httpx.Client) -> None:
    csv_text = (
        "이메일,휴대폰,성명,회사,고객단계\n"
        "kim@acme.co.kr,010-1234-5678,김민수,에이스,리드\n"
        "lee@,010-2222-3333,이지우,에이스,고객\n"
        "park@beta.co.kr,,남궁민수,베타,\n"
    )

    response = api.post(
        "/api/v1/contacts/import",
        files={"file": ("leads.csv", csv_text.encode(), "text/csv")},
        data={"key": "email", "policy": "overwrite"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rows"], body["created"], body["updated"], body["unchanged"], body["failed"]) == (
        3,
        2,
        0,
        0,
        1,
    )
    assert body["ignored_columns"] == []
    assert list(body["columns"]) == ["이메일", "휴대폰", "성명", "회사", "고객단계"]
    assert body["columns"]["이메일"] == "email"
    (bad,) = body["errors"]
    assert bad["line"] == 3
    assert [e["field"] for e in bad["errors"]] == ["email"]
    stored = api.get("/api/v1/contacts").json()["results"]
    assert [(c["email"], c["last_name"], c["first_name"], c["lifecycle_stage"]) for c in stored] == [
        ("kim@acme.co.kr", "김", "민수", "lead"),
        ("park@beta.co.kr", "남궁", "민수", None),
    ]


def test_importing_the_same_csv_again_changes_nothing(api: httpx.Client) -> None:
    files = {"file": ("leads.csv", b"email,first name\nkim@acme.co.kr,Minsu\n", "text/csv")}
    api.post("/api/v1/contacts/import", files=files)

    again = api.post("/api/v1/contacts/import", files=files)

    assert (again.json()["created"], again.json()["unchanged"]) == (0, 1)


def test_an_import_mapping_that_is_not_json_is_named(api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/contacts/import",
        files={"file": ("leads.csv", b"email\nkim@acme.co.kr\n", "text/csv")},
        data={"mapping": "{bad"},
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["mapping"]
    assert api.get("/api/v1/contacts").json()["results"] == []


def test_an_empty_import_file_is_refused(api: httpx.Client) -> None:
    response = api.post("/api/v1/contacts/import", files={"file": ("empty.csv", b"", "text/csv")})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["file"]


def test_contacts_are_exported_as_csv_with_chosen_columns_and_a_bom(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    make_contact(session, ctx, email="kim@acme.co.kr", phone="010-1234-5678", first_name="민수")
    make_contact(session, ctx, email="lee@gmail.com", lifecycle_stage="lead")

    response = api.get("/api/v1/contacts/export", params={"columns": "email,phone,first_name,company_domain"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="contacts.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response.content.decode("utf-8-sig").splitlines() == [
        "email,phone,first_name,company_domain",
        "kim@acme.co.kr,+821012345678,민수,acme.co.kr",
        "lee@gmail.com,,,",
    ]


def test_an_export_takes_the_search_filters_and_korean_headers(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    make_contact(session, ctx, email="kim@acme.co.kr", lifecycle_stage="customer")
    make_contact(session, ctx, email="lee@acme.co.kr", lifecycle_stage="lead")

    response = api.get(
        "/api/v1/contacts/export",
        params={"columns": "email,lifecycle_stage", "korean_headers": "true", "lifecycle_stage": "lead"},
    )

    assert response.content.decode("utf-8-sig").splitlines() == ["이메일,고객단계", "lee@acme.co.kr,lead"]


def test_an_export_with_an_unknown_column_is_refused_before_any_csv(api: httpx.Client) -> None:
    response = api.get("/api/v1/contacts/export", params={"columns": "email,shoe_size"})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert [e["field"] for e in response.json()["errors"]] == ["columns"]
