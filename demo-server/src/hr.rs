//! HR and finance (resource isolation): `hr:*` tools read only the employee
//! directory, `finance:*` tools only payroll and expenses.

use mcp_runtime::{AccessToken, State, ToolError, resource_template, tool};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{
    error::Failure,
    limits,
    scopes::{FINANCE_READ, FINANCE_WRITE, HR_READ, HR_WRITE},
    store::{Approval, Db, EmployeeChange},
};

pub use crate::store::{Employee, Expense, PayrollEntry};

/// The employee directory.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Directory {
    /// Every employee, by id.
    pub employees: Vec<Employee>,
}

/// List the employee directory.
#[tool(scope = HR_READ, read_only)]
pub async fn list_employees(db: State<Db>) -> Result<Directory, Failure> {
    let employees = db.list_employees().await?;
    Ok(Directory { employees })
}

/// Show one employee's directory entry.
///
/// # Arguments
/// * `id` - The employee's id.
#[tool(scope = HR_READ, read_only)]
pub async fn get_employee(db: State<Db>, id: i64) -> Result<Employee, Failure> {
    db.get_employee(id)
        .await?
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
pub async fn employee_record(db: State<Db>, id: String) -> Result<Option<Employee>, Failure> {
    // Not a number: no such employee, as for an unknown number.
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    Ok(db.get_employee(id).await?)
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
pub async fn update_employee(
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
    let change = EmployeeChange {
        title: title.as_deref(),
        department: department.as_deref(),
        phone: phone.as_deref(),
    };
    db.update_employee(id, change)
        .await?
        .ok_or_else(|| employee_not_found(id))
}

/// Payroll and the expense claims awaiting approval.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Payroll {
    /// Payroll lines.
    pub payroll: Vec<PayrollEntry>,
    /// Expense claims not yet approved.
    pub pending_expenses: Vec<Expense>,
}

/// Show payroll (all employees, or one) and pending expense claims.
///
/// # Arguments
/// * `employee_id` - Only this employee's payroll line.
#[tool(scope = FINANCE_READ, read_only)]
pub async fn get_payroll(db: State<Db>, employee_id: Option<i64>) -> Result<Payroll, Failure> {
    let payroll = db.payroll(employee_id).await?;
    if let Some(id) = employee_id
        && payroll.is_empty()
    {
        return Err(ToolError::new(format!("No payroll entry for employee {id}.")).into());
    }
    let pending_expenses = db.pending_expenses().await?;
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
pub async fn approve_expense(
    token: AccessToken,
    db: State<Db>,
    expense_id: i64,
) -> Result<Expense, Failure> {
    match db.approve_expense(expense_id, token.subject()).await? {
        Approval::Approved(expense) => Ok(expense),
        Approval::NotFound => {
            Err(ToolError::new(format!("Expense {expense_id} not found.")).into())
        }
        Approval::NotPending(status) => {
            Err(ToolError::new(format!("Expense {expense_id} is already {status}.")).into())
        }
    }
}
