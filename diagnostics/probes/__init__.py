"""The probe registry: one module per target kind registers its probe classes.

from diagnostics.probes import registry
registry.get("postgres.connections")     # → the probe instance
registry.for_kind("redis")                # → probes of a kind, in registration order
"""

from __future__ import annotations

from importlib import import_module

from .base import Probe

PROBE_MODULES = ("kubernetes", "postgres", "redis", "kafka", "http")


class ProbeRegistry:
    def __init__(self):
        self._probes: dict[str, Probe] = {}

    def register(self, probe_class: type[Probe]) -> type[Probe]:
        """Class decorator: `@registry.register`."""
        name = probe_class.name
        if name in self._probes and type(self._probes[name]) is not probe_class:
            raise ValueError(f"probe {name!r} is registered twice")
        self._probes[name] = probe_class()
        return probe_class

    def get(self, name: str) -> Probe:
        return self._probes[name]

    def __contains__(self, name: str) -> bool:
        return name in self._probes

    def all(self) -> list[Probe]:
        return list(self._probes.values())

    def for_kind(self, kind: str) -> list[Probe]:
        return [probe for probe in self._probes.values() if probe.kind == kind]

    def health_probes(self, kind: str) -> list[Probe]:
        return [probe for probe in self.for_kind(kind) if probe.health]


registry = ProbeRegistry()


def load_probe_modules() -> None:
    """Import every probe module so their classes register (called from AppConfig.ready)."""
    for module in PROBE_MODULES:
        import_module(f"{__name__}.{module}")
