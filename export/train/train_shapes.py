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
questions drawn with weights by kind and language (shapes_prompts.py; run 5 raised count, description and English). The loss is on the answers (the
last one with </s>; earlier answers only in the one-space form, which is what the model itself produces), plus an
auxiliary per-token probe on the image features (shape and colour under the token and its (x, y); training only,
the heads are not saved), plus attention supervision (`--attn-sup`): every shape word after the picture ("星",
"▁star", …) names one object, and one head of one decoder layer (layer 1, head 0) is taught to look from that word
at the object's image tokens (−log of the attention mass there; the head's weights are recomputed from the layer's
input exactly as the layer computes them). Without it the model found objects by place but not by shape: colour
and place of "the star" among several shapes stayed at ~50 % (runs/eval-multiturn.json); with it, ~99.5 %.
Mixed precision (bf16 autocast, f32 master weights), AdamW, warm-up then cosine decay over a wall-clock budget.

Data mix (issue 16, shapes-dataset.ts): the train split mixes original and varied pictures (any size, background,
antialiasing, blur, noise, JPEG) and original and natural wordings; `--heldout` pictures of the heldout-eval split
(varied pictures, wordings training never uses) are evaluated per kind after training.

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
import sys
import time

import numpy as np
import torch
import transformers
from safetensors.torch import save_file
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.qwen2_vl import modeling_qwen2_vl
from transformers.models.qwen2_vl.configuration_qwen2_vl import Qwen2VLVisionConfig

from shapes_data import COLOUR_CLASSES, SHAPE_CLASSES, Split, load_data
from shapes_prompts import EOS_ID, EVAL_WEIGHTS, IMAGE_TOKEN_ID, KIND_WEIGHT, LANGUAGE_WEIGHT, Prompts, check_prompts, sample_turns
from train_attention import AttentionProbe, patch_vision_attention

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import hf_reference as ref  # noqa: E402

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
            turns, qas = sample_turns(rng, rec, 3, EVAL_WEIGHTS)
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
    ap.add_argument("--eval", type=int, default=500, help="held-out pictures (eval split: original pictures and wordings)")
    ap.add_argument("--heldout", type=int, default=400,
                    help="held-out pictures of the heldout-eval split: varied pictures asked in wordings training never uses (0 = none)")
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
    ap.add_argument("--attn-referents", type=int, default=0,
                    help="1: the attention supervision also binds place and colour words to their objects (after run 5)")
    ap.add_argument("--kind-weight", type=json.loads, default=None, help='JSON overrides of shapes_prompts.KIND_WEIGHT, e.g. {"colour": 1.5}')
    ap.add_argument("--language-weight", type=json.loads, default=None, help='JSON overrides of shapes_prompts.LANGUAGE_WEIGHT, e.g. {"en": 1.5}')
    ap.add_argument("--aux", type=float, default=1.0, help="weight of the auxiliary per-token loss (0 = answers only)")
    args = ap.parse_args()
    for flag, table, given in (("--kind-weight", KIND_WEIGHT, args.kind_weight), ("--language-weight", LANGUAGE_WEIGHT, args.language_weight)):
        unknown = set(given or {}) - set(table)
        if unknown:
            ap.error(f"{flag}: unknown {', '.join(sorted(unknown))}; known: {', '.join(table)}")
    # In place: sample_turns' default weights are these dicts.
    KIND_WEIGHT.update(args.kind_weight or {})
    LANGUAGE_WEIGHT.update(args.language_weight or {})
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
    heldout_parts = [r for r in done if os.path.basename(r["base"]).startswith("heldout-eval-")]
    train_parts = [r for r in done if os.path.basename(r["base"]).startswith("train-")]
    if not eval_parts or not train_parts:
        raise RuntimeError(f"no data in time: {len(eval_parts)} eval and {len(train_parts)} train shards after {args.data_seconds} s "
                           f"(generator failures: {gens.failed})")
    train_data = Split(train_parts, info, device)
    eval_data = Split(eval_parts, info, device)
    heldout_data = Split(heldout_parts, info, device) if heldout_parts else None
    mix = {}
    for r in train_data.records:
        key = f"{r['pictures']} pictures / {r['phrasings']} wordings"
        mix[key] = mix.get(key, 0) + 1
    log(f"training mix: {mix}; held-out (varied pictures, held-out wordings): {len(heldout_data) if heldout_data else 0} pictures")
    if args.heldout > 0 and heldout_data is None:
        raise RuntimeError("the heldout-eval shard was not ready in time: raise --data-seconds")
    log(f"data: {len(train_data)} train pictures in {len(train_parts)} shards ({left} shard jobs not finished), {len(eval_data)} eval pictures; "
        f"{train_data.u8.shape[0]} train patches; uint8 recovery residual {max(train_data.residual, eval_data.residual):.4f}, "
        f"temporal frame gap {max(train_data.frame_gap, eval_data.frame_gap):.2e}; generator failures {gens.failed}")

    check_prompts(prompts, eval_data, np.random.default_rng(2), log)
    patch_vision_attention(model, eval_data, device, log)

    train_seconds = args.total_seconds - args.eval_reserve - (time.time() - t0)
    log(f"training for {train_seconds:.0f} s")
    probe = AttentionProbe(model, tok, args.attn_layer, args.attn_head, referents=args.attn_referents > 0) if args.attn_sup > 0 else None
    if probe is not None:
        log(f"attention supervision: layer {args.attn_layer} head {args.attn_head}, weight {args.attn_sup}, shape word ids {probe.word_class}"
            + (f"; place word ids {probe.place} {probe.vertical} {probe.horizontal}, colour word ids {probe.colour}" if args.attn_referents else ""))
    log(f"question weights: kind {KIND_WEIGHT}, language {LANGUAGE_WEIGHT}")
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
    # trainingData tells the accuracy tests which cases these weights were trained for (e2e/trained-model*.test.ts).
    data_tag = "natural-wordings-varied-pictures" if any(r["phrasings"] != "original" for r in train_data.records) else "original"
    save_file(state, os.path.join(ckpt, "model.safetensors"), metadata={"format": "pt", "trainingData": data_tag})
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
    heldout_summary, heldout_results, heldout_multi_summary = {}, [], {}
    if heldout_data is not None:
        heldout_summary, heldout_results = evaluate(shipped, heldout_data, eval_items(heldout_data, prompts, multi_turn=False), tok, device)
        log("HELD-OUT (varied pictures, held-out wordings), bf16 checkpoint, single turn: " + json.dumps(rounded(heldout_summary)))
        heldout_multi_summary, _ = evaluate(shipped, heldout_data, eval_items(heldout_data, prompts, multi_turn=True), tok, device)
        log("HELD-OUT, bf16 checkpoint, last of 3 turns: " + json.dumps(rounded(heldout_multi_summary)))
        per_kind = {k: round(heldout_summary[k]["accuracy"] * 100, 1) for k in KIND_WEIGHT if k in heldout_summary}
        log(f"HELD-OUT per kind (%): {per_kind}; every kind >= 90 %: {all(v >= 90 for v in per_kind.values())}")
        # The accuracy tests ask their held-out cases only of weights that met the bar here (accuracy-cases.ts):
        # the lowest per-kind held-out accuracy goes into the metadata of the file that ships.
        lowest = min(heldout_summary[k]["accuracy"] for k in KIND_WEIGHT if k in heldout_summary)
        save_file(state, os.path.join(ckpt, "model.safetensors"),
                  metadata={"format": "pt", "trainingData": data_tag, "heldoutMinKindAccuracy": f"{lowest:.4f}"})
        shutil.copy(os.path.join(ckpt, "model.safetensors"), os.path.join(args.out, "model.safetensors"))
    f32_summary, _ = evaluate(model.float(), eval_data, single[:args.f32_eval], tok, device)
    log(f"f32 training weights (first {args.f32_eval} questions): " + json.dumps(rounded(f32_summary)))
    wrong = [r for r in results if not r["ok"]]
    json.dump({"steps": steps, "trainSeconds": round(train_seconds), "batch": args.batch, "maxTurns": args.max_turns, "lr": args.lr,
               "aux": args.aux, "attentionSupervision": {"weight": args.attn_sup, "layer": args.attn_layer, "head": args.attn_head, "referents": args.attn_referents}, "kindWeight": KIND_WEIGHT, "languageWeight": LANGUAGE_WEIGHT, "parameters": n_params, "init": args.init, "trainPictures": len(train_data),
               "evalPictures": len(eval_data), "bf16Checkpoint": summary, "bf16CheckpointMultiTurn": multi_summary,
               "f32TrainingWeights": f32_summary, "trainingData": data_tag, "heldoutPictures": len(heldout_data) if heldout_data else 0,
               "heldoutBf16Checkpoint": heldout_summary, "heldoutBf16CheckpointMultiTurn": heldout_multi_summary,
               "heldoutWrongExamples": [r for r in heldout_results if not r["ok"]][:80], "wrongExamples": wrong[:80],
               "wrongMultiTurn": [r for r in multi_results if not r["ok"]][:40], "sample": results[:20]},
              open(os.path.join(args.out, "eval.json"), "w"), ensure_ascii=False, indent=1)
    log(f"done; single turn {len(wrong)} wrong of {len(results)}, multi-turn {sum(not r['ok'] for r in multi_results)} wrong of {len(multi_results)}, "
        f"held-out {sum(not r['ok'] for r in heldout_results)} wrong of {len(heldout_results)}")


if __name__ == "__main__":
    main()
