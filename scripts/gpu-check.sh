#!/usr/bin/env bash
# gpu-check: the webgpu backend on a GPU machine that has no Node and no network (docs/gpu.md).
#
#   bash gpu-check.sh [hero-lvlm-gpu.tar.xz | UNPACKED_DIR] [OUT_DIR]
#
# Unpacks the bundle made by `npm run gpu-bundle` (default: hero-lvlm-gpu.tar.xz next to this script, or
# the bundle this script sits in), makes the Vulkan loader loadable (the system's, else the bundle's copy),
# points Vulkan at the NVIDIA driver if it is there, then:
#   1. every golden case of app/gpu-cases.json through `hero-lvlm trace --backend $GPU_CHECK_BACKEND`,
#      checked against the golden with `hero-lvlm compare GOLDEN TRACE --only …` and against a cpu trace of
#      the same case with `hero-lvlm compare CPU TRACE` (skipped when the backend is cpu);
#   1b. the first case again with --weights streamed, which must equal the resident trace exactly;
#   2. LLaVA-NeXT's vision tower, ViT-L/14-336 over 5 crops (random weights), timed on the backend;
# and writes OUT_DIR/gpu-check.json (adapter, each case passed/failed, timings). Exit 0 when every step
# passed. GPU_CHECK_BACKEND (default webgpu) allows a dry run elsewhere, e.g. GPU_CHECK_BACKEND=cpu;
# GPU_CHECK_RUNS (3) and GPU_CHECK_CROPS (5) size the timing.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
backend="${GPU_CHECK_BACKEND:-webgpu}"
runs="${GPU_CHECK_RUNS:-3}"
crops="${GPU_CHECK_CROPS:-5}"
src="${1:-}"
out="$(mkdir -p "${2:-gpu-check-out}" && cd "${2:-gpu-check-out}" && pwd)"
say() { printf 'gpu-check: %s\n' "$*" >&2; }

# --- the bundle ---------------------------------------------------------------------------------------
if [ -z "$src" ]; then
  if [ -x "$here/../../node/bin/node" ]; then src="$(cd "$here/../.." && pwd)"     # inside an unpacked bundle
  else src="$here/hero-lvlm-gpu.tar.xz"; fi
fi
if [ -d "$src" ]; then
  top="$(cd "$src" && pwd)"
elif [ -f "$src" ]; then
  say "unpacking $src into $out"
  tar -C "$out" -xJf "$src" || { say "error: cannot unpack $src"; exit 2; }
  top="$out/hero-lvlm-gpu"
else
  say "error: no bundle at '$src' (make one with 'npm run gpu-bundle')"; exit 2
fi
node="$top/node/bin/node"
app="$top/app"
[ -x "$node" ] && [ -f "$app/gpu-cases.json" ] || { say "error: $top is not a hero-lvlm-gpu bundle"; exit 2; }
say "node $("$node" --version), backend $backend"

# --- Vulkan ---------------------------------------------------------------------------------------------
# The loader (libvulkan.so.1) and glvnd's libGLdispatch.so.0 and libEGL.so.1, which NVIDIA's Vulkan ICD
# (libGLX_nvidia.so.0) needs: each one the machine lacks is taken from the bundle (a folder of links on
# LD_LIBRARY_PATH, so that the system's own copies of the others still win).
vulkan="system"
if [ "$backend" = webgpu ]; then
  libs="$out/vulkan-libs"
  mkdir -p "$libs"
  taken=""
  for lib in libvulkan.so.1 libGLdispatch.so.0 libEGL.so.1; do
    ldconfig -p 2>/dev/null | grep -q "$lib " && continue
    if [ -f "$top/vulkan/$lib" ]; then
      ln -sf "$top/vulkan/$lib" "$libs/$lib"
      taken="$taken $lib"
    else
      say "no $lib on this machine and none in the bundle (Debian/Ubuntu: apt install libvulkan1 libglvnd0 libegl1)"
      [ "$lib" = libvulkan.so.1 ] && vulkan="missing"
    fi
  done
  if [ -n "$taken" ]; then
    export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    [ "$vulkan" = system ] && case "$taken" in *libvulkan*) vulkan="bundle" ;; esac
    say "not on this machine, taken from the bundle:$taken"
  fi
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
      if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; say "Vulkan driver: $icd"; break; fi
    done
  fi
fi

hl() { (cd "$app" && "$node" src/cli/hero-lvlm.js "$@"); }

# --- 1. golden cases ------------------------------------------------------------------------------------
have_compare=1
if ! hl compare --help >/dev/null 2>&1; then
  have_compare=0
  say "this bundle's hero-lvlm has no 'compare' command: traces are made but not checked"
fi
ncases=$("$node" -e 'console.log(require(process.argv[1]).length)' "$app/gpu-cases.json")
results="$out/cases.jsonl"
: > "$results"
adapter_line=""
for ((i = 0; i < ncases; i++)); do
  name=$("$node" -e 'console.log(require(process.argv[1])[+process.argv[2]].case)' "$app/gpu-cases.json" "$i")
  only=$("$node" -e 'console.log(require(process.argv[1])[+process.argv[2]].only)' "$app/gpu-cases.json" "$i")
  mapfile -t args < <("$node" -e 'for (const a of require(process.argv[1])[+process.argv[2]].args) console.log(a)' "$app/gpu-cases.json" "$i")
  trace="$out/$name.$backend.safetensors"
  t0=$(date +%s.%N)
  hl trace --backend "$backend" "${args[@]}" --out "$trace" > "$out/$name.$backend.stdout" 2> "$out/$name.$backend.stderr"
  rc=$?
  ms=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
  [ -z "$adapter_line" ] && adapter_line=$(grep -m1 '^webgpu adapter:' "$out/$name.$backend.stderr" || true)
  golden="skipped"; vs_cpu="skipped"; status="failed"; why=""
  if [ $rc -ne 0 ]; then
    why=$(grep -m1 'error' "$out/$name.$backend.stderr" || tail -n1 "$out/$name.$backend.stderr")
  elif [ $have_compare -eq 1 ]; then
    hl compare "spec/fixtures/cases/$name.safetensors" "$trace" --only "$only" --json > "$out/$name.golden.json" 2>&1
    case $? in 0) golden=passed ;; 1) golden=failed ;; *) golden=error ;; esac
    if [ "$backend" != cpu ]; then
      hl trace --backend cpu "${args[@]}" --out "$out/$name.cpu.safetensors" > /dev/null 2> "$out/$name.cpu.stderr" \
        && hl compare "$out/$name.cpu.safetensors" "$trace" --json > "$out/$name.vs_cpu.json" 2>&1
      case $? in 0) vs_cpu=passed ;; 1) vs_cpu=failed ;; *) vs_cpu=error ;; esac
    fi
    [ "$golden" = passed ] && [ "$vs_cpu" != failed ] && [ "$vs_cpu" != error ] && status=passed
  else
    status="traced"
  fi
  say "$name: $status (trace $ms ms; golden $golden; vs cpu $vs_cpu)${why:+ — $why}"
  "$node" -e 'const [n, s, ms, g, c, w] = process.argv.slice(1); console.log(JSON.stringify({ case: n, status: s, trace_ms: +ms, golden: g, vs_cpu: c, error: w || undefined }))' \
    "$name" "$status" "$ms" "$golden" "$vs_cpu" "$why" >> "$results"
done

# --- 1b. streamed weights ------------------------------------------------------------------------------
# The first case again with --weights streamed (layers widened from their stored bytes one at a time,
# docs/memory.md): the trace must equal the resident one exactly (compare --atol 0).
streamed="skipped"
if [ $have_compare -eq 1 ] && [ "$ncases" -gt 0 ]; then
  name=$("$node" -e 'console.log(require(process.argv[1])[0].case)' "$app/gpu-cases.json")
  mapfile -t args < <("$node" -e 'for (const a of require(process.argv[1])[0].args) console.log(a)' "$app/gpu-cases.json")
  if [ -f "$out/$name.$backend.safetensors" ] \
    && hl trace --backend "$backend" "${args[@]}" --weights streamed --out "$out/$name.$backend.streamed.safetensors" > /dev/null 2> "$out/$name.$backend.streamed.stderr"; then
    hl compare "$out/$name.$backend.safetensors" "$out/$name.$backend.streamed.safetensors" --atol 0 --json > "$out/$name.streamed.json" 2>&1
    case $? in 0) streamed=passed ;; 1) streamed=failed ;; *) streamed=error ;; esac
  else
    streamed=error
  fi
  say "$name with --weights streamed: $streamed (against the resident trace, exactly)"
fi

# --- 2. ViT-L/14-336, 5 crops ---------------------------------------------------------------------------
say "ViT-L/14-336 × $crops crops on $backend ($runs runs after a warm-up)"
(cd "$app" && "$node" dist/accel/vision_timing.js --backend "$backend" --runs "$runs" --crops "$crops") > "$out/vision.json" 2> "$out/vision.stderr"
vrc=$?
[ -z "$adapter_line" ] && adapter_line=$(grep -m1 '^webgpu adapter:' "$out/vision.stderr" || true)
[ $vrc -eq 0 ] || say "vision timing failed: $(tail -n1 "$out/vision.stderr")"

# --- summary --------------------------------------------------------------------------------------------
"$node" - "$out" "$backend" "$vulkan" "$adapter_line" "$vrc" "$top/manifest.json" "$streamed" > "$out/gpu-check.json" <<'EOF'
const fs = require('fs');
const [out, backend, vulkan, adapter, vrc, manifest, streamed] = process.argv.slice(2);
const cases = fs.readFileSync(`${out}/cases.jsonl`, 'utf8').trim().split('\n').filter(Boolean).map(JSON.parse);
let vision = null;
try { vision = JSON.parse(fs.readFileSync(`${out}/vision.json`, 'utf8').trim().split('\n').pop()); } catch { vision = { error: fs.readFileSync(`${out}/vision.stderr`, 'utf8').trim().split('\n').pop() }; }
const m = fs.existsSync(manifest) ? JSON.parse(fs.readFileSync(manifest, 'utf8')) : {};
const ok = cases.length > 0 && cases.every((c) => c.status === 'passed') && +vrc === 0 && streamed !== 'failed' && streamed !== 'error';
console.log(JSON.stringify({
  ok, backend, date: new Date().toISOString(), node: process.version, bundle_created: m.created,
  vulkan_loader: vulkan, vk_driver_files: process.env.VK_DRIVER_FILES || null, adapter: adapter || null,
  cases_passed: cases.filter((c) => c.status === 'passed').length, cases_total: cases.length, cases, streamed_weights: streamed,
  vision_vit_l_336: vision,
}, null, 1));
EOF
say "summary: $out/gpu-check.json"
"$node" -e 'const s = require(process.argv[1]); console.log(`gpu-check: ${s.ok ? "PASSED" : "FAILED"}: ${s.cases_passed}/${s.cases_total} cases, ViT-L median ${s.vision_vit_l_336 && s.vision_vit_l_336.median_ms ? Math.round(s.vision_vit_l_336.median_ms) + " ms" : "n/a"}; ${s.adapter || "no adapter line"}`); process.exitCode = s.ok ? 0 : 1' "$out/gpu-check.json"
