#!/usr/bin/python3
"""
Goldens for src/analyze/ (the paper's Fig. 2 analysis), from an independent PyTorch script.

It runs its own CLIP vision forward (written here from the CLIP paper / the HF checkpoint layout, in
float64) on the tiny LLaVA-NeXT's vision tower (spec/fixtures/models/llava-next-tiny), reads every
layer's attention probabilities, and computes:

  maps[i, c, l, j]  = mean over heads of A^l[c, h, 0, 1 + j]                 (AN-0)
  S_measure[i]      = layer x layer similarity of image i's maps, averaged over its crops,
                      for cosine | pearson | spearman (average ranks) | topk-iou (k = max(1, round(0.1 N)))
  S_measure         = mean over images of S_measure[i]                          (AN-1)
  split             = argmax_s W(s) - C(s), blocks [0, s), [s, L); W pools the off-diagonal
                      within-block pairs, C the cross-block pairs; ties to the smallest s  (AN-2)

and a tie case for Spearman (maps quantised so that values repeat).

Run with Debian's python (torch 1.13, numpy), from the repository root:
    /usr/bin/python3 scripts/analyze-goldens/gen.py
Writes spec/fixtures/analyze/layers_golden.json and layers_pixels.safetensors (the input pixels, F32).
Needs no transformers and no safetensors package (the file format is read and written by hand below).
"""
import json
import math
import os
import struct

import numpy as np
import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))
MODEL = os.path.join(ROOT, 'spec', 'fixtures', 'models', 'llava-next-tiny')
OUT = os.path.join(ROOT, 'spec', 'fixtures', 'analyze')
PREFIX = 'vision_tower.vision_model.'
IMAGES, CROPS, SEED = 3, 3, 20260512
TOPK_FRACTION = 0.1
DT = torch.float64


def read_safetensors(path):
    """name -> float64 tensor, for the F32/F16/BF16 tensors of one .safetensors file."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, info in header.items():
            if name == '__metadata__':
                continue
            b, e = info['data_offsets']
            f.seek(base + b)
            raw = f.read(e - b)
            if info['dtype'] == 'F32':
                a = np.frombuffer(raw, dtype='<f4')
            elif info['dtype'] == 'F16':
                a = np.frombuffer(raw, dtype='<f2')
            elif info['dtype'] == 'BF16':
                a = (np.frombuffer(raw, dtype='<u2').astype(np.uint32) << 16).view(np.float32)
            else:
                continue
            out[name] = torch.from_numpy(a.astype(np.float64).reshape(info['shape']))
        return out


def write_safetensors(path, tensors):
    """Writes float32 arrays as a .safetensors file (sorted names, 8-byte aligned header)."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype='<f4')
        header[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def vision_cls_maps(W, cfg, pixels):
    """pixels [P, 3, S, S] -> maps [P, L, N]: head-mean CLS->patch attention of every layer."""
    D, H, ps = cfg['hidden_size'], cfg['num_attention_heads'], cfg['patch_size']
    eps = cfg.get('layer_norm_eps', 1e-5)
    Dh = D // H
    g = lambda k: W[PREFIX + k]
    P = pixels.shape[0]
    # patch embedding: a stride-ps convolution without bias, then CLS and positions
    x = torch.nn.functional.conv2d(pixels, g('embeddings.patch_embedding.weight'), stride=ps)  # [P, D, G, G]
    x = x.flatten(2).transpose(1, 2)                                                            # [P, N, D]
    cls = g('embeddings.class_embedding').expand(P, 1, D)
    x = torch.cat([cls, x], 1) + g('embeddings.position_embedding.weight')[None]                # [P, N+1, D]
    x = layer_norm(x, g('pre_layrnorm.weight'), g('pre_layrnorm.bias'), eps)
    maps = []
    for l in range(cfg['num_hidden_layers']):
        p = f'encoder.layers.{l}.'
        lin = lambda t, name: t @ g(p + name + '.weight').T + g(p + name + '.bias')
        h = layer_norm(x, g(p + 'layer_norm1.weight'), g(p + 'layer_norm1.bias'), eps)
        split = lambda t: t.view(P, -1, H, Dh).transpose(1, 2)                                  # [P, H, T, Dh]
        q, k, v = split(lin(h, 'self_attn.q_proj')), split(lin(h, 'self_attn.k_proj')), split(lin(h, 'self_attn.v_proj'))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(Dh), -1)                          # [P, H, T, T]
        maps.append(a[:, :, 0, 1:].mean(1))                                                     # [P, N]
        o = (a @ v).transpose(1, 2).reshape(P, -1, D)
        x = x + lin(o, 'self_attn.out_proj')
        h = layer_norm(x, g(p + 'layer_norm2.weight'), g(p + 'layer_norm2.bias'), eps)
        f = lin(h, 'mlp.fc1')
        f = f * torch.sigmoid(1.702 * f)                                                        # quick_gelu
        x = x + lin(f, 'mlp.fc2')
    return torch.stack(maps, 1)                                                                 # [P, L, N]


def ranks(a):
    """Average ranks 1..n (ties share the mean of their ranks)."""
    n = len(a)
    order = np.argsort(a, kind='stable')
    r = np.empty(n)
    i = 0
    while i < n:
        j = i
        while j + 1 < n and a[order[j + 1]] == a[order[i]]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return r


def topk_set(a, k):
    return set(np.argsort(-a, kind='stable')[:k].tolist())    # ties: lower index first


def sim(a, b, measure, k):
    if measure == 'cosine':
        return float(a @ b / math.sqrt((a @ a) * (b @ b)))
    if measure == 'pearson':
        return float(np.corrcoef(a, b)[0, 1])
    if measure == 'spearman':
        return float(np.corrcoef(ranks(a), ranks(b))[0, 1])
    A, B = topk_set(a, k), topk_set(b, k)
    return len(A & B) / len(A | B)


def matrix(maps, measure):
    L, N = maps.shape
    k = max(1, min(N, round(TOPK_FRACTION * N)))
    return np.array([[sim(maps[i], maps[j], measure, k) for j in range(L)] for i in range(L)])


def split(S):
    L = S.shape[0]
    off = ~np.eye(L, dtype=bool)
    contrast = []
    for s in range(1, L):
        blk = np.zeros((L, L), dtype=bool)
        blk[:s, :s] = True
        blk[s:, s:] = True
        contrast.append(S[blk & off].mean() - S[~blk].mean())
    return int(np.argmax(contrast)) + 1, contrast   # argmax: first maximum


def main():
    cfg = json.load(open(os.path.join(MODEL, 'config.json')))['vision_config']
    W = read_safetensors(os.path.join(MODEL, 'model.safetensors'))
    S = cfg['image_size']
    gen = torch.Generator().manual_seed(SEED)
    pixels = torch.randn(IMAGES, CROPS, 3, S, S, generator=gen, dtype=torch.float32)   # stored as F32
    with torch.no_grad():
        maps = torch.stack([vision_cls_maps(W, cfg, pixels[i].to(DT)) for i in range(IMAGES)]).numpy()  # [I, C, L, N]
    L = maps.shape[2]
    out = {'about': 'scripts/analyze-goldens/gen.py: float64 CLIP vision forward of llava-next-tiny on layers_pixels.safetensors',
           'images': IMAGES, 'crops': CROPS, 'layers': L, 'tokens': maps.shape[3], 'topk_fraction': TOPK_FRACTION,
           'maps': maps.tolist(), 'measures': {}}
    for m in ['cosine', 'pearson', 'spearman', 'topk-iou']:
        per_image = [np.mean([matrix(maps[i, c], m) for c in range(CROPS)], 0) for i in range(IMAGES)]
        overall = np.mean(per_image, 0)
        s_all, contrast = split(overall)
        out['measures'][m] = {
            'per_image': [x.tolist() for x in per_image], 'overall': overall.tolist(),
            'split': s_all, 'contrast': [float(c) for c in contrast],
            'split_per_image': [split(x)[0] for x in per_image],
        }
    # Spearman with ties: image 0, crop 0's maps rounded to 2 significant steps of their range.
    q = np.round(maps[0, 0] / maps[0, 0].max() * 4) / 4
    out['ties'] = {'maps': q.tolist(), 'spearman': matrix(q, 'spearman').tolist(), 'ranks_layer0': ranks(q[0]).tolist()}
    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, 'layers_pixels.safetensors'), {'pixel_values': pixels.numpy()})
    with open(os.path.join(OUT, 'layers_golden.json'), 'w') as f:
        json.dump(out, f)
    print('wrote', OUT, 'split', {m: out['measures'][m]['split'] for m in out['measures']})


if __name__ == '__main__':
    main()
