"""Hugging Face reference on a model package's OWN weights (issue 15, outcome 2: int4 exactness).

The int4 packages (q4f32, q4f16) differ from the checkpoint by weight quantization; comparing the engine with the
fp32 reference can then only use a loose bound (int4's ~0.5 % noise per matrix). This script runs the same Hugging
Face reference as hf_reference.py (Qwen2-VL vision classes + LlamaForCausalLM, float32, eager attention, CPU), but
with every parameter taken from the package's shards instead of the checkpoint:

  - layout "row-major" (float32 or float16): the values, widened to float32 (q4f16's f16 vision weights, norms and
    embedding table are then exactly what the engine reads);
  - layout "matmulnbits-q4-b32": onnxruntime's MatMulNBits format (com.microsoft contrib op spec: bits 4,
    block_size 32, no zero points, so the implicit zero point is 8): B uint8 [N, ceil(K/32), 16], byte j of a block
    holds element 2j in its low nibble and 2j+1 in its high nibble; scales [N, ceil(K/32)] (float32 or float16);
    W[n, 32b + i] = (nibble - 8) * scales[n, b]; only the first K elements of a row are real (K = the Hugging Face
    parameter's in-features). Decoded here with numpy from the bytes, independent of the TypeScript dequantizer;
  - a weight stored as row parts (manifest "weightSplits") is its parts decoded and concatenated in row order.

Every package weight must be used and every parameter set (the rotary inv_freq buffers excepted), and the shards'
sha256 must match the manifest, so the fixtures name exactly the bytes they were made from.

The prompts and pixels are the fp32 fixtures' own (FIXTURE_DIR/<case>/case.json, pixel_values.f32.gz: made by
hf_reference.py from the same checkpoint and tokenizer), so only the weights differ. Usage, on the GPU machine (CPU
float32 is enough for the small checkpoints):

    PYTHONUNBUFFERED=1 python3 export/reference/hf_package_reference.py CHECKPOINT_DIR PACKAGE_DIR FIXTURE_DIR OUT_DIR

(export/reference/make-int4-fixtures.sh runs it for tiny and odd, q4f32 and q4f16, in one call.)
Writes OUT_DIR/package.json (precision, manifest and shard sha256, exporter), versions.json and per case
OUT_DIR/<case>/case.json + step_logits.f32 ([steps, vocab] float32 little-endian: logits at the last prompt position
and after each of the reference's own greedy tokens) + image_features.f32 (after `norm`, [tokens, hidden]).
"""

import gzip
import hashlib
import json
import os
import platform
import sys

import numpy as np
import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_reference import Sarashina2VisionReference, f32_bytes  # noqa: E402

CASES = ["text-en", "image-ja", "two-images-en"]
# Short text prompts (the head of a case's ids) for the engine run that feeds every prompt token through the decode
# step: one decode step per token is slow on a CPU adapter, so these keep that run short.
HEADS = {"text-ja-head16": ("text-ja", 16)}
STEPS = 8
BLOCK = 32
INT4_LAYOUT = "matmulnbits-q4-b32"
NP_DTYPES = {"float32": "<f4", "float16": "<f2", "uint8": "u1"}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


class PackageWeights:
    """The package's weights as float32 numpy arrays, decoded from the shard bytes the manifest names."""

    def __init__(self, pkg_dir):
        self.dir = pkg_dir
        self.manifest = json.load(open(os.path.join(pkg_dir, "manifest.json")))
        for s in self.manifest["shards"]:
            got = sha256_file(os.path.join(pkg_dir, s["path"]))
            if got != s["sha256"]:
                raise RuntimeError(f"{s['path']}: sha256 {got} but the manifest says {s['sha256']}")
        self.weights = self.manifest["weights"]
        self.splits = self.manifest.get("weightSplits", {})
        self.used = set()

    def raw(self, name):
        """The stored array of `name` in its manifest shape and dtype (row parts concatenated along axis 0)."""
        if name in self.splits:
            return np.concatenate([self.raw(p) for p in self.splits[name]["parts"]], axis=0)
        e = self.weights[name]
        self.used.add(name)
        buf = bytearray()
        for part in e["parts"]:
            with open(os.path.join(self.dir, part["shard"]), "rb") as f:
                f.seek(part["byteOffset"])
                chunk = f.read(part["sizeBytes"])
            if len(chunk) != part["sizeBytes"]:
                raise RuntimeError(f"{part['shard']} ended early while reading {name}")
            buf += chunk
        return np.frombuffer(bytes(buf), dtype=NP_DTYPES[e["dtype"]]).reshape(e["shape"])

    def layout(self, name):
        return self.weights[self.splits[name]["parts"][0]]["layout"] if name in self.splits else self.weights[name]["layout"]

    def has(self, name):
        return name in self.weights or name in self.splits

    def float32(self, name, shape):
        """Parameter `name` as float32 in the Hugging Face `shape` (int4 dequantized per MatMulNBits)."""
        if self.layout(name) == INT4_LAYOUT:
            codes = self.raw(name)  # uint8 [N, blocks, 16]
            scales = self.raw(name + ".scales").astype(np.float32)  # [N, blocks]
            n, k = shape
            blocks = -(-k // BLOCK)
            if codes.shape != (n, blocks, BLOCK // 2) or scales.shape != (n, blocks):
                raise RuntimeError(f"{name}: int4 codes {codes.shape} / scales {scales.shape} do not fit [{n}, {k}]")
            nib = np.empty((n, blocks, BLOCK), dtype=np.int8)
            nib[:, :, 0::2] = codes & 0x0F
            nib[:, :, 1::2] = codes >> 4
            w = (nib.astype(np.float32) - 8.0) * scales[:, :, None]
            return w.reshape(n, blocks * BLOCK)[:, :k].copy()
        a = self.raw(name).astype(np.float32)
        if a.size != int(np.prod(shape)):
            raise RuntimeError(f"{name}: {a.size} values in the package, the parameter needs {list(shape)}")
        return a.reshape(shape)

    def unused(self):
        every = set()
        for name in self.weights:
            every.add(name)
        return sorted(every - self.used)


def load_package_weights(model, pkg):
    state = {}
    params = model.state_dict()
    for name, p in params.items():
        if name.endswith("inv_freq"):
            continue
        if not pkg.has(name):
            raise RuntimeError(f"the package has no weight {name}")
        state[name] = torch.from_numpy(pkg.float32(name, tuple(p.shape)))
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("inv_freq")]
    left = pkg.unused()
    if missing or unexpected or left:
        raise RuntimeError(f"weights do not fit: missing {missing[:10]}, unexpected {unexpected[:10]}, package weights unused {left[:10]}")
    layouts = {}
    for name in state:
        layouts.setdefault(pkg.layout(name), 0)
        layouts[pkg.layout(name)] += 1
    return {"parameters": len(state), "layouts": layouts}


def greedy_steps(model, emb, steps):
    """Logits at the last position, then after each greedy token (recomputed from scratch: no cache to get wrong)."""
    logits, tokens, top2, margins = [], [], [], []
    for _ in range(steps):
        out = model.logits(emb)[0, -1]
        logits.append(out.clone())
        v, i = torch.topk(out, 2)
        tokens.append(int(i[0]))
        top2.append([int(i[0]), int(i[1])])
        margins.append(float(v[0] - v[1]))
        emb = torch.cat([emb, model.llm.get_input_embeddings()(i[:1])[None]], 1)
    return torch.stack(logits), tokens, top2, margins


def run_case(model, fixture_dir, name, out_dir, source=None, head=None):
    """Case `name` from the fp32 fixture's case `source` (default the same name), its first `head` ids if given."""
    source = source or name
    src = os.path.join(fixture_dir, source)
    case = json.load(open(os.path.join(src, "case.json")))
    cdir = os.path.join(out_dir, name)
    os.makedirs(cdir, exist_ok=True)
    ids = case["inputIds"][:head] if head else case["inputIds"]
    if head and case.get("pixelValues"):
        raise RuntimeError(f"{name}: a head case needs a text prompt, {source} has images")
    rec = {"name": name, "source": source, "inputIds": ids, "grids": case["grids"], "images": case.get("images", [])}
    feats = None
    with torch.no_grad():
        if case.get("pixelValues"):
            raw = gzip.open(os.path.join(src, "pixel_values.f32.gz")).read()
            if hashlib.sha256(raw).hexdigest() != case["pixelValues"]["sha256"]:
                raise RuntimeError(f"{name}: pixel_values.f32.gz does not match its case.json sha256")
            pv = torch.from_numpy(np.frombuffer(raw, dtype="<f4").reshape(case["pixelValues"]["shape"]).copy())
            feats = model.norm(model.merged_features(pv, torch.tensor(case["grids"])))
            open(os.path.join(cdir, "image_features.f32"), "wb").write(f32_bytes(feats))
            rec["imageFeatures"] = {"shape": list(feats.shape), "file": "image_features.f32"}
        emb = model.embeddings(torch.tensor([ids]), feats)
        logits, tokens, top2, margins = greedy_steps(model, emb, STEPS)
    open(os.path.join(cdir, "step_logits.f32"), "wb").write(f32_bytes(logits))
    rec["stepLogits"] = {"shape": list(logits.shape), "file": "step_logits.f32"}
    rec["greedy"] = {"tokens": tokens, "top2": top2, "margins": margins, "minMargin": min(margins)}
    # How far the package's weights move the first logits from the checkpoint's (the fp32 fixture): int4's share.
    if head:
        json.dump(rec, open(os.path.join(cdir, "case.json"), "w"), ensure_ascii=False, indent=1)
        print(f"{name:16s} ids={len(ids)} tokens={tokens} minMargin={min(margins):.4f}")
        return
    orig = torch.from_numpy(np.fromfile(os.path.join(src, "first_logits.f32"), dtype="<f4"))
    rec["firstLogitsVsCheckpointWeights"] = {"relL2": float((logits[0] - orig).norm() / orig.norm()), "maxRel": float((logits[0] - orig).abs().max() / orig.abs().max())}
    json.dump(rec, open(os.path.join(cdir, "case.json"), "w"), ensure_ascii=False, indent=1)
    print(f"{name:16s} ids={len(ids)} tokens={tokens} minMargin={min(margins):.4f} vsCheckpoint relL2={rec['firstLogitsVsCheckpointWeights']['relL2']:.4f}")


def main():
    ckpt_dir, pkg_dir, fixture_dir, out_dir = sys.argv[1:5]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    pkg = PackageWeights(pkg_dir)
    m = pkg.manifest
    config = json.load(open(os.path.join(ckpt_dir, "config.json")))
    model = Sarashina2VisionReference(config).eval()
    loaded = load_package_weights(model, pkg)
    versions = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__,
                "referenceDevice": "cpu", "referenceDtype": "float32", "attention": "eager", "weights": loaded}
    json.dump(versions, open(os.path.join(out_dir, "versions.json"), "w"), indent=1)
    info = {"precision": m["precision"], "exporter": m["exporter"], "manifestSha256": sha256_file(os.path.join(pkg_dir, "manifest.json")),
            "shards": [{"path": s["path"], "sha256": s["sha256"]} for s in m["shards"]], "weightSplits": len(m.get("weightSplits", {}))}
    json.dump(info, open(os.path.join(out_dir, "package.json"), "w"), indent=1)
    print(m["precision"], loaded)
    for name in CASES:
        run_case(model, fixture_dir, name, out_dir)
    for name, (source, head) in HEADS.items():
        run_case(model, fixture_dir, name, out_dir, source, head)
    print("done")


if __name__ == "__main__":
    main()
