#!/usr/bin/env python3
"""The PyTorch baseline of `npm run bench:score` (issue 13, docs/benchmarks.md).

Loads Winnow's generated random-weight bench models (the ONNX files `score.bench.js
--models-dir DIR` writes, seeded, in the Optimum layout) into Hugging Face transformers models
built from the same config.json, so both sides run identical weights, and times what an ASK-LLM
script in PyTorch (nano-askllm style) does per batch: host-to-device copy, forward pass, the
full-vocabulary softmax at the first answer position (T5: the first decoder step; decoder-only:
left padding, last position), P(yes), device-to-host copy. Tokenisation and padding are done
before the clock starts (Winnow's figure includes its tokeniser: this favours PyTorch).

The prompts come from `score.bench.js --prompts-out FILE` (token ids and text per row, answer
ids, model folder), so both sides score the same length-varied prompts.

  python3 test/bench/torch_baseline.py --prompts prompts.json --out torch.json
      [--batches 8,16,32,64,128,256] [--precisions fp32,bf16] [--reps 3]
      [--compile bf16|all|none] [--compile-budget 150] [--agreement-rows 32] [--device auto|cuda|cpu]

Prints one JSON document (and writes it to --out after every model, so a run cut short keeps
what it measured): device, driver, library versions, per model/precision/mode/batch rows/s, the
best per precision, and the P(yes) of the first rows for the agreement check. Without torch it
prints {"skipped": ...} and exits 0, so CPU-only machines can run the plumbing.

Two tables are taken from the ONNX files rather than recomputed, so that rounding cannot make
the sides differ: T5's relative-position buckets (patched into T5Attention) and the llama RoPE
cos/sin tables (patched into the rotary embedding). The result reports how many bucket entries
transformers' own function would have computed differently.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--prompts", required=True, help="score.bench.js --prompts-out file")
    p.add_argument("--out", help="also write the JSON here (after every model)")
    p.add_argument("--batches", default="8,16,32,64,128,256")
    p.add_argument("--precisions", default="fp32,bf16")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--compile", default="bf16", help="precisions to also time under torch.compile: a list, all or none")
    p.add_argument("--compile-budget", type=float, default=150.0, help="seconds of compiling in all")
    p.add_argument("--agreement-rows", type=int, default=32)
    p.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    p.add_argument("--models", default="", help="comma-separated model names to run (default: all in the file)")
    return p.parse_args(argv)


def nvidia_smi():
    try:
        r = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20,
        )
        line = (r.stdout or r.stderr).strip().splitlines()
        parts = [x.strip() for x in line[0].split(",")] if line else []
        return {"gpu": parts[0] if parts else "?", "driver": parts[1] if len(parts) > 1 else "?",
                "memory": parts[2] if len(parts) > 2 else "?"}
    except (OSError, subprocess.SubprocessError) as e:
        return {"gpu": "none", "driver": f"nvidia-smi not available ({e})", "memory": "?"}


def versions():
    out = {"python": platform.python_version()}
    for name in ["torch", "transformers", "sentence_transformers", "onnx", "numpy"]:
        try:
            out[name] = __import__(name).__version__
        except Exception as e:  # noqa: BLE001 - any import failure is reported, not fatal
            out[name] = f"not installed ({type(e).__name__})"
    return out


def write_json(doc, path):
    if not path:
        return
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)


def onnx_weights(path):
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


class Loader:
    """Copies ONNX initializers into torch parameters and counts what it filled."""

    def __init__(self, torch):
        self.torch = torch
        self.filled = 0

    def put(self, param, array, transpose=False):
        t = self.torch.from_numpy(array.T.copy() if transpose else array.copy())
        if tuple(param.shape) != tuple(t.shape):
            raise ValueError(f"shape {tuple(t.shape)} does not fit parameter {tuple(param.shape)}")
        with self.torch.no_grad():
            param.copy_(t)
        self.filled += t.numel()

    def lin(self, linear, array):
        # ONNX MatMul weights are [in, out]; nn.Linear holds [out, in].
        self.put(linear.weight, array, transpose=True)

    def check_complete(self, model):
        total = sum(p.numel() for p in model.parameters())  # unique parameters (ties counted once)
        if total != self.filled:
            raise ValueError(f"filled {self.filled} weights of the model's {total}: a parameter has no Winnow value")


def bucket_lut(torch, table):
    """relative position r (memory - query) -> bucket, indexed by r + N - 1, from t[q, m]."""
    import numpy as np

    lut = np.concatenate([table[::-1, 0], table[0, 1:]]).astype("int64")
    return torch.from_numpy(lut)


def patch_t5_buckets(torch, enc, dec):
    """Makes T5Attention use the ONNX bucket tables; returns how many entries transformers' own
    function computes differently."""
    from transformers.models.t5 import modeling_t5

    luts = {True: bucket_lut(torch, enc["encoder.rel_bucket_table"]),
            False: bucket_lut(torch, dec["decoder.rel_bucket_table"])}
    n = enc["encoder.rel_bucket_table"].shape[0]
    original = getattr(modeling_t5.T5Attention, "_relative_position_bucket", None)
    if original is None:
        raise RuntimeError("this transformers version has no T5Attention._relative_position_bucket to patch")
    rel = torch.arange(-(n - 1), n)
    mismatches = sum(
        int((original(rel, bidirectional=bi, num_buckets=32, max_distance=128) != luts[bi]).sum())
        for bi in (True, False)
    )

    def bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
        lut = luts[bidirectional].to(relative_position.device)
        return lut[relative_position + (n - 1)]

    modeling_t5.T5Attention._relative_position_bucket = staticmethod(bucket)
    return mismatches


def t5_blocks(ld, model, enc, dec):
    for i, blk in enumerate(model.encoder.block):
        p = f"encoder.block.{i}"
        sa = blk.layer[0].SelfAttention
        for name in "qkvo":
            ld.lin(getattr(sa, name), enc[f"{p}.{name}"])
        ld.put(blk.layer[0].layer_norm.weight, enc[f"{p}.ln0"])
        ff = blk.layer[1].DenseReluDense
        for name in ["wi_0", "wi_1", "wo"]:
            ld.lin(getattr(ff, name), enc[f"{p}.ff.{name}"])
        ld.put(blk.layer[1].layer_norm.weight, enc[f"{p}.ln1"])
    for i, blk in enumerate(model.decoder.block):
        p = f"decoder.block.{i}"
        sa, ca = blk.layer[0].SelfAttention, blk.layer[1].EncDecAttention
        for name in "qkvo":
            ld.lin(getattr(sa, name), dec[f"{p}.{name}"])
            ld.lin(getattr(ca, name), dec[f"{p}.c{name}"])
        ff = blk.layer[2].DenseReluDense
        for name in ["wi_0", "wi_1", "wo"]:
            ld.lin(getattr(ff, name), dec[f"{p}.ff.{name}"])
        for k in range(3):
            ld.put(blk.layer[k].layer_norm.weight, dec[f"{p}.ln{k}"])


def build_t5(torch, folder):
    from transformers import AutoConfig, T5ForConditionalGeneration

    cfg = AutoConfig.from_pretrained(folder)
    model = T5ForConditionalGeneration(cfg).eval()
    enc = onnx_weights(os.path.join(folder, "onnx", "encoder_model.onnx"))
    dec = onnx_weights(os.path.join(folder, "onnx", "decoder_model_merged.onnx"))
    ld = Loader(torch)
    ld.put(model.shared.weight, enc["shared.weight"])
    if model.encoder.embed_tokens.weight is not model.shared.weight:  # untied in this version
        ld.put(model.encoder.embed_tokens.weight, enc["shared.weight"])
    # Winnow's export has its own decoder embedding; HF T5 shares one, so give the decoder its own.
    model.decoder.embed_tokens = torch.nn.Embedding(cfg.vocab_size, cfg.d_model)
    ld.put(model.decoder.embed_tokens.weight, dec["decoder.embed_tokens"])
    t5_blocks(ld, model, enc, dec)
    ld.put(model.encoder.block[0].layer[0].SelfAttention.relative_attention_bias.weight,
           enc["encoder.relative_attention_bias"])
    ld.put(model.decoder.block[0].layer[0].SelfAttention.relative_attention_bias.weight,
           dec["decoder.relative_attention_bias"])
    ld.put(model.encoder.final_layer_norm.weight, enc["encoder.final_ln"])
    ld.put(model.decoder.final_layer_norm.weight, dec["decoder.final_ln"])
    ld.lin(model.lm_head, dec["lm_head"])
    ld.check_complete(model)
    return model, {"bucket_mismatches_vs_transformers": patch_t5_buckets(torch, enc, dec)}


def build_llama(torch, folder):
    from transformers import AutoConfig, LlamaForCausalLM

    cfg = AutoConfig.from_pretrained(folder)
    model = LlamaForCausalLM(cfg).eval()
    w = onnx_weights(os.path.join(folder, "onnx", "model.onnx"))
    ld = Loader(torch)
    ld.put(model.model.embed_tokens.weight, w["model.embed_tokens.weight"])
    for i, layer in enumerate(model.model.layers):
        p = f"model.layers.{i}"
        for name in ["q_proj", "k_proj", "v_proj", "o_proj"]:
            ld.lin(getattr(layer.self_attn, name), w[f"{p}.{name}"])
        for name in ["gate_proj", "up_proj", "down_proj"]:
            ld.lin(getattr(layer.mlp, name), w[f"{p}.{name}"])
        ld.put(layer.input_layernorm.weight, w[f"{p}.input_layernorm"])
        ld.put(layer.post_attention_layernorm.weight, w[f"{p}.post_attention_layernorm"])
    ld.put(model.model.norm.weight, w["model.norm"])
    ld.lin(model.lm_head, w["lm_head"])
    ld.check_complete(model)
    rope = {"cos": torch.from_numpy(w["rope.cos"].copy()), "sin": torch.from_numpy(w["rope.sin"].copy())}
    return model, {"rope": rope}


def install_rope(torch, model, rope, device):
    """The rotary embedding reads Winnow's cos/sin tables (gathered by position id)."""
    cos, sin = rope["cos"].to(device), rope["sin"].to(device)
    rotary = getattr(model.model, "rotary_emb", None)
    if rotary is None:
        raise RuntimeError("this transformers version has no model.model.rotary_emb to patch")

    def forward(x, position_ids, *rest, **kw):
        return cos[position_ids].to(x.dtype), sin[position_ids].to(x.dtype)

    rotary.forward = forward


def make_batches(torch, ps, order, size):
    """Padded CPU tensors per batch (T5: right padding; causal: left padding, position ids as
    transformers.js builds them: cumsum(mask) - 1, pads 1)."""
    batches = []
    for s in range(0, len(order), size):
        idx = order[s:s + size]
        rows = [ps["rows"][i]["ids"] for i in idx]
        L = max(len(r) for r in rows)
        B = len(rows)
        ids = torch.full((B, L), ps["pad_id"], dtype=torch.long)
        mask = torch.zeros((B, L), dtype=torch.long)
        for b, r in enumerate(rows):
            off = L - len(r) if ps["kind"] == "causal" else 0
            ids[b, off:off + len(r)] = torch.tensor(r, dtype=torch.long)
            mask[b, off:off + len(r)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if ps["kind"] == "causal":
            pos = mask.cumsum(-1) - 1
            feeds["position_ids"] = pos.masked_fill(mask == 0, 1)
        else:
            feeds["decoder_input_ids"] = torch.full((B, 1), ps["decoder_start_id"], dtype=torch.long)
        batches.append((idx, feeds))
    return batches


def score_pass(torch, model, kind, batches, yes, device, n):
    """One pass over all rows; returns P(yes) in file order (a CPU tensor)."""
    out = torch.empty(n, dtype=torch.float64)
    with torch.inference_mode():
        for idx, feeds in batches:
            f = {k: v.to(device) for k, v in feeds.items()}
            if kind == "causal":
                logits = model(**f, use_cache=False, logits_to_keep=1).logits[:, -1, :]
            else:
                logits = model(**f, use_cache=False).logits[:, 0, :]
            p = torch.softmax(logits.float(), dim=-1)[:, yes].sum(-1)
            out[idx] = p.cpu().double()
    return out


def time_passes(torch, fn, reps, device):
    best = float("inf")
    result = None
    for _ in range(reps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def sweep(torch, model, ps, cfg, precision, mode, batch_sizes, device):
    """Times every batch size; returns the run rows and P(yes) of the fastest."""
    n = len(ps["rows"])
    order = sorted(range(n), key=lambda i: -len(ps["rows"][i]["ids"]))  # length-sorted batches
    yes = torch.tensor(ps["yes_ids"], device=device)
    runs, best = [], None
    for size in batch_sizes:
        row = {"precision": precision, "mode": mode, "batch": size}
        try:
            batches = make_batches(torch, ps, order, size)
            t0 = time.perf_counter()
            score_pass(torch, model, ps["kind"], batches, yes, device, n)  # warm-up (compiles)
            row["warmup_s"] = round(time.perf_counter() - t0, 3)
            secs, p = time_passes(torch, lambda: score_pass(torch, model, ps["kind"], batches, yes, device, n),
                                  cfg.reps, device)
            row["rows_per_s"] = n / secs
            if best is None or row["rows_per_s"] > best[0]["rows_per_s"]:
                best = (row, p)
        except torch.cuda.OutOfMemoryError as e:
            row["error"] = f"out of memory ({str(e).splitlines()[0]})"
            torch.cuda.empty_cache()
        except Exception as e:  # noqa: BLE001 - one failed configuration is reported, the rest runs
            row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        runs.append(row)
        print(f"  {ps['model']} {precision} {mode} B={size}: "
              f"{row.get('rows_per_s', 0):.1f} rows/s {row.get('error', '')}", file=sys.stderr, flush=True)
    return runs, best


def bench_model(torch, ps, cfg, device, state):
    t0 = time.perf_counter()
    build = build_llama if ps["kind"] == "causal" else build_t5
    base, extra = build(torch, ps["dir"])
    rope = extra.pop("rope", None)
    entry = {"model": ps["model"], "kind": ps["kind"], "rows": len(ps["rows"]),
             "load_s": round(time.perf_counter() - t0, 2), **extra, "runs": [], "best": {}, "p_yes": {}}
    sizes = [b for b in cfg.batch_sizes if b <= max(cfg.batch_sizes[0], len(ps["rows"]))]
    # fp32 first: casting the weights to bf16 is done in place and loses bits.
    for precision in sorted(cfg.precisions, key=lambda x: x != "fp32"):
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]
        model = base.to(device=device, dtype=dtype)
        if rope is not None:
            install_rope(torch, model, rope, device)
        runs, best = sweep(torch, model, ps, cfg, precision, "eager", sizes, device)
        entry["runs"] += runs
        if best and precision in cfg.compile and state["compile_left"] > 0:
            c0 = time.perf_counter()
            compiled = torch.compile(model, dynamic=True)
            crun, cbest = sweep(torch, compiled, ps, cfg, precision, "compile", [best[0]["batch"]], device)
            state["compile_left"] -= time.perf_counter() - c0
            entry["runs"] += crun
            if cbest and cbest[0]["rows_per_s"] > best[0]["rows_per_s"]:
                best = cbest
        if best:
            entry["best"][precision] = {k: best[0][k] for k in ("mode", "batch", "rows_per_s")}
            entry["p_yes"][precision] = [float(x) for x in best[1][:cfg.agreement_rows]]
    del base
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return entry


def main(argv):
    args = parse_args(argv)
    smi = nvidia_smi()
    doc = {"tool": "test/bench/torch_baseline.py", "device": smi["gpu"], "driver": smi["driver"],
           "gpu_memory": smi["memory"], **versions(), "models": []}
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
        import onnx  # noqa: F401
    except ImportError as e:
        doc["skipped"] = f"PyTorch baseline not run: {e}"
        write_json(doc, args.out)
        print(json.dumps(doc))
        return 0
    import torch

    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu")
    doc["torch_device"] = torch.cuda.get_device_name(0) if device.type == "cuda" else platform.processor() or "cpu"
    doc["cuda"] = torch.version.cuda
    doc["cudnn"] = torch.backends.cudnn.version() if device.type == "cuda" else None
    doc["tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
    with open(args.prompts) as f:
        prompts = json.load(f)
    cfg = argparse.Namespace(
        batch_sizes=[int(x) for x in args.batches.split(",") if x],
        precisions=[x for x in args.precisions.split(",") if x],
        compile=({"fp32", "bf16"} if args.compile == "all" else set() if args.compile == "none" else set(args.compile.split(","))),
        reps=args.reps, agreement_rows=args.agreement_rows,
    )
    state = {"compile_left": args.compile_budget}
    wanted = set(x for x in args.models.split(",") if x)
    for ps in prompts["models"]:
        if wanted and ps["model"] not in wanted:
            continue
        try:
            doc["models"].append(bench_model(torch, ps, cfg, device, state))
        except Exception as e:  # noqa: BLE001 - a model that fails is reported; the others run
            doc["models"].append({"model": ps["model"], "error": f"{type(e).__name__}: {e}", "best": {}, "p_yes": {}})
        write_json(doc, args.out)
    write_json(doc, args.out)
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
