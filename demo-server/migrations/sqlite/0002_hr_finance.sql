-- HR directory (hr:*) and finance records (finance:*), kept in separate tables
-- so each tool reads only its own domain.
CREATE TABLE employees (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    department TEXT NOT NULL,
    title      TEXT NOT NULL,
    phone      TEXT NOT NULL
);
CREATE TABLE payroll (
    employee_id  INTEGER PRIMARY KEY REFERENCES employees (id),
    annual_salary INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    pay_cycle    TEXT NOT NULL
);
CREATE TABLE expenses (
    id          INTEGER PRIMARY KEY,
    employee_id INTEGER NOT NULL REFERENCES employees (id),
    amount_cents INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    description TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    approved_by TEXT
);

INSERT INTO employees (id, name, email, department, title, phone) VALUES
    (1, 'Ada Lovelace',    'ada@example.com',    'Engineering', 'Principal Engineer', '+1-555-0101'),
    (2, 'Grace Hopper',    'grace@example.com',  'Engineering', 'Engineering Manager', '+1-555-0102'),
    (3, 'Katherine Johnson','katherine@example.com','Finance',  'Controller',          '+1-555-0103'),
    (4, 'Alan Turing',     'alan@example.com',   'Research',    'Research Scientist',  '+1-555-0104');

INSERT INTO payroll (employee_id, annual_salary, currency, pay_cycle) VALUES
    (1, 185000, 'USD', 'monthly'),
    (2, 172000, 'USD', 'monthly'),
    (3, 158000, 'USD', 'monthly'),
    (4, 164000, 'USD', 'monthly');

INSERT INTO expenses (id, employee_id, amount_cents, currency, description) VALUES
    (1, 1, 4200,  'USD', 'Conference taxi'),
    (2, 2, 12999, 'USD', 'Team offsite lunch'),
    (3, 4, 35000, 'USD', 'Research books');
