"""The Mirage PDK: layers, cross-sections, cells and sax models in one ``gf.Pdk``, and what the LVS needs.

:func:`activate` makes it gdsfactory's active PDK (idempotent); building a
cell needs it. Importing the cells does not activate anything.

LVS metadata: :data:`CELL_MODELS` says which sax model each cell stands for: the
model of the cell's own name unless :data:`MODEL_OF_CELL` says otherwise.
The rest derives from the signatures: a cell's model arguments are the
model's, minus the operating point (:data:`photonics.cells.OPERATING_POINT`,
set when the circuit runs) and minus what the layout computes
(:data:`COMPUTED`: a bend's length is its arc length); every other cell
argument is layout-only. :func:`model_settings` turns a cell's settings into
its model's, refusing any setting it does not know, so none is dropped silently.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import gdsfactory as gf

import photonics
from photonics import cells
from photonics.cells.cross_sections import CROSS_SECTIONS
from photonics.layers import LAYER

# A cell stands for the sax model of its own name, except these.
MODEL_OF_CELL: dict[str, str] = {"bend_circular": "straight"}
CELL_MODELS: dict[str, str] = {cell: MODEL_OF_CELL.get(cell, cell) for cell in cells.CELLS}

COMPUTED: dict[str, dict[str, Callable[[dict], float]]] = {
    "bend_circular": {"length_um": lambda s: cells.bend_length_um(s["radius_um"], s["angle_deg"])},
}


@dataclass(frozen=True)
class CellSpec:
    """How a cell stands for a sax model in an extracted netlist."""

    model: str  # registry name of the model (photonics.models())
    layout_args: tuple[str, ...]  # settings that no model sees
    operating: tuple[str, ...] = ()  # model arguments set when the circuit runs, not by the layout


def _model_args(model: str) -> tuple[str, ...]:
    return tuple(n for n in inspect.signature(photonics.models()[model]).parameters if n != "wl")


def _spec(cell: str) -> CellSpec:
    model = CELL_MODELS[cell]
    model_args = _model_args(model)
    cell_args = inspect.signature(cells.CELLS[cell]).parameters
    layout = tuple(a for a in cell_args if a not in model_args)
    return CellSpec(model, layout, tuple(a for a in model_args if a in cells.OPERATING_POINT))


CELL_SPECS: dict[str, CellSpec] = {name: _spec(name) for name in cells.CELLS}


def model_settings(cell: str, settings: dict) -> tuple[str, dict]:
    """(model name, model settings) of a cell instance with these cell settings.

    Refuses a cell it does not know, a setting that is neither a model argument
    nor a layout argument (it would be dropped silently), and a model argument
    the cell does not record (the model's default would be used silently).
    A bend's ``length_um`` is its arc length.
    """
    if cell not in CELL_SPECS:
        raise ValueError(f"cell {cell!r} has no model; known cells: {', '.join(CELL_SPECS)}")
    spec = CELL_SPECS[cell]
    model_args = set(_model_args(spec.model))
    unknown = sorted(set(settings) - model_args - set(spec.layout_args))
    if unknown:
        raise ValueError(
            f"cell {cell!r}: setting {unknown[0]!r} is neither a {spec.model} argument nor a layout argument"
        )
    out = {name: value for name, value in settings.items() if name in model_args}
    out.update({name: f(settings) for name, f in COMPUTED.get(cell, {}).items()})
    missing = sorted(model_args - set(out) - set(spec.operating))
    if missing:
        raise ValueError(f"cell {cell!r}: model argument {missing[0]!r} of {spec.model} is not recorded in the cell")
    return spec.model, out


def cell_kwargs(cell: str, model_settings: dict) -> dict:
    """The model settings without the operating point: what a cell of ``cell`` takes from them."""
    return {name: value for name, value in model_settings.items() if name not in CELL_SPECS[cell].operating}


PDK = gf.Pdk(
    name="mirage",
    layers=LAYER,
    cells=dict(cells.CELLS),
    cross_sections=dict(CROSS_SECTIONS),
    models=photonics.models(),
)


def activate() -> gf.Pdk:
    """Make the project's PDK gdsfactory's active one, once (gdsfactory 9 needs one to build cells)."""
    try:
        active = gf.get_active_pdk()
    except ValueError:  # none active yet
        active = None
    if active is not PDK:
        PDK.activate()
    return PDK
