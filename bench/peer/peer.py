#!/usr/bin/env python3
"""PyTorch peer of the tfjs benchmarks: the same computation on the same weights and inputs.

transformers is not installed on these machines, so the layers are the same math written in plain torch
(fp32, eager): the CLIP ViT encoder (pre-LN, quick_gelu, q scaled before QK^T) and the Llama decoder layer
(RMSNorm, RoPE rotate_half, SwiGLU). Weights and inputs come from a safetensors file the bench writes.

usage: peer.py vision|decoder FILE.safetensors JSON_ARGS  → prints one JSON line of timings (ms)

The line also says which BLAS torch's matrix products run on (the library actually mapped into this
process): Debian's python3-torch calls whatever libblas.so.3 points at, which is the slow reference BLAS
unless libopenblas0-pthread is installed; a ratio against the reference BLAS would flatter tfjs.

An honest peer: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (set on some machines to an older core, which makes
OpenBLAS several times slower) are removed from this process's environment before torch loads OpenBLAS, and
recorded; the line names the kernel OpenBLAS actually runs (openblas_get_corename) and its thread count at
each timed setting. torch.set_num_threads does not reach OpenBLAS's own threads (Debian's torch 1.13), so
they are set to the same count through openblas_set_num_threads.
"""
import ctypes, json, os, struct, sys, time

# Before numpy and torch load OpenBLAS (it reads these once, when it loads): this process only.
OPENBLAS_FORCING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
UNSET = {k: os.environ.pop(k) for k in OPENBLAS_FORCING if k in os.environ}

import numpy as np  # noqa: E402
import torch  # noqa: E402

DT = {"F32": np.float32, "I64": np.int64, "F16": np.float16}


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[b:e], dtype=DT[v["dtype"]]).reshape(v["shape"]).copy())
    return out


def ln(x, w, b, eps=1e-5):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def vit(W, px, L, H, taps):
    """px [P, 3, S, S]; returns the last hidden state; keeps the tapped attention probabilities."""
    e = torch.nn.functional.conv2d(px, W["embeddings.patch_embedding.weight"], stride=W["embeddings.patch_embedding.weight"].shape[-1])
    e = e.flatten(2).transpose(1, 2)
    cls = W["embeddings.class_embedding"].expand(e.shape[0], 1, -1)
    x = torch.cat([cls, e], 1) + W["embeddings.position_embedding.weight"]
    x = ln(x, W["pre_layrnorm.weight"], W["pre_layrnorm.bias"])
    kept = []
    for l in range(L):
        p = f"encoder.layers.{l}."
        h = ln(x, W[p + "layer_norm1.weight"], W[p + "layer_norm1.bias"])
        P, T, D = h.shape
        Dh = D // H
        q = (h @ W[p + "self_attn.q_proj.weight"].T + W[p + "self_attn.q_proj.bias"]) * Dh ** -0.5
        k = h @ W[p + "self_attn.k_proj.weight"].T + W[p + "self_attn.k_proj.bias"]
        v = h @ W[p + "self_attn.v_proj.weight"].T + W[p + "self_attn.v_proj.bias"]
        sh = lambda t: t.view(P, T, H, Dh).transpose(1, 2)
        a = torch.softmax(sh(q) @ sh(k).transpose(-1, -2), -1)
        if l in taps:
            kept.append(a)
        o = (a @ sh(v)).transpose(1, 2).reshape(P, T, D)
        x = x + o @ W[p + "self_attn.out_proj.weight"].T + W[p + "self_attn.out_proj.bias"]
        h = ln(x, W[p + "layer_norm2.weight"], W[p + "layer_norm2.bias"])
        m = h @ W[p + "mlp.fc1.weight"].T + W[p + "mlp.fc1.bias"]
        m = m * torch.sigmoid(1.702 * m)
        x = x + m @ W[p + "mlp.fc2.weight"].T + W[p + "mlp.fc2.bias"]
    return x, kept


def rope(T, Dh, theta=10000.0):
    inv = 1.0 / (theta ** (torch.arange(0, Dh, 2, dtype=torch.float32) / Dh))
    f = torch.outer(torch.arange(T, dtype=torch.float32), inv)
    e = torch.cat([f, f], -1)
    return e.cos(), e.sin()


def rot(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def llama_layer(W, x, H, cos, sin, cache=None, eps=1e-5):
    """x [T, D] at the positions cos/sin give; with cache (keys, values [H, Tc, Dh]) the chunk attends to them
    too (joined with torch.cat, as HF's cache does; the cache itself is left as it is)."""
    T, D = x.shape
    Dh = D // H
    rms = lambda t, w: w * (t * torch.rsqrt(t.pow(2).mean(-1, keepdim=True) + eps))
    h = rms(x, W["input_layernorm.weight"])
    q = (h @ W["self_attn.q_proj.weight"].T).view(T, H, Dh).transpose(0, 1)
    k = (h @ W["self_attn.k_proj.weight"].T).view(T, H, Dh).transpose(0, 1)
    v = (h @ W["self_attn.v_proj.weight"].T).view(T, H, Dh).transpose(0, 1)
    q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
    if cache is not None:
        k, v = torch.cat([cache[0], k], 1), torch.cat([cache[1], v], 1)
    Tc = k.shape[1] - T
    s = (q @ k.transpose(-1, -2)) / Dh ** 0.5
    s = s + torch.triu(torch.full((T, Tc + T), float("-inf")), Tc + 1)
    o = (torch.softmax(s, -1) @ v).transpose(0, 1).reshape(T, D)
    x = x + o @ W["self_attn.o_proj.weight"].T
    h = rms(x, W["post_attention_layernorm.weight"])
    g = h @ W["mlp.gate_proj.weight"].T
    return x + (g * torch.sigmoid(g) * (h @ W["mlp.up_proj.weight"].T)) @ W["mlp.down_proj.weight"].T


def blas():
    """The BLAS library mapped into this process (after torch ran a product) and what kind it is."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = os.path.basename(path).lower()
            if any(k in name for k in ("blas", "mkl", "blis", "lapack")) and "lapack" not in name:
                libs.add(os.path.realpath(path))
    kinds = []
    for lib in sorted(libs):
        low = lib.lower()
        kinds.append("openblas" if "openblas" in low else "mkl" if "mkl" in low else "blis" if "blis" in low
                     else "reference" if "/blas/" in low or os.path.basename(low).startswith("libblas") else "unknown")
    kind = next((k for k in ("mkl", "openblas", "blis") if k in kinds), kinds[0] if kinds else "built-in")
    out = {"libraries": sorted(libs), "kind": kind, "torch_config_blas": [l.strip() for l in torch.__config__.show().splitlines() if "BLAS" in l]}
    ob = openblas(libs)
    if ob is not None:
        out["core"] = ob.openblas_get_corename().decode()
        out["threads_at_start"] = ob.openblas_get_num_threads()
    try:
        from threadpoolctl import threadpool_info
        out["threadpoolctl"] = [{k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture", "filepath")} for p in threadpool_info()]
    except ImportError:
        pass
    return out


def openblas(libs):
    """The OpenBLAS mapped into this process (ctypes on the same file returns the loaded library), or None."""
    for lib in sorted(libs):
        try:
            h = ctypes.CDLL(lib)
            h.openblas_get_corename.restype = ctypes.c_char_p
            h.openblas_get_num_threads.restype = ctypes.c_int
            return h
        except (OSError, AttributeError):
            continue
    return None


def set_threads(threads, ob):
    """torch's intra-op threads and OpenBLAS's own (torch.set_num_threads does not reach the latter)."""
    torch.set_num_threads(threads)
    if ob is not None:
        ob.openblas_set_num_threads(threads)
        return ob.openblas_get_num_threads()
    return None


def timed(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1000)
    return {"median": float(np.median(ts)), "min": min(ts), "max": max(ts), "runs": runs}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def main():
    suite, path, a = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    W = load(path)
    out = {"torch": torch.__version__, "blas": blas(), "cpu": cpu_model(), "openblas_env_unset": UNSET}
    ob = openblas(out["blas"]["libraries"])
    out["blas"]["threads_by_setting"] = {}
    with torch.no_grad():
        for threads in a["threads"]:
            out["blas"]["threads_by_setting"][str(threads)] = set_threads(threads, ob)
            if suite == "vision":
                x = W["__input__"]
                fn = lambda: vit(W, x, a["layers"], a["heads"], set(a["taps"]))
                out[f"threads_{threads}"] = timed(fn, a["runs"], a["warmup"])
            else:
                res, dec = {}, {}
                for n in a["tokens"]:
                    x = W[f"__input__{n}"]
                    cos, sin = rope(n, a["head_dim"])
                    fn = lambda: [llama_layer(W, x, a["heads"], cos, sin) for _ in range(a["layers"])]
                    res[str(n)] = timed(fn, a["runs"], a["warmup"])
                    # decode: one position after a prompt of n, against a cache of n keys and values per layer
                    Dh = a["head_dim"]
                    cache = (torch.randn(a["heads"], n, Dh), torch.randn(a["heads"], n, Dh))
                    c1, s1 = rope(n + 1, Dh)
                    c1, s1 = c1[n:], s1[n:]
                    one = torch.randn(1, x.shape[1])
                    step = lambda: [llama_layer(W, one, a["heads"], c1, s1, cache) for _ in range(a["layers"])]
                    dec[str(n)] = timed(step, 4, 1)
                out[f"threads_{threads}"] = res
                out[f"decode_threads_{threads}"] = dec
    print(json.dumps(out))


if __name__ == "__main__":
    main()
