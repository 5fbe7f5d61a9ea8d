//! Header recognition: which import field each column of a file fills, from the headers
//! organizers actually write, in French and English.

/// What is being imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Persons,
    Prospects,
    MeetingRequests,
    Tables,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Persons,
        Kind::Prospects,
        Kind::MeetingRequests,
        Kind::Tables,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Persons => "persons",
            Kind::Prospects => "prospects",
            Kind::MeetingRequests => "meeting_requests",
            Kind::Tables => "tables",
        }
    }

    /// The inverse of [`Kind::as_str`].
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The fields an import of this kind fills, in the order a template lists them.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Kind::Persons => PERSON_FIELDS,
            Kind::Prospects => PROSPECT_FIELDS,
            Kind::MeetingRequests => MEETING_REQUEST_FIELDS,
            Kind::Tables => TABLE_FIELDS,
        }
    }
}

/// A field an import fills, with the headers that name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub required: bool,
    /// Headers that name the field, as people write them; the field's own name is recognised
    /// too. Compared after [`normalise_header`].
    pub aliases: &'static [&'static str],
}

const fn field(name: &'static str, aliases: &'static [&'static str]) -> Field {
    Field {
        name,
        required: false,
        aliases,
    }
}

const fn required(name: &'static str, aliases: &'static [&'static str]) -> Field {
    Field {
        name,
        required: true,
        aliases,
    }
}

const CIVILITY: Field = field(
    "civility",
    &[
        "Civilité",
        "Title",
        "Salutation",
        "M/Mme",
        "Genre",
        "Gender",
    ],
);
const FIRST_NAME: Field = required(
    "first_name",
    &[
        "Prénom",
        "First name",
        "Firstname",
        "Given name",
        "Forename",
    ],
);
const LAST_NAME: Field = required(
    "last_name",
    &[
        "Nom",
        "Nom de famille",
        "Last name",
        "Lastname",
        "Surname",
        "Family name",
        "Name",
    ],
);
const EMAIL: Field = required(
    "email",
    &[
        "E-mail",
        "Email",
        "Courriel",
        "Adresse e-mail",
        "Adresse mail",
        "Adresse électronique",
        "Mail",
        "Email address",
        "E-mail address",
    ],
);
const MOBILE_PHONE: Field = field(
    "mobile_phone",
    &[
        "Mobile",
        "Portable",
        "Téléphone mobile",
        "Téléphone portable",
        "Tél. portable",
        "Tél. mobile",
        "Cell",
        "Cellphone",
        "Cell phone",
        "Mobile phone",
        "GSM",
    ],
);
const LANDLINE_PHONE: Field = field(
    "landline_phone",
    &[
        "Téléphone",
        "Tél.",
        "Tel",
        "Phone",
        "Téléphone fixe",
        "Tél. fixe",
        "Fixe",
        "Landline",
        "Office phone",
        "Phone number",
        "Numéro de téléphone",
    ],
);
const COMPANY: Field = field(
    "company",
    &[
        "Société",
        "Entreprise",
        "Organisation",
        "Organisme",
        "Structure",
        "Raison sociale",
        "Company",
        "Company name",
        "Organization",
        "Organisation name",
        "Organization name",
    ],
);
const JOB_TITLE: Field = field(
    "job_title",
    &[
        "Fonction",
        "Poste",
        "Titre",
        "Job title",
        "Position",
        "Role",
    ],
);
const ADDRESS_LINE1: Field = field(
    "address_line1",
    &[
        "Adresse",
        "Adresse 1",
        "Adresse ligne 1",
        "Address",
        "Address 1",
        "Address line 1",
        "Street",
    ],
);
const ADDRESS_LINE2: Field = field(
    "address_line2",
    &[
        "Adresse 2",
        "Adresse ligne 2",
        "Complément d'adresse",
        "Complément",
        "Address 2",
        "Address line 2",
    ],
);
const POSTAL_CODE: Field = field(
    "postal_code",
    &[
        "Code postal",
        "CP",
        "Postal code",
        "Zip",
        "Zip code",
        "Postcode",
    ],
);
const CITY: Field = field("city", &["Ville", "Commune", "Localité", "City", "Town"]);
const COUNTRY: Field = field("country", &["Pays", "Country", "Country code", "Code pays"]);
const PREFERRED_LANGUAGE: Field = field(
    "preferred_language",
    &[
        "Langue",
        "Langue préférée",
        "Language",
        "Preferred language",
    ],
);
const PARTICIPANT_TYPE: Field = field(
    "participant_type",
    &[
        "Type",
        "Type de participant",
        "Profil",
        "Catégorie",
        "Participant type",
        "Category",
        "Role in event",
    ],
);
const STATUS: Field = field("status", &["Statut", "Status", "État"]);
const COMPANY_DESCRIPTION: Field = field(
    "company_description",
    &[
        "Description",
        "Présentation",
        "Présentation de la société",
        "Description de la société",
        "Company description",
        "About",
    ],
);
const OFFERS: Field = field(
    "offers",
    &["Offres", "Offre", "Ce que je propose", "Offers", "Offer"],
);
const NEEDS: Field = field(
    "needs",
    &[
        "Besoins",
        "Besoin",
        "Recherche",
        "Ce que je recherche",
        "Needs",
        "Looking for",
    ],
);
const SECTORS: Field = field(
    "sectors",
    &[
        "Secteurs",
        "Secteur",
        "Secteurs d'activité",
        "Secteur d'activité",
        "Sectors",
        "Sector",
        "Industry",
        "Industries",
    ],
);
const LANGUAGES: Field = field(
    "languages",
    &[
        "Langues parlées",
        "Langues",
        "Spoken languages",
        "Languages",
    ],
);
const MEETING_QUOTA: Field = field(
    "meeting_quota",
    &[
        "Quota",
        "Quota de rendez-vous",
        "Nombre de rendez-vous",
        "Nb de rendez-vous",
        "Meeting quota",
        "Max meetings",
    ],
);
const STAND: Field = field("stand", &["Stand", "Booth", "Numéro de stand"]);
const OPTOUT_MARKETING_EMAIL: Field = field(
    "optout_marketing_email",
    &[
        "Opt-out email",
        "Opt-out e-mail",
        "Désinscrit",
        "Refus e-mailing",
        "Refus emailing",
        "Refus newsletter",
        "No marketing email",
        "Unsubscribed",
    ],
);
const OPTOUT_SMS: Field = field("optout_sms", &["Refus SMS", "Opt-out SMS", "No SMS"]);
const OPTOUT_PHONE_PROSPECTING: Field = field(
    "optout_phone_prospecting",
    &[
        "Bloctel",
        "Refus démarchage",
        "Refus démarchage téléphonique",
        "Refus prospection téléphonique",
        "Opposition démarchage",
        "Do not call",
        "Opt-out phone",
    ],
);

const PERSON_FIELDS: &[Field] = &[
    CIVILITY,
    FIRST_NAME,
    LAST_NAME,
    EMAIL,
    MOBILE_PHONE,
    LANDLINE_PHONE,
    COMPANY,
    JOB_TITLE,
    ADDRESS_LINE1,
    ADDRESS_LINE2,
    POSTAL_CODE,
    CITY,
    COUNTRY,
    PREFERRED_LANGUAGE,
    PARTICIPANT_TYPE,
    STATUS,
    COMPANY_DESCRIPTION,
    OFFERS,
    NEEDS,
    SECTORS,
    LANGUAGES,
    MEETING_QUOTA,
    STAND,
    OPTOUT_MARKETING_EMAIL,
    OPTOUT_SMS,
    OPTOUT_PHONE_PROSPECTING,
];

const PROSPECT_FIELDS: &[Field] = &[
    CIVILITY,
    FIRST_NAME,
    LAST_NAME,
    EMAIL,
    MOBILE_PHONE,
    LANDLINE_PHONE,
    COMPANY,
    JOB_TITLE,
    ADDRESS_LINE1,
    ADDRESS_LINE2,
    POSTAL_CODE,
    CITY,
    COUNTRY,
    PREFERRED_LANGUAGE,
    OPTOUT_MARKETING_EMAIL,
    OPTOUT_SMS,
    OPTOUT_PHONE_PROSPECTING,
];

const MEETING_REQUEST_FIELDS: &[Field] = &[
    required(
        "requester_email",
        &[
            "Demandeur",
            "E-mail demandeur",
            "E-mail du demandeur",
            "Email du demandeur",
            "Requester",
            "Requester email",
            "From",
        ],
    ),
    required(
        "target_email",
        &[
            "Destinataire",
            "Cible",
            "E-mail destinataire",
            "E-mail du destinataire",
            "E-mail de la cible",
            "Email de la cible",
            "Target",
            "Target email",
            "To",
        ],
    ),
    field("priority", &["Priorité", "Priority"]),
    field("message", &["Message", "Commentaire", "Comment", "Note"]),
];

const TABLE_FIELDS: &[Field] = &[
    required(
        "label",
        &[
            "Table", "Nom", "Libellé", "Numéro", "Label", "Name", "Number",
        ],
    ),
    field(
        "location",
        &["Emplacement", "Zone", "Salle", "Location", "Area", "Room"],
    ),
];

/// For each header, the field it maps to (None: not recognised). Matching ignores case,
/// accents, spaces, punctuation and `*`; a field is given to at most one column (the first).
///
/// A header recognised only once a parenthesised remark is dropped ("E-mail (obligatoire)")
/// yields to any header that names a field outright.
pub fn map_headers(kind: Kind, headers: &[String]) -> Vec<Option<&'static str>> {
    let fields = kind.fields();
    let mut mapped: Vec<Option<&'static str>> = vec![None; headers.len()];
    let mut taken = vec![false; fields.len()];
    let passes: [fn(&str) -> String; 2] = [normalise_header, |h| {
        normalise_header(&without_parentheses(h))
    }];
    for normalise in passes {
        for (slot, header) in mapped.iter_mut().zip(headers) {
            if slot.is_some() {
                continue;
            }
            let key = normalise(header);
            if key.is_empty() {
                continue;
            }
            let found = fields.iter().position(|f| {
                normalise_header(f.name) == key
                    || f.aliases.iter().any(|a| normalise_header(a) == key)
            });
            if let Some(index) = found {
                if !taken[index] {
                    taken[index] = true;
                    *slot = Some(fields[index].name);
                }
            }
        }
    }
    mapped
}

/// The normalised form used for matching (lowercase ASCII letters and digits only, accents folded:
/// "Prénom *" -> "prenom", "E-mail" -> "email"). Public: the app uses it to match headers to
/// registration-form field keys/labels.
pub fn normalise_header(h: &str) -> String {
    let mut out = String::with_capacity(h.len());
    for c in h.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if let Some(folded) = fold_accent(c) {
            out.push_str(folded);
        }
    }
    out
}

fn without_parentheses(h: &str) -> String {
    let mut depth = 0usize;
    h.chars()
        .filter(|&c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

/// The Latin letters with diacritics that French, and the other languages of the organizers'
/// exports, put in headers. Lowercase only: the input is lowercased first.
fn fold_accent(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'ď' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'ł' | 'ľ' => "l",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'œ' => "oe",
        'ř' => "r",
        'ś' | 'š' | 'ş' => "s",
        'ß' => "ss",
        'ť' | 'ţ' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kind: Kind, headers: &[&str]) -> Vec<Option<&'static str>> {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        map_headers(kind, &headers)
    }

    #[test]
    fn normalising_folds_case_accents_spaces_punctuation_and_stars() {
        assert_eq!(normalise_header("Prénom *"), "prenom");
        assert_eq!(normalise_header("E-mail"), "email");
        assert_eq!(
            normalise_header("  TÉLÉPHONE  Portable "),
            "telephoneportable"
        );
        assert_eq!(
            normalise_header("Complément d’adresse"),
            "complementdadresse"
        );
        assert_eq!(normalise_header("Œuvre · Straße"), "oeuvrestrasse");
        assert_eq!(normalise_header("first_name"), "firstname");
        assert_eq!(normalise_header("*"), "");
    }

    #[test]
    fn french_headers_as_excel_templates_have_them() {
        let mapped = map(
            Kind::Persons,
            &[
                "Civilité",
                "Prénom *",
                "NOM *",
                "Adresse e-mail *",
                "Tél. portable",
                "Téléphone",
                "Société",
                "Fonction",
                "Code postal",
                "Ville",
                "Secteurs d'activité",
                "Ce que je recherche",
                "Refus démarchage",
                "Colonne inconnue",
            ],
        );
        assert_eq!(
            mapped,
            [
                Some("civility"),
                Some("first_name"),
                Some("last_name"),
                Some("email"),
                Some("mobile_phone"),
                Some("landline_phone"),
                Some("company"),
                Some("job_title"),
                Some("postal_code"),
                Some("city"),
                Some("sectors"),
                Some("needs"),
                Some("optout_phone_prospecting"),
                None,
            ]
        );
    }

    #[test]
    fn english_headers() {
        let mapped = map(
            Kind::Persons,
            &[
                "First Name",
                "Last Name",
                "Email Address",
                "Mobile phone",
                "Company",
                "Job title",
                "Zip code",
                "Country",
                "Looking for",
                "Do not call",
            ],
        );
        assert_eq!(
            mapped,
            [
                Some("first_name"),
                Some("last_name"),
                Some("email"),
                Some("mobile_phone"),
                Some("company"),
                Some("job_title"),
                Some("postal_code"),
                Some("country"),
                Some("needs"),
                Some("optout_phone_prospecting"),
            ]
        );
    }

    #[test]
    fn a_field_goes_to_the_first_column_naming_it() {
        let mapped = map(Kind::Persons, &["Nom", "Nom de famille", "Email", "Mail"]);
        assert_eq!(mapped, [Some("last_name"), None, Some("email"), None]);
    }

    #[test]
    fn a_remark_in_parentheses_is_ignored_unless_it_names_the_field() {
        let mapped = map(
            Kind::Persons,
            &["Email (obligatoire)", "Téléphone (mobile)", "Prénom"],
        );
        assert_eq!(
            mapped,
            [Some("email"), Some("mobile_phone"), Some("first_name")]
        );
        // An outright name wins over one found by dropping a remark.
        let mapped = map(Kind::Persons, &["Email (pro)", "Email"]);
        assert_eq!(mapped, [None, Some("email")]);
    }

    #[test]
    fn prospects_have_only_person_and_opt_out_fields() {
        let mapped = map(
            Kind::Prospects,
            &["Prénom", "Nom", "Stand", "Bloctel", "Quota"],
        );
        assert_eq!(
            mapped,
            [
                Some("first_name"),
                Some("last_name"),
                None,
                Some("optout_phone_prospecting"),
                None
            ]
        );
    }

    #[test]
    fn meeting_requests_and_tables() {
        assert_eq!(
            map(
                Kind::MeetingRequests,
                &[
                    "E-mail demandeur",
                    "Email de la cible",
                    "Priorité",
                    "Commentaire"
                ]
            ),
            [
                Some("requester_email"),
                Some("target_email"),
                Some("priority"),
                Some("message")
            ]
        );
        assert_eq!(
            map(Kind::MeetingRequests, &["From", "To"]),
            [Some("requester_email"), Some("target_email")]
        );
        assert_eq!(
            map(Kind::Tables, &["Numéro", "Salle"]),
            [Some("label"), Some("location")]
        );
    }

    #[test]
    fn every_kind_round_trips_and_requires_what_it_must() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("people"), None);
        let required = |kind: Kind| -> Vec<&str> {
            kind.fields()
                .iter()
                .filter(|f| f.required)
                .map(|f| f.name)
                .collect()
        };
        assert_eq!(
            required(Kind::Persons),
            ["first_name", "last_name", "email"]
        );
        assert_eq!(
            required(Kind::Prospects),
            ["first_name", "last_name", "email"]
        );
        assert_eq!(
            required(Kind::MeetingRequests),
            ["requester_email", "target_email"]
        );
        assert_eq!(required(Kind::Tables), ["label"]);
    }

    #[test]
    fn no_header_names_two_fields_of_one_kind() {
        for kind in Kind::ALL {
            let mut seen = std::collections::HashMap::new();
            for field in kind.fields() {
                let names = std::iter::once(field.name).chain(field.aliases.iter().copied());
                for name in names {
                    let key = normalise_header(name);
                    assert!(!key.is_empty(), "{name}");
                    if let Some(other) = seen.insert(key.clone(), field.name) {
                        assert_eq!(other, field.name, "{kind:?}: \"{name}\" ({key})");
                    }
                }
            }
        }
    }

    #[test]
    fn field_names_are_recognised_as_headers() {
        for kind in Kind::ALL {
            let names: Vec<String> = kind.fields().iter().map(|f| f.name.to_string()).collect();
            let mapped = map_headers(kind, &names);
            let expected: Vec<Option<&str>> = kind.fields().iter().map(|f| Some(f.name)).collect();
            assert_eq!(mapped, expected);
        }
    }

    #[test]
    fn kinds_serialise_as_their_names() {
        for kind in Kind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<Kind>(&json).unwrap(), kind);
        }
    }
}
