//! Resource updates for the `subscriptions/listen` streams of protocol
//! 2026-07-28: who listens for which URIs, and who is told that one changed.
//!
//! A listen stream is registered with its caller's subject and the URIs it
//! was acknowledged for, which are only those the caller may read (the
//! others are dropped before the acknowledgment). An update names a URI and
//! its audience: everyone who listens for that URI, or only the streams of
//! one subject, for a resource whose content is the caller's own (the
//! demo's `todo://items`), so one user's activity never reaches another.
//!
//! Updates are hints ("read it again"), so a stream keeps at most one
//! pending update per URI: a client slower than the updates gets each
//! changed URI once, not a backlog.
//!
//! The registry lives in this process: an update published on one replica
//! reaches the streams opened on that replica only.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio::sync::Notify;

/// Every open listen stream of this process.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    next: AtomicU64,
    listeners: Mutex<HashMap<u64, Arc<Listener>>>,
}

#[derive(Debug)]
struct Listener {
    /// The subject of the token that opened the stream (`None`: no
    /// authentication).
    subject: Option<String>,
    /// The URIs acknowledged.
    uris: BTreeSet<String>,
    /// Updated URIs not yet sent.
    pending: Mutex<BTreeSet<String>>,
    wake: Notify,
}

/// Who an update is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Audience<'a> {
    /// Every stream listening for the URI (each one was opened by a caller
    /// allowed to read it).
    Everyone,
    /// Only the streams opened by this subject (`None`: by anonymous
    /// callers, on a server without authentication).
    Subject(Option<&'a str>),
}

impl Hub {
    /// Registers a stream of `subject` listening for `uris`; it stays
    /// registered while the returned handle lives.
    pub(crate) fn register(
        self: &Arc<Self>,
        subject: Option<String>,
        uris: BTreeSet<String>,
    ) -> Registration {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let listener = Arc::new(Listener {
            subject,
            uris,
            pending: Mutex::default(),
            wake: Notify::new(),
        });
        self.lock().insert(id, listener.clone());
        Registration {
            hub: self.clone(),
            id,
            listener,
        }
    }

    /// Tells the streams of `audience` listening for `uri` that it changed;
    /// returns how many streams that is.
    pub(crate) fn publish(&self, uri: &str, audience: Audience<'_>) -> usize {
        let listeners = self.lock();
        let mut told = 0;
        for listener in listeners.values() {
            let for_them = match audience {
                Audience::Everyone => true,
                Audience::Subject(subject) => listener.subject.as_deref() == subject,
            };
            if for_them && listener.uris.contains(uri) {
                let mut pending = listener.pending.lock().unwrap_or_else(|e| e.into_inner());
                pending.insert(uri.to_owned());
                listener.wake.notify_one();
                told += 1;
            }
        }
        told
    }

    /// How many streams are open.
    pub(crate) fn streams(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Listener>>> {
        self.listeners.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One registered stream; dropping it unregisters the stream.
#[derive(Debug)]
pub(crate) struct Registration {
    hub: Arc<Hub>,
    id: u64,
    listener: Arc<Listener>,
}

impl Registration {
    /// The URIs updated since the last call, waiting until there is one.
    pub(crate) async fn next(&self) -> BTreeSet<String> {
        loop {
            let updated = std::mem::take(
                &mut *self
                    .listener
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            );
            if !updated.is_empty() {
                return updated;
            }
            // A `notify_one` before this wait leaves a permit: nothing is lost.
            self.listener.wake.notified().await;
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.lock().remove(&self.id);
    }
}

/// Tells the `subscriptions/listen` streams of protocol 2026-07-28 that a
/// resource changed, so clients that listen for it read it again. A tool,
/// resource or prompt takes it as a parameter, like [`AccessToken`](crate::AccessToken);
/// outside a call, use [`McpServer::notify_resource_updated`](crate::McpServer::notify_resource_updated).
///
/// A stream listens only for URIs its caller may read: URIs the caller's
/// scopes do not allow are left out of its acknowledgment, so no update
/// about them ever reaches it. For a resource whose content depends on the
/// caller (a list of *my* items), use [`notify_caller`](Self::notify_caller):
/// only the caller's own streams hear of it, not every user who listens for
/// the same URI.
///
/// ```
/// use mcp_runtime::{AccessToken, ResourceUpdates, resource, tool};
///
/// /// The caller's notes.
/// #[resource(uri = "notes://mine", scope = "notes:read")]
/// fn my_notes(token: AccessToken) -> String {
///     format!("the notes of {}", token.subject())
/// }
///
/// /// Adds a note for the caller.
/// #[tool(scope = "notes:write")]
/// fn add_note(updates: ResourceUpdates, text: String) -> String {
///     // ... store the note, then:
///     updates.notify_caller("notes://mine");
///     format!("Noted: {text}")
/// }
/// ```
///
/// Streams are held by the process that opened them: behind a load
/// balancer, an update reaches the listeners of the replica that published
/// it only.
#[derive(Debug, Clone)]
pub struct ResourceUpdates {
    hub: Arc<Hub>,
    subject: Option<String>,
}

impl ResourceUpdates {
    /// `uri` changed for the caller only: the streams opened with the
    /// caller's subject that listen for it are told; returns how many.
    pub fn notify_caller(&self, uri: &str) -> usize {
        self.hub
            .publish(uri, Audience::Subject(self.subject.as_deref()))
    }

    /// `uri` changed for everyone who may read it: every stream listening
    /// for it is told; returns how many.
    pub fn notify_everyone(&self, uri: &str) -> usize {
        self.hub.publish(uri, Audience::Everyone)
    }
}

impl ResourceUpdates {
    /// The handle a tool, resource or prompt of a caller with `subject` gets.
    pub(crate) fn for_caller(hub: Arc<Hub>, subject: Option<String>) -> Self {
        ResourceUpdates { hub, subject }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[tokio::test]
    async fn updates_reach_the_listeners_of_their_audience_only() {
        let hub = Arc::new(Hub::default());
        let alice = hub.register(Some("alice".into()), uris(&["todo://items", "news://"]));
        let bob = hub.register(Some("bob".into()), uris(&["todo://items"]));
        assert_eq!(hub.streams(), 2);

        assert_eq!(
            hub.publish("todo://items", Audience::Subject(Some("alice"))),
            1
        );
        assert_eq!(alice.next().await, uris(&["todo://items"]));
        assert_eq!(
            hub.publish("news://", Audience::Everyone),
            1,
            "bob did not ask"
        );
        assert_eq!(hub.publish("todo://items", Audience::Everyone), 2);
        assert_eq!(alice.next().await, uris(&["news://", "todo://items"]));
        assert_eq!(bob.next().await, uris(&["todo://items"]));

        drop(bob);
        assert_eq!(hub.streams(), 1);
        assert_eq!(hub.publish("todo://items", Audience::Everyone), 1);
    }

    #[tokio::test]
    async fn repeated_updates_coalesce() {
        let hub = Arc::new(Hub::default());
        let one = hub.register(None, uris(&["a://"]));
        for _ in 0..100 {
            hub.publish("a://", Audience::Subject(None));
        }
        assert_eq!(one.next().await, uris(&["a://"]));
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(20), one.next());
        assert!(waiting.await.is_err(), "nothing more is pending");
    }
}
