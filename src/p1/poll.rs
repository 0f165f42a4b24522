//! TODO

use crate::abi::types::*;
use crate::ctx::WasiCtx;
#[allow(unused_imports)]
use wiggle::{GuestMemory, GuestPtr};

pub(crate) fn poll_oneoff(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    in_: GuestPtr<Subscription>,
    out: GuestPtr<Event>,
    nsubscriptions: Size,
) -> Result<Size, Error> {
    todo!()
}
