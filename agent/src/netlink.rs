//! Netlink dumps, the one way the agent asks the kernel for a table it has no file for: the
//! listening TCP sockets (sock_diag, `sources::sockets`) and the IPv6 neighbour cache
//! (`RTM_GETNEIGH`, `neighbors`). One request with `NLM_F_DUMP`, then datagrams until
//! `NLMSG_DONE`; every message's type and body go to the caller's parser.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};

/// `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

/// Sends a `kind` dump request carrying `payload` on a new socket of netlink `protocol`, and
/// hands each message of the answer to `each` as (type, body). Reads at most `max_reads`
/// datagrams; a dump that has not ended by then is an error.
pub fn dump(
    protocol: libc::c_int,
    kind: u16,
    payload: &[u8],
    max_reads: usize,
    mut each: impl FnMut(u16, &[u8]),
) -> io::Result<()> {
    // SAFETY: socket(2) takes no pointers and only returns a descriptor number.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, protocol) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2), is open, and nothing else owns it.
    let mut sock = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let len = NLMSG_HDRLEN + payload.len();
    let mut req = Vec::with_capacity(len);
    req.extend_from_slice(&u32::try_from(len).map_err(io::Error::other)?.to_ne_bytes());
    req.extend_from_slice(&kind.to_ne_bytes());
    req.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req.extend_from_slice(&[0; 8]); // sequence and port id
    req.extend_from_slice(payload);
    if sock.write(&req)? != req.len() {
        return Err(io::Error::other("short netlink write"));
    }
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..max_reads {
        let n = sock.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if walk(&buf[..n], &mut each)? {
            return Ok(());
        }
    }
    Err(io::Error::other("netlink dump did not end"))
}

/// Walks the messages of one datagram, handing each but the control ones to `each`. `Ok(true)`
/// at `NLMSG_DONE`; an `NLMSG_ERROR` is its errno; a length outside the datagram is an error.
pub fn walk(mut data: &[u8], each: &mut impl FnMut(u16, &[u8])) -> io::Result<bool> {
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        if len < NLMSG_HDRLEN || len > data.len() {
            return Err(io::Error::other("malformed netlink message"));
        }
        let body = &data[NLMSG_HDRLEN..len];
        match kind {
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                let errno = body.get(..4).map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]).wrapping_neg());
                return Err(io::Error::from_raw_os_error(errno));
            }
            _ => each(kind, body),
        }
        data = &data[len.next_multiple_of(4).min(data.len())..];
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut m = ((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes().to_vec();
        m.extend(kind.to_ne_bytes());
        m.extend([0; 10]);
        m.extend(body);
        m.resize(m.len().next_multiple_of(4), 0);
        m
    }

    #[test]
    fn messages_done_errors_and_bad_lengths() {
        let mut seen = Vec::new();
        let mut data = message(20, &[1, 2, 3]);
        data.extend(message(21, &[]));
        assert!(!walk(&data, &mut |k, b: &[u8]| seen.push((k, b.to_vec()))).unwrap());
        assert_eq!(seen, [(20, vec![1, 2, 3]), (21, vec![])]);
        assert!(walk(&message(NLMSG_DONE, &[0; 4]), &mut |_, _| panic!("no message")).unwrap());
        let err = walk(&message(NLMSG_ERROR, &(-libc::EPERM).to_ne_bytes()), &mut |_, _| {}).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        let mut long = message(20, &[]);
        long[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(walk(&long, &mut |_, _| {}).is_err());
        assert!(!walk(&[0xff; 15], &mut |_, _| {}).unwrap(), "shorter than a header: nothing");
        for cut in 0..data.len() {
            let _ = walk(&data[..cut], &mut |_, _| {});
        }
    }
}
