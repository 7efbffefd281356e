#!/usr/bin/env bash
# bench/issue23.sh [--small] [--out DIR] [--model7b DIR] [--model13b DIR] [--clip DIR] [STEP …]
#
# The figures issue 23 asks for ("Must show"), one run on one machine, each step's output under --out
# (default /tmp/i23-results) as a .log (everything it printed) and, where the step makes one, a .json:
#
#   info        CPU, load, the BLAS and the kernel OpenBLAS runs (openblas_get_corename), the OPENBLAS_* env  (~5 s)
#   wasm-peak   one large product on one thread: tfjs-wasm/XNNPACK matMul 583 × 4096 × 11008 (W transposed once,
#               kept: no transpose in the timed product), our WebAssembly product (accel/gemm.ts, packing W in each
#               call) and the BLAS at 1 / per-core threads, then XNNPACK and ours in one worker thread per core at
#               once: a pool worker's ceiling while every core works (bench/blas_product.ts)  (~2 min)
#   wasm-stages wasm alone (--accel wasm: our product for linear and attention): the vision and decoder suites
#               (ViT-L/14-336 × 5 crops; prefill 2673 / 1105 / 583 tokens, 1 layer at Vicuna-7B width), then each
#               stage's GFLOP/s per worker beside wasm-peak's two XNNPACK figures, and beside its two figures of
#               ours (bench/stage_gflops.ts). Writes bench/results/{vision,decoder}_wasm.json too  (~4 min)
#   blas-stages NOT in the default list: the same suites with --accel blas and the PyTorch peer (vision and
#               prefill ≤ 1.25× PyTorch's best in the same run). Writes bench/results/*_wasm_blas.json  (~6 min)
#   decode      the streamed 7B decode per token with the default flags beside the floor (one read of the same
#               stored bytes), per layer and for the lm_head (bench/decode_floor.ts)  (~4 min)
#   run7b       hero-lvlm run on the 7B-shaped checkpoint, HERO r = 0.2, 8 new tokens, DEFAULT flags (OpenBLAS when
#               found), under /usr/bin/time -v: wall and peak RSS  (~3–4 min)
#   run7b-wasm  the same with --accel wasm  (~5–7 min)
#   disk7b      the same as run7b with --weights disk  (~3–4 min)
#   run13b      the 13B-shaped checkpoint with the default flags (auto picks what fits)  (~6 min)
#
# Default: every step but blas-stages, ≈ 30 min on an idle 2-core machine (the estimates above are for that machine;
# each step prints its own before it starts). Name steps to run a subset: bench/issue23.sh decode run7b.
# --small: the same steps on a 7B-width checkpoint of 2 decoder layers (generated at /tmp/i23-7b2 when absent,
# `random-weights --layers 2`, ≈ 1.9 GB; remove it after; or --model7b DIR) and a 100 × 30 image (3 crops, not 5),
# for checking this script end to end (minutes when idle; run7b took 18 min at load average 15): run13b uses it too, wasm-peak runs a 64-row product, and wasm-stages reads the committed
# bench/results/{vision,decoder}_wasm.json instead of running the suites.
# Needs: /usr/bin/time (Debian's `time` package), node; the checkpoints, by default under checkpoints/ (git-ignored):
#   hero-lvlm random-weights --preset llava-v1.6-vicuna-7b --dtype f16 --out checkpoints/llava-v1.6-vicuna-7b-f16
#   (and -13b, and clip-vit-large-patch14-336 → checkpoints/clip-vit-large-patch14-336-f16), or pass their folders.
# Run it on an idle machine: the figures
# are only comparable so; the load average is recorded before and after each step.
set -u
cd "$(dirname "$0")/.."
OUT=/tmp/i23-results
M7=checkpoints/llava-v1.6-vicuna-7b-f16
M13=checkpoints/llava-v1.6-vicuna-13b-f16
CLIP=checkpoints/clip-vit-large-patch14-336-f16
SMALL=0
M7_GIVEN=0
STEPS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --small) SMALL=1 ;;
    --out) OUT=$2; shift ;;
    --model7b) M7=$2; M7_GIVEN=1; shift ;;
    --model13b) M13=$2; shift ;;
    --clip) CLIP=$2; shift ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//; /^set -u/d'; exit 0 ;;
    info|wasm-peak|wasm-stages|blas-stages|decode|run7b|run7b-wasm|disk7b|run13b) STEPS+=("$1") ;;
    *) echo "bench/issue23.sh: error: unknown argument '$1' (--help lists the steps)" >&2; exit 2 ;;
  esac
  shift
done
[ ${#STEPS[@]} -eq 0 ] && STEPS=(info wasm-peak wasm-stages decode run7b run7b-wasm disk7b run13b)
mkdir -p "$OUT"
CLI="node src/cli/hero-lvlm.js"
TS="node --expose-gc -r ./src/cli/register-ts.js"
IMAGE=docs/assets/example.png

if [ $SMALL = 1 ]; then
  [ $M7_GIVEN = 1 ] || M7=/tmp/i23-7b2
  M13=$M7
  IMAGE=spec/fixtures/images/wide_h30_w100.png # a 1×2 tile grid: 3 crops instead of example.png's 5
  if [ ! -f "$M7/config.json" ]; then
    echo "== --small: writing the 7B-width 2-layer checkpoint $M7 (≈ 1.9 GB, a few minutes)"
    $CLI random-weights --preset llava-v1.6-vicuna-7b --dtype f16 --layers 2 --out "$M7" || exit 1
  fi
fi

for d in "$M7" "$CLIP"; do
  case " ${STEPS[*]} " in *" run"*|*" disk7b "*|*" decode "*) [ -f "$d/config.json" ] || { echo "bench/issue23.sh: error: $d has no config.json (generate it, or pass --model7b / --clip)" >&2; exit 2; } ;; esac
done

load() { cut -d' ' -f1-3 /proc/loadavg; }

# step NAME ESTIMATE COMMAND…: runs the command, its output to $OUT/NAME.log (and the terminal), with the load before/after.
step() {
  local name=$1 est=$2; shift 2
  echo "== $name (estimated $est on an idle 2-core machine; load average $(load)) — $OUT/$name.log"
  local t0=$(date +%s)
  { echo "\$ $*"; echo "load average before: $(load)"; "$@"; local rc=$?; echo "load average after: $(load)"; echo "exit $rc"; } 2>&1 | tee "$OUT/$name.log"
  echo "== $name: $(( $(date +%s) - t0 )) s"
}

# timed_step NAME ESTIMATE MODEL [FLAG…]: hero-lvlm run under /usr/bin/time -v (its report in $OUT/NAME.time), the run's
# output in $OUT/NAME.log, its report.json under $OUT/NAME.out, and $OUT/NAME.json: wall, peak RSS, stage timings, ids.
timed_step() {
  local name=$1 est=$2 model=$3; shift 3
  local dir="$OUT/$name.out" log="$OUT/$name.log"
  echo "== $name (estimated $est on an idle 2-core machine; load average $(load)) — $log"
  rm -rf "$dir"
  { echo "\$ hero-lvlm run --model $model $* (HERO r = 0.2, 8 new tokens)"; echo "load average before: $(load)"; } > "$log"
  /usr/bin/time -v -o "$OUT/$name.time" $CLI run --model "$model" --clip "$CLIP" --image "$IMAGE" --prompt 'What is in the picture?' \
    --ratio 0.2 --max-new-tokens 8 --out "$dir" "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  echo "load average after: $(load)" >> "$log"
  node -e '
    const fs = require("fs"); const [timeFile, log, dir, out, rc] = process.argv.slice(1);
    const t = fs.existsSync(timeFile) ? fs.readFileSync(timeFile, "utf8") : "";
    const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)/.exec(t)?.[1] ?? null;
    const sec = wall === null ? null : wall.split(":").reduce((a, x) => a * 60 + Number(x), 0);
    const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(t)?.[1] ?? NaN);
    const r = fs.existsSync(dir + "/report.json") ? JSON.parse(fs.readFileSync(dir + "/report.json", "utf8")) : {};
    const res = { exit: Number(rc), wall_s: sec, peak_rss_gib: kb * 1024 / 2 ** 30, timings_ms: r.timings_ms ?? null, answer_ids: r.answer_ids ?? null,
      lines: fs.readFileSync(log, "utf8").split("\n").filter((l) => /^(backend|accel|weights|memory|vision tower|decoder|CLIP vision tower):/.test(l)) };
    fs.writeFileSync(out, JSON.stringify(res, null, 2) + "\n");
    const line = `RESULT ${out.replace(/.*\//, "")}: wall ${sec} s, peak RSS ${res.peak_rss_gib.toFixed(2)} GiB, exit ${rc}`;
    console.log(line); fs.appendFileSync(log, line + "\n");
  ' "$OUT/$name.time" "$log" "$dir" "$OUT/$name.json" "$rc"
}

info() {
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') × $(nproc) (os.availableParallelism $(node -p 'require("os").availableParallelism()'))"
  echo "cpu family/model/stepping: $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')/$(grep -m1 '^model\s*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')/$(grep -m1 stepping /proc/cpuinfo | cut -d: -f2 | tr -d ' '); avx2 $(grep -qm1 avx2 /proc/cpuinfo && echo yes || echo no), avx512f $(grep -qm1 avx512f /proc/cpuinfo && echo yes || echo no)"
  free -g | head -2
  echo "OPENBLAS_* in this environment: $(env | grep '^OPENBLAS_' | tr '\n' ' ')"
  $TS -e '
    const { findBlas, describeBlas } = require("./src/accel/blas");
    const b = findBlas();
    console.log(typeof b === "string" ? `blas: none (${b})` : `blas: ${describeBlas(b)}`);
    const { rowsKernel } = require("./src/accel/rows");
    console.log(`one-row kernel (accel/rows.ts): ${rowsKernel()}`);
  '
  echo "node $(node --version); commit $(git rev-parse --short HEAD 2>/dev/null)"
}

for s in "${STEPS[@]}"; do
  case $s in
    info) step info '5 s' info ;;
    wasm-peak)
      if [ $SMALL = 1 ]; then step wasm-peak '10 s' $TS bench/blas_product.ts --rows 64 --runs 2
      else step wasm-peak '2 min' $TS bench/blas_product.ts --runs 3; fi ;;
    wasm-stages)
      if [ $SMALL = 1 ]; then
        cp bench/results/vision_wasm.json bench/results/decoder_wasm.json "$OUT/"
      else
        step wasm-stages-suites '6 min' npm run -s bench -- --suite vision,decoder --runs 1 --accel wasm --no-peer
        cp bench/results/vision_wasm.json bench/results/decoder_wasm.json "$OUT/"
      fi
      # the GFLOP/s of wasm-peak's first line matching a pattern (empty when there is none)
      rate() { grep -m1 "$1" "$OUT/wasm-peak.log" 2>/dev/null | grep -oE '[0-9.]+ GFLOP/s' | head -1 | cut -d' ' -f1; }
      peak=$(rate '^wasm/XNNPACK (Wᵀ kept) ') busy=$(rate '^wasm/XNNPACK (Wᵀ kept), .* worker threads at once')
      step wasm-stages '2 s' $TS bench/stage_gflops.ts --vision "$OUT/vision_wasm.json" --decoder "$OUT/decoder_wasm.json" ${peak:+--peak $peak} ${busy:+--peak-busy $busy} --json "$OUT/wasm-stages.json"
      # the same stages beside our own product's peak (accel/gemm.ts, which they ran with where no BLAS is used)
      gpeak=$(rate '^wasm-gemm (accel/gemm.ts) ') gbusy=$(rate '^wasm-gemm, .* worker threads at once')
      if [ -n "$gpeak" ]; then
        step wasm-stages-vs-gemm '2 s' $TS bench/stage_gflops.ts --vision "$OUT/vision_wasm.json" --decoder "$OUT/decoder_wasm.json" --peak $gpeak ${gbusy:+--peak-busy $gbusy} --json "$OUT/wasm-stages-vs-gemm.json"
      fi ;;
    blas-stages)
      step blas-stages '6 min' npm run -s bench -- --suite vision,decoder --runs 1 --accel blas
      cp bench/results/vision_wasm_blas.json bench/results/decoder_wasm_blas.json "$OUT/" ;;
    decode) step decode '4 min' $TS bench/decode_floor.ts --model "$M7" --weights streamed --steps 8 --json "$OUT/decode.json" ;;
    run7b) timed_step run7b '3–4 min' "$M7" ;;
    run7b-wasm) timed_step run7b-wasm '5–7 min' "$M7" --accel wasm ;;
    disk7b) timed_step disk7b '3–4 min' "$M7" --weights disk ;;
    run13b) timed_step run13b '6 min' "$M13" ;;
  esac
done
echo "== done: $OUT"
grep -h '^RESULT\|^decode per token\|^  per layer\|^  lm_head\|GFLOP/s' "$OUT"/*.log 2>/dev/null
