//! TODO

use crate::abi::types::*;
use crate::ctx::WasiCtx;
#[allow(unused_imports)]
use wiggle::{GuestMemory, GuestPtr};

pub(crate) fn fd_readdir(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: Fd,
    buf: GuestPtr<u8>,
    buf_len: Size,
    cookie: Dircookie,
) -> Result<Size, Error> {
    todo!()
}
