"""The one condition language of segments, workflow branches, goals, scoring and suppression rules.

Other packages use only what this module exports: parse a tree, compile it to SQL for every contact
at once, or evaluate it for one contact in memory; both give the same answer.
"""

from funnelwise.conditions.facts import (
    COMPANY_FACT_COLUMNS,
    CONTACT_FACT_COLUMNS,
    ConsentFact,
    EventFact,
    Facts,
    consents_by_contact,
    contact_facts,
    events_by_contact,
    load_facts,
    row_facts,
)
from funnelwise.conditions.memory import evaluate
from funnelwise.conditions.names import NameWarning, check_names
from funnelwise.conditions.operators import Aggregation, Operator, Performed
from funnelwise.conditions.parse import ConditionField, dump_condition, parse_condition, parse_condition_yaml
from funnelwise.conditions.registry import SqlScope, register_leaf, unregister_leaf
from funnelwise.conditions.relative_time import Moment
from funnelwise.conditions.sql import compile_condition, matching_contacts, matching_query, without_jit
from funnelwise.conditions.tree import Condition, event_names, reads_consents

__all__ = [
    "COMPANY_FACT_COLUMNS",
    "CONTACT_FACT_COLUMNS",
    "Aggregation",
    "Condition",
    "ConditionField",
    "ConsentFact",
    "EventFact",
    "Facts",
    "Moment",
    "NameWarning",
    "Operator",
    "Performed",
    "SqlScope",
    "check_names",
    "compile_condition",
    "consents_by_contact",
    "contact_facts",
    "dump_condition",
    "evaluate",
    "event_names",
    "events_by_contact",
    "load_facts",
    "matching_contacts",
    "matching_query",
    "parse_condition",
    "parse_condition_yaml",
    "reads_consents",
    "register_leaf",
    "row_facts",
    "unregister_leaf",
    "without_jit",
]
