"""Compares two drivers' Cora runs, 20 epochs (.ci/drivers.sh). Usage: same_bits.py REF GOT MODE.
MODE exact: the embedding, model and metrics are the same bytes (drivers with the same
arithmetic: Mesa's llvmpipe through Vulkan or GL, 22 or 25); the per-epoch losses within a few
ulps (WGSL bounds `log`'s error, not its bits, and the losses are only reported).
MODE close: a driver that rounds differently (SwiftShader: WGSL lets a compiler fuse a·b + c or
not): the bounds below, measured 2026-12-07 at 4.5e-7 (GAE) and 9.3e-4 (ARGVA) of embedding,
AP 2e-7, losses 1.3e-5. Exits 1 naming what differs."""
import json
import struct
import sys
from pathlib import Path

# model: largest |Δz| / max |z| allowed in `close` mode (ARGVA's adversarial steps amplify
# rounding; GAE's do not).
EMBEDDING = {"gae": 1e-5, "argva": 2e-3}
METRIC_ATOL = 1e-4
LOSS_RTOL = {"exact": 2e-6, "close": 1e-4}


def floats(path: Path) -> tuple:
    raw = path.read_bytes()
    header = struct.unpack("<H", raw[8:10])[0]
    data = raw[10 + header:]
    return struct.unpack(f"<{len(data) // 4}f", data)


def fail(message: str):
    sys.exit(f"same_bits: {message}")


def compare(ref: Path, got: Path, model: str, mode: str) -> str:
    a = json.loads((ref / f"{model}.json").read_text())
    b = json.loads((got / f"{model}.json").read_text())
    if mode == "exact":
        for name in ["embedding.npy", "model.safetensors"]:
            if (ref / model / name).read_bytes() != (got / model / name).read_bytes():
                fail(f"{model} {name} differs between {ref.name} and {got.name}")
        for key in ["test", "val", "clustering"]:
            if a[key] != b[key]:
                fail(f"{model} {key}: {a[key]} on {ref.name}, {b[key]} on {got.name}")
        what = "embedding, model, metrics equal"
    else:
        za, zb = floats(ref / model / "embedding.npy"), floats(got / model / "embedding.npy")
        scale = max(abs(x) for x in za)
        dz = max(abs(x - y) for x, y in zip(za, zb, strict=True)) / scale
        if not dz <= EMBEDDING[model]:
            fail(f"{model} embedding differs by {dz:.2e} of its scale (bound {EMBEDDING[model]})")
        dm = max(abs(a[k][m] - b[k][m]) for k in ["test", "val"] for m in ["auc", "ap"])
        if not dm <= METRIC_ATOL:
            fail(f"{model} test/val AUC or AP differ by {dm:.2e} (bound {METRIC_ATOL})")
        what = f"embedding within {dz:.1e} of its scale, AUC/AP within {dm:.1e}"
    worst = 0.0
    for x, y in zip(a["history"], b["history"], strict=True):
        for k in x:
            if k != "epoch" and x[k] != y[k]:
                worst = max(worst, abs(x[k] - y[k]) / max(abs(x[k]), 1e-30))
    if not worst <= LOSS_RTOL[mode]:
        fail(f"{model} losses differ by {worst:.2e} relative (bound {LOSS_RTOL[mode]})")
    losses = "losses equal" if worst == 0 else f"losses within {worst:.1e}"
    return f"{model} {what}, {losses} (test AUC {b['test']['auc']:.6f})"


ref, got, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
print("; ".join(compare(ref, got, m, mode) for m in ["gae", "argva"]))
