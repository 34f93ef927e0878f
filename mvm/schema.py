"""Configuration files: typed sections, one loader, one error line, one writer.

A configuration is a tree of *sections*, frozen pydantic dataclasses that
refuse unknown keys (:func:`section`). Each field carries its unit in its name
and a description (``Annotated[..., doc("...")]``), which is the comment the
written file shows. A field holding a device's
:class:`~photonics.parameters.Params` is a *device section* (:class:`Device`):
its keys, defaults, units, ranges and descriptions come from that dataclass.

:func:`load` reads a TOML file once and checks it against a section class;
:func:`parse` checks a mapping. Any problem is one
:class:`~photonics.errors.UsageError` line naming the key path, e.g.
``config chip.toml: [tile] h: must be >= 1, got -3``. Building a section in
code checks it the same way. :func:`to_toml` writes a section tree as
documented TOML that :func:`load` reads back to an equal value.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import tomllib
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

import tomlkit
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass
from pydantic.fields import FieldInfo
from pydantic_core import ArgsKwargs, core_schema

from photonics.errors import UsageError
from photonics.parameters import ParamError, Params
from photonics.parameters import info as param_info

_FORBID = ConfigDict(extra="forbid", allow_inf_nan=False)  # no key means anything at inf or nan

PositiveInt = Annotated[StrictInt, Field(ge=1)]
NonNegative = Annotated[StrictFloat, Field(ge=0)]
IntList = tuple[StrictInt, ...]  # a TOML array of integers


def doc(text: str) -> FieldInfo:
    """A field's description: the comment next to its key in the written file."""
    return Field(description=text)


def one_of(names: Iterable[str]) -> Any:
    """A string that must be one of ``names`` (the names are imported where they are declared)."""
    names = tuple(names)

    def check(value: str) -> str:
        if value not in names:
            raise ValueError(f"must be one of {', '.join(names)}")
        return value

    return Annotated[StrictStr, AfterValidator(check)]


def default_of(cls: type, name: str) -> Any:
    """The default of field ``name`` of dataclass ``cls``: a default declared once, used again."""
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


class Invalid(ValueError):
    """A cross-field check that failed: ``key`` is the dotted path of the key to blame."""

    def __init__(self, key: str, text: str):
        super().__init__(text)
        self.key = tuple(key.split("."))


def section(cls: type) -> type:
    """Make ``cls`` a configuration section: a frozen pydantic dataclass refusing unknown keys.

    Building one in code (or with ``dataclasses.replace``) checks it like a file
    does, and a bad value raises one UsageError line.
    """
    cls = pydantic_dataclass(frozen=True, config=_FORBID)(cls)
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except ValidationError as exc:
            raise UsageError(f"{type(self).__name__}: {error_line(exc, type(self))}") from None

    cls.__init__ = __init__
    return cls


def _is_section(kind: Any) -> bool:
    return isinstance(kind, type) and hasattr(kind, "__pydantic_fields__") and dataclasses.is_dataclass(kind)


class Device:
    """Annotation of a field that holds a device's parameters, read from a table of the file.

    ``Annotated[Laser, Device(Laser)]``: the table's keys, units (in the names),
    ranges and descriptions are the Params dataclass's; its defaults are those of
    ``factory()`` (the dataclass itself, or a function giving a chosen design);
    ``docs`` replaces descriptions where the configuration uses a parameter in a
    particular sense. A value is checked by the dataclass itself.
    """

    def __init__(self, factory: Callable[[], Params], docs: dict[str, str] | None = None):
        self.factory = factory
        self.docs = dict(docs or {})
        self.params: type[Params] = type(factory())
        unknown = set(self.docs) - set(self.params.names())
        if unknown:
            raise TypeError(f"docs for parameters that {self.params.__name__} does not have: {sorted(unknown)}")

    def describe(self) -> list[dict[str, Any]]:
        infos = {f.name: param_info(f) for f in dataclasses.fields(self.params)}
        return [
            {**p, "doc": doc, "summary": dataclasses.replace(infos[p["name"]], doc=doc).summary()}
            for p in self.params.describe()
            for doc in [self.docs.get(p["name"], p["doc"])]
        ]

    def _check(self, name: str, value: float) -> float:
        try:
            self.params.from_settings(self.params.__name__, {name: value})
        except ParamError as exc:
            raise ValueError(exc.detail.removeprefix(f"{name} ")) from None
        return value

    @functools.cached_property
    def model(self) -> type[BaseModel]:
        """The table as a pydantic model: the parameters' names, number types and defaults."""
        hints = typing.get_type_hints(self.params)
        defaults = self.factory().settings()
        fields = {}
        for p in self.describe():
            name = p["name"]
            kind = StrictInt if hints.get(name) is int else StrictFloat
            check = AfterValidator(functools.partial(self._check, name))
            fields[name] = (Annotated[kind, check], Field(defaults[name], description=p["doc"]))
        return create_model(self.params.__name__, __config__=_FORBID, **fields)

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        def validate(value: Any, table: Callable[[Any], BaseModel]) -> Params:
            if isinstance(value, self.params):
                return value
            return self.params.from_settings(self.params.__name__, table(value).model_dump())

        return core_schema.no_info_wrap_validator_function(validate, handler.generate_schema(self.model))


def _device_of(info: FieldInfo) -> Device | None:
    return next((m for m in info.metadata if isinstance(m, Device)), None)


# --- reading ------------------------------------------------------------------------------


def read_toml(path: str | Path) -> dict:
    """The tables of a TOML file (read once); a missing or malformed file is a UsageError."""
    try:
        return tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config {path} is not valid TOML: {exc}") from None


@functools.cache
def _adapter(model: type) -> TypeAdapter:
    return TypeAdapter(model)


def parse(model: type, data: dict, source: str = "config", also_allowed: tuple[str, ...] = ()) -> Any:
    """``data`` checked against section class ``model``; ``also_allowed`` names sections others read."""
    try:
        return _adapter(model).validate_python({k: v for k, v in data.items() if k not in also_allowed})
    except ValidationError as exc:
        raise UsageError(f"{source}: {error_line(exc, model, also_allowed)}") from None


def load(path: str | Path, model: type, also_allowed: tuple[str, ...] = ()) -> Any:
    """The file at ``path``, read once and checked against section class ``model``."""
    return parse(model, read_toml(path), f"config {path}", also_allowed)


# --- one line per error -------------------------------------------------------------------

_SHORT = {
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "dataclass_type": "must be a table",
    "model_type": "must be a table",
    "dict_type": "must be a table",
    "greater_than": "must be > {gt:g}",
    "greater_than_equal": "must be >= {ge:g}",
    "less_than": "must be < {lt:g}",
    "less_than_equal": "must be <= {le:g}",
}
_UNKNOWN = ("extra_forbidden", "unexpected_keyword_argument")


def _child(kind: Any, name: Any) -> Any:
    """The section class (or Device) under key ``name`` of ``kind``; None for a plain value."""
    fields = getattr(kind, "__pydantic_fields__", None)
    if fields is None or name not in fields:
        return None
    info = fields[name]
    return _device_of(info) or (info.annotation if _is_section(info.annotation) else None)


def _keys(kind: Any) -> list[str]:
    if isinstance(kind, Device):
        return list(kind.params.names())
    return list(getattr(kind, "__pydantic_fields__", {}))


def _show(value: Any) -> str:
    return json.dumps(value, default=repr)


def error_line(exc: ValidationError, model: type, also_allowed: tuple[str, ...] = ()) -> str:
    """The first error of ``exc`` as one line: ``[section.table] key: what is wrong, got value``."""
    err = exc.errors(include_url=False)[0]
    kind, value = err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    loc = tuple(err["loc"]) + (cause.key if isinstance(cause, Invalid) else ())
    # the tables along the path, then the key
    tables, owner, key = [], model, ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            key += f"[{part}]"
            continue
        child = _child(owner, part)
        last = i == len(loc) - 1
        table_like = child is not None or (kind in _UNKNOWN and last and isinstance(value, dict))
        if table_like and not key:
            tables.append(str(part))
            if child is not None:
                owner = child
        else:
            key = f"{key}.{part}" if key else str(part)
    where = " ".join(w for w in ((f"[{'.'.join(tables)}]" if tables else ""), key) if w)
    if kind in _UNKNOWN:
        parent = model
        for part in loc[:-1]:
            parent = _child(parent, part)
        allowed = _keys(parent) + (list(also_allowed) if len(loc) == 1 else [])
        noun = "section" if isinstance(value, dict) else "key"
        replaced = getattr(parent, "REPLACED_KEYS", {}).get(loc[-1])  # a key an earlier chip file had
        if replaced:
            return f"{where}: unknown {noun}, replaced by {replaced}; allowed: {', '.join(allowed)}"
        return f"{where}: unknown {noun}; allowed: {', '.join(allowed)}"
    if kind == "value_error":
        text = str(cause) if cause is not None else err["msg"].removeprefix("Value error, ")
    else:
        text = _SHORT[kind].format(**ctx) if kind in _SHORT else err["msg"][:1].lower() + err["msg"][1:]
    whole = isinstance(value, (dict, ArgsKwargs)) or _is_section(type(value))  # the error is about a whole table
    if "got" not in text and not isinstance(cause, Invalid) and not whole:
        text += f", got {_show(value)}"
    return f"{where}: {text}" if where else text


# --- writing ------------------------------------------------------------------------------


def _toml_value(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_toml_value(v) for v in value]
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    return float(value)


def _item(value: Any, comment: str | None) -> Any:
    item = tomlkit.item(_toml_value(value))
    if comment:
        item.comment(comment)
    return item


def _fill(table: Any, value: Any, device: Device | None) -> None:
    if device is not None:
        described = {p["name"]: p for p in device.describe()}
        for name, v in value.settings().items():
            table.add(name, _item(v, described[name]["summary"]))
        return
    subtables = []
    for name, info in type(value).__pydantic_fields__.items():
        v, dev = getattr(value, name), _device_of(info)
        if dev is None and not _is_section(type(v)):
            table.add(name, _item(v, info.description))
            continue
        only_tables = dev is None and all(
            _device_of(f) or _is_section(f.annotation) for f in type(v).__pydantic_fields__.values()
        )
        sub = tomlkit.table(is_super_table=only_tables)  # [devices.heater] without a bare [devices]
        if info.description and not only_tables:
            sub.comment(info.description)
        _fill(sub, v, dev)
        subtables.append((name, sub))
    for name, sub in subtables:  # keys first: TOML puts a table's keys before its subtables
        if not sub.is_super_table():
            table.add(tomlkit.nl())
        table.add(name, sub)


def to_toml(value: Any, title: str) -> str:
    """``value`` (a section tree) as TOML with its descriptions as comments; ``title`` heads the file."""
    document = tomlkit.document()
    for line in title.splitlines():
        document.add(tomlkit.comment(line))
    _fill(document, value, None)
    return tomlkit.dumps(document)
