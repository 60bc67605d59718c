//! The verified-token cache: a client reusing its token pays for the
//! signature check once.
//!
//! Keyed by a digest of the whole token: SipHash keyed with a random key per
//! cache, so nobody can craft colliding tokens, and a hit is confirmed by
//! comparing the whole token. (SHA-256 would be about a tenth of the work of
//! a whole cached request; SipHash is a fraction of that.) Bounded in
//! entries and in bytes (a token may be 16 KiB long: ten thousand of them
//! would otherwise hold hundreds of megabytes), sharded so that concurrent
//! requests rarely meet on one lock, and tagged with the
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

/// What an entry is counted as: its token three times over (the raw token,
/// and its decoded claims, which take up to about twice the token's length
/// in memory), plus the map's and the token's fixed overhead.
fn entry_bytes(token: &AccessToken) -> usize {
    3 * token.raw().len() + 256
}

#[derive(Default)]
struct Shard {
    map: HashMap<TokenDigest, Entry>,
    /// The sum of its entries' `bytes`.
    bytes: usize,
}

impl Shard {
    fn remove(&mut self, key: &TokenDigest) {
        if let Some(e) = self.map.remove(key) {
            self.bytes -= e.bytes;
        }
    }
}

struct Entry {
    token: AccessToken,
    /// What it counts for against the byte bound.
    bytes: usize,
    /// Unix time (seconds) at which the entry stops being served: the token's `exp`.
    expires_at: u64,
    /// Key-set generation the token was verified under.
    generation: u64,
}

/// A bounded map from token digest to verified token.
pub(crate) struct TokenCache {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    bytes_per_shard: usize,
    keys: RandomState,
}

impl TokenCache {
    /// A cache holding at most about `capacity` tokens and `max_bytes`
    /// bytes of them; `0` for either disables caching.
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> Self {
        let on = capacity > 0 && max_bytes > 0;
        let shards = (0..if on { SHARDS } else { 0 })
            .map(|_| Mutex::new(Shard::default()))
            .collect();
        Self {
            shards,
            per_shard: capacity.div_ceil(SHARDS),
            bytes_per_shard: max_bytes / SHARDS,
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

    fn shard(&self, key: &TokenDigest) -> MutexGuard<'_, Shard> {
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
        let entry = shard.map.get(key)?;
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
        let bytes = entry_bytes(&token);
        if !self.enabled() || expires_at <= now || bytes > self.bytes_per_shard {
            return;
        }
        let mut shard = self.shard(&key);
        shard.remove(&key);
        let full =
            |s: &Shard| s.map.len() >= self.per_shard || s.bytes + bytes > self.bytes_per_shard;
        if full(&shard) {
            // Drop what has expired or is from an old key set, then, while
            // still full, the entries closest to expiry.
            let Shard { map, bytes: held } = &mut *shard;
            map.retain(|_, e| {
                let keep = e.expires_at > now && e.generation == generation;
                if !keep {
                    *held -= e.bytes;
                }
                keep
            });
            while full(&shard) {
                let victim = shard
                    .map
                    .iter()
                    .min_by_key(|(_, e)| e.expires_at)
                    .map(|(k, _)| *k);
                match victim {
                    Some(victim) => shard.remove(&victim),
                    None => break,
                }
            }
        }
        shard.bytes += bytes;
        shard.map.insert(
            key,
            Entry {
                token,
                bytes,
                expires_at,
                generation,
            },
        );
    }

    /// Forgets every token (the key set changed).
    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            *shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Shard::default();
        }
    }

    /// How many tokens are cached.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .map
                    .len()
            })
            .sum()
    }

    /// How many bytes the cached tokens count for.
    pub(crate) fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .bytes
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
        let c = TokenCache::new(10, 1 << 20);
        let a = "header.payload.signature-a";
        assert_eq!(c.digest(a), c.digest(a));
        assert_ne!(c.digest(a), c.digest("header.payload.signature-b"));
        assert_ne!(c.digest(a), c.digest("Header.payload.signature-a"));
        assert_ne!(
            c.digest(a),
            TokenCache::new(10, 1 << 20).digest(a),
            "per-cache key"
        );
    }

    #[test]
    fn a_colliding_digest_is_not_a_hit() {
        let c = TokenCache::new(10, 1 << 20);
        let k = c.digest("t1");
        c.insert(k, tok("t1"), 100, 1, 50);
        assert!(c.get(&k, "t2", 1, 60).is_none(), "same key, other token");
    }

    #[test]
    fn hit_until_expiry_and_only_for_the_same_generation() {
        let c = TokenCache::new(10, 1 << 20);
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
        let c = TokenCache::new(10, 1 << 20);
        c.insert(c.digest("t"), tok("t"), 10, 1, 10);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn bounded() {
        let c = TokenCache::new(32, 1 << 20);
        for i in 0..1000u64 {
            let raw = format!("token-{i}");
            c.insert(c.digest(&raw), tok(&raw), 1000 + i, 1, 0);
        }
        assert!(c.len() <= 32, "{} entries", c.len());
        // The most recently inserted token is there.
        assert!(c.get(&c.digest("token-999"), "token-999", 1, 0).is_some());
    }

    #[test]
    fn bounded_in_bytes_whatever_the_tokens_length() {
        // 16 shards of 64 KiB: 16 KiB tokens count 48 KiB each, one a shard.
        let c = TokenCache::new(10_000, 16 * 64 * 1024);
        let long = "x".repeat(16 * 1024);
        for i in 0..1000u64 {
            let raw = format!("{long}{i}");
            c.insert(c.digest(&raw), tok(&raw), 1000 + i, 1, 0);
        }
        assert!(c.bytes() <= 16 * 64 * 1024, "{} bytes", c.bytes());
        assert!(c.len() <= 16, "{} entries", c.len());
        let last = format!("{long}999");
        assert!(c.get(&c.digest(&last), &last, 1, 0).is_some());
        // A token larger than a shard's share is not kept at all.
        let huge = "y".repeat(64 * 1024);
        c.insert(c.digest(&huge), tok(&huge), 5000, 1, 0);
        assert!(c.get(&c.digest(&huge), &huge, 1, 0).is_none());
        // Replacing an entry does not count it twice.
        let c = TokenCache::new(100, 1 << 20);
        for _ in 0..10 {
            c.insert(c.digest("t"), tok("t"), 100, 1, 0);
        }
        assert_eq!(c.bytes(), entry_bytes(&tok("t")));
        c.clear();
        assert_eq!(c.bytes(), 0);
    }

    #[test]
    fn capacity_zero_disables() {
        let c = TokenCache::new(0, 1 << 20);
        let k = c.digest("t");
        c.insert(k, tok("t"), 100, 1, 0);
        assert!(c.get(&k, "t", 1, 0).is_none());
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn clear_empties() {
        let c = TokenCache::new(1000, 1 << 20);
        for i in 0..50 {
            let raw = format!("t{i}");
            c.insert(c.digest(&raw), tok(&raw), 100, 1, 0);
        }
        assert_eq!(c.len(), 50);
        c.clear();
        assert_eq!(c.len(), 0);
    }
}
