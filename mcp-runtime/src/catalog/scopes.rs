//! Scope requirements, hierarchies and the decision between them.

use std::collections::{BTreeSet, HashMap};

pub use super::access::FORBIDDEN;

/// What a tool asks of the caller's scopes, as written in `#[tool(...)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRule {
    /// `#[tool(public)]`: any caller the server admits (any valid token;
    /// anyone when the server has no authentication).
    Public,
    /// Every listed scope is required (`scope = "a"`, `scopes = ["a", "b"]`).
    All(&'static [&'static str]),
    /// At least one listed scope is required (`any_scope = ["a", "b"]`).
    Any(&'static [&'static str]),
}

impl ScopeRule {
    /// The scopes the rule names, in the order written.
    pub fn scopes(&self) -> &'static [&'static str] {
        match self {
            ScopeRule::Public => &[],
            ScopeRule::All(s) | ScopeRule::Any(s) => s,
        }
    }
}

/// Scopes that imply other scopes, such as `system:admin` ⊇ `system:write` ⊇ `system:read`.
///
/// Implication is transitive and may form any acyclic or cyclic graph.
///
/// ```
/// use mcp_runtime::ScopeHierarchy;
///
/// let h = ScopeHierarchy::new()
///     .with_chain(["system:admin", "system:write", "system:read"]);
/// assert!(h.grants(&["system:admin".to_owned()], "system:read"));
/// assert!(!h.grants(&["system:read".to_owned()], "system:write"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ScopeHierarchy {
    implies: HashMap<String, Vec<String>>,
}

impl ScopeHierarchy {
    /// No scope implies another.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares that holding `scope` also grants each of `implied`.
    pub fn with_implication<S: Into<String>>(
        mut self,
        scope: impl Into<String>,
        implied: impl IntoIterator<Item = S>,
    ) -> Self {
        self.implies
            .entry(scope.into())
            .or_default()
            .extend(implied.into_iter().map(Into::into));
        self
    }

    /// Declares a chain, strongest first: each scope implies the next.
    pub fn with_chain<S: Into<String>>(mut self, chain: impl IntoIterator<Item = S>) -> Self {
        let chain: Vec<String> = chain.into_iter().map(Into::into).collect();
        for pair in chain.windows(2) {
            self = self.with_implication(pair[0].clone(), [pair[1].clone()]);
        }
        self
    }

    /// These implications and all of `other`'s.
    ///
    /// ```
    /// use mcp_runtime::ScopeHierarchy;
    ///
    /// let system = ScopeHierarchy::new().with_chain(["system:admin", "system:read"]);
    /// let todo = ScopeHierarchy::new().with_chain(["todo:write", "todo:read"]);
    /// let both = system.merged(todo);
    /// assert!(both.grants(&["todo:write".to_owned()], "todo:read"));
    /// assert!(both.grants(&["system:admin".to_owned()], "system:read"));
    /// ```
    pub fn merged(mut self, other: ScopeHierarchy) -> Self {
        for (scope, implied) in other.implies {
            let entry = self.implies.entry(scope).or_default();
            for i in implied {
                if !entry.contains(&i) {
                    entry.push(i);
                }
            }
        }
        self
    }

    /// Whether no implication is configured.
    pub fn is_empty(&self) -> bool {
        self.implies.is_empty()
    }

    /// Whether holding `held` grants `wanted`, directly or through implication.
    pub fn grants(&self, held: &[String], wanted: &str) -> bool {
        if held.iter().any(|s| s == wanted) {
            return true;
        }
        if self.implies.is_empty() {
            return false;
        }
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = held.iter().map(String::as_str).collect();
        while let Some(scope) = stack.pop() {
            if scope == wanted {
                return true;
            }
            if !seen.insert(scope) {
                continue;
            }
            if let Some(next) = self.implies.get(scope) {
                stack.extend(next.iter().map(String::as_str));
            }
        }
        false
    }

    /// Every other scope whose holder is granted `scope`, sorted.
    pub fn implied_by(&self, scope: &str) -> Vec<String> {
        let mut by: Vec<String> = self
            .implies
            .keys()
            .filter(|k| *k != scope && self.grants(std::slice::from_ref(*k), scope))
            .cloned()
            .collect();
        by.sort();
        by
    }

    /// `held` plus every scope it implies, sorted.
    pub fn expand(&self, held: &[String]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack: Vec<&str> = held.iter().map(String::as_str).collect();
        while let Some(scope) = stack.pop() {
            if out.insert(scope.to_owned())
                && let Some(next) = self.implies.get(scope)
            {
                stack.extend(next.iter().map(String::as_str));
            }
        }
        out
    }
}

/// The outcome of checking a token against a [`ScopeRule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeDecision {
    /// The token satisfies the rule.
    Allowed,
    /// The token lacks a scope; the message is the one sent to the caller.
    Refused {
        /// The first required scope that is missing (for an any-of rule, the first listed).
        missing: &'static str,
        /// `Insufficient permissions: `…` scope required.`
        message: String,
    },
}

/// Checks `held` against `rule`, with `hierarchy` applied.
pub fn decide(rule: &ScopeRule, held: &[String], hierarchy: &ScopeHierarchy) -> ScopeDecision {
    match rule {
        ScopeRule::Public => ScopeDecision::Allowed,
        ScopeRule::All(required) => match required.iter().find(|s| !hierarchy.grants(held, s)) {
            None => ScopeDecision::Allowed,
            Some(missing) => ScopeDecision::Refused {
                missing,
                message: format!("Insufficient permissions: `{missing}` scope required."),
            },
        },
        ScopeRule::Any(options) => {
            if options.iter().any(|s| hierarchy.grants(held, s)) {
                return ScopeDecision::Allowed;
            }
            let listed = options
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(" or ");
            ScopeDecision::Refused {
                missing: options.first().copied().unwrap_or_default(),
                message: format!("Insufficient permissions: {listed} scope required."),
            }
        }
    }
}

/// Whether `s` is one RFC 6749 scope token: `1*( %x21 / %x23-5B / %x5D-7E )`.
///
/// A `const fn`, so that [`scopes!`](crate::scopes!) checks its scopes at
/// compile time.
pub const fn is_scope_token(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if !matches!(bytes[i], 0x21 | 0x23..=0x5B | 0x5D..=0x7E) {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    fn system() -> ScopeHierarchy {
        ScopeHierarchy::new().with_chain(["system:admin", "system:write", "system:read"])
    }

    #[test]
    fn exact_scope_is_granted_without_hierarchy() {
        let h = ScopeHierarchy::new();
        assert!(h.grants(&held(&["todo:read"]), "todo:read"));
        assert!(!h.grants(&held(&["todo:read"]), "todo:write"));
        assert!(!h.grants(&[], "todo:read"));
    }

    #[test]
    fn hierarchy_is_transitive_and_one_way() {
        let h = system();
        assert!(h.grants(&held(&["system:admin"]), "system:write"));
        assert!(h.grants(&held(&["system:admin"]), "system:read"));
        assert!(h.grants(&held(&["system:write"]), "system:read"));
        assert!(!h.grants(&held(&["system:write"]), "system:admin"));
        assert!(!h.grants(&held(&["system:read"]), "system:write"));
        assert!(!h.grants(&held(&["system:admin"]), "todo:read"));
    }

    #[test]
    fn cycles_terminate() {
        let h = ScopeHierarchy::new()
            .with_implication("a", ["b"])
            .with_implication("b", ["a"]);
        assert!(h.grants(&held(&["a"]), "b"));
        assert!(!h.grants(&held(&["a"]), "c"));
        assert_eq!(h.expand(&held(&["a"])).len(), 2);
    }

    #[test]
    fn expand_lists_implied_scopes() {
        let e = system().expand(&held(&["system:write"]));
        assert_eq!(
            e.into_iter().collect::<Vec<_>>(),
            ["system:read", "system:write"]
        );
    }

    #[test]
    fn refusal_names_the_first_missing_scope() {
        let rule = ScopeRule::All(&["a", "b", "c"]);
        let d = decide(&rule, &held(&["a"]), &ScopeHierarchy::new());
        assert_eq!(
            d,
            ScopeDecision::Refused {
                missing: "b",
                message: "Insufficient permissions: `b` scope required.".into()
            }
        );
        assert_eq!(
            decide(&rule, &held(&["c", "b", "a"]), &ScopeHierarchy::new()),
            ScopeDecision::Allowed
        );
    }

    #[test]
    fn reference_message_is_exact() {
        let d = decide(
            &ScopeRule::All(&["todo:write"]),
            &[],
            &ScopeHierarchy::new(),
        );
        let ScopeDecision::Refused { message, .. } = d else {
            panic!("allowed")
        };
        assert_eq!(
            message,
            "Insufficient permissions: `todo:write` scope required."
        );
    }

    #[test]
    fn any_of_needs_one() {
        let rule = ScopeRule::Any(&["hr:read", "finance:read"]);
        let h = ScopeHierarchy::new();
        assert_eq!(
            decide(&rule, &held(&["finance:read"]), &h),
            ScopeDecision::Allowed
        );
        let ScopeDecision::Refused { missing, message } = decide(&rule, &held(&["x"]), &h) else {
            panic!("allowed")
        };
        assert_eq!(missing, "hr:read");
        assert_eq!(
            message,
            "Insufficient permissions: `hr:read` or `finance:read` scope required."
        );
    }

    #[test]
    fn hierarchy_applies_to_rules() {
        let rule = ScopeRule::All(&["system:read"]);
        assert_eq!(
            decide(&rule, &held(&["system:admin"]), &system()),
            ScopeDecision::Allowed
        );
        assert!(matches!(
            decide(&rule, &held(&["system:admin"]), &ScopeHierarchy::new()),
            ScopeDecision::Refused { .. }
        ));
    }

    #[test]
    fn public_allows_everyone() {
        assert_eq!(
            decide(&ScopeRule::Public, &[], &ScopeHierarchy::new()),
            ScopeDecision::Allowed
        );
    }

    #[test]
    fn scope_token_grammar() {
        for ok in ["todo:write", "a", "openid", "x.y/z", "!#[]~"] {
            assert!(is_scope_token(ok), "{ok}");
        }
        for bad in ["", "a b", "a\"b", "a\\b", "é", "a\tb"] {
            assert!(!is_scope_token(bad), "{bad}");
        }
    }
}
