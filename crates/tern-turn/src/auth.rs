//! Long-term credentials for the TURN server (RFC 8489 §9.2, RFC 8656 §5).
//!
//! A [`CredentialStore`] maps a USERNAME and REALM to the long-term key
//! `MD5(username ":" realm ":" password)` (RFC 8489 §9.2.2). Two stores:
//! [`StaticUsers`] (a fixed table that keeps only keys, never passwords) and
//! [`RestSecret`], the shared-secret scheme of draft-uberti-behave-turn-rest
//! that coturn calls `use-auth-secret`: the username is
//! `expiry_unix_secs:user` and the password `base64(HMAC-SHA1(secret, username))`,
//! so a web service can mint time-limited credentials the TURN server checks
//! without a database.
//!
//! Wall-clock time is a parameter (`now_unix`), never read here.

use std::collections::HashMap;

use tern_crypto::hmac::HmacSha1Key;
use tern_stun::long_term_key_md5;

/// Where the server finds long-term keys (RFC 8489 §9.2.2).
pub trait CredentialStore {
    /// The long-term key for `username` in `realm` at wall-clock time
    /// `now_unix` (seconds since 1970), or `None` if the user is unknown or
    /// the credential has expired.
    fn long_term_key(&self, username: &str, realm: &str, now_unix: u64) -> Option<[u8; 16]>;

    /// The identity allocation quotas count against. By default the username;
    /// [`RestSecret`] counts the user part without the expiry, so minting a
    /// fresh credential does not buy a fresh quota.
    fn quota_identity<'a>(&self, username: &'a str) -> &'a str {
        username
    }
}

/// A fixed table of users. Only keys are kept, so a memory dump does not hold
/// passwords (though a key is enough to authenticate in its realm).
#[derive(Clone, Default)]
pub struct StaticUsers {
    realm: String,
    keys: HashMap<String, [u8; 16]>,
}

impl std::fmt::Debug for StaticUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticUsers")
            .field("realm", &self.realm)
            .field("users", &self.keys.len())
            .finish()
    }
}

impl StaticUsers {
    /// An empty table for `realm`.
    pub fn new(realm: &str) -> Self {
        StaticUsers {
            realm: realm.to_owned(),
            keys: HashMap::new(),
        }
    }

    /// Adds (or replaces) `username` with `password`, storing only the key.
    pub fn add_user(&mut self, username: &str, password: &str) -> &mut Self {
        let key = long_term_key_md5(username, &self.realm, password);
        self.keys.insert(username.to_owned(), key);
        self
    }

    /// Adds a user by its precomputed key (as coturn's `turnadmin -k` prints).
    pub fn add_key(&mut self, username: &str, key: [u8; 16]) -> &mut Self {
        self.keys.insert(username.to_owned(), key);
        self
    }

    /// Whether `username` is one of the table's users.
    pub fn contains(&self, username: &str) -> bool {
        self.keys.contains_key(username)
    }

    /// Removes a user; returns whether it existed.
    pub fn remove_user(&mut self, username: &str) -> bool {
        self.keys.remove(username).is_some()
    }
}

impl CredentialStore for StaticUsers {
    fn long_term_key(&self, username: &str, realm: &str, _now_unix: u64) -> Option<[u8; 16]> {
        if realm != self.realm {
            return None;
        }
        self.keys.get(username).copied()
    }
}

/// The TURN REST shared-secret scheme (draft-uberti-behave-turn-rest-00 §2.2):
/// username `expiry:user` (or just `expiry`), password
/// `base64(HMAC-SHA1(secret, username))`. A username whose expiry has passed
/// is rejected.
#[derive(Clone)]
pub struct RestSecret {
    secret: HmacSha1Key,
    max_ttl: Option<u64>,
}

impl std::fmt::Debug for RestSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestSecret")
            .field("max_ttl", &self.max_ttl)
            .finish_non_exhaustive()
    }
}

impl RestSecret {
    /// A store checking credentials minted with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        RestSecret {
            secret: HmacSha1Key::new(secret),
            max_ttl: None,
        }
    }

    /// Also rejects usernames whose expiry lies more than `secs` in the
    /// future (credentials minted for years are a leaked secret's friend).
    pub fn with_max_ttl(mut self, secs: u64) -> Self {
        self.max_ttl = Some(secs);
        self
    }

    /// The password for `username` (what the web service hands the browser).
    pub fn password(&self, username: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.secret.sign(&[username.as_bytes()]))
    }

    /// A username valid until `expiry_unix` for `user`, and its password.
    pub fn mint(&self, expiry_unix: u64, user: &str) -> (String, String) {
        let username = format!("{expiry_unix}:{user}");
        let password = self.password(&username);
        (username, password)
    }

    fn expiry(username: &str) -> Option<u64> {
        let stamp = username.split_once(':').map_or(username, |(t, _)| t);
        if stamp.is_empty() || !stamp.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        stamp.parse().ok()
    }
}

impl CredentialStore for RestSecret {
    fn long_term_key(&self, username: &str, realm: &str, now_unix: u64) -> Option<[u8; 16]> {
        let expiry = Self::expiry(username)?;
        if expiry < now_unix {
            return None;
        }
        if self
            .max_ttl
            .is_some_and(|ttl| expiry > now_unix.saturating_add(ttl))
        {
            return None;
        }
        Some(long_term_key_md5(username, realm, &self.password(username)))
    }

    fn quota_identity<'a>(&self, username: &'a str) -> &'a str {
        username.split_once(':').map_or(username, |(_, u)| u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_users_keep_the_md5_key() {
        let mut s = StaticUsers::new("example.org");
        s.add_user("alice", "secret");
        assert_eq!(
            s.long_term_key("alice", "example.org", 0),
            Some(long_term_key_md5("alice", "example.org", "secret"))
        );
        assert_eq!(s.long_term_key("alice", "other.org", 0), None);
        assert_eq!(s.long_term_key("bob", "example.org", 0), None);
        assert!(s.remove_user("alice"));
        assert_eq!(s.long_term_key("alice", "example.org", 0), None);
    }

    #[test]
    fn rest_password_matches_an_independent_hmac() {
        // Computed independently with Python's standard library:
        // base64.b64encode(hmac.new(b"north", b"1700000000:alice", hashlib.sha1).digest())
        let r = RestSecret::new(b"north");
        assert_eq!(
            r.password("1700000000:alice"),
            "Cd/49soE35ICqcJF/bCTn8Z4OyE="
        );
    }

    #[test]
    fn rest_usernames_expire() {
        let r = RestSecret::new(b"s3cret").with_max_ttl(86_400);
        let (user, pass) = r.mint(1_000, "alice");
        assert_eq!(user, "1000:alice");
        let key = long_term_key_md5(&user, "realm", &pass);
        assert_eq!(r.long_term_key(&user, "realm", 999), Some(key));
        assert_eq!(r.long_term_key(&user, "realm", 1_000), Some(key));
        assert_eq!(r.long_term_key(&user, "realm", 1_001), None);
        // Too far in the future for the TTL cap.
        assert_eq!(r.long_term_key("900000:alice", "realm", 1_000), None);
        // Only-expiry usernames work; junk does not.
        assert!(r.long_term_key("5000", "realm", 1_000).is_some());
        for bad in ["alice", ":alice", "12a:alice", "", "-5:x", "+5:x"] {
            assert_eq!(r.long_term_key(bad, "realm", 0), None, "{bad}");
        }
        assert_eq!(r.quota_identity("1000:alice"), "alice");
    }
}
