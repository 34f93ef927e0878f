"""Training-step GEMMs traced from model definitions, against hand-derived shapes, published MAC counts
and an independent count: the products JAX itself runs when it differentiates the model."""

import math
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

from photonics.errors import UsageError
from system.models import MODELS, Bert
from system.workloads import PHASES, Gemm, total_macs, trace, training_step

# --- an independent reference: the MACs of the products in JAX's own gradient program ---


def _axis_pairs(out_size, kernel, stride, pad_lo, rhs_dilation, lhs_dilation):
    """(output position, kernel tap) pairs whose input element is not a zero inserted by lhs_dilation."""
    return sum(
        (o * stride + t * rhs_dilation - pad_lo) % lhs_dilation == 0 for o in range(out_size) for t in range(kernel)
    )


def reference_macs(jaxpr) -> int:
    """Multiply-accumulates of every dot_general and convolution in ``jaxpr`` (recursing into sub-programs)."""
    total = 0
    for eqn in jaxpr.eqns:
        name, params = eqn.primitive.name, eqn.params
        if name == "dot_general":
            (lhs_contract, _), _ = params["dimension_numbers"]
            lhs = eqn.invars[0].aval.shape
            total += math.prod(eqn.outvars[0].aval.shape) * math.prod(lhs[i] for i in lhs_contract)
        elif name == "conv_general_dilated":
            spec = params["dimension_numbers"]
            rhs, out = eqn.invars[1].aval.shape, eqn.outvars[0].aval.shape
            pairs = math.prod(
                _axis_pairs(out[o], rhs[r], s, p[0], rd, ld)
                for o, r, s, p, rd, ld in zip(
                    spec.out_spec[2:],
                    spec.rhs_spec[2:],
                    params["window_strides"],
                    params["padding"],
                    params["rhs_dilation"],
                    params["lhs_dilation"],
                )
            )
            total += out[spec.out_spec[0]] * out[spec.out_spec[1]] * rhs[spec.rhs_spec[1]] * pairs
        times = params["length"] if name == "scan" else 1
        for value in params.values():
            for sub in value if isinstance(value, tuple) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    total += times * reference_macs(inner)
    return total


def gradient_macs(model, x) -> tuple[int, int]:
    """(forward, forward + backward) MACs of JAX's programs for ``model(x)`` and the gradient of a loss."""

    def loss(model, x):
        return jnp.sum(model(x) ** 2)

    forward = reference_macs(eqx.filter_make_jaxpr(lambda m, x: m(x))(model, x)[0].jaxpr)
    step = reference_macs(eqx.filter_make_jaxpr(eqx.filter_grad(loss))(model, x)[0].jaxpr)
    return forward, step


def abstract(cls, **kwargs):
    """A model with ShapeDtypeStruct leaves (initialising real weights compiles one program per shape: slow)."""
    return eqx.filter_eval_shape(cls, **kwargs, key=jax.random.key(1))


class SmallCNN(eqx.Module):
    """Strided, depthwise, grouped, 1x1/2 and dilated convolutions on an odd-sized input, and a linear layer."""

    convs: list
    fc: eqx.nn.Linear

    def __init__(self, *, key):
        keys = jax.random.split(key, 7)
        self.convs = [
            eqx.nn.Conv2d(3, 8, 3, stride=2, padding=1, key=keys[0]),
            eqx.nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, use_bias=False, key=keys[1]),
            eqx.nn.Conv2d(8, 12, 3, padding=1, groups=2, key=keys[2]),
            eqx.nn.Conv2d(12, 16, 1, stride=2, key=keys[3]),
            eqx.nn.Conv2d(16, 16, 3, padding=2, dilation=2, key=keys[4]),
            eqx.nn.Conv2d(16, 16, (3, 2), stride=(1, 2), padding=((0, 1), (1, 0)), key=keys[5]),
        ]
        self.fc = eqx.nn.Linear(16, 5, key=keys[6])

    def __call__(self, x):
        for conv in self.convs:
            x = jax.nn.relu(jax.vmap(conv)(x))
        return jax.vmap(self.fc)(x.mean(axis=(2, 3)))


class ScannedMLP(eqx.Module):
    """Three identical layers under lax.scan (counted three times) and a stop_gradient'ed branch."""

    first: eqx.nn.Linear
    stacked: eqx.nn.Linear
    side: eqx.nn.Linear

    def __init__(self, *, key):
        k1, k2, k3 = jax.random.split(key, 3)
        self.first = eqx.nn.Linear(6, 10, key=k1)
        self.stacked = eqx.filter_vmap(lambda k: eqx.nn.Linear(10, 10, key=k))(jax.random.split(k2, 3))
        self.side = eqx.nn.Linear(10, 10, key=k3)

    def __call__(self, x):
        h = jax.vmap(self.first)(x)
        params, static = eqx.partition(self.stacked, eqx.is_array)

        def layer(h, p):
            return jnp.tanh(jax.vmap(eqx.combine(p, static))(h)), None

        h, _ = jax.lax.scan(layer, h, params)
        return h + jax.vmap(self.side)(jax.lax.stop_gradient(h))


def test_gemm_counts_equal_jax_own_gradient_program():
    """Forward, data- and weight-gradient MACs against the products in jax.grad's program (two implementations)."""
    cases = [
        (abstract(SmallCNN), jnp.ones((3, 3, 15, 13))),
        (abstract(Bert, layers=2, hidden=16, heads=4, ffn=32, num_classes=3), jnp.zeros((2, 7), jnp.int32)),
        (abstract(ScannedMLP), jnp.ones((4, 6))),
    ]
    for model, x in cases:
        gemms = trace(model, x)
        forward, step = gradient_macs(model, x)
        assert total_macs(gemms, "forward") == forward, type(model).__name__
        assert total_macs(gemms, "data_grad") + total_macs(gemms, "weight_grad") == step - forward, type(model)
    # the odd sizes make a strided convolution's data gradient differ from its forward MACs: not a tautology
    cnn = trace(*cases[0])
    first = [g for g in cnn if g.name.endswith("conv2 3x3/2 8->8 g8")]
    assert total_macs([g for g in first if g.phase == "data_grad"]) != total_macs(
        [g for g in first if g.phase == "forward"]
    )


def test_attention_products_count_heads_and_keep_both_gradients():
    """Q K^T and P V: one product per (example, head), m = sequence, and gradients of both operands."""
    batch, seq, hidden, heads = 2, 7, 16, 4
    model = abstract(Bert, layers=1, hidden=hidden, heads=heads, ffn=32, num_classes=3)
    gemms = trace(model, jnp.zeros((batch, seq), jnp.int32))
    d = hidden // heads
    scores = Gemm("", "forward", seq, d, seq, batch * heads)  # Q K^T: K^T stationary
    values = Gemm("", "forward", seq, seq, d, batch * heads)  # P V: V stationary
    shapes = [(g.phase, g.m, g.k, g.n, g.count) for g in gemms]
    for product in (scores, values):
        m, k, n, c = product.m, product.k, product.n, product.count
        assert ("forward", m, k, n, c) in shapes
        assert ("data_grad", m, n, k, c) in shapes
        assert ("weight_grad", k, m, n, c) in shapes


# --- ResNet-18 at ImageNet size (He et al., CVPR 2016, Table 1) ---

BATCH = 4


@pytest.fixture(scope="module")
def resnet18_step():
    return training_step("resnet18", BATCH)


def test_resnet18_first_convolution_and_last_linear_by_hand(resnet18_step):
    """7x7/2 conv, 64 filters on 224 x 224 x 3, pad 3: 112 x 112 outputs; fc 512 -> 1000."""
    out = (224 + 2 * 3 - 7) // 2 + 1
    assert out == 112
    conv1 = [g for g in resnet18_step if g.name.endswith("conv1 7x7/2 3->64")]
    assert [(g.phase, g.m, g.k, g.n, g.count) for g in conv1] == [
        ("forward", BATCH * out * out, 7 * 7 * 3, 64, 1),
        ("weight_grad", 7 * 7 * 3, BATCH * out * out, 64, 1),  # no data gradient: nothing needs the image's
    ]
    fc = [g for g in resnet18_step if g.name.endswith("512->1000")]
    assert [(g.phase, g.m, g.k, g.n, g.count) for g in fc] == [
        ("forward", BATCH, 512, 1000, 1),
        ("data_grad", BATCH, 1000, 512, 1),
        ("weight_grad", 512, BATCH, 1000, 1),
    ]
    assert resnet18_step[0] == conv1[0] and resnet18_step[-1] == conv1[1]  # forward first, backward reversed


def test_resnet18_step_is_three_forwards_less_the_first_data_gradient(resnet18_step):
    forward = total_macs(resnet18_step, "forward")
    first = resnet18_step[0]
    assert total_macs(resnet18_step) == 3 * forward - first.macs
    assert total_macs(resnet18_step, "weight_grad") == forward
    # 20 convolutions and the fc; the strided ones' data gradients are split by phase
    assert len([g for g in resnet18_step if g.phase == "forward"]) == 21


def test_resnet18_forward_macs_match_the_paper(resnet18_step):
    """He et al. (CVPR 2016), Table 1: 1.8 x 10^9 multiply-adds (torchvision's count: 1.81 GMAC)."""
    assert total_macs(resnet18_step, "forward") / BATCH == pytest.approx(1.8e9, rel=0.02)


def test_vgg16_forward_macs_and_step():
    """VGG-16: 15.5 G MACs (Sze, Chen, Yang & Emer, Proc. IEEE 2017, Table 3); no strided convolution."""
    gemms = training_step("vgg16", 1)
    forward = total_macs(gemms, "forward")
    assert forward == pytest.approx(15.5e9, rel=0.02)
    assert total_macs(gemms) == 3 * forward - gemms[0].macs
    assert [g.phase for g in gemms].count("forward") == 16  # 13 convolutions and 3 fc layers


@pytest.mark.parametrize(
    ("name", "published"),
    [
        ("resnet50", 4.09e9),  # v1.5, torchvision ResNet50_Weights.IMAGENET1K_V1 (He et al. Table 1, v1: 3.8e9)
        ("mobilenet_v2", 300e6),  # Sandler et al. (CVPR 2018), Table 4: 300 M multiply-adds
    ],
)
def test_published_forward_macs(name, published):
    gemms = training_step(name, 1)
    forward = total_macs(gemms, "forward")
    assert forward == pytest.approx(published, rel=0.02)
    assert total_macs(gemms) == 3 * forward - gemms[0].macs


def _bert_forward_macs(layers, hidden, ffn, seq, classes):
    """Per sequence: Q, K, V, output projections, two attention products, the FFN; pooler and classifier."""
    per_layer = seq * (4 * hidden * hidden + 2 * hidden * ffn) + 2 * seq * seq * hidden
    return layers * per_layer + hidden * hidden + hidden * classes


def test_small_encoder_forward_macs_by_hand():
    model = abstract(Bert, layers=2, hidden=32, heads=4, ffn=64, num_classes=3)
    gemms = trace(model, jnp.zeros((3, 10), jnp.int32))
    assert total_macs(gemms, "forward") == 3 * _bert_forward_macs(2, 32, 64, 10, 3)
    assert total_macs(gemms) == 3 * total_macs(gemms, "forward")  # the embeddings are trained: every dX needed


def test_bert_base_forward_macs_by_hand():
    """BERT-base (Devlin et al., NAACL 2019): 12 x (4 h^2 + 2 h f) per token plus attention, ~11.2 GMAC at 128."""
    gemms = training_step("bert_base", 2)
    assert total_macs(gemms, "forward") == 2 * _bert_forward_macs(12, 768, 3072, 128, 2)


# --- a user's model through package.module:function ---

USER_MODULE = """
import equinox as eqx
import jax
import jax.numpy as jnp


class Mlp(eqx.Module):
    hidden: eqx.nn.Linear
    out: eqx.nn.Linear

    def __call__(self, x):
        return jax.vmap(self.out)(jax.nn.relu(jax.vmap(self.hidden)(x)))


def build(*, batch, width=32):
    k1, k2 = jax.random.split(jax.random.key(0))
    model = Mlp(eqx.nn.Linear(20, width, key=k1), eqx.nn.Linear(width, 7, key=k2))
    return model, jnp.zeros((batch, 20))
"""


@pytest.fixture
def user_package(tmp_path, monkeypatch):
    package = tmp_path / "my_nets"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mlp.py").write_text(USER_MODULE)
    (package / "broken.py").write_text("import a_module_that_does_not_exist\n")
    monkeypatch.chdir(tmp_path)  # imported from the current directory, as a user runs `mirage arch`
    yield "my_nets"
    for name in [n for n in sys.modules if n.startswith("my_nets")]:
        del sys.modules[name]


def test_user_model_through_module_function(user_package):
    gemms = training_step(f"{user_package}.mlp:build", 5, width=16)
    assert [(g.phase, g.m, g.k, g.n) for g in gemms] == [
        ("forward", 5, 20, 16),
        ("forward", 5, 16, 7),
        ("data_grad", 5, 7, 16),
        ("weight_grad", 16, 5, 7),
        ("weight_grad", 20, 5, 16),  # the first layer: no data gradient
    ]
    assert "." not in sys.path
    with pytest.raises(UsageError, match="options: width"):
        training_step(f"{user_package}.mlp:build", 5, depth=3)
    with pytest.raises(UsageError, match="no function 'nothing'"):
        training_step(f"{user_package}.mlp:nothing", 5)
    with pytest.raises(ModuleNotFoundError):  # a bug inside the user's module keeps its traceback
        training_step(f"{user_package}.broken:build", 5)


# --- refusals ---


@pytest.mark.parametrize("name", ["resnet19", "", "no_such_package.module:build", "resnet18:"])
def test_unknown_model_is_refused(name):
    with pytest.raises(UsageError, match="model") as error:
        training_step(name, 1)
    if ":" not in name:
        assert all(builtin in str(error.value) for builtin in MODELS)


@pytest.mark.parametrize("batch", [0, -3, 1.5, True])
def test_non_positive_batch_is_refused(batch):
    with pytest.raises(UsageError, match="batch must be a positive integer"):
        training_step("resnet18", batch)


def test_builtin_names_and_phases():
    assert set(MODELS) == {"resnet18", "resnet50", "vgg16", "mobilenet_v2", "bert_base"}
    assert PHASES == ("forward", "data_grad", "weight_grad")


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("bert_base", {"seq_len": 513}, "seq_len must be an integer from 1 to 512"),
        ("vgg16", {"image_size": 16}, "image_size must be an integer at least 32"),
        ("resnet18", {"num_classes": 0}, "num_classes must be an integer at least 1"),
        ("resnet18", {"seq_len": 8}, "seq_len is not an option of model 'resnet18'; its options: image_size"),
    ],
)
def test_bad_options_are_refused(name, options, message):
    with pytest.raises(UsageError, match=message):
        training_step(name, 1, **options)


@jax.custom_vjp
def _matmul(x, w):
    return x @ w


_matmul.defvjp(lambda x, w: (x @ w, (x, w)), lambda r, g: (g @ r[1].T, r[0].T @ g))


class Wrapped(eqx.Module):
    """Products inside custom_vjp, checkpoint and both branches of a cond (one product against two)."""

    w1: jax.Array
    w2: jax.Array

    def __call__(self, x):
        h = _matmul(x, self.w1)
        h = jax.checkpoint(lambda h: jnp.tanh(h @ self.w2))(h)
        return jax.lax.cond(h.sum() > 0, lambda h: h @ self.w2 @ self.w2, lambda h: h @ self.w2, h)


class Looped(eqx.Module):
    w: jax.Array

    def __call__(self, x):
        return jax.lax.while_loop(lambda c: c[1] < 3, lambda c: (c[0] @ self.w, c[1] + 1), (x, 0))[0]


def test_products_inside_sub_programs_and_a_refused_while_loop():
    gemms = trace(Wrapped(jnp.ones((3, 4)), jnp.ones((4, 4))), jnp.ones((5, 3)))
    forward = [(g.m, g.k, g.n) for g in gemms if g.phase == "forward"]
    assert forward == [(5, 3, 4), (5, 4, 4), (5, 4, 4), (5, 4, 4)]  # custom_vjp, checkpoint, the costlier branch
    assert total_macs(gemms) == 3 * total_macs(gemms, "forward") - 5 * 3 * 4
    with pytest.raises(UsageError, match="while loop"):
        trace(Looped(jnp.ones((3, 3))), jnp.ones((2, 3)))
