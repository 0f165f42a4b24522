;; path_filestat_get loop: `run(n)` stats "small.txt" in the preopen (fd 3), n times.
(module
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $stat (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "small.txt")
  (func (export "init") (param i32))
  (func (export "run") (param $n i32)
    (loop $again
      (if (call $stat (i32.const 3) (i32.const 1) (i32.const 64) (i32.const 9) (i32.const 256))
        (then unreachable))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
