;; fd_readdir loop over "dir1000" (opened by `init`): `run(n)` lists it from cookie 0 into a
;; 64 KiB buffer (room for all 1,000 entries) n times; traps unless the listing is complete.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir"
    (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (memory (export "memory") 4)
  (global $fd (mut i32) (i32.const -1))
  (data (i32.const 64) "dir1000")
  (func (export "init") (param i32)
    ;; oflags: DIRECTORY; rights: FD_READDIR
    (if (call $path_open (i32.const 3) (i32.const 1) (i32.const 64) (i32.const 7)
          (i32.const 2) (i64.const 16384) (i64.const 0) (i32.const 0) (i32.const 16))
      (then unreachable))
    (global.set $fd (i32.load (i32.const 16))))
  (func (export "run") (param $n i32)
    (loop $again
      (if (call $fd_readdir (global.get $fd) (i32.const 131072) (i32.const 65536)
            (i64.const 0) (i32.const 8))
        (then unreachable))
      ;; 1,000 entries of 24 + 5 bytes: at least 29,000 bytes, and less than the buffer.
      (if (i32.lt_u (i32.load (i32.const 8)) (i32.const 29000)) (then unreachable))
      (if (i32.ge_u (i32.load (i32.const 8)) (i32.const 65536)) (then unreachable))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
