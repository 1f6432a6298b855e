//! One bound UDP socket with batched I/O from quinn-udp: recvmmsg and GRO
//! in, GSO out where the kernel has them; large socket buffers so a burst
//! is not dropped by the kernel.

use std::future::poll_fn;
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::task::Poll;

use quinn_udp::{RecvMeta, Transmit, UdpSocketState, BATCH_SIZE};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Socket buffer sizes we ask for (the kernel may cap them).
const SOCKET_BUFFER: usize = 4 << 20;
/// Bytes per receive buffer without GRO (one datagram).
const DATAGRAM_BUF: usize = 2048;

pub(crate) struct Socket {
    pub io: UdpSocket,
    pub state: UdpSocketState,
    pub local: SocketAddr,
    bufs: Vec<Vec<u8>>,
    metas: Vec<RecvMeta>,
}

impl Socket {
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        let std_sock = std::net::UdpSocket::bind(addr)?;
        std_sock.set_nonblocking(true)?;
        let state = UdpSocketState::new((&std_sock).into())?;
        // Best effort: a kernel cap (net.core.rmem_max) is not an error.
        let _ = state.set_recv_buffer_size((&std_sock).into(), SOCKET_BUFFER);
        let _ = state.set_send_buffer_size((&std_sock).into(), SOCKET_BUFFER);
        let io = UdpSocket::from_std(std_sock)?;
        let local = io.local_addr()?;
        // One buffer to start with (an idle connection stays small); the
        // batch doubles whenever a receive fills every buffer, up to
        // quinn-udp's batch size. With GRO a buffer holds a whole coalesced
        // batch of datagrams.
        let buf_len = if state.gro_segments() > 1 {
            (state.gro_segments() * 1500).min(u16::MAX as usize)
        } else {
            DATAGRAM_BUF
        };
        Ok(Socket {
            io,
            state,
            local,
            bufs: vec![vec![0u8; buf_len]],
            metas: vec![RecvMeta::default(); 1],
        })
    }

    /// Receives what is waiting (without blocking); calls `f(from, datagram)`
    /// for each datagram. Returns how many were received.
    pub fn recv_ready(&mut self, mut f: impl FnMut(SocketAddr, &[u8])) -> io::Result<usize> {
        let mut total = 0;
        loop {
            let mut slices: Vec<IoSliceMut<'_>> =
                self.bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
            let (io, state, metas) = (&self.io, &self.state, &mut self.metas);
            let n = match io.try_io(Interest::READABLE, || {
                state.recv(io.into(), &mut slices, metas)
            }) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
                // ICMP errors surfaced on the socket (port unreachable): the
                // protocols notice missing answers on their own.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e),
            };
            drop(slices);
            let full = n == self.bufs.len() && self.bufs.len() < BATCH_SIZE;
            for (meta, buf) in self.metas.iter().zip(&self.bufs).take(n) {
                let stride = meta.stride.max(1);
                for d in buf[..meta.len].chunks(stride) {
                    f(meta.addr, d);
                    total += 1;
                }
            }
            if full {
                let (len, grow) = (self.bufs[0].len(), self.bufs.len());
                self.bufs.extend((0..grow).map(|_| vec![0u8; len]));
                self.metas.resize(self.bufs.len(), RecvMeta::default());
            }
        }
    }

    /// Sends `contents` (one datagram, or several of `segment` bytes each
    /// when GSO is used) to `to`.
    pub async fn send(
        &self,
        to: SocketAddr,
        contents: &[u8],
        segment: Option<usize>,
    ) -> io::Result<()> {
        let t = Transmit {
            destination: to,
            ecn: None,
            contents,
            segment_size: segment,
            src_ip: None::<IpAddr>,
        };
        loop {
            match self.io.try_io(Interest::WRITABLE, || {
                self.state.try_send((&self.io).into(), &t)
            }) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.io.writable().await?,
                Err(e) => return Err(e),
            }
        }
    }

    /// Most datagrams one GSO send may carry (1 without GSO).
    pub fn max_segments(&self) -> usize {
        self.state.max_gso_segments()
    }
}

/// Waits until one of `sockets` is readable; returns its index.
pub(crate) async fn readable(sockets: &[Socket]) -> usize {
    poll_fn(|cx| {
        for (i, s) in sockets.iter().enumerate() {
            if s.io.poll_recv_ready(cx).is_ready() {
                return Poll::Ready(i);
            }
        }
        Poll::Pending
    })
    .await
}

/// The addresses to gather host candidates on: every up, non-link-local
/// interface address; loopback only when nothing else exists (or asked for).
pub(crate) fn local_addresses() -> io::Result<Vec<IpAddr>> {
    let all: Vec<IpAddr> = if_addrs::get_if_addrs()?
        .into_iter()
        .filter(|i| !i.is_link_local())
        .map(|i| i.ip())
        .collect();
    let outside: Vec<IpAddr> = all.iter().copied().filter(|ip| !ip.is_loopback()).collect();
    Ok(if outside.is_empty() { all } else { outside })
}
