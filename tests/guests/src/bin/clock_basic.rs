//! clock_res_get / clock_time_get for the realtime and monotonic clocks: resolutions are
//! positive and time moves forward — never the absolute values. (CPU-time clocks: clock_cputime.)
use guest::*;

fn main() {
    for id in 0..2u32 {
        let res = clock_res(id);
        match res {
            Ok(r) => println!("clock_res_get({id}) -> Ok(positive={})", r > 0),
            Err(e) => println!("clock_res_get({id}) -> Err({e:?})"),
        }
        let t = clock_time(id);
        match t {
            Ok(t) => println!("clock_time_get({id}) -> Ok(nonzero={})", t > 0),
            Err(e) => println!("clock_time_get({id}) -> Err({e:?})"),
        }
    }
    // Monotonic time never goes back.
    let mut prev = clock_time(1).unwrap();
    let mut backwards = false;
    for _ in 0..1000 {
        let now = clock_time(1).unwrap();
        backwards |= now < prev;
        prev = now;
    }
    println!("monotonic went backwards -> {backwards}");
    // Realtime is after 2020 and before 2200 (a sanity range, not a value).
    let real = clock_time(0).unwrap();
    let secs = real / 1_000_000_000;
    println!(
        "realtime plausible -> {}",
        secs > 1_577_836_800 && secs < 7_258_118_400
    );
    // The precision argument is only a hint.
    let mut v = 0u64;
    let r = unsafe { sys::clock_time_get(1, u64::MAX, &mut v) };
    println!("clock_time_get(1, precision=MAX) -> {r}");
}
