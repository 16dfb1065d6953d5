"""The remediation action registry: one module per target kind registers its action classes."""

from __future__ import annotations

from importlib import import_module

from .base import Action

ACTION_MODULES = ("kubernetes", "postgres", "redis", "kafka")


class ActionRegistry:
    def __init__(self):
        self._actions: dict[str, Action] = {}

    def register(self, action_class: type[Action]) -> type[Action]:
        name = action_class.name
        if name in self._actions and type(self._actions[name]) is not action_class:
            raise ValueError(f"action {name!r} is registered twice")
        self._actions[name] = action_class()
        return action_class

    def get(self, name: str) -> Action:
        return self._actions[name]

    def __contains__(self, name: str) -> bool:
        return name in self._actions

    def all(self) -> list[Action]:
        return list(self._actions.values())

    def for_kind(self, kind: str) -> list[Action]:
        return [action for action in self._actions.values() if action.kind == kind]


registry = ActionRegistry()


def load_action_modules() -> None:
    for module in ACTION_MODULES:
        import_module(f"{__name__}.{module}")
