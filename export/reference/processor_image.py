"""Parity fixtures for the TypeScript image processor (src/processor/image/).

Runs on the GPU machine (transformers 5.17, Pillow, numpy, scikit-image; no internet):

    PYTHONUNBUFFERED=1 python3 export/reference/processor_image.py   # writes under $OUT/processor-image/
    python3 export/reference/processor_image.py --bench IMAGE          # HF timing for bench/processor-image.bench.ts

Copy $OUT/processor-image/ to export/reference/fixtures/processor-image/ and commit it.

What it writes:
- inputs/*.png, *.jpg: the test images (scikit-image photos and generated edge cases).
- cases.json: one entry per processor call: the kwargs given to transformers' PIL image processor
  (Qwen2VLImageProcessorPil), the same settings in our camelCase spec, the grids, the token counts,
  the output shape, the sha256 of the float32 pixel_values and where the expected values are.
- expected/<case>.codes.gz: the expected pixel_values, losslessly and compactly. Every value of
  channel c is lut[c][code] for a uint8 code (after the uint8 resize, rescale/normalize is a per-channel
  function of one byte); the script checks that lut[c][codes] reproduces Hugging Face's array bit for bit.
  A case where that does not hold stores raw float32 in expected/<case>.f32.gz instead.
- resize/*.png: Pillow's Image.resize of small RGB images with every filter, up and down.
- smart-resize.json: transformers' smart_resize on many sizes and budgets (results or errors).
- pil-facts.json: versions and how Pillow maps 16-bit PNGs to RGB.
"""

import gzip
import hashlib
import inspect
import io
import json
import os
import struct
import zlib

import numpy as np
import PIL
from PIL import Image

import transformers
from transformers.models.qwen2_vl import image_processing_qwen2_vl as ipq

try:
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil as Processor
except ImportError:  # older layout: the slow processor is the PIL one
    from transformers import Qwen2VLImageProcessor as Processor

OUT = os.environ.get("OUT", "out")
ROOT = os.path.join(OUT, "processor-image")
INPUTS = os.path.join(ROOT, "inputs")
EXPECTED = os.path.join(ROOT, "expected")
RESIZE = os.path.join(ROOT, "resize")
for d in (INPUTS, EXPECTED, RESIZE):
    os.makedirs(d, exist_ok=True)

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
FILTERS = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}
rng = np.random.default_rng(20261126)


def dump_sources():
    """Save the code the fixtures depend on, so the facts can be read without the machine."""
    from transformers import image_transforms as it
    from transformers import image_processing_backends as ipb

    parts = [
        f"transformers {transformers.__version__}, Pillow {PIL.__version__}, numpy {np.__version__}",
        f"processor class: {Processor.__module__}.{Processor.__name__}",
    ]
    for obj in (ipq.smart_resize, Processor, it.convert_to_rgb, it.resize, it.to_pil_image, it.rescale,
                it.normalize, ipb.PilBackend.process_image, ipb.PilBackend.resize):
        try:
            parts.append(inspect.getsource(obj))
        except (TypeError, OSError) as e:
            parts.append(f"# no source for {obj}: {e}")
    with open(os.path.join(OUT, "source-dump.txt"), "w") as f:
        f.write("\n\n".join(parts))


# ---------------------------------------------------------------- PNG writer for 16-bit colour
def write_png16(path, arr, color_type):
    """PIL cannot save 16-bit RGB/RGBA/LA PNGs; write them by hand (big-endian samples, filter 0)."""
    h, w = arr.shape[:2]
    data = arr.astype(">u2").reshape(h, -1).tobytes()
    stride = len(data) // h
    raw = b"".join(b"\x00" + data[y * stride:(y + 1) * stride] for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------- inputs
def smooth(h, w, seed):
    """A smooth colour field (compresses well; still exercises every filter tap)."""
    r = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for c in range(3):
        fy, fx, ph = r.uniform(0.005, 0.05), r.uniform(0.005, 0.05), r.uniform(0, 6.28)
        chans.append(127.5 + 120 * np.sin(fy * yy + ph) * np.cos(fx * xx + 2 * ph) + r.uniform(-3, 3, (h, w)))
    return np.clip(np.stack(chans, -1), 0, 255).astype(np.uint8)


def make_inputs():
    from skimage import data

    files = {}

    def save(name, img, **kw):
        path = os.path.join(INPUTS, name)
        img.save(path, **kw)
        files[name] = path

    astronaut, coffee, chelsea, camera = data.astronaut(), data.coffee(), data.chelsea(), data.camera()
    try:
        rocket = data.rocket()
    except Exception as e:  # not bundled in every scikit-image build
        print(f"rocket unavailable: {e}")
        rocket = np.ascontiguousarray(coffee[::-1, ::-1])
    save("astronaut.png", Image.fromarray(astronaut))
    save("coffee.png", Image.fromarray(coffee))
    save("chelsea.png", Image.fromarray(chelsea))
    save("rocket.png", Image.fromarray(rocket))
    save("camera-gray.png", Image.fromarray(camera))  # mode L
    save("tiny-12x30.png", Image.fromarray(rng.integers(0, 256, (12, 30, 3), dtype=np.uint8)))
    # 4000x3000: a small photo blown up with NEAREST, so the PNG stays small.
    base = Image.fromarray(chelsea).resize((400, 300), Image.Resampling.BICUBIC)
    save("huge-4000x3000.png", base.resize((4000, 3000), Image.Resampling.NEAREST))
    save("wide-16x3000.png", Image.fromarray(smooth(16, 3000, 1)))
    save("tall-2900x15.png", Image.fromarray(smooth(2900, 15, 2)))
    save("odd14-630x854.png", Image.fromarray(smooth(630, 854, 3)))
    save("odd14-434x294.png", Image.fromarray(smooth(434, 294, 4)))
    save("odd14-322x462.png", Image.fromarray(smooth(322, 462, 5)))
    # Alpha: arbitrary colours under alpha 0 show whether alpha is dropped or composited.
    yy, xx = np.mgrid[0:512, 0:512]
    alpha = ((xx + yy) % 256).astype(np.uint8)
    save("astronaut-rgba.png", Image.fromarray(np.dstack([astronaut, alpha])))
    save("camera-la.png", Image.fromarray(np.dstack([camera, alpha])))
    pal = Image.fromarray(coffee).quantize(64)
    save("coffee-palette.png", pal)
    save("coffee-palette-trns.png", pal, transparency=0)
    save("camera-bilevel.png", Image.fromarray(camera).convert("1"))
    # 16-bit: left half small values (< 256), right half spans the full range.
    # 16-bit inputs are 256x256 crops (small files); the low byte is a pattern, not noise.
    g16 = camera.astype(np.uint16) * 257
    g16[:, :256] = camera[:, :256]
    g16[:64, :] = (xx[:64, :] * 128 + yy[:64, :]).astype(np.uint16)
    g16 = np.ascontiguousarray(g16[128:384, 128:384])
    save("camera-gray16.png", Image.fromarray(g16))  # PIL writes I;16 as 16-bit grey
    low = ((xx * 3 + yy * 5) % 256).astype(np.uint16)[:256, :256, None]
    rgb16 = astronaut[:256, 128:384].astype(np.uint16) * 256 + low
    p = os.path.join(INPUTS, "astronaut-rgb16.png"); write_png16(p, rgb16, 2); files["astronaut-rgb16.png"] = p
    a16 = alpha[:256, :256].astype(np.uint16) * 257
    rgba16 = np.dstack([rgb16, a16])
    p = os.path.join(INPUTS, "astronaut-rgba16.png"); write_png16(p, rgba16, 6); files["astronaut-rgba16.png"] = p
    la16 = np.dstack([g16, a16])
    p = os.path.join(INPUTS, "camera-la16.png"); write_png16(p, la16, 4); files["camera-la16.png"] = p
    # JPEG: decoders differ (IDCT, chroma upsampling), so it is checked loosely; keep PIL's decode.
    save("chelsea.jpg", Image.fromarray(chelsea), quality=90)
    Image.open(files["chelsea.jpg"]).convert("RGB").save(os.path.join(EXPECTED, "chelsea-jpg-pil-decoded.png"))
    return files


# ---------------------------------------------------------------- processor cases
def spec_of(kw):
    size = kw.get("size", {})
    return {
        "minPixels": kw.get("min_pixels", size.get("shortest_edge", size.get("min_pixels", 56 * 56))),
        "maxPixels": kw.get("max_pixels", size.get("longest_edge", size.get("max_pixels", 28 * 28 * 1280))),
        "resample": {v: k for k, v in FILTERS.items()}[kw.get("resample", 3)],
        "imageMean": kw.get("image_mean", CLIP_MEAN),
        "imageStd": kw.get("image_std", CLIP_STD),
        "rescaleFactor": 1 / 255,
    }


def lut_for(spec):
    u = np.arange(256, dtype=np.uint8)
    x = (u.astype(np.float64) * spec["rescaleFactor"]).astype(np.float32)
    m = np.array(spec["imageMean"], dtype=np.float32)
    s = np.array(spec["imageStd"], dtype=np.float32)
    return ((x[None, :] - m[:, None]) / s[:, None]).astype(np.float32)


def run_case(name, inputs, kw, prep="open"):
    images = []
    for f in inputs:
        im = Image.open(os.path.join(INPUTS, f))
        if prep == "convert-rgb":
            im = im.convert("RGB")
        images.append(im)
    proc = Processor(**kw)
    out = proc(images=images, return_tensors="np")
    pv = np.ascontiguousarray(out["pixel_values"])
    grids = out["image_grid_thw"].tolist()
    spec = spec_of(kw)
    entry = {
        "name": name, "inputs": inputs, "prep": prep, "hfKwargs": kw, "spec": spec, "grids": grids,
        "tokenCounts": [t * h * w // 4 for t, h, w in grids], "shape": list(pv.shape), "dtype": str(pv.dtype),
        "sha256Float32": hashlib.sha256(pv.astype(np.float32).tobytes()).hexdigest(),
    }
    lut = lut_for(spec)
    per_channel = pv.shape[1] // 3
    codes = np.zeros(pv.shape, dtype=np.uint8)
    exact = True
    for c in range(3):
        vals = pv[:, c * per_channel:(c + 1) * per_channel].astype(np.float32)
        idx = np.clip(np.searchsorted(lut[c], vals), 0, 255).astype(np.uint8)
        if not np.array_equal(lut[c][idx].view(np.uint32), vals.view(np.uint32)):
            exact = False
        codes[:, c * per_channel:(c + 1) * per_channel] = idx
    if exact:
        path = f"expected/{name}.codes.gz"
        with gzip.open(os.path.join(ROOT, path), "wb", compresslevel=9) as f:
            f.write(codes.tobytes())
        entry["codes"] = path
        entry["lut"] = [[float(v) for v in row] for row in lut]
    else:
        path = f"expected/{name}.f32.gz"
        with gzip.open(os.path.join(ROOT, path), "wb", compresslevel=9) as f:
            f.write(pv.astype("<f4").tobytes())
        entry["raw"] = path
    entry["lutExact"] = exact
    print(f"{name:28s} grids={grids} shape={pv.shape} lutExact={exact} "
          f"bytes={os.path.getsize(os.path.join(ROOT, path))}")
    return entry


def cases():
    small, tiny_budget = 28 * 28 * 256, 28 * 28 * 128
    B, L = FILTERS["bicubic"], FILTERS["bilinear"]
    c = [
        ("astronaut-default", ["astronaut.png"], {"min_pixels": 3136, "max_pixels": 1003520, "resample": B}),
        ("coffee-size-dict", ["coffee.png"], {"size": {"shortest_edge": 3136, "longest_edge": 200704}, "resample": B}),
        ("chelsea-bilinear", ["chelsea.png"], {"min_pixels": 3136, "max_pixels": small, "resample": L}),
        ("chelsea-half-mean", ["chelsea.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": L,
                                                "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}),
        ("chelsea-lanczos", ["chelsea.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": FILTERS["lanczos"]}),
        ("coffee-nearest", ["coffee.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": FILTERS["nearest"]}),
        ("rocket-default", ["rocket.png"], {"min_pixels": 3136, "max_pixels": 1003520, "resample": B}),
        ("tiny-12x30", ["tiny-12x30.png"], {"min_pixels": 3136, "max_pixels": 1003520, "resample": B}),
        ("tiny-12x30-bilinear-bigmin", ["tiny-12x30.png"], {"min_pixels": 28 * 28 * 16, "max_pixels": small, "resample": L}),
        ("huge-bicubic", ["huge-4000x3000.png"], {"min_pixels": 3136, "max_pixels": small, "resample": B}),
        ("huge-bilinear", ["huge-4000x3000.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": L}),
        ("wide-16x3000", ["wide-16x3000.png"], {"min_pixels": 3136, "max_pixels": 1003520, "resample": B}),
        ("tall-2900x15", ["tall-2900x15.png"], {"min_pixels": 3136, "max_pixels": 1003520, "resample": L}),
        ("odd14-630x854", ["odd14-630x854.png"], {"min_pixels": 3136, "max_pixels": 1003520, "resample": B}),
        ("odd14-434x294", ["odd14-434x294.png"], {"min_pixels": 3136, "max_pixels": 1003520, "resample": B}),
        ("odd14-322x462", ["odd14-322x462.png"], {"size": {"shortest_edge": 3136, "longest_edge": 1003520}, "resample": L}),
        ("astronaut-rgba", ["astronaut-rgba.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": B}),
        ("camera-la", ["camera-la.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": B}),
        ("camera-gray", ["camera-gray.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": L}),
        ("coffee-palette", ["coffee-palette.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": B}),
        ("coffee-palette-trns", ["coffee-palette-trns.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": B}),
        ("camera-bilevel", ["camera-bilevel.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": B}),
        ("camera-gray16", ["camera-gray16.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": B}),
        ("astronaut-rgb16", ["astronaut-rgb16.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": B}),
        ("astronaut-rgba16", ["astronaut-rgba16.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": L}),
        ("camera-la16", ["camera-la16.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": B}),
        ("chelsea-jpeg", ["chelsea.jpg"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": B}),
        ("two-images", ["astronaut.png", "tiny-12x30.png"], {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": B}),
    ]
    entries = []
    for name, inputs, kw in c:
        try:
            entries.append(run_case(name, inputs, kw))
        except Exception as e:  # record, so a failing mode is visible rather than silently missing
            print(f"{name}: FAILED {type(e).__name__}: {e}")
            entries.append({"name": name, "inputs": inputs, "hfKwargs": kw, "error": f"{type(e).__name__}: {e}"})
    # The same RGBA image through load_image-style .convert('RGB') first (what pipelines do).
    entries.append(run_case("astronaut-rgba-convert-rgb", ["astronaut-rgba.png"],
                            {"min_pixels": 3136, "max_pixels": tiny_budget, "resample": B}, prep="convert-rgb"))
    return entries


# ---------------------------------------------------------------- Pillow resize fixtures
def resize_fixtures():
    from skimage import data

    srcs = {
        "noise-61x47": Image.fromarray(rng.integers(0, 256, (47, 61, 3), dtype=np.uint8)),
        "photo-97x73": Image.fromarray(data.astronaut()[100:173, 150:247]),
    }
    sizes = [(23, 17), (130, 101), (20, 90), (61, 10), (7, 3), (200, 5)]
    out = []
    for sname, im in srcs.items():
        im.save(os.path.join(RESIZE, f"{sname}.png"))
        for fname, fid in FILTERS.items():
            for w, h in sizes:
                r = im.resize((w, h), fid)
                fn = f"{sname}-{fname}-{w}x{h}.png"
                r.save(os.path.join(RESIZE, fn))
                out.append({"source": f"{sname}.png", "filter": fname, "width": w, "height": h, "file": fn})
    with open(os.path.join(RESIZE, "resize.json"), "w") as f:
        json.dump(out, f, indent=1)


# ---------------------------------------------------------------- smart_resize table
def smart_resize_table():
    rows = []
    budgets = [(3136, 1003520), (3136, 12845056), (3136, 200704), (56 * 56 * 4, 802816), (3136, 2458624), (3136, 3136)]

    def one(h, w, mn, mx):
        try:
            rh, rw = ipq.smart_resize(h, w, factor=28, min_pixels=mn, max_pixels=mx)
            rows.append({"h": h, "w": w, "minPixels": mn, "maxPixels": mx, "out": [int(rh), int(rw)]})
        except Exception as e:
            rows.append({"h": h, "w": w, "minPixels": mn, "maxPixels": mx, "error": str(e)})

    for h, w in [(630, 854), (854, 630), (434, 294), (448, 448), (480, 640), (768, 1024), (1080, 1920),
                 (3024, 4032), (12, 30), (9, 100), (100, 9), (10, 2001), (10, 2000), (10, 10), (14, 14), (42, 70)]:
        for mn, mx in budgets:
            one(h, w, mn, mx)
    for k in range(1, 80):  # odd multiples of 14: exactly .5 after division by 28
        one(14 * (2 * k + 1), 14 * (2 * k + 3), 3136, 1003520)
    for _ in range(1500):
        h = int(np.exp(rng.uniform(np.log(10), np.log(9000))))
        w = int(np.exp(rng.uniform(np.log(10), np.log(9000))))
        mn, mx = budgets[int(rng.integers(0, len(budgets)))]
        one(h, w, mn, mx)
    with open(os.path.join(ROOT, "smart-resize.json"), "w") as f:
        json.dump(rows, f, separators=(",", ":"))


# ---------------------------------------------------------------- Pillow facts
def pil_facts(files):
    facts = {"transformers": transformers.__version__, "pillow": PIL.__version__, "numpy": np.__version__,
             "processor": f"{Processor.__module__}.{Processor.__name__}", "modes": {}}
    for name, path in files.items():
        facts["modes"][name] = Image.open(path).mode
    vals = np.array([0, 1, 2, 127, 255, 256, 257, 300, 511, 1000, 32767, 32768, 65280, 65535], dtype=np.uint16)
    im = Image.fromarray(vals.reshape(1, -1))
    facts["i16Mode"] = im.mode
    facts["i16Values"] = vals.tolist()
    facts["i16ToRgb"] = np.array(im.convert("RGB"))[0, :, 0].tolist()
    facts["i16ToL"] = np.array(im.convert("L"))[0].tolist()
    with open(os.path.join(ROOT, "pil-facts.json"), "w") as f:
        json.dump(facts, f, indent=1)
    print(json.dumps(facts))


def main():
    dump_sources()
    files = make_inputs()
    pil_facts(files)
    entries = cases()
    with open(os.path.join(ROOT, "cases.json"), "w") as f:
        json.dump({"generator": "export/reference/processor_image.py", "transformers": transformers.__version__,
                   "pillow": PIL.__version__, "cases": entries}, f, indent=1)
    resize_fixtures()
    smart_resize_table()
    total = 0
    for dirpath, _, names in os.walk(ROOT):
        for n in names:
            total += os.path.getsize(os.path.join(dirpath, n))
    big = sorted(((os.path.getsize(os.path.join(INPUTS, n)), n) for n in os.listdir(INPUTS)), reverse=True)[:5]
    print(f"total fixture bytes {total}; largest inputs {big}")


def bench(path):
    """Reference timing for bench/processor-image.bench.ts: the same image through Hugging Face's processor."""
    import time

    image = Image.open(path)
    image.load()
    for max_pixels in (1003520, 2458624, 12845056):
        proc = Processor(min_pixels=3136, max_pixels=max_pixels, resample=FILTERS["bicubic"])
        times = []
        for _ in range(3):
            t = time.perf_counter()
            out = proc(images=[image], return_tensors="np")
            times.append((time.perf_counter() - t) * 1000)
        print(f"HF {Processor.__name__} {image.size[0]}x{image.size[1]} max_pixels {max_pixels}: "
              f"grid {out['image_grid_thw'].tolist()} median {sorted(times)[1]:.1f} ms")


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--bench":
        bench(sys.argv[2])
    else:
        main()
