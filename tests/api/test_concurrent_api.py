"""Many clients upserting the same contact at once end with one contact, and none is refused."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

CLIENTS = 10


def test_concurrent_batches_upserting_one_email_leave_one_contact(api: httpx.Client) -> None:
    start = threading.Barrier(CLIENTS)

    def upsert(number: int) -> httpx.Response:
        with httpx.Client(base_url=str(api.base_url), headers=api.headers, timeout=60) as client:
            batch = {
                "contacts": [
                    {"email": "Kim.Minsu@acme.co.kr", "job_title": f"과장 {number}"},
                    {"email": f"colleague{number}@acme.co.kr"},
                ]
            }
            start.wait(timeout=30)
            return client.post("/api/v1/contacts/batch", json=batch)

    with ThreadPoolExecutor(CLIENTS) as pool:
        responses = list(pool.map(upsert, range(CLIENTS)))

    assert [r.status_code for r in responses] == [200] * CLIENTS, [r.text for r in responses]
    firsts = [r.json()["results"][0] for r in responses]
    assert sorted(f["status"] for f in firsts) == ["created"] + ["updated"] * (CLIENTS - 1)
    assert {f["id"] for f in firsts} == {firsts[0]["id"]}
    found = api.get("/api/v1/contacts", params={"email": "kim.minsu@acme.co.kr"}).json()["results"]
    assert [c["id"] for c in found] == [firsts[0]["id"]]
    assert found[0]["job_title"] in {f"과장 {n}" for n in range(CLIENTS)}
    everyone = api.get("/api/v1/contacts", params={"limit": 1000}).json()["results"]
    assert len(everyone) == CLIENTS + 1
    companies = api.get("/api/v1/companies", params={"domain": "acme.co.kr"}).json()["results"]
    assert len(companies) == 1
    assert {c["company_id"] for c in everyone} == {companies[0]["id"]}
