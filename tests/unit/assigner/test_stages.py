"""Stage matching, score ranges, downgrade protection and placement (DESIGN §7.1-7.4)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assigner.stages import (
    Rule,
    best_stage,
    blocks_downgrade,
    move_kind,
    place,
    with_auto_ranges,
)
from shared.score_ranges import BANDS, auto_ranges, capacity
from shared.vocabulary import Stage, StageType
from tests.support.pipelines import STANDARD_RANGES

TYPES = ["LEAD", "IN_PROGRESS", "WON", "LOST", "ARCHIVED"]


def pipeline(*specs: str) -> list[Stage]:
    """Stages from "Name:TYPE:min-max" specs, positions in order."""
    stages = []
    for i, spec in enumerate(specs):
        name, typ, rng = spec.split(":")
        lo, hi = (int(x) for x in rng.split("-"))
        stages.append(
            Stage(
                id=f"s{i}", name=name, type=StageType(typ), position=i, lead_score_min=lo, lead_score_max=hi
            )
        )
    return stages


# The e2e pipeline's shape: 3 LEAD, 2 IN_PROGRESS, 1 WON, 1 LOST, 1 ARCHIVED, default ranges applied.
STANDARD = pipeline(
    "New:LEAD:0-10",
    "Warm:LEAD:11-20",
    "Engaged:LEAD:21-30",
    "Qualified:IN_PROGRESS:31-55",
    "Negotiation:IN_PROGRESS:56-80",
    "Won:WON:81-100",
    "Lost:LOST:0-20",
    "Archive:ARCHIVED:0-100",
)
GAPPY = pipeline("Cold:LEAD:0-10", "Hot:IN_PROGRESS:60-70", "Closed:WON:90-100", "Gone:LOST:0-20")
# Two stages equally close to a score of 50: 30-40 (mid 35) and 60-70 (mid 65).
TIED = pipeline("Low:LEAD:30-40", "High:IN_PROGRESS:60-70")
ONLY_LOST = pipeline("Dead:LOST:0-20", "Ghosted:LOST:0-20", "Vault:ARCHIVED:0-100")
ONLY_ARCHIVED = pipeline("Vault:ARCHIVED:0-100")
ARCHIVE_FIRST = pipeline("Vault:ARCHIVED:0-100", "Lead:LEAD:0-30")


@pytest.mark.parametrize(
    ("stages", "score", "status", "recommended", "stage", "rule"),
    [
        (STANDARD, 95, "WON", "", "Won", Rule.STATUS),
        (STANDARD, 3, "WON", "", "Won", Rule.STATUS),  # status beats a low score
        (STANDARD, 70, "LOST", "", "Lost", Rule.STATUS),
        (STANDARD, 5, "NEW", "", "New", Rule.SCORE_RANGE),
        (STANDARD, 10, "NEW", "", "New", Rule.SCORE_RANGE),  # range bounds are inclusive
        (STANDARD, 11, "CONTACTED", "", "Warm", Rule.SCORE_RANGE),
        (STANDARD, 30, "CONTACTED", "", "Engaged", Rule.SCORE_RANGE),
        (STANDARD, 31, "QUALIFIED", "", "Qualified", Rule.SCORE_RANGE),
        (STANDARD, 80, "QUALIFIED", "", "Negotiation", Rule.SCORE_RANGE),
        # 81+ without WON status ("customer says paid", not confirmed): no LEAD/IN_PROGRESS range
        # holds it, and Won is not a candidate without the status: the nearest open stage.
        (STANDARD, 90, "QUALIFIED", "", "Negotiation", Rule.NEAREST_MIDPOINT),
        (STANDARD, 100, "QUALIFIED", "Won", "Negotiation", Rule.NEAREST_MIDPOINT),
        (pipeline("A:LEAD:0-100", "B:LEAD:0-100"), 50, "NEW", "", "A", Rule.SCORE_RANGE),  # overlap
        (GAPPY, 30, "NEW", "", "Cold", Rule.NEAREST_MIDPOINT),  # |5-30| < |65-30|
        (GAPPY, 80, "QUALIFIED", "", "Hot", Rule.NEAREST_MIDPOINT),  # |65-80| < |95-80|
        (GAPPY, 88, "QUALIFIED", "", "Hot", Rule.NEAREST_MIDPOINT),  # Closed is WON: status only
        (TIED, 50, "NEW", "", "Low", Rule.NEAREST_MIDPOINT),  # tie → lower position
        (
            pipeline("Hi:IN_PROGRESS:60-70", "Lo:LEAD:30-40"),
            50,
            "NEW",
            "",
            "Hi",
            Rule.NEAREST_MIDPOINT,
        ),  # tie → lower position, whatever the type
        (GAPPY, 40, "LOST", "", "Gone", Rule.STATUS),
        (pipeline("Open:LEAD:0-30"), 50, "WON", "", "Open", Rule.NEAREST_MIDPOINT),  # no WON stage
        (ONLY_LOST, 50, "LOST", "", "Dead", Rule.STATUS),
        (ARCHIVE_FIRST, 99, "NEW", "Vault", "Lead", Rule.NEAREST_MIDPOINT),
    ],
)
def test_best_stage_examples(stages, score, status, recommended, stage, rule):
    match = best_stage(stages, score, status, recommended)
    assert match is not None
    assert (match.stage.name, match.rule) == (stage, rule)


@pytest.mark.parametrize(
    ("stages", "recommended"),
    [
        ([], ""),
        (ONLY_ARCHIVED, ""),
        # Only terminal stages, and the status names none: not even the recommended name places it.
        (ONLY_LOST, "  ghosted "),
        (ONLY_LOST, ""),
        (pipeline("Won:WON:81-100"), "Won"),
    ],
)
def test_nothing_to_choose(stages, recommended):
    assert best_stage(stages, 50, "NEW", recommended) is None


def test_stage_order_is_position_not_list_order():
    stages = list(reversed(TIED))
    assert best_stage(stages, 50, "NEW").stage.name == "Low"  # type: ignore[union-attr]


def test_three_lead_stages_split_the_lead_band():
    assert auto_ranges(["LEAD", "LEAD", "LEAD"]) == [(0, 10), (11, 20), (21, 30)]


def test_ranges_of_the_standard_pipeline():
    types = ["LEAD", "LEAD", "LEAD", "IN_PROGRESS", "IN_PROGRESS", "WON", "LOST", "ARCHIVED"]
    assert auto_ranges(types) == STANDARD_RANGES


def test_too_many_stages_for_a_band_is_refused():
    with pytest.raises(ValueError, match="WON stages"):
        auto_ranges(["WON"] * 20)


@pytest.mark.parametrize(
    ("score", "target_min", "blocked"),
    [
        (80, 49, True),
        (80, 50, False),
        (79, 49, False),
        (79, 19, True),
        (79, 20, False),
        (50, 19, True),
        (50, 20, False),
        (49, 0, False),
        (100, 0, True),
        (1, 0, False),
    ],
)
def test_downgrade_thresholds(score, target_min, blocked):
    assert (
        blocks_downgrade(score, Stage(id="t", name="T", type=StageType.LEAD, lead_score_min=target_min))
        is blocked
    )


AUTO = "pipe-auto"


def decide(
    stages=STANDARD,
    *,
    pipeline_id=None,
    stage_id=None,
    auto=AUTO,
    mode="UPDATE_EXISTING",
    score=50,
    status="NEW",
):
    return place(
        contact_pipeline_id=pipeline_id,
        contact_stage_id=stage_id,
        auto_pipeline_id=auto,
        mode=mode,
        stages=stages,
        score=score,
        status=status,
    )


def by_name(name: str) -> str:
    return next(s.id for s in STANDARD if s.name == name)


@pytest.mark.parametrize(
    ("kwargs", "action", "reason", "target"),
    [
        ({"auto": None}, "keep", "no_auto_pipeline", None),
        ({"mode": "SKIP_EXISTING", "score": 5}, "move", "placed", "New"),
        (
            {"mode": "SKIP_EXISTING", "pipeline_id": AUTO, "stage_id": by_name("New"), "score": 70},
            "keep",
            "skip_existing",
            None,
        ),
        ({"mode": "SKIP_EXISTING", "pipeline_id": "other", "score": 70}, "keep", "skip_existing", None),
        ({"pipeline_id": "other", "stage_id": "x", "score": 70}, "keep", "other_pipeline", None),
        ({"pipeline_id": AUTO, "stage_id": by_name("New"), "score": 70}, "move", "placed", "Negotiation"),
        (
            {"pipeline_id": AUTO, "stage_id": by_name("Qualified"), "score": 40},
            "keep",
            "unchanged",
            "Qualified",
        ),
        # Hot contact, lower analysis that still scores 85 but says LOST: Lost's min 0 < 50.
        (
            {"pipeline_id": AUTO, "stage_id": by_name("Negotiation"), "score": 85, "status": "LOST"},
            "blocked",
            "downgrade",
            "Lost",
        ),
        # Won is final for the rules, whatever the analysis says ("ok stop" after paying).
        (
            {"pipeline_id": AUTO, "stage_id": by_name("Won"), "score": 85, "status": "LOST"},
            "blocked",
            "won_is_final",
            "Lost",
        ),
        (
            {"pipeline_id": AUTO, "stage_id": by_name("Won"), "score": 5, "status": "LOST"},
            "blocked",
            "won_is_final",
            "Lost",
        ),
        (
            {"pipeline_id": AUTO, "stage_id": by_name("Won"), "score": 40, "status": "QUALIFIED"},
            "blocked",
            "won_is_final",
            "Qualified",
        ),
        (
            {"pipeline_id": AUTO, "stage_id": by_name("Won"), "score": 97, "status": "WON"},
            "keep",
            "unchanged",
            "Won",
        ),
        # A lost lead that comes back is placed again, hot or not (no downgrade guard out of Lost).
        (
            {"pipeline_id": AUTO, "stage_id": by_name("Lost"), "score": 85, "status": "QUALIFIED"},
            "move",
            "placed",
            "Negotiation",
        ),
        (
            {"pipeline_id": AUTO, "stage_id": by_name("Lost"), "score": 60, "status": "QUALIFIED"},
            "move",
            "placed",
            "Negotiation",
        ),
        (
            {"pipeline_id": AUTO, "stage_id": by_name("Lost"), "score": 8, "status": "CONTACTED"},
            "move",
            "placed",
            "New",
        ),
        (
            {"pipeline_id": AUTO, "stage_id": by_name("Lost"), "score": 8, "status": "LOST"},
            "keep",
            "unchanged",
            "Lost",
        ),
        # Score 60 into "New" (min 0 < 20): blocked.
        (
            {"pipeline_id": AUTO, "stage_id": by_name("Negotiation"), "score": 60, "status": "LOST"},
            "blocked",
            "downgrade",
            "Lost",
        ),
        # A cooled-down contact (score 15) may move down.
        ({"pipeline_id": AUTO, "stage_id": by_name("Negotiation"), "score": 15}, "move", "placed", "Warm"),
        # In the auto pipeline but its stage was deleted: no stage → always assigned.
        ({"pipeline_id": AUTO, "stage_id": None, "score": 85, "status": "LOST"}, "move", "placed", "Lost"),
        ({"stages": ONLY_ARCHIVED}, "keep", "no_stage_to_choose", None),
    ],
)
def test_placement_examples(kwargs, action, reason, target):
    decision = decide(**kwargs)
    assert (decision.action, decision.reason) == (action, reason)
    assert (decision.target.name if decision.target else None) == target


def test_auto_ranges_apply_only_while_every_stage_is_default():
    fresh = pipeline("A:LEAD:0-100", "B:LEAD:0-100", "C:WON:0-100", "D:ARCHIVED:0-100")
    updated = with_auto_ranges(fresh)
    assert updated is not None
    assert [(s.lead_score_min, s.lead_score_max) for s in updated] == [(0, 15), (16, 30), (81, 100), (0, 100)]
    assert with_auto_ranges(updated) is None
    assert with_auto_ranges(ONLY_ARCHIVED) is None  # nothing would change


# ---- properties ----

stage_types = st.sampled_from(TYPES)


@st.composite
def typed_pipelines(draw) -> list[str]:
    """Stage types in position order, each category within what its band can split."""
    types = draw(st.lists(stage_types, min_size=1, max_size=20))
    return [t for i, t in enumerate(types) if t == "ARCHIVED" or types[: i + 1].count(t) <= capacity(t)]


@given(typed_pipelines())
def test_generated_ranges_tile_each_band_in_position_order(types):
    ranges = auto_ranges(types)
    for category, (lo, hi) in BANDS.items():
        mine = [r for t, r in zip(types, ranges, strict=True) if t == category]
        if not mine:
            continue
        if category == "ARCHIVED":
            assert all(r == (0, 100) for r in mine)
            continue
        assert mine[0][0] == lo and mine[-1][1] == hi
        for (_, a_hi), (b_lo, _) in itertools.pairwise(mine):
            assert b_lo == a_hi + 1  # no gap, no overlap, ascending with position
        assert all(r_lo <= r_hi for r_lo, r_hi in mine)


@st.composite
def stage_lists(draw) -> list[Stage]:
    n = draw(st.integers(0, 12))
    stages = []
    for i in range(n):
        lo = draw(st.integers(0, 100))
        hi = draw(st.integers(lo, 100))
        stages.append(
            Stage(
                id=f"s{i}",
                name=draw(st.sampled_from(["A", "b", "Won", "lost"])),
                type=StageType(draw(stage_types)),
                position=draw(st.integers(-5, 50)),
                lead_score_min=lo,
                lead_score_max=hi,
            )
        )
    # positions are unique within a pipeline
    unique: dict[int, Stage] = {}
    for s in stages:
        unique.setdefault(s.position, s)
    return list(unique.values())


scores = st.integers(1, 100)
statuses = st.sampled_from(["NEW", "CONTACTED", "QUALIFIED", "WON", "LOST"])


@given(stage_lists(), scores, statuses, st.sampled_from(["", "a", " WON ", "lost"]))
def test_the_chosen_stage_is_never_archived(stages, score, status, recommended):
    match = best_stage(stages, score, status, recommended)
    if match is None:
        # Nothing fits only when no open stage exists and the status names no terminal one.
        assert all(s.type == "ARCHIVED" or (s.type in ("WON", "LOST") and s.type != status) for s in stages)
    else:
        assert match.stage.type != "ARCHIVED"


@given(stage_lists(), scores, st.sampled_from(["WON", "LOST"]))
def test_won_or_lost_status_goes_to_such_a_stage_when_there_is_one(stages, score, status):
    match = best_stage(stages, score, status)
    if any(s.type == status for s in stages):
        assert match is not None and match.stage.type == status


def _from(stages: list[Stage], current: Stage, score: int, status: str):
    """The decision for a contact in the auto pipeline's stage `current`."""
    return decide(stages, pipeline_id=AUTO, stage_id=current.id, score=score, status=status)


@given(stage_lists(), st.integers(80, 100), statuses, st.data())
def test_a_hot_contact_in_a_stage_never_moves_below_min_50(stages, score, status, data):
    open_stages = [s for s in stages if s.type != "LOST"]  # leaving Lost is never a downgrade
    if not open_stages:
        return
    current = data.draw(st.sampled_from(open_stages))
    decision = _from(stages, current, score, status)
    if decision.action == "move":
        assert decision.target is not None and decision.target.lead_score_min >= 50


def _from_one_of(stages: list[Stage], kind: str, score: int, status: str, data: st.DataObject):
    """The decision for a contact in a stage of type `kind` drawn from `stages`; None without one."""
    of_kind = [s for s in stages if s.type == kind]
    if not of_kind:
        return None
    return _from(stages, data.draw(st.sampled_from(of_kind)), score, status)


@given(stage_lists(), scores, statuses, st.sampled_from(["", "Won", "lost", "A"]))
def test_a_terminal_stage_is_chosen_only_by_its_status(stages, score, status, recommended):
    match = best_stage(stages, score, status, recommended)
    if match is not None and match.stage.type in ("WON", "LOST"):
        assert match.stage.type == status and match.rule == Rule.STATUS


@given(stage_lists(), scores, statuses, st.data())
def test_a_contact_in_won_is_never_moved_by_an_analysis(stages, score, status, data):
    decision = _from_one_of(stages, "WON", score, status, data)
    if decision is None:
        return
    assert decision.action != "move"
    if decision.action == "blocked":
        assert decision.reason == "won_is_final"


@given(stage_lists(), scores, statuses.filter(lambda s: s != "LOST"), st.data())
def test_a_lost_contact_that_comes_back_is_placed_again(stages, score, status, data):
    decision = _from_one_of(stages, "LOST", score, status, data)
    if decision is None:
        return
    assert decision.action != "blocked"
    if any(s.type in ("LEAD", "IN_PROGRESS") for s in stages):
        assert decision.action == "move" and decision.target is not None
        assert decision.target.type not in ("LOST", "ARCHIVED")


@pytest.mark.parametrize(
    ("current", "score", "status", "move"),
    [
        (None, 5, "NEW", "up"),  # placed from nowhere
        ("New", 70, "QUALIFIED", "up"),
        ("Negotiation", 15, "CONTACTED", "down"),
        ("Qualified", 40, "QUALIFIED", "unchanged"),
        ("Lost", 45, "QUALIFIED", "up"),  # a lead that comes back
        ("Negotiation", 95, "WON", "into_won"),
        ("Warm", 10, "LOST", "into_lost"),
        ("Negotiation", 85, "LOST", "blocked"),  # downgrade
        ("Won", 10, "LOST", "blocked"),  # won is final
    ],
)
def test_moves_are_named_as_a_rescore_reports_them(current, score, status, move):
    decision = decide(
        pipeline_id=AUTO if current else None,
        stage_id=by_name(current) if current else None,
        score=score,
        status=status,
    )
    assert move_kind(decision) == move
