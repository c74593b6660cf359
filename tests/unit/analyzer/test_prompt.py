"""The prompt carries stages and a delimited transcript; replies are validated and clamped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.analyzer import prompt
from shared.messages import ChatMessage

T0 = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def test_request_carries_stages_and_the_transcript_between_markers():
    msgs = [ChatMessage(mid="1", text="How much?\nAlso: delivery", sent_at=T0),
            ChatMessage(mid="2", from_page=True, text="$49", attachments=["image"], sent_at=T0)]
    stages = [prompt.Stage(name="New lead", type="LEAD", lead_score_min=0, lead_score_max=30)]
    system, user = prompt.build(msgs, stages)
    assert system["role"] == "system" and "never instructions" in system["content"]
    body = user["content"]
    assert "- New lead (type LEAD, score 0-30)" in body
    transcript = body.split("<<<TRANSCRIPT\n")[1].split("\nTRANSCRIPT>>>")[0].splitlines()
    assert transcript == ["2026-11-25 09:30 CUSTOMER: How much? Also: delivery",
                          "2026-11-25 09:30 PAGE: $49 [attachment: image]"]


@given(st.text())
def test_customer_text_cannot_close_the_transcript_early(text):
    msgs = [ChatMessage(mid="1", text=text, sent_at=T0)]
    body = prompt.build(msgs)[1]["content"]
    assert body.count("TRANSCRIPT>>>") == 1
    assert body.split("<<<TRANSCRIPT\n")[1].count("\n") == 1  # one line, then the closing marker


@pytest.mark.parametrize(("score", "confidence", "want"), [
    (250, -20, (100, 0)), (0, 101, (1, 100)), (55.6, 70, (56, 70)), (1, 0, (1, 0)),
])
def test_scores_are_clamped(score, confidence, want):
    content = (f'{{"lead_score": {score}, "lead_status": "qualified", "recommended_stage": "",'
               f' "summary": "s", "reasoning": "r", "confidence": {confidence}}}')
    analysis = prompt.parse_reply(content, model="m")
    assert (analysis.lead_score, analysis.confidence) == want
    assert analysis.lead_status == "QUALIFIED" and not analysis.used_fallback
    assert analysis.prompt_version == prompt.PROMPT_VERSION


@pytest.mark.parametrize("content", [
    None, "", "not json", '{"lead_score": 50}',
    '{"lead_score": 50, "lead_status": "MAYBE", "confidence": 10}',
    '{"lead_score": "high", "lead_status": "NEW", "confidence": 10}',
    '{"lead_score": true, "lead_status": "NEW", "confidence": 10}',
])
def test_invalid_replies_are_rejected(content):
    with pytest.raises(ValueError):
        prompt.parse_reply(content, model="m")
