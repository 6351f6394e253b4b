"""Training data for train_shapes.py: shards written by the repository's generator (write-shapes-dataset.ts,
bundled for Node) in parallel processes, turned into pixel values by the Hugging Face Qwen2-VL image processor in a
pool of workers, and kept on the GPU as the uint8 values the processor resized to (recovered exactly from its
output: one temporal frame, un-normalised) with per-token targets for the auxiliary probe."""

import json
import os
import subprocess
import sys
import threading
import time
from multiprocessing import Pool

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import hf_reference as ref  # noqa: E402

SHAPE_CLASSES = ["circle", "square", "triangle", "star"]
COLOUR_CLASSES = ["red", "blue", "green", "yellow", "white", "black"]

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
        # "where": each object's shape class (its image tokens' t_shape value), colour and place, for the attention
        # supervision of place and colour referents (train_attention.py).
        records.append({"seed": rec["seed"], "objects": len(rec["objects"]), "qa": rec["qa"], "grid": grid, "patches": n,
                        "where": [(SHAPE_CLASSES.index(o["shape"]) + 1, o["colour"], o["position"]) for o in rec["objects"]],
                        "pictures": rec.get("pictures", "original"), "phrasings": rec.get("phrasings", "original")})
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
    if args.heldout > 0:
        # Varied pictures asked in held-out wordings (shapes-dataset.ts), never trained on.
        jobs.append(("heldout-eval", 0, args.heldout))
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
        pending.append(pool.apply_async(_process_shard, ((base, deadline, split != "train"),), callback=results.append))
    return gens, pool, pending, results, deadline
