//! The records the store returns, which the tools return as they are.

use schemars::JsonSchema;
use serde::Serialize;

/// One todo item.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Todo {
    /// The item's id.
    pub id: i64,
    /// What needs doing.
    pub title: String,
    /// Whether it is done.
    pub done: bool,
    /// When it is due, as given when created.
    pub due: Option<String>,
    /// When it was created (UTC, RFC 3339).
    pub created_at: String,
}

/// A directory entry (HR data; no pay information).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Employee {
    /// Employee id.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// Work email.
    pub email: String,
    /// Department.
    pub department: String,
    /// Job title.
    pub title: String,
    /// Work phone.
    pub phone: String,
}

/// One payroll line (finance data; identified by employee id only).
#[derive(Debug, Serialize, JsonSchema)]
pub struct PayrollEntry {
    /// Employee id.
    pub employee_id: i64,
    /// Annual salary, in whole currency units.
    pub annual_salary: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// How often salary is paid.
    pub pay_cycle: String,
}

/// An expense claim.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Expense {
    /// Expense id.
    pub id: i64,
    /// Who claimed it (employee id).
    pub employee_id: i64,
    /// Amount in cents.
    pub amount_cents: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// What it was for.
    pub description: String,
    /// `pending` or `approved`.
    pub status: String,
    /// The subject who approved it.
    pub approved_by: Option<String>,
}
