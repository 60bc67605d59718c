//! One listing type for everything a server lists: tools, resources,
//! resource templates and prompts. Each is built once, in order, with an
//! index by name (or URI), and answers its `*/list` request as it is.

use std::collections::HashMap;

use rmcp::model::{Prompt, Resource, ResourceTemplate, Tool};

/// An item a listing holds: an rmcp model type with a unique key.
pub(crate) trait Listed: Clone {
    /// How an error names two items with one key ("two tools are named").
    const DUPLICATE: &'static str;
    /// The name (or URI) it is found by.
    fn key(&self) -> &str;
}

impl Listed for Tool {
    const DUPLICATE: &'static str = "two tools are named";
    fn key(&self) -> &str {
        &self.name
    }
}

impl Listed for Resource {
    const DUPLICATE: &'static str = "two resources have the URI";
    fn key(&self) -> &str {
        &self.uri
    }
}

impl Listed for ResourceTemplate {
    const DUPLICATE: &'static str = "two resource templates have the URI template";
    fn key(&self) -> &str {
        &self.uri_template
    }
}

impl Listed for Prompt {
    const DUPLICATE: &'static str = "two prompts are named";
    fn key(&self) -> &str {
        &self.name
    }
}

/// Items as listed, each with what serves it (`H`): `items[i]` is served by
/// `handlers[i]`.
pub(crate) struct Listing<T, H> {
    items: Vec<T>,
    handlers: Vec<H>,
    index: HashMap<String, usize>,
}

impl<T, H> Default for Listing<T, H> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            handlers: Vec::new(),
            index: HashMap::new(),
        }
    }
}

/// Two entries of a listing share this key.
#[derive(Debug)]
pub(crate) struct Duplicate {
    pub(crate) key: String,
}

impl Duplicate {
    /// The configuration error naming the duplicate and the builder method.
    pub(crate) fn into_error<T: Listed>(self, method: &str) -> crate::error::Error {
        crate::error::Error::config(method, format!("{} `{}`", T::DUPLICATE, self.key))
    }
}

impl<T: Listed, H> Listing<T, H> {
    /// The entries, in listing order; keys must be unique.
    pub(crate) fn new(entries: impl IntoIterator<Item = (T, H)>) -> Result<Self, Duplicate> {
        let mut listing = Self::default();
        for (item, handler) in entries {
            if listing.index.contains_key(item.key()) {
                return Err(Duplicate {
                    key: item.key().to_owned(),
                });
            }
            listing
                .index
                .insert(item.key().to_owned(), listing.items.len());
            listing.items.push(item);
            listing.handlers.push(handler);
        }
        Ok(listing)
    }

    /// The item with this key and its handler.
    pub(crate) fn get(&self, key: &str) -> Option<(&T, &H)> {
        let &i = self.index.get(key)?;
        Some((&self.items[i], &self.handlers[i]))
    }

    /// The items, in listing order.
    pub(crate) fn items(&self) -> &[T] {
        &self.items
    }

    /// Items and handlers, in listing order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&T, &H)> {
        self.items.iter().zip(&self.handlers)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(name: &str) -> Prompt {
        Prompt::new(name, None::<String>, None)
    }

    #[test]
    fn items_keep_their_order_and_are_found_by_key() {
        let l = Listing::new([(prompt("b"), 1), (prompt("a"), 2)]).unwrap();
        let names: Vec<_> = l.items().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(l.get("a").map(|(_, h)| *h), Some(2));
        assert!(l.get("c").is_none());
    }

    #[test]
    fn a_duplicate_key_is_named() {
        let e = Listing::new([(prompt("x"), ()), (prompt("y"), ()), (prompt("x"), ())])
            .err()
            .unwrap();
        assert_eq!(e.key, "x");
        let e = e.into_error::<Prompt>("McpServerBuilder::prompt");
        assert_eq!(
            e.to_string(),
            "McpServerBuilder::prompt: two prompts are named `x`"
        );
    }
}
