from __future__ import annotations

import pytest

from processes.declarations import Parameter, Process, Ref
from processes.registry import RegistryError, index_by_slug, registry


def noop(ctx: object) -> None:
    return None


def test_index_by_slug_refuses_two_processes_with_one_slug() -> None:
    first = Process(value="Order Detail", name="A", run=noop)
    second = Process(value="order-detail", name="B", run=noop)
    with pytest.raises(RegistryError, match="order-detail"):
        index_by_slug([first, second])


def test_a_declaration_refuses_an_unknown_multiple_execution_rule() -> None:
    with pytest.raises(ValueError, match="AllowMultipleExecution"):
        Process(value="X", name="X", run=noop, allow_multiple_execution="Q")


def test_a_declaration_refuses_a_value_without_a_slug() -> None:
    with pytest.raises(ValueError, match="empty slug"):
        Process(value="日本語", name="X", run=noop)


def test_derived_uuids_are_stable_and_distinct() -> None:
    process = Process(value="X", name="X", run=noop)
    a = Parameter("A", "A", Ref.STRING)
    b = Parameter("B", "B", Ref.STRING)
    assert process.parameter_uuid(a) == Process(
        value="X", name="Y", run=noop
    ).parameter_uuid(a)
    assert process.parameter_uuid(a) != process.parameter_uuid(b)


def test_the_shipped_translation_process_is_registered_with_idempiere_ids() -> None:
    declared = registry()["translationimpexp"]
    assert declared.id == 200126
    assert declared.process_uuid == "9b654152-331f-4ac7-9c61-06b1d1bc3edf"
