"""Build an ONNX graph of a BERT sentence encoder straight from its safetensors weights.

No torch: the graph is written node by node with the `onnx` helper API. It computes
exactly what sentence-transformers computes for all-MiniLM-L6-v2 — BERT encoder, mean
pooling over the attention mask, L2 normalisation — so its single output is the final
sentence embedding, `[batch, hidden]`.

Inputs are `input_ids` and `attention_mask` (int64, `[batch, seq]`). Token types are
always 0 for single sentences, so the type-0 row is folded into the position table.
Q, K and V are merged into one matrix multiply.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

# Bump when the graph changes, so cached files built by older code are not reused.
GRAPH_VERSION = 1
OPSET = 17
_MASK_NEG = -1e9


@dataclass(frozen=True)
class BertConfig:
    hidden: int
    heads: int
    layers: int
    intermediate: int
    layer_norm_eps: float

    @classmethod
    def from_model_dir(cls, model_dir: Path) -> BertConfig:
        raw = json.loads((model_dir / "config.json").read_text())
        if raw.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported activation {raw['hidden_act']!r}")
        return cls(
            hidden=int(raw["hidden_size"]),
            heads=int(raw["num_attention_heads"]),
            layers=int(raw["num_hidden_layers"]),
            intermediate=int(raw["intermediate_size"]),
            layer_norm_eps=float(raw.get("layer_norm_eps", 1e-12)),
        )


class _Graph:
    """Accumulates nodes and initializers with unique names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        self._n += 1
        out = f"{op_type.lower()}_{self._n}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
        # torch Linear stores [out, in]; MatMul wants [in, out].
        w = self.const(f"{name}.w", np.ascontiguousarray(weight.T.astype(np.float32)))
        b = self.const(f"{name}.b", bias.astype(np.float32))
        return self.op("Add", self.op("MatMul", x, w), b)

    def layer_norm(self, x: str, weights: dict[str, np.ndarray], prefix: str, eps: float) -> str:
        g = self.const(f"{prefix}.g", weights[f"{prefix}.weight"])
        b = self.const(f"{prefix}.b", weights[f"{prefix}.bias"])
        return self.op("LayerNormalization", x, g, b, axis=-1, epsilon=eps)


def _attention(
    g: _Graph, x: str, mask: str, w: dict[str, np.ndarray], p: str, cfg: BertConfig
) -> str:
    head_dim = cfg.hidden // cfg.heads
    qkv_w = np.concatenate([w[f"{p}.self.{n}.weight"] for n in ("query", "key", "value")])
    qkv_b = np.concatenate([w[f"{p}.self.{n}.bias"] for n in ("query", "key", "value")])
    qkv = g.linear(x, qkv_w, qkv_b, f"{p}.qkv")
    split = g.const(f"{p}.split", np.array([cfg.hidden] * 3, dtype=np.int64))
    q, k, v = (f"{p}.{n}" for n in ("q", "k", "v"))
    g.nodes.append(helper.make_node("Split", [qkv, split], [q, k, v], axis=-1))
    heads_shape = g.const(f"{p}.heads_shape", np.array([0, 0, cfg.heads, head_dim], np.int64))
    q = g.op("Transpose", g.op("Reshape", q, heads_shape), perm=[0, 2, 1, 3])
    k = g.op("Transpose", g.op("Reshape", k, heads_shape), perm=[0, 2, 3, 1])
    v = g.op("Transpose", g.op("Reshape", v, heads_shape), perm=[0, 2, 1, 3])
    scale = g.const(f"{p}.scale", np.array(1.0 / math.sqrt(head_dim), np.float32))
    scores = g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), mask)
    context = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
    merged_shape = g.const(f"{p}.merged_shape", np.array([0, 0, cfg.hidden], np.int64))
    context = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merged_shape)
    out = g.linear(context, w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"], f"{p}.o")
    return g.layer_norm(g.op("Add", out, x), w, f"{p}.output.LayerNorm", cfg.layer_norm_eps)


def _feed_forward(g: _Graph, x: str, w: dict[str, np.ndarray], p: str, cfg: BertConfig) -> str:
    h = g.linear(
        x, w[f"{p}.intermediate.dense.weight"], w[f"{p}.intermediate.dense.bias"], f"{p}.i"
    )
    # Exact GELU, as BERT uses: 0.5 * h * (1 + erf(h / sqrt(2))).
    inv_sqrt2 = g.const(f"{p}.inv_sqrt2", np.array(1.0 / math.sqrt(2.0), np.float32))
    one = g.const(f"{p}.one", np.array(1.0, np.float32))
    half = g.const(f"{p}.half", np.array(0.5, np.float32))
    erf = g.op("Erf", g.op("Mul", h, inv_sqrt2))
    h = g.op("Mul", g.op("Mul", h, half), g.op("Add", erf, one))
    out = g.linear(h, w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"], f"{p}.out")
    return g.layer_norm(g.op("Add", out, x), w, f"{p}.output.LayerNorm", cfg.layer_norm_eps)


def _embeddings(g: _Graph, ids: str, w: dict[str, np.ndarray], cfg: BertConfig) -> str:
    words = g.op("Gather", g.const("word_emb", w["embeddings.word_embeddings.weight"]), ids)
    table = (
        w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    )
    seq_len = g.op("Slice", g.op("Shape", ids), *_consts(g, "seq", [1], [2], [0]))
    zero = g.const("pos_start", np.array([0], np.int64))
    axis0 = g.const("pos_axis", np.array([0], np.int64))
    positions = g.op("Slice", g.const("pos_emb", table.astype(np.float32)), zero, seq_len, axis0)
    x = g.op("Add", words, positions)
    return g.layer_norm(x, w, "embeddings.LayerNorm", cfg.layer_norm_eps)


def _consts(g: _Graph, prefix: str, *values: list[int]) -> list[str]:
    return [g.const(f"{prefix}.{i}", np.array(v, np.int64)) for i, v in enumerate(values)]


def _mean_pool_normalize(g: _Graph, x: str, mask_f: str) -> str:
    axes1 = g.const("pool_axes", np.array([1], np.int64))
    mask3 = g.op("Unsqueeze", mask_f, g.const("pool_unsq", np.array([-1], np.int64)))
    summed = g.op("ReduceSum", g.op("Mul", x, mask3), axes1, keepdims=0)
    counts = g.op("ReduceSum", mask3, axes1, keepdims=0)
    counts = g.op("Max", counts, g.const("pool_min", np.array(1e-9, np.float32)))
    mean = g.op("Div", summed, counts)
    norm = g.op("Sqrt", g.op("ReduceSum", g.op("Mul", mean, mean), axes1, keepdims=1))
    norm = g.op("Max", norm, g.const("norm_min", np.array(1e-12, np.float32)))
    return g.op("Div", mean, norm)


def build_sentence_encoder(model_dir: Path) -> onnx.ModelProto:
    """Return the ONNX model for the BERT sentence encoder stored in `model_dir`."""
    cfg = BertConfig.from_model_dir(model_dir)
    w = load_file(str(model_dir / "model.safetensors"))
    g = _Graph()
    mask_f = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    # [B, S] -> [B, 1, 1, S]; 0 where attended, a large negative number on padding.
    mask4 = g.op("Unsqueeze", mask_f, g.const("mask_axes", np.array([1, 2], np.int64)))
    one = g.const("mask_one", np.array(1.0, np.float32))
    neg = g.const("mask_neg", np.array(_MASK_NEG, np.float32))
    additive = g.op("Mul", g.op("Sub", one, mask4), neg)

    x = _embeddings(g, "input_ids", w, cfg)
    for i in range(cfg.layers):
        prefix = f"encoder.layer.{i}"
        x = _attention(g, x, additive, w, f"{prefix}.attention", cfg)
        x = _feed_forward(g, x, w, prefix, cfg)
    out = _mean_pool_normalize(g, x, mask_f)
    g.nodes.append(helper.make_node("Identity", [out], ["sentence_embedding"]))

    int_input = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
        for n in ("input_ids", "attention_mask")
    ]
    output = helper.make_tensor_value_info(
        "sentence_embedding", TensorProto.FLOAT, ["batch", cfg.hidden]
    )
    graph = helper.make_graph(g.nodes, "sentence_encoder", int_input, [output], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
