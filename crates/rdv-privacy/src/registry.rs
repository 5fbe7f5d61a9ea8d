//! The registry of personal data: for every table that holds some, how one person's rows are
//! found, what an access archive shows of them, what an erasure does to them (delete,
//! anonymise, or keep under a legal hold, saying why), and what the retention sweep does when
//! a row's `retention_until` has passed. A schema test fails when a table with personal
//! columns is missing here, so a new table is covered from its first migration.
//!
//! Statements are SQL fragments over the table aliased `t`, with `$1` the persons' ids (a
//! `bigint[]`: one person for a rights request, a batch for the retention sweep). The erasure
//! runs the entries in the order listed, in one transaction: entries that find rows through
//! another table (accounts through memberships) come before it.

use rdv_domain::{LegalBasis, RetentionPolicy};

/// What an erasure does to a person's rows of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    /// The rows are deleted.
    Delete,
    /// The rows stay (other records point at them) with these columns overwritten
    /// (`column`, SQL expression), and `erased_at` set.
    Anonymise(&'static [(&'static str, &'static str)]),
    /// The rows are kept because a law requires it; only these columns are cleared.
    Hold {
        reason: &'static str,
        clear: &'static [(&'static str, &'static str)],
    },
}

/// What the retention sweep does to rows whose `retention_until` has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// The whole person is erased, every table following its registration.
    ErasePerson,
    /// The expired rows are anonymised as [`Erasure::Anonymise`] says.
    Anonymise,
    /// The expired rows are deleted.
    Delete,
    /// The audit log is append-only for the application: its expired rows leave through the
    /// database function `privacy_purge_audit_log`, run with the owner's rights.
    PurgeAuditLog,
    /// Invoices and credit notes cannot be deleted by the application: their expired rows
    /// leave through the database function `privacy_purge_invoices`, with the owner's rights.
    PurgeInvoices,
    /// The rows carry no deadline of their own: they go with the record they belong to.
    WithParent,
}

/// How long rows are kept, for the record of processing and the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub policy: Option<RetentionPolicy>,
    /// When the clock starts, or what governs the rows instead.
    pub described: &'static str,
    pub expiry: Expiry,
}

/// One table of personal data.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    /// The capability that writes it.
    pub owner: &'static str,
    pub purpose: &'static str,
    pub legal_basis: LegalBasis,
    /// Categories of personal data.
    pub data: &'static [&'static str],
    /// Categories of persons concerned.
    pub subjects: &'static [&'static str],
    /// Who receives the data beyond the organization's own staff.
    pub recipients: &'static [&'static str],
    pub retention: Retention,
    /// Condition on `t` selecting the rows of the persons `$1` (`bigint[]`).
    pub rows: &'static str,
    /// Columns left out of the access archive (secrets, files, digests).
    pub not_exported: &'static [&'static str],
    pub erasure: Erasure,
}

/// The person's login accounts that serve nobody else: every membership is for them.
const OWN_ACCOUNTS: &str =
    "t.id IN (SELECT m.user_account_id FROM memberships m WHERE m.person_id = ANY($1)) \
     AND NOT EXISTS (SELECT 1 FROM memberships o WHERE o.user_account_id = t.id \
     AND (o.person_id IS NULL OR o.person_id <> ALL($1)))";

const EVENT_DATA: Retention = Retention {
    policy: Some(RetentionPolicy::EventData),
    described: "36 months after the end of the event",
    expiry: Expiry::Anonymise,
};

/// Every table holding personal data, in the order an erasure handles them.
pub const REGISTRY: &[Table] = &[
    // --- the foundation: audit (rdv-app audit) ---
    Table {
        name: "audit_log",
        owner: "audit",
        purpose: "record who read or changed whose personal data, and every bulk operation",
        legal_basis: LegalBasis::LegalObligation,
        data: &[
            "person ids",
            "fields read or changed",
            "staff account",
            "client address",
        ],
        subjects: &["participants", "prospects", "organizer staff"],
        recipients: &[
            "the organization's admins",
            "the person, in their access archive",
        ],
        retention: Retention {
            policy: Some(RetentionPolicy::ContractualProof),
            described: "5 years after the operation",
            expiry: Expiry::PurgeAuditLog,
        },
        rows: "t.person_ids && $1",
        // Other persons named by the same bulk read, and the staff's addresses, are not theirs.
        not_exported: &["person_ids", "subject_ids", "client_address"],
        erasure: Erasure::Hold {
            reason:
                "accountability (GDPR art. 5(2) and 30): the log keeps who processed the data; \
                     it names the person by a pseudonymous id only",
            clear: &[],
        },
    },
    // --- exports (rdv-app exports) ---
    Table {
        name: "exports",
        owner: "exports",
        purpose: "files an organizer builds to run the event (agendas to print)",
        legal_basis: LegalBasis::Contract,
        data: &["names", "companies", "meeting times"],
        subjects: &["participants"],
        recipients: &["the organizer who asked for the file"],
        retention: Retention {
            policy: None,
            described: "24 hours after the file is built",
            expiry: Expiry::Delete,
        },
        rows: "t.person_ids && $1",
        not_exported: &["content", "person_ids", "progress"],
        erasure: Erasure::Delete,
    },
    // --- imports (rdv-app imports) ---
    Table {
        name: "imports",
        owner: "imports",
        purpose: "spreadsheets an organizer uploads to register participants, prospects, meeting requests or tables",
        legal_basis: LegalBasis::Contract,
        data: &["names", "emails", "phone numbers", "companies", "what the file's columns hold"],
        subjects: &["participants", "prospects"],
        recipients: &["the organizer who uploaded the file"],
        retention: Retention {
            policy: None,
            described: "7 days after the upload, with its report",
            expiry: Expiry::Delete,
        },
        rows: "t.person_ids && $1",
        not_exported: &["content", "person_ids", "progress", "decisions", "detected", "headers", "mapping", "options"],
        erasure: Erasure::Delete,
    },
    // --- notifications (rdv-app notify, campaigns) ---
    Table {
        name: "outbox_messages",
        owner: "notify",
        purpose: "send the messages of the event (confirmations, agendas, reminders, campaigns)",
        legal_basis: LegalBasis::Contract,
        data: &[
            "email address or mobile number used",
            "message kind",
            "delivery status",
        ],
        subjects: &["participants", "prospects"],
        recipients: &["the platform's SMTP relay", "the SMS gateway"],
        retention: Retention {
            policy: Some(RetentionPolicy::EventData),
            described: "36 months after the message was queued",
            expiry: Expiry::Delete,
        },
        // Two indexed lookups: an OR across the columns would read the whole outbox.
        // Account messages (password resets, inactivity warnings) count only for accounts
        // that serve this person alone.
        rows: "t.id IN (SELECT o.id FROM outbox_messages o WHERE o.person_id = ANY($1) \
               UNION ALL SELECT o.id FROM outbox_messages o WHERE o.user_account_id IN (\
               SELECT m.user_account_id FROM memberships m WHERE m.person_id = ANY($1) \
               AND NOT EXISTS (SELECT 1 FROM memberships x WHERE x.user_account_id = m.user_account_id \
               AND (x.person_id IS NULL OR x.person_id <> ALL($1)))))",
        not_exported: &["locked_by", "locked_until", "idempotency_key"],
        erasure: Erasure::Anonymise(&[
            ("recipient", "NULL"),
            ("data", "'{}'::jsonb"),
            ("provider_reply", "NULL"),
            ("last_error", "NULL"),
            (
                "status",
                "CASE WHEN t.status = 'queued' THEN 'cancelled' ELSE t.status END",
            ),
        ]),
    },
    // --- meetings (rdv-app meetings) ---
    Table {
        name: "meeting_requests",
        owner: "meetings",
        purpose: "ask for meetings and plan them",
        legal_basis: LegalBasis::Contract,
        data: &[
            "who asked whom",
            "message to the other participant",
            "priority",
            "answer",
        ],
        subjects: &["participants"],
        recipients: &["the other participant of the request"],
        retention: EVENT_DATA,
        rows: "t.requester_id IN (SELECT r.id FROM registrations r WHERE r.person_id = ANY($1)) \
               OR t.recipient_id IN (SELECT r.id FROM registrations r WHERE r.person_id = ANY($1))",
        not_exported: &[],
        erasure: Erasure::Anonymise(&[
            ("message", "NULL"),
            ("status_reason", "NULL"),
            (
                "status",
                "CASE WHEN t.status IN ('pending', 'accepted') THEN 'cancelled' ELSE t.status END",
            ),
        ]),
    },
    Table {
        name: "meeting_request_history",
        owner: "meetings",
        purpose: "show who changed a meeting request and why",
        legal_basis: LegalBasis::Contract,
        data: &["status changes", "the reason given"],
        subjects: &["participants"],
        recipients: &["the other participant of the request"],
        retention: Retention {
            policy: None,
            described: "as long as the meeting request",
            expiry: Expiry::WithParent,
        },
        rows: "t.request_id IN (SELECT mr.id FROM meeting_requests mr \
               WHERE mr.requester_id IN (SELECT r.id FROM registrations r WHERE r.person_id = ANY($1)) \
               OR mr.recipient_id IN (SELECT r.id FROM registrations r WHERE r.person_id = ANY($1)))",
        not_exported: &[],
        erasure: Erasure::Delete,
    },
    Table {
        name: "agenda_feeds",
        owner: "agenda",
        purpose: "publish a participant's agenda as a calendar feed at a secret address",
        legal_basis: LegalBasis::Contract,
        data: &["digest of the feed's secret"],
        subjects: &["participants"],
        recipients: &["the participant's calendar application"],
        retention: Retention {
            policy: None,
            described: "as long as the registration",
            expiry: Expiry::WithParent,
        },
        rows: "t.registration_id IN (SELECT r.id FROM registrations r WHERE r.person_id = ANY($1))",
        not_exported: &["token_hash"],
        erasure: Erasure::Delete,
    },
    // --- consent (rdv-app campaigns, registrations) ---
    Table {
        name: "consent_records",
        owner: "consent",
        purpose: "prove each consent given or withdrawn",
        legal_basis: LegalBasis::LegalObligation,
        data: &[
            "purpose",
            "text version",
            "given or withdrawn",
            "when",
            "how",
            "client address",
        ],
        subjects: &["participants", "prospects"],
        recipients: &[],
        retention: Retention {
            policy: Some(RetentionPolicy::ContractualProof),
            described: "5 years after the consent was recorded",
            expiry: Expiry::Delete,
        },
        rows: "t.person_id = ANY($1)",
        not_exported: &[],
        erasure: Erasure::Hold {
            reason: "proof of consent (GDPR art. 7(1)): what was consented to and when is kept, \
                     under a pseudonymous id, without the client address",
            clear: &[("client_address", "NULL")],
        },
    },
    // --- the privacy engine itself ---
    Table {
        name: "privacy_requests",
        owner: "privacy",
        purpose: "answer the rights of data subjects and prove it",
        legal_basis: LegalBasis::LegalObligation,
        data: &[
            "right exercised",
            "dates",
            "what the person wrote",
            "who handled it",
        ],
        subjects: &["participants", "prospects"],
        recipients: &[],
        retention: Retention {
            policy: Some(RetentionPolicy::ContractualProof),
            described: "5 years after the request",
            expiry: Expiry::Delete,
        },
        rows: "t.person_id = ANY($1)",
        not_exported: &["archive", "scan_digest", "job_id"],
        erasure: Erasure::Hold {
            reason: "proof that the request was answered in time (GDPR art. 5(2) and 12): \
                     the request is kept under a pseudonymous id, without its text or archive",
            clear: &[
                ("details", "NULL"),
                ("note", "NULL"),
                // A rejection's outcome is its reason, in the organizer's words.
                (
                    "outcome",
                    "CASE WHEN t.state = 'rejected' THEN '{}'::jsonb ELSE t.outcome END",
                ),
                ("archive", "NULL"),
                ("archive_expires_at", "NULL"),
            ],
        },
    },
    // --- registrations (rdv-app registrations) ---
    Table {
        name: "registrations",
        owner: "registrations",
        purpose: "register participants to an event, publish their profile and plan their meetings",
        legal_basis: LegalBasis::Contract,
        data: &[
            "participant type",
            "status",
            "company description",
            "offers",
            "needs",
            "sectors",
            "languages",
            "stand",
            "meeting quota",
        ],
        subjects: &["participants"],
        recipients: &["other participants of the event (the profile, when visible)"],
        retention: EVENT_DATA,
        rows: "t.person_id = ANY($1)",
        not_exported: &[],
        erasure: Erasure::Anonymise(&[
            ("company_description", "NULL"),
            ("offers", "NULL"),
            ("needs", "NULL"),
            ("status_reason", "NULL"),
            ("stand", "NULL"),
            ("sectors", "'{}'"),
            ("languages", "'{}'"),
            ("profile_visible", "false"),
        ]),
    },
    // --- the shop (rdv-app shop) ---
    Table {
        name: "registration_answers",
        owner: "shop",
        purpose: "register participants through the organizer's form",
        legal_basis: LegalBasis::Contract,
        data: &["answers to the registration form's own questions", "form version"],
        subjects: &["participants"],
        recipients: &[],
        retention: Retention {
            policy: Some(RetentionPolicy::EventData),
            described: "36 months after the end of the event",
            expiry: Expiry::Delete,
        },
        rows: "t.person_id = ANY($1)",
        not_exported: &[],
        erasure: Erasure::Delete,
    },
    Table {
        name: "orders",
        owner: "shop",
        purpose: "sell packages and options, and prove the contract",
        legal_basis: LegalBasis::Contract,
        data: &[
            "buyer's name, email, company, address and VAT number",
            "products ordered",
            "amounts",
            "payment state",
        ],
        subjects: &["participants", "their companies"],
        recipients: &["the card payment provider (amount and order reference only)"],
        retention: Retention {
            policy: Some(RetentionPolicy::ContractualProof),
            described: "5 years after the order",
            expiry: Expiry::Delete,
        },
        rows: "t.person_id = ANY($1)",
        not_exported: &["request_digest", "idempotency_key"],
        erasure: Erasure::Hold {
            reason: "proof of the contract (Code civil art. 2224, 5 years): the order's lines, \
                     amounts and payments stay under a pseudonymous person id; the buyer's name \
                     and address are cleared (the invoices keep what the law requires)",
            clear: &[
                ("buyer", "jsonb_build_object('erased', true)"),
                ("erased_at", "coalesce(t.erased_at, now())"),
            ],
        },
    },
    Table {
        name: "invoices",
        owner: "shop",
        purpose: "issue invoices and credit notes and keep them as the law requires",
        legal_basis: LegalBasis::LegalObligation,
        data: &["buyer's name, address and VAT number", "products, amounts and VAT"],
        subjects: &["participants", "their companies"],
        recipients: &["the organizer's accountants and the tax administration"],
        retention: Retention {
            policy: Some(RetentionPolicy::Accounting),
            described: "10 years after issue",
            expiry: Expiry::PurgeInvoices,
        },
        rows: "t.person_id = ANY($1)",
        not_exported: &["pdf", "xml"],
        erasure: Erasure::Hold {
            reason: "accounting obligation (Code de commerce art. L123-22, 10 years): invoices \
                     and credit notes are kept as issued and never changed",
            clear: &[],
        },
    },
    // --- accounts (rdv-app auth) ---
    Table {
        name: "user_accounts",
        owner: "auth",
        purpose: "let participants and organizers log in",
        legal_basis: LegalBasis::Contract,
        data: &["email address", "password digest", "last login"],
        subjects: &["participants", "organizer staff"],
        recipients: &[],
        retention: Retention {
            policy: None,
            described: "until the account has been inactive for the configured period \
                        (12 months by default): warned, then closed and erased",
            expiry: Expiry::WithParent,
        },
        rows: OWN_ACCOUNTS,
        not_exported: &["password_hash"],
        erasure: Erasure::Anonymise(&[
            ("email", "'erased-account-' || t.id || '@erased.invalid'"),
            ("password_hash", "'!'"),
            ("disabled_at", "coalesce(t.disabled_at, now())"),
            ("last_login_at", "NULL"),
        ]),
    },
    Table {
        name: "memberships",
        owner: "auth",
        purpose: "tie a login account to the person it speaks for",
        legal_basis: LegalBasis::Contract,
        data: &["account and person ids", "role"],
        subjects: &["participants"],
        recipients: &[],
        retention: Retention {
            policy: None,
            described: "as long as the person",
            expiry: Expiry::WithParent,
        },
        rows: "t.person_id = ANY($1)",
        not_exported: &[],
        // Sessions and refresh tokens go with it (ON DELETE CASCADE): the person is logged out.
        erasure: Erasure::Delete,
    },
    // --- persons (rdv-app persons), last: every entry above finds rows through it ---
    Table {
        name: "persons",
        owner: "persons",
        purpose: "identify and contact participants and prospects of the organization's events",
        legal_basis: LegalBasis::Contract,
        data: &[
            "civility",
            "name",
            "email address",
            "phone numbers",
            "company",
            "job title",
            "postal address",
            "country",
            "language",
            "opt-outs",
        ],
        subjects: &["participants", "prospects"],
        recipients: &[
            "other participants of the event (name, company, job title)",
            "the platform's SMTP relay and SMS gateway",
        ],
        retention: Retention {
            policy: Some(RetentionPolicy::EventData),
            described: "36 months after the end of the person's last event; prospects: the \
                        configured delay without an answer",
            expiry: Expiry::ErasePerson,
        },
        rows: "t.id = ANY($1)",
        not_exported: &[],
        erasure: Erasure::Anonymise(&[
            ("civility", "NULL"),
            ("first_name", "''"),
            ("last_name", "''"),
            ("email", "'erased-' || t.id || '@erased.invalid'"),
            ("mobile_phone", "NULL"),
            ("landline_phone", "NULL"),
            ("company", "NULL"),
            ("job_title", "NULL"),
            ("address_line1", "NULL"),
            ("address_line2", "NULL"),
            ("postal_code", "NULL"),
            ("city", "NULL"),
        ]),
    },
];

fn assignments(cols: &[(&str, &str)]) -> String {
    cols.iter()
        .map(|(c, e)| format!("{c} = {e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Table {
    /// The person's rows as JSON objects (one text column `row`), without the columns the
    /// archive leaves out. `$1`: the person.
    pub fn export_sql(&self) -> String {
        let drop = if self.not_exported.is_empty() {
            String::new()
        } else {
            format!(" - '{{{}}}'::text[]", self.not_exported.join(","))
        };
        format!(
            "SELECT (to_jsonb(t){drop})::text AS row FROM {} t WHERE ({}) ORDER BY 1",
            self.name, self.rows
        )
    }

    /// How many rows the person has here (one BIGINT column `n`). `$1`: the person.
    pub fn count_sql(&self) -> String {
        format!(
            "SELECT count(*) AS n FROM {} t WHERE ({})",
            self.name, self.rows
        )
    }

    /// The statement that erases the person's rows, `None` for a hold that clears nothing.
    /// `$1`: the person.
    pub fn erase_sql(&self) -> Option<String> {
        match self.erasure {
            Erasure::Delete => Some(format!("DELETE FROM {} t WHERE ({})", self.name, self.rows)),
            Erasure::Anonymise(cols) => Some(format!(
                "UPDATE {} t SET {}, erased_at = coalesce(t.erased_at, now()) WHERE ({})",
                self.name,
                assignments(cols),
                self.rows
            )),
            Erasure::Hold { clear: [], .. } => None,
            Erasure::Hold { clear, .. } => Some(format!(
                "UPDATE {} t SET {} WHERE ({})",
                self.name,
                assignments(clear),
                self.rows
            )),
        }
    }

    /// What the sweep runs on expired rows, one batch at a time (`$1`: the cutoff, `$2`: the
    /// batch size), returning how many it handled; or with `dry_run`, how many it would
    /// handle (one BIGINT column `n`). `None` when the sweep leaves the table alone or runs
    /// something else (persons are erased whole; the audit log goes through its function).
    /// Rows under restriction stay: the person asked for them to be kept.
    pub fn expiry_sql(&self, dry_run: bool) -> Option<String> {
        let expired = format!(
            "SELECT t.id FROM {} t WHERE t.retention_until < $1 AND t.restricted_at IS NULL",
            self.name
        );
        let (action, extra) = match (self.retention.expiry, self.erasure) {
            (Expiry::Delete, _) => ("delete", ""),
            (Expiry::Anonymise, Erasure::Anonymise(_)) => ("anonymise", " AND t.erased_at IS NULL"),
            _ => return None,
        };
        if dry_run {
            return Some(format!("SELECT count(*) AS n FROM ({expired}{extra}) e"));
        }
        let batch = format!("{expired}{extra} ORDER BY t.id LIMIT $2");
        Some(match (action, self.erasure) {
            ("anonymise", Erasure::Anonymise(cols)) => format!(
                "WITH done AS (UPDATE {name} t SET {set}, erased_at = now() \
                 WHERE t.id IN ({batch}) RETURNING 1) SELECT count(*) AS n FROM done",
                name = self.name,
                set = assignments(cols),
            ),
            _ => format!(
                "WITH done AS (DELETE FROM {name} t WHERE t.id IN ({batch}) RETURNING 1) \
                 SELECT count(*) AS n FROM done",
                name = self.name,
            ),
        })
    }
}

/// Personal data kept outside the tables, and how each store is covered.
pub const OTHER_STORES: &[(&str, &str)] = &[
    (
        "search index",
        "derived from persons and registrations on every node; an erased or restricted person's \
         documents are deleted and the segments holding them rewritten, so they leave the disk",
    ),
    (
        "search_outbox",
        "registration ids only; pruned once every node has applied them",
    ),
    (
        "application logs",
        "persons are named by id only, never by name, email or number",
    ),
    (
        "login_failures, login_throttle",
        "digests of an email or client address, for throttling; kept a day",
    ),
];

/// The entry of table `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    REGISTRY.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_table_is_registered_once_and_persons_come_last() {
        let mut names: Vec<_> = REGISTRY.iter().map(|t| t.name).collect();
        assert_eq!(names.last(), Some(&"persons"));
        // Accounts are found through memberships, so they are handled before those go.
        let pos = |n: &str| names.iter().position(|t| *t == n);
        assert!(pos("user_accounts") < pos("memberships"));
        assert!(pos("outbox_messages") < pos("memberships"));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len());
    }

    #[test]
    fn every_entry_says_why_it_is_kept_and_selects_by_person() {
        for t in REGISTRY {
            assert!(t.rows.contains("$1"), "{} selects no person", t.name);
            assert!(!t.purpose.is_empty() && !t.retention.described.is_empty());
            if let Erasure::Hold { reason, .. } = t.erasure {
                assert!(reason.len() > 20, "{}: a hold must say why", t.name);
            }
            if let Erasure::Anonymise(cols) = t.erasure {
                assert!(!cols.is_empty(), "{} anonymises nothing", t.name);
            }
        }
    }
}
