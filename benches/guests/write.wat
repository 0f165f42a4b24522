;; fd_write loop: `init(len)` points one iovec at `len` bytes (at most 64 KiB) of page 1;
;; `run(n)` writes them to stdout n times and traps on any errno. `_start` (for `run_command`)
;; writes 16 bytes 200,000 times.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  (func $init (export "init") (param $len i32)
    (i32.store (i32.const 0) (i32.const 65536))
    (i32.store (i32.const 4) (local.get $len)))
  (func $run (export "run") (param $n i32)
    (loop $again
      (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
        (then unreachable))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "_start")
    (call $init (i32.const 16))
    (call $run (i32.const 200000))))
