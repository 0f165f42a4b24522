;; fd_read loop over "big.bin" (opened read-only by `init`): `run(n)` reads 64 KiB chunks n
;; times into page 1, seeking back to 0 at end-of-file, so every iteration moves 64 KiB.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek"
    (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (memory (export "memory") 4)
  (global $fd (mut i32) (i32.const -1))
  (data (i32.const 64) "big.bin")
  (func (export "init") (param i32)
    ;; rights: FD_READ | FD_SEEK
    (if (call $path_open (i32.const 3) (i32.const 1) (i32.const 64) (i32.const 7)
          (i32.const 0) (i64.const 6) (i64.const 0) (i32.const 0) (i32.const 16))
      (then unreachable))
    (global.set $fd (i32.load (i32.const 16)))
    (i32.store (i32.const 0) (i32.const 65536))
    (i32.store (i32.const 4) (i32.const 65536)))
  (func $read (result i32)
    (if (call $fd_read (global.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))
      (then unreachable))
    (i32.load (i32.const 8)))
  (func (export "run") (param $n i32)
    (loop $again
      (if (i32.eqz (call $read))
        (then
          (if (call $fd_seek (global.get $fd) (i64.const 0) (i32.const 0) (i32.const 24))
            (then unreachable))
          (drop (call $read))))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
