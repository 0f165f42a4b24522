//! fd_filestat_set_times / path_filestat_set_times: explicit values read back exactly, NOW lies
//! between two clock readings, and the flag combinations that are invalid.
use guest::*;

const T1: u64 = 1_000_000_000_123_456_789;
const T2: u64 = 1_100_000_000_000_000_000;

fn main() {
    let fd = open_at_root("hello.txt", 0, rights::RW).unwrap();
    show("set both", &fset_times(fd, T1, T2, fst::ATIM | fst::MTIM));
    let st = fstat(fd).unwrap();
    println!(
        "atim == T1 -> {} mtim == T2 -> {}",
        st.atim == T1,
        st.mtim == T2
    );
    show("set mtim only", &fset_times(fd, 0, T1, fst::MTIM));
    let st = fstat(fd).unwrap();
    println!(
        "atim kept -> {} mtim == T1 -> {}",
        st.atim == T1,
        st.mtim == T1
    );
    let before = clock_time(0).unwrap();
    show(
        "set both now",
        &fset_times(fd, 0, 0, fst::ATIM_NOW | fst::MTIM_NOW),
    );
    let after = clock_time(0).unwrap();
    let st = fstat(fd).unwrap();
    // Host filesystems may round to their granularity: allow 10 ms on each side.
    let slack = 10_000_000;
    println!(
        "mtim within the call -> {}",
        st.mtim + slack >= before && st.mtim <= after + slack
    );
    show(
        "atim + atim_now",
        &fset_times(fd, T1, 0, fst::ATIM | fst::ATIM_NOW),
    );
    show(
        "mtim + mtim_now",
        &fset_times(fd, 0, T1, fst::MTIM | fst::MTIM_NOW),
    );
    show("no flags", &fset_times(fd, T1, T1, 0));
    show("set zero", &fset_times(fd, 0, 0, fst::ATIM | fst::MTIM));
    let st = fstat(fd).unwrap();
    println!("zero times -> {} {}", st.atim, st.mtim);
    show(
        "path set",
        &set_times_at(
            ROOT,
            FOLLOW,
            "data/numbers.txt",
            T2,
            T1,
            fst::ATIM | fst::MTIM,
        ),
    );
    let st = stat("data/numbers.txt").unwrap();
    println!(
        "path atim == T2 -> {} mtim == T1 -> {}",
        st.atim == T2,
        st.mtim == T1
    );
    show(
        "path set via link (follow)",
        &set_times_at(ROOT, FOLLOW, "link_hello", T2, T2, fst::ATIM | fst::MTIM),
    );
    println!(
        "target changed -> {}",
        stat("hello.txt").unwrap().mtim == T2
    );
    show(
        "path set on dir",
        &set_times_at(ROOT, 0, "data", T1, T1, fst::ATIM | fst::MTIM),
    );
    println!("dir mtim == T1 -> {}", stat("data").unwrap().mtim == T1);
    show(
        "path set missing",
        &set_times_at(ROOT, 0, "nope", T1, T1, fst::MTIM),
    );
    show(
        "path invalid flags",
        &set_times_at(ROOT, 0, "hello.txt", T1, T1, fst::MTIM | fst::MTIM_NOW),
    );
    let ro = open_at_root("hello.txt", 0, rights::READ).unwrap();
    show("set on read-only fd", &fset_times(ro, T1, T1, fst::MTIM));
    show("set on stdout", &fset_times(1, T1, T1, fst::MTIM));
    show("set on bad fd", &fset_times(1000, T1, T1, fst::MTIM));
}
