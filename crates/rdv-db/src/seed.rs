//! The demo organization and event that `make run` shows: two days of 20-minute slots,
//! tables, and a few hundred buyers and suppliers with companies, offers and needs.
//! Deterministic and idempotent: a second run finds everything in place and changes nothing.

use crate::models::*;
use crate::queries::{accounts, events, organizations, persons};
use crate::schema::registrations;
use crate::{Conn, DbResult};
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use diesel::prelude::*;
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rdv_domain::{
    DataSource, DayPlan, EventStatus, LegalBasis, ParticipantType, RegistrationStatus,
    RetentionPolicy, Role, TimeRange,
};

pub const DEMO_ORG_SLUG: &str = "demo";
pub const DEMO_EVENT_SLUG: &str = "rdv-industrie-2027";
pub const BUYERS: usize = 150;
pub const SUPPLIERS: usize = 150;
pub const TABLES: i32 = 60;

#[derive(Debug, Clone, serde::Serialize)]
pub struct SeedSummary {
    pub organization_id: i64,
    pub event_id: i64,
    pub persons_created: usize,
    pub registrations_created: usize,
    pub slots: usize,
    pub meeting_requests_created: usize,
}

struct Sector {
    path: &'static str,
    offers: &'static [&'static str],
    needs: &'static [&'static str],
    words: &'static [&'static str],
}

const SECTORS: &[Sector] = &[
    Sector {
        path: "industry/machining",
        offers: &[
            "usinage de précision 5 axes",
            "CNC machining of aluminium and titanium parts",
            "tournage et fraisage de petites séries",
            "rectification et traitement de surface",
        ],
        needs: &[
            "sous-traitant en usinage de pièces complexes",
            "precision machining partner for prototypes",
            "fournisseur de pièces mécaniques certifié EN 9100",
        ],
        words: &["Usinage", "Mécanique", "Precision", "Tech"],
    },
    Sector {
        path: "industry/plastics",
        offers: &[
            "injection plastique et moules",
            "thermoforming of technical parts",
            "impression 3D de pièces fonctionnelles",
        ],
        needs: &[
            "fournisseur d'emballages recyclables",
            "plastic injection moulding supplier",
            "prototypage rapide en impression 3D",
        ],
        words: &["Plasturgie", "Polymers", "Moulage", "Forma"],
    },
    Sector {
        path: "aerospace/composites",
        offers: &[
            "pièces composites carbone pour l'aéronautique",
            "composite repair and non-destructive testing",
            "drapage et cuisson autoclave",
        ],
        needs: &[
            "matériaux composites qualifiés aéronautique",
            "NDT inspection services",
            "partenaire pour structures légères",
        ],
        words: &["Aéro", "Composites", "Aero", "Structures"],
    },
    Sector {
        path: "energy/solar",
        offers: &[
            "installation de centrales photovoltaïques",
            "solar panel maintenance and monitoring",
            "stockage d'énergie par batteries",
        ],
        needs: &[
            "fournisseur de panneaux solaires",
            "energy efficiency audit for factories",
            "solutions de stockage d'énergie",
        ],
        words: &["Solaire", "Energy", "Watt", "Helios"],
    },
    Sector {
        path: "digital/software",
        offers: &[
            "développement de logiciels métier",
            "ERP integration and custom software",
            "applications mobiles pour l'industrie",
        ],
        needs: &[
            "logiciel de gestion de production (MES)",
            "software partner for digital transformation",
            "intégrateur ERP pour PME",
        ],
        words: &["Logiciel", "Soft", "Data", "Numérique"],
    },
    Sector {
        path: "digital/cybersecurity",
        offers: &[
            "audit de cybersécurité et tests d'intrusion",
            "managed security operations centre",
            "formation à la sécurité informatique",
        ],
        needs: &[
            "protection des systèmes industriels",
            "penetration testing of our network",
            "conformité RGPD et sécurité",
        ],
        words: &["Cyber", "Secure", "Bastion", "Vigie"],
    },
    Sector {
        path: "agrifood/dairy",
        offers: &[
            "fromages AOP et produits laitiers",
            "organic dairy ingredients",
            "lignes de conditionnement alimentaire",
        ],
        needs: &[
            "emballages alimentaires compostables",
            "cold chain logistics partner",
            "ingrédients laitiers biologiques",
        ],
        words: &["Laiterie", "Fromagerie", "Dairy", "Terroir"],
    },
    Sector {
        path: "health/medical-devices",
        offers: &[
            "dispositifs médicaux stériles",
            "medical device contract manufacturing",
            "salle blanche ISO 7 pour assemblage",
        ],
        needs: &[
            "sous-traitance en salle blanche",
            "regulatory support for CE marking",
            "fournisseur de composants médicaux",
        ],
        words: &["Médical", "Santé", "Care", "Bio"],
    },
    Sector {
        path: "transport/logistics",
        offers: &[
            "transport routier frigorifique",
            "warehouse management and fulfilment",
            "logistique internationale et douane",
        ],
        needs: &[
            "solution de suivi de flotte",
            "freight forwarding to Asia",
            "entrepôt logistique en région",
        ],
        words: &["Logistique", "Transports", "Freight", "Fret"],
    },
    Sector {
        path: "construction/wood",
        offers: &[
            "charpente et ossature bois",
            "cross-laminated timber panels",
            "menuiserie sur mesure",
        ],
        needs: &[
            "fournisseur de bois certifié PEFC",
            "timber frame construction partner",
            "isolation biosourcée",
        ],
        words: &["Bois", "Timber", "Charpente", "Habitat"],
    },
];

const FIRST_NAMES: &[&str] = &[
    "Camille",
    "Julien",
    "Sophie",
    "Thomas",
    "Léa",
    "Nicolas",
    "Chloé",
    "Antoine",
    "Manon",
    "Hugo",
    "Émilie",
    "Lucas",
    "Sarah",
    "Mathieu",
    "Claire",
    "Pierre",
    "Inès",
    "Olivier",
    "Anna",
    "David",
    "Laura",
    "James",
    "Emma",
    "Oliver",
    "Charlotte",
    "Marco",
    "Elena",
    "Jan",
    "Sofia",
    "Pablo",
];
const LAST_NAMES: &[&str] = &[
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèbvre",
    "Michel",
    "Garcia",
    "Roux",
    "Fontaine",
    "Chevalier",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Rossi",
    "Müller",
    "Schmidt",
    "Fernández",
    "Janssens",
    "Peeters",
    "Girard",
    "Bonnet",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("FR", "Lyon", "69002"),
    ("FR", "Toulouse", "31000"),
    ("FR", "Nantes", "44000"),
    ("FR", "Grenoble", "38000"),
    ("FR", "Bordeaux", "33000"),
    ("FR", "Lille", "59000"),
    ("FR", "Paris", "75011"),
    ("BE", "Liège", "4000"),
    ("DE", "Stuttgart", "70173"),
    ("ES", "Barcelona", "08001"),
    ("IT", "Torino", "10121"),
    ("CH", "Genève", "1201"),
    ("GB", "Birmingham", "B1 1AA"),
    ("CA", "Montréal", "H2X 1Y4"),
];
const SUFFIXES: &[&str] = &[
    "SAS",
    "SARL",
    "Industries",
    "Group",
    "& Fils",
    "Solutions",
    "GmbH",
    "SA",
    "Ltd",
];
const BUYER_TITLES: &[&str] = &[
    "Responsable achats",
    "Purchasing manager",
    "Directeur technique",
    "Head of procurement",
    "Acheteuse industrielle",
];
const SUPPLIER_TITLES: &[&str] = &[
    "Directeur commercial",
    "Sales manager",
    "Gérante",
    "Business developer",
    "Chargé d'affaires",
];

/// Seeds the demo; `password_hash` is the argon2id hash of the demo password.
pub fn seed_demo(conn: &mut Conn, password_hash: &str) -> DbResult<SeedSummary> {
    conn.transaction(|conn| seed_in_transaction(conn, password_hash))
}

fn seed_in_transaction(conn: &mut Conn, password_hash: &str) -> DbResult<SeedSummary> {
    let org = match organizations::find_by_slug(conn, DEMO_ORG_SLUG)? {
        Some(org) => org,
        None => organizations::create(conn, DEMO_ORG_SLUG, "Demo Events")?,
    };
    let first_day = NaiveDate::from_ymd_opt(2027, 3, 16).unwrap_or_default();
    let last_day = first_day.succ_opt().unwrap_or(first_day);
    let event = match events::find_by_slug(conn, org.id, DEMO_EVENT_SLUG)? {
        Some(e) => e,
        None => events::create(
            conn,
            &NewEvent {
                organization_id: org.id,
                slug: DEMO_EVENT_SLUG.into(),
                name: "Rendez-vous Industrie & Innovation 2027".into(),
                time_zone: "Europe/Paris".into(),
                venue: Some("Eurexpo Lyon, Hall 5".into()),
                starts_on: first_day,
                ends_on: last_day,
                status: EventStatus::Open,
            },
        )?,
    };
    let time = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
    let existing_days: Vec<NaiveDate> = events::days(conn, event.id)?
        .iter()
        .map(|d| d.day)
        .collect();
    for day in [first_day, last_day] {
        if existing_days.contains(&day) {
            continue;
        }
        let plan = DayPlan {
            hours: TimeRange::new(time(9, 0), time(18, 0))
                .map_err(|e| crate::DbError::Rejected(e.to_string()))?,
            slot_minutes: 20,
            breaks: vec![TimeRange::new(time(12, 30), time(14, 0))
                .map_err(|e| crate::DbError::Rejected(e.to_string()))?],
        };
        events::add_day(conn, &event, day, &plan)?;
    }
    events::set_table_count(conn, event.id, TABLES)?;

    let event_end = Utc.from_utc_datetime(&last_day.and_time(time(23, 59)));
    let retention = RetentionPolicy::EventData.deadline(event_end);
    let mut rng = ChaCha8Rng::seed_from_u64(2027);
    let mut persons_created = 0;
    let mut registrations_created = 0;
    let mut buyer1 = None;
    for (kind, count) in [("buyer", BUYERS), ("supplier", SUPPLIERS)] {
        for n in 1..=count {
            let sector = &SECTORS[rng.gen_range(0..SECTORS.len())];
            let second = &SECTORS[rng.gen_range(0..SECTORS.len())];
            let first_name = *FIRST_NAMES.choose(&mut rng).unwrap_or(&"Alex");
            let last_name = *LAST_NAMES.choose(&mut rng).unwrap_or(&"Durand");
            let (country, city, postal) = *CITIES.choose(&mut rng).unwrap_or(&CITIES[0]);
            let word = sector.words.choose(&mut rng).unwrap_or(&"Tech");
            let founder = LAST_NAMES.choose(&mut rng).unwrap_or(&"Durand");
            let suffix = SUFFIXES.choose(&mut rng).unwrap_or(&"SAS");
            let company = format!("{word} {founder} {suffix}");
            let email = format!("{kind}{n}@demo.example");
            let lang =
                if country == "FR" || country == "BE" || country == "CH" || city == "Montréal" {
                    "fr"
                } else {
                    "en"
                };
            let title = if kind == "buyer" {
                BUYER_TITLES
            } else {
                SUPPLIER_TITLES
            }
            .choose(&mut rng)
            .unwrap_or(&"Manager");
            let mobile = format!("+336{:08}", rng.gen_range(0..100_000_000u32));
            let pick = |rng: &mut ChaCha8Rng, list: &[&str]| {
                list.choose(rng).copied().unwrap_or_default().to_owned()
            };
            let offers = format!(
                "{}; {}",
                pick(&mut rng, sector.offers),
                pick(&mut rng, second.offers)
            );
            let needs = format!(
                "{}; {}",
                pick(&mut rng, sector.needs),
                pick(&mut rng, second.needs)
            );
            let description = if lang == "fr" {
                format!("{company} est une entreprise de {} salariés basée à {city}, spécialisée en {}.", rng.gen_range(5..500), pick(&mut rng, sector.offers))
            } else {
                format!(
                    "{company} is a {}-employee company based in {city}, focused on {}.",
                    rng.gen_range(5..500),
                    pick(&mut rng, sector.offers)
                )
            };
            let mut sectors = vec![sector.path.to_owned()];
            if second.path != sector.path {
                sectors.push(second.path.to_owned());
            }
            let person = match persons::find_by_email(conn, org.id, &email)? {
                Some(p) => p,
                None => {
                    persons_created += 1;
                    persons::create(
                        conn,
                        &NewPerson {
                            organization_id: org.id,
                            civility: None,
                            first_name: first_name.into(),
                            last_name: last_name.into(),
                            email: email.clone(),
                            mobile_phone: Some(mobile),
                            landline_phone: None,
                            company: Some(company.clone()),
                            job_title: Some((*title).into()),
                            address_line1: Some(format!(
                                "{} rue de l'Industrie",
                                rng.gen_range(1..120)
                            )),
                            address_line2: None,
                            postal_code: Some(postal.into()),
                            city: Some(city.into()),
                            country: Some(country.into()),
                            preferred_language: lang.into(),
                            legal_basis: LegalBasis::Contract,
                            retention_until: retention,
                            source: DataSource::Registration,
                        },
                    )?
                }
            };
            if kind == "buyer" && n == 1 {
                buyer1 = Some(person.id);
            }
            let inserted = diesel::insert_into(registrations::table)
                .values(&NewRegistration {
                    organization_id: org.id,
                    event_id: event.id,
                    person_id: person.id,
                    participant_type: if kind == "buyer" {
                        ParticipantType::Buyer
                    } else {
                        ParticipantType::Supplier
                    },
                    // A few registrations await validation, as on a real event.
                    status: if n % 25 == 0 {
                        RegistrationStatus::Pending
                    } else {
                        RegistrationStatus::Validated
                    },
                    company_description: Some(description),
                    offers: (kind == "supplier").then_some(offers),
                    needs: Some(needs),
                    sectors,
                    languages: if lang == "fr" {
                        vec!["fr".into(), "en".into()]
                    } else {
                        vec!["en".into()]
                    },
                    profile_visible: true,
                    meeting_quota: Some(if kind == "buyer" { 12 } else { 16 }),
                    stand: None,
                    legal_basis: LegalBasis::Contract,
                    retention_until: retention,
                    source: DataSource::Registration,
                })
                .on_conflict((registrations::event_id, registrations::person_id))
                .do_nothing()
                .execute(conn)?;
            registrations_created += inserted;
        }
    }

    let account_retention = RetentionPolicy::EventData.deadline(Utc::now());
    let root = accounts::ensure_account(
        conn,
        "root@demo.example",
        password_hash,
        account_retention,
        "system",
    )?;
    accounts::ensure_membership(conn, root.id, None, Role::PlatformAdmin, None)?;
    let admin = accounts::ensure_account(
        conn,
        "admin@demo.example",
        password_hash,
        account_retention,
        "system",
    )?;
    accounts::ensure_membership(conn, admin.id, Some(org.id), Role::OrgAdmin, None)?;
    if let Some(person) = buyer1 {
        let buyer = accounts::ensure_account(
            conn,
            "buyer1@demo.example",
            password_hash,
            account_retention,
            "registration",
        )?;
        accounts::ensure_membership(
            conn,
            buyer.id,
            Some(org.id),
            Role::Participant,
            Some(person),
        )?;
    }
    let meeting_requests_created = seed_requests(conn, org.id, event.id, retention)?;
    seed_shop(conn, org.id, event.id, last_day)?;
    Ok(SeedSummary {
        organization_id: org.id.0,
        event_id: event.id.0,
        persons_created,
        registrations_created,
        slots: events::slots(conn, event.id)?.len(),
        meeting_requests_created,
    })
}

/// The demo's meeting rules (buyers meet suppliers, recipients accept, 12 meetings a buyer and
/// 16 a supplier) and its requests, once: each validated buyer asked 8 suppliers and each
/// supplier 2 buyers; about 7 in 10 are accepted, 2 pending and 1 declined.
fn seed_requests(
    conn: &mut Conn,
    org: rdv_domain::OrganizationId,
    event: rdv_domain::EventId,
    retention: chrono::DateTime<Utc>,
) -> DbResult<usize> {
    use crate::schema::{meeting_request_history, meeting_requests, meeting_settings};
    use rdv_domain::{Acceptance, Priority, RequestStatus};
    diesel::insert_into(meeting_settings::table)
        .values(&MeetingSettings {
            event_id: event,
            organization_id: org,
            allowed_pairs: vec!["buyer:supplier".into()],
            acceptance: Acceptance::Mutual,
            requests_open_at: None,
            requests_close_at: None,
            max_requests_per_participant: 30,
            default_quotas: serde_json::json!({"buyer": 12, "supplier": 16}),
        })
        .on_conflict_do_nothing()
        .execute(conn)?;
    let existing: i64 = meeting_requests::table
        .filter(meeting_requests::event_id.eq(event))
        .count()
        .get_result(conn)?;
    if existing > 0 {
        return Ok(0);
    }
    let of_type =
        |conn: &mut Conn, t: ParticipantType| -> DbResult<Vec<rdv_domain::RegistrationId>> {
            Ok(registrations::table
                .filter(registrations::event_id.eq(event))
                .filter(registrations::participant_type.eq(t))
                .filter(registrations::status.eq(RegistrationStatus::Validated))
                .order(registrations::id)
                .select(registrations::id)
                .load(conn)?)
        };
    let buyers = of_type(conn, ParticipantType::Buyer)?;
    let suppliers = of_type(conn, ParticipantType::Supplier)?;
    let mut rng = ChaCha8Rng::seed_from_u64(2028);
    let mut pairs = std::collections::HashSet::new();
    let mut rows = Vec::new();
    let mut ask = |rng: &mut ChaCha8Rng,
                   from: rdv_domain::RegistrationId,
                   pool: &[rdv_domain::RegistrationId],
                   n: usize| {
        for to in pool.choose_multiple(rng, n) {
            let key = if from < *to { (from, *to) } else { (*to, from) };
            if !pairs.insert(key) {
                continue;
            }
            let status = match rng.gen_range(0..10) {
                0..=6 => RequestStatus::Accepted,
                7..=8 => RequestStatus::Pending,
                _ => RequestStatus::Declined,
            };
            let priority = match rng.gen_range(0..10) {
                0..=1 => Priority::Must,
                2..=6 => Priority::Should,
                _ => Priority::Could,
            };
            rows.push(NewMeetingRequest {
                organization_id: org,
                event_id: event,
                requester_id: from,
                recipient_id: *to,
                message: None,
                priority,
                status,
                created_by: None,
                legal_basis: LegalBasis::Contract,
                retention_until: retention,
                source: DataSource::Registration,
            });
        }
    };
    for b in &buyers {
        ask(&mut rng, *b, &suppliers, 8);
    }
    for s in &suppliers {
        ask(&mut rng, *s, &buyers, 2);
    }
    let mut created = 0;
    for chunk in rows.chunks(2000) {
        let inserted: Vec<(rdv_domain::MeetingRequestId, RequestStatus)> =
            diesel::insert_into(meeting_requests::table)
                .values(chunk)
                .returning((meeting_requests::id, meeting_requests::status))
                .get_results(conn)?;
        created += inserted.len();
        let history: Vec<_> = inserted
            .iter()
            .map(|(id, status)| {
                (
                    meeting_request_history::request_id.eq(*id),
                    meeting_request_history::to_status.eq(*status),
                )
            })
            .collect();
        diesel::insert_into(meeting_request_history::table)
            .values(&history)
            .execute(conn)?;
    }
    Ok(created)
}

/// A demo product: code, kind, participant type, name, VAT (bp), capacity, meeting quota,
/// most per order, early-bird and standard prices.
type DemoProduct<'a> = (
    &'a str,
    rdv_domain::ProductKind,
    Option<ParticipantType>,
    &'a str,
    i32,
    Option<i32>,
    Option<i32>,
    i32,
    i64,
    i64,
);

/// The demo's shop, once: the organizer's billing details, a registration form for suppliers
/// and one for buyers, the packages (suppliers' limited to 60) and options, early-bird then
/// standard prices, and a voucher.
fn seed_shop(
    conn: &mut Conn,
    org: rdv_domain::OrganizationId,
    event: rdv_domain::EventId,
    last_day: NaiveDate,
) -> DbResult<()> {
    use crate::models::{
        NewProduct, NewProductPrice, NewRegistrationForm, NewVoucher, SellerChange,
    };
    use crate::queries::shop;
    use rdv_domain::ProductKind;
    if shop::seller(conn, org)?.legal_name.is_none() {
        shop::update_seller(
            conn,
            org,
            &SellerChange {
                legal_name: Some("Demo Events SAS".into()),
                address_line1: Some("12 rue de la République".into()),
                address_line2: None,
                postal_code: Some("69002".into()),
                city: Some("Lyon".into()),
                country: Some("FR".into()),
                siren: Some("303265045".into()),
                siret: Some("30326504500011".into()),
                vat_number: Some("FR40303265045".into()),
                legal_mentions: Some("SAS au capital de 10 000 € - RCS Lyon 303 265 045".into()),
                payment_days: 30,
                late_penalty: "trois fois le taux d'intérêt légal".into(),
            },
        )?;
    }
    let standard = |key: &str, fr: &str, en: &str, required: bool| {
        serde_json::json!({"key": key, "kind": {"type": "standard", "field": key},
            "label_fr": fr, "label_en": en, "required": required})
    };
    let consents = [
        serde_json::json!({"key": "terms", "kind": {"type": "consent", "purpose": "terms_of_sale",
            "text_fr": "J'accepte les conditions générales de vente de l'événement.",
            "text_en": "I accept the event's terms of sale.", "version": "2027-1"},
            "label_fr": "Conditions générales de vente", "label_en": "Terms of sale", "required": true}),
        serde_json::json!({"key": "newsletter", "kind": {"type": "consent", "purpose": "marketing_email",
            "text_fr": "J'accepte de recevoir par email les actualités de l'organisateur.",
            "text_en": "I agree to receive the organizer's news by email.", "version": "2027-1"},
            "label_fr": "Actualités de l'organisateur", "label_en": "Organizer's news", "required": false}),
    ];
    let supplier = serde_json::json!({"fields": [
        standard("first_name", "Prénom", "First name", true),
        standard("last_name", "Nom", "Last name", true),
        standard("email", "E-mail", "Email", true),
        standard("company", "Société", "Company", true),
        standard("mobile_phone", "Mobile", "Mobile phone", false),
        standard("address_line1", "Adresse", "Address", false),
        standard("postal_code", "Code postal", "Postal code", false),
        standard("city", "Ville", "City", false),
        standard("country", "Pays", "Country", false),
        standard("offers", "Ce que vous proposez", "What you offer", true),
        {"key": "stand_size", "kind": {"type": "single_choice", "options": [
            {"value": "table", "label_fr": "Table de rendez-vous", "label_en": "Meeting table"},
            {"value": "stand", "label_fr": "Stand de 9 m²", "label_en": "9 m² stand"}]},
         "label_fr": "Emplacement", "label_en": "Space", "required": true},
        {"key": "stand_wishes", "kind": {"type": "long_text", "max_length": 1000},
         "label_fr": "Vos souhaits pour le stand", "label_en": "Your wishes for the stand",
         "required": false, "condition": {"field": "stand_size", "equals": "stand"}},
        {"key": "employees", "kind": {"type": "number", "min": 1, "max": 1000000, "integer": true},
         "label_fr": "Effectif", "label_en": "Employees", "required": false},
        consents[0].clone(),
        consents[1].clone(),
    ]});
    let buyer = serde_json::json!({"fields": [
        standard("first_name", "Prénom", "First name", true),
        standard("last_name", "Nom", "Last name", true),
        standard("email", "E-mail", "Email", true),
        standard("company", "Société", "Company", true),
        standard("needs", "Ce que vous cherchez", "What you are looking for", true),
        {"key": "budget", "kind": {"type": "single_choice", "options": [
            {"value": "small", "label_fr": "Moins de 50 k€", "label_en": "Under 50 k€"},
            {"value": "large", "label_fr": "50 k€ et plus", "label_en": "50 k€ and more"}]},
         "label_fr": "Budget annuel d'achats", "label_en": "Yearly purchasing budget", "required": false},
        consents[0].clone(),
        consents[1].clone(),
    ]});
    for (ptype, def) in [
        (ParticipantType::Supplier, supplier),
        (ParticipantType::Buyer, buyer),
    ] {
        if shop::latest_form(conn, event, ptype).is_err() {
            shop::insert_form(
                conn,
                &NewRegistrationForm {
                    organization_id: org,
                    event_id: event,
                    participant_type: ptype,
                    version: 1,
                    definition: def,
                    created_by: None,
                },
            )?;
        }
    }
    for (purpose, fr, en) in [
        (
            "terms_of_sale",
            "J'accepte les conditions générales de vente de l'événement.",
            "I accept the event's terms of sale.",
        ),
        (
            "marketing_email",
            "J'accepte de recevoir par email les actualités de l'organisateur.",
            "I agree to receive the organizer's news by email.",
        ),
    ] {
        shop::record_consent_text(
            conn,
            &crate::models::ConsentText {
                id: 0,
                organization_id: org,
                purpose: purpose.into(),
                version: "2027-1".into(),
                text_fr: fr.into(),
                text_en: en.into(),
            },
        )?;
    }
    if !shop::products_of_event(conn, event)?.is_empty() {
        return Ok(());
    }
    let at = |y, m, d| {
        Utc.from_utc_datetime(
            &NaiveDate::from_ymd_opt(y, m, d)
                .unwrap_or_default()
                .and_time(NaiveTime::MIN),
        )
    };
    let early_end = at(2027, 2, 1);
    let sales_end = Utc.from_utc_datetime(
        &last_day.and_time(NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default()),
    );
    // code, kind, participant type, name, VAT (bp), capacity, quota, max per order,
    // early-bird and standard prices.
    let products: [DemoProduct; 4] = [
        (
            "supplier-pack",
            ProductKind::Package,
            Some(ParticipantType::Supplier),
            "Pack fournisseur : table de rendez-vous et 16 rendez-vous",
            2000,
            Some(60),
            Some(16),
            1,
            120_000,
            150_000,
        ),
        (
            "buyer-pack",
            ProductKind::Package,
            Some(ParticipantType::Buyer),
            "Pack acheteur : 12 rendez-vous",
            2000,
            None,
            Some(12),
            1,
            19_000,
            25_000,
        ),
        (
            "extra-meetings",
            ProductKind::Option,
            None,
            "4 rendez-vous supplémentaires",
            2000,
            None,
            Some(4),
            3,
            20_000,
            20_000,
        ),
        (
            "lunch",
            ProductKind::Option,
            None,
            "Déjeuner des deux jours",
            1000,
            Some(200),
            None,
            5,
            5_100,
            5_100,
        ),
    ];
    let mut supplier_pack = None;
    for (code, kind, ptype, name, vat, capacity, quota, max, early, normal) in products {
        let p = shop::insert_product(
            conn,
            &NewProduct {
                organization_id: org,
                event_id: event,
                kind,
                participant_type: ptype,
                code: code.into(),
                name: name.into(),
                description: None,
                vat_rate_bp: vat,
                vat_exemption: None,
                capacity,
                meeting_quota: quota,
                max_per_order: max,
                active: true,
            },
        )?;
        if code == "supplier-pack" {
            supplier_pack = Some(p.id);
        }
        let mut windows = vec![("Standard", normal, early_end, sales_end)];
        if early != normal {
            windows.insert(0, ("Early bird", early, at(2026, 6, 1), early_end));
        } else {
            windows[0].2 = at(2026, 6, 1);
        }
        for (label, price, from, to) in windows {
            shop::insert_price(
                conn,
                &NewProductPrice {
                    product_id: p.id,
                    label: label.into(),
                    price_cents: price,
                    starts_at: from,
                    ends_at: to,
                },
            )?;
        }
    }
    shop::insert_voucher(
        conn,
        &NewVoucher {
            organization_id: org,
            event_id: event,
            code: "PARTNER10".into(),
            percent_bp: Some(1000),
            amount_cents: None,
            product_id: supplier_pack,
            max_uses: Some(20),
            valid_until: Some(sales_end),
        },
    )?;
    Ok(())
}
