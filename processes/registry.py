"""Every process procserv can run, from the ``procserv.processes`` entry points.

procserv's own processes come through its own entry point; a third-party package
adds its processes the same way, in its ``pyproject.toml``::

    [project.entry-points."procserv.processes"]
    mypackage = "mypackage.processes:PROCESSES"

An entry point names a ``Process`` or an iterable of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib.metadata import entry_points

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


@lru_cache(maxsize=1)
def registry() -> Mapping[str, Process]:
    """The processes of every installed package, by slug."""
    return index_by_slug(_declared_by_entry_points())


def by_classname(classname: str) -> Process | None:
    for candidate in registry().values():
        if candidate.classname == classname:
            return candidate
    return None
