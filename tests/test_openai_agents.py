"""The OpenAI Agents SDK Session adapter, against the real ``openai-agents`` package.

The SDK's own ``SQLiteSession`` is the reference: the same calls must give the same
answers, while our log stays append-only.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, Model, ModelResponse, RunConfig, Runner, Usage
from agents.memory import Session, SessionSettings, SQLiteSession
from hypothesis import example, given
from hypothesis import strategies as st
from openai.types.responses import ResponseOutputMessage, ResponseOutputText

from zero_session import InvalidInput, Store
from zero_session.adapters._agents_items import _general_summary, _one_line, _summary
from zero_session.adapters.openai_agents import ZeroAgentsSession


def _msg(role: str, content: str) -> Any:
    return {"role": role, "content": content}


async def _script(session: Any) -> list[Any]:
    """A run of protocol calls; everything they return, in order."""
    seen: list[Any] = [await session.get_items(), await session.pop_item()]
    await session.add_items([_msg("user", "hi"), _msg("assistant", "hello")])
    await session.add_items([])
    await session.add_items([_msg("user", "buy 10"), {"type": "function_call_output", "n": 1}])
    seen += [await session.get_items(), await session.get_items(limit=2)]
    seen += [await session.pop_item(), await session.get_items()]
    await session.clear_session()
    seen += [await session.get_items(), await session.pop_item()]
    await session.add_items([_msg("user", "again")])
    seen += [await session.get_items(), await session.get_items(limit=0)]
    return seen


def test_behaves_like_the_sdks_sqlite_session(store: Store, tmp_path: Path) -> None:
    ours = ZeroAgentsSession("conv-1", store)
    reference = SQLiteSession("conv-1", str(tmp_path / "sdk.db"))
    assert isinstance(ours, Session)
    try:
        assert asyncio.run(_script(ours)) == asyncio.run(_script(reference))
    finally:
        reference.close()


def test_the_log_keeps_everything_it_retracted(store: Store) -> None:
    async def main() -> str:
        session = ZeroAgentsSession("conv-log", store)
        await session.add_items([_msg("user", "a"), _msg("user", "b")])
        assert await session.pop_item() == _msg("user", "b")
        await session.clear_session()
        return await session.ulid()

    ulid = asyncio.run(main())
    assert [(e.kind, e.text) for e in store.replay(ulid)] == [
        ("agents.item", "user: a"),
        ("agents.item", "user: b"),
        ("agents.pop", "retract item 2"),
        ("agents.clear", "clear items through 3"),
    ]
    assert store.get_milestone("agents.session.conv-log") == ulid


def test_two_processes_share_one_conversation(
    open_store: Callable[..., Store], db_path: Path
) -> None:
    """Two stores (two connections, as two processes have) on one file."""

    async def main() -> None:
        first = ZeroAgentsSession("shared", open_store())
        second = ZeroAgentsSession("shared", open_store(db_path))
        await first.add_items([_msg("user", "from first")])
        await second.add_items([_msg("assistant", "from second")])
        assert await first.get_items() == [
            _msg("user", "from first"),
            _msg("assistant", "from second"),
        ]
        assert await second.pop_item() == _msg("assistant", "from second")
        assert await first.get_items() == [_msg("user", "from first")]
        assert await first.ulid() == await second.ulid()

    asyncio.run(main())


def test_fork_continues_a_conversation_and_settings_limit(store: Store) -> None:
    async def main() -> None:
        parent = ZeroAgentsSession("p", store, session_settings=SessionSettings(limit=1))
        await parent.add_items([_msg("user", "one"), _msg("user", "two")])
        child = await parent.fork("c")
        await parent.add_items([_msg("user", "parent only")])
        await child.add_items([_msg("user", "child only")])
        assert await child.get_items(limit=10) == [
            _msg("user", "one"),
            _msg("user", "two"),
            _msg("user", "child only"),
        ]
        assert await parent.get_items() == [_msg("user", "parent only")]
        parent.close()  # records the end; the next writer resumes the session
        again = ZeroAgentsSession("p", store)
        await again.add_items([_msg("user", "after close")])
        assert await again.get_items(limit=1) == [_msg("user", "after close")]

    asyncio.run(main())


class EchoModel(Model):
    """A local model: answers "echo <last user text>" and keeps every input it was given."""

    def __init__(self) -> None:
        self.inputs: list[Any] = []

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[Any],
        model_settings: Any,
        tools: list[Any],
        output_schema: Any,
        handoffs: list[Any],
        tracing: Any,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any = None,
        **_: Any,
    ) -> ModelResponse:
        self.inputs.append(input)
        last = input if isinstance(input, str) else input[-1]["content"]
        text = ResponseOutputText(type="output_text", text=f"echo {last}", annotations=[])
        message = ResponseOutputMessage(
            id="msg", type="message", role="assistant", status="completed", content=[text]
        )
        return ModelResponse(output=[message], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the tests do not stream")


def test_runner_keeps_the_conversation_in_our_store(store: Store) -> None:
    """The SDK's own Runner, with a local model (no network), remembers through us."""
    model = EchoModel()
    agent = Agent(name="echo", instructions="echo", model=model)
    session = ZeroAgentsSession("runner", store)
    config = RunConfig(tracing_disabled=True)

    async def main() -> list[Any]:
        first = await Runner.run(agent, "hello", session=session, run_config=config)
        second = await Runner.run(agent, "again", session=session, run_config=config)
        assert (first.final_output, second.final_output) == ("echo hello", "echo again")
        return await session.get_items()

    items = asyncio.run(main())
    # the second turn was sent the first turn from our store
    sent = model.inputs[1]
    assert [m.get("content") for m in sent if m.get("role") == "user"] == ["hello", "again"]
    assert [i.get("role") for i in items] == ["user", "assistant", "user", "assistant"]
    ulid = store.get_milestone("agents.session.runner")
    assert ulid is not None
    texts = [e.text for e in store.replay(ulid)]
    assert texts == ["user: hello", "assistant: echo hello", "user: again", "assistant: echo again"]


texts = st.one_of(
    st.text(alphabet="ab ", max_size=8),
    st.text(alphabet="ab \t\n\r\xa0\u2028é…", max_size=12),
    st.text(max_size=250),
)


@given(st.one_of(texts, st.none(), st.integers()), st.one_of(texts, st.none()))
def test_the_summary_shortcut_gives_the_general_summary(role: Any, content: Any) -> None:
    item = {"type": "message", "role": role, "content": content}
    assert _summary(item) == _general_summary(item)


# Words separated by runs of whitespace up to a few hundred long, so that the head of
# the text (its first 800 characters) may hold more, as many or fewer than 200
# characters of the summary.
long_texts = st.one_of(
    st.lists(
        st.tuples(
            st.text(alphabet="ab", max_size=60), st.integers(0, 400), st.sampled_from(" \n\xa0")
        ),
        max_size=40,
    ).map(lambda parts: "".join(word + blank * n for word, n, blank in parts)),
    # one clean line up to the cut or around it, then anything
    st.builds(
        lambda words, rest: " ".join(words) + rest,
        st.lists(st.text(alphabet="ab", min_size=1, max_size=12), max_size=60),
        st.text(alphabet="ab \n", max_size=30),
    ),
)


@given(long_texts)
@example("a" * 200 + " ")  # a clean line of exactly the cut, then a space: not cut
@example("ab " * 67 + "\n")
def test_a_long_summary_reads_only_what_it_needs(text: str) -> None:
    """The head-only shortcut gives what normalising the whole text would."""
    line = " ".join(text.split())
    assert _one_line(text) == (line if len(line) <= 200 else line[:199] + "…")


def test_an_item_that_is_not_json_is_refused_and_nothing_is_written(store: Store) -> None:
    async def main() -> None:
        session = ZeroAgentsSession("bad", store)
        await session.add_items([_msg("user", "kept")])
        with pytest.raises(InvalidInput, match="item 1"):
            await session.add_items([_msg("user", "fine"), {"role": "user", "n": math.nan}])
        assert await session.get_items() == [_msg("user", "kept")]
        assert [e.text for e in store.replay(await session.ulid())] == ["user: kept"]

    asyncio.run(main())
