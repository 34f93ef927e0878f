"""The GEMMs of one DNN training step, as the accelerator runs them, traced from a model definition.

Every product is ``C[m, n] = A[m, k] @ B[k, n]`` with ``B`` the stationary operand (the weights in
the forward pass): a weight-stationary tile holds ``B``'s columns and streams ``A``'s rows.

:func:`training_step` traces a model's forward pass (``jax.make_jaxpr`` on abstract values: no weight
is materialised) and maps every ``dot_general`` and ``conv_general_dilated`` in it, including those
inside ``jit``, ``custom_jvp``/``custom_vjp``, ``checkpoint``, ``scan`` (times its length) and ``cond``
(its costliest branch), to the products of the three phases:

- ``forward``: ``C = A B``.
- ``data_grad``: ``dA = dC B^T``, ``m`` unchanged, ``k`` and ``n`` swapped; it exists where ``A``
  depends on a parameter, so the first layer's (whose ``A`` is the input) is skipped.
- ``weight_grad``: ``dB = A^T dC``, ``[k, m] @ [m, n]``; it exists where ``B`` depends on a parameter.

A dense product (``dot_general``): the batch dimensions give ``count``, the contracted ones ``k``. Of
the two operands, the one that does not depend on the network's input (the weights) is ``B``; for a
product of two activations (attention's ``Q K^T`` and ``P V``) the right-hand one (``K^T``, ``V``) is
held stationary, and ``weight_grad`` is the gradient of that operand.

A convolution, input ``N x C_in x H x W``, kernel ``k_h x k_w``, ``g`` groups, ``C_out`` filters,
output ``H_o x W_o`` (im2col, one product per group):

- forward: ``m = N H_o W_o``, ``k = k_h k_w C_in/g``, ``n = C_out/g``, ``count = g``.
- weight_grad: ``m = k_h k_w C_in/g``, ``k = N H_o W_o``, ``n = C_out/g``, ``count = g``.
- data_grad, as a transposed convolution without the zeros a stride ``s`` inserts: input row ``h``
  receives from the kernel rows ``i`` with ``h + p_lo - i d = s o`` for an integer ``o`` (``p_lo`` the
  low padding, ``d`` the kernel dilation), a set that depends on ``(h + p_lo) mod s`` only. Input
  positions are grouped by that phase along each axis; each combination of phases is one product,
  ``m = N x (positions in it)``, ``k = (kernel taps in it) x C_out/g``, ``n = C_in/g``, ``count = g``
  (phases with no tap get a zero gradient, no product; equal shapes are merged into ``count``). At
  stride 1 this is one product, ``m = N H W``, ``k = k_h k_w C_out/g``, ``n = C_in/g``; whenever the
  stride divides the input size its MACs equal the forward's.
"""

from __future__ import annotations

import importlib
import inspect
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product as cartesian

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import Literal

from photonics.errors import UsageError

PHASES = ("forward", "data_grad", "weight_grad")  # the three products of a training step


@dataclass(frozen=True)
class Gemm:
    """``count`` identical products ``A[m, k] @ B[k, n]`` of one layer in one phase of a training step."""

    name: str  # the layer or operation it comes from
    phase: str  # one of PHASES
    m: int  # rows of A (streamed): batch x output positions in the forward pass
    k: int  # the reduction length
    n: int  # columns of B (stationary)
    count: int = 1  # identical products (attention heads, convolution groups)

    def __post_init__(self):
        if self.phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {self.phase!r}")
        if min(self.m, self.k, self.n, self.count) < 1:
            raise ValueError(f"m, k, n and count must be positive, got {self}")

    @property
    def macs(self) -> int:
        """Multiply-accumulates of all ``count`` products."""
        return self.m * self.k * self.n * self.count


def total_macs(gemms, phase: str | None = None) -> int:
    """Multiply-accumulates of ``gemms`` (of one phase, or all)."""
    return sum(g.macs for g in gemms if phase is None or g.phase == phase)


# --- loading a model ---------------------------------------------------------------------------


def _builtin_models() -> dict:
    from system.models import MODELS

    return MODELS


def load_model(model: str | Callable) -> Callable:
    """The builder named by ``model``: a name in ``system.models.MODELS``, ``"package.module:function"``, or a callable.

    A builder is called as ``builder(batch=B, **options)`` and returns ``(model, example_input)``:
    ``model(example_input)`` runs the forward pass of the whole batch; ``model`` is a callable pytree
    (an Equinox module) whose floating-point array leaves (``jax.Array``, ``numpy`` or
    ``jax.ShapeDtypeStruct``, e.g. from ``eqx.filter_eval_shape``) are the trained parameters;
    ``example_input`` is an array or ``jax.ShapeDtypeStruct`` (or a tuple of them) holding the batch.
    The module is imported with the current directory first on ``sys.path``.
    """
    if callable(model):
        return model
    models = _builtin_models()
    allowed = f"one of {', '.join(models)} or package.module:function"
    if not isinstance(model, str) or not model:
        raise UsageError(f"model must be {allowed}, got {model!r}")
    if model in models:
        return models[model]
    if ":" not in model:
        raise UsageError(f"model must be {allowed}, got {model!r}")
    module_name, _, attribute = model.partition(":")
    if not module_name or not attribute.isidentifier():
        raise UsageError(f"model {model!r}: expected package.module:function (a module path and a function name)")
    sys.path.insert(0, ".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is None or not (module_name == error.name or module_name.startswith(error.name + ".")):
            raise  # the module exists and itself failed to import: a bug there, keep the traceback
        raise UsageError(f"model {model!r}: no module named {error.name!r}") from None
    finally:
        sys.path.remove(".")
    builder = getattr(module, attribute, None)
    if not callable(builder):
        raise UsageError(f"model {model!r}: module {module_name!r} has no function {attribute!r}")
    return builder


def _build(builder: Callable, batch: int, options: dict):
    if isinstance(batch, bool) or not isinstance(batch, int | np.integer) or batch < 1:
        raise UsageError(f"batch must be a positive integer, got {batch!r}")
    try:
        signature = inspect.signature(builder)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        names = [n for n, p in signature.parameters.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if "batch" not in names and not accepts_any:
            raise UsageError(f"model builder {builder.__name__!r} must accept the keyword argument batch")
        unknown = [name for name in options if name not in names and not accepts_any]
        if unknown:
            allowed = ", ".join(n for n in names if n != "batch") or "none"
            raise UsageError(f"{unknown[0]} is not an option of model {builder.__name__!r}; its options: {allowed}")
    built = builder(batch=int(batch), **options)
    if not (isinstance(built, tuple) and len(built) == 2 and callable(built[0])):
        raise UsageError(
            f"model builder {getattr(builder, '__name__', builder)!r} must return (model, example_input) "
            f"with a callable model, got {type(built).__name__}"
        )
    return built


# --- tracing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Flags:
    """What a value in the forward program depends on."""

    data: bool = False  # the network's input
    grad: bool = False  # a parameter, differentiably (floating point, not stopped)

    def __or__(self, other):
        return _Flags(self.data or other.data, self.grad or other.grad)


_NONE = _Flags()


@dataclass(frozen=True)
class _Product:
    """One ``dot_general`` or ``conv_general_dilated`` of the forward program, ``times`` over (scan)."""

    eqn: object
    lhs: _Flags
    rhs: _Flags
    times: int


def _is_array(leaf) -> bool:
    return isinstance(leaf, jax.Array | np.ndarray | jax.ShapeDtypeStruct)


def _walk(jaxpr, in_flags, times: int, found: list) -> list:
    """Flags of ``jaxpr``'s outputs; appends its products (with their operands' flags) to ``found``."""
    env = {}

    def read(var):
        return _NONE if isinstance(var, Literal) else env.get(var, _NONE)

    for var, flags in zip(jaxpr.invars, in_flags):
        env[var] = flags
    for eqn in jaxpr.eqns:
        flags = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        params = eqn.params
        if name in ("dot_general", "conv_general_dilated"):
            found.append(_Product(eqn, flags[0], flags[1], times))
            out = [flags[0] | flags[1]]
        elif name == "stop_gradient":
            out = [_Flags(flags[0].data, False)]
        elif name == "scan":
            body, length = params["jaxpr"].jaxpr, params["length"]
            out = _walk_loop(body, flags, params["num_consts"], params["num_carry"], times * length, found)
        elif name == "while":
            cn, bn = params["cond_nconsts"], params["body_nconsts"]
            inner: list = []
            out = _walk_loop(params["body_jaxpr"].jaxpr, flags[cn:], bn, len(flags) - cn - bn, times, inner)
            if inner:
                raise UsageError(
                    "model: a while loop (unknown trip count) holds a matrix product; use lax.scan or a Python loop"
                )
        elif name == "cond":
            branches = []
            for branch in params["branches"]:
                inner = []
                branches.append((_walk(branch.jaxpr, flags[1:], times, inner), inner))
            out = [_NONE] * len(eqn.outvars)
            for outs, _ in branches:
                out = [a | b for a, b in zip(out, outs)]
            found.extend(max((inner for _, inner in branches), key=lambda ps: sum(_forward_macs(p) for p in ps)))
        else:
            sub = next((params[key] for key in ("jaxpr", "call_jaxpr", "fun_jaxpr") if key in params), None)
            if sub is not None:
                sub = getattr(sub, "jaxpr", sub)
                if len(sub.invars) != len(eqn.invars):
                    raise RuntimeError(f"cannot match {name}'s inner program to its operands")
                out = _walk(sub, flags, times, found)
            else:
                union = _NONE
                for f in flags:
                    union = union | f
                out = [union] * len(eqn.outvars)
        for var, f in zip(eqn.outvars, out):
            differentiable = jnp.issubdtype(var.aval.dtype, jnp.inexact)
            env[var] = _Flags(f.data, f.grad and differentiable)
    return [read(v) for v in jaxpr.outvars]


def _walk_loop(body, flags, num_consts: int, num_carry: int, times: int, found: list) -> list:
    """A loop body's outputs; the carry's flags iterated to their fixed point before products are recorded."""
    flags = list(flags)
    for _ in range(num_carry + 1):
        out = _walk(body, flags, times, [])
        carry = [a | b for a, b in zip(flags[num_consts : num_consts + num_carry], out[:num_carry])]
        if carry == flags[num_consts : num_consts + num_carry]:
            break
        flags[num_consts : num_consts + num_carry] = carry
    return _walk(body, flags, times, found)


def _forward_macs(product: _Product) -> int:
    return sum(g.macs for g in _gemms(product, "", phases=("forward",)))


def _dot_gemms(product: _Product, name: str, phases) -> list[Gemm]:
    eqn = product.eqn
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lhs, rhs = (v.aval.shape for v in eqn.invars[:2])
    count = math.prod(lhs[i] for i in lb) * product.times
    k = math.prod(lhs[i] for i in lc)
    lfree = math.prod(s for i, s in enumerate(lhs) if i not in lc and i not in lb)
    rfree = math.prod(s for i, s in enumerate(rhs) if i not in rc and i not in rb)
    if product.lhs.data or not product.rhs.data:  # the rhs is the weights, or both are activations
        m, n, streamed, stationary = lfree, rfree, product.lhs, product.rhs
    else:  # weights @ activations (an Equinox Linear under vmap): the weights are stationary
        m, n, streamed, stationary = rfree, lfree, product.rhs, product.lhs
    name = f"{name} {k}->{n}" + (f" x{count}" if count > 1 else "")
    out = []
    if "forward" in phases:
        out.append(("forward", m, k, n, count))
    if "data_grad" in phases and streamed.grad:
        out.append(("data_grad", m, n, k, count))
    if "weight_grad" in phases and stationary.grad:
        out.append(("weight_grad", k, m, n, count))
    return [Gemm(name, *shape) for shape in out if min(shape[1:]) > 0]


def _data_grad_phases(size: int, kernel: int, stride: int, pad_lo: int, dilation: int) -> Counter:
    """Along one axis of a convolution's input: how many positions receive gradient from how many kernel taps."""
    taps = Counter()
    for h in range(size):
        taps[sum((h + pad_lo - i * dilation) % stride == 0 for i in range(kernel))] += 1
    return taps


def _conv_gemms(product: _Product, name: str, phases) -> list[Gemm]:
    eqn = product.eqn
    params = eqn.params
    spec = params["dimension_numbers"]
    lhs, rhs = (v.aval.shape for v in eqn.invars[:2])
    out_shape = eqn.outvars[0].aval.shape
    if params["batch_group_count"] != 1 or any(d != 1 for d in params["lhs_dilation"]):
        raise UsageError(
            "model: transposed or batch-grouped convolutions (lhs_dilation, batch_group_count) in the forward "
            "pass are not mapped to GEMMs"
        )
    groups = params["feature_group_count"]
    batch, cin = lhs[spec.lhs_spec[0]], lhs[spec.lhs_spec[1]]
    cout, cin_g = rhs[spec.rhs_spec[0]], rhs[spec.rhs_spec[1]]
    sizes = [lhs[d] for d in spec.lhs_spec[2:]]
    kernel = [rhs[d] for d in spec.rhs_spec[2:]]
    outputs = math.prod(out_shape[d] for d in spec.out_spec[2:])
    strides = params["window_strides"]
    count = groups * product.times
    taps, n_g = math.prod(kernel), cout // groups
    stride = str(strides[0]) if len(set(strides)) == 1 else "x".join(map(str, strides))
    name = f"{name} {'x'.join(map(str, kernel))}/{stride} {cin}->{cout}" + (f" g{groups}" if groups > 1 else "")
    out = []
    if "forward" in phases:
        out.append(Gemm(name, "forward", batch * outputs, taps * cin_g, n_g, count))
    if "data_grad" in phases and product.lhs.grad:
        axes = [
            _data_grad_phases(size, kern, s, pad[0], dil)
            for size, kern, s, pad, dil in zip(sizes, kernel, strides, params["padding"], params["rhs_dilation"])
        ]
        shapes = Counter()
        for combo in cartesian(*(axis.items() for axis in axes)):
            combo_taps = math.prod(t for t, _ in combo)
            positions = math.prod(p for _, p in combo)
            if combo_taps:
                shapes[(batch * positions, combo_taps * n_g)] += count
        for (m, k), c in sorted(shapes.items(), key=lambda item: -item[0][1]):
            out.append(Gemm(name, "data_grad", m, k, cin_g, c))
    if "weight_grad" in phases and product.rhs.grad:
        out.append(Gemm(name, "weight_grad", taps * cin_g, batch * outputs, n_g, count))
    return out


def _gemms(product: _Product, name: str, phases=PHASES) -> list[Gemm]:
    if product.eqn.primitive.name == "dot_general":
        return _dot_gemms(product, name, phases)
    return _conv_gemms(product, name, phases)


def _scopes(eqn) -> str:
    """The ``jax.named_scope`` names around ``eqn`` (transformations such as ``vmap`` left out)."""
    stack = getattr(eqn.source_info.name_stack, "stack", ())
    return "/".join(e.name for e in stack if type(e).__name__ == "Scope")


def trace(model: Callable, example_input) -> list[Gemm]:
    """The GEMMs of one training step of ``model`` on ``example_input`` (see the module docstring).

    ``model``: a callable pytree (an Equinox module) whose floating-point array leaves are the
    parameters; arrays or ``jax.ShapeDtypeStruct`` leaves. Order: the forward products as the program
    runs them, then the backward products in reverse (each layer's ``data_grad`` then ``weight_grad``).
    """
    import equinox as eqx

    if not callable(model):
        raise UsageError(f"model must be callable (an Equinox module), got {type(model).__name__}")
    arrays, static = eqx.partition(model, _is_array)
    leaves = jax.tree_util.tree_leaves(arrays)
    if not any(jnp.issubdtype(leaf.dtype, jnp.inexact) for leaf in leaves):
        raise UsageError(
            f"model {type(model).__name__}: no floating-point array leaves, so no parameters to train; "
            "a model's weights must be its array leaves (as in an Equinox module), not closed-over constants"
        )

    def forward(arrays, x):
        return eqx.combine(arrays, static)(x)

    closed = jax.make_jaxpr(forward)(arrays, example_input)
    params = [_Flags(False, bool(jnp.issubdtype(leaf.dtype, jnp.inexact))) for leaf in leaves]
    inputs = [_Flags(True, False)] * len(jax.tree_util.tree_leaves(example_input))
    found: list[_Product] = []
    _walk(closed.jaxpr, params + inputs, 1, found)
    names, seen = [], Counter()
    for product in found:
        kind = "conv" if product.eqn.primitive.name == "conv_general_dilated" else "matmul"
        seen[kind] += 1
        scope = _scopes(product.eqn)
        names.append(f"{scope + '/' if scope else ''}{kind}{seen[kind]}")
    forward_gemms = [g for p, name in zip(found, names) for g in _gemms(p, name, ("forward",))]
    backward = [g for p, name in reversed(list(zip(found, names))) for g in _gemms(p, name, PHASES[1:])]
    return forward_gemms + backward


def training_step(model: str | Callable, batch: int, **options) -> list[Gemm]:
    """The GEMMs of one training step of ``model`` (a built-in name, ``"package.module:function"`` or a builder) at ``batch``.

    ``options`` go to the builder (the built-ins take ``image_size`` or ``seq_len``, and ``num_classes``).
    """
    builder = load_model(model)
    network, example_input = _build(builder, batch, options)
    return trace(network, example_input)


def summary(model: str | Callable, batch: int = 1, **options) -> dict:
    """MACs of each phase, the number of products and the tracing time (seconds) of ``model``'s training step."""
    start = time.perf_counter()
    gemms = training_step(model, batch, **options)
    seconds = time.perf_counter() - start
    macs = {phase: total_macs(gemms, phase) for phase in PHASES}
    return dict(macs=macs, total_macs=sum(macs.values()), products=len(gemms), trace_s=seconds)
