//! The boxed future that verifiers and tool wrappers return.

use std::{future::Future, pin::Pin};

/// A boxed, sendable future, as returned by
/// [`TokenVerifier::verify`](crate::auth::TokenVerifier::verify).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
