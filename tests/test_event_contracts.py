"""Every subscriber can read what its publisher sends (the modules' event contracts).

A subscriber decodes events with its own struct (tolerant reader), so nothing ties the two at
import time: a renamed or retyped field in a publisher's events.py would only show up as dead
letters in production. This builds a sample of every published event from its declared
fields and decodes it with every subscriber's struct.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from uuid_utils.compat import uuid7

import features
from shared.db.events import Event
from shared.modules import discover


def published() -> dict[str, type[Event]]:
    for info in pkgutil.iter_modules(features.__path__):
        if importlib.util.find_spec(f"features.{info.name}.events"):
            importlib.import_module(f"features.{info.name}.events")
    found: dict[str, type[Event]] = {}
    pending = list(Event.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__module__.startswith("features."):
            found[cls.type_name()] = cls
    return found


def sample(t: mi.Type) -> Any:
    if isinstance(t, mi.UnionType):
        return sample(next(x for x in t.types if not isinstance(x, mi.NoneType)))
    if isinstance(t, mi.StructType):
        return {f.encode_name: sample(f.type) for f in t.fields}
    if isinstance(t, mi.ListType):
        return [sample(t.item_type)]
    simple = {mi.UUIDType: str(uuid7()), mi.StrType: "X", mi.IntType: 1, mi.BoolType: True,
              mi.FloatType: 1.5, mi.DateTimeType: datetime.now(UTC).isoformat()}
    return simple[type(t)]


SUBSCRIPTIONS = [s for m in discover() for s in m.subscriptions]


@pytest.mark.parametrize("subscription", SUBSCRIPTIONS, ids=lambda s: s.name)
def test_the_subscriber_reads_what_the_publisher_sends(subscription) -> None:
    events = published()
    assert subscription.event_type in events, f"nobody publishes {subscription.event_type}"
    publisher = events[subscription.event_type]
    event = msgspec.convert(sample(mi.type_info(publisher)), publisher)
    msgspec.json.decode(msgspec.json.encode(event), type=subscription.payload_type)
