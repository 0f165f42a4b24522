;; hello.wat — a demo WASI preview1 guest, written by hand in WebAssembly text so that it runs
;; without a wasm32 toolchain:
;;
;;     cargo run --release -- run --mem-dir / examples/hello.wat some args
;;
;; It prints its arguments and environment, reads the real-time clock and 8 random bytes,
;; then, in the first preopened directory (fd 3), creates hello.txt, reads it back and lists the
;; directory. Without a mount flag the guest gets no directory at all (as under wasmtime), and
;; the demo says so and skips that part; `--mem-dir /` gives it a private in-memory root, and
;; `--dir HOST::/` a host directory. Every call that fails prints "<call> failed with errno N"
;; and the demo goes on, so the output also shows what a guest sees when a grant is missing.
;;
;; Memory map (one 64 KiB page):
;;   0..64         scratch: iovec {ptr, len} at 0, results of calls at 8..56
;;   64..96        digits of the number being printed
;;   128..136      random bytes
;;   256..512      the preopen's name
;;   1024..4096    the NUL-terminated strings below, one 64-byte slot each
;;   4096..8192    buffer for reading hello.txt back
;;   8192..16384   buffer for fd_readdir
;;   16384..32768  argv pointers, then argument bytes
;;   32768..65536  environ pointers, then environment bytes
(module
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get"
    (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get"
    (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close"
    (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get"
    (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir"
    (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))

  (memory (export "memory") 1)

  ;; Strings: the offsets here and in the globals below must agree.
  (data (i32.const 1024) "hello from a WASI guest, running under wasi-warden\0a\00")
  (data (i32.const 1088) "arguments: \00")
  (data (i32.const 1152) "  argv[\00")
  (data (i32.const 1216) "] = \00")
  (data (i32.const 1280) "environment variables: \00")
  (data (i32.const 1344) "  \00")
  (data (i32.const 1408) "realtime clock: \00")
  (data (i32.const 1472) " ns since 1970-01-01\0a\00")
  (data (i32.const 1536) "8 random bytes:\00")
  (data (i32.const 1600) "first preopened directory (fd 3): \00")
  (data (i32.const 1664) "no preopened directory at fd 3; skipping the file demo\0a\00")
  (data (i32.const 1728) "hello.txt\00")
  (data (i32.const 1792) "this file was written by the hello guest\0a\00")
  (data (i32.const 1856) "created hello.txt and wrote \00")
  (data (i32.const 1920) " bytes\0a\00")
  (data (i32.const 1984) "read it back: \00")
  (data (i32.const 2048) "entries in the preopened directory:\0a\00")
  (data (i32.const 2112) " (directory)\0a\00")
  (data (i32.const 2176) " (file)\0a\00")
  (data (i32.const 2240) " (symlink)\0a\00")
  (data (i32.const 2304) " (other)\0a\00")
  (data (i32.const 2368) "done\0a\00")
  (data (i32.const 2432) " failed with errno \00")
  (data (i32.const 2496) "\0a\00")
  (data (i32.const 2560) " (too large to show)\0a\00")
  (data (i32.const 2624) " \00")
  (data (i32.const 2688) "args_sizes_get\00")
  (data (i32.const 2752) "args_get\00")
  (data (i32.const 2816) "environ_sizes_get\00")
  (data (i32.const 2880) "environ_get\00")
  (data (i32.const 2944) "clock_time_get\00")
  (data (i32.const 3008) "random_get\00")
  (data (i32.const 3072) "path_open\00")
  (data (i32.const 3136) "fd_write\00")
  (data (i32.const 3200) "fd_read\00")
  (data (i32.const 3264) "fd_readdir\00")
  (data (i32.const 3328) "fd_prestat_dir_name\00")
  (data (i32.const 3392) "  ... (more entries than fit in one read)\0a\00")
  (data (i32.const 3456) "0123456789abcdef")

  (global $S_HELLO i32 (i32.const 1024))
  (global $S_ARGS i32 (i32.const 1088))
  (global $S_ARGV i32 (i32.const 1152))
  (global $S_ARGV_EQ i32 (i32.const 1216))
  (global $S_ENV i32 (i32.const 1280))
  (global $S_INDENT i32 (i32.const 1344))
  (global $S_CLOCK i32 (i32.const 1408))
  (global $S_CLOCK_UNIT i32 (i32.const 1472))
  (global $S_RANDOM i32 (i32.const 1536))
  (global $S_PREOPEN i32 (i32.const 1600))
  (global $S_NO_PREOPEN i32 (i32.const 1664))
  (global $S_FILENAME i32 (i32.const 1728))
  (global $S_CONTENT i32 (i32.const 1792))
  (global $S_WROTE i32 (i32.const 1856))
  (global $S_BYTES i32 (i32.const 1920))
  (global $S_READ i32 (i32.const 1984))
  (global $S_LIST i32 (i32.const 2048))
  (global $S_DIRECTORY i32 (i32.const 2112))
  (global $S_FILE i32 (i32.const 2176))
  (global $S_SYMLINK i32 (i32.const 2240))
  (global $S_OTHER i32 (i32.const 2304))
  (global $S_DONE i32 (i32.const 2368))
  (global $S_FAILED i32 (i32.const 2432))
  (global $S_NL i32 (i32.const 2496))
  (global $S_TOO_BIG i32 (i32.const 2560))
  (global $S_SPACE i32 (i32.const 2624))
  (global $N_ARGS_SIZES i32 (i32.const 2688))
  (global $N_ARGS_GET i32 (i32.const 2752))
  (global $N_ENV_SIZES i32 (i32.const 2816))
  (global $N_ENV_GET i32 (i32.const 2880))
  (global $N_CLOCK i32 (i32.const 2944))
  (global $N_RANDOM i32 (i32.const 3008))
  (global $N_OPEN i32 (i32.const 3072))
  (global $N_WRITE i32 (i32.const 3136))
  (global $N_READ i32 (i32.const 3200))
  (global $N_READDIR i32 (i32.const 3264))
  (global $N_PRESTAT i32 (i32.const 3328))
  (global $S_MORE i32 (i32.const 3392))
  (global $HEX i32 (i32.const 3456))

  ;; Rights asked of path_open (preview1 bit numbers): FD_READ 1, FD_SEEK 2, FD_TELL 5,
  ;; FD_WRITE 6, FD_FILESTAT_GET 21.
  (global $RIGHTS_READ i64 (i64.const 2097190))
  (global $RIGHTS_WRITE i64 (i64.const 2097252))

  ;; Length of the NUL-terminated string at $p.
  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  ;; Writes all $len bytes at $p to $fd, retrying short writes. Returns the errno (0 = ok).
  (func $write_all (param $fd i32) (param $p i32) (param $len i32) (result i32)
    (local $err i32)
    (local $n i32)
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $len)))
        (i32.store (i32.const 0) (local.get $p))
        (i32.store (i32.const 4) (local.get $len))
        (local.set $err (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
        (br_if $done (local.get $err))
        (local.set $n (i32.load (i32.const 8)))
        ;; Nothing written (or a nonsensical count): give up rather than spin.
        (br_if $done (i32.eqz (local.get $n)))
        (br_if $done (i32.gt_u (local.get $n) (local.get $len)))
        (local.set $p (i32.add (local.get $p) (local.get $n)))
        (local.set $len (i32.sub (local.get $len) (local.get $n)))
        (br $more)))
    (local.get $err))

  (func $print (param $p i32) (param $len i32)
    (drop (call $write_all (i32.const 1) (local.get $p) (local.get $len))))

  (func $puts (param $p i32)
    (call $print (local.get $p) (call $strlen (local.get $p))))

  ;; Prints $v in decimal, building the digits backwards in 64..96.
  (func $print_u64 (param $v i64)
    (local $p i32)
    (local.set $p (i32.const 96))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $v) (i64.const 0))))
    (call $print (local.get $p) (i32.sub (i32.const 96) (local.get $p))))

  (func $print_u32 (param $v i32)
    (call $print_u64 (i64.extend_i32_u (local.get $v))))

  (func $print_hex_byte (param $b i32)
    (i32.store8 (i32.const 64)
      (i32.load8_u (i32.add (global.get $HEX) (i32.shr_u (local.get $b) (i32.const 4)))))
    (i32.store8 (i32.const 65)
      (i32.load8_u (i32.add (global.get $HEX) (i32.and (local.get $b) (i32.const 15)))))
    (call $print (i32.const 64) (i32.const 2)))

  ;; "<call> failed with errno N"
  (func $fail (param $call i32) (param $errno i32)
    (call $puts (local.get $call))
    (call $puts (global.get $S_FAILED))
    (call $print_u32 (local.get $errno))
    (call $puts (global.get $S_NL)))

  ;; Prints the argument ($which = 0) or environment ($which = 1) count, then each string:
  ;; *_sizes_get gives the sizes, *_get fills the pointer array at $base and the bytes after
  ;; it, which must fit in $capacity bytes.
  (func $show_strings (param $which i32) (param $base i32) (param $capacity i32)
    (local $count i32)
    (local $size i32)
    (local $i i32)
    (local $err i32)
    (if (local.get $which)
      (then (local.set $err (call $environ_sizes_get (i32.const 16) (i32.const 20))))
      (else (local.set $err (call $args_sizes_get (i32.const 16) (i32.const 20)))))
    (if (local.get $err)
      (then
        (call $fail
          (select (global.get $N_ENV_SIZES) (global.get $N_ARGS_SIZES) (local.get $which))
          (local.get $err))
        (return)))
    (local.set $count (i32.load (i32.const 16)))
    (local.set $size (i32.load (i32.const 20)))
    (call $puts (select (global.get $S_ENV) (global.get $S_ARGS) (local.get $which)))
    (call $print_u32 (local.get $count))
    ;; count * 4 pointers + size bytes must fit the region (64-bit math: no wrap-around).
    (if (i64.gt_u
          (i64.add
            (i64.mul (i64.extend_i32_u (local.get $count)) (i64.const 4))
            (i64.extend_i32_u (local.get $size)))
          (i64.extend_i32_u (local.get $capacity)))
      (then (call $puts (global.get $S_TOO_BIG)) (return)))
    (call $puts (global.get $S_NL))
    (if (local.get $which)
      (then
        (local.set $err
          (call $environ_get (local.get $base)
            (i32.add (local.get $base) (i32.shl (local.get $count) (i32.const 2))))))
      (else
        (local.set $err
          (call $args_get (local.get $base)
            (i32.add (local.get $base) (i32.shl (local.get $count) (i32.const 2)))))))
    (if (local.get $err)
      (then
        (call $fail
          (select (global.get $N_ENV_GET) (global.get $N_ARGS_GET) (local.get $which))
          (local.get $err))
        (return)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (if (local.get $which)
          (then (call $puts (global.get $S_INDENT)))
          (else
            (call $puts (global.get $S_ARGV))
            (call $print_u32 (local.get $i))
            (call $puts (global.get $S_ARGV_EQ))))
        (call $puts (i32.load (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 2)))))
        (call $puts (global.get $S_NL))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  (func $show_clock
    (local $err i32)
    ;; clock id 0 = realtime, precision 1 ns, result at 32 (8-aligned).
    (local.set $err (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 32)))
    (if (local.get $err)
      (then (call $fail (global.get $N_CLOCK) (local.get $err)) (return)))
    (call $puts (global.get $S_CLOCK))
    (call $print_u64 (i64.load (i32.const 32)))
    (call $puts (global.get $S_CLOCK_UNIT)))

  (func $show_random
    (local $err i32)
    (local $i i32)
    (local.set $err (call $random_get (i32.const 128) (i32.const 8)))
    (if (local.get $err)
      (then (call $fail (global.get $N_RANDOM) (local.get $err)) (return)))
    (call $puts (global.get $S_RANDOM))
    (loop $byte
      (call $puts (global.get $S_SPACE))
      (call $print_hex_byte (i32.load8_u (i32.add (i32.const 128) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $byte (i32.lt_u (local.get $i) (i32.const 8))))
    (call $puts (global.get $S_NL)))

  ;; Whether fd 3 is a preopened directory; prints its name if it is.
  (func $show_preopen (result i32)
    (local $len i32)
    ;; prestat: tag u8 at 48 (0 = dir), name length u32 at 52.
    (if (call $fd_prestat_get (i32.const 3) (i32.const 48))
      (then (call $puts (global.get $S_NO_PREOPEN)) (return (i32.const 0))))
    (if (i32.load8_u (i32.const 48))
      (then (call $puts (global.get $S_NO_PREOPEN)) (return (i32.const 0))))
    (local.set $len (i32.load (i32.const 52)))
    (call $puts (global.get $S_PREOPEN))
    (if (i32.lt_u (local.get $len) (i32.const 256))
      (then
        (local.set $len
          (select (i32.const 0) (local.get $len)
            (call $fd_prestat_dir_name (i32.const 3) (i32.const 256) (local.get $len))))
        (i32.store8 (i32.add (i32.const 256) (local.get $len)) (i32.const 0))
        (call $puts (i32.const 256))))
    (call $puts (global.get $S_NL))
    (i32.const 1))

  ;; Creates hello.txt in fd 3 (O_CREAT|O_TRUNC) and writes the content string to it.
  (func $write_file
    (local $err i32)
    (local $fd i32)
    (local $len i32)
    ;; dirflags 1 = follow symlinks; oflags 9 = CREAT (1) | TRUNC (8); opened fd at 24.
    (local.set $err
      (call $path_open (i32.const 3) (i32.const 1) (global.get $S_FILENAME) (i32.const 9)
        (i32.const 9) (global.get $RIGHTS_WRITE) (i64.const 0) (i32.const 0) (i32.const 24)))
    (if (local.get $err)
      (then (call $fail (global.get $N_OPEN) (local.get $err)) (return)))
    (local.set $fd (i32.load (i32.const 24)))
    (local.set $len (call $strlen (global.get $S_CONTENT)))
    (local.set $err (call $write_all (local.get $fd) (global.get $S_CONTENT) (local.get $len)))
    (if (local.get $err)
      (then (call $fail (global.get $N_WRITE) (local.get $err)))
      (else
        (call $puts (global.get $S_WROTE))
        (call $print_u32 (local.get $len))
        (call $puts (global.get $S_BYTES))))
    (drop (call $fd_close (local.get $fd))))

  ;; Opens hello.txt again, reads up to 4095 bytes into 4096.. and prints them.
  (func $read_file
    (local $err i32)
    (local $fd i32)
    (local $total i32)
    (local $n i32)
    (local.set $err
      (call $path_open (i32.const 3) (i32.const 1) (global.get $S_FILENAME) (i32.const 9)
        (i32.const 0) (global.get $RIGHTS_READ) (i64.const 0) (i32.const 0) (i32.const 24)))
    (if (local.get $err)
      (then (call $fail (global.get $N_OPEN) (local.get $err)) (return)))
    (local.set $fd (i32.load (i32.const 24)))
    (block $done
      (loop $more
        (br_if $done (i32.ge_u (local.get $total) (i32.const 4095)))
        (i32.store (i32.const 0) (i32.add (i32.const 4096) (local.get $total)))
        (i32.store (i32.const 4) (i32.sub (i32.const 4095) (local.get $total)))
        (local.set $err (call $fd_read (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
        (if (local.get $err)
          (then (call $fail (global.get $N_READ) (local.get $err)) (br $done)))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $done (i32.eqz (local.get $n)))
        (br_if $done (i32.gt_u (local.get $n) (i32.sub (i32.const 4095) (local.get $total))))
        (local.set $total (i32.add (local.get $total) (local.get $n)))
        (br $more)))
    (i32.store8 (i32.add (i32.const 4096) (local.get $total)) (i32.const 0))
    (call $puts (global.get $S_READ))
    (call $puts (i32.const 4096))
    (drop (call $fd_close (local.get $fd))))

  ;; Whether the $len-byte name at $p is "." or "..".
  (func $is_dot_or_dotdot (param $p i32) (param $len i32) (result i32)
    (if (i32.eq (local.get $len) (i32.const 1))
      (then (return (i32.eq (i32.load8_u (local.get $p)) (i32.const 46)))))
    (if (i32.eq (local.get $len) (i32.const 2))
      (then
        (return
          (i32.and
            (i32.eq (i32.load8_u (local.get $p)) (i32.const 46))
            (i32.eq (i32.load8_u (i32.add (local.get $p) (i32.const 1))) (i32.const 46))))))
    (i32.const 0))

  ;; Lists fd 3 with one fd_readdir call into 8192..16384. Each dirent is 24 bytes
  ;; (d_next u64, d_ino u64, d_namlen u32 at 16, d_type u8 at 20) followed by the name.
  (func $list_dir
    (local $err i32)
    (local $used i32)
    (local $off i32)
    (local $entry i32)
    (local $len i32)
    (local $type i32)
    (local.set $err
      (call $fd_readdir (i32.const 3) (i32.const 8192) (i32.const 8192) (i64.const 0)
        (i32.const 40)))
    (if (local.get $err)
      (then (call $fail (global.get $N_READDIR) (local.get $err)) (return)))
    (local.set $used (i32.load (i32.const 40)))
    (if (i32.gt_u (local.get $used) (i32.const 8192))
      (then (local.set $used (i32.const 8192))))
    (call $puts (global.get $S_LIST))
    (block $done
      (loop $next
        ;; Stop at an entry whose header or name was cut off by the end of the buffer.
        (br_if $done (i32.gt_u (i32.add (local.get $off) (i32.const 24)) (local.get $used)))
        (local.set $entry (i32.add (i32.const 8192) (local.get $off)))
        (local.set $len (i32.load (i32.add (local.get $entry) (i32.const 16))))
        (local.set $type (i32.load8_u (i32.add (local.get $entry) (i32.const 20))))
        (br_if $done
          (i64.gt_u
            (i64.add (i64.extend_i32_u (i32.add (local.get $off) (i32.const 24)))
              (i64.extend_i32_u (local.get $len)))
            (i64.extend_i32_u (local.get $used))))
        (if (i32.eqz
              (call $is_dot_or_dotdot (i32.add (local.get $entry) (i32.const 24)) (local.get $len)))
          (then
            (call $puts (global.get $S_INDENT))
            (call $print (i32.add (local.get $entry) (i32.const 24)) (local.get $len))
            ;; filetype: 3 = directory, 4 = regular file, 7 = symlink.
            (if (i32.eq (local.get $type) (i32.const 3))
              (then (call $puts (global.get $S_DIRECTORY)))
              (else
                (if (i32.eq (local.get $type) (i32.const 4))
                  (then (call $puts (global.get $S_FILE)))
                  (else
                    (if (i32.eq (local.get $type) (i32.const 7))
                      (then (call $puts (global.get $S_SYMLINK)))
                      (else (call $puts (global.get $S_OTHER))))))))))
        (local.set $off (i32.add (local.get $off) (i32.add (i32.const 24) (local.get $len))))
        (br $next)))
    ;; A full buffer means there may be more entries than one call returned.
    (if (i32.eq (local.get $used) (i32.const 8192))
      (then (call $puts (global.get $S_MORE)))))

  (func (export "_start")
    (call $puts (global.get $S_HELLO))
    (call $show_strings (i32.const 0) (i32.const 16384) (i32.const 16384))
    (call $show_strings (i32.const 1) (i32.const 32768) (i32.const 32768))
    (call $show_clock)
    (call $show_random)
    (if (call $show_preopen)
      (then
        (call $write_file)
        (call $read_file)
        (call $list_dir)))
    (call $puts (global.get $S_DONE))))
