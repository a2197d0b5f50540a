"""`funnelwise stage …` and `funnelwise sales …`: lifecycle stages, routing, follow-ups, deals, accounts."""

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.markup import escape
from sqlalchemy.orm import Session

from funnelwise.cli.runtime import console, fail_on, read_yaml_mapping, runtime
from funnelwise.context import Context
from funnelwise.errors import DomainError, FieldError, InvalidInput
from funnelwise.sales.accounts import account
from funnelwise.sales.assignment import (
    assign_all_unowned,
    assign_contacts,
    create_assignment_rule,
    list_assignment_rules,
)
from funnelwise.sales.deals import (
    create_deal,
    create_pipeline,
    default_pipeline,
    list_deals,
    list_pipelines,
    move_deal,
)
from funnelwise.sales.escalation import escalate_overdue
from funnelwise.sales.lifecycle import (
    apply_all_stage_rules,
    change_stage,
    create_stage_rule,
    list_stage_rules,
    stage_history,
)
from funnelwise.sales.lookup import company_id_named, contact_id_named, user_id_named
from funnelwise.sales.schemas import (
    AssignmentRuleIn,
    DealIn,
    DealMoveIn,
    NameWarningOut,
    PipelineIn,
    SlaPolicyIn,
    StageRuleIn,
    TeamIn,
)
from funnelwise.sales.tasks import create_sla_policy, list_tasks
from funnelwise.sales.teams import add_team_members, create_team, list_teams, team_id_named

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

stage = typer.Typer(
    help="Lifecycle stages: rules that move contacts forward, moves by hand.", no_args_is_help=True
)
stage_rule = typer.Typer(help="Stage rules: a condition and the stage it leads to.", no_args_is_help=True)
sales = typer.Typer(
    help="Sales: teams, assignment, follow-up tasks, deals and accounts.", no_args_is_help=True
)
team = typer.Typer(help="Sales teams: salespeople who take turns, and their manager.", no_args_is_help=True)
rule = typer.Typer(help="Assignment rules: who gets which unowned contacts.", no_args_is_help=True)
sla = typer.Typer(
    help="SLA policies: follow-up deadlines for contacts entering a stage.", no_args_is_help=True
)
pipeline = typer.Typer(help="Deal pipelines and their stages.", no_args_is_help=True)
deal = typer.Typer(help="Deals: amounts in KRW, moving through a pipeline.", no_args_is_help=True)
ContactArgument = typer.Argument(..., help="The contact's id or email")
YamlFile = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="A YAML file")


def register(app: typer.Typer) -> None:
    stage.add_typer(stage_rule, name="rule")
    sales.add_typer(team, name="team")
    sales.add_typer(rule, name="rule")
    sales.add_typer(sla, name="sla")
    sales.add_typer(pipeline, name="pipeline")
    sales.add_typer(deal, name="deal")
    app.add_typer(stage, name="stage")
    app.add_typer(sales, name="sales")


# Stages


@stage.command("set")
def stage_set(
    contact: str = ContactArgument,
    to: str = typer.Argument(..., help="subscriber, lead, mql, sql, opportunity, customer, evangelist, …"),
    force: bool = typer.Option(False, "--force", help="Allow a move back (or out of disqualified)"),
    reason: str = typer.Option("", help="Why, for the history"),
    by: str | None = typer.Option(None, "--by", help="The team member making the change (id or email)"),
) -> None:
    """Move a contact to a stage; moving back needs --force."""
    moved = _write(
        lambda session, ctx: change_stage(
            session,
            ctx,
            contact_id_named(session, contact),
            to,
            force=force,
            user_id=user_id_named(session, by) if by else None,
            reason=reason,
        )
    )
    if moved.change is None:
        console.print(f"Contact {moved.contact_id} is at {moved.stage} already.")
    else:
        console.print(
            f"Contact {moved.contact_id}: {moved.change.from_stage or 'none'} → {moved.change.to_stage}."
        )


@stage.command("history")
def stage_history_command(contact: str = ContactArgument) -> None:
    """Print every stage the contact entered: when, from which stage, and how (tab-separated)."""
    rows = _read(lambda session: stage_history(session, contact_id_named(session, contact)))
    for row in rows:
        how = {"rule": f"rule {row.rule_id or '-'}", "user": f"user {row.user_id or '-'}"}.get(
            row.source, row.source
        )
        forced = "forced" if row.forced else ""
        typer.echo(
            "\t".join(
                [row.entered_at.isoformat(), row.from_stage or "", row.to_stage, how, forced, row.reason]
            )
        )


@stage.command("apply")
def stage_apply() -> None:
    """Move every contact forward by the active stage rules now."""
    result = _write(apply_all_stage_rules)
    entered = ", ".join(f"{count} to {name}" for name, count in result.entered.items()) or "nobody moved"
    console.print(f"{result.changed} contacts moved: {entered}.")


@stage_rule.command("create")
def stage_rule_create(file: Path = YamlFile) -> None:
    """Create a stage rule from YAML: name, stage, condition."""
    data = _model(StageRuleIn, read_yaml_mapping(file, "a mapping"))
    saved = _write(lambda session, ctx: create_stage_rule(session, ctx, data))
    _warn(saved.warnings)
    console.print(f"Created stage rule {escape(saved.rule.name)} (id {saved.rule.id}) → {saved.rule.stage}.")


@stage_rule.command("list")
def stage_rule_list() -> None:
    """List stage rules: id, name, stage, active."""
    for found in _read(list_stage_rules):
        typer.echo(f"{found.id}\t{found.name}\t{found.stage}\t{'active' if found.is_active else 'inactive'}")


# Teams and assignment


@team.command("create")
def team_create(
    name: str = typer.Argument(...),
    manager: str | None = typer.Option(None, help="The manager overdue tasks escalate to (id or email)"),
    member: list[str] = typer.Option([], help="A salesperson (id or email), repeatable"),
) -> None:
    """Create a team of salespeople who take turns."""
    created = _write(
        lambda session, ctx: create_team(
            session,
            ctx,
            TeamIn(
                name=name,
                manager_id=user_id_named(session, manager) if manager else None,
                member_ids=[user_id_named(session, m) for m in member],
            ),
        )
    )
    console.print(
        f"Created team {escape(created.name)} (id {created.id}) with {len(created.member_ids)} members."
    )


@team.command("add")
def team_add(
    name: str = typer.Argument(..., help="The team's name or id"),
    member: list[str] = typer.Option(..., help="A salesperson (id or email), repeatable"),
) -> None:
    """Add salespeople to a team."""
    changed = _write(
        lambda session, ctx: add_team_members(
            session, ctx, team_id_named(session, name), [user_id_named(session, m) for m in member]
        )
    )
    console.print(f"Team {escape(changed.name)} has {len(changed.member_ids)} members.")


@team.command("list")
def team_list() -> None:
    """List teams: id, name, manager id, member ids."""
    for found in _read(list_teams):
        members = ",".join(str(m) for m in found.member_ids)
        typer.echo(f"{found.id}\t{found.name}\t{found.manager_id or ''}\t{members}")


@rule.command("create")
def rule_create(file: Path = YamlFile) -> None:
    """Create an assignment rule from YAML: name, condition, and team (name) or user (email)."""
    data = read_yaml_mapping(file, "a mapping")
    team_name, user = data.pop("team", None), data.pop("user", None)

    def create(session: Session, ctx: Context) -> Any:
        if team_name is not None:
            data["team_id"] = team_id_named(session, str(team_name))
        if user is not None:
            data["user_id"] = user_id_named(session, str(user))
        return create_assignment_rule(session, ctx, _model(AssignmentRuleIn, data))

    saved = _write(create)
    _warn(saved.warnings)
    console.print(
        f"Created assignment rule {escape(saved.rule.name)} (id {saved.rule.id}, position {saved.rule.position})."
    )


@rule.command("list")
def rule_list() -> None:
    """List assignment rules in the order they are tried: position, id, name, team or user."""
    for found in _read(list_assignment_rules):
        target = f"team {found.team_id}" if found.team_id else f"user {found.user_id}"
        typer.echo(f"{found.position}\t{found.id}\t{found.name}\t{target}")


@sales.command("assign")
def assign(contact: list[str] = typer.Option([], help="Only this contact (id or email), repeatable")) -> None:
    """Give unowned contacts an owner by their company and the assignment rules (default: all)."""

    def run(session: Session, ctx: Context) -> Any:
        if contact:
            return assign_contacts(session, ctx, [contact_id_named(session, c) for c in contact])
        return assign_all_unowned(session, ctx)

    assignments = _write(run)
    for made in assignments:
        typer.echo(f"{made.contact_id}\t{made.owner_id}\t{made.via}")
    console.print(f"{len(assignments)} contacts assigned.")


# Follow-ups


@sla.command("create")
def sla_create(
    name: str = typer.Option(...),
    stage_name: str = typer.Option(..., "--stage", help="The stage whose entry opens the task"),
    within: int = typer.Option(..., help="Minutes until the task is due"),
    title: str = typer.Option("Follow up", help="The task's title"),
    email: str | None = typer.Option(None, help="Also escalate to this address"),
    webhook: str | None = typer.Option(None, help="Also escalate to this URL (signed)"),
    no_manager: bool = typer.Option(
        False, "--no-manager", help="Do not escalate to the owner's team manager"
    ),
) -> None:
    """Create an SLA policy; a webhook's signing secret is printed once."""
    data = _model(
        SlaPolicyIn,
        {"name": name, "stage": stage_name, "within_minutes": within, "task_title": title, "escalate_email": email,
         "webhook_url": webhook, "escalate_to_manager": not no_manager},
    )  # fmt: skip
    created = _write(lambda session, ctx: create_sla_policy(session, ctx, data))
    console.print(f"Created SLA policy {escape(created.policy.name)} (id {created.policy.id}).")
    if created.webhook_secret:
        console.print("The webhook signing secret, shown only this once:")
        typer.echo(created.webhook_secret)


@sales.command("tasks")
def tasks(
    overdue: bool = typer.Option(False, help="Only open tasks past due"),
    owner: str | None = typer.Option(None, help="Only this salesperson's (id or email)"),
) -> None:
    """Print open tasks: id, due, owner id, contact id, title (tab-separated)."""

    def read(session: Session, ctx: Context) -> Any:
        owner_id = user_id_named(session, owner) if owner else None
        return list_tasks(session, ctx, owner_id=owner_id, status="open", overdue=overdue, limit=1000).results

    for task in _write(read):
        typer.echo(
            f"{task.id}\t{task.due_at.isoformat()}\t{task.owner_id or ''}\t{task.contact_id or ''}\t{task.title}"
        )


@sales.command("escalate")
def escalate() -> None:
    """Escalate overdue tasks now (the worker does this on every tick)."""
    run = runtime()
    try:
        with run.sessions() as session:
            report = escalate_overdue(session, run.context)
            session.commit()
    except DomainError as exc:
        fail_on(exc)
    console.print(
        f"{report.overdue_tasks} overdue tasks: {report.sent} sent, {report.retrying} to retry, "
        f"{report.failed} failed, {report.unknown} unknown."
    )


# Deals and accounts


@pipeline.command("create")
def pipeline_create(file: Path = YamlFile) -> None:
    """Create a pipeline from YAML: name, stages (key, name, probability, outcome open|won|lost)."""
    data = _model(PipelineIn, read_yaml_mapping(file, "a mapping"))
    created = _write(lambda session, ctx: create_pipeline(session, ctx, data))
    console.print(
        f"Created pipeline {escape(created.name)} (id {created.id}) with {len(created.stages)} stages."
    )


@pipeline.command("list")
def pipeline_list() -> None:
    """Print pipelines and their stages: pipeline id, name, stage key, probability, outcome."""
    found = _write(lambda session, ctx: list_pipelines(session) or [default_pipeline(session, ctx)])
    for each in found:
        for step in each.stages:
            typer.echo(f"{each.id}\t{each.name}\t{step.key}\t{step.probability}\t{step.outcome}")


@deal.command("create")
def deal_create(
    name: str = typer.Option(...),
    amount: str = typer.Option(..., help="In won by default: 12000000, '12,000,000원'"),
    contact: str | None = typer.Option(None, help="The contact (id or email)"),
    company: str | None = typer.Option(None, help="The company (id, domain or name)"),
    stage_key: str | None = typer.Option(None, "--stage", help="A stage key [default: the first]"),
    pipeline_id: int | None = typer.Option(None, "--pipeline", help="A pipeline id [default: Sales]"),
) -> None:
    """Create a deal."""

    def create(session: Session, ctx: Context) -> Any:
        data = {"name": name, "amount": amount, "stage": stage_key, "pipeline_id": pipeline_id,
                "contact_id": contact_id_named(session, contact) if contact else None,
                "company_id": company_id_named(session, company) if company else None}  # fmt: skip
        return create_deal(session, ctx, _model(DealIn, data))

    created = _write(create)
    console.print(
        f"Created deal {created.id} {escape(created.name)}: {created.stage}, {created.amount:,} {created.currency}."
    )


@deal.command("move")
def deal_move(
    deal_id: int = typer.Argument(...),
    stage_key: str = typer.Argument(..., help="A stage key of the deal's pipeline"),
    reason: str | None = typer.Option(None, help="The close reason (required for a lost deal)"),
) -> None:
    """Move a deal to another stage."""
    moved = _write(
        lambda session, ctx: move_deal(
            session, ctx, deal_id, DealMoveIn(stage=stage_key, close_reason=reason)
        )
    )
    console.print(f"Deal {moved.id}: {moved.stage_name} ({moved.probability}%).")


@deal.command("list")
def deal_list() -> None:
    """Print deals: id, name, stage, amount, weighted amount, owner id."""
    for found in _read(lambda session: list_deals(session, limit=1000).results):
        typer.echo(
            f"{found.id}\t{found.name}\t{found.stage}\t{found.amount}\t{found.weighted_amount}\t{found.owner_id or ''}"
        )


@sales.command("account")
def account_command(
    company: str = typer.Argument(..., help="The company (id, domain or name)"),
    days: int = typer.Option(30, help="The engagement window in days"),
) -> None:
    """Print a company's roll-up: people by stage, engagement, buying committee, deals, scores."""
    view = _write(lambda session, ctx: account(session, ctx, company_id_named(session, company), days=days))
    stages = ", ".join(f"{name} {count}" for name, count in view.stages.items())
    typer.echo(f"{view.name} (id {view.company_id}), owner {view.owner_id or 'none'}")
    typer.echo(f"contacts: {view.contacts} ({stages})")
    typer.echo(f"engaged in {view.window_days} days: {view.engaged_contacts} ({view.events} events)")
    typer.echo(f"buying committee: {view.engaged_buying_committee} of {view.buying_committee} engaged")
    typer.echo(
        f"deals: {view.deals.open} open ({view.deals.open_amount:,}, weighted {view.deals.weighted_amount:,}), "
        f"{view.deals.won} won ({view.deals.won_amount:,}), {view.deals.lost} lost"
    )
    for model, rollup in (view.scores or {}).items():
        typer.echo(f"score {model}: sum {rollup['sum']}, average {rollup['average']}, max {rollup['max']}")


# Helpers


def _write(work: Callable[[Session, Context], T]) -> T:
    run = runtime()
    try:
        with run.sessions.begin() as session:
            return work(session, run.context)
    except DomainError as exc:
        fail_on(exc)


def _read(work: Callable[[Session], T]) -> T:
    run = runtime()
    try:
        with run.sessions() as session:
            return work(session)
    except DomainError as exc:
        fail_on(exc)


def _model(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        fail_on(
            InvalidInput(
                [FieldError(".".join(str(p) for p in e["loc"]) or "file", e["msg"]) for e in exc.errors()]
            )
        )


def _warn(warnings: list[NameWarningOut]) -> None:
    for warning in warnings:
        console.print(
            f"[yellow]warning:[/yellow] {escape(f'{warning.path}: {warning.message}')}", highlight=False
        )
