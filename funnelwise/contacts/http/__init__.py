"""The contacts domain's REST routes: contacts, companies and property definitions."""

from fastapi import APIRouter

from funnelwise.contacts.http import companies, contacts, properties

router = APIRouter()
router.include_router(contacts.router)
router.include_router(companies.router)
router.include_router(properties.router)
