//! The verified-token cache: a client reusing its token pays for the
//! signature check once.
//!
//! Keyed by the SHA-256 digest of the whole token (the raw token is never a
//! key), bounded, sharded so that concurrent requests rarely meet on one lock,
//! and tagged with the key-set generation the token was verified under: an
//! entry from an older key set is never returned.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

use aws_lc_rs::digest;

use crate::AccessToken;

/// SHA-256 of a token.
pub(crate) type TokenDigest = [u8; 32];

const SHARDS: usize = 16;

/// Digest of `token`, the cache key.
pub(crate) fn token_digest(token: &str) -> TokenDigest {
    let d = digest::digest(&digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

struct Entry {
    token: AccessToken,
    /// Unix time (seconds) at which the entry stops being served: the token's `exp`.
    expires_at: u64,
    /// Key-set generation the token was verified under.
    generation: u64,
}

/// A bounded map from token digest to verified token.
pub(crate) struct TokenCache {
    shards: Box<[Mutex<HashMap<TokenDigest, Entry>>]>,
    per_shard: usize,
}

impl TokenCache {
    /// A cache holding at most about `capacity` tokens; `0` disables caching.
    pub(crate) fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS);
        let shards = (0..if capacity == 0 { 0 } else { SHARDS })
            .map(|_| Mutex::new(HashMap::new()))
            .collect();
        Self { shards, per_shard }
    }

    pub(crate) fn enabled(&self) -> bool {
        !self.shards.is_empty()
    }

    fn shard(&self, key: &TokenDigest) -> MutexGuard<'_, HashMap<TokenDigest, Entry>> {
        let i = usize::from(key[0]) % self.shards.len();
        // A panic while holding the lock leaves a consistent map; keep going.
        self.shards[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached token for `raw`, if it was verified under key-set
    /// `generation` and has not expired at `now` (Unix seconds).
    pub(crate) fn get(
        &self,
        key: &TokenDigest,
        raw: &str,
        generation: u64,
        now: u64,
    ) -> Option<AccessToken> {
        if !self.enabled() {
            return None;
        }
        let mut shard = self.shard(key);
        let entry = shard.get(key)?;
        if entry.generation == generation && now < entry.expires_at && entry.token.raw() == raw {
            return Some(entry.token.clone());
        }
        shard.remove(key);
        None
    }

    /// Remembers a verified token until `expires_at` (Unix seconds).
    pub(crate) fn insert(
        &self,
        key: TokenDigest,
        token: AccessToken,
        expires_at: u64,
        generation: u64,
        now: u64,
    ) {
        if !self.enabled() || expires_at <= now {
            return;
        }
        let mut shard = self.shard(&key);
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            // Full: drop what has expired or is from an old key set, and if
            // that frees nothing, the entry closest to expiry.
            shard.retain(|_, e| e.expires_at > now && e.generation == generation);
            if shard.len() >= self.per_shard {
                let victim = shard
                    .iter()
                    .min_by_key(|(_, e)| e.expires_at)
                    .map(|(k, _)| *k);
                if let Some(victim) = victim {
                    shard.remove(&victim);
                }
            }
        }
        shard.insert(
            key,
            Entry {
                token,
                expires_at,
                generation,
            },
        );
    }

    /// Forgets every token (the key set changed).
    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
        }
    }

    /// How many tokens are cached.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .len()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(raw: &str) -> AccessToken {
        AccessToken::new(raw, "alice")
    }

    #[test]
    fn digest_is_sha256() {
        let d = token_digest("abc");
        assert_eq!(d[..4], [0xba, 0x78, 0x16, 0xbf]);
    }

    #[test]
    fn hit_until_expiry_and_only_for_the_same_generation() {
        let c = TokenCache::new(10);
        let k = token_digest("t1");
        c.insert(k, tok("t1"), 100, 1, 50);
        assert!(c.get(&k, "t1", 1, 99).is_some());
        assert!(c.get(&k, "t1", 2, 60).is_none(), "other key-set generation");
        c.insert(k, tok("t1"), 100, 1, 50);
        assert!(c.get(&k, "t1", 1, 100).is_none(), "expired");
        assert_eq!(c.len(), 0, "stale entries are dropped on lookup");
    }

    #[test]
    fn already_expired_tokens_are_not_stored() {
        let c = TokenCache::new(10);
        c.insert(token_digest("t"), tok("t"), 10, 1, 10);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn bounded() {
        let c = TokenCache::new(32);
        for i in 0..1000u64 {
            let raw = format!("token-{i}");
            c.insert(token_digest(&raw), tok(&raw), 1000 + i, 1, 0);
        }
        assert!(c.len() <= 32, "{} entries", c.len());
        // The most recently inserted token is there.
        assert!(
            c.get(&token_digest("token-999"), "token-999", 1, 0)
                .is_some()
        );
    }

    #[test]
    fn capacity_zero_disables() {
        let c = TokenCache::new(0);
        let k = token_digest("t");
        c.insert(k, tok("t"), 100, 1, 0);
        assert!(c.get(&k, "t", 1, 0).is_none());
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn clear_empties() {
        let c = TokenCache::new(1000);
        for i in 0..50 {
            let raw = format!("t{i}");
            c.insert(token_digest(&raw), tok(&raw), 100, 1, 0);
        }
        assert_eq!(c.len(), 50);
        c.clear();
        assert_eq!(c.len(), 0);
    }
}
