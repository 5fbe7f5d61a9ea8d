-- Days of presence: a participant who comes only on some days of the event lists them; one
-- with no row comes every day. The planner keeps their meetings within those days.
CREATE TABLE presence_days (
    registration_id BIGINT NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
    event_day_id    BIGINT NOT NULL REFERENCES event_days(id) ON DELETE CASCADE,
    PRIMARY KEY (registration_id, event_day_id)
);
CREATE INDEX presence_days_day ON presence_days (event_day_id);
