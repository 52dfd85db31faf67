"""Every error class survives pickle (multiprocessing, concurrent.futures) with its type,
message and attributes.

The classes are enumerated from ``zero_session.errors`` (its ``__all__`` and every
``ZeroSessionError`` subclass defined there), so a class added later is tested without
anyone remembering to list it here.
"""

from __future__ import annotations

import inspect
import pickle
from typing import Any

import pytest

import zero_session
from zero_session import errors

SAMPLES: dict[str, Any] = {
    "str": "01JEXAMPLE0000000000000000",
    "int": 7,
    "int | None": 4242,
    "str | None": "host-a",
    "Sequence[str]": ["01JCHILD00000000000000000A", "01JCHILD00000000000000000B"],
    "bool": True,
}


def _error_classes() -> list[type[errors.ZeroSessionError]]:
    named = {getattr(errors, name) for name in errors.__all__}
    defined = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.ZeroSessionError)
    }
    classes = {cls for cls in named | defined if isinstance(cls, type)}
    assert all(issubclass(cls, errors.ZeroSessionError) for cls in classes)
    return sorted(classes, key=lambda cls: cls.__name__)


def _instance(cls: type[errors.ZeroSessionError]) -> errors.ZeroSessionError:
    """The class built with a distinct sample value for every constructor argument."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    if cls.__init__ is Exception.__init__ or cls.__init__ is BaseException.__init__:
        return cls(f"{cls.__name__}: something went wrong")
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = str(param.annotation)
        if param.default is not param.empty and param.kind is param.KEYWORD_ONLY:
            kwargs[param.name] = SAMPLES.get(annotation, param.default)
            continue
        assert annotation in SAMPLES, f"{cls.__name__}.{param.name}: add a sample for {annotation}"
        value = SAMPLES[annotation]
        if annotation == "str":
            value = f"{param.name}-{len(args)}"
        args.append(value)
    return cls(*args, **kwargs)


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda cls: cls.__name__)
def test_error_round_trips_through_pickle(cls: type[errors.ZeroSessionError]) -> None:
    original = _instance(cls)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(original, protocol=protocol))
        assert type(copy) is cls
        assert str(copy) == str(original)
        assert copy.args == original.args
        assert vars(copy) == vars(original)


def test_every_error_is_exported() -> None:
    for cls in _error_classes():
        assert cls.__name__ in errors.__all__
        assert getattr(zero_session, cls.__name__) is cls


def test_the_enumeration_finds_the_classes_that_once_broke() -> None:
    names = {cls.__name__ for cls in _error_classes()}
    assert {
        "SeqConflict",
        "AmbiguousSession",
        "SessionBusy",
        "HasForks",
        "SchemaTooNew",
        "SessionNotFound",
        "SessionEnded",
        "DiskFull",
    } <= names
