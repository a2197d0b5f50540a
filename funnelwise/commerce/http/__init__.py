"""The commerce domain's REST routes."""

from fastapi import APIRouter

from funnelwise.commerce.http import products

router = APIRouter()
router.include_router(products.router)
