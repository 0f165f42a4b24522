;; path_open + fd_close loop: `run(n)` opens "small.txt" read-only in the preopen (fd 3) and
;; closes it, n times.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "small.txt")
  (func (export "init") (param i32))
  (func (export "run") (param $n i32)
    (loop $again
      ;; rights: FD_READ
      (if (call $path_open (i32.const 3) (i32.const 1) (i32.const 64) (i32.const 9)
            (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16))
        (then unreachable))
      (if (call $fd_close (i32.load (i32.const 16))) (then unreachable))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
