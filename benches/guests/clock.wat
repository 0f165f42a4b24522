;; clock_time_get loop: `run(n)` reads the monotonic clock n times.
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "init") (param i32))
  (func (export "run") (param $n i32)
    (loop $again
      (if (call $clock (i32.const 1) (i64.const 1) (i32.const 8)) (then unreachable))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
