"""Gathers benches/device/run.sh's step outputs into OUT/device.json and OUT/device.md."""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
steps = {}
for line in (out / "steps.tsv").read_text().splitlines():
    name, rc, seconds = line.split("\t")
    text = (out / f"{name}.out").read_text().strip()
    try:
        result = json.loads(text)
    except ValueError:
        result = text or None
    error = (out / f"{name}.err").read_text().strip().splitlines()[-3:]
    steps[name] = {"exit": int(rc), "seconds": float(seconds), "result": result,
                   "stderr_tail": error if int(rc) else []}
(out / "device.json").write_text(json.dumps(steps, indent=2))

rows = ["| step | exit | s | result |", "|---|---|---|---|"]
for name, s in steps.items():
    r = s["result"]
    if name == "info" and isinstance(r, dict):
        what = f"{r['name']} ({r['backend']}, {r['driver']} {r['driver_info']}), loop cap: {r.get('loop_cap')}"
    elif name == "doctor" and isinstance(r, dict):
        failed = [c["name"] for c in r["checks"] if not c["passed"]]
        what = f"{len(r['checks']) - len(failed)} of {len(r['checks'])} checks passed" + (
            f"; FAILED: {', '.join(failed)}" if failed else "")
    elif name.startswith("bench") and isinstance(r, dict):
        e = r["epoch"]
        what = (f"{r['model']} on {r['nodes']} nodes: epoch {e['median_ms']:.2f} ms median "
                f"(p10 {e['p10_ms']:.2f}, p90 {e['p90_ms']:.2f}), {r['dispatches_per_epoch']} launches, "
                f"{r['gpu_buffer_mib']:.0f} MiB of buffers")
    elif name.startswith("pyg") and isinstance(r, dict):
        what = (f"{r['framework']} on {r['device']}: epoch {r['epoch_ms_median']:.2f} ms median "
                f"({r['epochs_timed']} epochs), test AUC {r['test_auc']:.3f}")
    else:
        what = (str(r) if r else "; ".join(s["stderr_tail"]))[:200]
    rows.append(f"| {name} | {s['exit']} | {s['seconds']:.1f} | {what} |")
(out / "device.md").write_text("\n".join(rows) + "\n")
print("\n".join(rows))
# argva's own steps must succeed (nvidia-smi and PyG are the machine's, reported only).
failed = [n for n, s in steps.items() if n in ("info", "doctor") or n.startswith("bench")
          if s["exit"] != 0]
doctor = steps.get("doctor", {}).get("result")
if failed or not (isinstance(doctor, dict) and doctor["passed"]):
    sys.exit(f"summarize: argva steps failed: {failed or ['doctor']}")
