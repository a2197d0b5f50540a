"""A developer manages companies over the REST API; a domain belongs to one company."""

import httpx
from sqlalchemy.orm import Session

from funnelwise.context import Context
from tests.api.support import assert_error, message_of
from tests.factories import make_company, make_contact


def test_a_company_lives_through_create_read_patch_and_delete(api: httpx.Client) -> None:
    created = api.post(
        "/api/v1/companies",
        json={"name": "에이스 테크", "domain": "https://www.Acme.co.kr/about", "size_band": "120명"},
    )
    assert created.status_code == 201, created.text
    company = created.json()
    assert (company["name"], company["domain"], company["size_band"]) == (
        "에이스 테크",
        "acme.co.kr",
        "51-200",
    )

    assert api.get(f"/api/v1/companies/{company['id']}").json() == company

    patched = api.patch(f"/api/v1/companies/{company['id']}", json={"industry": "SaaS", "size_band": None})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["industry"], patched.json()["size_band"]) == ("SaaS", None)
    assert patched.json()["name"] == "에이스 테크"

    deleted = api.delete(f"/api/v1/companies/{company['id']}")
    assert deleted.status_code == 204
    assert_error(api.get(f"/api/v1/companies/{company['id']}"), 404)


def test_deleting_a_company_keeps_its_contacts(api: httpx.Client, session: Session, ctx: Context) -> None:
    contact = make_contact(session, ctx, email="kim@acme.co.kr")
    assert contact.company_id is not None

    assert api.delete(f"/api/v1/companies/{contact.company_id}").status_code == 204

    assert api.get(f"/api/v1/contacts/{contact.id}").json()["company_id"] is None


def test_companies_are_searched_by_name_text_domain_and_industry(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    acme = make_company(session, ctx, name="Acme Korea", domain="acme.co.kr", industry="SaaS")
    make_company(session, ctx, name="Beta Foods", domain="beta.kr", industry="Food")
    acme_labs = make_company(session, ctx, name="ACME Labs 100%", domain="acmelabs.io", industry="SaaS")

    def ids(**params: str) -> list[int]:
        response = api.get("/api/v1/companies", params=params)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["results"]]

    assert ids(name="acme") == [acme.id, acme_labs.id]
    assert ids(name="100%") == [acme_labs.id]
    assert ids(name="%") == [acme_labs.id]
    assert ids(domain="WWW.ACME.CO.KR") == [acme.id]
    assert ids(industry="SaaS", name="labs") == [acme_labs.id]
    assert ids(industry="Retail") == []


def test_company_pages_follow_the_cursor(api: httpx.Client, session: Session, ctx: Context) -> None:
    ids = [make_company(session, ctx).id for _ in range(5)]

    first = api.get("/api/v1/companies", params={"limit": 2}).json()
    second = api.get("/api/v1/companies", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    third = api.get("/api/v1/companies", params={"limit": 2, "cursor": second["next_cursor"]}).json()

    pages = [[c["id"] for c in page["results"]] for page in (first, second, third)]
    assert pages == [ids[:2], ids[2:4], ids[4:]]
    assert third["next_cursor"] is None


def test_a_domain_taken_by_another_company_is_a_conflict(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    holder = make_company(session, ctx, name="Acme", domain="acme.co.kr")
    other = make_company(session, ctx, name="Beta", domain="beta.kr")

    created = api.post("/api/v1/companies", json={"name": "Acme 2", "domain": "ACME.co.kr"})
    patched = api.patch(f"/api/v1/companies/{other.id}", json={"domain": "acme.co.kr"})

    for response in (created, patched):
        body = assert_error(response, 409, "domain")
        assert body["errors"][0]["existing_id"] == holder.id
        assert "acme.co.kr" in message_of(body, "domain")
    assert [c["name"] for c in api.get("/api/v1/companies").json()["results"]] == ["Acme", "Beta"]


def test_a_company_needs_a_name_and_a_sensible_size(api: httpx.Client) -> None:
    nameless = api.post("/api/v1/companies", json={"domain": "acme.co.kr"})
    sized = api.post("/api/v1/companies", json={"name": "Acme", "size_band": "huge"})

    assert_error(nameless, 422, "name")
    assert_error(sized, 422, "size_band")
    assert api.get("/api/v1/companies").json()["results"] == []
