//! A scope vocabulary: every scope a server knows, declared once with
//! [`scopes!`](crate::scopes!), with what each one lets a caller do and the
//! scopes it implies.

use std::collections::BTreeSet;

use super::scopes::{ScopeHierarchy, is_scope_token};

/// One scope of a [`Vocabulary`]: its string, what it lets a caller do, and
/// the scopes holding it also grants.
///
/// ```
/// use mcp_runtime::DeclaredScope;
///
/// const ADMIN: DeclaredScope =
///     DeclaredScope::new("system:admin", "Administer the server", &["system:write"]);
/// assert_eq!(ADMIN.scope(), "system:admin");
/// assert_eq!(ADMIN.implies(), ["system:write"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclaredScope {
    scope: &'static str,
    description: &'static str,
    implies: &'static [&'static str],
}

impl DeclaredScope {
    /// `scope`, described by `description`, implying each of `implies`.
    pub const fn new(
        scope: &'static str,
        description: &'static str,
        implies: &'static [&'static str],
    ) -> Self {
        Self {
            scope,
            description,
            implies,
        }
    }

    /// The scope, as tokens carry it (`todo:read`).
    pub const fn scope(&self) -> &'static str {
        self.scope
    }

    /// What the scope lets a caller do, in a few words.
    pub const fn description(&self) -> &'static str {
        self.description
    }

    /// The scopes holding this one also grants (directly; implication is
    /// transitive through [`Vocabulary::hierarchy`]).
    pub const fn implies(&self) -> &'static [&'static str] {
        self.implies
    }
}

/// Every scope a server knows, declared once, usually with
/// [`scopes!`](crate::scopes!).
///
/// Given to [`McpServerBuilder::vocabulary`](crate::McpServerBuilder::vocabulary),
/// it supplies `scopes_supported`, the scope hierarchy and the scopes'
/// descriptions, and a tool requiring a scope it does not declare stops the
/// server from being built.
///
/// ```
/// mcp_runtime::scopes! {
///     /// The scopes of this server.
///     pub SCOPES {
///         SYSTEM_ADMIN = "system:admin" => "Administer the server"; implies [SYSTEM_WRITE],
///         SYSTEM_WRITE = "system:write" => "Change the server's settings"; implies [SYSTEM_READ],
///         SYSTEM_READ = "system:read" => "Read the server's status",
///     }
/// }
///
/// assert_eq!(SYSTEM_READ, "system:read");
/// assert!(SCOPES.contains("system:write"));
/// assert_eq!(SCOPES.description("system:read"), Some("Read the server's status"));
/// let names: Vec<&str> = SCOPES.iter().map(|s| s.scope()).collect();
/// assert_eq!(names, ["system:admin", "system:write", "system:read"]);
/// assert!(SCOPES.hierarchy().grants(&["system:admin".to_owned()], "system:read"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Vocabulary {
    name: &'static str,
    location: Option<&'static str>,
    scopes: &'static [DeclaredScope],
}

impl Vocabulary {
    /// A vocabulary named `name` (for error messages) holding `scopes`.
    ///
    /// ```
    /// use mcp_runtime::{DeclaredScope, Vocabulary};
    ///
    /// static TODO: Vocabulary = Vocabulary::new(
    ///     "TODO",
    ///     &[
    ///         DeclaredScope::new("todo:read", "Read your todo items", &[]),
    ///         DeclaredScope::new("todo:write", "Change your todo items", &["todo:read"]),
    ///     ],
    /// );
    /// assert_eq!(TODO.len(), 2);
    /// ```
    pub const fn new(name: &'static str, scopes: &'static [DeclaredScope]) -> Self {
        Self {
            name,
            location: None,
            scopes,
        }
    }

    /// The same vocabulary, declared at `location` (`file:line`).
    #[doc(hidden)]
    pub const fn declared_at(mut self, location: &'static str) -> Self {
        self.location = Some(location);
        self
    }

    /// The vocabulary's name: the name of its `static` when declared with
    /// [`scopes!`](crate::scopes!).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Where the vocabulary was declared (`file:line`), when
    /// [`scopes!`](crate::scopes!) declared it.
    pub fn location(&self) -> Option<&'static str> {
        self.location
    }

    /// The scopes, in the order declared.
    pub fn iter(&self) -> std::slice::Iter<'static, DeclaredScope> {
        self.scopes.iter()
    }

    /// How many scopes are declared.
    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    /// Whether no scope is declared.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// The declaration of `scope`, if the vocabulary has one.
    pub fn get(&self, scope: &str) -> Option<&'static DeclaredScope> {
        self.scopes.iter().find(|s| s.scope == scope)
    }

    /// Whether the vocabulary declares `scope`.
    pub fn contains(&self, scope: &str) -> bool {
        self.get(scope).is_some()
    }

    /// What `scope` lets a caller do, if the vocabulary declares it.
    pub fn description(&self, scope: &str) -> Option<&'static str> {
        self.get(scope).map(DeclaredScope::description)
    }

    /// Every declared scope, sorted, each once: the default `scopes_supported`
    /// of a server using this vocabulary.
    pub fn sorted_scopes(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self.scopes.iter().map(|s| s.scope).collect();
        set.into_iter().map(str::to_owned).collect()
    }

    /// The implications the scopes declare.
    pub fn hierarchy(&self) -> ScopeHierarchy {
        self.scopes
            .iter()
            .filter(|s| !s.implies.is_empty())
            .fold(ScopeHierarchy::new(), |h, s| {
                h.with_implication(s.scope, s.implies.iter().copied())
            })
    }

    /// The declared scope closest to `scope` (at most two edits away), to
    /// suggest for a misspelling.
    pub fn closest(&self, scope: &str) -> Option<&'static str> {
        self.scopes
            .iter()
            .map(|s| (edit_distance(s.scope, scope), s.scope))
            .filter(|(d, _)| *d <= 2)
            .min_by_key(|(d, _)| *d)
            .map(|(_, s)| s)
    }

    /// What is wrong with the declarations, if anything: a scope that is no
    /// RFC 6749 scope token, declared twice, or implying an undeclared one.
    pub(crate) fn problem(&self) -> Option<String> {
        let mut seen = BTreeSet::new();
        for s in self.scopes {
            if !is_scope_token(s.scope) {
                return Some(format!("{:?} is not one RFC 6749 scope token", s.scope));
            }
            if !seen.insert(s.scope) {
                return Some(format!("`{}` is declared twice", s.scope));
            }
        }
        let undeclared = self
            .scopes
            .iter()
            .flat_map(|s| s.implies.iter().map(move |i| (s.scope, *i)))
            .find(|(_, implied)| !self.contains(implied));
        undeclared.map(|(scope, implied)| {
            format!("`{scope}` implies `{implied}`, which the vocabulary does not declare")
        })
    }

    /// `name (declared at file:line)`, or the name alone.
    pub(crate) fn describe(&self) -> String {
        match self.location {
            Some(at) => format!("`{}` (declared at {at})", self.name),
            None => format!("`{}`", self.name),
        }
    }
}

impl IntoIterator for &Vocabulary {
    type Item = &'static DeclaredScope;
    type IntoIter = std::slice::Iter<'static, DeclaredScope>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Levenshtein distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// How many of `all` equal `scope`: the compile-time duplicate check of
/// [`scopes!`](crate::scopes!).
#[doc(hidden)]
pub const fn occurrences(all: &[&str], scope: &str) -> usize {
    let mut count = 0;
    let mut i = 0;
    while i < all.len() {
        if str_eq(all[i], scope) {
            count += 1;
        }
        i += 1;
    }
    count
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares a scope vocabulary: one `&str` constant per scope, documented by
/// its description, and a `static` [`Vocabulary`] holding them all.
///
/// ```standalone_crate
/// mcp_runtime::scopes! {
///     /// The scopes of the todo server.
///     pub TODO {
///         TODO_READ = "todo:read" => "Read your todo items",
///         TODO_WRITE = "todo:write" => "Create and change todo items"; implies [TODO_READ],
///     }
/// }
///
/// /// Add a todo item.
/// #[mcp_runtime::tool(scope = TODO_WRITE)]
/// fn create_todo(title: String) -> String {
///     title
/// }
///
/// let server = mcp_runtime::McpServer::builder()
///     .vocabulary(&TODO)
///     .tool::<create_todo>()
///     .build()
///     .unwrap();
/// assert_eq!(server.scope_description(TODO_WRITE), Some("Create and change todo items"));
/// ```
///
/// Each entry is `CONST = "scope" => "description"`, optionally followed by
/// `; implies [OTHER, …]` naming constants of the same vocabulary that
/// holding the scope also grants. Attributes and doc comments before an
/// entry go on its constant, and the constants and the `static` share the
/// visibility written before the vocabulary's name.
///
/// Every scope string is checked at compile time: one that is not an RFC 6749
/// scope token (printable ASCII except space, `"` and `\`), or one declared
/// twice, fails to compile, and so does an `implies` naming an unknown
/// constant.
///
/// ```compile_fail
/// mcp_runtime::scopes! {
///     pub BAD {
///         TODO_READ = "todo read" => "Read your todo items",
///     }
/// }
/// ```
#[macro_export]
macro_rules! scopes {
    (
        $(#[$meta:meta])*
        $vis:vis $name:ident {
            $(
                $(#[$entry_meta:meta])*
                $scope_const:ident = $scope:literal => $description:literal
                $(; implies [$($implied:ident),* $(,)?])?
            ),* $(,)?
        }
    ) => {
        $(
            #[doc = $description]
            #[doc = ""]
            #[doc = ::core::concat!("The scope `", $scope, "`.")]
            $(#[$entry_meta])*
            $vis const $scope_const: &str = $scope;
        )*

        $(#[$meta])*
        $vis static $name: $crate::Vocabulary = {
            const __MCP_SCOPES: &[$crate::DeclaredScope] = &[$(
                $crate::DeclaredScope::new($scope_const, $description, &[$($($implied),*)?]),
            )*];
            $crate::Vocabulary::new(::core::stringify!($name), __MCP_SCOPES)
                .declared_at(::core::concat!(::core::file!(), ":", ::core::line!()))
        };

        const _: () = {
            const __MCP_ALL: &[&str] = &[$($scope),*];
            $(
                ::core::assert!(
                    $crate::scopes::is_scope_token($scope),
                    "{}",
                    ::core::concat!(
                        "`", $scope, "` is not one RFC 6749 scope token ",
                        "(printable ASCII except space, `\"` and `\\`)"
                    ),
                );
                ::core::assert!(
                    $crate::__private::occurrences(__MCP_ALL, $scope) == 1,
                    "{}",
                    ::core::concat!("the scope `", $scope, "` is declared twice"),
                );
            )*
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::scopes! {
        /// The scopes of the tests.
        pub(crate) DEMO {
            TODO_READ = "todo:read" => "Read your todo items",
            TODO_WRITE = "todo:write" => "Create and change todo items",
            SYSTEM_ADMIN = "system:admin" => "Administer the server"; implies [SYSTEM_WRITE],
            SYSTEM_WRITE = "system:write" => "Change the server's settings"; implies [SYSTEM_READ,],
            SYSTEM_READ = "system:read" => "Read the server's status",
        }
    }

    fn held(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn constants_are_the_scope_strings() {
        assert_eq!(TODO_READ, "todo:read");
        assert_eq!(SYSTEM_ADMIN, "system:admin");
    }

    #[test]
    fn iterates_in_declaration_order() {
        let scopes: Vec<&str> = DEMO.iter().map(DeclaredScope::scope).collect();
        assert_eq!(
            scopes,
            [
                "todo:read",
                "todo:write",
                "system:admin",
                "system:write",
                "system:read"
            ]
        );
        assert_eq!((&DEMO).into_iter().count(), 5);
        assert_eq!(DEMO.len(), 5);
        assert!(!DEMO.is_empty());
    }

    #[test]
    fn contains_and_describes_declared_scopes_only() {
        assert!(DEMO.contains("todo:write"));
        assert!(!DEMO.contains("todo:wirte"));
        assert!(!DEMO.contains(""));
        assert_eq!(
            DEMO.description(TODO_WRITE),
            Some("Create and change todo items")
        );
        assert_eq!(DEMO.description("hr:read"), None);
        assert_eq!(DEMO.get(SYSTEM_ADMIN).unwrap().implies(), [SYSTEM_WRITE]);
    }

    #[test]
    fn hierarchy_follows_the_implications() {
        let h = DEMO.hierarchy();
        assert!(h.grants(&held(&["system:admin"]), "system:read"));
        assert!(h.grants(&held(&["system:write"]), "system:read"));
        assert!(!h.grants(&held(&["system:read"]), "system:write"));
        assert!(!h.grants(&held(&["todo:write"]), "todo:read"));
    }

    #[test]
    fn sorted_scopes_are_sorted() {
        assert_eq!(
            DEMO.sorted_scopes(),
            [
                "system:admin",
                "system:read",
                "system:write",
                "todo:read",
                "todo:write"
            ]
        );
    }

    #[test]
    fn name_location_and_suggestions() {
        assert_eq!(DEMO.name(), "DEMO");
        let at = DEMO.location().unwrap();
        assert!(
            at.starts_with("mcp-runtime/src/catalog/vocabulary.rs:"),
            "{at}"
        );
        assert_eq!(DEMO.closest("todo:wirte"), Some("todo:write"));
        assert_eq!(DEMO.closest("finance:read"), None);
        assert_eq!(DEMO.problem(), None);
    }

    #[test]
    fn problems_are_found() {
        static BAD_TOKEN: Vocabulary =
            Vocabulary::new("BAD", &[DeclaredScope::new("a b", "two words", &[])]);
        assert_eq!(
            BAD_TOKEN.problem().unwrap(),
            "\"a b\" is not one RFC 6749 scope token"
        );
        static TWICE: Vocabulary = Vocabulary::new(
            "TWICE",
            &[
                DeclaredScope::new("a", "one", &[]),
                DeclaredScope::new("a", "again", &[]),
            ],
        );
        assert_eq!(TWICE.problem().unwrap(), "`a` is declared twice");
        static DANGLING: Vocabulary =
            Vocabulary::new("DANGLING", &[DeclaredScope::new("a", "one", &["b"])]);
        assert_eq!(
            DANGLING.problem().unwrap(),
            "`a` implies `b`, which the vocabulary does not declare"
        );
        assert_eq!(DANGLING.location(), None);
        assert_eq!(DANGLING.describe(), "`DANGLING`");
    }

    #[test]
    fn occurrences_compares_whole_strings() {
        assert_eq!(occurrences(&["a", "ab", "a"], "a"), 2);
        assert_eq!(occurrences(&["a", "ab"], "b"), 0);
        assert_eq!(occurrences(&[], "a"), 0);
    }
}
