"""The evaluation indicators (综合评价) of DOMAIN.md §3 as data: each indicator names the metrics
(casework.selectors.indicators.METRICS) of its numerator and denominator, or is a weighted
sum of other indicators (the department score); and the grade bands. Seeded by a migration;
administrators adjust formulas, weights and bands in the admin.

`subject` says whom an indicator is about: "area" marks a case-flow indicator, computed for
any set of cases (an area's, a department's, an inspector's reports); "department" and
"inspector" mark those computed only for that kind of subject.

The department score (部门综合评价, [partly] sourced) is
  10 % case volume score + 30 % 结案率 + 30 % 按期处置率 + 30 % (1 − 返工率),
as a value from 0 to 1, shown × 100 and graded A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below.

Case volume score (案件量得分), defined here since the sources do not: the cases due for
handling of the department in the period ÷ the largest number due for handling of any
department on the same tier (area level) in the period — 1 for the busiest department of its
tier, proportionally less for the others, so a department is not rewarded for having few
cases to fail on.

按时核实率 and 按时核查率: in this system an inspector's on-site work on a case after the
report is the verify step (核查: from handled to checked on site); acceptance of a report (核实
as real) is the dispatcher's accept move and has no clock of its own. So the one indicator
按时核查率 stands for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

AREA, DEPARTMENT, INSPECTOR = "area", "department", "inspector"
SCORE_CODE = "department_score"


@dataclass(frozen=True)
class IndicatorSeed:
    code: str
    name: str
    subject: str
    numerator: str = ""
    denominator: str = ""
    complement: bool = False
    weights: dict = field(default_factory=dict)


INDICATORS = (
    IndicatorSeed("valid_report_rate", "有效上报率", INSPECTOR, "became_cases", "reports"),
    IndicatorSeed("verify_on_time_rate", "按时核查率", AREA, "verified_on_time", "due_verify"),
    IndicatorSeed("register_rate", "立案率", AREA, "registered", "accepted"),
    IndicatorSeed(
        "dispatch_on_time_rate", "按时派遣率", AREA, "dispatched_on_time", "due_dispatch"
    ),
    IndicatorSeed(
        "dispatch_accuracy_rate", "准确派遣率", AREA, "returned", "dispatched", complement=True
    ),
    IndicatorSeed("handle_rate", "处置率", AREA, "handled", "due_handle"),
    IndicatorSeed("handle_on_time_rate", "按期处置率", AREA, "handled_on_time", "due_handle"),
    IndicatorSeed("close_rate", "结案率", AREA, "closed", "due_close"),
    IndicatorSeed("close_on_time_rate", "按期结案率", AREA, "closed_on_time", "due_close"),
    IndicatorSeed("rework_rate", "返工率", AREA, "rework", "due_close"),
    IndicatorSeed("overdue_rate", "超期率", AREA, "overdue", "due_handle"),
    IndicatorSeed("extension_rate", "延期率", AREA, "extended", "due_handle"),
    IndicatorSeed(
        "case_volume_score", "案件量得分", DEPARTMENT, "due_handle", "peer_max_due_handle"
    ),
    IndicatorSeed(
        "no_rework_rate", "1 − 返工率", DEPARTMENT, "rework", "due_close", complement=True
    ),
    IndicatorSeed(
        SCORE_CODE,
        "部门综合评价得分",
        DEPARTMENT,
        weights={
            "case_volume_score": 0.1,
            "close_rate": 0.3,
            "handle_on_time_rate": 0.3,
            "no_rework_rate": 0.3,
        },
    ),
)

GRADES = (
    ("A", Decimal(90)),
    ("B", Decimal(75)),
    ("C", Decimal(60)),
    ("D", Decimal(40)),
    ("E", Decimal(0)),
)


def fill_indicator_definitions(apps) -> int:
    """Create the indicators and grades that are missing; rows that exist are left as
    administrators changed them. `apps` is the app registry (a migration's historical one, or
    django.apps.apps). Returns the number of indicators created."""
    IndicatorDefinition = apps.get_model("casework", "IndicatorDefinition")
    Grade = apps.get_model("casework", "Grade")
    created = 0
    for position, seed in enumerate(INDICATORS, start=1):
        _row, was_created = IndicatorDefinition.objects.get_or_create(
            code=seed.code,
            defaults={
                "name": seed.name,
                "subject": seed.subject,
                "numerator": seed.numerator,
                "denominator": seed.denominator,
                "complement": seed.complement,
                "weights": seed.weights,
                "position": position * 10,
            },
        )
        created += was_created
    for letter, minimum in GRADES:
        if not Grade.objects.filter(letter=letter).exists():
            Grade.objects.create(letter=letter, minimum=minimum)
    return created
