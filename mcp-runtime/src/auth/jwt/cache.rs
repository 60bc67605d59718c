//! The verified-token cache: a client reusing its token pays for the
//! signature check once.
//!
//! Keyed by a digest of the whole token: SipHash keyed with a random key per
//! cache, so nobody can craft colliding tokens, and a hit is confirmed by
//! comparing the whole token. (SHA-256 would be about a tenth of the work of
//! a whole cached request; SipHash is a fraction of that.) Bounded, sharded
//! so that concurrent requests rarely meet on one lock, and tagged with the
//! key-set generation the token was verified under: an entry from an older
//! key set is never returned.

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::{Mutex, MutexGuard},
};

use crate::token::AccessToken;

/// Keyed digest of a token.
pub(crate) type TokenDigest = u64;

const SHARDS: usize = 16;

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
    keys: RandomState,
}

impl TokenCache {
    /// A cache holding at most about `capacity` tokens; `0` disables caching.
    pub(crate) fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS);
        let shards = (0..if capacity == 0 { 0 } else { SHARDS })
            .map(|_| Mutex::new(HashMap::new()))
            .collect();
        Self {
            shards,
            per_shard,
            keys: RandomState::new(),
        }
    }

    /// The digest of `token` under this cache's key: its cache key.
    pub(crate) fn digest(&self, token: &str) -> TokenDigest {
        self.keys.hash_one(token)
    }

    pub(crate) fn enabled(&self) -> bool {
        !self.shards.is_empty()
    }

    fn shard(&self, key: &TokenDigest) -> MutexGuard<'_, HashMap<TokenDigest, Entry>> {
        let i = (*key % self.shards.len() as u64) as usize;
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
    fn digest_covers_the_whole_token_and_is_keyed() {
        let c = TokenCache::new(10);
        let a = "header.payload.signature-a";
        assert_eq!(c.digest(a), c.digest(a));
        assert_ne!(c.digest(a), c.digest("header.payload.signature-b"));
        assert_ne!(c.digest(a), c.digest("Header.payload.signature-a"));
        assert_ne!(c.digest(a), TokenCache::new(10).digest(a), "per-cache key");
    }

    #[test]
    fn a_colliding_digest_is_not_a_hit() {
        let c = TokenCache::new(10);
        let k = c.digest("t1");
        c.insert(k, tok("t1"), 100, 1, 50);
        assert!(c.get(&k, "t2", 1, 60).is_none(), "same key, other token");
    }

    #[test]
    fn hit_until_expiry_and_only_for_the_same_generation() {
        let c = TokenCache::new(10);
        let k = c.digest("t1");
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
        c.insert(c.digest("t"), tok("t"), 10, 1, 10);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn bounded() {
        let c = TokenCache::new(32);
        for i in 0..1000u64 {
            let raw = format!("token-{i}");
            c.insert(c.digest(&raw), tok(&raw), 1000 + i, 1, 0);
        }
        assert!(c.len() <= 32, "{} entries", c.len());
        // The most recently inserted token is there.
        assert!(c.get(&c.digest("token-999"), "token-999", 1, 0).is_some());
    }

    #[test]
    fn capacity_zero_disables() {
        let c = TokenCache::new(0);
        let k = c.digest("t");
        c.insert(k, tok("t"), 100, 1, 0);
        assert!(c.get(&k, "t", 1, 0).is_none());
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn clear_empties() {
        let c = TokenCache::new(1000);
        for i in 0..50 {
            let raw = format!("t{i}");
            c.insert(c.digest(&raw), tok(&raw), 100, 1, 0);
        }
        assert_eq!(c.len(), 50);
        c.clear();
        assert_eq!(c.len(), 0);
    }
}
