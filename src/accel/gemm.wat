;; The matrix product of accel/gemm.ts, WebAssembly SIMD of our own: C[M × N] += X[M × K] · Wᵀ, W stored [N, K]
;; (a linear layer's weight), all fp32, every product accumulated in fp32. The GotoBLAS layout: W is packed into
;; panels of 8 of its rows, k-major (pack_w), so that the micro-kernel reads them in order; X is read in place,
;; 4 rows at a time; C is read, added to and written back once per depth block (the caller puts the bias or
;; zeros in it first).
;; Assembled by scripts/build-wasm.ts (wabt) into gemm_wasm.ts; spec/accel/gemm.spec.ts checks the bytes match.
;;
;; Order of the sum of C[i, j]: its initial value, then, per depth block of kc = 256 (the last one shorter),
;; the block's products added one by one in k order onto the running value: as written, f32x4.mul then
;; f32x4.add (two roundings per step). scripts/build-wasm.ts also builds a variant in which the 8 multiply-adds
;; of the micro-kernel are relaxed SIMD's f32x4.relaxed_madd (fused on CPUs with FMA: one rounding per step).
(module
  (memory (export "memory") 1)

  ;; Packs `rows` rows of W (row-major, k elements each, at byte w) into ⌈rows / 8⌉ panels at byte out:
  ;; panel j holds, for each k, the 8 values W[8j + c, k] (c = 0…7) side by side; rows past `rows` are zeros.
  (func (export "pack_w") (param $w i32) (param $rows i32) (param $k i32) (param $out i32)
    (local $j i32) (local $panels i32) (local $c i32) (local $kk i32) (local $src i32) (local $dst i32) (local $r i32)
    (local.set $panels (i32.shr_u (i32.add (local.get $rows) (i32.const 7)) (i32.const 3)))
    (block $pd (loop $pl (br_if $pd (i32.ge_u (local.get $j) (local.get $panels)))
      (local.set $c (i32.const 0))
      (block $cd (loop $cl (br_if $cd (i32.ge_u (local.get $c) (i32.const 8)))
        (local.set $r (i32.add (i32.shl (local.get $j) (i32.const 3)) (local.get $c)))
        ;; dst = out + ((j·k) · 8 + c) · 4, then a step of 32 bytes per k
        (local.set $dst (i32.add (local.get $out)
          (i32.shl (i32.add (i32.shl (i32.mul (local.get $j) (local.get $k)) (i32.const 3)) (local.get $c)) (i32.const 2))))
        (local.set $kk (i32.const 0))
        (if (i32.lt_u (local.get $r) (local.get $rows))
          (then
            (local.set $src (i32.add (local.get $w) (i32.shl (i32.mul (local.get $r) (local.get $k)) (i32.const 2))))
            (block $kd (loop $kl (br_if $kd (i32.ge_u (local.get $kk) (local.get $k)))
              (f32.store (local.get $dst) (f32.load (local.get $src)))
              (local.set $src (i32.add (local.get $src) (i32.const 4)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
              (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
              (br $kl))))
          (else
            (block $zd (loop $zl (br_if $zd (i32.ge_u (local.get $kk) (local.get $k)))
              (f32.store (local.get $dst) (f32.const 0))
              (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
              (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
              (br $zl)))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cl)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $pl))))

  ;; C[i, 8j + c] += Σ_k X[i, k] · P_j[k, c] for the `panels` packed panels at byte p, rows i < m (a multiple
  ;; of 4: the caller pads X and C with rows of zeros), X at byte x (row-major, k per row), C at byte cp with
  ;; ldc bytes per row, the panels' columns starting at C's first column. Depth blocks of 256, then 4-row
  ;; panels of X, then the W panels: the block's 8 KB of a W panel and 4 KB of X stay in the caches.
  (func (export "gemm") (param $x i32) (param $m i32) (param $k i32) (param $p i32) (param $panels i32) (param $cp i32) (param $ldc i32)
    (local $k0 i32) (local $kc i32) (local $i i32) (local $j i32) (local $t i32)
    (local $x0 i32) (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $pb i32) (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $ldx i32) (local $b0 v128) (local $b1 v128) (local $a v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128) (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local.set $ldx (i32.shl (local.get $k) (i32.const 2)))
    (block $kd (loop $kl (br_if $kd (i32.ge_u (local.get $k0) (local.get $k)))
      (local.set $kc (i32.sub (local.get $k) (local.get $k0)))
      (if (i32.gt_u (local.get $kc) (i32.const 256)) (then (local.set $kc (i32.const 256))))
      (local.set $i (i32.const 0))
      (block $id (loop $il (br_if $id (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $j (i32.const 0))
        (block $jd (loop $jl (br_if $jd (i32.ge_u (local.get $j) (local.get $panels)))
          ;; the 4 × 8 tile of C at rows i…i+3, columns 8j…8j+7
          (local.set $c0 (i32.add (local.get $cp) (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 5)))))
          (local.set $c1 (i32.add (local.get $c0) (local.get $ldc)))
          (local.set $c2 (i32.add (local.get $c1) (local.get $ldc)))
          (local.set $c3 (i32.add (local.get $c2) (local.get $ldc)))
          (local.set $s00 (v128.load (local.get $c0))) (local.set $s01 (v128.load offset=16 (local.get $c0)))
          (local.set $s10 (v128.load (local.get $c1))) (local.set $s11 (v128.load offset=16 (local.get $c1)))
          (local.set $s20 (v128.load (local.get $c2))) (local.set $s21 (v128.load offset=16 (local.get $c2)))
          (local.set $s30 (v128.load (local.get $c3))) (local.set $s31 (v128.load offset=16 (local.get $c3)))
          ;; X[i + r, k0…] and P_j[k0…, 0…7]
          (local.set $x0 (i32.add (local.get $x) (i32.add (i32.mul (local.get $i) (local.get $ldx)) (i32.shl (local.get $k0) (i32.const 2)))))
          (local.set $x1 (i32.add (local.get $x0) (local.get $ldx)))
          (local.set $x2 (i32.add (local.get $x1) (local.get $ldx)))
          (local.set $x3 (i32.add (local.get $x2) (local.get $ldx)))
          (local.set $pb (i32.add (local.get $p) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $k)) (local.get $k0)) (i32.const 5))))
          (local.set $t (local.get $kc))
          (block $td (loop $tl (br_if $td (i32.eqz (local.get $t)))
            (local.set $b0 (v128.load (local.get $pb)))
            (local.set $b1 (v128.load offset=16 (local.get $pb)))
            (local.set $a (v128.load32_splat (local.get $x0)))
            (local.set $s00 (f32x4.add (local.get $s00) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $s01 (f32x4.add (local.get $s01) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $a (v128.load32_splat (local.get $x1)))
            (local.set $s10 (f32x4.add (local.get $s10) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $s11 (f32x4.add (local.get $s11) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $a (v128.load32_splat (local.get $x2)))
            (local.set $s20 (f32x4.add (local.get $s20) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $s21 (f32x4.add (local.get $s21) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $a (v128.load32_splat (local.get $x3)))
            (local.set $s30 (f32x4.add (local.get $s30) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $s31 (f32x4.add (local.get $s31) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $x0 (i32.add (local.get $x0) (i32.const 4)))
            (local.set $x1 (i32.add (local.get $x1) (i32.const 4)))
            (local.set $x2 (i32.add (local.get $x2) (i32.const 4)))
            (local.set $x3 (i32.add (local.get $x3) (i32.const 4)))
            (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
            (local.set $t (i32.sub (local.get $t) (i32.const 1)))
            (br $tl)))
          (v128.store (local.get $c0) (local.get $s00)) (v128.store offset=16 (local.get $c0) (local.get $s01))
          (v128.store (local.get $c1) (local.get $s10)) (v128.store offset=16 (local.get $c1) (local.get $s11))
          (v128.store (local.get $c2) (local.get $s20)) (v128.store offset=16 (local.get $c2) (local.get $s21))
          (v128.store (local.get $c3) (local.get $s30)) (v128.store offset=16 (local.get $c3) (local.get $s31))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jl)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $il)))
      (local.set $k0 (i32.add (local.get $k0) (local.get $kc)))
      (br $kl))))
)
