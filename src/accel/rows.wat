;; One-row products from stored weight bytes (and, at the end, the plain widening of such bytes): y[r] = Σ_{i<n} w[r, i] · x[i] for r < rows, with w stored
;; row-major as F16, BF16 or F32 (little-endian, as safetensors holds it), x and y fp32, accumulated in fp32.
;; Each weight element is widened exactly in registers (never written back as fp32): the caller (rows.ts)
;; copies a few hundred KB of weight rows into this memory at a time and calls dot_* on them while hot.
;; dot_f16_scaled is dot_f16 for finite weights and a pre-scaled x, with fewer operations per element (see there).
;; Assembled by scripts/build-wasm.ts (wabt) into rows_wasm.ts; spec/accel/rows.spec.ts checks the bytes match.
;;
;; Layout of a call: w at byte `w` (rows·n elements, no padding), x at byte `x` (n fp32), y at byte `y`
;; (rows fp32). All pointers are the caller's; any alignment is accepted (v128.load does not require it).
;; Order of the sum, per row: lane k of accumulator a (four, 4 wide) takes elements 16j + 4a + k;
;; then (a0 + a1) + (a2 + a3), its four lanes left to right, then the n mod 16 tail elements in order
;; (dot_f32: two accumulators, 8 elements per step).
(module
  (memory (export "memory") 1)

;; Converting f16 bits h (sign-extended into i32 lanes) to fp32, exactly, for every class: h << 13 puts sign,
;; exponent and mantissa under the fp32 ones (the mask keeps the sign in bit 31 and drops the copies of it that
;; the sign extension shifted into bits 28–30), off by an exponent bias of 127 − 15 = 112, so the product with
;; 2^112 is the value for normals and subnormals (an fp32 subnormal times 2^112 is exact) and keeps ±0;
;; exponent 31 (inf, NaN) has its fp32 exponent forced to all ones, the mantissa kept. The hot loop repeats
;; these lines inline (a call per four elements costs more than the conversion); $f16 is the tail's copy.
  (func $f16 (param $h i32) (result f32)
    (local $v i32) (local $f i32)
    (local.set $v (i32.and (i32.shl (local.get $h) (i32.const 13)) (i32.const 0x8fffe000)))
    (local.set $f (i32.reinterpret_f32 (f32.mul (f32.reinterpret_i32 (local.get $v)) (f32.reinterpret_i32 (i32.const 0x77800000)))))
    (if (i32.eq (i32.and (local.get $v) (i32.const 0x0f800000)) (i32.const 0x0f800000))
      (then (local.set $f (i32.or (local.get $f) (i32.const 0x7f800000)))))
    (f32.reinterpret_i32 (local.get $f)))

  ;; The four lanes of a summed, left to right.
  (func $hsum (param $a v128) (result f32)
    (f32.add
      (f32.add
        (f32.add (f32x4.extract_lane 0 (local.get $a)) (f32x4.extract_lane 1 (local.get $a)))
        (f32x4.extract_lane 2 (local.get $a)))
      (f32x4.extract_lane 3 (local.get $a))))

  ;; f16 weights: 16 elements per step, widened as above, four accumulators.
  (func (export "dot_f16") (param $w i32) (param $x i32) (param $y i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $i i32) (local $n16 i32) (local $p i32) (local $q i32)
    (local $h0 v128) (local $h1 v128) (local $e0 v128) (local $e1 v128) (local $e2 v128) (local $e3 v128) (local $v v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $s f32)
    (local.set $n16 (i32.and (local.get $n) (i32.const -16)))
    (local.set $p (local.get $w))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (block $vec_done
          (loop $vec
            (br_if $vec_done (i32.ge_u (local.get $i) (local.get $n16)))
            (local.set $h0 (v128.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 1)))))
            (local.set $h1 (v128.load offset=16 (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 1)))))
            (local.set $e0 (i32x4.extend_low_i16x8_s (local.get $h0)))
            (local.set $e1 (i32x4.extend_high_i16x8_s (local.get $h0)))
            (local.set $e2 (i32x4.extend_low_i16x8_s (local.get $h1)))
            (local.set $e3 (i32x4.extend_high_i16x8_s (local.get $h1)))
            (local.set $v (v128.and (i32x4.shl (local.get $e0) (i32.const 13)) (v128.const i32x4 0x8fffe000 0x8fffe000 0x8fffe000 0x8fffe000)))
            (local.set $e0 (v128.or (f32x4.mul (local.get $v) (v128.const i32x4 0x77800000 0x77800000 0x77800000 0x77800000))
              (v128.and (i32x4.eq (v128.and (local.get $v) (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
                                  (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
                        (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))))
            (local.set $v (v128.and (i32x4.shl (local.get $e1) (i32.const 13)) (v128.const i32x4 0x8fffe000 0x8fffe000 0x8fffe000 0x8fffe000)))
            (local.set $e1 (v128.or (f32x4.mul (local.get $v) (v128.const i32x4 0x77800000 0x77800000 0x77800000 0x77800000))
              (v128.and (i32x4.eq (v128.and (local.get $v) (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
                                  (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
                        (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))))
            (local.set $v (v128.and (i32x4.shl (local.get $e2) (i32.const 13)) (v128.const i32x4 0x8fffe000 0x8fffe000 0x8fffe000 0x8fffe000)))
            (local.set $e2 (v128.or (f32x4.mul (local.get $v) (v128.const i32x4 0x77800000 0x77800000 0x77800000 0x77800000))
              (v128.and (i32x4.eq (v128.and (local.get $v) (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
                                  (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
                        (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))))
            (local.set $v (v128.and (i32x4.shl (local.get $e3) (i32.const 13)) (v128.const i32x4 0x8fffe000 0x8fffe000 0x8fffe000 0x8fffe000)))
            (local.set $e3 (v128.or (f32x4.mul (local.get $v) (v128.const i32x4 0x77800000 0x77800000 0x77800000 0x77800000))
              (v128.and (i32x4.eq (v128.and (local.get $v) (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
                                  (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
                        (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))))
            (local.set $q (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $e0) (v128.load (local.get $q)))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $e1) (v128.load offset=16 (local.get $q)))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $e2) (v128.load offset=32 (local.get $q)))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $e3) (v128.load offset=48 (local.get $q)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $vec)))
        (local.set $s (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3)))))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $s (f32.add (local.get $s)
              (f32.mul (call $f16 (i32.load16_s (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 1)))))
                       (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $tail)))
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2))) (local.get $s))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 1))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

;; f16 weights, faster: the same sums, bit for bit, with x pre-scaled by 2^112 (xs = x · 2^112, exact when
;; finite: the caller checks). The shifted bits v of a finite f16 w are the fp32 number w · 2^-112 exactly (a
;; subnormal for small w), so v · xs is the exact product w · x rounded once, the same fp32 number as
;; widen(w) · x: the 2^112 product and the inf/NaN fix-up leave the loop. An element with exponent 31 (inf,
;; NaN) would be a finite v, so the loop also keeps the largest exponent field it saw, and the result says
;; whether one was all ones (1: the caller recomputes these rows with dot_f16); 0: y holds the sums.
  (func (export "dot_f16_scaled") (param $w i32) (param $x i32) (param $y i32) (param $rows i32) (param $n i32) (result i32)
    (local $r i32) (local $i i32) (local $n16 i32) (local $p i32) (local $q i32) (local $h i32) (local $bad i32)
    (local $h0 v128) (local $h1 v128) (local $e0 v128) (local $e1 v128) (local $e2 v128) (local $e3 v128) (local $top v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $s f32)
    (local.set $n16 (i32.and (local.get $n) (i32.const -16)))
    (local.set $p (local.get $w))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (block $vec_done
          (loop $vec
            (br_if $vec_done (i32.ge_u (local.get $i) (local.get $n16)))
            (local.set $h0 (v128.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 1)))))
            (local.set $h1 (v128.load offset=16 (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 1)))))
            (local.set $top (i16x8.max_u (local.get $top) (v128.and (local.get $h0) (v128.const i16x8 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00))))
            (local.set $top (i16x8.max_u (local.get $top) (v128.and (local.get $h1) (v128.const i16x8 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00))))
            (local.set $e0 (v128.and (i32x4.shl (i32x4.extend_low_i16x8_s (local.get $h0)) (i32.const 13)) (v128.const i32x4 0x8fffe000 0x8fffe000 0x8fffe000 0x8fffe000)))
            (local.set $e1 (v128.and (i32x4.shl (i32x4.extend_high_i16x8_s (local.get $h0)) (i32.const 13)) (v128.const i32x4 0x8fffe000 0x8fffe000 0x8fffe000 0x8fffe000)))
            (local.set $e2 (v128.and (i32x4.shl (i32x4.extend_low_i16x8_s (local.get $h1)) (i32.const 13)) (v128.const i32x4 0x8fffe000 0x8fffe000 0x8fffe000 0x8fffe000)))
            (local.set $e3 (v128.and (i32x4.shl (i32x4.extend_high_i16x8_s (local.get $h1)) (i32.const 13)) (v128.const i32x4 0x8fffe000 0x8fffe000 0x8fffe000 0x8fffe000)))
            (local.set $q (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $e0) (v128.load (local.get $q)))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $e1) (v128.load offset=16 (local.get $q)))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $e2) (v128.load offset=32 (local.get $q)))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $e3) (v128.load offset=48 (local.get $q)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $vec)))
        (local.set $s (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3)))))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $h (i32.load16_s (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 1)))))
            (local.set $bad (i32.or (local.get $bad) (i32.eq (i32.and (local.get $h) (i32.const 0x7c00)) (i32.const 0x7c00))))
            (local.set $s (f32.add (local.get $s)
              (f32.mul (f32.reinterpret_i32 (i32.and (i32.shl (local.get $h) (i32.const 13)) (i32.const 0x8fffe000)))
                       (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $tail)))
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2))) (local.get $s))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 1))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row)))
    (i32.or (local.get $bad)
      (v128.any_true (i16x8.eq (local.get $top) (v128.const i16x8 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00)))))

  ;; bf16 is the top half of an fp32: the bits shifted into place are the value, every class included.
  (func (export "dot_bf16") (param $w i32) (param $x i32) (param $y i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $i i32) (local $n16 i32) (local $p i32) (local $q i32)
    (local $h0 v128) (local $h1 v128) (local $e0 v128) (local $e1 v128) (local $e2 v128) (local $e3 v128) (local $v v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $s f32)
    (local.set $n16 (i32.and (local.get $n) (i32.const -16)))
    (local.set $p (local.get $w))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (block $vec_done
          (loop $vec
            (br_if $vec_done (i32.ge_u (local.get $i) (local.get $n16)))
            (local.set $h0 (v128.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 1)))))
            (local.set $h1 (v128.load offset=16 (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 1)))))
            (local.set $e0 (i32x4.extend_low_i16x8_u (local.get $h0)))
            (local.set $e1 (i32x4.extend_high_i16x8_u (local.get $h0)))
            (local.set $e2 (i32x4.extend_low_i16x8_u (local.get $h1)))
            (local.set $e3 (i32x4.extend_high_i16x8_u (local.get $h1)))
            (local.set $e0 (i32x4.shl (local.get $e0) (i32.const 16)))
            (local.set $e1 (i32x4.shl (local.get $e1) (i32.const 16)))
            (local.set $e2 (i32x4.shl (local.get $e2) (i32.const 16)))
            (local.set $e3 (i32x4.shl (local.get $e3) (i32.const 16)))
            (local.set $q (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $e0) (v128.load (local.get $q)))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $e1) (v128.load offset=16 (local.get $q)))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $e2) (v128.load offset=32 (local.get $q)))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $e3) (v128.load offset=48 (local.get $q)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $vec)))
        (local.set $s (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3)))))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $s (f32.add (local.get $s)
              (f32.mul (f32.reinterpret_i32 (i32.shl (i32.load16_u (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 1)))) (i32.const 16)))
                       (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $tail)))
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2))) (local.get $s))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 1))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; F32 weights: the same loop with plain loads.
  (func (export "dot_f32") (param $w i32) (param $x i32) (param $y i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $i i32) (local $n8 i32) (local $p i32)
    (local $a0 v128) (local $a1 v128) (local $s f32) (local $o i32)
    (local.set $n8 (i32.and (local.get $n) (i32.const -8)))
    (local.set $p (local.get $w))
    (block $rows_done
      (loop $row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (block $vec_done
          (loop $vec
            (br_if $vec_done (i32.ge_u (local.get $i) (local.get $n8)))
            (local.set $o (i32.shl (local.get $i) (i32.const 2)))
            (local.set $a0 (f32x4.add (local.get $a0)
              (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $o))) (v128.load (i32.add (local.get $x) (local.get $o))))))
            (local.set $a1 (f32x4.add (local.get $a1)
              (f32x4.mul (v128.load offset=16 (i32.add (local.get $p) (local.get $o))) (v128.load offset=16 (i32.add (local.get $x) (local.get $o))))))
            (local.set $i (i32.add (local.get $i) (i32.const 8)))
            (br $vec)))
        (local.set $s (call $hsum (f32x4.add (local.get $a0) (local.get $a1))))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $o (i32.shl (local.get $i) (i32.const 2)))
            (local.set $s (f32.add (local.get $s)
              (f32.mul (f32.load (i32.add (local.get $p) (local.get $o))) (f32.load (i32.add (local.get $x) (local.get $o))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $tail)))
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2))) (local.get $s))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))));; Widening, written out: dst[i] = fp32(src[i]) for i < n, src holding f16 or bf16 bits (little-endian) at byte
;; `src`, dst fp32 at byte `dst` (accel/widen.ts: the f16/bf16 → fp32 of a streamed weight before a product
;; that needs it in fp32). Exact for every class, by the conversions above; 8 elements per step, then the tail.
;; An f16 NaN becomes the canonical fp32 NaN 0x7fc00000, as io/safetensors.ts's table writes it (so the two
;; agree bit for bit; a product does not care which NaN it gets, hence dot_f16 keeps the payload).
  (func (export "widen_f16") (param $src i32) (param $dst i32) (param $n i32)
    (local $i i32) (local $n8 i32) (local $h v128) (local $v v128) (local $e v128) (local $o i32) (local $f f32)
    (local.set $n8 (i32.and (local.get $n) (i32.const -8)))
    (block $vec_done
      (loop $vec
        (br_if $vec_done (i32.ge_u (local.get $i) (local.get $n8)))
        (local.set $h (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $o (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $v (v128.and (i32x4.shl (i32x4.extend_low_i16x8_s (local.get $h)) (i32.const 13)) (v128.const i32x4 0x8fffe000 0x8fffe000 0x8fffe000 0x8fffe000)))
        (local.set $e (v128.or (f32x4.mul (local.get $v) (v128.const i32x4 0x77800000 0x77800000 0x77800000 0x77800000))
          (v128.and (i32x4.eq (v128.and (local.get $v) (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
                              (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
                    (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))))
        (v128.store (local.get $o) (v128.bitselect (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000) (local.get $e) (f32x4.ne (local.get $e) (local.get $e))))
        (local.set $v (v128.and (i32x4.shl (i32x4.extend_high_i16x8_s (local.get $h)) (i32.const 13)) (v128.const i32x4 0x8fffe000 0x8fffe000 0x8fffe000 0x8fffe000)))
        (local.set $e (v128.or (f32x4.mul (local.get $v) (v128.const i32x4 0x77800000 0x77800000 0x77800000 0x77800000))
          (v128.and (i32x4.eq (v128.and (local.get $v) (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
                              (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
                    (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))))
        (v128.store offset=16 (local.get $o) (v128.bitselect (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000) (local.get $e) (f32x4.ne (local.get $e) (local.get $e))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $vec)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $f (call $f16 (i32.load16_s (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1))))))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
          (select (f32.reinterpret_i32 (i32.const 0x7fc00000)) (local.get $f) (f32.ne (local.get $f) (local.get $f))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))

  (func (export "widen_bf16") (param $src i32) (param $dst i32) (param $n i32)
    (local $i i32) (local $n8 i32) (local $h v128) (local $o i32)
    (local.set $n8 (i32.and (local.get $n) (i32.const -8)))
    (block $vec_done
      (loop $vec
        (br_if $vec_done (i32.ge_u (local.get $i) (local.get $n8)))
        (local.set $h (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $o (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2))))
        (v128.store (local.get $o) (i32x4.shl (i32x4.extend_low_i16x8_u (local.get $h)) (i32.const 16)))
        (v128.store offset=16 (local.get $o) (i32x4.shl (i32x4.extend_high_i16x8_u (local.get $h)) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $vec)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
          (i32.shl (i32.load16_u (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1)))) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))
)
