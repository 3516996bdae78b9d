"""Every process procserv can run, from the ``procserv.processes`` entry points.

procserv's own processes come through its own entry point; a third-party package
adds its processes the same way, in its ``pyproject.toml``::

    [project.entry-points."procserv.processes"]
    mypackage = "mypackage.processes:PROCESSES"

An entry point names a ``Process`` or an iterable of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib.metadata import entry_points
from itertools import chain

from app.settings import get_settings
from processes.declarations import Process

GROUP = "procserv.processes"


class RegistryError(Exception):
    """The declared processes cannot be served as they are (e.g. two share a slug)."""


def index_by_slug(declared: Iterable[Process]) -> dict[str, Process]:
    by_slug: dict[str, Process] = {}
    for candidate in declared:
        other = by_slug.get(candidate.slug)
        if other is not None:
            raise RegistryError(
                f"processes {other.value!r} ({other.origin}) and "
                f"{candidate.value!r} ({candidate.origin}) share the slug "
                f"{candidate.slug!r}"
            )
        by_slug[candidate.slug] = candidate
    return by_slug


def _declared_by_entry_points() -> Iterable[Process]:
    for point in entry_points(group=GROUP):
        loaded = point.load()
        items = [loaded] if isinstance(loaded, Process) else list(loaded)
        for item in items:
            if not isinstance(item, Process):
                raise RegistryError(f"entry point {point.name!r} gave {item!r}")
            object.__setattr__(item, "origin", f"{point.name} = {point.value}")
            yield item


def _declared_by_settings() -> Iterable[Process]:
    for target in get_settings().extra_processes.split(","):
        if not target.strip():
            continue
        module_name, _, attribute = target.strip().partition(":")
        loaded = getattr(importlib.import_module(module_name), attribute or "PROCESSES")
        for item in [loaded] if isinstance(loaded, Process) else list(loaded):
            object.__setattr__(item, "origin", target.strip())
            yield item


@lru_cache(maxsize=1)
def registry() -> Mapping[str, Process]:
    """The processes of every installed package (and of EXTRA_PROCESSES), by slug."""
    return index_by_slug(chain(_declared_by_entry_points(), _declared_by_settings()))


def by_classname(classname: str) -> Process | None:
    for candidate in registry().values():
        if candidate.classname == classname:
            return candidate
    return None
