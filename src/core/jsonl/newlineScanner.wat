;; The newline scanner's WebAssembly module, in text format: the readable source of the bytes
;; that newlineScanner.ts assembles by hand in `buildModule` (the same instructions in the same
;; order; the .ts comments name each group). Nothing assembles this file at build time: no
;; WebAssembly assembler (wabt, binaryen) is a dependency, and the module is a few hundred
;; bytes. An assembler would give an equivalent module (its sections may be ordered otherwise).
(module
  (type (func (param i32 i32 i32 i32 f64) (result i32)))
  ;; The read buffer and the output area both live in this imported memory.
  (import "env" "mem" (memory 1))
  ;; Where the output stopped (a byte address in the output area).
  (global $outPos (export "outPos") (mut i32) (i32.const 0))

  ;; scan(p, end, out, outEnd, base) -> where the scan stopped. Scans 64-byte blocks from p while
  ;; p < end and the output has room for one more block's offsets (64 x 8 bytes), storing
  ;; base + position (f64) of every '\n' at out. end - p must be a multiple of 64.
  (func (export "scan") (type 0)
    (param $p i32) (param $end i32) (param $out i32) (param $outEnd i32) (param $base f64)
    (result i32)
    (local $nl v128) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local $m i64)
    (local.set $nl (i8x16.splat (i32.const 10)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (br_if $done (i32.gt_u (i32.add (local.get $out) (i32.const 512)) (local.get $outEnd)))
        ;; Four 16-byte lanes compared with '\n'.
        (local.set $a (i8x16.eq (v128.load offset=0 align=16 (local.get $p)) (local.get $nl)))
        (local.set $b (i8x16.eq (v128.load offset=16 align=16 (local.get $p)) (local.get $nl)))
        (local.set $c (i8x16.eq (v128.load offset=32 align=16 (local.get $p)) (local.get $nl)))
        (local.set $d (i8x16.eq (v128.load offset=48 align=16 (local.get $p)) (local.get $nl)))
        ;; Most blocks hold no newline: one test skips them.
        (if (v128.any_true
              (v128.or (v128.or (v128.or (local.get $a) (local.get $b)) (local.get $c))
                       (local.get $d)))
          (then
            ;; One 64-bit mask, bit k set for a newline at p + k.
            (local.set $m
              (i64.or
                (i64.or
                  (i64.or
                    (i64.extend_i32_u (i8x16.bitmask (local.get $a)))
                    (i64.shl (i64.extend_i32_u (i8x16.bitmask (local.get $b))) (i64.const 16)))
                  (i64.shl (i64.extend_i32_u (i8x16.bitmask (local.get $c))) (i64.const 32)))
                (i64.shl (i64.extend_i32_u (i8x16.bitmask (local.get $d))) (i64.const 48))))
            ;; Walk the set bits, lowest first: each is one newline offset.
            (loop $bits
              (f64.store align=8
                (local.get $out)
                (f64.add
                  (f64.convert_i32_u
                    (i32.add (local.get $p) (i32.wrap_i64 (i64.ctz (local.get $m)))))
                  (local.get $base)))
              (local.set $out (i32.add (local.get $out) (i32.const 8)))
              (br_if $bits
                (i64.ne
                  (local.tee $m
                    (i64.and (local.get $m) (i64.sub (local.get $m) (i64.const 1))))
                  (i64.const 0))))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $blocks)))
    (global.set $outPos (local.get $out))
    (local.get $p)))
