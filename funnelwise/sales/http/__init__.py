"""The sales domain's REST routes: lifecycle stages, teams and assignment, tasks, deals, accounts."""

from fastapi import APIRouter

from funnelwise.sales.http import accounts, deals, lifecycle, teams, work

router = APIRouter()
router.include_router(lifecycle.router)
router.include_router(teams.router)
router.include_router(work.router)
router.include_router(deals.router)
router.include_router(accounts.router)
