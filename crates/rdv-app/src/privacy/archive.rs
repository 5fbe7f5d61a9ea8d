//! The access and portability archive of one person: a zip holding `data.json` (everything,
//! for machines), one CSV file per table for people, the consents, and the processing log
//! (who in the organization read or changed the person's data, and when, from the audit log).

use crate::{AppError, AppResult};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use rdv_db::Conn;
use rdv_domain::{OrganizationId, PersonId};
use rdv_privacy::REGISTRY;
use serde_json::{json, Map, Value};
use std::io::Write;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    row: String,
}

fn rows(
    conn: &mut Conn,
    sql: &str,
    person: PersonId,
    org: Option<OrganizationId>,
) -> AppResult<Vec<Value>> {
    let found: Vec<Row> = match org {
        Some(o) => diesel::sql_query(sql)
            .bind::<BigInt, _>(person.0)
            .bind::<BigInt, _>(o.0)
            .load(conn),
        // The registry's statements take the persons as an array.
        None => diesel::sql_query(sql)
            .bind::<diesel::sql_types::Array<BigInt>, _>(vec![person.0])
            .load(conn),
    }
    .map_err(AppError::internal)?;
    found
        .into_iter()
        .map(|r| serde_json::from_str(&r.row).map_err(AppError::internal))
        .collect()
}

/// Who in the organization read or changed the person's data, oldest first.
const PROCESSING_LOG: &str = "SELECT json_build_object(\
    'occurred_at', a.occurred_at, 'action', a.action, 'subject_type', a.subject_type, \
    'fields', a.field_names, 'by', coalesce(u.email, 'the platform'))::text AS row \
    FROM audit_log a LEFT JOIN user_accounts u ON u.id = a.actor_user_id \
    WHERE a.person_ids @> ARRAY[$1::bigint] AND a.organization_id = $2 ORDER BY a.occurred_at, a.id";

/// The person's consents, oldest first.
/// The texts of the organization's forms come with them (`consent_texts`).
const CONSENTS: &str = "SELECT json_build_object(\
    'purpose', c.purpose, 'text_version', c.text_version, 'granted', c.granted, \
    'method', c.method, 'recorded_at', c.recorded_at, \
    'text_fr', t.text_fr, 'text_en', t.text_en)::text AS row \
    FROM consent_records c LEFT JOIN consent_texts t ON t.organization_id = c.organization_id \
    AND t.purpose = c.purpose AND t.version = c.text_version \
    WHERE c.person_id = $1 AND c.organization_id = $2 \
    ORDER BY c.recorded_at, c.id";

/// One CSV table: a header of every key the rows hold, text as written, the rest as JSON.
pub(crate) fn csv_of(rows: &[Value]) -> AppResult<Vec<u8>> {
    let mut columns: Vec<String> = Vec::new();
    for r in rows {
        if let Value::Object(o) = r {
            for k in o.keys() {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&columns).map_err(AppError::internal)?;
    for r in rows {
        let record: Vec<String> = columns
            .iter()
            .map(|c| match r.get(c) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            })
            .collect();
        w.write_record(&record).map_err(AppError::internal)?;
    }
    w.into_inner().map_err(AppError::internal)
}

/// The archive of person `person` of `org`, and how many records it holds.
pub fn build(
    conn: &mut Conn,
    org: OrganizationId,
    person: PersonId,
) -> AppResult<(Vec<u8>, usize)> {
    let mut tables = Map::new();
    let mut records = 0;
    for t in REGISTRY {
        let found = rows(conn, &t.export_sql(), person, None)?;
        records += found.len();
        tables.insert(t.name.to_owned(), Value::Array(found));
    }
    let mut consents = rows(conn, CONSENTS, person, Some(org))?;
    // Each consent with the words the person answered: the form's texts (text_fr,
    // text_en), or the platform's own where it wrote them.
    for c in &mut consents {
        let text = c
            .get("text_version")
            .and_then(Value::as_str)
            .and_then(crate::notify::consent_text);
        if let (Value::Object(o), Some(t)) = (c, text) {
            o.insert("text".into(), Value::String(t.to_owned()));
        }
    }
    let log = rows(conn, PROCESSING_LOG, person, Some(org))?;
    let data = json!({
        "person_id": person.0,
        "generated_at": chrono::Utc::now(),
        "tables": tables,
        "consents": consents,
        "processing_log": log,
    });

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let put = |zip: &mut zip::ZipWriter<_>, name: &str, bytes: &[u8]| -> AppResult<()> {
        zip.start_file(name, opts).map_err(AppError::internal)?;
        zip.write_all(bytes).map_err(AppError::internal)
    };
    put(&mut zip, "README.txt", README.as_bytes())?;
    let json = serde_json::to_vec_pretty(&data).map_err(AppError::internal)?;
    put(&mut zip, "data.json", &json)?;
    for (name, rows) in &tables {
        if let Value::Array(rows) = rows {
            put(&mut zip, &format!("csv/{name}.csv"), &csv_of(rows)?)?;
        }
    }
    put(&mut zip, "csv/consents.csv", &csv_of(&consents)?)?;
    put(&mut zip, "csv/processing_log.csv", &csv_of(&log)?)?;
    let bytes = zip.finish().map_err(AppError::internal)?.into_inner();
    Ok((bytes, records))
}

const README: &str = "Your personal data\n\n\
data.json holds everything the platform keeps about you for this organization, table by \
table, with your consents and the processing log: who in the organization read or changed \
your data, and when. The csv folder holds the same records, one file per table, for a \
spreadsheet. Files, passwords and secrets are left out.\n";
