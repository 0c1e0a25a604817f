"""The kernel's dependency resolution (shared/http/deps.py): handlers whose dependencies are
all plain functions get them one after another, without Litestar's task group; any handler
with an async dependency keeps Litestar's way, side by side."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar, get
from litestar._kwargs import kwargs_model
from litestar.di import NamedDependency, Provide
from litestar.testing import AsyncTestClient

from shared.http.deps import resolve_inline

Int = NamedDependency[int]


@pytest.fixture
def task_groups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the task groups Litestar starts to resolve dependencies."""
    started: list[int] = []
    real = kwargs_model.create_task_group

    def counting():
        started.append(1)
        return real()

    monkeypatch.setattr(kwargs_model, "create_task_group", counting)
    resolve_inline()
    return started


def _app(cleaned: list[str]) -> Litestar:
    def first() -> int:
        return 1

    def second(first: Int) -> int:  # a level below: needs `first`
        return first + 1

    def third() -> Iterator[int]:  # a generator: its clean-up runs after the answer
        yield 3
        cleaned.append("third")

    async def fourth() -> int:
        return 4

    @get("/plain", sync_to_thread=False)
    def plain(first: Int, second: Int, third: Int) -> dict[str, int]:
        return {"first": first, "second": second, "third": third}

    @get("/mixed", sync_to_thread=False)
    def mixed(first: Int, third: Int, fourth: Int) -> dict[str, int]:
        return {"first": first, "third": third, "fourth": fourth}

    return Litestar([plain, mixed], dependencies={
        "first": Provide(first, sync_to_thread=False),
        "second": Provide(second, sync_to_thread=False),
        "third": Provide(third),
        "fourth": Provide(fourth)})


async def test_plain_function_dependencies_resolve_in_turn_without_a_task_group(
        task_groups: list[int]) -> None:
    cleaned: list[str] = []
    async with AsyncTestClient(_app(cleaned)) as client:
        answer = await client.get("/plain")
    assert answer.json() == {"first": 1, "second": 2, "third": 3}
    assert task_groups == []
    assert cleaned == ["third"]


async def test_a_handler_with_an_async_dependency_resolves_them_side_by_side(
        task_groups: list[int]) -> None:
    cleaned: list[str] = []
    async with AsyncTestClient(_app(cleaned)) as client:
        answer = await client.get("/mixed")
    assert answer.json() == {"first": 1, "third": 3, "fourth": 4}
    assert task_groups == [1]
    assert cleaned == ["third"]
