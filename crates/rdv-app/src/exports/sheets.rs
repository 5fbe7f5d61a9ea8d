//! Spreadsheet exports: the rows of one kind (participants with their form answers, meeting
//! requests, meetings, tables per slot, orders, invoices, the audit log) read through a
//! server-side cursor in one snapshot and written row by row as CSV or XLSX, so that
//! 100,000 rows never sit in memory as records. Restricted persons are left out, but the
//! person of the rights request an admin exports for; erased ones always are.

use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Jsonb, Text};
use rdv_db::Conn;
use rdv_domain::{EventId, ExportKind, OrganizationId};
use rdv_io::{Cell, Writer, WriterFormat};
use serde::{Deserialize, Serialize};

/// How a column's values are typed in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Text,
    Int,
    Bool,
    Date,
    DateTime,
    /// Integer cents, written in euros.
    Money,
    /// A list, written joined by `; `.
    List,
}

/// A column of an export.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub name: &'static str,
    pub ty: Ty,
    /// Whether the column holds personal data (named in the download's audit row).
    pub personal: bool,
}

const fn c(name: &'static str, ty: Ty, personal: bool) -> Col {
    Col { name, ty, personal }
}

const PERSON: &[Col] = &[
    c("civility", Ty::Text, true),
    c("first_name", Ty::Text, true),
    c("last_name", Ty::Text, true),
    c("email", Ty::Text, true),
    c("mobile_phone", Ty::Text, true),
    c("landline_phone", Ty::Text, true),
    c("company", Ty::Text, true),
    c("job_title", Ty::Text, true),
    c("address_line1", Ty::Text, true),
    c("address_line2", Ty::Text, true),
    c("postal_code", Ty::Text, true),
    c("city", Ty::Text, true),
    c("country", Ty::Text, true),
    c("preferred_language", Ty::Text, false),
];

/// The columns of each kind, in file order.
pub fn columns(kind: ExportKind) -> Vec<Col> {
    let mut cols = Vec::new();
    match kind {
        ExportKind::AgendasPdf => {}
        ExportKind::Participants => {
            cols.push(c("registration_id", Ty::Int, false));
            cols.push(c("person_id", Ty::Int, false));
            cols.extend_from_slice(PERSON);
            cols.extend_from_slice(&[
                c("participant_type", Ty::Text, false),
                c("status", Ty::Text, false),
                c("company_description", Ty::Text, true),
                c("offers", Ty::Text, true),
                c("needs", Ty::Text, true),
                c("sectors", Ty::List, false),
                c("languages", Ty::List, false),
                c("meeting_quota", Ty::Int, false),
                c("stand", Ty::Text, false),
                c("optout_marketing_email", Ty::Bool, true),
                c("optout_sms", Ty::Bool, true),
                c("optout_phone_prospecting", Ty::Bool, true),
                c("registered_at", Ty::DateTime, false),
            ]);
        }
        ExportKind::MeetingRequests => cols.extend_from_slice(&[
            c("request_id", Ty::Int, false),
            c("requester_first_name", Ty::Text, true),
            c("requester_last_name", Ty::Text, true),
            c("requester_company", Ty::Text, true),
            c("requester_email", Ty::Text, true),
            c("target_first_name", Ty::Text, true),
            c("target_last_name", Ty::Text, true),
            c("target_company", Ty::Text, true),
            c("target_email", Ty::Text, true),
            c("priority", Ty::Text, false),
            c("status", Ty::Text, false),
            c("message", Ty::Text, true),
            c("created_at", Ty::DateTime, false),
        ]),
        ExportKind::Meetings | ExportKind::Tables => cols.extend_from_slice(&[
            c("day", Ty::Date, false),
            // Local times of the event.
            c("starts_at", Ty::Text, false),
            c("ends_at", Ty::Text, false),
            c("table_number", Ty::Int, false),
            c("table_label", Ty::Text, false),
            c("meeting_id", Ty::Int, false),
            c("status", Ty::Text, false),
            c("requester_first_name", Ty::Text, true),
            c("requester_last_name", Ty::Text, true),
            c("requester_company", Ty::Text, true),
            c("target_first_name", Ty::Text, true),
            c("target_last_name", Ty::Text, true),
            c("target_company", Ty::Text, true),
        ]),
        ExportKind::Orders => cols.extend_from_slice(&[
            c("reference", Ty::Text, false),
            c("status", Ty::Text, false),
            c("first_name", Ty::Text, true),
            c("last_name", Ty::Text, true),
            c("email", Ty::Text, true),
            c("company", Ty::Text, true),
            c("vat_number", Ty::Text, true),
            c("vat_treatment", Ty::Text, false),
            c("total_excl", Ty::Money, false),
            c("total_vat", Ty::Money, false),
            c("total_incl", Ty::Money, false),
            c("paid", Ty::Money, false),
            c("refunded", Ty::Money, false),
            c("payment_method", Ty::Text, false),
            c("created_at", Ty::DateTime, false),
            c("paid_at", Ty::DateTime, false),
        ]),
        ExportKind::Invoices => cols.extend_from_slice(&[
            c("number", Ty::Text, false),
            c("kind", Ty::Text, false),
            c("issued_at", Ty::DateTime, false),
            c("order_reference", Ty::Text, false),
            c("first_name", Ty::Text, true),
            c("last_name", Ty::Text, true),
            c("company", Ty::Text, true),
            c("total_excl", Ty::Money, false),
            c("total_vat", Ty::Money, false),
            c("total_incl", Ty::Money, false),
        ]),
        ExportKind::Audit => cols.extend_from_slice(&[
            c("occurred_at", Ty::DateTime, false),
            c("actor_email", Ty::Text, true),
            c("action", Ty::Text, false),
            c("subject_type", Ty::Text, false),
            c("subject_ids", Ty::List, false),
            c("person_ids", Ty::List, false),
            c("fields", Ty::List, false),
            c("client_address", Ty::Text, true),
        ]),
    }
    cols
}

/// What an organizer asks of a spreadsheet export.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SheetOptions {
    /// `csv` (the default) or `xlsx`.
    #[serde(default)]
    pub format: Option<String>,
    /// `,` (the default) or `;` for a CSV.
    #[serde(default)]
    pub separator: Option<String>,
    /// The columns, in order; every column of the kind by default. Form answers are
    /// `answer:KEY`.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub participant_type: Option<String>,
    /// Text found in names, company or email.
    #[serde(default)]
    pub q: Option<String>,
    /// Rows from this day (audit log: occurred; orders: created; invoices: issued).
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Rows until this day, included.
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// An admin handling this rights request sees the restricted rows of its person.
    #[serde(default)]
    pub rights_request_id: Option<i64>,
    /// The person of that request, as found when the export was asked for.
    #[serde(default)]
    pub subject_person_id: Option<i64>,
}

impl SheetOptions {
    pub fn writer_format(&self) -> WriterFormat {
        match (self.format.as_deref(), self.separator.as_deref()) {
            (Some("xlsx"), _) => WriterFormat::Xlsx,
            (_, Some(";")) => WriterFormat::Csv { separator: b';' },
            _ => WriterFormat::Csv { separator: b',' },
        }
    }
}

/// The most columns an export may name.
const MAX_COLUMNS: usize = 200;

/// The form-answer columns of the event's forms: (`answer:KEY`, key).
pub fn answer_columns(conn: &mut Conn, event: Option<EventId>) -> AppResult<Vec<String>> {
    let Some(event) = event else {
        return Ok(vec![]);
    };
    let mut keys: Vec<String> = Vec::new();
    for f in rdv_db::queries::shop::forms_of_event(conn, event)? {
        let Ok(def) = serde_json::from_value::<rdv_shop::form::FormDefinition>(f.definition) else {
            continue;
        };
        for d in def.fields {
            let custom = !matches!(
                d.kind,
                rdv_shop::form::FieldKind::Consent { .. }
                    | rdv_shop::form::FieldKind::Standard { .. }
            );
            let name = format!("answer:{}", d.key);
            if custom && !keys.contains(&name) {
                keys.push(name);
            }
        }
    }
    Ok(keys)
}

/// Checks a spreadsheet export's options for `kind`, naming every bad one.
pub fn check(
    conn: &mut Conn,
    kind: ExportKind,
    event: Option<EventId>,
    o: &SheetOptions,
) -> AppResult<()> {
    let mut check = crate::Check::new();
    if !matches!(o.format.as_deref(), None | Some("csv") | Some("xlsx")) {
        check.add("format", "must be csv or xlsx");
    }
    if !matches!(o.separator.as_deref(), None | Some(",") | Some(";")) {
        check.add("separator", "must be , or ;");
    }
    if let Some(cols) = &o.columns {
        let known = columns(kind);
        let answers = if kind == ExportKind::Participants {
            answer_columns(conn, event)?
        } else {
            vec![]
        };
        if cols.is_empty() || cols.len() > MAX_COLUMNS {
            check.add("columns", format!("must name 1 to {MAX_COLUMNS} columns"));
        }
        for (i, col) in cols.iter().enumerate() {
            if !known.iter().any(|k| k.name == col) && !answers.contains(col) {
                check.add(&format!("columns[{i}]"), "is not a column of this export");
            }
        }
    }
    if let Some(s) = &o.status {
        let ok = match kind {
            ExportKind::Participants => s.parse::<rdv_domain::RegistrationStatus>().is_ok(),
            ExportKind::MeetingRequests => s.parse::<rdv_domain::RequestStatus>().is_ok(),
            ExportKind::Meetings | ExportKind::Tables => {
                s.parse::<rdv_domain::MeetingStatus>().is_ok()
            }
            ExportKind::Orders => s.parse::<rdv_domain::OrderStatus>().is_ok(),
            _ => false,
        };
        if !ok {
            check.add("status", "is not a status of what this export lists");
        }
    }
    if let Some(t) = &o.participant_type {
        if kind != ExportKind::Participants || t.parse::<rdv_domain::ParticipantType>().is_err() {
            check.add(
                "participant_type",
                "is not a participant type (participants only)",
            );
        }
    }
    if let Some(q) = &o.q {
        if kind == ExportKind::Invoices {
            check.add("q", "invoices are filtered by date only");
        }
        check.opt_text::<200>("q", Some(q));
    }
    let dated = matches!(
        kind,
        ExportKind::Orders | ExportKind::Invoices | ExportKind::Audit
    );
    for (field, given) in [("from", o.from.is_some()), ("to", o.to.is_some())] {
        if given && !dated {
            check.add(
                field,
                "only orders, invoices and the audit log are filtered by date",
            );
        }
    }
    if let (Some(f), Some(t)) = (o.from, o.to) {
        if f > t {
            check.add("to", "must not be before from");
        }
    }
    check.finish()
}

#[derive(QueryableByName)]
struct Item {
    #[diesel(sql_type = Array<BigInt>)]
    person_ids: Vec<i64>,
    #[diesel(sql_type = Jsonb)]
    data: serde_json::Value,
}

/// The query of each kind, reading its parameters from the setting `rdv.export` (set in the
/// same transaction) so that the cursor can be declared without bind parameters.
fn query(kind: ExportKind) -> &'static str {
    match kind {
        ExportKind::Participants => PARTICIPANTS,
        ExportKind::MeetingRequests => REQUESTS,
        ExportKind::Meetings | ExportKind::Tables => MEETINGS,
        ExportKind::Orders => ORDERS,
        ExportKind::Invoices => INVOICES,
        ExportKind::Audit => AUDIT,
        ExportKind::AgendasPdf => "",
    }
}

const PARTICIPANTS: &str = "WITH f AS (SELECT current_setting('rdv.export')::jsonb AS j) \
SELECT ARRAY[p.id] AS person_ids, jsonb_build_object( \
 'registration_id', r.id, 'person_id', p.id, 'civility', p.civility, 'first_name', p.first_name, \
 'last_name', p.last_name, 'email', p.email, 'mobile_phone', p.mobile_phone, \
 'landline_phone', p.landline_phone, 'company', p.company, 'job_title', p.job_title, \
 'address_line1', p.address_line1, 'address_line2', p.address_line2, \
 'postal_code', p.postal_code, 'city', p.city, 'country', p.country, \
 'preferred_language', p.preferred_language, 'participant_type', r.participant_type, \
 'status', r.status, 'company_description', r.company_description, 'offers', r.offers, \
 'needs', r.needs, 'sectors', to_jsonb(r.sectors), 'languages', to_jsonb(r.languages), \
 'meeting_quota', r.meeting_quota, 'stand', r.stand) || jsonb_build_object( \
 'optout_marketing_email', p.optout_marketing_email_at IS NOT NULL, \
 'optout_sms', p.optout_sms_at IS NOT NULL, \
 'optout_phone_prospecting', p.optout_phone_prospecting_at IS NOT NULL, \
 'registered_at', r.created_at, 'answers', COALESCE(ra.answers, '{}'::jsonb)) AS data \
FROM f, registrations r JOIN persons p ON p.id = r.person_id \
LEFT JOIN registration_answers ra ON ra.registration_id = r.id AND ra.erased_at IS NULL \
WHERE r.organization_id = (f.j->>'org')::bigint AND r.event_id = (f.j->>'event')::bigint \
AND p.erased_at IS NULL AND r.erased_at IS NULL \
AND ((p.restricted_at IS NULL AND r.restricted_at IS NULL) OR p.id = (f.j->>'subject')::bigint) \
AND (f.j->>'status' IS NULL OR r.status = f.j->>'status') \
AND (f.j->>'participant_type' IS NULL OR r.participant_type = f.j->>'participant_type') \
AND (f.j->>'q' IS NULL OR p.last_name ILIKE f.j->>'q' OR p.first_name ILIKE f.j->>'q' \
     OR p.company ILIKE f.j->>'q' OR p.email ILIKE f.j->>'q') \
ORDER BY lower(p.last_name), lower(p.first_name), r.id";

const REQUESTS: &str = "WITH f AS (SELECT current_setting('rdv.export')::jsonb AS j) \
SELECT ARRAY[pa.id, pb.id] AS person_ids, jsonb_build_object( \
 'request_id', q.id, 'requester_first_name', pa.first_name, 'requester_last_name', pa.last_name, \
 'requester_company', pa.company, 'requester_email', pa.email, \
 'target_first_name', pb.first_name, 'target_last_name', pb.last_name, \
 'target_company', pb.company, 'target_email', pb.email, 'priority', q.priority, \
 'status', q.status, 'message', q.message, 'created_at', q.created_at) AS data \
FROM f, meeting_requests q \
JOIN registrations ra ON ra.id = q.requester_id JOIN persons pa ON pa.id = ra.person_id \
JOIN registrations rb ON rb.id = q.recipient_id JOIN persons pb ON pb.id = rb.person_id \
WHERE q.organization_id = (f.j->>'org')::bigint AND q.event_id = (f.j->>'event')::bigint \
AND q.erased_at IS NULL AND pa.erased_at IS NULL AND pb.erased_at IS NULL \
AND ((pa.restricted_at IS NULL AND ra.restricted_at IS NULL) OR pa.id = (f.j->>'subject')::bigint) \
AND ((pb.restricted_at IS NULL AND rb.restricted_at IS NULL) OR pb.id = (f.j->>'subject')::bigint) \
AND (q.restricted_at IS NULL OR (f.j->>'subject')::bigint IN (pa.id, pb.id)) \
AND (f.j->>'status' IS NULL OR q.status = f.j->>'status') \
AND (f.j->>'q' IS NULL OR pa.last_name ILIKE f.j->>'q' OR pb.last_name ILIKE f.j->>'q' \
     OR pa.company ILIKE f.j->>'q' OR pb.company ILIKE f.j->>'q') \
ORDER BY q.id";

const MEETINGS: &str = "WITH f AS (SELECT current_setting('rdv.export')::jsonb AS j) \
SELECT ARRAY[pa.id, pb.id] AS person_ids, jsonb_build_object( \
 'day', (s.starts_at AT TIME ZONE e.time_zone)::date, 'starts_at', to_char(s.starts_at AT TIME ZONE e.time_zone, 'HH24:MI'), \
 'ends_at', to_char(s.ends_at AT TIME ZONE e.time_zone, 'HH24:MI'), \
 'table_number', t.number, 'table_label', t.label, 'meeting_id', m.id, 'status', m.status, \
 'requester_first_name', pa.first_name, 'requester_last_name', pa.last_name, \
 'requester_company', pa.company, 'target_first_name', pb.first_name, \
 'target_last_name', pb.last_name, 'target_company', pb.company) AS data \
FROM f, meetings m JOIN events e ON e.id = m.event_id \
JOIN meeting_slots s ON s.id = m.slot_id LEFT JOIN meeting_tables t ON t.id = m.table_id \
JOIN meeting_requests q ON q.id = m.request_id \
JOIN registrations ra ON ra.id = q.requester_id JOIN persons pa ON pa.id = ra.person_id \
JOIN registrations rb ON rb.id = q.recipient_id JOIN persons pb ON pb.id = rb.person_id \
WHERE e.organization_id = (f.j->>'org')::bigint AND m.event_id = (f.j->>'event')::bigint \
AND pa.erased_at IS NULL AND pb.erased_at IS NULL \
AND ((pa.restricted_at IS NULL AND ra.restricted_at IS NULL) OR pa.id = (f.j->>'subject')::bigint) \
AND ((pb.restricted_at IS NULL AND rb.restricted_at IS NULL) OR pb.id = (f.j->>'subject')::bigint) \
AND (f.j->>'status' IS NULL OR m.status = f.j->>'status') \
AND (f.j->>'q' IS NULL OR pa.last_name ILIKE f.j->>'q' OR pb.last_name ILIKE f.j->>'q' \
     OR pa.company ILIKE f.j->>'q' OR pb.company ILIKE f.j->>'q') \
ORDER BY CASE WHEN f.j->>'order' = 'tables' THEN t.number END, s.starts_at, t.number, m.id";

const ORDERS: &str = "WITH f AS (SELECT current_setting('rdv.export')::jsonb AS j) \
SELECT ARRAY[p.id] AS person_ids, jsonb_build_object( \
 'reference', o.reference, 'status', o.status, 'first_name', p.first_name, \
 'last_name', p.last_name, 'email', p.email, 'company', o.buyer->>'company', \
 'vat_number', o.buyer->>'vat_number', 'vat_treatment', o.vat_treatment, \
 'total_excl', o.total_excl_cents, 'total_vat', o.total_vat_cents, \
 'total_incl', o.total_incl_cents, 'paid', o.paid_cents, 'refunded', o.refunded_cents, \
 'payment_method', o.payment_method, 'created_at', o.created_at, 'paid_at', o.paid_at) AS data \
FROM f, orders o JOIN persons p ON p.id = o.person_id \
WHERE o.organization_id = (f.j->>'org')::bigint AND o.event_id = (f.j->>'event')::bigint \
AND o.erased_at IS NULL AND p.erased_at IS NULL \
AND ((o.restricted_at IS NULL AND p.restricted_at IS NULL) OR p.id = (f.j->>'subject')::bigint) \
AND (f.j->>'status' IS NULL OR o.status = f.j->>'status') \
AND (f.j->>'from' IS NULL OR o.created_at >= (f.j->>'from')::date) \
AND (f.j->>'to' IS NULL OR o.created_at < (f.j->>'to')::date + 1) \
AND (f.j->>'q' IS NULL OR p.last_name ILIKE f.j->>'q' OR p.email ILIKE f.j->>'q' \
     OR o.reference ILIKE f.j->>'q') \
ORDER BY o.id";

const INVOICES: &str = "WITH f AS (SELECT current_setting('rdv.export')::jsonb AS j) \
SELECT ARRAY[p.id] AS person_ids, jsonb_build_object( \
 'number', i.number, 'kind', i.kind, 'issued_at', i.issued_at, 'order_reference', o.reference, \
 'first_name', p.first_name, 'last_name', p.last_name, 'company', o.buyer->>'company', \
 'total_excl', i.total_excl_cents, 'total_vat', i.total_vat_cents, \
 'total_incl', i.total_incl_cents) AS data \
FROM f, invoices i JOIN persons p ON p.id = i.person_id LEFT JOIN orders o ON o.id = i.order_id \
WHERE i.organization_id = (f.j->>'org')::bigint AND i.event_id = (f.j->>'event')::bigint \
AND p.erased_at IS NULL \
AND ((i.restricted_at IS NULL AND p.restricted_at IS NULL) OR p.id = (f.j->>'subject')::bigint) \
AND (f.j->>'from' IS NULL OR i.issued_at >= (f.j->>'from')::date) \
AND (f.j->>'to' IS NULL OR i.issued_at < (f.j->>'to')::date + 1) \
ORDER BY i.year, i.seq";

const AUDIT: &str = "WITH f AS (SELECT current_setting('rdv.export')::jsonb AS j) \
SELECT '{}'::bigint[] AS person_ids, jsonb_build_object( \
 'occurred_at', a.occurred_at, 'actor_email', u.email, 'action', a.action, \
 'subject_type', a.subject_type, 'subject_ids', to_jsonb(a.subject_ids), \
 'person_ids', to_jsonb(a.person_ids), 'fields', to_jsonb(a.field_names), \
 'client_address', a.client_address) AS data \
FROM f, audit_log a LEFT JOIN user_accounts u ON u.id = a.actor_user_id \
WHERE a.organization_id = (f.j->>'org')::bigint \
AND (f.j->>'from' IS NULL OR a.occurred_at >= (f.j->>'from')::date) \
AND (f.j->>'to' IS NULL OR a.occurred_at < (f.j->>'to')::date + 1) \
AND (f.j->>'q' IS NULL OR a.action ILIKE f.j->>'q') \
ORDER BY a.id";

/// Rows fetched from the cursor at a time.
const FETCH: usize = 2000;

/// A built spreadsheet: the file, the persons it names and the columns it holds.
pub struct Built {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    pub persons: Vec<i64>,
    pub columns: Vec<String>,
}

fn cell(v: Option<&serde_json::Value>, ty: Ty) -> Cell {
    use serde_json::Value;
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Cell::Empty;
    };
    match (ty, v) {
        (Ty::Int, Value::Number(n)) => n.as_i64().map(Cell::Int).unwrap_or(Cell::Empty),
        (Ty::Money, Value::Number(n)) => n
            .as_i64()
            .map(|c| Cell::Number(c as f64 / 100.0))
            .unwrap_or(Cell::Empty),
        (Ty::Bool, Value::Bool(b)) => Cell::Bool(*b),
        (Ty::DateTime, Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|d| Cell::DateTime(d.with_timezone(&Utc)))
            .unwrap_or_else(|_| Cell::Text(s.clone())),
        (Ty::Date, Value::String(s)) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Cell::Date)
            .unwrap_or_else(|_| Cell::Text(s.clone())),
        (_, Value::Array(items)) => Cell::Text(
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        (_, Value::String(s)) => Cell::Text(s.clone()),
        (_, Value::Bool(b)) => Cell::Bool(*b),
        (_, Value::Number(n)) => n
            .as_i64()
            .map(Cell::Int)
            .or_else(|| n.as_f64().map(Cell::Number))
            .unwrap_or(Cell::Empty),
        (_, other) => Cell::Text(other.to_string()),
    }
}

/// Builds the export, reporting `(rows written)` as it goes.
pub fn build(
    conn: &mut Conn,
    org: OrganizationId,
    event: Option<EventId>,
    kind: ExportKind,
    o: &SheetOptions,
    progress: &mut dyn FnMut(&mut Conn, usize),
) -> AppResult<Built> {
    let all = columns(kind);
    let answers = if kind == ExportKind::Participants {
        answer_columns(conn, event)?
    } else {
        vec![]
    };
    let chosen: Vec<String> = match &o.columns {
        Some(c) => c.clone(),
        None => all
            .iter()
            .map(|c| c.name.to_owned())
            .chain(answers.iter().cloned())
            .collect(),
    };
    // (header, json key, is answer, type)
    let plan: Vec<(String, Option<Ty>)> = chosen
        .iter()
        .map(|name| {
            (
                name.clone(),
                all.iter().find(|c| c.name == name).map(|c| c.ty),
            )
        })
        .collect();
    let headers: Vec<&str> = chosen
        .iter()
        .map(|h| h.strip_prefix("answer:").unwrap_or(h))
        .collect();
    let format = o.writer_format();
    let sheet = kind.as_str();
    let mut writer = Writer::new(format, sheet, &headers).map_err(AppError::internal)?;
    let params = serde_json::json!({
        "org": org.0,
        "event": event.map(|e| e.0),
        // Restricted rows stay out, but the subject's of the rights request an admin handles.
        "subject": o.subject_person_id.filter(|_| o.rights_request_id.is_some()),
        "status": o.status,
        "participant_type": o.participant_type,
        "q": o.q.as_ref().map(|q| format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))),
        "from": o.from,
        "to": o.to,
        "order": if kind == ExportKind::Tables { "tables" } else { "slots" },
    });
    let mut persons: Vec<i64> = Vec::new();
    // The rows are those of one snapshot: a holdable cursor declared in a read-only
    // transaction is filled when that transaction commits, then fetched from outside any
    // transaction, so that progress and the job's lease can be written between fetches on
    // this same connection. A cursor left by a failed build on this connection goes first.
    let sql = |conn: &mut Conn, q: &str| -> AppResult<()> {
        diesel::sql_query(q)
            .execute(conn)
            .map(|_| ())
            .map_err(|e| rdv_db::DbError::from(e).into())
    };
    sql(conn, "CLOSE ALL")?;
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run::<_, AppError, _>(|conn| {
            diesel::sql_query("SELECT set_config('rdv.export', $1, false)")
                .bind::<Text, _>(params.to_string())
                .execute(conn)
                .map_err(rdv_db::DbError::from)?;
            sql(
                conn,
                &format!(
                    "DECLARE rdv_export NO SCROLL CURSOR WITH HOLD FOR {}",
                    query(kind)
                ),
            )
        })?;
    let fetched = (|| -> AppResult<()> {
        let fetch = format!("FETCH {FETCH} FROM rdv_export");
        loop {
            let items: Vec<Item> = diesel::sql_query(&fetch)
                .load(conn)
                .map_err(rdv_db::DbError::from)?;
            let n = items.len();
            for item in items {
                persons.extend(item.person_ids);
                let cells: Vec<Cell> = plan
                    .iter()
                    .map(|(name, ty)| match (ty, name.strip_prefix("answer:")) {
                        (Some(ty), _) => cell(item.data.get(name.as_str()), *ty),
                        (None, Some(key)) => {
                            cell(item.data.get("answers").and_then(|a| a.get(key)), Ty::Text)
                        }
                        (None, None) => Cell::Empty,
                    })
                    .collect();
                writer
                    .write_row(&cells)
                    .map_err(|e| AppError::invalid(e.to_string()))?;
            }
            progress(conn, writer.rows() as usize);
            if n < FETCH {
                return Ok(());
            }
        }
    })();
    let closed = sql(conn, "CLOSE rdv_export");
    fetched?;
    closed?;
    let bytes = writer.finish().map_err(AppError::internal)?;
    persons.sort_unstable();
    persons.dedup();
    Ok(Built {
        name: format!("{}.{}", kind.as_str(), Writer::extension(format)),
        content_type: Writer::content_type(format),
        bytes,
        persons,
        columns: chosen,
    })
}

/// The personal columns among those chosen, for the audit row of a download.
pub fn personal_columns(kind: ExportKind, chosen: &[String]) -> Vec<&'static str> {
    let all = columns(kind);
    let mut out: Vec<&'static str> = all
        .iter()
        .filter(|c| c.personal && chosen.iter().any(|n| n == c.name))
        .map(|c| c.name)
        .collect();
    if chosen.iter().any(|n| n.starts_with("answer:")) {
        out.push("registration_answers");
    }
    out
}
