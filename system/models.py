"""Built-in network definitions (Equinox) whose training steps the system model runs.

Each builder in ``MODELS`` follows the contract that a user's own ``--model package.module:function``
follows too (see :func:`system.workloads.load_model`): called with the keyword ``batch`` (and its own
keyword options) it returns ``(model, example_input)``, where ``model(example_input)`` is the forward
pass of a whole batch and the floating-point array leaves of ``model`` are the trained parameters.

The built-ins are constructed under ``eqx.filter_eval_shape``: their leaves are
``jax.ShapeDtypeStruct`` s, so no weight is materialised (VGG-16 alone would take 0.55 GB), and nothing
is downloaded. Images are channel-first, as Equinox's convolutions are: ``(batch, 3, height, width)``.

Batch normalisation, pooling, activations, softmax and layer normalisation are not GEMMs; they are
here so that the networks are the published ones, and the workload tracer passes over them.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from photonics.errors import UsageError

IMAGE_SIZE = 224  # ImageNet crops (Krizhevsky et al., NeurIPS 2012; He et al., CVPR 2016, Sec. 3.4)
IMAGENET_CLASSES = 1000  # ILSVRC-2012 (Russakovsky et al., IJCV 2015)


def _per_example(layer, x):
    """Apply an unbatched Equinox layer (as ``eqx.nn.Conv2d`` is) to every example of a batch."""
    return jax.vmap(layer)(x)


class BatchNorm(eqx.Module):
    """Batch normalisation as in training (Ioffe & Szegedy, ICML 2015): statistics over batch and positions.

    ``x``: ``(batch, channels, height, width)``. Running averages are left out: they are not part of the
    step's arithmetic.
    """

    weight: jax.Array
    bias: jax.Array
    eps: float = eqx.field(static=True, default=1e-5)

    def __init__(self, channels: int):
        self.weight = jnp.ones(channels)
        self.bias = jnp.zeros(channels)

    def __call__(self, x):
        mean = x.mean(axis=(0, 2, 3), keepdims=True)
        var = x.var(axis=(0, 2, 3), keepdims=True)
        return (x - mean) * jax.lax.rsqrt(var + self.eps) * self.weight[:, None, None] + self.bias[:, None, None]


class ConvBN(eqx.Module):
    """A bias-free convolution followed by batch normalisation (the unit of ResNet and MobileNet-v2)."""

    conv: eqx.nn.Conv2d
    bn: BatchNorm

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, *, key):
        self.conv = eqx.nn.Conv2d(
            cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, use_bias=False, key=key
        )
        self.bn = BatchNorm(cout)

    def __call__(self, x):
        return self.bn(_per_example(self.conv, x))


# --- ResNet (He, Zhang, Ren & Sun, "Deep residual learning for image recognition", CVPR 2016) ---


class BasicBlock(eqx.Module):
    """Two 3x3 convolutions and an identity (or 1x1 projection) shortcut: ResNet-18/34 (He et al. 2016, Fig. 5 left)."""

    expansion = 1
    conv1: ConvBN
    conv2: ConvBN
    shortcut: ConvBN | None

    def __init__(self, cin: int, width: int, stride: int, *, key):
        k1, k2, k3 = jax.random.split(key, 3)
        self.conv1 = ConvBN(cin, width, 3, stride, key=k1)
        self.conv2 = ConvBN(width, width, 3, key=k2)
        self.shortcut = ConvBN(cin, width, 1, stride, key=k3) if stride != 1 or cin != width else None

    def __call__(self, x):
        y = self.conv2(jax.nn.relu(self.conv1(x)))
        return jax.nn.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class Bottleneck(eqx.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4): ResNet-50/101/152 (He et al. 2016, Fig. 5 right).

    The stride sits on the 3x3 convolution ("ResNet v1.5", as torchvision and NVIDIA's reference
    implementations build it); the paper put it on the first 1x1, which gives 3.8 instead of 4.1 GMAC.
    """

    expansion = 4
    conv1: ConvBN
    conv2: ConvBN
    conv3: ConvBN
    shortcut: ConvBN | None

    def __init__(self, cin: int, width: int, stride: int, *, key):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        cout = width * self.expansion
        self.conv1 = ConvBN(cin, width, 1, key=k1)
        self.conv2 = ConvBN(width, width, 3, stride, key=k2)
        self.conv3 = ConvBN(width, cout, 1, key=k3)
        self.shortcut = ConvBN(cin, cout, 1, stride, key=k4) if stride != 1 or cin != cout else None

    def __call__(self, x):
        y = self.conv3(jax.nn.relu(self.conv2(jax.nn.relu(self.conv1(x)))))
        return jax.nn.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(eqx.Module):
    """ResNet for ImageNet (He et al., CVPR 2016, Table 1): 7x7/2 stem, 3x3/2 max pool, four stages, average pool, fc.

    ``x``: ``(batch, 3, height, width)`` -> logits ``(batch, num_classes)``.
    """

    stem: ConvBN
    pool: eqx.nn.MaxPool2d
    blocks: list
    fc: eqx.nn.Linear

    def __init__(self, block: type, depths: tuple[int, ...], num_classes: int, *, key):
        keys = iter(jax.random.split(key, sum(depths) + 2))
        self.stem = ConvBN(3, 64, 7, 2, key=next(keys))
        self.pool = eqx.nn.MaxPool2d(3, 2, padding=1)
        blocks, cin = [], 64
        for stage, depth in enumerate(depths):
            width = 64 * 2**stage
            for i in range(depth):
                blocks.append(block(cin, width, 2 if stage > 0 and i == 0 else 1, key=next(keys)))
                cin = width * block.expansion
        self.blocks = blocks
        self.fc = eqx.nn.Linear(cin, num_classes, key=next(keys))

    def __call__(self, x):
        x = _per_example(self.pool, jax.nn.relu(self.stem(x)))
        for block in self.blocks:
            x = block(x)
        return _per_example(self.fc, x.mean(axis=(2, 3)))


# --- VGG (Simonyan & Zisserman, "Very deep convolutional networks for large-scale image recognition", ICLR 2015) ---

VGG16_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")  # Table 1, D


class VGG(eqx.Module):
    """VGG (Simonyan & Zisserman, ICLR 2015): 3x3/1 convolutions with ReLU, 2x2/2 max pools, three fc layers.

    The first fc layer takes the last feature map flattened (512 x 7 x 7 at 224 x 224); dropout is left
    out (no arithmetic of its own). ``x``: ``(batch, 3, height, width)`` -> logits.
    """

    convs: list
    pool: eqx.nn.MaxPool2d
    layers: tuple = eqx.field(static=True)
    fcs: list

    def __init__(self, layers: tuple, image_size: int, num_classes: int, *, key):
        keys = iter(jax.random.split(key, len(layers) + 3))
        convs, cin, side = [], 3, image_size
        for layer in layers:
            if layer == "M":
                side //= 2
            else:
                convs.append(eqx.nn.Conv2d(cin, layer, 3, padding=1, key=next(keys)))
                cin = layer
        self.convs, self.layers = convs, layers
        self.pool = eqx.nn.MaxPool2d(2, 2)
        widths = (cin * side * side, 4096, 4096, num_classes)
        self.fcs = [eqx.nn.Linear(a, b, key=next(keys)) for a, b in zip(widths[:-1], widths[1:])]

    def __call__(self, x):
        convs = iter(self.convs)
        for layer in self.layers:
            x = _per_example(self.pool, x) if layer == "M" else jax.nn.relu(_per_example(next(convs), x))
        x = x.reshape(x.shape[0], -1)
        for i, fc in enumerate(self.fcs):
            x = _per_example(fc, x)
            x = jax.nn.relu(x) if i < len(self.fcs) - 1 else x
        return x


# --- MobileNet-v2 (Sandler, Howard, Zhu, Zhmoginov & Chen, "MobileNetV2: inverted residuals and linear
# bottlenecks", CVPR 2018) ---

MOBILENET_V2_BLOCKS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)  # (t, c, n, s), Table 2


class InvertedResidual(eqx.Module):
    """1x1 expansion (x t), 3x3 depthwise, linear 1x1 projection; a residual when shapes allow (Sandler et al. 2018, Fig. 4)."""

    expand: ConvBN | None
    depthwise: ConvBN
    project: ConvBN
    residual: bool = eqx.field(static=True)

    def __init__(self, cin: int, cout: int, stride: int, expansion: int, *, key):
        k1, k2, k3 = jax.random.split(key, 3)
        hidden = cin * expansion
        self.expand = ConvBN(cin, hidden, 1, key=k1) if expansion != 1 else None
        self.depthwise = ConvBN(hidden, hidden, 3, stride, groups=hidden, key=k2)
        self.project = ConvBN(hidden, cout, 1, key=k3)
        self.residual = stride == 1 and cin == cout

    def __call__(self, x):
        y = x if self.expand is None else jax.nn.relu6(self.expand(x))
        y = self.project(jax.nn.relu6(self.depthwise(y)))
        return x + y if self.residual else y


class MobileNetV2(eqx.Module):
    """MobileNet-v2 at width 1.0 (Sandler et al., CVPR 2018, Table 2): 3x3/2 stem, 17 inverted residuals, 1x1 to 1280, fc.

    ``x``: ``(batch, 3, height, width)`` -> logits; dropout left out.
    """

    stem: ConvBN
    blocks: list
    head: ConvBN
    fc: eqx.nn.Linear

    def __init__(self, num_classes: int, *, key):
        keys = iter(jax.random.split(key, sum(n for _, _, n, _ in MOBILENET_V2_BLOCKS) + 3))
        self.stem = ConvBN(3, 32, 3, 2, key=next(keys))
        blocks, cin = [], 32
        for t, c, n, s in MOBILENET_V2_BLOCKS:
            for i in range(n):
                blocks.append(InvertedResidual(cin, c, s if i == 0 else 1, t, key=next(keys)))
                cin = c
        self.blocks = blocks
        self.head = ConvBN(cin, 1280, 1, key=next(keys))
        self.fc = eqx.nn.Linear(1280, num_classes, key=next(keys))

    def __call__(self, x):
        x = jax.nn.relu6(self.stem(x))
        for block in self.blocks:
            x = block(x)
        x = jax.nn.relu6(self.head(x))
        return _per_example(self.fc, x.mean(axis=(2, 3)))


# --- BERT (Devlin, Chang, Lee & Toutanova, "BERT: pre-training of deep bidirectional transformers for language
# understanding", NAACL 2019) ---

BERT_BASE = dict(layers=12, hidden=768, heads=12, ffn=3072)  # BERT-base, Sec. 3
BERT_VOCAB = 30522  # the WordPiece vocabulary of the released uncased models
BERT_MAX_POSITIONS = 512  # learned position embeddings (Sec. 3)
SEQ_LEN = 128  # the sequence length of most of BERT's pre-training steps (Devlin et al. 2019, App. A.2)


class EncoderLayer(eqx.Module):
    """Post-norm transformer encoder layer (Vaswani et al., NeurIPS 2017): self-attention, then a GELU FFN."""

    attention: eqx.nn.MultiheadAttention
    norm1: eqx.nn.LayerNorm
    ffn1: eqx.nn.Linear
    ffn2: eqx.nn.Linear
    norm2: eqx.nn.LayerNorm

    def __init__(self, hidden: int, heads: int, ffn: int, *, key):
        k1, k2, k3 = jax.random.split(key, 3)
        bias = dict(use_query_bias=True, use_key_bias=True, use_value_bias=True, use_output_bias=True)
        self.attention = eqx.nn.MultiheadAttention(heads, hidden, **bias, key=k1)
        self.norm1 = eqx.nn.LayerNorm(hidden)
        self.ffn1 = eqx.nn.Linear(hidden, ffn, key=k2)
        self.ffn2 = eqx.nn.Linear(ffn, hidden, key=k3)
        self.norm2 = eqx.nn.LayerNorm(hidden)

    def __call__(self, x):  # x: (sequence, hidden), one example
        x = jax.vmap(self.norm1)(x + self.attention(x, x, x))
        y = jax.vmap(self.ffn2)(jax.nn.gelu(jax.vmap(self.ffn1)(x)))
        return jax.vmap(self.norm2)(x + y)


class Bert(eqx.Module):
    """A BERT encoder (Devlin et al., NAACL 2019) with the [CLS] pooler and a classifier, as fine-tuned on GLUE (Sec. 4.1).

    ``tokens``: ``(batch, sequence)`` integer ids -> logits ``(batch, num_classes)``. Token and position
    embeddings are look-ups (no GEMM); segment embeddings are left out (a single segment adds a constant).
    """

    tokens: eqx.nn.Embedding
    positions: eqx.nn.Embedding
    norm: eqx.nn.LayerNorm
    layers: list
    pooler: eqx.nn.Linear
    classifier: eqx.nn.Linear

    def __init__(self, layers: int, hidden: int, heads: int, ffn: int, num_classes: int, *, key):
        keys = jax.random.split(key, layers + 4)
        self.tokens = eqx.nn.Embedding(BERT_VOCAB, hidden, key=keys[0])
        self.positions = eqx.nn.Embedding(BERT_MAX_POSITIONS, hidden, key=keys[1])
        self.norm = eqx.nn.LayerNorm(hidden)
        self.layers = [EncoderLayer(hidden, heads, ffn, key=k) for k in keys[4:]]
        self.pooler = eqx.nn.Linear(hidden, hidden, key=keys[2])
        self.classifier = eqx.nn.Linear(hidden, num_classes, key=keys[3])

    def _one(self, tokens):
        x = jax.vmap(self.tokens)(tokens) + self.positions.weight[: tokens.shape[0]]
        x = jax.vmap(self.norm)(x)
        for layer in self.layers:
            x = layer(x)
        return self.classifier(jnp.tanh(self.pooler(x[0])))

    def __call__(self, tokens):
        return jax.vmap(self._one)(tokens)


# --- builders: the contract of system.workloads.load_model ---


def _abstract(cls, *args, key=None, **kwargs):
    """The model with ``ShapeDtypeStruct`` leaves: built symbolically, no weight materialised."""
    return eqx.filter_eval_shape(cls, *args, **kwargs, key=jax.random.key(0) if key is None else key)


def _check(name: str, value, minimum: int = 1, maximum: int | None = None) -> None:
    """Refuse an option that is not an integer in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (maximum and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum else f"at least {minimum}"
        raise UsageError(f"{name} must be an integer {bounds}, got {value!r}")


def _images(batch: int, image_size: int, num_classes: int, minimum: int = 1) -> jax.ShapeDtypeStruct:
    _check("image_size", image_size, minimum)
    _check("num_classes", num_classes)
    return jax.ShapeDtypeStruct((batch, 3, image_size, image_size), jnp.result_type(float))  # as the weights


def resnet18(*, batch: int, image_size: int = IMAGE_SIZE, num_classes: int = IMAGENET_CLASSES, key=None):
    """ResNet-18 (He et al., CVPR 2016, Table 1: 1.8 x 10^9 multiply-adds at 224 x 224) and a batch of images."""
    return _abstract(ResNet, BasicBlock, (2, 2, 2, 2), num_classes, key=key), _images(batch, image_size, num_classes)


def resnet50(*, batch: int, image_size: int = IMAGE_SIZE, num_classes: int = IMAGENET_CLASSES, key=None):
    """ResNet-50 v1.5 (He et al., CVPR 2016, Table 1, stride on the 3x3: 4.1 x 10^9 multiply-adds) and a batch of images."""
    return _abstract(ResNet, Bottleneck, (3, 4, 6, 3), num_classes, key=key), _images(batch, image_size, num_classes)


def vgg16(*, batch: int, image_size: int = IMAGE_SIZE, num_classes: int = IMAGENET_CLASSES, key=None):
    """VGG-16 (Simonyan & Zisserman, ICLR 2015, configuration D) and a batch of images."""
    images = _images(batch, image_size, num_classes, minimum=2 ** VGG16_LAYERS.count("M"))  # five 2x2 pools
    return _abstract(VGG, VGG16_LAYERS, image_size, num_classes, key=key), images


def mobilenet_v2(*, batch: int, image_size: int = IMAGE_SIZE, num_classes: int = IMAGENET_CLASSES, key=None):
    """MobileNet-v2 1.0 (Sandler et al., CVPR 2018, Table 4: 300 M multiply-adds at 224 x 224) and a batch of images."""
    return _abstract(MobileNetV2, num_classes, key=key), _images(batch, image_size, num_classes)


def bert_base(*, batch: int, seq_len: int = SEQ_LEN, num_classes: int = 2, key=None):
    """BERT-base (Devlin et al., NAACL 2019: 12 layers, hidden 768, 12 heads, FFN 3072) and a batch of token ids.

    ``num_classes``: 2, as for a GLUE sentence-pair task such as MRPC (Sec. 4.1).
    """
    _check("seq_len", seq_len, 1, BERT_MAX_POSITIONS)
    _check("num_classes", num_classes)
    model = _abstract(Bert, num_classes=num_classes, key=key, **BERT_BASE)
    return model, jax.ShapeDtypeStruct((batch, seq_len), jnp.int32)


MODELS = {f.__name__: f for f in (resnet18, resnet50, vgg16, mobilenet_v2, bert_base)}
"""The built-in workloads by name: each a builder ``f(*, batch, **options) -> (model, example_input)``."""
