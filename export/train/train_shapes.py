"""Trains the small default model (issue 8) on the shapes dataset; runs on the GPU machine (PyTorch 2.11,
transformers 5.17, one H200):

    PYTHONUNBUFFERED=1 python3 export/train/train_shapes.py DATA_DIR OUT_DIR [--seconds S] [--max-train N] [--eval N]

DATA_DIR is what write-shapes-dataset.ts wrote (skeleton/ with the checkpoint's non-weight files, train/ and eval/
pictures with their .jsonl.gz). The model is composed from Hugging Face classes exactly as the reference harness
(export/reference/hf_reference.py) does: Qwen2-VL vision tower + PatchMerger, nn.LayerNorm, LlamaForCausalLM; its
state-dict names are the checkpoint's. Prompts are the Sarashina chat template with one user turn (the question),
image placeholders expanded as the engine does; the loss is on the answer tokens and </s> only. Mixed precision
(bf16 autocast, f32 master weights), AdamW, warm-up then cosine decay over a wall-clock budget.

Outputs under OUT_DIR: model.safetensors (bf16; with the skeleton files it is the checkpoint), eval.json (held-out exact-match
accuracy by question kind and language, measured on the saved bf16 weights through the reference model in f32,
eager attention; and on the f32 training weights for comparison), train-log.txt.

Auxiliary loss (training only; the heads are dropped, the checkpoint is exactly the Sarashina2-Vision layout): a
linear probe on each image feature predicts the shape and colour under the token and the token's (x, y). Without
it the decoder learned the answer priors but not to read the picture (held-out colour 28 %, position 16 % after
2,766 steps of 128).
"""

import argparse
import gzip
import json
import math
import os
import shutil
import sys
import time
from multiprocessing import Pool

import numpy as np
import torch
import transformers
from PIL import Image
from safetensors.torch import save_file
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.qwen2_vl import modeling_qwen2_vl
from transformers.models.qwen2_vl.configuration_qwen2_vl import Qwen2VLVisionConfig

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import hf_reference as ref  # noqa: E402

IMAGE_TOKEN_ID = 14
EOS_ID = 2
PAD_ID = 3
PROC_KEYS = ["do_resize", "resample", "do_rescale", "rescale_factor", "do_normalize", "image_mean", "image_std", "do_convert_rgb",
             "min_pixels", "max_pixels", "patch_size", "temporal_patch_size", "merge_size"]


class TrainModel(ref.Sarashina2VisionReference):
    """The reference composition with a selectable attention kernel (sdpa for training)."""

    def __init__(self, config, attn):
        nn.Module.__init__(self)
        vcfg = Qwen2VLVisionConfig(**{k: v for k, v in config["vision_config"].items() if k != "model_type"})
        tcfg = LlamaConfig(**{k: v for k, v in config["text_config"].items() if k != "model_type"})
        self.visual = modeling_qwen2_vl.Qwen2VisionTransformerPretrainedModel._from_config(vcfg, attn_implementation=attn).float()
        self.norm = nn.LayerNorm(tcfg.hidden_size, eps=1e-5)
        self.llm = LlamaForCausalLM._from_config(tcfg, attn_implementation=attn).float()
        self.image_token_id = config.get("image_token_index", IMAGE_TOKEN_ID)
        self.vcfg, self.tcfg = vcfg, tcfg


_PROC = None


def _init_proc(kwargs):
    global _PROC
    _PROC = ref.ImageProcessor(**kwargs)


def _process(path):
    enc = _PROC(images=[Image.open(path)], return_tensors="pt")
    return enc["pixel_values"].numpy().astype(np.float32), [int(x) for x in enc["image_grid_thw"][0].tolist()]


def load_split(data_dir, split, limit, proc_kwargs, device):
    records = [json.loads(line) for line in gzip.open(os.path.join(data_dir, f"{split}.jsonl.gz"), "rt", encoding="utf-8") if line.strip()]
    records = records[:limit]
    with Pool(min(16, os.cpu_count() or 1), initializer=_init_proc, initargs=(proc_kwargs,)) as pool:
        out = pool.map(_process, [os.path.join(data_dir, r["file"]) for r in records], chunksize=64)
    offsets, grids, arrays = [], [], []
    total = 0
    for pv, grid in out:
        offsets.append((total, total + pv.shape[0]))
        total += pv.shape[0]
        grids.append(grid)
        arrays.append(pv)
    pixels = torch.from_numpy(np.concatenate(arrays)).to(device)
    return records, pixels, offsets, grids


SHAPE_CLASSES = ["circle", "square", "triangle", "star"]
COLOUR_CLASSES = ["red", "blue", "green", "yellow", "white", "black"]


def token_targets(records, grids, merge, device):
    """Auxiliary per-image-token targets (training only, never saved): which object covers the token's centre
    (shape and colour class, 0 = background) and the token centre's (x, y) in [0, 1]. They give the vision tower
    a direct signal; the answers alone reach it only through the decoder and learn it very slowly."""
    shapes, colours, xy = [], [], []
    for rec, (_, gh, gw) in zip(records, grids):
        mh, mw = gh // merge, gw // merge
        cy, cx = np.meshgrid((np.arange(mh) + 0.5) / mh, (np.arange(mw) + 0.5) / mw, indexing="ij")
        s = np.zeros((mh, mw), np.int64)
        c = np.zeros((mh, mw), np.int64)
        for o in rec["objects"]:
            d = np.hypot(cx * rec["width"] - o["centreX"], cy * rec["height"] - o["centreY"])
            # Tokens are 28 px of the resized picture apart, objects 10-45 px across: the token nearest the centre
            # always counts, so every object is seen.
            hit = d < o["radius"]
            hit.flat[int(np.argmin(d))] = True
            s[hit] = SHAPE_CLASSES.index(o["shape"]) + 1
            c[hit] = COLOUR_CLASSES.index(o["colour"]) + 1
        shapes.append(s.reshape(-1))
        colours.append(c.reshape(-1))
        xy.append(np.stack([cx.reshape(-1), cy.reshape(-1)], -1))
    offsets = np.cumsum([0] + [len(a) for a in shapes])
    return (torch.from_numpy(np.concatenate(shapes)).to(device), torch.from_numpy(np.concatenate(colours)).to(device),
            torch.from_numpy(np.concatenate(xy)).float().to(device), offsets)


class PromptCache:
    """Token ids of prompts and answers, tokenized once per distinct (question, image tokens) / answer."""

    def __init__(self, tok, template, merge):
        self.tok, self.template, self.merge = tok, template, merge
        self.prompts, self.answers, self.rendered = {}, {}, {}

    def prompt(self, question, grid):
        key = (question, tuple(grid))
        if key not in self.prompts:
            if question not in self.rendered:
                self.rendered[question] = ref.build_prompt(self.tok, self.template, question, [], self.merge)[0]
            block = "<|prefix|>" + "<|file|>" * (int(np.prod(grid)) // (self.merge * self.merge)) + "<|suffix|>"
            text = self.rendered[question].replace(ref.IMAGE_BLOCK, block)
            self.prompts[key] = self.tok(text, add_special_tokens=False)["input_ids"]
        return self.prompts[key]

    def answer(self, text):
        if text not in self.answers:
            # The template's generation prompt ends in "### Assistant:"; the answer follows after one space.
            self.answers[text] = self.tok(" " + text, add_special_tokens=False)["input_ids"] + [EOS_ID]
        return self.answers[text]


def image_batch(pixels, offsets, grids, idx, device):
    pv = torch.cat([pixels[offsets[i][0]:offsets[i][1]] for i in idx])
    grid = torch.tensor([grids[i] for i in idx], device=device)
    return pv, grid


def train(model, data, cache, args, device, log):
    records, pixels, offsets, grids = data
    t_shape, t_colour, t_xy, t_off = token_targets(records, grids, model.vcfg.spatial_merge_size, device)
    aux = nn.Linear(model.tcfg.hidden_size, 1 + len(SHAPE_CLASSES) + 1 + len(COLOUR_CLASSES) + 2).to(device)
    opt = torch.optim.AdamW(list(model.parameters()) + list(aux.parameters()), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    aux_acc = []
    rng = np.random.default_rng(0)
    start = time.time()
    step = 0
    losses = []
    model.train()
    while True:
        elapsed = time.time() - start
        if elapsed > args.seconds:
            break
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * elapsed / args.seconds)))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = rng.integers(0, len(records), args.batch)
        seqs, labels = [], []
        for i in idx:
            qa_list = records[i]["qa"]
            qa = qa_list[rng.integers(0, len(qa_list))]
            p = cache.prompt(qa["question"], grids[i])
            a = cache.answer(qa["answer"])
            seqs.append(p + a)
            labels.append([-100] * len(p) + a)
        length = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), length), PAD_ID, dtype=torch.long)
        lab = torch.full((len(seqs), length), -100, dtype=torch.long)
        for r, (s, l) in enumerate(zip(seqs, labels)):
            ids[r, :len(s)] = torch.tensor(s)
            lab[r, :len(l)] = torch.tensor(l)
        ids, lab = ids.to(device), lab.to(device)
        pv, grid = image_batch(pixels, offsets, grids, idx, device)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            feats = model.norm(model.merged_features(pv, grid))
            emb = model.embeddings(ids, feats)
            logits = model.logits(emb).float()
        loss = nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), lab[:, 1:].reshape(-1), ignore_index=-100)
        if args.aux > 0:
            sel = torch.from_numpy(np.concatenate([np.arange(t_off[i], t_off[i + 1]) for i in idx])).to(device)
            pred = aux(feats.float())
            ns = 1 + len(SHAPE_CLASSES)
            ps, pc, pxy = pred[:, :ns], pred[:, ns:ns + 1 + len(COLOUR_CLASSES)], pred[:, -2:]
            aux_loss = (nn.functional.cross_entropy(ps, t_shape[sel]) + nn.functional.cross_entropy(pc, t_colour[sel])
                        + 4 * nn.functional.mse_loss(pxy, t_xy[sel]))
            loss = loss + args.aux * aux_loss
            fg = t_shape[sel] > 0
            aux_acc.append(torch.stack([(ps.argmax(-1) == t_shape[sel])[fg].float().mean(), (pc.argmax(-1) == t_colour[sel])[fg].float().mean(),
                                        (pxy - t_xy[sel]).abs().mean()]).detach())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.detach())
        step += 1
        if step % 200 == 0:
            a = torch.stack(aux_acc[-200:]).mean(0).tolist() if aux_acc else []
            log(f"step {step} t={elapsed:.0f}s lr={lr:.2e} loss={float(torch.stack(losses[-200:]).mean()):.4f} aux(shape acc, colour acc, xy err)={[round(v, 3) for v in a]}")
    log(f"trained {step} steps in {time.time() - start:.0f}s, final loss {float(torch.stack(losses[-100:]).mean()):.4f}")
    return step


@torch.no_grad()
def evaluate(model, data, cache, tok, device, max_new=48, batch=96, limit=None):
    """Greedy answers (no KV cache; right padding is invisible to earlier positions under the causal mask)."""
    records, pixels, offsets, grids = data
    model.eval()
    items = [(i, qa) for i, r in enumerate(records) for qa in r["qa"]]
    if limit is not None:
        items = items[:limit]
    results = []
    for b in range(0, len(items), batch):
        chunk = items[b:b + batch]
        idx = [i for i, _ in chunk]
        prompts = [cache.prompt(qa["question"], grids[i]) for i, qa in chunk]
        lens = [len(p) for p in prompts]
        total = max(lens) + max_new
        ids = torch.full((len(chunk), total), PAD_ID, dtype=torch.long)
        for r, p in enumerate(prompts):
            ids[r, :len(p)] = torch.tensor(p)
        ids = ids.to(device)
        pv, grid = image_batch(pixels, offsets, grids, idx, device)
        feats = model.norm(model.merged_features(pv, grid))
        emb = model.embeddings(ids, feats.to(torch.float32))
        embed = model.llm.get_input_embeddings()
        cur = torch.tensor(lens, device=device)
        done = torch.zeros(len(chunk), dtype=torch.bool, device=device)
        out = [[] for _ in chunk]
        rows = torch.arange(len(chunk), device=device)
        for _ in range(max_new):
            upto = int(cur.max())
            logits = model.logits(emb[:, :upto])
            nxt = logits[rows, cur - 1].argmax(-1)
            for r in range(len(chunk)):
                if not done[r]:
                    out[r].append(int(nxt[r]))
            done |= nxt == EOS_ID
            if bool(done.all()):
                break
            emb[rows, cur] = embed(nxt).to(emb.dtype)
            cur = torch.clamp(cur + 1, max=total - 1)
        for (i, qa), gen in zip(chunk, out):
            text = tok.decode([t for t in gen if t != EOS_ID], skip_special_tokens=True).strip()
            results.append({"kind": qa["kind"], "language": qa["language"], "question": qa["question"], "expected": qa["answer"],
                            "got": text, "ok": text == qa["answer"], "ended": bool(gen and gen[-1] == EOS_ID), "seed": records[i]["seed"]})
    summary = {}
    for r in results:
        for key in (f"{r['kind']}/{r['language']}", r["kind"], "all"):
            s = summary.setdefault(key, {"n": 0, "correct": 0})
            s["n"] += 1
            s["correct"] += int(r["ok"])
    for s in summary.values():
        s["accuracy"] = s["correct"] / s["n"]
    return summary, results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--seconds", type=float, default=240)
    ap.add_argument("--max-train", type=int, default=10 ** 9)
    ap.add_argument("--eval", type=int, default=10 ** 9)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--init", help="folder with a model.safetensors to continue training from")
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--aux", type=float, default=1.0, help="weight of the auxiliary per-token loss (0 = answers only)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    log_file = open(os.path.join(args.out, "train-log.txt"), "w")
    t0 = time.time()

    def log(msg):
        line = f"[{time.time() - t0:6.1f}s] {msg}"
        print(line)
        log_file.write(line + "\n")
        log_file.flush()

    torch.manual_seed(0)
    device = "cuda"
    torch.backends.cuda.matmul.allow_tf32 = True
    skeleton = os.path.join(args.data, "skeleton")
    config = json.load(open(os.path.join(skeleton, "config.json")))
    pre = json.load(open(os.path.join(skeleton, "preprocessor_config.json")))
    proc_kwargs = {k: pre[k] for k in PROC_KEYS if k in pre}
    tok = transformers.PreTrainedTokenizerFast.from_pretrained(skeleton)
    template = json.load(open(os.path.join(skeleton, "chat_template.json")))["chat_template"]
    log(f"torch {torch.__version__} transformers {transformers.__version__} {torch.cuda.get_device_name(0)}")

    train_data = load_split(args.data, "train", args.max_train, proc_kwargs, device)
    eval_data = load_split(args.data, "eval", args.eval, proc_kwargs, device)
    log(f"loaded {len(train_data[0])} train / {len(eval_data[0])} eval pictures, {train_data[1].shape[0]} train patches")

    model = TrainModel(config, "sdpa").to(device)
    if args.init:
        log(f"continuing from {args.init}: {ref.load_weights(model, args.init)}")
    cache = PromptCache(tok, template, model.vcfg.spatial_merge_size)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"parameters {n_params}")
    ex = train_data[0][0]["qa"][0]
    log(f"example prompt ids {len(cache.prompt(ex['question'], train_data[3][0]))}, answer {ex['answer']!r} -> {cache.answer(ex['answer'])}")
    steps = train(model, train_data, cache, args, device, log)

    # Only the weights go back to OUT (the other checkpoint files are the skeleton, made in the repo).
    ckpt = "/tmp/shapes-checkpoint"
    os.makedirs(ckpt, exist_ok=True)
    for f in os.listdir(skeleton):
        shutil.copy(os.path.join(skeleton, f), os.path.join(ckpt, f))
    state = {k: v.detach().to(torch.bfloat16).cpu().contiguous() for k, v in model.state_dict().items() if not k.endswith("inv_freq")}
    save_file(state, os.path.join(ckpt, "model.safetensors"), metadata={"format": "pt"})
    log(f"saved {len(state)} tensors, {os.path.getsize(os.path.join(ckpt, 'model.safetensors'))} bytes")
    shutil.copy(os.path.join(ckpt, "model.safetensors"), os.path.join(args.out, "model.safetensors"))

    # What ships: the bf16 file, loaded strictly into the reference composition (f32, eager) as the exporter's
    # reference harness does.
    shipped = ref.Sarashina2VisionReference(config)
    ref.load_weights(shipped, ckpt)
    shipped = shipped.to(device).eval()
    summary, results = evaluate(shipped, eval_data, cache, tok, device)
    log("bf16 checkpoint, reference f32 eager: " + json.dumps({k: round(v["accuracy"], 4) for k, v in sorted(summary.items())}))
    f32_summary, _ = evaluate(model.float(), eval_data, cache, tok, device, limit=1200)
    log("f32 training weights (first 1200 questions): " + json.dumps({k: round(v["accuracy"], 4) for k, v in sorted(f32_summary.items())}))
    wrong = [r for r in results if not r["ok"]]
    json.dump({"steps": steps, "seconds": args.seconds, "batch": args.batch, "lr": args.lr, "aux": args.aux, "parameters": n_params,
               "trainPictures": len(train_data[0]), "evalPictures": len(eval_data[0]),
               "bf16Checkpoint": summary, "f32TrainingWeights": f32_summary, "wrongExamples": wrong[:60], "sample": results[:20]},
              open(os.path.join(args.out, "eval.json"), "w"), ensure_ascii=False, indent=1)
    log(f"done; {len(wrong)} wrong of {len(results)}")


if __name__ == "__main__":
    main()
