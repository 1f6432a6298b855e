//! The client's view of its permissions (RFC 8656 §9) and channel bindings
//! (RFC 8656 §12), with their refresh times.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::error::TurnError;
use crate::channel_data::{ChannelNumber, CHANNEL_MIN, CLIENT_CHANNEL_MAX};

/// RFC 8656 §9: a permission lives 300 s unless refreshed; refresh a minute
/// early.
pub(crate) const PERMISSION_REFRESH: Duration = Duration::from_secs(240);
/// RFC 8656 §12: a channel binding lives 10 minutes unless refreshed.
pub(crate) const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// Refresh a minute before the binding expires.
pub(crate) const CHANNEL_REFRESH: Duration = Duration::from_secs(540);
/// RFC 8656 §12: after a binding expires, the number and the peer stay
/// unusable for another 5 minutes.
pub(crate) const CHANNEL_QUARANTINE: Duration = Duration::from_secs(300);
/// Permissions one allocation keeps; peers come from remote input (ICE
/// candidates), so this is a bound, not a tuning knob.
pub(crate) const MAX_PERMISSIONS: usize = 256;

/// Where a permission or channel stands with the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Requested, no answer yet.
    Pending,
    /// Installed; refreshed while wanted.
    Installed,
    /// Refused or unanswered; kept so sends report the error instead of
    /// re-requesting on every packet.
    Failed(TurnError),
    /// The user no longer wants it; left to expire on the server.
    Released,
}

/// One peer IP's permission.
#[derive(Debug, Clone)]
pub(crate) struct Permission {
    pub ip: IpAddr,
    pub standing: Standing,
    /// When to send the next CreatePermission (None: no refresh planned).
    pub refresh_at: Option<Instant>,
    /// A CreatePermission for it is outstanding.
    pub in_flight: bool,
}

/// The permissions of one allocation, in a small vector: a client talks to a
/// handful of peers, and a linear scan of those beats hashing.
#[derive(Debug, Default)]
pub(crate) struct Permissions {
    pub list: Vec<Permission>,
}

impl Permissions {
    pub fn get(&self, ip: IpAddr) -> Option<&Permission> {
        self.list.iter().find(|p| p.ip == ip)
    }
    pub fn get_mut(&mut self, ip: IpAddr) -> Option<&mut Permission> {
        self.list.iter_mut().find(|p| p.ip == ip)
    }
    /// The entry for `ip`, created Pending if absent; the bool says whether a
    /// CreatePermission must be sent now.
    pub fn want(&mut self, ip: IpAddr) -> Result<(&mut Permission, bool), TurnError> {
        if let Some(i) = self.list.iter().position(|p| p.ip == ip) {
            let p = &mut self.list[i];
            let send = !p.in_flight && !matches!(p.standing, Standing::Installed);
            if matches!(p.standing, Standing::Released) {
                // Still installed on the server, or about to lapse: refresh now.
                p.standing = Standing::Pending;
            }
            return Ok((p, send));
        }
        if self.list.len() >= MAX_PERMISSIONS {
            // Make room from entries nobody wants any more.
            self.list
                .retain(|p| !matches!(p.standing, Standing::Released | Standing::Failed(_)));
            if self.list.len() >= MAX_PERMISSIONS {
                return Err(TurnError::TooManyPermissions {
                    limit: MAX_PERMISSIONS,
                });
            }
        }
        self.list.push(Permission {
            ip,
            standing: Standing::Pending,
            refresh_at: None,
            in_flight: false,
        });
        let last = self.list.len() - 1;
        Ok((&mut self.list[last], true))
    }
    /// The earliest planned refresh.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.list
            .iter()
            .filter(|p| !p.in_flight)
            .filter_map(|p| p.refresh_at)
            .min()
    }
}

/// One channel binding.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub number: ChannelNumber,
    pub peer: SocketAddr,
    pub standing: Standing,
    pub refresh_at: Option<Instant>,
    /// Until when the server may still hold this number for this peer (plus
    /// the quarantine); before it, the number goes to no other peer.
    pub reusable_at: Instant,
    pub in_flight: bool,
}

/// The channels of one allocation, sorted by number; numbers are handed out
/// from 0x4000 upward and reused only after their quarantine (RFC 8656 §12).
#[derive(Debug)]
pub(crate) struct Channels {
    pub list: Vec<Channel>,
    next: u16,
}

impl Default for Channels {
    fn default() -> Self {
        Channels {
            list: Vec::new(),
            next: CHANNEL_MIN,
        }
    }
}

impl Channels {
    pub fn by_peer(&self, peer: SocketAddr) -> Option<&Channel> {
        self.list.iter().find(|c| c.peer == peer)
    }
    pub fn by_peer_mut(&mut self, peer: SocketAddr) -> Option<&mut Channel> {
        self.list.iter_mut().find(|c| c.peer == peer)
    }
    pub fn by_number(&self, n: u16) -> Option<&Channel> {
        let i = self
            .list
            .binary_search_by_key(&n, |c| c.number.get())
            .ok()?;
        self.list.get(i)
    }
    pub fn by_number_mut(&mut self, n: ChannelNumber) -> Option<&mut Channel> {
        let i = self.list.binary_search_by_key(&n, |c| c.number).ok()?;
        self.list.get_mut(i)
    }

    /// The channel for `peer`: its existing number, else the next fresh one,
    /// else a number whose quarantine is over. `reusable_at` is when this
    /// binding attempt stops mattering on the server.
    pub fn assign(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        reusable_at: Instant,
    ) -> Result<&mut Channel, TurnError> {
        if let Some(i) = self.list.iter().position(|c| c.peer == peer) {
            let c = &mut self.list[i];
            c.reusable_at = c.reusable_at.max(reusable_at);
            return Ok(c);
        }
        let fresh = Channel {
            number: ChannelNumber::new(CHANNEL_MIN).ok_or(TurnError::ChannelsExhausted)?,
            peer,
            standing: Standing::Pending,
            refresh_at: None,
            reusable_at,
            in_flight: false,
        };
        if self.next <= CLIENT_CHANNEL_MAX {
            let number = ChannelNumber::new(self.next).ok_or(TurnError::ChannelsExhausted)?;
            self.next += 1;
            // Fresh numbers are the largest so far: the list stays sorted.
            self.list.push(Channel { number, ..fresh });
            let last = self.list.len() - 1;
            return Ok(&mut self.list[last]);
        }
        let i = self
            .list
            .iter()
            .position(|c| {
                matches!(c.standing, Standing::Released | Standing::Failed(_))
                    && c.reusable_at <= now
            })
            .ok_or(TurnError::ChannelsExhausted)?;
        let c = &mut self.list[i];
        *c = Channel {
            number: c.number,
            ..fresh
        };
        Ok(c)
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.list
            .iter()
            .filter(|c| !c.in_flight)
            .filter_map(|c| c.refresh_at)
            .min()
    }
}

#[cfg(test)]
// Virtual time needs an origin; only differences matter.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn peer(i: u32) -> SocketAddr {
        SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 5000))
    }

    #[test]
    fn channel_numbers_ascend_and_are_not_reused_inside_quarantine() {
        let t0 = Instant::now();
        let mut ch = Channels::default();
        let later = t0 + CHANNEL_LIFETIME + CHANNEL_QUARANTINE;
        for i in 0..4096u32 {
            let c = ch.assign(t0, peer(i), later).unwrap();
            assert_eq!(c.number.get(), 0x4000 + i as u16);
            c.standing = Standing::Installed;
        }
        // The same peer keeps its number.
        assert_eq!(ch.assign(t0, peer(7), later).unwrap().number.get(), 0x4007);
        assert_eq!(
            ch.assign(t0, peer(99_999), later).unwrap_err(),
            TurnError::ChannelsExhausted
        );
        // Released, but still within binding lifetime + 5 min: not reusable.
        ch.by_peer_mut(peer(3)).unwrap().standing = Standing::Released;
        assert!(ch
            .assign(later - Duration::from_secs(1), peer(99_999), later)
            .is_err());
        let c = ch
            .assign(later, peer(99_999), later + CHANNEL_LIFETIME)
            .unwrap();
        assert_eq!(c.number.get(), 0x4003);
        assert_eq!(ch.by_number(0x4003).unwrap().peer, peer(99_999));
        assert!(ch.by_peer(peer(3)).is_none());
    }

    #[test]
    fn permissions_are_bounded() {
        let mut p = Permissions::default();
        for i in 0..MAX_PERMISSIONS as u32 {
            let (e, send) = p.want(peer(i).ip()).unwrap();
            assert!(send);
            e.in_flight = true;
        }
        let (_, send) = p.want(peer(1).ip()).unwrap();
        assert!(!send, "in flight: no second request");
        assert!(matches!(
            p.want(peer(100_000).ip()),
            Err(TurnError::TooManyPermissions { .. })
        ));
        p.list[0].standing = Standing::Released;
        assert!(p.want(peer(100_000).ip()).is_ok());
    }
}
