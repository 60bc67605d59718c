-- State shared by every process serving this database: maintenance mode.
CREATE TABLE system_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    maintenance INTEGER NOT NULL DEFAULT 0
);
INSERT INTO system_state (id) VALUES (1);
