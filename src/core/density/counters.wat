;; The DENSITY sketch's counting loops for K = 1 (counterKernel.ts loads the assembled module;
;; `node scripts/build-wasm.mjs` regenerates countersWasm.ts from this file).
;;
;; Both take a block of projections y = (a*x + b)/w, float32, row-major n x R at byte offset $y,
;; and counters, uint32 bucket-major (counter (r, b) at b*R + r) at byte offset $c. For each
;; element they compute exactly what the ORT graph's Floor -> Cast(int32) and sketch.ts's
;; ((h mod B) + B) mod B did: f = floor(y); f outside (-2^31, 2^31) (NaN included) is an invalid hash;
;; otherwise h = int32(f) and the bucket m = h + ((h >> 31) & B) when that lies in [0, B), else
;; the full ((h rem B) + B) rem B.
;;
;; Four lanes at a time (f32x4.floor, i32x4.trunc_sat_f32x4_s, bucket and counter address in
;; SIMD), then four scalar read-modify-writes; a group with any lane off the fast path is redone
;; one element at a time, in order, so the first invalid element is found exactly.
(module
  (memory (export "memory") 1 65536)

  ;; The bucket of one projection, or -1 when its hash is invalid.
  (func $bucket (param $v f32) (param $B i32) (result i32)
    (local $f f32) (local $h i32) (local $m i32)
    (local.set $f (f32.floor (local.get $v)))
    (if (i32.eqz (i32.and (f32.gt (local.get $f) (f32.const -2147483648))
                          (f32.lt (local.get $f) (f32.const 2147483648))))
      (then (return (i32.const -1))))
    (local.set $h (i32.trunc_f32_s (local.get $f)))
    (local.set $m (i32.add (local.get $h)
                           (i32.and (i32.shr_s (local.get $h) (i32.const 31)) (local.get $B))))
    (if (i32.ge_u (local.get $m) (local.get $B))
      (then (local.set $m (i32.rem_s (i32.add (i32.rem_s (local.get $h) (local.get $B))
                                              (local.get $B))
                                     (local.get $B)))))
    (local.get $m))

  ;; Bucket-major byte addresses of four lanes, or a zero-mask lane where the fast path fails.
  ;; Returns the addresses; $ok receives all-ones lanes where the lane is on the fast path.
  (func $addresses (param $v v128) (param $rv v128) (param $Bv v128) (param $Rv v128)
                   (param $cv v128) (result v128 v128)
    (local $f v128) (local $h v128) (local $m v128)
    (local.set $f (f32x4.floor (local.get $v)))
    (local.set $h (i32x4.trunc_sat_f32x4_s (local.get $f)))
    (local.set $m (i32x4.add (local.get $h)
                             (v128.and (i32x4.shr_s (local.get $h) (i32.const 31)) (local.get $Bv))))
    (i32x4.add (local.get $cv)
               (i32x4.shl (i32x4.add (i32x4.mul (local.get $m) (local.get $Rv)) (local.get $rv))
                          (i32.const 2)))
    (v128.and
      (v128.and (f32x4.gt (local.get $f) (v128.const f32x4 -2147483648 -2147483648 -2147483648 -2147483648))
                (f32x4.lt (local.get $f) (v128.const f32x4 2147483648 2147483648 2147483648 2147483648)))
      (i32x4.lt_u (local.get $m) (local.get $Bv))))

  ;; Adds $delta to the counter of each of elements [0, $limit) of the block (element e is
  ;; sketch row e mod R of embedding floor(e / R)). Returns -1, or the first invalid element, having
  ;; counted exactly the elements before it.
  (func (export "count") (param $y i32) (param $limit i32) (param $rows i32) (param $B i32)
                         (param $c i32) (param $delta i32) (result i32)
    (local $e i32) (local $r i32) (local $m i32) (local $a i32) (local $addr v128) (local $ok v128)
    (local $rv v128) (local $Bv v128) (local $Rv v128) (local $cv v128)
    (local.set $Bv (i32x4.splat (local.get $B)))
    (local.set $Rv (i32x4.splat (local.get $rows)))
    (local.set $cv (i32x4.splat (local.get $c)))
    (local.set $rv (v128.const i32x4 0 1 2 3))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $e) (local.get $limit)))
        (if (i32.eq (local.get $r) (local.get $rows))
          (then (local.set $r (i32.const 0))
                (local.set $rv (v128.const i32x4 0 1 2 3))))
        (block $scalar
          (br_if $scalar (i32.gt_u (i32.add (local.get $r) (i32.const 4)) (local.get $rows)))
          (br_if $scalar (i32.gt_u (i32.add (local.get $e) (i32.const 4)) (local.get $limit)))
          (call $addresses
            (v128.load (i32.add (local.get $y) (i32.shl (local.get $e) (i32.const 2))))
            (local.get $rv) (local.get $Bv) (local.get $Rv) (local.get $cv))
          (local.set $ok)
          (local.set $addr)
          (br_if $scalar (i32.eqz (i32x4.all_true (local.get $ok))))
          (local.set $a (i32x4.extract_lane 0 (local.get $addr)))
          (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (local.get $delta)))
          (local.set $a (i32x4.extract_lane 1 (local.get $addr)))
          (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (local.get $delta)))
          (local.set $a (i32x4.extract_lane 2 (local.get $addr)))
          (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (local.get $delta)))
          (local.set $a (i32x4.extract_lane 3 (local.get $addr)))
          (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (local.get $delta)))
          (local.set $e (i32.add (local.get $e) (i32.const 4)))
          (local.set $r (i32.add (local.get $r) (i32.const 4)))
          (local.set $rv (i32x4.add (local.get $rv) (v128.const i32x4 4 4 4 4)))
          (br $next))
        ;; One element: the tail of a sketch row, the block's end, or a group off the fast path.
        (local.set $m (call $bucket
          (f32.load (i32.add (local.get $y) (i32.shl (local.get $e) (i32.const 2)))) (local.get $B)))
        (if (i32.lt_s (local.get $m) (i32.const 0)) (then (return (local.get $e))))
        (local.set $a (i32.add (local.get $c)
          (i32.shl (i32.add (i32.mul (local.get $m) (local.get $rows)) (local.get $r)) (i32.const 2))))
        (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (local.get $delta)))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (local.set $rv (i32x4.add (local.get $rv) (v128.const i32x4 1 1 1 1)))
        (br $next)))
    (i32.const -1))

  ;; Scores n embeddings: out[i] (float64 at byte offset $out) = (sum_r S[r, bucket]) / R, the sum
  ;; exact in an i64. Returns -1, or the first invalid element (scores before its row are written).
  (func (export "score") (param $y i32) (param $n i32) (param $rows i32) (param $B i32)
                         (param $c i32) (param $out i32) (result i32)
    (local $i i32) (local $e i32) (local $r i32) (local $m i32) (local $sum i64)
    (local $addr v128) (local $ok v128) (local $rv v128) (local $Bv v128) (local $Rv v128) (local $cv v128)
    (local.set $Bv (i32x4.splat (local.get $B)))
    (local.set $Rv (i32x4.splat (local.get $rows)))
    (local.set $cv (i32x4.splat (local.get $c)))
    (block $rowsDone
      (loop $nextRow
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $sum (i64.const 0))
        (local.set $r (i32.const 0))
        (local.set $rv (v128.const i32x4 0 1 2 3))
        (block $rowDone
          (loop $next
            (br_if $rowDone (i32.ge_u (local.get $r) (local.get $rows)))
            (block $scalar
              (br_if $scalar (i32.gt_u (i32.add (local.get $r) (i32.const 4)) (local.get $rows)))
              (call $addresses
                (v128.load (i32.add (local.get $y) (i32.shl (local.get $e) (i32.const 2))))
                (local.get $rv) (local.get $Bv) (local.get $Rv) (local.get $cv))
              (local.set $ok)
              (local.set $addr)
              (br_if $scalar (i32.eqz (i32x4.all_true (local.get $ok))))
              (local.set $sum (i64.add (local.get $sum) (i64.add
                (i64.add (i64.load32_u (i32x4.extract_lane 0 (local.get $addr)))
                         (i64.load32_u (i32x4.extract_lane 1 (local.get $addr))))
                (i64.add (i64.load32_u (i32x4.extract_lane 2 (local.get $addr)))
                         (i64.load32_u (i32x4.extract_lane 3 (local.get $addr)))))))
              (local.set $e (i32.add (local.get $e) (i32.const 4)))
              (local.set $r (i32.add (local.get $r) (i32.const 4)))
              (local.set $rv (i32x4.add (local.get $rv) (v128.const i32x4 4 4 4 4)))
              (br $next))
            (local.set $m (call $bucket
              (f32.load (i32.add (local.get $y) (i32.shl (local.get $e) (i32.const 2)))) (local.get $B)))
            (if (i32.lt_s (local.get $m) (i32.const 0)) (then (return (local.get $e))))
            (local.set $sum (i64.add (local.get $sum) (i64.load32_u (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $m) (local.get $rows)) (local.get $r)) (i32.const 2))))))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (local.set $rv (i32x4.add (local.get $rv) (v128.const i32x4 1 1 1 1)))
            (br $next)))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3)))
          (f64.div (f64.convert_i64_u (local.get $sum)) (f64.convert_i32_u (local.get $rows))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $nextRow)))
    (i32.const -1))
)
