"""A developer manages contacts over the REST API."""

import httpx


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
