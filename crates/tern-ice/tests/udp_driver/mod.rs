//! A minimal blocking driver for one agent on one real UDP socket. The tokio
//! runtime layer (a later crate) replaces this; here it serves the real-socket
//! test and the `ice` example, which include this file.
// Drivers read the real clock and own sockets; the agent itself never does.
#![allow(clippy::disallowed_methods, dead_code)]

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use tern_ice::{IceAgent, IceConnectionState, IceEvent};

pub struct UdpDriver {
    pub socket: UdpSocket,
    pub local: SocketAddr,
    pub agent: IceAgent,
    pub events: Vec<IceEvent>,
    buf: Vec<u8>,
}

impl UdpDriver {
    pub fn bind(addr: &str, agent: IceAgent) -> std::io::Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        let local = socket.local_addr()?;
        Ok(UdpDriver {
            socket,
            local,
            agent,
            events: Vec::new(),
            buf: vec![0u8; 2048],
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        while let Some(t) = self.agent.poll_transmit() {
            if let Err(e) = self.socket.send_to(&t.contents, t.destination) {
                // A peer address we cannot reach is the agent's business (the check fails).
                if e.kind() != ErrorKind::ConnectionRefused {
                    eprintln!("send to {} failed: {e}", t.destination);
                }
            }
        }
        while let Some(e) = self.agent.poll_event() {
            self.events.push(e);
        }
        Ok(())
    }

    /// Drives the agent until `done` holds or `max` passes; returns whether `done` held.
    pub fn run_until(
        &mut self,
        max: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> std::io::Result<bool> {
        let deadline = Instant::now() + max;
        loop {
            self.flush()?;
            if done(self) {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let wake = self.agent.poll_timeout().unwrap_or(deadline).min(deadline);
            let wait = wake
                .saturating_duration_since(now)
                .clamp(Duration::from_micros(100), Duration::from_millis(50));
            self.socket.set_read_timeout(Some(wait))?;
            match self.socket.recv_from(&mut self.buf) {
                Ok((n, from)) => {
                    let data = self.buf[..n].to_vec();
                    self.agent
                        .handle_receive(Instant::now(), from, self.local, &data);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::ConnectionRefused
                    ) => {}
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            if self.agent.poll_timeout().is_some_and(|t| t <= now) {
                self.agent.handle_timeout(now);
            }
        }
    }

    pub fn connected(&self) -> bool {
        matches!(
            self.agent.connection_state(),
            IceConnectionState::Connected | IceConnectionState::Completed
        )
    }
}
