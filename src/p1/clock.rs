//! TODO

use crate::abi::types::*;
use crate::ctx::WasiCtx;
#[allow(unused_imports)]
use wiggle::{GuestMemory, GuestPtr};

pub(crate) fn clock_res_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    id: Clockid,
) -> Result<Timestamp, Error> {
    todo!()
}

pub(crate) fn clock_time_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    id: Clockid,
    precision: Timestamp,
) -> Result<Timestamp, Error> {
    todo!()
}
