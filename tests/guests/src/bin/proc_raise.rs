//! proc_raise for a few signals (preview1 has no signals a guest may really raise), then
//! sched_yield, then a normal exit through returning from main.
use guest::*;

fn main() {
    for sig in [0u32, 1, 2, 9, 15] {
        let r = unsafe { sys::proc_raise(sig) };
        println!("proc_raise({sig}) -> {:?}", Errno(r as u16));
    }
    println!("sched_yield -> {}", unsafe { sys::sched_yield() });
    println!("still running");
}
