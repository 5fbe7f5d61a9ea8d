//! What one row of an import becomes: its checks (the API's own, through the same field
//! checks and domain types), its decision, and the writes of a batch of decided rows.

use super::{Column, Options, ANSWER_PREFIX};
use crate::actor::Actor;
use crate::error::{AppError, AppResult};
use crate::fields::Check;
use crate::persons::{checked_new, PersonInput};
use chrono::{DateTime, Utc};
use diesel::Connection;
use rdv_db::models::{
    Import, ImportProblem, NewPersonWithOptOuts, NewRegistration, NewRegistrationAnswers,
    PersonChanges, RegistrationChanges,
};
use rdv_db::queries::imports::{self as import_rows, KnownPerson};
use rdv_db::queries::{events, shop};
use rdv_db::Conn;
use rdv_domain::{
    DataSource, EventId, FormId, ImportId, ImportKind, LegalBasis, OrganizationId, ParticipantType,
    PersonId, PhoneNumber, RegistrationId, RegistrationStatus, RetentionPolicy,
};
use rdv_io::Row;
use rdv_shop::form::{FieldDef, FieldKind, FormDefinition};
use std::collections::HashMap;

/// What happens to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Create,
    Update,
    Skip,
    Reject,
}

impl Decision {
    pub fn letter(self) -> char {
        match self {
            Decision::Create => 'c',
            Decision::Update => 'u',
            Decision::Skip => 's',
            Decision::Reject => 'r',
        }
    }

    pub fn from_letter(c: char) -> Option<Decision> {
        match c {
            'c' => Some(Decision::Create),
            'u' => Some(Decision::Update),
            's' => Some(Decision::Skip),
            'r' => Some(Decision::Reject),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Create => "create",
            Decision::Update => "update",
            Decision::Skip => "skip",
            Decision::Reject => "reject",
        }
    }
}

/// A custom form field whose answer a column can carry.
pub(crate) fn answerable(kind: &FieldKind) -> bool {
    !matches!(kind, FieldKind::Consent { .. } | FieldKind::Standard { .. })
}

/// The static name of an import field, for audit rows.
pub(crate) fn static_field(name: &str) -> &'static str {
    rdv_io::Kind::ALL
        .iter()
        .flat_map(|k| k.fields().iter())
        .find(|f| f.name == name)
        .map(|f| f.name)
        .unwrap_or("import_column")
}

/// A row's registration-form answers and the form they answer.
type Answers = Option<(FormId, serde_json::Value)>;

/// The registration a row asks for.
#[derive(Debug, Clone)]
struct RegistrationDraft {
    participant_type: Option<ParticipantType>,
    status: Option<RegistrationStatus>,
    company_description: Option<String>,
    offers: Option<String>,
    needs: Option<String>,
    sectors: Option<Vec<String>>,
    languages: Option<Vec<String>>,
    meeting_quota: Option<i32>,
    stand: Option<String>,
}

#[derive(Debug, Clone)]
enum Action {
    Nothing,
    CreatePerson {
        person: Box<NewPersonWithOptOuts>,
        registration: Option<RegistrationDraft>,
        answers: Option<(FormId, serde_json::Value)>,
    },
    UpdatePerson {
        id: PersonId,
        changes: Box<PersonChanges>,
        registration: Option<RegistrationDraft>,
        answers: Option<(FormId, serde_json::Value)>,
    },
    /// Written while deciding (a meeting request goes through its use case in a savepoint).
    Written(Vec<i64>),
    Table {
        number: i32,
        label: String,
    },
}

/// A decided row.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub decision: Decision,
    /// (column header, reason); no value of the row.
    reasons: Vec<(Option<String>, String)>,
    action: Action,
}

impl Planned {
    fn reject(reasons: Vec<(Option<String>, String)>) -> Self {
        Self {
            decision: Decision::Reject,
            reasons,
            action: Action::Nothing,
        }
    }

    fn skip(column: Option<String>, reason: impl Into<String>) -> Self {
        Self {
            decision: Decision::Skip,
            reasons: vec![(column, reason.into())],
            action: Action::Nothing,
        }
    }

    pub fn problems(&self, import: ImportId, index: usize, line: u64) -> Vec<ImportProblem> {
        let decision = match self.decision {
            Decision::Skip => "skip",
            Decision::Reject => "reject",
            _ => return Vec::new(),
        };
        self.reasons
            .iter()
            .enumerate()
            .map(|(seq, (column, reason))| ImportProblem {
                import_id: import,
                row_index: index as i32,
                line: line as i64,
                decision: decision.to_owned(),
                column_name: column.clone(),
                reason: reason.clone(),
                seq: seq as i32,
            })
            .collect()
    }
}

/// A form's answerable fields, for one participant type.
#[derive(Debug, Clone)]
struct FormFields {
    id: FormId,
    fields: Vec<FieldDef>,
}

/// What deciding rows needs to know, loaded once per pass and kept up to date as batches
/// are written.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    kind: ImportKind,
    org: OrganizationId,
    event: Option<EventId>,
    options: Options,
    actor: Actor,
    /// (cell index, field)
    columns: Vec<(usize, String)>,
    headers: Vec<String>,
    known: HashMap<String, KnownPerson>,
    /// Each registered person's registration, whether it is restricted, and its type.
    registered: HashMap<PersonId, (RegistrationId, bool, ParticipantType)>,
    /// Meeting requests of the file: (requester, target) → line.
    pairs: HashMap<(RegistrationId, RegistrationId), u64>,
    /// Lowercased email → line of its first row in the file.
    seen: HashMap<String, u64>,
    forms: HashMap<ParticipantType, FormFields>,
    registration_retention: DateTime<Utc>,
    tables: i32,
    /// Whether the pass writes (a dry run rolls back what it tries).
    writes: bool,
}

fn truthy(v: &str) -> Option<bool> {
    let n = rdv_io::mapping::normalise_header(v);
    match n.as_str() {
        "1" | "x" | "o" | "y" | "oui" | "yes" | "true" | "vrai" | "optout" | "refus" | "refuse"
        | "stop" | "bloctel" => Some(true),
        "0" | "n" | "non" | "no" | "false" | "faux" | "" => Some(false),
        // A date in the column says when the person objected.
        _ if v.chars().any(|c| c.is_ascii_digit()) && v.contains(['-', '/']) => Some(true),
        _ => None,
    }
}

/// A cell as written before a spreadsheet export neutralised it against formulas: `'+33…`
/// (how CSV exports and reports write phone numbers) reads `+33…`.
fn unneutralise(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => v,
    }
}

/// When an opt-out column says the person objected: the date it gives, or now.
fn objected_on(v: &str, now: DateTime<Utc>) -> DateTime<Utc> {
    let v = v.trim();
    ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(v.get(..10).unwrap_or(v), f).ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .filter(|d| *d <= now)
        .unwrap_or(now)
}

fn participant_type(v: &str) -> Option<ParticipantType> {
    if let Ok(t) = v.trim().to_lowercase().parse::<ParticipantType>() {
        return Some(t);
    }
    Some(match rdv_io::mapping::normalise_header(v).as_str() {
        "acheteur" | "acheteuse" | "donneurdordre" => ParticipantType::Buyer,
        "fournisseur" | "vendeur" | "offreur" => ParticipantType::Supplier,
        "visiteur" => ParticipantType::Visitor,
        "exposant" => ParticipantType::Exhibitor,
        "intervenant" | "intervenante" | "conferencier" | "orateur" => ParticipantType::Speaker,
        _ => return None,
    })
}

fn registration_status(v: &str) -> Option<RegistrationStatus> {
    if let Ok(s) = v.trim().to_lowercase().parse::<RegistrationStatus>() {
        return Some(s);
    }
    Some(match rdv_io::mapping::normalise_header(v).as_str() {
        "enattente" | "attente" | "aconfirmer" => RegistrationStatus::Pending,
        "valide" | "validee" | "confirme" | "confirmee" | "inscrit" => {
            RegistrationStatus::Validated
        }
        _ => return None,
    })
}

fn list(v: &str) -> Vec<String> {
    v.split([';', ',', '|', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Context {
    pub fn load(
        conn: &mut Conn,
        import: &Import,
        mapping: &[Column],
        options: &Options,
    ) -> AppResult<Self> {
        let org = import.organization_id;
        let known = import_rows::known_persons(conn, org)?
            .into_iter()
            .map(|p| (p.email.to_lowercase(), p))
            .collect();
        let mut registered = HashMap::new();
        let mut registration_retention = RetentionPolicy::EventData.deadline(Utc::now());
        let mut forms = HashMap::new();
        let mut tables = 0;
        if let Some(event) = import.event_id {
            let ev = events::get(conn, org, event).map_err(|e| AppError::from_db("event", e))?;
            registration_retention = RetentionPolicy::EventData.deadline(
                ev.ends_on
                    .and_hms_opt(23, 59, 59)
                    .map(|d| d.and_utc())
                    .unwrap_or_else(Utc::now),
            );
            for (p, r, restricted, t) in import_rows::registrations_of_event(conn, event)? {
                registered.insert(p, (r, restricted.is_some(), t));
            }
            let keys: Vec<&str> = mapping
                .iter()
                .filter_map(|c| c.field.as_deref()?.strip_prefix(ANSWER_PREFIX))
                .collect();
            if !keys.is_empty() {
                for f in shop::forms_of_event(conn, event)? {
                    if forms.contains_key(&f.participant_type) {
                        continue; // an older version
                    }
                    let Ok(def) = serde_json::from_value::<FormDefinition>(f.definition) else {
                        continue;
                    };
                    let fields = def
                        .fields
                        .into_iter()
                        .filter(|d| keys.contains(&d.key.as_str()) && answerable(&d.kind))
                        .map(|mut d| {
                            // A column answers what it can; the form's own rules about
                            // required and conditional questions are for people filling it.
                            d.required = false;
                            d.condition = None;
                            d
                        })
                        .collect();
                    forms.insert(f.participant_type, FormFields { id: f.id, fields });
                }
            }
            tables = import_rows::table_count(conn, event)?;
        }
        Ok(Self {
            kind: import.kind,
            org,
            event: import.event_id,
            options: options.clone(),
            actor: options.actor(org),
            columns: mapping
                .iter()
                .enumerate()
                .filter_map(|(i, c)| Some((i, c.field.clone()?)))
                .collect(),
            headers: mapping.iter().map(|c| c.header.clone()).collect(),
            known,
            registered,
            seen: HashMap::new(),
            pairs: HashMap::new(),
            forms,
            registration_retention,
            tables,
            writes: import.writes,
        })
    }

    /// The fields the import fills, for audit rows.
    pub fn audited_fields(&self) -> Vec<&'static str> {
        let mut f: Vec<&'static str> = self
            .columns
            .iter()
            .filter(|(_, f)| !f.starts_with(ANSWER_PREFIX))
            .map(|(_, f)| static_field(f))
            .collect();
        if self
            .columns
            .iter()
            .any(|(_, f)| f.starts_with(ANSWER_PREFIX))
        {
            f.push("registration_answers");
        }
        f
    }

    fn cell<'r>(&self, row: &'r Row, field: &str) -> Option<&'r str> {
        let (i, _) = self.columns.iter().find(|(_, f)| f == field)?;
        let v = unneutralise(row.cells.get(*i)?.trim());
        (!v.is_empty()).then_some(v)
    }

    fn header_of(&self, field: &str) -> Option<String> {
        let (i, _) = self.columns.iter().find(|(_, f)| f == field)?;
        self.headers.get(*i).cloned()
    }

    /// Field errors as (header, reason), fields named by their column.
    fn reasons(
        &self,
        errors: std::collections::BTreeMap<String, String>,
    ) -> Vec<(Option<String>, String)> {
        errors
            .into_iter()
            .map(|(field, why)| {
                let base = field.split('[').next().unwrap_or(&field).to_owned();
                match self.header_of(&base) {
                    Some(h) => (Some(h), why),
                    None => (None, format!("{field}: {why}")),
                }
            })
            .collect()
    }

    /// Notes the email of a row decided in an earlier attempt, for duplicates in the file.
    pub fn remember(&mut self, row: &Row) {
        let key = match self.kind {
            ImportKind::Persons | ImportKind::Prospects => "email",
            _ => return,
        };
        if let Some(e) = self.cell(row, key) {
            self.seen.entry(e.to_lowercase()).or_insert(row.line);
        }
    }

    /// Decides a row.
    pub fn decide(&mut self, conn: &mut Conn, index: usize, row: &Row) -> AppResult<Planned> {
        if let Some(p) = &row.problem {
            self.remember(row);
            return Ok(Planned::reject(vec![(None, p.clone())]));
        }
        match self.kind {
            ImportKind::Persons | ImportKind::Prospects => Ok(self.person(row)),
            ImportKind::MeetingRequests => self.meeting_request(conn, row),
            ImportKind::Tables => Ok(self.table(index, row)),
        }
    }

    fn phone(&self, v: Option<&str>) -> Option<String> {
        let v = v?;
        let parsed = match self.options.country() {
            Some(country) => PhoneNumber::parse_national(v, country),
            None => PhoneNumber::parse(v),
        };
        Some(match parsed {
            Ok(p) => p.as_str().to_owned(),
            // The field check reports it as the API would.
            Err(_) => v.to_owned(),
        })
    }

    fn person(&mut self, row: &Row) -> Planned {
        let prospect = self.kind == ImportKind::Prospects;
        let get = |f: &str| self.cell(row, f).map(str::to_owned);
        let input = PersonInput {
            civility: get("civility").map(|c| {
                match rdv_io::mapping::normalise_header(&c).as_str() {
                    "m" | "mr" | "monsieur" => "mr".to_owned(),
                    "mme" | "mrs" | "ms" | "madame" | "mlle" => "mrs".to_owned(),
                    "mx" => "mx".to_owned(),
                    _ => c,
                }
            }),
            first_name: get("first_name").unwrap_or_default(),
            last_name: get("last_name").unwrap_or_default(),
            email: get("email").unwrap_or_default(),
            mobile_phone: self.phone(self.cell(row, "mobile_phone")),
            landline_phone: self.phone(self.cell(row, "landline_phone")),
            company: get("company"),
            job_title: get("job_title"),
            address_line1: get("address_line1"),
            address_line2: get("address_line2"),
            postal_code: get("postal_code"),
            city: get("city"),
            country: get("country").map(|c| c.to_uppercase()),
            preferred_language: get("preferred_language").map(|l| l.to_lowercase()),
            legal_basis: Some(
                if prospect {
                    "legitimate_interest"
                } else {
                    "contract"
                }
                .into(),
            ),
            source: Some(if prospect { "prospect" } else { "import" }.into()),
        };
        let mut c = Check::new();
        let new = checked_new(&mut c, self.org, &input);
        let now = Utc::now();
        let mut optout = |field: &str| -> Option<DateTime<Utc>> {
            let v = self.cell(row, field)?;
            match truthy(v) {
                Some(true) => Some(objected_on(v, now)),
                Some(false) => None,
                None => {
                    c.add(field, "must be yes or no (oui, non, 1, 0, x or a date)");
                    None
                }
            }
        };
        let optout_marketing_email_at = optout("optout_marketing_email");
        let optout_sms_at = optout("optout_sms");
        let optout_phone_prospecting_at = optout("optout_phone_prospecting");
        // A registered person keeps their type unless the file gives one; their answers are
        // checked against the form of their registration's type.
        let registered_type = self
            .known
            .get(&input.email.trim().to_lowercase())
            .and_then(|k| self.registered.get(&k.id))
            .map(|(_, _, t)| *t);
        let registration =
            (!prospect).then(|| self.registration(&mut c, row, registered_type.is_some()));
        let ptype = registration
            .as_ref()
            .and_then(|r| r.participant_type)
            .or(registered_type);
        let answers = self.answers(&mut c, row, ptype);
        let errors = c.0.into_map();
        let email = new.email.to_lowercase();
        if !errors.is_empty() {
            if !email.is_empty() {
                self.seen.entry(email).or_insert(row.line);
            }
            return Planned::reject(self.reasons(errors));
        }
        if let Some(first) = self.seen.get(&email) {
            return Planned::reject(vec![(
                self.header_of("email"),
                format!("the same email as line {first}"),
            )]);
        }
        self.seen.insert(email.clone(), row.line);
        let Some(known) = self.known.get(&email) else {
            let mut person = new;
            if prospect {
                person.retention_until = RetentionPolicy::EventData.deadline(now);
            }
            return Planned {
                decision: Decision::Create,
                reasons: vec![],
                action: Action::CreatePerson {
                    person: Box::new(NewPersonWithOptOuts {
                        person,
                        optout_marketing_email_at,
                        optout_sms_at,
                        optout_phone_prospecting_at,
                    }),
                    registration,
                    answers,
                },
            };
        };
        if known.restricted_at.is_some() {
            return Planned::skip(
                self.header_of("email"),
                "this person's processing is restricted: nothing of them changes until it is lifted",
            );
        }
        if prospect {
            if let Some(when) = known
                .optout_phone_prospecting_at
                .or(known.optout_marketing_email_at)
                .or(known.optout_sms_at)
            {
                return Planned::skip(
                    self.header_of("email"),
                    format!(
                        "this person opposed prospecting on {}: not imported again",
                        when.format("%Y-%m-%d")
                    ),
                );
            }
            if known.source != DataSource::Prospect {
                return Planned::skip(
                    self.header_of("email"),
                    "this person is already known to the organization, not as a prospect: left as is",
                );
            }
        }
        if !self.options.on_existing_update {
            return Planned::skip(
                self.header_of("email"),
                "this person is already in the organization (existing persons are skipped)",
            );
        }
        let id = known.id;
        if self
            .registered
            .get(&id)
            .is_some_and(|(_, restricted, _)| *restricted)
        {
            return Planned::skip(
                self.header_of("email"),
                "this person's registration is restricted: nothing of it changes until it is lifted",
            );
        }
        // Only the columns the file fills change; opt-outs are added, never withdrawn.
        let has = |f: &str| self.cell(row, f).is_some();
        let changes = PersonChanges {
            civility: has("civility").then(|| new.civility.clone()),
            first_name: has("first_name").then(|| new.first_name.clone()),
            last_name: has("last_name").then(|| new.last_name.clone()),
            email: None,
            mobile_phone: has("mobile_phone").then(|| new.mobile_phone.clone()),
            landline_phone: has("landline_phone").then(|| new.landline_phone.clone()),
            company: has("company").then(|| new.company.clone()),
            job_title: has("job_title").then(|| new.job_title.clone()),
            address_line1: has("address_line1").then(|| new.address_line1.clone()),
            address_line2: has("address_line2").then(|| new.address_line2.clone()),
            postal_code: has("postal_code").then(|| new.postal_code.clone()),
            city: has("city").then(|| new.city.clone()),
            country: has("country").then(|| new.country.clone()),
            preferred_language: has("preferred_language").then(|| new.preferred_language.clone()),
            optout_marketing_email_at: optout_marketing_email_at
                .filter(|_| known.optout_marketing_email_at.is_none())
                .map(Some),
            optout_sms_at: optout_sms_at
                .filter(|_| known.optout_sms_at.is_none())
                .map(Some),
            optout_phone_prospecting_at: optout_phone_prospecting_at
                .filter(|_| known.optout_phone_prospecting_at.is_none())
                .map(Some),
            last_verified_at: None,
        };
        Planned {
            decision: Decision::Update,
            reasons: vec![],
            action: Action::UpdatePerson {
                id,
                changes: Box::new(changes),
                registration,
                answers,
            },
        }
    }

    fn registration(&self, c: &mut Check, row: &Row, registered: bool) -> RegistrationDraft {
        let participant_type = match self.cell(row, "participant_type") {
            Some(v) => {
                let t = participant_type(v);
                if t.is_none() {
                    c.add(
                        "participant_type",
                        "must be buyer, supplier, visitor, exhibitor or speaker (acheteur, fournisseur, visiteur, exposant, intervenant)",
                    );
                }
                t
            }
            None => {
                if self.options.default_participant_type.is_none() && !registered {
                    c.add(
                        "participant_type",
                        "is missing, and the import names no default participant type",
                    );
                }
                // The default registers new participants; a registered one keeps their type.
                (!registered)
                    .then_some(self.options.default_participant_type)
                    .flatten()
            }
        };
        let status = self
            .cell(row, "status")
            .and_then(|v| match registration_status(v) {
                Some(s) if crate::registrations::may_start_in(s) => Some(s),
                _ => {
                    c.add(
                        "status",
                        "must be pending or validated (en attente, validé)",
                    );
                    None
                }
            });
        let sectors = self
            .cell(row, "sectors")
            .map(|v| crate::registrations::sectors(c, list(v)));
        let languages = self.cell(row, "languages").map(|v| {
            crate::registrations::languages(
                c,
                list(v).into_iter().map(|l| l.to_lowercase()).collect(),
            )
        });
        let meeting_quota =
            self.cell(row, "meeting_quota")
                .and_then(|v| match v.trim().parse::<i32>() {
                    Ok(q) if (0..=crate::registrations::MAX_QUOTA).contains(&q) => Some(q),
                    _ => {
                        c.add(
                            "meeting_quota",
                            format!(
                                "must be a whole number between 0 and {}",
                                crate::registrations::MAX_QUOTA
                            ),
                        );
                        None
                    }
                });
        RegistrationDraft {
            participant_type,
            status,
            company_description: c.opt_multiline::<5000>(
                "company_description",
                self.cell(row, "company_description"),
            ),
            offers: c.opt_multiline::<5000>("offers", self.cell(row, "offers")),
            needs: c.opt_multiline::<5000>("needs", self.cell(row, "needs")),
            sectors,
            languages,
            meeting_quota,
            stand: c.opt_text::<50>("stand", self.cell(row, "stand")),
        }
    }

    /// The row's answers to its participant type's form, checked by the form's own rules.
    fn answers(
        &self,
        c: &mut Check,
        row: &Row,
        ptype: Option<ParticipantType>,
    ) -> Option<(FormId, serde_json::Value)> {
        let form = self.forms.get(&ptype?)?;
        let mut given = serde_json::Map::new();
        for (i, field) in &self.columns {
            let Some(key) = field.strip_prefix(ANSWER_PREFIX) else {
                continue;
            };
            let Some(def) = form.fields.iter().find(|d| d.key == key) else {
                continue;
            };
            let v = row.cells.get(*i).map(|s| s.trim()).unwrap_or("");
            if v.is_empty() {
                continue;
            }
            given.insert(key.to_owned(), answer_value(&def.kind, v));
        }
        if given.is_empty() {
            return None;
        }
        let def = FormDefinition {
            fields: form.fields.clone(),
        };
        match rdv_shop::form::validate(&def, &given, Utc::now().date_naive()) {
            Ok(sub) => Some((form.id, serde_json::to_value(sub.answers).ok()?)),
            Err(problems) => {
                for (key, why) in problems {
                    c.add(&format!("{ANSWER_PREFIX}{key}"), why);
                }
                None
            }
        }
    }

    fn meeting_request(&mut self, conn: &mut Conn, row: &Row) -> AppResult<Planned> {
        let Some(event) = self.event else {
            return Err(AppError::internal("a meeting request import without event"));
        };
        let mut c = Check::new();
        let from = self
            .cell(row, "requester_email")
            .and_then(|v| c.email("requester_email", v));
        let to = self
            .cell(row, "target_email")
            .and_then(|v| c.email("target_email", v));
        for (field, v) in [("requester_email", &from), ("target_email", &to)] {
            if v.is_none() && !c.has(field) {
                c.add(field, "is missing");
            }
        }
        let find = |c: &mut Check, field: &str, email: &Option<String>| {
            let email = email.as_ref()?.to_lowercase();
            let reg = self
                .known
                .get(&email)
                .and_then(|p| self.registered.get(&p.id))
                .map(|(r, _, _)| *r);
            if reg.is_none() {
                c.add(field, "no participant of this event has this email");
            }
            reg
        };
        let from_reg = find(&mut c, "requester_email", &from);
        let to_reg = find(&mut c, "target_email", &to);
        let errors = c.0.into_map();
        if !errors.is_empty() {
            return Ok(Planned::reject(self.reasons(errors)));
        }
        let (Some(from_reg), Some(to_reg)) = (from_reg, to_reg) else {
            return Err(AppError::internal("checked participants missing"));
        };
        // A dry run rolls each request back: the file's own repeats are found here.
        if let Some(first) = self.pairs.get(&(from_reg, to_reg)) {
            return Ok(Planned::reject(vec![(
                self.header_of("target_email"),
                format!("the same request as line {first}"),
            )]));
        }
        self.pairs.insert((from_reg, to_reg), row.line);
        let input = crate::meetings::RequestInput {
            from: Some(from_reg),
            to: to_reg,
            priority: self.cell(row, "priority").map(
                |p| match rdv_io::mapping::normalise_header(p).as_str() {
                    "indispensable" | "obligatoire" | "must" => "must".to_owned(),
                    "souhaitable" | "should" | "important" => "should".to_owned(),
                    "facultatif" | "optionnel" | "could" => "could".to_owned(),
                    _ => p.to_owned(),
                },
            ),
            message: self.cell(row, "message").map(str::to_owned),
        };
        // The request goes through its own use case in a savepoint: written in a real run,
        // rolled back in a dry run, so both decide alike.
        let writes = self.writes;
        let actor = self.actor.clone();
        let outcome = conn.transaction::<_, RowOutcome, _>(|conn| {
            let view =
                crate::meetings::create(conn, &actor, event, input).map_err(RowOutcome::Refused)?;
            if writes {
                Ok(view)
            } else {
                Err(RowOutcome::DryRun)
            }
        });
        match outcome {
            Ok(_) | Err(RowOutcome::DryRun) => Ok(Planned {
                decision: Decision::Create,
                reasons: vec![],
                action: Action::Written(vec![]),
            }),
            Err(RowOutcome::Refused(e)) if e.is_callers_mistake() => {
                let mut reasons = Vec::new();
                if let AppError::Invalid { fields, .. } | AppError::Conflict { fields, .. } = &e {
                    reasons.extend(fields.iter().map(|(f, why)| {
                        let field = match f.as_str() {
                            "from" => "requester_email",
                            "to" => "target_email",
                            other => other,
                        };
                        (self.header_of(field), why.clone())
                    }));
                }
                if reasons.is_empty() {
                    reasons.push((None, e.to_string()));
                }
                Ok(Planned::reject(reasons))
            }
            Err(RowOutcome::Refused(e)) => Err(e),
            Err(RowOutcome::Db(e)) => Err(AppError::internal(e)),
        }
    }

    /// The row's table: numbered by its place in the file, so that a retried run numbers
    /// alike.
    fn table(&mut self, index: usize, row: &Row) -> Planned {
        let mut c = Check::new();
        let label = self
            .cell(row, "label")
            .and_then(|v| c.text::<50>("label", v));
        if label.is_none() && !c.has("label") {
            c.add("label", "is missing");
        }
        let location = c.opt_text::<50>("location", self.cell(row, "location"));
        let errors = c.0.into_map();
        if !errors.is_empty() {
            return Planned::reject(self.reasons(errors));
        }
        let number = i32::try_from(index + 1).unwrap_or(i32::MAX);
        if number > crate::events::MAX_TABLES {
            return Planned::reject(vec![(
                None,
                format!("an event has at most {} tables", crate::events::MAX_TABLES),
            )]);
        }
        let label = label.unwrap_or_default();
        let label = match location {
            Some(l) => format!("{label} ({l})"),
            None => label,
        };
        let label: String = label.chars().take(100).collect();
        Planned {
            decision: if number <= self.tables {
                Decision::Update
            } else {
                Decision::Create
            },
            reasons: vec![],
            action: Action::Table { number, label },
        }
    }

    /// Writes a batch of decided rows; returns the persons created or changed.
    pub fn write(&mut self, conn: &mut Conn, planned: Vec<Planned>) -> AppResult<Vec<i64>> {
        let mut touched: Vec<i64> = Vec::new();
        let mut creates: Vec<(NewPersonWithOptOuts, Option<RegistrationDraft>, Answers)> =
            Vec::new();
        let mut new_registrations: Vec<(PersonId, RegistrationDraft, Answers)> = Vec::new();
        let mut answers: Vec<(PersonId, RegistrationId, FormId, serde_json::Value)> = Vec::new();
        let mut labels: Vec<(i32, String)> = Vec::new();
        let mut person_updates: Vec<(PersonId, PersonChanges)> = Vec::new();
        let mut registration_updates: Vec<(RegistrationId, RegistrationChanges)> = Vec::new();
        for p in planned {
            match p.action {
                Action::Nothing => {}
                Action::Written(persons) => touched.extend(persons),
                Action::Table { number, label } => labels.push((number, label)),
                Action::CreatePerson {
                    person,
                    registration,
                    answers,
                } => creates.push((*person, registration, answers)),
                Action::UpdatePerson {
                    id,
                    changes,
                    registration,
                    answers: given,
                } => {
                    if !changes.changed_fields().is_empty() {
                        person_updates.push((id, *changes));
                    }
                    touched.push(id.0);
                    if let Some(draft) = registration {
                        match self.registered.get(&id).copied() {
                            Some((reg, _, _)) => {
                                let ch = RegistrationChanges {
                                    participant_type: draft.participant_type,
                                    company_description: draft.company_description.map(Some),
                                    offers: draft.offers.map(Some),
                                    needs: draft.needs.map(Some),
                                    sectors: draft.sectors,
                                    languages: draft.languages,
                                    meeting_quota: draft.meeting_quota.map(Some),
                                    stand: draft.stand.map(Some),
                                    ..Default::default()
                                };
                                if !ch.is_empty() {
                                    registration_updates.push((reg, ch));
                                }
                                if let Some((form, a)) = given {
                                    answers.push((id, reg, form, a));
                                }
                            }
                            None => new_registrations.push((id, draft, given)),
                        }
                    }
                }
            }
        }
        // The batch's updates in one statement per table.
        import_rows::update_persons(conn, self.org, &person_updates)?;
        import_rows::update_registrations(conn, self.org, &registration_updates)?;
        if !creates.is_empty() {
            let rows: Vec<NewPersonWithOptOuts> =
                creates.iter().map(|(p, _, _)| p.clone()).collect();
            let ids = import_rows::create_persons(conn, &rows)?;
            for ((person, registration, given), id) in creates.into_iter().zip(ids) {
                touched.push(id.0);
                self.known.insert(
                    person.person.email.to_lowercase(),
                    KnownPerson {
                        id,
                        email: person.person.email.clone(),
                        source: person.person.source,
                        restricted_at: None,
                        optout_marketing_email_at: person.optout_marketing_email_at,
                        optout_sms_at: person.optout_sms_at,
                        optout_phone_prospecting_at: person.optout_phone_prospecting_at,
                    },
                );
                if let Some(draft) = registration {
                    new_registrations.push((id, draft, given));
                }
            }
        }
        if !new_registrations.is_empty() {
            let Some(event) = self.event else {
                return Err(AppError::internal("registrations without an event"));
            };
            let rows: Vec<NewRegistration> = new_registrations
                .iter()
                .map(|(person, d, _)| NewRegistration {
                    organization_id: self.org,
                    event_id: event,
                    person_id: *person,
                    participant_type: d.participant_type.unwrap_or(ParticipantType::Buyer),
                    status: d.status.unwrap_or(RegistrationStatus::Pending),
                    company_description: d.company_description.clone(),
                    offers: d.offers.clone(),
                    needs: d.needs.clone(),
                    sectors: d.sectors.clone().unwrap_or_default(),
                    languages: d.languages.clone().unwrap_or_default(),
                    profile_visible: true,
                    meeting_quota: d.meeting_quota,
                    stand: d.stand.clone(),
                    legal_basis: LegalBasis::Contract,
                    retention_until: self.registration_retention,
                    source: DataSource::Import,
                })
                .collect();
            let ids = import_rows::create_registrations(conn, &rows)?;
            let persons: Vec<PersonId> = new_registrations.iter().map(|(p, _, _)| *p).collect();
            import_rows::extend_retention(conn, &persons, self.registration_retention)?;
            let mut emails = Vec::new();
            for ((person, _, given), (reg, row)) in
                new_registrations.into_iter().zip(ids.into_iter().zip(rows))
            {
                self.registered
                    .insert(person, (reg, false, row.participant_type));
                if let Some((form, a)) = given {
                    answers.push((person, reg, form, a));
                }
                if self.options.notify {
                    let kind = match row.status {
                        RegistrationStatus::Validated => rdv_notify::Kind::RegistrationValidated,
                        _ => rdv_notify::Kind::RegistrationReceived,
                    };
                    emails.push(crate::notify::Email {
                        organization: self.org,
                        event: Some(event),
                        person,
                        kind,
                        data: serde_json::json!({}),
                        key: format!("{}:{}:import", kind.as_str(), reg),
                    });
                }
            }
            if !emails.is_empty() {
                crate::notify::enqueue_emails(conn, emails)?;
            }
        }
        if !answers.is_empty() {
            let Some(event) = self.event else {
                return Err(AppError::internal("answers without an event"));
            };
            let rows: Vec<NewRegistrationAnswers> = answers
                .into_iter()
                .map(|(person, reg, form, a)| NewRegistrationAnswers {
                    organization_id: self.org,
                    event_id: event,
                    registration_id: reg,
                    person_id: person,
                    form_id: form,
                    answers: a,
                    submitted_at: Utc::now(),
                    legal_basis: LegalBasis::Contract,
                    retention_until: self.registration_retention,
                    source: DataSource::Import,
                })
                .collect();
            import_rows::merge_answers(conn, &rows)?;
        }
        if !labels.is_empty() {
            let Some(event) = self.event else {
                return Err(AppError::internal("tables without an event"));
            };
            let highest = labels.iter().map(|(n, _)| *n).max().unwrap_or(0);
            if highest > self.tables {
                events::set_table_count(conn, event, highest)?;
                rdv_db::queries::plans::touch_calendar(conn, event)?;
                self.tables = highest;
            }
            import_rows::label_tables(conn, event, &labels)?;
        }
        touched.sort_unstable();
        touched.dedup();
        Ok(touched)
    }
}

/// Why a meeting request's savepoint ended without committing.
#[derive(Debug)]
enum RowOutcome {
    Refused(AppError),
    DryRun,
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for RowOutcome {
    fn from(e: diesel::result::Error) -> Self {
        RowOutcome::Db(e)
    }
}

/// A cell as the JSON a form submission would carry for the field.
fn answer_value(kind: &FieldKind, v: &str) -> serde_json::Value {
    use serde_json::Value;
    let choice = |options: &[rdv_shop::form::ChoiceOption], v: &str| -> Value {
        let n = rdv_io::mapping::normalise_header(v);
        options
            .iter()
            .find(|o| {
                rdv_io::mapping::normalise_header(&o.value) == n
                    || rdv_io::mapping::normalise_header(&o.label_fr) == n
                    || rdv_io::mapping::normalise_header(&o.label_en) == n
            })
            .map(|o| Value::String(o.value.clone()))
            .unwrap_or_else(|| Value::String(v.to_owned()))
    };
    match kind {
        FieldKind::Number { .. } => v
            .replace(',', ".")
            .replace([' ', '\u{a0}'], "")
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(v.to_owned())),
        FieldKind::YesNo {} => match truthy(v) {
            Some(b) => Value::Bool(b),
            None => Value::String(v.to_owned()),
        },
        FieldKind::SingleChoice { options } => choice(options, v),
        FieldKind::MultipleChoice { options, .. } => {
            Value::Array(list(v).iter().map(|x| choice(options, x)).collect())
        }
        _ => Value::String(v.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_neutralised_by_an_export_read_as_written() {
        assert_eq!(unneutralise("'+33612345678"), "+33612345678");
        assert_eq!(unneutralise("'=SUM(A1)"), "=SUM(A1)");
        assert_eq!(unneutralise("'quoted"), "'quoted");
        assert_eq!(unneutralise("+33612345678"), "+33612345678");
    }

    #[test]
    fn an_opt_out_keeps_the_date_the_file_gives() {
        let now = Utc::now();
        let d = objected_on("14/03/2024", now);
        assert_eq!(d.date_naive().to_string(), "2024-03-14");
        assert_eq!(
            objected_on("2023-01-02", now).date_naive().to_string(),
            "2023-01-02"
        );
        assert_eq!(objected_on("oui", now), now);
        // A date to come is not an objection on record yet: now.
        assert_eq!(objected_on("2999-01-01", now), now);
        assert_eq!(truthy("14/03/2024"), Some(true));
        assert_eq!(truthy("Oui"), Some(true));
        assert_eq!(truthy("non"), Some(false));
        assert_eq!(truthy("peut-être"), None);
    }
}
