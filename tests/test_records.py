"""core/records.py makes the classes `dataclasses.dataclass` makes: every class is built twice
from one body, once by each, and the two are compared by what a caller can see — fields,
signature, params, doc, repr, equality, hash, frozenness, replace/asdict/copy/pickle. The
package's own classes are compared the same way, by importing each of their modules a second
time with `dataclasses.dataclass` in place of ours."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import importlib.util
import inspect
import math
import pickle
import sys
import types
from collections.abc import Callable
from dataclasses import KW_ONLY, Field, InitVar, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from designed_alliance.core import records

Deco = Callable[..., Any]


def twins(body: Callable[[Deco], type], **options: Any) -> tuple[type, type]:
    ours = body(lambda cls: records.dataclass(cls, **options))
    theirs = body(lambda cls: dataclasses.dataclass(cls, **options))
    return ours, theirs


def made_here(cls: type) -> bool:
    """Whether records made `cls` itself (its __init__ is the one it compiles)."""
    init = vars(cls).get("__init__")
    return init is not None and init.__code__.co_filename.startswith("<record ")


def spec(f: Field[Any]) -> tuple[object, ...]:
    # By repr and qualname: a module imported twice has two of each class and enum it uses
    factory = getattr(f.default_factory, "__qualname__", f.default_factory)
    return (f.name, f.type, repr(f.default), factory, f.init, f.repr, f.hash, f.compare,
            dict(f.metadata), f.kw_only)


def assert_same_class(ours: type, theirs: type) -> None:
    assert [spec(f) for f in dataclasses.fields(ours)] == \
        [spec(f) for f in dataclasses.fields(theirs)]  # type: ignore[arg-type]
    assert str(inspect.signature(ours)) == str(inspect.signature(theirs))
    assert ours.__init__.__annotations__ == theirs.__init__.__annotations__  # type: ignore[misc]
    assert ours.__init__.__qualname__ == theirs.__init__.__qualname__  # type: ignore[misc]
    assert getattr(ours, "__match_args__", None) == getattr(theirs, "__match_args__", None)
    assert repr(ours.__dataclass_params__) == repr(theirs.__dataclass_params__)  # type: ignore[attr-defined]
    assert ours.__doc__ == theirs.__doc__
    assert (ours.__hash__ is None) == (theirs.__hash__ is None)
    for name in ("__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        assert (name in vars(ours)) == (name in vars(theirs)), name
        if vars(ours).get(name) is not None:
            assert vars(ours)[name].__qualname__ == vars(theirs)[name].__qualname__
    cached = {"__init__", "__slotnames__"}  # copyreg caches __slotnames__ on first copy
    assert sorted(set(vars(ours)) - cached) == sorted(set(vars(theirs)) - cached)


def outcome(action: Callable[[], object]) -> tuple[str, object]:
    """What an action gives, or the type and text of what it raises."""
    try:
        return ("value", action())
    except Exception as exc:  # the comparison is the point: any exception is a result
        return (type(exc).__name__, str(exc))


def assert_same_instances(ours: type, theirs: type, *args: Any, **kwargs: Any) -> None:
    a, b = outcome(lambda: ours(*args, **kwargs)), outcome(lambda: theirs(*args, **kwargs))
    if a[0] != "value" or b[0] != "value":
        assert a == b
        return
    x, y = a[1], b[1]
    assert repr(x) == repr(y)
    assert (x == copy.copy(x)) == (y == copy.copy(y))
    assert (x == object()) == (y == object())
    assert outcome(lambda: hash(x)) == outcome(lambda: hash(y))
    assert outcome(lambda: repr(dataclasses.replace(x))) == \
        outcome(lambda: repr(dataclasses.replace(y)))  # type: ignore[type-var]
    assert outcome(lambda: dataclasses.asdict(x)) == outcome(lambda: dataclasses.asdict(y))  # type: ignore[call-overload]
    assert repr(copy.deepcopy(x)) == repr(copy.deepcopy(y))
    # last, as they change the instances: a frozen one refuses, another takes the change
    assert outcome(lambda: setattr(x, "first", 1)) == outcome(lambda: setattr(y, "first", 1))
    assert outcome(lambda: setattr(x, "other", 1)) == outcome(lambda: setattr(y, "other", 1))
    assert repr(x) == repr(y)
    assert outcome(lambda: delattr(x, "first")) == outcome(lambda: delattr(y, "first"))


# -- bodies, each decorated by one maker or the other -------------------------------------

def everything(deco: Deco) -> type:
    @deco
    class Everything:
        """Required, default, factory, and fields left out of repr, compare or hash."""

        first: int
        second: str = "two"
        items: list[int] = field(default_factory=list)
        hidden: str = field(default="h", repr=False)
        loose: float = field(default=0.0, compare=False)
        hashed_only: int = field(default=0, compare=False, hash=True)
        unhashed: int = field(default=0, hash=False)
        labels: dict[str, str] = field(default_factory=dict, metadata={"why": "a test"})
        kind: ClassVar[str] = "everything"

        @property
        def double(self) -> int:
            return self.first * 2

    return Everything


def hashable(deco: Deco) -> type:
    @deco
    class Hashable:
        """Fields left out of compare, of hash, or compared only."""

        first: int
        second: str = "two"
        loose: float = field(default=0.0, compare=False)
        hashed_only: int = field(default=0, compare=False, hash=True)
        unhashed: int = field(default=0, hash=False)

    return Hashable


def undocumented(deco: Deco) -> type:
    @deco
    class Undocumented:
        first: int
        second: tuple[str, ...] = ("a", "b")
        more: list[str] = field(default_factory=list)

    return Undocumented


def empty(deco: Deco) -> type:
    @deco
    class Empty:
        """No fields at all."""

    return Empty


def single(deco: Deco) -> type:
    @deco
    class Single:
        """One field: its hash is of a 1-tuple, as dataclasses writes it."""

        first: object = None

    return Single


def post_init(deco: Deco) -> type:
    @deco
    class PostInit:
        """__post_init__ runs last and may fix a frozen field through object.__setattr__."""

        first: int | str
        seen: list[str] = field(default_factory=list)

        def __post_init__(self) -> None:
            if isinstance(self.first, str):
                object.__setattr__(self, "first", len(self.first))
            self.seen.append("post")

    return PostInit


def recursive(deco: Deco) -> type:
    @deco
    class Node:
        """Holds a list that can hold the node itself."""

        first: list[Any] = field(default_factory=list)

    return Node


def builtin_names(deco: Deco) -> type:
    @deco
    class Shadows:
        """Fields named like builtins and like the names dataclasses uses in __init__."""

        object: int = 1
        MISSING: int = 2
        type: str = "t"
        first: int = 0

    return Shadows


BODIES = [everything, hashable, undocumented, empty, single, post_init, recursive, builtin_names]
ARGUMENTS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}), ((1,), {}), ((1, "x"), {}), ((), {"first": 3}), ((1,), {"nope": 2}),
    (("abc",), {}), ((1, "x", [1, 2]), {}), ((math.nan,), {}), ((1, 2, 3, 4, 5, 6, 7, 8, 9), {}),
    ((), {"first": 1, "second": "s", "hidden": "x"}),
]


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize("body", BODIES, ids=lambda b: b.__name__)
def test_a_class_is_made_as_dataclasses_makes_it(body: Callable[[Deco], type],
                                                 frozen: bool) -> None:
    ours, theirs = twins(body, frozen=frozen)
    assert made_here(ours) is records._TESTED  # else all is dataclasses'
    assert_same_class(ours, theirs)
    for args, kwargs in ARGUMENTS:
        assert_same_instances(ours, theirs, *args, **kwargs)


def test_undocumented_classes_get_the_doc_dataclasses_writes() -> None:
    ours, theirs = twins(undocumented, frozen=True)
    assert ours.__doc__ == theirs.__doc__
    assert ours.__doc__.startswith("Undocumented(first: 'int', second:")


@pytest.mark.parametrize("frozen", [True, False])
def test_equality_and_hash_follow_the_fields(frozen: bool) -> None:
    ours, theirs = twins(hashable, frozen=frozen)
    for cls, other in ((ours, theirs), (theirs, ours)):
        a, b = cls(1, loose=1.0, hashed_only=5), cls(1, loose=2.0, hashed_only=5)
        assert a == b  # `loose` and `hashed_only` are not compared
        assert a != cls(2)
        assert a != other(1)  # the same fields in another class
        if frozen:
            assert hash(a) == hash(b)
            assert hash(a) != hash(cls(1, hashed_only=6))  # hashed though not compared
            assert hash(a) == hash(cls(1, unhashed=7, hashed_only=5))
    if frozen:
        assert hash(ours(1, "x")) == hash(theirs(1, "x"))


@pytest.mark.parametrize("frozen", [True, False])
def test_nan_and_identity_compare_as_in_dataclasses(frozen: bool) -> None:
    ours, theirs = twins(single, frozen=frozen)
    nan = math.nan
    assert (ours(nan) == ours(nan)) == (theirs(nan) == theirs(nan))
    one_o, one_t = ours(nan), theirs(nan)
    assert (one_o == one_o) == (one_t == one_t)  # identity is the question
    assert one_o == one_o  # both the 3.11 tuple and the 3.13 identity check say so


def test_recursive_repr_is_cut_as_dataclasses_cuts_it() -> None:
    ours, theirs = twins(recursive)
    a, b = ours(), theirs()
    a.first.append(a)
    b.first.append(b)
    assert repr(a) == repr(b) == "recursive.<locals>.Node(first=[...])"


def test_factories_give_every_instance_its_own_value() -> None:
    ours, _ = twins(everything, frozen=True)
    a, b = ours(1), ours(2)
    a.items.append(1)
    assert b.items == []


def test_mutable_defaults_are_refused_as_dataclasses_refuses_them() -> None:
    def body(deco: Deco) -> type:
        @deco
        class Bad:
            """A list as a default."""

            first: list[int] = []  # noqa: RUF012  # the mistake under test

        return Bad

    a = outcome(lambda: body(records.dataclass))
    b = outcome(lambda: body(dataclasses.dataclass))
    assert a == b
    assert a[0] == "ValueError"


def test_a_plain_subclass_of_a_frozen_record_may_add_attributes() -> None:
    ours, theirs = twins(single, frozen=True)

    class SubO(ours):  # type: ignore[valid-type,misc]
        pass

    class SubT(theirs):  # type: ignore[valid-type,misc]
        pass

    for sub in (SubO, SubT):
        item = sub(1)
        item.extra = 2
        assert item.extra == 2
        with pytest.raises(dataclasses.FrozenInstanceError):
            item.first = 3


def test_a_loaded_alliance_and_its_plan_survive_pickle_and_deepcopy() -> None:
    """Trees of the package's own records: an alliance (members, commitments, check-ins)
    and the events a run wants from it."""
    from designed_alliance.core.config import Config
    from designed_alliance.core.load import load
    from designed_alliance.core.model import Alliance
    from designed_alliance.core.run import desired

    alliance = load(ROOT / "examples" / "team-project.toml")
    want = desired(alliance, Config())
    for value in (alliance, want.events, want.messages):
        assert pickle.loads(pickle.dumps(value)) == value
        assert copy.deepcopy(value) == value
    assert hash(want.events) == hash(pickle.loads(pickle.dumps(want.events)))
    assert made_here(Alliance) is records._TESTED


# -- what is handed to dataclasses unchanged ----------------------------------------------

def with_initvar(deco: Deco) -> type:
    @deco
    class WithInitVar:
        """An InitVar."""

        first: int
        scale: InitVar[int] = 1

        def __post_init__(self, scale: int) -> None:
            object.__setattr__(self, "first", self.first * scale)

    return WithInitVar


def with_kw_only(deco: Deco) -> type:
    @deco
    class WithKwOnly:
        """A KW_ONLY marker."""

        first: int
        _: KW_ONLY
        second: int = 2

    return WithKwOnly


def with_init_false(deco: Deco) -> type:
    @deco
    class WithInitFalse:
        """A field __init__ does not take."""

        first: int
        derived: int = field(default=0, init=False)

    return WithInitFalse


def with_kw_only_field(deco: Deco) -> type:
    @deco
    class WithKwOnlyField:
        """A keyword-only field."""

        first: int
        second: int = field(default=2, kw_only=True)

    return WithKwOnlyField


def with_own_repr(deco: Deco) -> type:
    @deco
    class WithOwnRepr:
        """Its own __repr__, which dataclasses keeps."""

        first: int = 0

        def __repr__(self) -> str:
            return "mine"

    return WithOwnRepr


def with_own_eq(deco: Deco) -> type:
    @deco
    class WithOwnEq:
        """Its own __eq__ (so Python set __hash__ to None in the body)."""

        first: int = 0

        def __eq__(self, other: object) -> bool:
            return True

    return WithOwnEq


def inherited(deco: Deco) -> type:
    @deco
    class Base:
        """A base record."""

        first: int = 0

    @deco
    class Child(Base):
        """Inherits its first field."""

        second: int = 1

    return Child


HANDED_ON = [with_initvar, with_kw_only, with_init_false, with_kw_only_field, with_own_repr,
             with_own_eq, inherited]


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize("body", HANDED_ON, ids=lambda b: b.__name__)
def test_what_it_has_no_rule_for_dataclasses_makes(body: Callable[[Deco], type],
                                                   frozen: bool) -> None:
    ours, theirs = twins(body, frozen=frozen)
    assert not made_here(ours)
    assert_same_class(ours, theirs)
    for args, kwargs in [((), {}), ((3,), {}), ((3, 4), {}), ((3,), {"second": 5}),
                         ((3,), {"scale": 2})]:
        assert_same_instances(ours, theirs, *args, **kwargs)


@pytest.mark.parametrize("options", [{"order": True}, {"eq": False}, {"unsafe_hash": True},
                                     {"repr": False}, {"slots": True}, {"kw_only": True},
                                     {"match_args": False}, {"init": False}])
def test_other_options_are_handed_to_dataclasses(options: dict[str, Any]) -> None:
    ours, theirs = twins(everything, frozen=True, **options)
    assert not made_here(ours) or "__init__" not in vars(ours)
    assert [spec(f) for f in dataclasses.fields(ours)] == \
        [spec(f) for f in dataclasses.fields(theirs)]  # type: ignore[arg-type]
    assert repr(ours.__dataclass_params__) == repr(theirs.__dataclass_params__)  # type: ignore[attr-defined]
    if not {"init", "kw_only", "repr"} & set(options):
        assert repr(ours(1)) == repr(theirs(1))


# -- the package's own classes ------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
USERS = sorted(
    ".".join(("designed_alliance", *path.relative_to(ROOT).with_suffix("").parts))
    for folder in ("core", "integrations")
    for path in (ROOT / folder).rglob("*.py")
    if "from designed_alliance.core.records import dataclass" in path.read_text(encoding="utf-8"))


def twin_module(name: str, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """`name` imported a second time, its classes made by `dataclasses.dataclass`."""
    spec_ = importlib.util.find_spec(name)
    assert spec_ is not None and spec_.origin is not None
    module = types.ModuleType(name)
    module.__file__ = spec_.origin
    module.__package__ = name.rpartition(".")[0]
    with monkeypatch.context() as patch:
        patch.setattr(records, "dataclass", dataclasses.dataclass)
        source = Path(spec_.origin).read_text(encoding="utf-8")
        exec(compile(source, spec_.origin, "exec"), module.__dict__)
    return module


def test_records_hands_every_class_to_dataclasses_on_a_python_it_is_not_tested_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "_TESTED", False)
    ours, theirs = twins(everything, frozen=True)
    assert not made_here(ours)
    assert_same_class(ours, theirs)


def test_the_package_uses_records_everywhere() -> None:
    assert len(USERS) >= 20, USERS
    for folder in ("core", "integrations"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "records.py":
                continue
            text = path.read_text(encoding="utf-8")
            assert "from dataclasses import dataclass" not in text, path
            assert "@dataclasses.dataclass" not in text, path


@pytest.mark.parametrize("name", USERS)
def test_the_package_classes_are_made_as_dataclasses_makes_them(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module(name)
    twin = twin_module(name, monkeypatch)
    made = 0
    for attr, ours in vars(module).items():
        if not (isinstance(ours, type) and ours.__module__ == name
                and "__dataclass_fields__" in vars(ours)):
            continue
        theirs = vars(twin)[attr]
        assert_same_class(ours, theirs)
        made += made_here(ours)
    assert made or not records._TESTED, f"{name}: no class made by records"


@pytest.mark.skipif(not records._TESTED, reason="records hands every class to dataclasses")
def test_a_fresh_setup_makes_its_classes_here() -> None:
    """The reason for the module: no class a setup imports is made by dataclasses' compiler."""
    script = (
        "import dataclasses\n"
        "slow = []\n"
        "real = dataclasses._process_class\n"
        "def watch(cls, init, *rest):\n"
        "    if init and cls.__module__.startswith('designed_alliance'):\n"
        "        slow.append(cls.__qualname__)\n"
        "    return real(cls, init, *rest)\n"
        "dataclasses._process_class = watch\n"
        "import designed_alliance.core.commands.setup, designed_alliance.integrations.mail\n"
        "import designed_alliance.integrations.files, designed_alliance.integrations.ical\n"
        "print(','.join(slow))\n")
    import subprocess

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == ""


# -- the compiled __init__s kept in the user cache folder ---------------------------------

@pytest.mark.parametrize("env", [
    {"XDG_CACHE_HOME": "/somewhere/cache", "XDG_CONFIG_HOME": "/somewhere/config",
     "XDG_STATE_HOME": "/somewhere/state"},
    {"XDG_CACHE_HOME": "/somewhere/cache/", "XDG_STATE_HOME": "/s/"},
    {"XDG_CACHE_HOME": "relative/cache", "XDG_CONFIG_HOME": "rel", "XDG_STATE_HOME": "r"},
    {"XDG_CACHE_HOME": "", "XDG_CONFIG_HOME": "", "XDG_STATE_HOME": ""}, {},
    {"HOME": "/home/x/"}, {"HOME": "relative"},
], ids=["xdg", "xdg-slash", "xdg-relative", "xdg-empty", "unset", "home-slash",
        "relative-home"])
def test_the_user_folders_are_the_ones_platformdirs_names(
        env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    from designed_alliance.core import userdirs

    for name in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert userdirs.cache() == platformdirs.user_cache_path("designed-alliance")
    assert userdirs.config() == platformdirs.user_config_path("designed-alliance")
    assert userdirs.state() == platformdirs.user_state_path("designed-alliance")


def shaped(deco: Deco) -> type:
    @deco
    class Shaped:
        """A shape no other test makes, so its __init__ is compiled here first."""

        cached_first: int
        cached_second: list[int] = field(default_factory=list)

    return Shaped


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """records' code cache read from and written to a folder of this test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(records, "_codes", None)
    from designed_alliance.core import userdirs

    monkeypatch.setattr(userdirs, "_at_exit", set())  # nothing of this test is kept for exit
    monkeypatch.setattr("atexit.register", lambda function: None)  # written by the test
    return tmp_path / "designed-alliance" / f"records-{sys.implementation.cache_tag}.marshal"


def test_an_init_compiled_once_is_read_back_by_the_next_process(
        own_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real_compile = compile

    def counting(source: str, filename: str, mode: str) -> types.CodeType:
        compiled.append(filename)
        return real_compile(source, filename, mode)

    monkeypatch.setattr(records, "compile", counting, raising=False)
    first = shaped(records.dataclass)
    assert compiled == ["<record shaped.<locals>.Shaped>"]
    records._write_codes()
    assert own_cache.stat().st_mode & 0o777 == 0o600

    monkeypatch.setattr(records, "_codes", None)  # as a new process starts
    second = shaped(records.dataclass)
    assert compiled == ["<record shaped.<locals>.Shaped>"]  # not compiled again
    assert repr(second(1)) == repr(first(1))
    assert second(1, [2]).cached_second == [2] and second(1).cached_second == []
    assert made_here(second) is records._TESTED


@pytest.mark.parametrize("content", [b"", b"not marshal", None, "stamp"],
                         ids=["empty", "garbage", "other-types", "other-python"])
def test_a_damaged_or_foreign_cache_file_is_ignored_and_replaced(
        own_cache: Path, content: bytes | str | None) -> None:
    import marshal

    own_cache.parent.mkdir(parents=True)
    if content is None:
        own_cache.write_bytes(marshal.dumps((records._code_stamp(), {"key": 1, 2: "x"})))
    elif content == "stamp":
        fake = compile("def __init__(self): pass\n", "<record x>", "exec")
        own_cache.write_bytes(marshal.dumps(((0, "another python", "x"), {"k": fake})))
    else:
        assert isinstance(content, bytes)
        own_cache.write_bytes(content)
    made = shaped(records.dataclass)
    assert made(3).cached_first == 3
    records._write_codes()
    stamp, codes = marshal.loads(own_cache.read_bytes())
    assert stamp == records._code_stamp()
    assert list(codes) == [key for key in codes if key.startswith("<record ")]
    assert any("Shaped" in key for key in codes)
