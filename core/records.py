"""`dataclass`, made for less: the same classes `dataclasses.dataclass` makes, at a quarter of
its import cost.

Why: `dataclasses` compiles source text for every method of every class (`__init__`,
`__repr__`, `__eq__`, `__hash__`, and `__setattr__`/`__delattr__` when frozen). For the ~50
classes a setup imports that was ~35 ms of CPU — an eighth of a whole small setup, and the
largest single block between it and half of one `khal new`. Here `dataclasses` still reads
the fields (defaults, factories, `ClassVar`, mutable-default checks, `fields()`, `replace()`,
`asdict()` all work as before), only `__init__` is compiled, and the other methods are
closures over the field names: the same behaviour, without a compile each.

The contract, held by tests/test_records.py against `dataclasses.dataclass` itself: a class
made here has the same fields, `__init__` signature, `__match_args__`, repr, equality, hash,
frozenness and `__dataclass_params__` as the one `dataclasses` makes. Whatever this module
has no rule for (an option other than `frozen`, an inherited dataclass, `InitVar`, `KW_ONLY`,
`init=False` or `kw_only` fields, a method of its own among those made) is handed to
`dataclasses.dataclass` unchanged, so a class is never made differently, only slower.

mypy sees `dataclasses.dataclass` itself (the `TYPE_CHECKING` import), so it checks records
exactly as it checks dataclasses.
"""

from __future__ import annotations

import dataclasses
import marshal
import reprlib
import sys
import types
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass
else:
    def dataclass(cls: type | None = None, /, *, frozen: bool = False, **options: Any) -> Any:
        """`dataclasses.dataclass(cls, frozen=frozen, **options)`, made as described above."""
        def wrap(cls: type) -> type:
            if options or not _TESTED or not _has_rules_for(cls):
                return dataclasses.dataclass(cls, frozen=frozen, **options)
            return _make(cls, frozen)

        return wrap if cls is None else wrap(cls)

# The Pythons whose `dataclasses` tests/test_records.py compares this module with (3.14 reads
# annotations lazily, and its `dataclasses` is not checked here yet): on any other,
# `dataclass` is `dataclasses.dataclass` for every class.
_TESTED = (3, 11) <= sys.version_info[:2] <= (3, 13)
# Methods this module writes; a class that defines one itself goes to `dataclasses`, which
# has rules for each (keep it, raise, or set `__hash__` to None) that are not worth copying.
_MADE = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")
_PREFIX = "__da_"  # names of the generated __init__'s globals; no field may start with it


def _has_rules_for(cls: type) -> bool:
    """Whether every field and option of `cls` is one this module makes the same way: read
    from the class body, before `dataclasses` changes it (it removes a factory's `field()`)."""
    if any("__dataclass_fields__" in vars(base) for base in cls.__mro__[1:]):
        return False
    body = vars(cls)
    if any(name in body for name in _MADE):
        return False
    for name, annotation in body.get("__annotations__", {}).items():
        if annotation is dataclasses.KW_ONLY or isinstance(annotation, dataclasses.InitVar):
            return False
        if isinstance(annotation, str) and ("InitVar" in annotation or "KW_ONLY" in annotation):
            return False
        if name == "self" or name.startswith(_PREFIX):
            return False
        value = body.get(name)
        if isinstance(value, dataclasses.Field) and (not value.init or value.kw_only is True):
            return False
    return True


def _make(cls: type, frozen: bool) -> type:
    documented = bool(vars(cls).get("__doc__"))
    if not documented:  # else `dataclasses` reads object's signature, a tokenizer's work
        cls.__doc__ = "(written below)"
    # No init, repr, eq or frozen: `dataclasses` reads and records the fields and compiles
    # nothing; the methods are added below, and the params set to what they are.
    cls = dataclasses.dataclass(cls, init=False, repr=False, eq=False)
    fields = dataclasses.fields(cls)
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    params.init, params.repr, params.eq, params.frozen = True, True, True, frozen
    _set(cls, "__init__", _init(cls, fields, frozen))
    _set(cls, "__repr__", _repr([f.name for f in fields if f.repr]))
    _set(cls, "__eq__", _eq([f.name for f in fields if f.compare]))
    if frozen:
        _set(cls, "__hash__", _hash([f.name for f in fields
                                     if (f.compare if f.hash is None else f.hash)]))
        names = {f.name for f in fields}
        _set(cls, "__setattr__", _frozen_setattr(cls, names))
        _set(cls, "__delattr__", _frozen_delattr(cls, names))
    else:
        cls.__hash__ = None  # type: ignore[assignment]  # eq without frozen: unhashable
    if not documented:  # what `dataclasses` writes, now that the signature is the real one
        import inspect

        cls.__doc__ = cls.__name__ + str(inspect.signature(cls)).replace(" -> None", "")
    return cls


def _set(cls: type, name: str, function: Any) -> None:
    function.__qualname__ = f"{cls.__qualname__}.{name}"
    function.__module__ = cls.__module__
    setattr(cls, name, function)


def _init(cls: type, fields: tuple[dataclasses.Field[Any], ...], frozen: bool) -> Any:
    """The one compiled method: an `__init__` with the fields as its parameters, in the form
    `dataclasses` writes it (its speed matters: every item of a run is made through it)."""
    space: dict[str, Any] = {f"{_PREFIX}set": object.__setattr__,
                             f"{_PREFIX}factory": _HAS_FACTORY}
    params, body = ["self"], []
    for f in fields:
        value = f.name
        if f.default is not dataclasses.MISSING:
            space[f"{_PREFIX}d_{f.name}"] = f.default
            params.append(f"{f.name}={_PREFIX}d_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            space[f"{_PREFIX}f_{f.name}"] = f.default_factory
            params.append(f"{f.name}={_PREFIX}factory")
            value = f"{_PREFIX}f_{f.name}() if {f.name} is {_PREFIX}factory else {f.name}"
        else:
            params.append(f.name)
        body.append(f"{_PREFIX}set(self, {f.name!r}, {value})" if frozen
                    else f"self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = (f"def __init__({', '.join(params)}):\n "
              + ("\n ".join(body) or "pass") + "\n")
    exec(_compiled(source, f"<record {cls.__qualname__}>"), space)
    init = space["__init__"]
    init.__annotations__ = {**{f.name: f.type for f in fields}, "return": None}
    return init


# Compiling the __init__s is still most of the cost (~7 ms for a setup's 47), so their code
# is kept in the user cache folder, as the compiled templates are, and compiled only for a
# source not seen before. The file is valid for one build of Python (marshal's format and
# the bytecode are that build's); it is read once per process and written at exit when
# something was compiled. Like jinja2's bytecode cache, it trusts the user's own folder.
_CODE_FORMAT = 1
_codes: dict[str, types.CodeType] | None = None


def _code_file() -> Path:
    from designed_alliance.core import userdirs

    return userdirs.cache() / f"records-{sys.implementation.cache_tag}.marshal"


def _code_stamp() -> tuple[int, str, str]:
    return (_CODE_FORMAT, sys.version, sys.implementation.cache_tag or "")


def _read_codes() -> dict[str, types.CodeType]:
    try:
        stamp, codes = marshal.loads(_code_file().read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if stamp != _code_stamp() or not isinstance(codes, dict):
        return {}
    return {k: v for k, v in codes.items()
            if isinstance(k, str) and isinstance(v, types.CodeType)}


def _compiled(source: str, filename: str) -> types.CodeType:
    global _codes
    if sys.implementation.cache_tag is None:  # an implementation that caches no bytecode
        return compile(source, filename, "exec")
    if _codes is None:
        _codes = _read_codes()
    key = f"{filename}\n{source}"
    code = _codes.get(key)
    if code is None:
        from designed_alliance.core import userdirs

        code = _codes[key] = compile(source, filename, "exec")
        userdirs.write_at_exit(_write_codes)
    return code


def _write_codes() -> None:
    """Every code this process used or read, the newest 2,000 (the classes of several
    versions of this package)."""
    from designed_alliance.core import userdirs

    codes = dict(list((_codes or {}).items())[-2000:])
    userdirs.write_cache(_code_file(), marshal.dumps((_code_stamp(), codes)))


class _FactoryMarker:
    """Stands in for a parameter whose default comes from a factory (as `dataclasses`' own)."""

    def __repr__(self) -> str:
        return "<factory>"


_HAS_FACTORY = _FactoryMarker()


def _getter(names: list[str]) -> Any:
    """The fields' values as one tuple, read in C (`attrgetter` of one name is no tuple)."""
    if not names:
        return lambda self: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda self: (one(self),)
    return attrgetter(*names)


def _repr(names: list[str]) -> Any:
    get = _getter(names)

    def __repr__(self: Any) -> str:
        values = get(self)
        return (f"{self.__class__.__qualname__}("
                + ", ".join(f"{name}={value!r}" for name, value in zip(names, values, strict=True))
                + ")")

    guarded = reprlib.recursive_repr("...")(__repr__)
    guarded.__wrapped__ = __repr__  # type: ignore[attr-defined]  # 3.11's reprlib sets none
    return guarded


def _eq(names: list[str]) -> Any:
    if sys.version_info >= (3, 13):  # 3.13 compares field by field, after identity
        getters = [attrgetter(name) for name in names]

        def __eq__(self: Any, other: object) -> Any:
            if self is other:
                return True
            if other.__class__ is self.__class__:
                result: Any = True  # as `a == b and c == d`: the first false result, or the last
                for get_one in getters:
                    result = get_one(self) == get_one(other)
                    if not result:
                        return result
                return result
            return NotImplemented

        return __eq__
    get = _getter(names)

    def __eq__(self: Any, other: object) -> Any:  # 3.11, 3.12: as tuples
        if other.__class__ is self.__class__:
            return get(self) == get(other)
        return NotImplemented

    return __eq__


def _hash(names: list[str]) -> Any:
    get = _getter(names)

    def __hash__(self: Any) -> int:
        return hash(get(self))

    return __hash__


def _frozen_setattr(cls: Any, names: set[str]) -> Any:
    def __setattr__(self: Any, name: str, value: object) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    return __setattr__


def _frozen_delattr(cls: Any, names: set[str]) -> Any:
    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __delattr__
