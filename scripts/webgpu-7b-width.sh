#!/usr/bin/env bash
# The Vicuna-7B text width on webgpu, through SwiftShader on the CPU, against wasm (docs/gpu.md "The 7B shape
# on WebGPU"): a random f16 checkpoint with llava-v1.6-vicuna-7b's decoder cut to a few layers and tiny-llava's
# 56-px vision tower (random-weights --layers, --vision-preset: config.json says so), one small image (34
# visual tokens), a four-id prompt and a few new tokens; `hero-lvlm trace` on wasm and on webgpu, then
# `hero-lvlm compare WASM WEBGPU` (the golden tolerances of src/core/tolerances.ts). By default the webgpu
# run caps maxStorageBufferBindingSize at 256 MiB ($HERO_LVLM_WEBGPU_MAX_BINDING), WebGPU's default
# maxBufferSize, so embed_tokens and lm_head (32064 × 4096 f32 = 501 MiB each) go through the row-block
# split (src/accel/binding_split.ts) as on a device with the default limits.
#
#   bash scripts/webgpu-7b-width.sh [WORK_DIR]        (default /tmp/hero-webgpu-7b-width; about 1.3 GB of disk)
#
# WEBGPU_7B_LAYERS (2), WEBGPU_7B_NEW_TOKENS (3) and WEBGPU_7B_CAP (bytes; 0: the device's own binding) size it.
# SwiftShader computes ≈ 0.1 GFLOP per CPU-second and the two layers and lm_head cost ≈ 1 GFLOP per token:
# expect several CPU-minutes for the webgpu trace (wasm: seconds). Exit status: compare's (0: within tolerance).
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-/tmp/hero-webgpu-7b-width}"
layers="${WEBGPU_7B_LAYERS:-2}"
new="${WEBGPU_7B_NEW_TOKENS:-3}"
cap="${WEBGPU_7B_CAP:-268435456}"
ck="$work/llava-v1.6-vicuna-7b-width-${layers}layers-tinyvision"
hl() { nice -n 10 node src/cli/hero-lvlm.js "$@"; }
mkdir -p "$work"
[ -f "$ck/config.json" ] || hl random-weights --preset llava-v1.6-vicuna-7b --dtype f16 --layers "$layers" --vision-preset tiny-llava --out "$ck"
args=(trace --model "$ck" --image spec/fixtures/images/wide_h30_w100.png --input-ids 1,IMG,450,3060 --max-new-tokens "$new" --method none)
timed() { local t0=$SECONDS; "$@"; echo "webgpu-7b-width: $(( SECONDS - t0 )) s wall: ${*:2:3} …" >&2; }
timed hl "${args[@]}" --backend wasm --out "$work/wasm.safetensors"
if [ "$cap" != 0 ]; then export HERO_LVLM_WEBGPU_MAX_BINDING="$cap"; fi
timed hl "${args[@]}" --backend webgpu --webgpu-adapter swiftshader --out "$work/webgpu.safetensors"
node src/cli/hero-lvlm.js compare "$work/wasm.safetensors" "$work/webgpu.safetensors"
