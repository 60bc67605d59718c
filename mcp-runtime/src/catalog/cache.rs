//! Cache hints on list and read results (SEP-2549, protocol 2026-07-28):
//! how long a result stays fresh (`ttlMs`) and who may keep it
//! (`cacheScope`).
//!
//! The scope is decided here, never configured: `public` lets any client or
//! intermediary serve the result to any user, so it is only given to a
//! result that is the same for every caller, an unfiltered listing. A
//! filtered listing depends on the caller's scopes, and a resource read runs
//! with the caller's token (the handler may use it, and the runtime cannot
//! tell whether it does): both are `private`. Only the freshness is
//! configured, per server and per resource or resource template.

use std::{collections::HashMap, time::Duration};

use rmcp::model::CacheScope;

use crate::error::Error;

/// The configured freshness of results.
#[derive(Debug, Clone, Default)]
pub(crate) struct CacheTtl {
    /// Every list result and read (0: ask again every time).
    pub(crate) all: Duration,
    /// Reads of one resource (by URI) or resource template (by URI template).
    pub(crate) items: HashMap<String, Duration>,
}

/// `ttlMs` and `cacheScope` of one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hint {
    pub(crate) ttl_ms: u64,
    pub(crate) scope: CacheScope,
}

impl CacheTtl {
    /// Checks that every item named is served: `is_served` says whether a
    /// resource URI or URI template is.
    pub(crate) fn check(&self, is_served: impl Fn(&str) -> bool) -> Result<(), Error> {
        let mut unknown: Vec<&str> = self
            .items
            .keys()
            .map(String::as_str)
            .filter(|k| !is_served(k))
            .collect();
        unknown.sort_unstable();
        match unknown.first() {
            None => Ok(()),
            Some(item) => Err(Error::config(
                "resource_cache_ttl",
                format!(
                    "`{item}` is neither the URI of a resource nor the URI template of a resource template of this server"
                ),
            )),
        }
    }

    /// The hint of a `*/list` result: public only when it is the same for
    /// every caller.
    pub(crate) fn listing(&self, filtered: bool) -> Hint {
        Hint {
            ttl_ms: millis(self.all),
            scope: if filtered {
                CacheScope::Private
            } else {
                CacheScope::Public
            },
        }
    }

    /// The hint of a read of the resource or template named `item`.
    pub(crate) fn read(&self, item: &str) -> Hint {
        Hint {
            ttl_ms: millis(self.items.get(item).copied().unwrap_or(self.all)),
            scope: CacheScope::Private,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unfiltered_listing_is_public() {
        let ttl = CacheTtl {
            all: Duration::from_secs(60),
            items: HashMap::from([("todo://items".to_owned(), Duration::from_millis(1500))]),
        };
        assert_eq!(
            ttl.listing(false),
            Hint {
                ttl_ms: 60_000,
                scope: CacheScope::Public
            }
        );
        assert_eq!(
            ttl.listing(true),
            Hint {
                ttl_ms: 60_000,
                scope: CacheScope::Private
            }
        );
        assert_eq!(
            ttl.read("todo://items"),
            Hint {
                ttl_ms: 1500,
                scope: CacheScope::Private
            }
        );
        assert_eq!(
            ttl.read("other://x"),
            Hint {
                ttl_ms: 60_000,
                scope: CacheScope::Private
            }
        );
        assert_eq!(CacheTtl::default().listing(false).ttl_ms, 0);
    }

    #[test]
    fn an_item_that_is_not_served_is_an_error() {
        let ttl = CacheTtl {
            all: Duration::ZERO,
            items: HashMap::from([("todo://itmes".to_owned(), Duration::from_secs(1))]),
        };
        assert!(ttl.check(|k| k == "todo://itmes").is_ok());
        assert_eq!(
            ttl.check(|k| k == "todo://items").unwrap_err().to_string(),
            "resource_cache_ttl: `todo://itmes` is neither the URI of a resource nor the URI template of a resource template of this server"
        );
    }
}
