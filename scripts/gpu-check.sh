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
#   3. the full 7B shape: llava-v1.6-vicuna-7b and CLIP ViT-L/14-336 written in f16 by `hero-lvlm
#      random-weights` into OUT_DIR/ck (about 15 GB of disk), then `hero-lvlm run` with HERO (r = 0.2,
#      8 new tokens) on a 672 × 672 image, on the backend and on wasm: each run's stage times (report.json
#      timings_ms), its peak host memory (VmHWM; on NVIDIA also the GPU memory used, nvidia-smi) and the
#      backend/wasm ratio per stage. GPU_CHECK_7B=0 leaves it out (default: on, except with the cpu backend);
#      GPU_CHECK_7B_PRESETS="LLAVA CLIP" names other random-weights presets (e.g. "tiny-llava tiny-clip", to try
#      the step on any machine; the JSON names the presets used), GPU_CHECK_7B_EXTRA more run flags (the tiny
#      towers need e.g. "--low-layers 1 --high-layers 2");
# and writes OUT_DIR/gpu-check.json (adapter, each case passed/failed, timings). Exit 0 when every step
# passed. GPU_CHECK_BACKEND (default webgpu) allows a dry run elsewhere, e.g. GPU_CHECK_BACKEND=cpu;
# GPU_CHECK_RUNS (3) and GPU_CHECK_CROPS (5) size the timing.
#
#   bash gpu-check.sh --dry-run [BUNDLE] [OUT_DIR]    prints step 3's commands and runs nothing
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dry=0
if [ "${1:-}" = --dry-run ]; then dry=1; shift; fi
backend="${GPU_CHECK_BACKEND:-webgpu}"
runs="${GPU_CHECK_RUNS:-3}"
crops="${GPU_CHECK_CROPS:-5}"
shape7b="${GPU_CHECK_7B:-$([ "$backend" = cpu ] && echo 0 || echo 1)}"
read -r preset_llava preset_clip <<<"${GPU_CHECK_7B_PRESETS:-llava-v1.6-vicuna-7b clip-vit-large-patch14-336}"
src="${1:-}"
say() { printf 'gpu-check: %s\n' "$*" >&2; }

# --- 3. the 7B shape (defined first, so that --dry-run can print it) --------------------------------------
# Commands, one array each; `step3 run` runs them, `step3 print` prints them (shell-quoted).
step3() {
  local mode="$1" ck="$out/ck" img="$out/ck/image_672.png"
  local -a gen_llava=(random-weights --preset "$preset_llava" --dtype f16 --out "$ck/$preset_llava")
  local -a gen_clip=(random-weights --preset "$preset_clip" --dtype f16 --out "$ck/$preset_clip")
  local -a run_args=(run --model "$ck/$preset_llava" --clip "$ck/$preset_clip" --image "$img"
    --prompt "Describe the image in detail." --method hero --ratio 0.2 --max-new-tokens 8 --json)
  local -a extra; read -r -a extra <<<"${GPU_CHECK_7B_EXTRA:-}"; run_args+=("${extra[@]}")
  if [ "$mode" = print ]; then
    printf 'hero-lvlm'; printf ' %q' "${gen_llava[@]}"; printf '\n'
    printf 'hero-lvlm'; printf ' %q' "${gen_clip[@]}"; printf '\n'
    printf 'write %q (672 x 672 RGB gradient PNG: five 336-px crops)\n' "$img"
    for b in "$backend" wasm; do printf 'hero-lvlm'; printf ' %q' "${run_args[@]}" --backend "$b" --out "$out/shape7b.$b"; printf '   # peak memory: VmHWM of the process\n'; done
    return 0
  fi
  mkdir -p "$ck"
  for g in gen_llava gen_clip; do
    local -n cmd="$g"
    local dir="${cmd[-1]}"
    if [ -f "$dir/config.json" ]; then say "7B shape: $dir is there already"; continue; fi
    say "7B shape: hero-lvlm ${cmd[*]}"
    hl "${cmd[@]}" > "$out/shape7b.gen.log" 2>&1 || { say "7B shape: random-weights failed: $(tail -n1 "$out/shape7b.gen.log")"; return 1; }
  done
  # a 672 × 672 gradient: the largest square pinpoint, so the full five crops (base + 2 × 2 tiles)
  "$node" -e '
    const zlib = require("zlib"), fs = require("fs"), n = 672;
    const crcTable = Array.from({ length: 256 }, (_, k) => { let c = k; for (let i = 0; i < 8; i++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
    const crc = (b) => { let c = ~0; for (const x of b) c = crcTable[(c ^ x) & 255] ^ (c >>> 8); return (~c) >>> 0; };
    const chunk = (type, data) => { const t = Buffer.from(type), len = Buffer.alloc(4), c = Buffer.alloc(4); len.writeUInt32BE(data.length); c.writeUInt32BE(crc(Buffer.concat([t, data]))); return Buffer.concat([len, t, data, c]); };
    const raw = Buffer.alloc(n * (1 + 3 * n));
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) { const o = y * (1 + 3 * n) + 1 + 3 * x; raw[o] = (x * 255 / n) | 0; raw[o + 1] = (y * 255 / n) | 0; raw[o + 2] = ((x ^ y) & 255); }
    const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(n, 0); ihdr.writeUInt32BE(n, 4); ihdr[8] = 8; ihdr[9] = 2;
    fs.writeFileSync(process.argv[1], Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]));
  ' "$img" || return 1
  for b in "$backend" wasm; do
    say "7B shape: hero-lvlm run --backend $b (r = 0.2, 8 new tokens)"
    rm -rf "$out/shape7b.$b"
    (cd "$app" && exec "$node" src/cli/hero-lvlm.js "${run_args[@]}" --backend "$b" --out "$out/shape7b.$b") > "$out/shape7b.$b.json" 2> "$out/shape7b.$b.stderr" &
    local pid=$! hwm=0 gpu=0 t0 rc
    t0=$(date +%s.%N)
    # VmHWM is the process's own peak resident memory; it only grows, so the last reading is the peak
    while kill -0 "$pid" 2>/dev/null; do
      local v; v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null); [ -n "$v" ] && hwm=$v
      if command -v nvidia-smi >/dev/null 2>&1; then
        local g; g=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | head -n1 | tr -dc 0-9)
        [ -n "$g" ] && [ "$g" -gt "$gpu" ] && gpu=$g
      fi
      sleep 1
    done
    wait "$pid"; rc=$?
    local wall; wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
    say "7B shape on $b: exit $rc, $wall ms wall, peak host memory $((hwm / 1024)) MiB$([ "$gpu" -gt 0 ] && echo ", GPU memory used up to $gpu MiB")"
    "$node" -e 'const [b, rc, wall, hwm, gpu] = process.argv.slice(1); console.log(JSON.stringify({ backend: b, exit: +rc, wall_ms: +wall, peak_host_kib: +hwm, peak_gpu_used_mib: +gpu || null }))' \
      "$b" "$rc" "$wall" "$hwm" "$gpu" > "$out/shape7b.$b.measure.json"
  done
}
if [ $dry -eq 1 ]; then
  out="${2:-gpu-check-out}"
  if [ "$shape7b" = 1 ]; then say "dry run: step 3's commands (steps 1-2 run the golden cases and the ViT-L timing)"; step3 print
  else say "dry run: GPU_CHECK_7B=$shape7b, step 3 left out"; fi
  exit 0
fi
out="$(mkdir -p "${2:-gpu-check-out}" && cd "${2:-gpu-check-out}" && pwd)"

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

# --- 3. the 7B shape ---------------------------------------------------------------------------------
s7rc=0
if [ "$shape7b" = 1 ]; then step3 run; s7rc=$?; else say "7B shape: left out (GPU_CHECK_7B=$shape7b)"; fi

# --- summary --------------------------------------------------------------------------------------------
"$node" - "$out" "$backend" "$vulkan" "$adapter_line" "$vrc" "$top/manifest.json" "$streamed" "$shape7b" "$s7rc" "$preset_llava" "$preset_clip" > "$out/gpu-check.json" <<'EOF'
const fs = require('fs');
const [out, backend, vulkan, adapter, vrc, manifest, streamed, shape7b, s7rc, ...presets] = process.argv.slice(2);
// Step 3: per backend its report.json stage times and the measured peak memory; the ratio backend/wasm per stage.
function shape7bSummary() {
  if (shape7b !== '1') return null;
  const runs = {};
  for (const b of [backend, 'wasm']) {
    let m = null, rep = null;
    try { m = JSON.parse(fs.readFileSync(`${out}/shape7b.${b}.measure.json`, 'utf8')); } catch { /* not run */ }
    try { rep = JSON.parse(fs.readFileSync(`${out}/shape7b.${b}/report.json`, 'utf8')); } catch { /* failed */ }
    let err = null;
    try { err = fs.readFileSync(`${out}/shape7b.${b}.stderr`, 'utf8').trim().split('\n').filter((l) => /error/.test(l)).pop() || null; } catch { /* none */ }
    runs[b] = { ...(m || { exit: null }), timings_ms: rep ? rep.timings_ms : null, answer_ids: rep ? rep.answer_ids : null, error: rep ? null : err };
  }
  const a = runs[backend], w = runs.wasm;
  const ratio = a.timings_ms && w.timings_ms ? Object.fromEntries(Object.keys(a.timings_ms).filter((k) => w.timings_ms[k] > 0).map((k) => [k, +(a.timings_ms[k] / w.timings_ms[k]).toFixed(4)])) : null;
  const same = a.answer_ids && w.answer_ids ? JSON.stringify(a.answer_ids) === JSON.stringify(w.answer_ids) : null; // informational: fp32 order may flip a random model's argmax
  return { model: `${presets.join(' + ')}, random f16 (hero-lvlm random-weights)`, method: 'hero', ratio: 0.2, max_new_tokens: 8, image: '672 x 672', runs, [`${backend}_over_wasm`]: ratio, same_answer_ids: same };
}
const s7 = shape7bSummary();
const cases = fs.readFileSync(`${out}/cases.jsonl`, 'utf8').trim().split('\n').filter(Boolean).map(JSON.parse);
let vision = null;
try { vision = JSON.parse(fs.readFileSync(`${out}/vision.json`, 'utf8').trim().split('\n').pop()); } catch { vision = { error: fs.readFileSync(`${out}/vision.stderr`, 'utf8').trim().split('\n').pop() }; }
const m = fs.existsSync(manifest) ? JSON.parse(fs.readFileSync(manifest, 'utf8')) : {};
const ok = cases.length > 0 && cases.every((c) => c.status === 'passed') && +vrc === 0 && streamed !== 'failed' && streamed !== 'error'
  && (!s7 || (+s7rc === 0 && Object.values(s7.runs).every((r) => r.exit === 0 && r.timings_ms)));
console.log(JSON.stringify({
  ok, backend, date: new Date().toISOString(), node: process.version, bundle_created: m.created,
  vulkan_loader: vulkan, vk_driver_files: process.env.VK_DRIVER_FILES || null, adapter: adapter || null,
  cases_passed: cases.filter((c) => c.status === 'passed').length, cases_total: cases.length, cases, streamed_weights: streamed,
  vision_vit_l_336: vision, shape_7b: s7,
}, null, 1));
EOF
say "summary: $out/gpu-check.json"
"$node" -e 'const s = require(process.argv[1]); console.log(`gpu-check: ${s.ok ? "PASSED" : "FAILED"}: ${s.cases_passed}/${s.cases_total} cases, ViT-L median ${s.vision_vit_l_336 && s.vision_vit_l_336.median_ms ? Math.round(s.vision_vit_l_336.median_ms) + " ms" : "n/a"}; ${s.adapter || "no adapter line"}`); process.exitCode = s.ok ? 0 : 1' "$out/gpu-check.json"
