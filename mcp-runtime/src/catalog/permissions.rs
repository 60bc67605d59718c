//! The permission model of a server, for people to review: every item, its
//! rule with the scope hierarchy applied, and its hints.

use std::fmt;

use serde::Serialize;

use super::{
    Catalog,
    scopes::{ScopeHierarchy, ScopeRule},
};

/// Every item a server serves and who may use it, as
/// [`McpServer::permissions`](crate::McpServer::permissions) returns it.
///
/// `Display` renders a text table; `Serialize` gives JSON (the `items`
/// array). Items come in listing order, tools first.
///
/// ```standalone_crate
/// use mcp_runtime::{McpServer, tool};
///
/// /// Add a note.
/// #[tool(scope = "notes:write")]
/// fn add_note(text: String) -> String { text }
///
/// let server = McpServer::builder().tool::<add_note>().build().unwrap();
/// let table = server.permissions().to_string();
/// assert!(table.contains("tool  add_note  notes:write"), "{table}");
/// ```
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Permissions {
    /// One entry per item.
    pub items: Vec<Permission>,
}

/// One item and who may use it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Permission {
    /// `tool`, `resource`, `resource_template` or `prompt`.
    pub kind: &'static str,
    /// The tool's or prompt's name, the resource's URI, or the template.
    pub name: String,
    /// `public`, `all_of` or `any_of`.
    pub rule: &'static str,
    /// The scopes the rule names, each with the scopes that also grant it
    /// through the hierarchy.
    pub scopes: Vec<Requirement>,
    /// A tool's hints that are set: `read_only`, `destructive`,
    /// `idempotent`, `open_world` (`destructive = false` is shown as
    /// `not_destructive`).
    pub hints: Vec<&'static str>,
}

/// One scope a rule names.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Requirement {
    /// The scope.
    pub scope: String,
    /// Scopes that imply it (`system:admin` for `system:read`), sorted.
    pub granted_by: Vec<String>,
}

impl Permission {
    fn new(kind: &'static str, name: &str, rule: ScopeRule, hierarchy: &ScopeHierarchy) -> Self {
        let (rule_name, scopes) = match rule {
            ScopeRule::Public => ("public", &[][..]),
            ScopeRule::All(s) => ("all_of", s),
            ScopeRule::Any(s) => ("any_of", s),
        };
        Self {
            kind,
            name: name.to_owned(),
            rule: rule_name,
            scopes: scopes
                .iter()
                .map(|s| Requirement {
                    scope: (*s).to_owned(),
                    granted_by: hierarchy.implied_by(s),
                })
                .collect(),
            hints: Vec::new(),
        }
    }

    /// The rule as one line: `hr:read and finance:read`, `a or b`,
    /// `system:read (or system:admin, system:write)`, `public`.
    fn rule_text(&self) -> String {
        if self.rule == "public" {
            return "public".to_owned();
        }
        let joiner = if self.rule == "any_of" {
            " or "
        } else {
            " and "
        };
        self.scopes
            .iter()
            .map(|r| match r.granted_by.as_slice() {
                [] => r.scope.clone(),
                by => format!("{} (or {})", r.scope, by.join(", ")),
            })
            .collect::<Vec<_>>()
            .join(joiner)
    }
}

impl Catalog {
    /// The permission model; see [`Permissions`].
    pub(crate) fn permissions(&self) -> Permissions {
        let h = self.hierarchy();
        let mut items = Vec::new();
        for (tool, def) in self.tools().iter() {
            let mut p = Permission::new("tool", &tool.name, def.scopes, h);
            if let Some(a) = &tool.annotations {
                let flags = [
                    (a.read_only_hint, "read_only", ""),
                    (a.destructive_hint, "destructive", "not_destructive"),
                    (a.idempotent_hint, "idempotent", ""),
                    (a.open_world_hint, "open_world", ""),
                ];
                for (flag, on, off) in flags {
                    match flag {
                        Some(true) => p.hints.push(on),
                        Some(false) if !off.is_empty() => p.hints.push(off),
                        _ => {}
                    }
                }
            }
            items.push(p);
        }
        if let Some(r) = self.resources() {
            for (res, g) in r.resources.iter() {
                items.push(Permission::new("resource", &res.uri, g.rule, h));
            }
            for (t, g) in r.templates.iter() {
                items.push(Permission::new(
                    "resource_template",
                    &t.uri_template,
                    g.rule,
                    h,
                ));
            }
        }
        for (prompt, g) in self.prompts().into_iter().flat_map(|p| p.iter()) {
            items.push(Permission::new("prompt", &prompt.name, g.rule, h));
        }
        Permissions { items }
    }
}

impl fmt::Display for Permissions {
    /// A table: kind, name, rule, hints; columns padded to fit.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 4]> = self
            .items
            .iter()
            .map(|p| {
                [
                    p.kind.to_owned(),
                    p.name.clone(),
                    p.rule_text(),
                    p.hints.join(", "),
                ]
            })
            .collect();
        let header = ["KIND", "NAME", "RULE", "HINTS"].map(str::to_owned);
        let mut widths = [0; 4];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let line = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:w$}"))
                .collect::<Vec<_>>()
                .join("  ");
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}
