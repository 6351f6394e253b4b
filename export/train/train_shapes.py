"""Trains the small default model (issue 8) on the shapes dataset; runs on the GPU machine (PyTorch 2.11,
transformers 5.17, one H200, 16 cores, Node as /tmp/node; see export/train/README.md for the full command):

    PYTHONUNBUFFERED=1 python3 export/train/train_shapes.py OUT_DIR --init export/train/checkpoint \
        --generator bench/out/gpu-bundle/write-shapes-dataset.mjs [--total-seconds S] [--data-seconds S] ...

Data: generated here, in parallel, by the repository's own generator (shapes-dataset.ts, bundled for Node):
`--gen-procs` Node processes write shards of `--shard-size` pictures (raw RGB + JSON lines) while a pool of workers
runs the Hugging Face Qwen2-VL image processor on each finished shard. Whatever is ready after `--data-seconds` is
the training set (the generators are stopped then). Pixels are kept on the GPU as the uint8 values the processor
resized to (recovered exactly from its output: one temporal frame, un-normalised) and normalised per batch; the
held-out pictures (eval split, never trained on) keep the processor's float output as is.

Model: composed from Hugging Face classes exactly as the reference harness (export/reference/hf_reference.py)
does: Qwen2-VL vision tower + PatchMerger, nn.LayerNorm, LlamaForCausalLM; state-dict names are the checkpoint's.
For training only, the vision attention of each block runs all pictures of a batch in one padded, masked SDPA call
instead of one call per picture (the same arithmetic; checked against the Hugging Face forward at start-up, and
the original forward is kept if they differ).

Samples: conversations of 1-3 turns about one picture in the Sarashina chat template (the engine's prompt: one
image block, earlier answers rendered in the history, half of them with the leading space the component keeps),
questions drawn with weights that favour questions about one of several shapes. The loss is on the answers (the
last one with </s>; earlier answers only in the one-space form, which is what the model itself produces), plus an
auxiliary per-token probe on the image features (shape and colour under the token and its (x, y); training only,
the heads are not saved), plus attention supervision (`--attn-sup`): every shape word after the picture ("星",
"▁star", …) names one object, and one head of one decoder layer (layer 1, head 0) is taught to look from that word
at the object's image tokens (−log of the attention mass there; the head's weights are recomputed from the layer's
input exactly as the layer computes them). Without it the model found objects by place but not by shape: colour
and place of "the star" among several shapes stayed at ~50 % (runs/eval-multiturn.json); with it, ~99.5 %.
Mixed precision (bf16 autocast, f32 master weights), AdamW, warm-up then cosine decay over a wall-clock budget.

Outputs under OUT_DIR: model.safetensors (bf16; with the skeleton files it is the checkpoint), train-log.txt,
eval.json: held-out exact-match accuracy by question kind and language on all questions of every eval picture
(single turn) and on the last question of 3-turn conversations, measured on the saved bf16 weights through the
reference composition in f32 with eager attention; and on the f32 training weights for comparison.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
import types
from multiprocessing import Pool

import numpy as np
import torch
import transformers
from PIL import Image
from safetensors.torch import save_file
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama import modeling_llama
from transformers.models.qwen2_vl import modeling_qwen2_vl
from transformers.models.qwen2_vl.configuration_qwen2_vl import Qwen2VLVisionConfig

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import hf_reference as ref  # noqa: E402

IMAGE_TOKEN_ID = 14
EOS_ID = 2
PAD_ID = 3
PROC_KEYS = ["do_resize", "resample", "do_rescale", "rescale_factor", "do_normalize", "image_mean", "image_std", "do_convert_rgb",
             "min_pixels", "max_pixels", "patch_size", "temporal_patch_size", "merge_size"]
SHAPE_CLASSES = ["circle", "square", "triangle", "star"]
COLOUR_CLASSES = ["red", "blue", "green", "yellow", "white", "black"]
# How often each question kind is asked in training; referring questions (about one of several shapes) dominate.
KIND_WEIGHT = {"colour": 1.0, "position": 1.0, "shape": 1.0, "count": 0.5, "describe": 0.5}


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


# ---------------------------------------------------------------------------------------------------------------
# Data: shards from the Node generator, processed by the HF image processor in worker processes.

_PROC = None
_PROC_INFO = None


def _init_worker(kwargs, info):
    global _PROC, _PROC_INFO
    _PROC = ref.ImageProcessor(**kwargs)
    _PROC_INFO = info


def _token_targets(rec, grid, merge):
    """Auxiliary per-merged-token targets: which object covers the token's centre (shape and colour class,
    0 = background) and the token centre's (x, y) in [0, 1]."""
    _, gh, gw = grid
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
    return s.reshape(-1), c.reshape(-1), np.stack([cx.reshape(-1), cy.reshape(-1)], -1).astype(np.float32)


def _process_shard(job):
    """One finished shard → records, uint8 patches [n, 3·ps²] (one temporal frame, as resized), per-token targets,
    and for held-out shards the processor's float pixel values. None when the shard was not ready in time."""
    base, deadline, keep_float = job
    while not os.path.exists(base + ".done"):
        if time.time() > deadline:
            return None
        time.sleep(0.2)
    info = _PROC_INFO
    mean = np.asarray(info["mean"], np.float64)[None, :, None]
    std = np.asarray(info["std"], np.float64)[None, :, None]
    tps, pp, merge = info["tps"], info["ps"] * info["ps"], info["merge"]
    raw = np.fromfile(base + ".rgb", dtype=np.uint8)
    records, u8, floats, shapes, colours, xys = [], [], [], [], [], []
    residual, frame_gap = 0.0, 0.0
    with open(base + ".jsonl", encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    for rec in lines:
        w, h, off = rec["width"], rec["height"], rec["offset"]
        img = Image.frombytes("RGB", (w, h), raw[off:off + w * h * 3].tobytes())
        enc = _PROC(images=[img], return_tensors="np")
        pv = np.asarray(enc["pixel_values"], dtype=np.float32)
        grid = [int(x) for x in np.asarray(enc["image_grid_thw"]).reshape(-1)[:3]]
        n = pv.shape[0]
        frames = pv.astype(np.float64).reshape(n, 3, tps, pp)
        frame_gap = max(frame_gap, float(np.abs(frames[:, :, 0] - frames[:, :, tps - 1]).max()))
        values = (frames[:, :, 0, :] * std + mean) * 255.0
        rounded = np.clip(np.rint(values), 0, 255)
        residual = max(residual, float(np.abs(values - rounded).max()))
        u8.append(rounded.astype(np.uint8).reshape(n, 3 * pp))
        if keep_float:
            floats.append(pv)
        s, c, xy = _token_targets(rec, grid, merge)
        shapes.append(s)
        colours.append(c)
        xys.append(xy)
        records.append({"seed": rec["seed"], "objects": len(rec["objects"]), "qa": rec["qa"], "grid": grid, "patches": n})
    return {"base": base, "records": records, "u8": np.concatenate(u8), "float": np.concatenate(floats) if keep_float else None,
            "shape": np.concatenate(shapes), "colour": np.concatenate(colours), "xy": np.concatenate(xys),
            "residual": residual, "frameGap": frame_gap}


class Generators:
    """Node processes writing shards, at most `procs` at a time, in order; stop() ends the running ones by pid."""

    def __init__(self, node, bundle, out_dir, jobs, procs, log):
        self.node, self.bundle, self.out_dir, self.jobs, self.procs, self.log = node, bundle, out_dir, list(jobs), procs, log
        os.makedirs(out_dir, exist_ok=True)
        self.running = []
        self.stopped = False
        self.failed = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped and (self.jobs or self.running):
            for p in [p for p in self.running if p.poll() is not None]:
                self.running.remove(p)
                if p.returncode != 0:
                    self.failed += 1
                    err = os.path.join(self.out_dir, f"{p.args[4]}-{p.args[6]}.err")
                    self.log(f"generator exited with {p.returncode}: {p.args[2:]}: {open(err).read()[-2000:]}")
            while not self.stopped and self.jobs and len(self.running) < self.procs:
                split, start, count = self.jobs.pop(0)
                self.running.append(subprocess.Popen([self.node, self.bundle, "--shard", "--split", split, "--from", str(start),
                                                      "--count", str(count), "--out", self.out_dir],
                                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.out_dir, f"{split}-{start}.err"), "w")))
            time.sleep(0.05)

    def stop(self):
        self.stopped = True
        self.thread.join()
        for p in self.running:
            if p.poll() is None:
                p.terminate()
        for p in self.running:
            p.wait()
        return len(self.jobs) + len(self.running)


class Split:
    """Pictures of one split on the GPU: uint8 patches (and float pixel values for held-out pictures), patch and
    token offsets, per-token auxiliary targets."""

    def __init__(self, parts, info, device):
        parts = sorted(parts, key=lambda p: p["records"][0]["seed"])
        self.records = [r for p in parts for r in p["records"]]
        self.grids = [r["grid"] for r in self.records]
        self.poff = np.cumsum([0] + [r["patches"] for r in self.records])
        merge = info["merge"]
        self.toff = np.cumsum([0] + [int(np.prod(g)) // (merge * merge) for g in self.grids])
        self.u8 = torch.from_numpy(np.concatenate([p["u8"] for p in parts])).to(device)
        self.float = torch.from_numpy(np.concatenate([p["float"] for p in parts])).to(device) if parts[0]["float"] is not None else None
        self.t_shape_np = np.concatenate([p["shape"] for p in parts])
        self.t_shape = torch.from_numpy(self.t_shape_np).to(device)
        self.t_colour = torch.from_numpy(np.concatenate([p["colour"] for p in parts])).to(device)
        self.t_xy = torch.from_numpy(np.concatenate([p["xy"] for p in parts])).to(device)
        self.residual = max(p["residual"] for p in parts)
        self.frame_gap = max(p["frameGap"] for p in parts)
        self.device = device
        self.tps, self.pp = info["tps"], info["ps"] * info["ps"]
        self.mean = torch.tensor(info["mean"], dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(info["std"], dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.rescale = float(info["rescale"])

    def __len__(self):
        return len(self.records)

    def rows(self, offsets, idx):
        return torch.from_numpy(np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in idx])).to(self.device)

    def pixels(self, idx, exact=False):
        """Pixel values of pictures idx in the processor's layout [patches, 3·tps·ps²]."""
        rows = self.rows(self.poff, idx)
        grid = torch.tensor([self.grids[i] for i in idx], device=self.device)
        if exact and self.float is not None:
            return self.float[rows], grid
        x = self.u8[rows].float().view(-1, 3, 1, self.pp) * self.rescale
        x = ((x - self.mean) / self.std).expand(-1, 3, self.tps, self.pp)
        return x.reshape(x.shape[0], -1).contiguous(), grid


def load_data(args, info, proc_kwargs, log):
    """Starts the generators and the processing pool; returns (train Split parts, eval parts) once the data
    deadline passes or everything is done. The pool must exist before CUDA is initialised (fork)."""
    os.makedirs(args.shards, exist_ok=True)
    jobs = [("eval", 0, args.eval)]
    for start in range(0, args.max_train, args.shard_size):
        jobs.append(("train", start, min(args.shard_size, args.max_train - start)))
    # The pool forks before the generator thread starts.
    pool = Pool(args.workers, initializer=_init_worker, initargs=(proc_kwargs, info))
    gens = Generators(args.node, args.generator, args.shards, jobs, args.gen_procs, log)
    deadline = time.time() + args.data_seconds
    results = []
    pending = []
    for split, start, _ in jobs:
        base = os.path.join(args.shards, f"{split}-{start}")
        pending.append(pool.apply_async(_process_shard, ((base, deadline, split == "eval"),), callback=results.append))
    return gens, pool, pending, results, deadline


# ---------------------------------------------------------------------------------------------------------------
# Faster vision attention for training (same arithmetic as the Hugging Face forward).

class _Packing:
    def __init__(self):
        self.key = None
        self.value = None


def _packing(holder, cu_seqlens):
    if holder.key is not cu_seqlens:
        cu = [int(x) for x in cu_seqlens.tolist()]
        lengths = [b - a for a, b in zip(cu[:-1], cu[1:])]
        longest = max(lengths)
        flat = np.concatenate([np.arange(n) + b * longest for b, n in enumerate(lengths)])
        flat = torch.from_numpy(flat).to(cu_seqlens.device)
        mask = torch.zeros(len(lengths) * longest, dtype=torch.bool, device=cu_seqlens.device)
        mask[flat] = True
        holder.key = cu_seqlens  # holding the tensor keeps its identity unique while cached
        holder.value = (len(lengths), longest, flat, mask.view(len(lengths), 1, 1, longest))
    return holder.value


def _batched_vision_attention(holder):
    def forward(self, hidden_states, cu_seqlens, rotary_pos_emb=None, position_embeddings=None, **kwargs):
        seq = hidden_states.shape[0]
        q, k, v = self.qkv(hidden_states).reshape(seq, 3, self.num_heads, -1).permute(1, 0, 2, 3).unbind(0)
        if position_embeddings is None:
            emb = torch.cat((rotary_pos_emb, rotary_pos_emb), dim=-1)
            position_embeddings = (emb.cos(), emb.sin())
        cos, sin = position_embeddings
        q, k = modeling_qwen2_vl.apply_rotary_pos_emb_vision(q, k, cos, sin)
        q, k = q.to(v.dtype), k.to(v.dtype)
        batch, longest, flat, mask = _packing(holder, cu_seqlens)
        heads, dim = v.shape[1], v.shape[2]

        def pack(t):
            return t.new_zeros(batch * longest, heads, dim).index_copy(0, flat, t).view(batch, longest, heads, dim).transpose(1, 2)

        out = nn.functional.scaled_dot_product_attention(pack(q), pack(k), pack(v), attn_mask=mask)
        out = out.transpose(1, 2).reshape(batch * longest, heads * dim).index_select(0, flat)
        return self.proj(out)

    return forward


def patch_vision_attention(model, data, device, log):
    """Replaces each vision block's attention forward (this model instance only) by the batched one if it gives
    the same features as the Hugging Face forward on a few held-out pictures; returns whether it did."""
    blocks = list(model.visual.blocks)
    idx = list(range(min(12, len(data))))
    pv, grid = data.pixels(idx, exact=True)
    model.eval()
    try:
        with torch.no_grad():
            want = model.merged_features(pv, grid)
            holder = _Packing()
            for blk in blocks:
                blk.attn.forward = types.MethodType(_batched_vision_attention(holder), blk.attn)
            got = model.merged_features(pv, grid)
        diff = float((got - want).abs().max() / want.abs().max().clamp_min(1e-6))
        ok = diff < 2e-3
        if ok:
            # The training step as train() runs it: bf16 autocast, backward through the packed attention.
            model.train()
            pv, grid = data.pixels(idx)
            with torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
                loss = model.norm(model.merged_features(pv, grid)).float().square().mean()
            loss.backward()
            model.zero_grad(set_to_none=True)
        log(f"batched vision attention: relative max difference {diff:.2e} vs Hugging Face -> {'used' if ok else 'NOT used'}")
    except Exception as e:  # noqa: BLE001 - any failure means: keep the Hugging Face forward
        log(f"batched vision attention failed ({type(e).__name__}: {e}); keeping the Hugging Face forward")
        ok = False
    if not ok:
        for blk in blocks:
            blk.attn.__dict__.pop("forward", None)
    model.train()
    return ok


# ---------------------------------------------------------------------------------------------------------------
# Prompts: the engine's token sequence, built from cached pieces (checked against tokenizing the whole text).

class Prompts:
    def __init__(self, tok, template, merge):
        self.tok, self.template, self.merge = tok, template, merge
        self.first, self.answers, self.follow = {}, {}, {}

    def encode(self, text):
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def first_ids(self, question):
        """Prompt ids for a first user turn, with one <|file|> (expanded by expand())."""
        if question not in self.first:
            rendered = ref.build_prompt(self.tok, self.template, question, [], self.merge)[0]
            ids = self.encode(rendered)
            if ids.count(IMAGE_TOKEN_ID) != 1:
                raise RuntimeError(f"prompt has {ids.count(IMAGE_TOKEN_ID)} <|file|> tokens: {rendered!r}")
            self.first[question] = ids
        return self.first[question]

    def expand(self, ids, grid):
        at = ids.index(IMAGE_TOKEN_ID)
        return ids[:at] + [IMAGE_TOKEN_ID] * (int(np.prod(grid)) // (self.merge * self.merge)) + ids[at + 1:]

    def answer_ids(self, text):
        if text not in self.answers:
            self.answers[text] = self.encode(text)
        return self.answers[text]

    def follow_ids(self, question):
        """Ids of the text between an answer and the next answer: the next user turn and the assistant cue."""
        if question not in self.follow:
            self.follow[question] = self.encode("\n### Human: " + question + "\n### Assistant:")
        return self.follow[question]

    def conversation(self, turns, grid, history_spaces, final_eos=True):
        """ids and labels for `turns` [(question, answer)]: earlier answers as the chat history renders them
        (history_spaces[j] = 1 or 2 spaces after "Assistant:"), the last answer as generated: " answer</s>".
        With final_eos False the sequence ends at the prompt of the last question (for evaluation)."""
        ids = self.expand(self.first_ids(turns[0][0]), grid)
        labels = [-100] * len(ids)
        for j in range(len(turns) - 1):
            a = self.answer_ids(" " * history_spaces[j] + turns[j][1])
            ids = ids + a
            labels = labels + (a if history_spaces[j] == 1 else [-100] * len(a))
            f = self.follow_ids(turns[j + 1][0])
            ids = ids + f
            labels = labels + [-100] * len(f)
        if final_eos:
            a = self.answer_ids(" " + turns[-1][1]) + [EOS_ID]
            ids = ids + a
            labels = labels + a
        return ids, labels

    def full_text_ids(self, turns, grid, history_spaces):
        """The same prompt tokenized as one rendered text (what the engine does), for the start-up check."""
        messages = []
        for j, (q, a) in enumerate(turns):
            messages.append({"role": "user", "content": q})
            if j < len(turns) - 1:
                messages.append({"role": "assistant", "content": " " * (history_spaces[j] - 1) + a})
        text = self.tok.apply_chat_template(messages, chat_template=self.template, tokenize=False, add_generation_prompt=True)
        block = "<|prefix|>" + "<|file|>" * (int(np.prod(grid)) // (self.merge * self.merge)) + "<|suffix|>"
        return self.encode(text.replace(ref.IMAGE_BLOCK, block, 1))


def qa_weights(record):
    w = np.array([KIND_WEIGHT[qa["kind"]] for qa in record["qa"]], dtype=np.float64)
    return w / w.sum()


def sample_turns(rng, record, k):
    qa = record["qa"]
    pick = rng.choice(len(qa), size=min(k, len(qa)), replace=False, p=qa_weights(record))
    return [(qa[i]["question"], qa[i]["answer"]) for i in pick], [qa[i] for i in pick]


def check_prompts(prompts, data, rng, log):
    """Piecewise ids must equal tokenizing the whole rendered conversation; logs the share that does."""
    same, total, example = 0, 0, None
    for i in range(min(300, len(data))):
        rec = data.records[i]
        turns, _ = sample_turns(rng, rec, 1 + i % 3)
        spaces = [1 + (j + i) % 2 for j in range(len(turns) - 1)]
        ids, _ = prompts.conversation(turns, rec["grid"], spaces, final_eos=False)
        full = prompts.full_text_ids(turns, rec["grid"], spaces)
        total += 1
        same += int(ids == full)
        if ids != full and example is None:
            example = (turns, ids[-40:], full[-40:])
    log(f"prompt check: {same}/{total} piecewise prompts equal the whole-text tokenization" + (f"; first difference {example}" if example else ""))
    return same == total


# ---------------------------------------------------------------------------------------------------------------
# Attention supervision: a shape word ("星", "▁star", …) anywhere after the picture names exactly one object (shapes
# are distinct within a picture), so one head of one decoder layer is taught to look from that word at the object's
# image tokens. Without it the model learned to find an object by its place (shape/place questions, descriptions)
# but not by its shape (colour and place of "the star" stayed at ~50 % over 9,000 steps).

SHAPE_WORDS = {"丸": "circle", "四角": "square", "三角": "triangle", "星": "star",
               "▁circle": "circle", "▁square": "square", "▁triangle": "triangle", "▁star": "star"}


class AttentionProbe:
    """Recomputes one head's attention weights of one decoder layer from that layer's input (captured by a
    pre-hook, so gradients flow), for selected query positions: the same q/k projections, rotary embedding,
    scaling and causal mask as the layer itself."""

    def __init__(self, model, tok, layer, head):
        self.attn = model.llm.model.layers[layer].self_attn
        self.head = head
        self.word_class = {}
        for piece, shape in SHAPE_WORDS.items():
            tid = tok.convert_tokens_to_ids(piece)
            if isinstance(tid, int) and tid >= 0 and tid != tok.unk_token_id:
                self.word_class[tid] = SHAPE_CLASSES.index(shape) + 1
        self.captured = None
        self.handle = self.attn.register_forward_pre_hook(self._hook, with_kwargs=True)

    def _hook(self, module, args, kwargs):
        hidden = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
        self.captured = (hidden, kwargs.get("position_embeddings"))

    def targets(self, seqs, idx, data):
        """(batch rows, query positions, [n, L] bool mask of the named object's image tokens) for every shape
        word after the image block whose object has tokens."""
        rows, cols, spans = [], [], []
        for r, (seq, i) in enumerate(zip(seqs, idx)):
            start = seq.index(IMAGE_TOKEN_ID)
            shapes = data.t_shape_np[data.toff[i]:data.toff[i + 1]]
            for w in range(start + len(shapes), len(seq)):
                c = self.word_class.get(seq[w])
                if c is None:
                    continue
                hit = np.nonzero(shapes == c)[0]
                if len(hit):
                    rows.append(r)
                    cols.append(w)
                    spans.append(start + hit)
        return rows, cols, spans

    def weights(self, rows, cols):
        """[n, L] attention weights of the head from positions (rows, cols) over the sequence."""
        hidden, (cos, sin) = self.captured
        d = self.attn.head_dim
        r = torch.tensor(rows, device=hidden.device)
        c = torch.tensor(cols, device=hidden.device)
        q = self.attn.q_proj(hidden[r, c]).view(len(rows), -1, d)[:, self.head].float()
        kv_head = self.head // (self.attn.config.num_attention_heads // self.attn.config.num_key_value_heads)
        k = self.attn.k_proj(hidden).view(hidden.shape[0], hidden.shape[1], -1, d)[:, :, kv_head].float()
        cos, sin = cos[0].float(), sin[0].float()
        q = q * cos[c] + modeling_llama.rotate_half(q) * sin[c]
        k = k * cos[None] + modeling_llama.rotate_half(k) * sin[None]
        scores = torch.einsum("nd,nld->nl", q, k[r]) * self.attn.scaling
        future = torch.arange(hidden.shape[1], device=hidden.device)[None] > c[:, None]
        return torch.softmax(scores.masked_fill(future, float("-inf")), -1)

    def loss(self, seqs, idx, data):
        """Mean −log(attention mass on the named object); None when the batch names no shape."""
        rows, cols, spans = self.targets(seqs, idx, data)
        if not rows:
            return None, None
        a = self.weights(rows, cols)
        mask = torch.zeros_like(a, dtype=torch.bool)
        for n, span in enumerate(spans):
            mask[n, torch.from_numpy(span).to(a.device)] = True
        mass = (a * mask).sum(-1)
        return -((mass + 1e-4).log()).mean(), mass.mean().detach()


# ---------------------------------------------------------------------------------------------------------------
# Training and evaluation.

def train(model, data, prompts, args, device, log, train_seconds, probe):
    aux = nn.Linear(model.tcfg.hidden_size, 1 + len(SHAPE_CLASSES) + 1 + len(COLOUR_CLASSES) + 2).to(device)
    opt = torch.optim.AdamW(list(model.parameters()) + list(aux.parameters()), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    rng = np.random.default_rng(0)
    # Pictures with several shapes are where the model has to pick the shape a question names: draw them twice as often.
    p = np.array([0.5 if r["objects"] == 1 else 1.0 for r in data.records])
    p /= p.sum()
    start = time.time()
    step = 0
    losses, aux_acc, masses = [], [], []
    model.train()
    while True:
        elapsed = time.time() - start
        if elapsed > train_seconds:
            break
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * elapsed / train_seconds)))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = rng.choice(len(data), size=args.batch, p=p)
        seqs, labels = [], []
        for i in idx:
            rec = data.records[i]
            turns, _ = sample_turns(rng, rec, int(rng.integers(1, args.max_turns + 1)))
            spaces = [int(rng.integers(1, 3)) for _ in range(len(turns) - 1)]
            s, l = prompts.conversation(turns, rec["grid"], spaces)
            seqs.append(s)
            labels.append(l)
        length = max(len(s) for s in seqs)
        ids = np.full((len(seqs), length), PAD_ID, dtype=np.int64)
        lab = np.full((len(seqs), length), -100, dtype=np.int64)
        for r, (s, l) in enumerate(zip(seqs, labels)):
            ids[r, :len(s)] = s
            lab[r, :len(l)] = l
        ids, lab = torch.from_numpy(ids).to(device), torch.from_numpy(lab).to(device)
        pv, grid = data.pixels(idx)
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
            feats = model.norm(model.merged_features(pv, grid))
            emb = model.embeddings(ids, feats)
            logits = model.logits(emb).float()
        loss = nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), lab[:, 1:].reshape(-1), ignore_index=-100)
        if args.aux > 0:
            sel = data.rows(data.toff, idx)
            pred = aux(feats.float())
            ns = 1 + len(SHAPE_CLASSES)
            ps, pc, pxy = pred[:, :ns], pred[:, ns:ns + 1 + len(COLOUR_CLASSES)], pred[:, -2:]
            t_shape = data.t_shape[sel]
            aux_loss = (nn.functional.cross_entropy(ps, t_shape) + nn.functional.cross_entropy(pc, data.t_colour[sel])
                        + 4 * nn.functional.mse_loss(pxy, data.t_xy[sel]))
            loss = loss + args.aux * aux_loss
            fg = t_shape > 0
            aux_acc.append(torch.stack([(ps.argmax(-1) == t_shape)[fg].float().mean(), (pc.argmax(-1) == data.t_colour[sel])[fg].float().mean(),
                                        (pxy - data.t_xy[sel]).abs().mean()]).detach())
        if probe is not None:
            att_loss, mass = probe.loss(seqs, idx, data)
            if att_loss is not None:
                loss = loss + args.attn_sup * att_loss
                masses.append(mass)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.detach())
        step += 1
        if step % 250 == 0:
            a = torch.stack(aux_acc[-250:]).mean(0).tolist() if aux_acc else []
            log(f"step {step} t={elapsed:.0f}s lr={lr:.2e} loss={float(torch.stack(losses[-250:]).mean()):.4f} "
                f"aux(shape acc, colour acc, xy err)={[round(v, 3) for v in a]}"
                + (f" attention on the named shape={float(torch.stack(masses[-250:]).mean()):.3f}" if masses else ""))
    log(f"trained {step} steps in {time.time() - start:.0f}s, final loss {float(torch.stack(losses[-100:]).mean()):.4f}")
    return step


@torch.no_grad()
def evaluate(model, data, items, tok, device, max_new=48, batch=96):
    """Greedy answers to items [(picture index, prompt ids, qa)] (no KV cache; right padding is invisible to
    earlier positions under the causal mask)."""
    model.eval()
    results = []
    embed = model.llm.get_input_embeddings()
    for b in range(0, len(items), batch):
        chunk = items[b:b + batch]
        idx = [i for i, _, _ in chunk]
        lens = [len(p) for _, p, _ in chunk]
        total = max(lens) + max_new
        ids = torch.full((len(chunk), total), PAD_ID, dtype=torch.long)
        for r, (_, p, _) in enumerate(chunk):
            ids[r, :len(p)] = torch.tensor(p)
        ids = ids.to(device)
        pv, grid = data.pixels(idx, exact=True)
        feats = model.norm(model.merged_features(pv, grid))
        emb = model.embeddings(ids, feats.to(torch.float32))
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
        for (i, _, qa), gen in zip(chunk, out):
            text = tok.decode([t for t in gen if t != EOS_ID], skip_special_tokens=True).strip()
            results.append({"kind": qa["kind"], "language": qa["language"], "objects": data.records[i]["objects"], "question": qa["question"],
                            "expected": qa["answer"], "got": text, "ok": text == qa["answer"], "ended": bool(gen and gen[-1] == EOS_ID),
                            "seed": data.records[i]["seed"]})
    summary = {}
    for r in results:
        shapes = "one shape" if r["objects"] == 1 else "several shapes"
        for key in (f"{r['kind']}/{r['language']}", r["kind"], f"{r['kind']}/{shapes}", "all"):
            s = summary.setdefault(key, {"n": 0, "correct": 0})
            s["n"] += 1
            s["correct"] += int(r["ok"])
    for s in summary.values():
        s["accuracy"] = s["correct"] / s["n"]
    return summary, results


def eval_items(data, prompts, multi_turn):
    """Single turn: every question of every held-out picture. Multi-turn: per picture one 3-turn conversation
    (ground-truth history, two spaces after "Assistant:" as the component renders its answers), the last
    question scored."""
    items = []
    rng = np.random.default_rng(1)
    for i, rec in enumerate(data.records):
        if not multi_turn:
            for qa in rec["qa"]:
                items.append((i, prompts.expand(prompts.first_ids(qa["question"]), rec["grid"]), qa))
        else:
            turns, qas = sample_turns(rng, rec, 3)
            ids, _ = prompts.conversation(turns, rec["grid"], [2] * (len(turns) - 1), final_eos=False)
            items.append((i, ids, qas[-1]))
    return items


def rounded(summary):
    return {k: round(v["accuracy"], 4) for k, v in sorted(summary.items())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--skeleton", default="export/train/checkpoint", help="folder with the checkpoint's non-weight files")
    ap.add_argument("--init", help="folder with a model.safetensors to continue training from")
    ap.add_argument("--generator", default="bench/out/gpu-bundle/write-shapes-dataset.mjs")
    ap.add_argument("--node", default="/tmp/node")
    ap.add_argument("--shards", default="/tmp/shapes-shards")
    ap.add_argument("--max-train", type=int, default=160000, help="training pictures to generate at most")
    ap.add_argument("--eval", type=int, default=500, help="held-out pictures (eval split)")
    ap.add_argument("--shard-size", type=int, default=2000)
    ap.add_argument("--gen-procs", type=int, default=14)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--data-seconds", type=float, default=85, help="stop generating after this long; train on what is ready")
    ap.add_argument("--total-seconds", type=float, default=530, help="wall-clock budget of the whole script")
    ap.add_argument("--eval-reserve", type=float, default=70, help="seconds kept for saving and evaluation")
    ap.add_argument("--f32-eval", type=int, default=1200, help="held-out questions also asked of the f32 training weights")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--max-turns", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--device", default="cuda", help="cpu for a local smoke test")
    ap.add_argument("--attn-sup", type=float, default=0.3, help="weight of the attention supervision (0 = off)")
    ap.add_argument("--attn-layer", type=int, default=1)
    ap.add_argument("--attn-head", type=int, default=0)
    ap.add_argument("--aux", type=float, default=1.0, help="weight of the auxiliary per-token loss (0 = answers only)")
    args = ap.parse_args()
    t0 = time.time()
    os.makedirs(args.out, exist_ok=True)
    log_file = open(os.path.join(args.out, "train-log.txt"), "w")

    def log(msg):
        line = f"[{time.time() - t0:6.1f}s] {msg}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    config = json.load(open(os.path.join(args.skeleton, "config.json")))
    pre = json.load(open(os.path.join(args.skeleton, "preprocessor_config.json")))
    proc_kwargs = {k: pre[k] for k in PROC_KEYS if k in pre}
    info = {"mean": pre["image_mean"], "std": pre["image_std"], "rescale": pre["rescale_factor"], "tps": pre["temporal_patch_size"],
            "ps": pre["patch_size"], "merge": pre["merge_size"]}
    log(f"torch {torch.__version__} transformers {transformers.__version__}; {os.cpu_count()} cpus; args {vars(args)}")
    gens, pool, pending, results, deadline = load_data(args, info, proc_kwargs, log)

    # While the data is made: the model on the GPU.
    torch.manual_seed(0)
    device = args.device
    torch.backends.cuda.matmul.allow_tf32 = True
    log(f"device {torch.cuda.get_device_name(0) if device == 'cuda' else device}")
    tok = transformers.PreTrainedTokenizerFast.from_pretrained(args.skeleton)
    template = json.load(open(os.path.join(args.skeleton, "chat_template.json")))["chat_template"]
    model = TrainModel(config, "sdpa").to(device)
    if args.init:
        log(f"continuing from {args.init}: {ref.load_weights(model, args.init)}")
    n_params = sum(p.numel() for p in model.parameters())
    log(f"parameters {n_params}")
    prompts = Prompts(tok, template, model.vcfg.spatial_merge_size)

    while time.time() < deadline and not all(p.ready() for p in pending):
        time.sleep(0.5)
    left = gens.stop()
    pool.terminate()
    pool.join()
    done = [r for r in list(results) if r is not None]
    eval_parts = [r for r in done if os.path.basename(r["base"]).startswith("eval-")]
    train_parts = [r for r in done if os.path.basename(r["base"]).startswith("train-")]
    if not eval_parts or not train_parts:
        raise RuntimeError(f"no data in time: {len(eval_parts)} eval and {len(train_parts)} train shards after {args.data_seconds} s "
                           f"(generator failures: {gens.failed})")
    train_data = Split(train_parts, info, device)
    eval_data = Split(eval_parts, info, device)
    log(f"data: {len(train_data)} train pictures in {len(train_parts)} shards ({left} shard jobs not finished), {len(eval_data)} eval pictures; "
        f"{train_data.u8.shape[0]} train patches; uint8 recovery residual {max(train_data.residual, eval_data.residual):.4f}, "
        f"temporal frame gap {max(train_data.frame_gap, eval_data.frame_gap):.2e}; generator failures {gens.failed}")

    check_prompts(prompts, eval_data, np.random.default_rng(2), log)
    patch_vision_attention(model, eval_data, device, log)

    train_seconds = args.total_seconds - args.eval_reserve - (time.time() - t0)
    log(f"training for {train_seconds:.0f} s")
    probe = AttentionProbe(model, tok, args.attn_layer, args.attn_head) if args.attn_sup > 0 else None
    if probe is not None:
        log(f"attention supervision: layer {args.attn_layer} head {args.attn_head}, weight {args.attn_sup}, shape word ids {probe.word_class}")
    steps = train(model, train_data, prompts, args, device, log, train_seconds, probe)
    if probe is not None:
        probe.handle.remove()

    # Only the weights go back to OUT (the other checkpoint files are the skeleton, made in the repo).
    ckpt = "/tmp/shapes-checkpoint"
    os.makedirs(ckpt, exist_ok=True)
    for f in os.listdir(args.skeleton):
        if f != "model.safetensors":
            shutil.copy(os.path.join(args.skeleton, f), os.path.join(ckpt, f))
    state = {k: v.detach().to(torch.bfloat16).cpu().contiguous() for k, v in model.state_dict().items() if not k.endswith("inv_freq")}
    save_file(state, os.path.join(ckpt, "model.safetensors"), metadata={"format": "pt"})
    shutil.copy(os.path.join(ckpt, "model.safetensors"), os.path.join(args.out, "model.safetensors"))
    log(f"saved {len(state)} tensors, {os.path.getsize(os.path.join(ckpt, 'model.safetensors'))} bytes")

    # What ships: the bf16 file, loaded strictly into the reference composition (f32, eager) as the exporter's
    # reference harness does.
    shipped = ref.Sarashina2VisionReference(config)
    ref.load_weights(shipped, ckpt)
    shipped = shipped.to(device).eval()
    single = eval_items(eval_data, prompts, multi_turn=False)
    summary, results = evaluate(shipped, eval_data, single, tok, device)
    log("bf16 checkpoint, reference f32 eager, single turn: " + json.dumps(rounded(summary)))
    multi = eval_items(eval_data, prompts, multi_turn=True)
    multi_summary, multi_results = evaluate(shipped, eval_data, multi, tok, device)
    log("bf16 checkpoint, reference f32 eager, last of 3 turns: " + json.dumps(rounded(multi_summary)))
    f32_summary, _ = evaluate(model.float(), eval_data, single[:args.f32_eval], tok, device)
    log(f"f32 training weights (first {args.f32_eval} questions): " + json.dumps(rounded(f32_summary)))
    wrong = [r for r in results if not r["ok"]]
    json.dump({"steps": steps, "trainSeconds": round(train_seconds), "batch": args.batch, "maxTurns": args.max_turns, "lr": args.lr,
               "aux": args.aux, "attentionSupervision": {"weight": args.attn_sup, "layer": args.attn_layer, "head": args.attn_head}, "kindWeight": KIND_WEIGHT, "parameters": n_params, "init": args.init, "trainPictures": len(train_data),
               "evalPictures": len(eval_data), "bf16Checkpoint": summary, "bf16CheckpointMultiTurn": multi_summary,
               "f32TrainingWeights": f32_summary, "wrongExamples": wrong[:80],
               "wrongMultiTurn": [r for r in multi_results if not r["ok"]][:40], "sample": results[:20]},
              open(os.path.join(args.out, "eval.json"), "w"), ensure_ascii=False, indent=1)
    log(f"done; single turn {len(wrong)} wrong of {len(results)}, multi-turn {sum(not r['ok'] for r in multi_results)} wrong of {len(multi_results)}")


if __name__ == "__main__":
    main()
