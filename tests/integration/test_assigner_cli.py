"""`leadsync pages|pipelines|contacts` as a user runs them, against the session's database."""

from __future__ import annotations

from services.assigner.consumer import handle
from services.assigner.pipelines import PipelineCache
from shared.broker import Delivery
from shared.crypto import TokenCipher
from tests.support.assigner import PAGE, scored
from tests.support.cli import leadsync

TOKEN = "EAAcliTOKEN0123456789abcdefghij"


async def test_create_a_pipeline_add_a_page_and_list_its_contacts(clean_db, service_env):
    code, out, err = await leadsync(
        service_env,
        "pipelines",
        "create",
        "Sales",
        "--stage",
        "New:LEAD",
        "--stage",
        "Hot:in_progress",
        "--stage",
        "Won:WON:81-100",
        "--auto-ranges",
    )
    assert code == 0, err
    assert "New" in out and "0-30" in out and "31-80" in out and "81-100" in out
    pipeline_id = await clean_db.fetchval("SELECT id::text FROM pipelines")

    code, out, err = await leadsync(
        service_env,
        "pages",
        "add",
        PAGE,
        "--name",
        "Shop",
        "--pipeline",
        pipeline_id,
        "--mode",
        "update_existing",
        stdin=TOKEN + "\n",
    )
    assert code == 0, err
    assert TOKEN not in out + err
    stored = await clean_db.fetchval("SELECT access_token_enc FROM pages")
    assert TokenCipher(service_env["TOKEN_ENCRYPTION_KEY"]).decrypt(stored) == TOKEN

    code, out, err = await leadsync(service_env, "pages", "list")
    assert code == 0 and PAGE in out and "UPDATE_EXISTING" in out and TOKEN not in out

    await handle(
        Delivery([scored("u1", 50), scored("u2", 90, "WON")], "m", 1), pool=clean_db, cache=PipelineCache()
    )
    code, out, err = await leadsync(service_env, "contacts", "--page", PAGE)
    assert code == 0, err
    for text in ("Name u1", "Name u2", "messenger", "Hot", "Won", "QUALIFIED", "90"):
        assert text in out
    code, out, _ = await leadsync(service_env, "contacts", "--page", PAGE, "--stage", "won")
    assert "Name u2" in out and "Name u1" not in out


async def test_bad_input_fails_with_one_line(clean_db, service_env):
    code, _, err = await leadsync(service_env, "pipelines", "create", "P", "--stage", "Nameless")
    assert code == 2 and "Name:TYPE" in err
    code, _, err = await leadsync(service_env, "pipelines", "create", "P", "--stage", "A:HOT")
    assert (code, err.strip()) == (
        1,
        "leadsync: stages.0.type: Input should be 'LEAD', 'IN_PROGRESS', 'WON', 'LOST' or 'ARCHIVED'",
    )
    code, _, err = await leadsync(service_env, "pages", "add", "1", "--name", "x", stdin="\n")
    assert (code, err.strip()) == (1, "leadsync: access_token: Value error, must not be empty")
    code, _, err = await leadsync(
        {**service_env, "TOKEN_ENCRYPTION_KEY": ""}, "pages", "add", "1", "--name", "x", stdin=TOKEN
    )
    assert code == 1 and "TOKEN_ENCRYPTION_KEY" in err and TOKEN not in err
    code, _, err = await leadsync(service_env, "contacts", "--page", "P", "--stage", "nope")
    assert code == 1 and "no stage named 'nope'" in err
