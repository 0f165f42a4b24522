;; random_get loop: `run(n)` fills 16 bytes n times.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "init") (param i32))
  (func (export "run") (param $n i32)
    (loop $again
      (if (call $random (i32.const 1024) (i32.const 16)) (then unreachable))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
