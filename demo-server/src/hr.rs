//! HR and finance (resource isolation): `hr:*` tools read only the employee
//! directory, `finance:*` tools only payroll and expenses.

use mcp_runtime::{AccessToken, State, ToolError, resource_template, tool};
use rusqlite::{OptionalExtension, Row, params};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{
    db::Db,
    error::Failure,
    limits,
    scopes::{FINANCE_READ, FINANCE_WRITE, HR_READ, HR_WRITE},
};

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

/// The employee directory.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Directory {
    /// Every employee, by id.
    pub employees: Vec<Employee>,
}

fn employee(row: &Row<'_>) -> rusqlite::Result<Employee> {
    Ok(Employee {
        id: row.get(0)?,
        name: row.get(1)?,
        email: row.get(2)?,
        department: row.get(3)?,
        title: row.get(4)?,
        phone: row.get(5)?,
    })
}

const EMPLOYEE: &str = "SELECT id, name, email, department, title, phone FROM employees";

/// List the employee directory.
#[tool(scope = HR_READ, read_only)]
pub fn list_employees(db: State<Db>) -> Result<Directory, Failure> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(&format!("{EMPLOYEE} ORDER BY id"))?;
    let employees = stmt.query_map([], employee)?.collect::<Result<_, _>>()?;
    Ok(Directory { employees })
}

/// Show one employee's directory entry.
///
/// # Arguments
/// * `id` - The employee's id.
#[tool(scope = HR_READ, read_only)]
pub fn get_employee(db: State<Db>, id: i64) -> Result<Employee, Failure> {
    db.conn()
        .query_row(&format!("{EMPLOYEE} WHERE id = ?1"), [id], employee)
        .optional()?
        .ok_or_else(|| employee_not_found(id))
}

/// One employee's directory entry, as JSON (the resource form of
/// `get_employee`).
#[resource_template(
    uri = "hr://employees/{id}",
    scope = HR_READ,
    name = "employee",
    mime_type = "application/json"
)]
pub fn employee_record(db: State<Db>, id: String) -> Result<Option<Employee>, Failure> {
    // Not a number: no such employee, as for an unknown number.
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    Ok(db
        .conn()
        .query_row(&format!("{EMPLOYEE} WHERE id = ?1"), [id], employee)
        .optional()?)
}

fn employee_not_found(id: i64) -> Failure {
    ToolError::new(format!("Employee {id} not found.")).into()
}

/// Update an employee's directory entry. Fields left out stay as they are.
///
/// # Arguments
/// * `id` - The employee's id.
/// * `title` - A new job title (at most 200 characters).
/// * `department` - A new department (at most 100 characters).
/// * `phone` - A new work phone (at most 32 characters).
#[tool(scope = HR_WRITE, idempotent)]
pub fn update_employee(
    db: State<Db>,
    id: i64,
    title: Option<String>,
    department: Option<String>,
    phone: Option<String>,
) -> Result<Employee, Failure> {
    for (field, value, max) in [
        ("title", &title, limits::JOB_TITLE),
        ("department", &department, limits::DEPARTMENT),
        ("phone", &phone, limits::PHONE),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(ToolError::new(format!("The {field} must not be empty.")).into());
        }
        limits::check_optional(field, value.as_deref(), max)?;
    }
    db.conn()
        .query_row(
            "UPDATE employees SET title = coalesce(?2, title), department = coalesce(?3, department), \
             phone = coalesce(?4, phone) WHERE id = ?1 \
             RETURNING id, name, email, department, title, phone",
            params![id, title, department, phone],
            employee,
        )
        .optional()?
        .ok_or_else(|| employee_not_found(id))
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

/// Payroll and the expense claims awaiting approval.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Payroll {
    /// Payroll lines.
    pub payroll: Vec<PayrollEntry>,
    /// Expense claims not yet approved.
    pub pending_expenses: Vec<Expense>,
}

fn expense(row: &Row<'_>) -> rusqlite::Result<Expense> {
    Ok(Expense {
        id: row.get(0)?,
        employee_id: row.get(1)?,
        amount_cents: row.get(2)?,
        currency: row.get(3)?,
        description: row.get(4)?,
        status: row.get(5)?,
        approved_by: row.get(6)?,
    })
}

const EXPENSE: &str = "SELECT id, employee_id, amount_cents, currency, description, status, approved_by FROM expenses";

/// Show payroll (all employees, or one) and pending expense claims.
///
/// # Arguments
/// * `employee_id` - Only this employee's payroll line.
#[tool(scope = FINANCE_READ, read_only)]
pub fn get_payroll(db: State<Db>, employee_id: Option<i64>) -> Result<Payroll, Failure> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT employee_id, annual_salary, currency, pay_cycle FROM payroll \
         WHERE ?1 IS NULL OR employee_id = ?1 ORDER BY employee_id",
    )?;
    let payroll: Vec<PayrollEntry> = stmt
        .query_map([employee_id], |r| {
            Ok(PayrollEntry {
                employee_id: r.get(0)?,
                annual_salary: r.get(1)?,
                currency: r.get(2)?,
                pay_cycle: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    if let Some(id) = employee_id
        && payroll.is_empty()
    {
        return Err(ToolError::new(format!("No payroll entry for employee {id}.")).into());
    }
    let mut stmt =
        conn.prepare_cached(&format!("{EXPENSE} WHERE status = 'pending' ORDER BY id"))?;
    let pending_expenses = stmt.query_map([], expense)?.collect::<Result<_, _>>()?;
    Ok(Payroll {
        payroll,
        pending_expenses,
    })
}

/// Approve a pending expense claim.
///
/// # Arguments
/// * `expense_id` - The claim's id (see `get_payroll`).
#[tool(scope = FINANCE_WRITE)]
pub fn approve_expense(
    token: AccessToken,
    db: State<Db>,
    expense_id: i64,
) -> Result<Expense, Failure> {
    let conn = db.conn();
    let current = conn
        .query_row(&format!("{EXPENSE} WHERE id = ?1"), [expense_id], expense)
        .optional()?
        .ok_or_else(|| ToolError::new(format!("Expense {expense_id} not found.")))?;
    if current.status != "pending" {
        let status = current.status;
        return Err(ToolError::new(format!("Expense {expense_id} is already {status}.")).into());
    }
    Ok(conn.query_row(
        "UPDATE expenses SET status = 'approved', approved_by = ?2 WHERE id = ?1 \
         RETURNING id, employee_id, amount_cents, currency, description, status, approved_by",
        params![expense_id, token.subject()],
        expense,
    )?)
}
