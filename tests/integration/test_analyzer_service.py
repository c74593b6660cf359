"""The analyzer as a user runs it: `leadsync run analyzer` and `leadsync analyze FILE|-`."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime

import pytest

from shared.broker import Publisher
from shared.messages import ChatMessage, ConversationUpdated
from tests.fakes.llm import SERVER_ERROR, FakeLLM
from tests.support.analyzer import watching
from tests.support.stack import running

TRANSCRIPT = {
    "messages": [
        {"mid": "1", "text": "Olá! Qual o preço do kit completo?", "sent_at": "2026-11-25T10:00:00Z"},
        {"mid": "2", "from_page": True, "text": "R$199", "sent_at": "2026-11-25T10:01:00Z"},
    ],
    "stages": [
        {"name": "New", "type": "LEAD", "lead_score_min": 0, "lead_score_max": 50},
        {"name": "Hot", "type": "IN_PROGRESS", "lead_score_min": 51, "lead_score_max": 100},
    ],
}


async def test_the_service_scores_with_the_configured_llm(service_env, amqp_url, topology, pool):
    contact = f"svc_{uuid.uuid4().hex[:8]}"
    await pool.execute("INSERT INTO pages (id, name) VALUES ('P_SVC', 'Shop') ON CONFLICT DO NOTHING")
    async with FakeLLM(score=77) as llm, watching(amqp_url, topology) as watcher:
        extra = {
            "BROKER_NAMESPACE": topology.namespace,
            "OPENAI_API_KEY": "sk-test-0123456789abcdef",
            "OPENAI_BASE_URL": llm.base_url,
            "ANALYZER_DEBOUNCE_S": "0.1",
        }
        async with running(service_env, "analyzer", extra_env=extra) as stack:
            publisher = Publisher(amqp_url, topology)
            await publisher.publish(
                ConversationUpdated(
                    page_id="P_SVC",
                    platform="instagram",
                    contact_id=contact,
                    messages=[ChatMessage(mid=f"{contact}_1", text="price?", sent_at=datetime.now(UTC))],
                )
            )
            await publisher.close()
            [scored] = await watcher.wait_for(lambda _: bool(watcher.of(contact)))
            logs = stack.logs()
    assert scored.analysis.lead_score == 77 and scored.analysis.model == "gpt-4o-mini"
    assert "analyzer.llm" in logs and "sk-test-0123456789abcdef" not in logs


async def analyze_cli(stdin: bytes, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "leadsync",
        "analyze",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_analyze_prints_the_fallback_analysis_without_an_api_key(service_env):
    code, out, _ = await analyze_cli(json.dumps(TRANSCRIPT).encode(), service_env, "-")
    analysis = json.loads(out)
    assert code == 0 and analysis["used_fallback"] is True
    assert "asked the price (preço)" in analysis["reasoning"]
    assert analysis["evidence"] == ["1"] and analysis["signals"][0]["signal"] == "base"


async def test_analyze_uses_the_llm_and_falls_back_when_it_keeps_failing(service_env, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(TRANSCRIPT))
    async with FakeLLM(score=66) as llm:
        env = {
            **service_env,
            "OPENAI_API_KEY": "sk-test-0123456789abcdef",
            "OPENAI_BASE_URL": llm.base_url,
            "LLM_BACKOFF_S": "0.01",
        }
        code, out, _ = await analyze_cli(b"", env, str(path))
        assert code == 0 and json.loads(out)["lead_score"] == 66
        llm.script.extend([SERVER_ERROR] * 3)
        code, out, _ = await analyze_cli(b"", env, str(path))
        assert code == 0 and json.loads(out)["used_fallback"] is True


@pytest.mark.parametrize(
    ("stdin", "args", "says"),
    [
        (b"", ("/no/such/file.json",), "cannot read /no/such/file.json"),
        (b"{not json", ("-",), "- is not JSON"),
        (b'{"messages": [{"text": "hi"}]}', ("-",), "- is not a transcript: messages.0.mid"),
    ],
)
async def test_analyze_rejects_bad_input_in_one_line(service_env, stdin, args, says):
    code, out, err = await analyze_cli(stdin, service_env, *args)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and says in err
