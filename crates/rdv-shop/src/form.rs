//! Registration forms: what an organizer asks a participant type when it registers, the
//! checks on a form's definition, and the validation of a submission against it. No I/O:
//! rdv-app stores each version and creates the person and the registration from a
//! [`Submission`].

use chrono::{Months, NaiveDate};
use rdv_domain::{BoundedText, CountryCode, EmailAddress, MultilineText, PhoneNumber, ValueError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Problems as (path or answer key, message); messages are lowercase, for the person who
/// typed.
pub type Problems = Vec<(String, String)>;

/// At most this many fields in a form.
pub const MAX_FIELDS: usize = 100;
/// At most this many options in a choice.
pub const MAX_OPTIONS: usize = 100;
/// The longest short text a form may allow, and its default.
pub const MAX_SHORT_TEXT: usize = 200;
/// The longest long text a form may allow.
pub const MAX_LONG_TEXT: usize = 10_000;
/// A long text's length when the form does not say.
pub const DEFAULT_LONG_TEXT: usize = 4000;
/// At most this many keys in a submission.
pub const MAX_ANSWERS: usize = 200;
/// The longest string a submission may hold anywhere, before trimming.
pub const MAX_ANSWER_CHARS: usize = 10_000;
/// The longest list a submission may hold (a standard list or a multiple choice).
pub const MAX_ITEMS: usize = 100;
/// How far from the submission's day a date may lie when its field sets no bound: a year
/// typed as `0202` or `20277` is a typo, not a date anyone means.
pub const DATE_WINDOW_YEARS: u32 = 120;
/// The key under which a problem of the whole submission is reported (too many answers).
/// No field can take it: keys start with a letter.
pub const WHOLE_FORM: &str = "_form";

/// Answers whose magnitude exceeds this are not stored as whole numbers: beyond it, f64 and
/// JavaScript lose units.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

const KEY_RULE: &str =
    "must be lowercase letters, digits and underscores, starting with a letter, at most 63 characters";
const VALUE_RULE: &str =
    "must be lowercase letters, digits, hyphens and underscores, starting with a letter or digit, at most 100 characters";

/// A registration form: its fields, in the order they are shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDefinition {
    pub fields: Vec<FieldDef>,
}

/// One question of a form. `key` names the answer in a submission; a standard field's key is
/// the platform's name for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    pub key: String,
    pub kind: FieldKind,
    pub label_fr: String,
    pub label_en: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_fr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_en: Option<String>,
    /// A required field must be answered when it is shown; a required consent must be ticked.
    #[serde(default)]
    pub required: bool,
    /// Shown only when an earlier field has a given answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

/// What a field asks for, written `{"type": "short_text", ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FieldKind {
    /// One line of text, at most `max_length` characters (200 by default and at most).
    ShortText {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_length: Option<usize>,
    },
    /// Text with line breaks, at most `max_length` characters (4000 by default, 10000 at most).
    LongText {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_length: Option<usize>,
    },
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
        #[serde(default)]
        integer: bool,
    },
    SingleChoice {
        options: Vec<ChoiceOption>,
    },
    MultipleChoice {
        options: Vec<ChoiceOption>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_selected: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_selected: Option<usize>,
    },
    /// An ISO 3166-1 alpha-2 code.
    Country {},
    /// A phone number in E.164.
    Phone {},
    Email {},
    /// A day, `YYYY-MM-DD`, within the bounds.
    Date {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<NaiveDate>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<NaiveDate>,
    },
    YesNo {},
    /// A checkbox recording consent to `purpose`; the texts are what the person agrees to,
    /// and `version` names them.
    Consent {
        purpose: String,
        text_fr: String,
        text_en: String,
        version: String,
    },
    /// A field the platform already stores on the person or the registration: the answer is
    /// handed to rdv-app, which checks it with the platform's own rules.
    Standard {
        field: StandardField,
    },
}

/// An option of a choice: the value a submission carries, and its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    pub value: String,
    pub label_fr: String,
    pub label_en: String,
}

/// Show the field only when the earlier field `field` has the answer `equals`: one of its
/// options for a single choice, an option it contains for a multiple choice, `true` or
/// `false` for a yes/no or a consent (a consent not ticked is `false`; a yes/no not answered
/// is neither).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    pub equals: Value,
}

/// The person and registration fields a form can ask for; rdv-app stores them where they
/// already live instead of among the form's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StandardField {
    FirstName,
    LastName,
    Email,
    Civility,
    MobilePhone,
    LandlinePhone,
    Company,
    JobTitle,
    AddressLine1,
    AddressLine2,
    PostalCode,
    City,
    Country,
    PreferredLanguage,
    CompanyDescription,
    Offers,
    Needs,
    Sectors,
    Languages,
    Stand,
}

impl StandardField {
    pub const ALL: [StandardField; 20] = [
        StandardField::FirstName,
        StandardField::LastName,
        StandardField::Email,
        StandardField::Civility,
        StandardField::MobilePhone,
        StandardField::LandlinePhone,
        StandardField::Company,
        StandardField::JobTitle,
        StandardField::AddressLine1,
        StandardField::AddressLine2,
        StandardField::PostalCode,
        StandardField::City,
        StandardField::Country,
        StandardField::PreferredLanguage,
        StandardField::CompanyDescription,
        StandardField::Offers,
        StandardField::Needs,
        StandardField::Sectors,
        StandardField::Languages,
        StandardField::Stand,
    ];

    /// The platform's name for the field, which is also its key in a form and a submission.
    pub fn name(self) -> &'static str {
        match self {
            StandardField::FirstName => "first_name",
            StandardField::LastName => "last_name",
            StandardField::Email => "email",
            StandardField::Civility => "civility",
            StandardField::MobilePhone => "mobile_phone",
            StandardField::LandlinePhone => "landline_phone",
            StandardField::Company => "company",
            StandardField::JobTitle => "job_title",
            StandardField::AddressLine1 => "address_line1",
            StandardField::AddressLine2 => "address_line2",
            StandardField::PostalCode => "postal_code",
            StandardField::City => "city",
            StandardField::Country => "country",
            StandardField::PreferredLanguage => "preferred_language",
            StandardField::CompanyDescription => "company_description",
            StandardField::Offers => "offers",
            StandardField::Needs => "needs",
            StandardField::Sectors => "sectors",
            StandardField::Languages => "languages",
            StandardField::Stand => "stand",
        }
    }

    pub fn from_name(name: &str) -> Option<StandardField> {
        StandardField::ALL.into_iter().find(|f| f.name() == name)
    }

    /// A field of the person; the others belong to the registration's profile.
    pub fn is_person(self) -> bool {
        !matches!(
            self,
            StandardField::CompanyDescription
                | StandardField::Offers
                | StandardField::Needs
                | StandardField::Sectors
                | StandardField::Languages
                | StandardField::Stand
        )
    }

    /// A field whose answer is a list of strings rather than a string.
    pub fn is_list(self) -> bool {
        matches!(self, StandardField::Sectors | StandardField::Languages)
    }
}

/// The fields every form asks, unconditionally: no registration without them.
const MANDATORY: [StandardField; 3] = [
    StandardField::FirstName,
    StandardField::LastName,
    StandardField::Email,
];

/// A consent a form asks for, with the words the person agrees to; rdv-app stores the texts
/// under their version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormConsent<'a> {
    pub key: &'a str,
    pub purpose: &'a str,
    pub version: &'a str,
    pub text_fr: &'a str,
    pub text_en: &'a str,
    pub required: bool,
}

impl FormDefinition {
    /// Every problem of the definition, each with its path (`fields[3].kind.options[1].value`).
    pub fn check(&self) -> Result<(), Problems> {
        let mut p = Problems::new();
        if self.fields.len() > MAX_FIELDS {
            p.push((
                "fields".into(),
                format!("must have at most {MAX_FIELDS} fields"),
            ));
        }
        let mut keys: HashMap<&str, usize> = HashMap::new();
        let mut standard: HashMap<StandardField, usize> = HashMap::new();
        let mut purposes: HashMap<&str, usize> = HashMap::new();
        for (i, f) in self.fields.iter().enumerate() {
            let at = |rest: &str| format!("fields[{i}].{rest}");
            if !is_identifier(&f.key) {
                p.push((at("key"), KEY_RULE.into()));
            } else if let Some(j) = keys.get(f.key.as_str()) {
                p.push((at("key"), format!("duplicates the key of fields[{j}]")));
            } else if let FieldKind::Standard { field } = f.kind {
                if f.key != field.name() {
                    p.push((
                        at("key"),
                        format!("must be {}, the name of its standard field", field.name()),
                    ));
                }
            } else if StandardField::from_name(&f.key).is_some() {
                p.push((
                    at("key"),
                    "is the name of a standard field: ask it with a field of type standard".into(),
                ));
            }
            keys.entry(&f.key).or_insert(i);
            check_line::<200>(&mut p, at("label_fr"), &f.label_fr);
            check_line::<200>(&mut p, at("label_en"), &f.label_en);
            if let Some(h) = &f.help_fr {
                check_line::<1000>(&mut p, at("help_fr"), h);
            }
            if let Some(h) = &f.help_en {
                check_line::<1000>(&mut p, at("help_en"), h);
            }
            match &f.kind {
                FieldKind::Standard { field } => {
                    standard.entry(*field).or_insert(i);
                }
                // Two boxes for one purpose could be answered both ways.
                FieldKind::Consent { purpose, .. }
                    if rdv_domain::format::PURPOSE.is_match(purpose) =>
                {
                    if let Some(j) = purposes.get(purpose.as_str()) {
                        p.push((
                            at("kind.purpose"),
                            format!("is the purpose of fields[{j}] already"),
                        ));
                    }
                    purposes.entry(purpose).or_insert(i);
                }
                _ => {}
            }
            check_kind(&mut p, &at("kind"), &f.kind);
            if let Some(c) = &f.condition {
                self.check_condition(&mut p, i, c);
            }
        }
        for m in MANDATORY {
            match standard.get(&m) {
                None => p.push((
                    "fields".into(),
                    format!("must include the standard field {}", m.name()),
                )),
                Some(&i) => {
                    let f = &self.fields[i];
                    if !f.required {
                        p.push((
                            format!("fields[{i}].required"),
                            format!(
                                "must be true for {}, which every registration needs",
                                m.name()
                            ),
                        ));
                    }
                    if f.condition.is_some() {
                        p.push((
                            format!("fields[{i}].condition"),
                            format!(
                                "must be absent for {}, which every registration needs",
                                m.name()
                            ),
                        ));
                    }
                }
            }
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(p)
        }
    }

    fn check_condition(&self, p: &mut Problems, i: usize, c: &Condition) {
        let Some(controller) = self.fields[..i].iter().find(|e| e.key == c.field) else {
            let message = if self.fields[i..].iter().any(|e| e.key == c.field) {
                "must name an earlier field"
            } else {
                "names no field of this form"
            };
            p.push((format!("fields[{i}].condition.field"), message.into()));
            return;
        };
        match &controller.kind {
            FieldKind::SingleChoice { options } | FieldKind::MultipleChoice { options, .. } => {
                let offered = c
                    .equals
                    .as_str()
                    .is_some_and(|v| options.iter().any(|o| o.value == v));
                if !offered {
                    p.push((
                        format!("fields[{i}].condition.equals"),
                        format!("must be one of: {}", option_list(options)),
                    ));
                }
            }
            FieldKind::YesNo {} | FieldKind::Consent { .. } => {
                if !c.equals.is_boolean() {
                    p.push((
                        format!("fields[{i}].condition.equals"),
                        "must be true or false".into(),
                    ));
                }
            }
            _ => p.push((
                format!("fields[{i}].condition.field"),
                "must name a single choice, multiple choice, yes/no or consent field".into(),
            )),
        }
    }

    /// The consents the form asks for, in order.
    pub fn consents(&self) -> impl Iterator<Item = FormConsent<'_>> {
        self.fields.iter().filter_map(|f| match &f.kind {
            FieldKind::Consent {
                purpose,
                text_fr,
                text_en,
                version,
            } => Some(FormConsent {
                key: &f.key,
                purpose,
                version,
                text_fr,
                text_en,
                required: f.required,
            }),
            _ => None,
        })
    }
}

/// `^[a-z][a-z0-9_]{0,62}$`, the shape of a field key.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && s.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `^[a-z0-9][a-z0-9_-]*$`, at most 100 characters: the shape of an option's value.
fn is_option_value(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.len() <= 100
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn check_line<const MAX: usize>(p: &mut Problems, path: String, s: &str) {
    if let Err(e) = BoundedText::<MAX>::parse(s) {
        p.push((path, e.to_string()));
    }
}

fn check_kind(p: &mut Problems, at: &str, kind: &FieldKind) {
    match kind {
        FieldKind::ShortText { max_length } => check_max_length(p, at, *max_length, MAX_SHORT_TEXT),
        FieldKind::LongText { max_length } => check_max_length(p, at, *max_length, MAX_LONG_TEXT),
        FieldKind::Number { min, max, .. } => {
            for (name, bound) in [("min", min), ("max", max)] {
                if bound.is_some_and(|b| !b.is_finite()) {
                    p.push((format!("{at}.{name}"), "must be a finite number".into()));
                }
            }
            if let (Some(min), Some(max)) = (min, max) {
                if min > max {
                    p.push((format!("{at}.min"), "must not be greater than max".into()));
                }
            }
        }
        FieldKind::SingleChoice { options } => check_options(p, at, options),
        FieldKind::MultipleChoice {
            options,
            min_selected,
            max_selected,
        } => {
            check_options(p, at, options);
            let n = options.len();
            if let Some(max) = *max_selected {
                if max == 0 {
                    p.push((format!("{at}.max_selected"), "must be at least 1".into()));
                } else if max > n {
                    p.push((
                        format!("{at}.max_selected"),
                        format!("must not exceed the number of options ({n})"),
                    ));
                }
            }
            if let Some(min) = *min_selected {
                if max_selected.is_some_and(|max| min > max) {
                    p.push((
                        format!("{at}.min_selected"),
                        "must not be greater than max_selected".into(),
                    ));
                } else if min > n {
                    p.push((
                        format!("{at}.min_selected"),
                        format!("must not exceed the number of options ({n})"),
                    ));
                }
            }
        }
        FieldKind::Date { min, max } => {
            if let (Some(min), Some(max)) = (min, max) {
                if min > max {
                    p.push((format!("{at}.min"), "must not be after max".into()));
                }
            }
        }
        FieldKind::Consent {
            purpose,
            text_fr,
            text_en,
            version,
        } => {
            if !rdv_domain::format::PURPOSE.is_match(purpose) {
                p.push((format!("{at}.purpose"), KEY_RULE.into()));
            }
            for (name, text) in [("text_fr", text_fr), ("text_en", text_en)] {
                if let Err(e) = MultilineText::<5000>::parse(text) {
                    p.push((format!("{at}.{name}"), e.to_string()));
                }
            }
            check_line::<50>(p, format!("{at}.version"), version);
        }
        FieldKind::Country {}
        | FieldKind::Phone {}
        | FieldKind::Email {}
        | FieldKind::YesNo {}
        | FieldKind::Standard { .. } => {}
    }
}

fn check_max_length(p: &mut Problems, at: &str, max_length: Option<usize>, limit: usize) {
    if max_length.is_some_and(|m| m == 0 || m > limit) {
        p.push((
            format!("{at}.max_length"),
            format!("must be between 1 and {limit}"),
        ));
    }
}

fn check_options(p: &mut Problems, at: &str, options: &[ChoiceOption]) {
    if options.is_empty() || options.len() > MAX_OPTIONS {
        p.push((
            format!("{at}.options"),
            format!("must have 1 to {MAX_OPTIONS} options"),
        ));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (j, o) in options.iter().enumerate() {
        let path = |rest: &str| format!("{at}.options[{j}].{rest}");
        if !is_option_value(&o.value) {
            p.push((path("value"), VALUE_RULE.into()));
        } else if let Some(k) = seen.get(o.value.as_str()) {
            p.push((path("value"), format!("duplicates options[{k}]")));
        }
        seen.entry(&o.value).or_insert(j);
        check_line::<200>(p, path("label_fr"), &o.label_fr);
        check_line::<200>(p, path("label_en"), &o.label_en);
    }
}

fn option_list(options: &[ChoiceOption]) -> String {
    options
        .iter()
        .map(|o| o.value.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A submission that passed its form, ready for rdv-app.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Submission {
    /// The standard fields answered, as given but trimmed: strings, or lists of strings for
    /// `sectors` and `languages`. rdv-app checks them with the platform's rules, under the
    /// same names.
    pub standard: BTreeMap<StandardField, Value>,
    /// The custom fields answered, normalised: trimmed strings, numbers as JSON numbers,
    /// countries upper-case, phones in E.164, dates `YYYY-MM-DD`, choices as option values (a
    /// multiple choice in the options' order), yes/no as booleans. Consents are not here.
    pub answers: BTreeMap<String, Value>,
    /// Every consent field shown, ticked or not.
    pub consents: Vec<ConsentAnswer>,
}

/// The person's answer to one consent field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentAnswer {
    pub key: String,
    pub purpose: String,
    pub version: String,
    pub granted: bool,
}

/// Checks `answers` against `def` (which should have passed [`FormDefinition::check`]) and
/// normalises them; on refusal, every problem keyed by its answer key.
///
/// `null`, and a blank string for any field answered by a string, count as no answer. The
/// answer to a field hidden by its condition is dropped, not refused: browsers post hidden
/// inputs. A field whose controlling field's answer is refused stays hidden until that
/// answer is fixed.
pub fn validate(
    def: &FormDefinition,
    answers: &Map<String, Value>,
    today: NaiveDate,
) -> Result<Submission, Problems> {
    if answers.len() > MAX_ANSWERS {
        return Err(vec![(
            WHOLE_FORM.into(),
            format!("must have at most {MAX_ANSWERS} answers"),
        )]);
    }
    let mut problems = Problems::new();
    for key in answers.keys() {
        if !def.fields.iter().any(|f| &f.key == key) {
            problems.push((key.clone(), "is not a field of this form".into()));
        }
    }
    let mut submission = Submission {
        standard: BTreeMap::new(),
        answers: BTreeMap::new(),
        consents: Vec::new(),
    };
    // The normalised answer of each field shown, for the conditions of later fields.
    let mut shown: HashMap<&str, Value> = HashMap::new();
    for f in &def.fields {
        let visible = f
            .condition
            .as_ref()
            .is_none_or(|c| match shown.get(c.field.as_str()) {
                Some(Value::Array(chosen)) => chosen.contains(&c.equals),
                Some(v) => *v == c.equals,
                None => false,
            });
        if !visible {
            continue;
        }
        let raw = answers.get(&f.key).filter(|v| !v.is_null());
        let parsed = match raw {
            None => Ok(None),
            Some(v) => check_size(v).and_then(|()| parse_answer(&f.kind, v, today)),
        };
        let answer = match parsed {
            Ok(a) => a,
            Err(message) => {
                problems.push((f.key.clone(), message));
                continue;
            }
        };
        if let FieldKind::Consent {
            purpose, version, ..
        } = &f.kind
        {
            let granted = answer == Some(Value::Bool(true));
            if f.required && !granted {
                problems.push((f.key.clone(), "must be ticked".into()));
            }
            submission.consents.push(ConsentAnswer {
                key: f.key.clone(),
                purpose: purpose.clone(),
                version: version.clone(),
                granted,
            });
            shown.insert(&f.key, Value::Bool(granted));
            continue;
        }
        let Some(answer) = answer else {
            if f.required {
                problems.push((f.key.clone(), "is required".into()));
            }
            continue;
        };
        shown.insert(&f.key, answer.clone());
        match f.kind {
            FieldKind::Standard { field } => {
                submission.standard.insert(field, answer);
            }
            _ => {
                submission.answers.insert(f.key.clone(), answer);
            }
        }
    }
    if problems.is_empty() {
        Ok(submission)
    } else {
        Err(problems)
    }
}

/// Refuses strings and lists too long to be anyone's answer, before any parsing.
fn check_size(v: &Value) -> Result<(), String> {
    let too_long = |s: &str| {
        let len = s.chars().count();
        (len > MAX_ANSWER_CHARS).then(|| {
            ValueError::TooLong {
                max: MAX_ANSWER_CHARS,
                len,
            }
            .to_string()
        })
    };
    match v {
        Value::String(s) => too_long(s).map_or(Ok(()), Err),
        Value::Array(items) if items.len() > MAX_ITEMS => {
            Err(format!("must have at most {MAX_ITEMS} items"))
        }
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .find_map(too_long)
            .map_or(Ok(()), Err),
        _ => Ok(()),
    }
}

/// A string's trimmed content, `None` when blank.
fn non_blank(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|t| !t.is_empty())
}

/// The normalised answer, `None` for no answer.
fn parse_answer(kind: &FieldKind, v: &Value, today: NaiveDate) -> Result<Option<Value>, String> {
    match kind {
        FieldKind::ShortText { max_length } => text(v, max_length.unwrap_or(MAX_SHORT_TEXT), false),
        FieldKind::LongText { max_length } => {
            text(v, max_length.unwrap_or(DEFAULT_LONG_TEXT), true)
        }
        FieldKind::Number { min, max, integer } => number(v, *min, *max, *integer),
        FieldKind::SingleChoice { options } => {
            let Some(s) = v.as_str() else {
                return Err(format!("must be one of: {}", option_list(options)));
            };
            let Some(s) = non_blank(s) else {
                return Ok(None);
            };
            match options.iter().find(|o| o.value == s) {
                Some(o) => Ok(Some(Value::String(o.value.clone()))),
                None => Err(format!("must be one of: {}", option_list(options))),
            }
        }
        FieldKind::MultipleChoice {
            options,
            min_selected,
            max_selected,
        } => multiple_choice(v, options, *min_selected, *max_selected),
        FieldKind::Country {} => parsed(v, ValueError::Country, |s| {
            CountryCode::parse(s).map(|c| c.as_str().to_owned())
        }),
        FieldKind::Phone {} => parsed(v, ValueError::Phone, |s| {
            PhoneNumber::parse(s).map(|p| p.as_str().to_owned())
        }),
        FieldKind::Email {} => parsed(v, ValueError::Email, |s| {
            EmailAddress::parse(s).map(|e| e.as_str().to_owned())
        }),
        FieldKind::Date { min, max } => date(v, *min, *max, today),
        FieldKind::YesNo {} => match v {
            Value::Bool(b) => Ok(Some(Value::Bool(*b))),
            Value::String(s) => match s.trim().to_lowercase().as_str() {
                "" => Ok(None),
                "yes" | "oui" | "true" => Ok(Some(Value::Bool(true))),
                "no" | "non" | "false" => Ok(Some(Value::Bool(false))),
                _ => Err("must be yes or no".into()),
            },
            _ => Err("must be yes or no".into()),
        },
        FieldKind::Consent { .. } => match v {
            Value::Bool(b) => Ok(Some(Value::Bool(*b))),
            _ => Err("must be true or false".into()),
        },
        FieldKind::Standard { field } if field.is_list() => match v {
            Value::Array(items) if items.is_empty() => Ok(None),
            Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(Value::String(s.trim().to_owned())),
                    _ => Err("must be a list of texts".to_owned()),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|items| Some(Value::Array(items))),
            _ => Err("must be a list of texts".into()),
        },
        FieldKind::Standard { .. } => match v {
            Value::String(s) => Ok(non_blank(s).map(|s| Value::String(s.to_owned()))),
            _ => Err("must be text".into()),
        },
    }
}

fn text(v: &Value, max: usize, multiline: bool) -> Result<Option<Value>, String> {
    let Value::String(s) = v else {
        return Err("must be text".into());
    };
    let Some(s) = non_blank(s) else {
        return Ok(None);
    };
    // rdv-domain's parsers decide what a text may hold; the form's own length comes after.
    let parsed = if multiline {
        MultilineText::<MAX_ANSWER_CHARS>::parse(s).map(MultilineText::into_inner)
    } else {
        BoundedText::<MAX_ANSWER_CHARS>::parse(s).map(BoundedText::into_inner)
    };
    let s = parsed.map_err(|e| e.to_string())?;
    let len = s.chars().count();
    if len > max {
        return Err(ValueError::TooLong { max, len }.to_string());
    }
    Ok(Some(Value::String(s)))
}

/// A string parsed by one of rdv-domain's value types; anything else is refused with that
/// type's message.
fn parsed(
    v: &Value,
    wrong_type: ValueError,
    parse: impl Fn(&str) -> Result<String, ValueError>,
) -> Result<Option<Value>, String> {
    let Value::String(s) = v else {
        return Err(wrong_type.to_string());
    };
    match non_blank(s) {
        None => Ok(None),
        Some(s) => parse(s)
            .map(|s| Some(Value::String(s)))
            .map_err(|e| e.to_string()),
    }
}

fn number(
    v: &Value,
    min: Option<f64>,
    max: Option<f64>,
    integer: bool,
) -> Result<Option<Value>, String> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match non_blank(s) {
            None => return Ok(None),
            Some(s) => parse_decimal(s),
        },
        _ => None,
    };
    let Some(n) = n.filter(|n| n.is_finite()) else {
        return Err("must be a number".into());
    };
    if integer && n.fract() != 0.0 {
        return Err("must be a whole number".into());
    }
    if let Some(min) = min.filter(|&min| n < min) {
        return Err(format!("must be at least {min}"));
    }
    if let Some(max) = max.filter(|&max| n > max) {
        return Err(format!("must be at most {max}"));
    }
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
        // A whole number is stored as one (12, not 12.0); the cast is exact in this range.
        return Ok(Some(Value::from(n as i64)));
    }
    if integer {
        return Err(format!(
            "must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}"
        ));
    }
    Number::from_f64(n)
        .map(|n| Some(Value::Number(n)))
        .ok_or_else(|| "must be a number".into())
}

/// A decimal as people type it: optional sign, digits, and a fractional part after `.` or
/// `,`. No exponent, no thousands separator, and none of the words (`inf`, `NaN`) that
/// `f64::from_str` also reads.
fn parse_decimal(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (whole, fraction) = match unsigned.split_once(['.', ',']) {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return None;
    }
    s.replace(',', ".").parse().ok()
}

fn date(
    v: &Value,
    min: Option<NaiveDate>,
    max: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Option<Value>, String> {
    const FORMAT: &str = "must be a date written YYYY-MM-DD, such as 2027-03-14";
    let Value::String(s) = v else {
        return Err(FORMAT.into());
    };
    let Some(s) = non_blank(s) else {
        return Ok(None);
    };
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let d = shaped
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
        .ok_or(FORMAT)?;
    let window = Months::new(DATE_WINDOW_YEARS * 12);
    let min = min.or_else(|| today.checked_sub_months(window));
    let max = max.or_else(|| today.checked_add_months(window));
    if let Some(min) = min.filter(|&min| d < min) {
        return Err(format!("must be on or after {min}"));
    }
    if let Some(max) = max.filter(|&max| d > max) {
        return Err(format!("must be on or before {max}"));
    }
    Ok(Some(Value::String(d.to_string())))
}

fn multiple_choice(
    v: &Value,
    options: &[ChoiceOption],
    min_selected: Option<usize>,
    max_selected: Option<usize>,
) -> Result<Option<Value>, String> {
    let only = || format!("must be a list of: {}", option_list(options));
    let Value::Array(items) = v else {
        return Err(only());
    };
    let mut chosen: HashSet<&str> = HashSet::new();
    for item in items {
        let Some(s) = item.as_str() else {
            return Err(only());
        };
        // A blank item is nothing chosen, as a blank string is no answer.
        let Some(s) = non_blank(s) else {
            continue;
        };
        if !options.iter().any(|o| o.value == s) {
            return Err(only());
        }
        if !chosen.insert(s) {
            return Err("must not name the same choice twice".into());
        }
    }
    if chosen.is_empty() {
        return Ok(None);
    }
    if let Some(min) = min_selected.filter(|&min| chosen.len() < min) {
        return Err(format!("must have at least {}", choices(min)));
    }
    if let Some(max) = max_selected.filter(|&max| chosen.len() > max) {
        return Err(format!("must have at most {}", choices(max)));
    }
    Ok(Some(Value::Array(
        options
            .iter()
            .filter(|o| chosen.contains(o.value.as_str()))
            .map(|o| Value::String(o.value.clone()))
            .collect(),
    )))
}

fn choices(n: usize) -> String {
    if n == 1 {
        "1 choice".into()
    } else {
        format!("{n} choices")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 1, 15).unwrap()
    }

    /// A supplier form as an organizer POSTs it: every field written out, nothing defaulted.
    fn supplier_json() -> Value {
        let standard = |field: &str, fr: &str, en: &str, required: bool| {
            json!({
                "key": field,
                "kind": {"type": "standard", "field": field},
                "label_fr": fr,
                "label_en": en,
                "required": required
            })
        };
        let opt = |value: &str, fr: &str, en: &str| json!({"value": value, "label_fr": fr, "label_en": en});
        json!({"fields": [
            standard("first_name", "Prénom", "First name", true),
            standard("last_name", "Nom", "Last name", true),
            standard("email", "E-mail", "Email", true),
            standard("company", "Société", "Company", true),
            standard("mobile_phone", "Mobile", "Mobile phone", false),
            standard("sectors", "Secteurs", "Sectors", false),
            {
                "key": "stand_size",
                "kind": {"type": "single_choice", "options": [
                    opt("small", "Petit (9 m²)", "Small (9 m²)"),
                    opt("medium", "Moyen (18 m²)", "Medium (18 m²)"),
                    opt("large", "Grand (36 m²)", "Large (36 m²)")
                ]},
                "label_fr": "Taille du stand",
                "label_en": "Stand size",
                "help_fr": "Surface au sol, hors allées",
                "help_en": "Floor area, aisles excluded",
                "required": true
            },
            {
                "key": "stand_wishes",
                "kind": {"type": "long_text", "max_length": 500},
                "label_fr": "Vos souhaits pour le grand stand",
                "label_en": "Your wishes for the large stand",
                "required": true,
                "condition": {"field": "stand_size", "equals": "large"}
            },
            {
                "key": "processes",
                "kind": {"type": "multiple_choice", "options": [
                    opt("machining", "Usinage", "Machining"),
                    opt("welding", "Soudure", "Welding"),
                    opt("painting", "Peinture", "Painting"),
                    opt("assembly", "Assemblage", "Assembly")
                ], "min_selected": 1, "max_selected": 3},
                "label_fr": "Procédés proposés",
                "label_en": "Processes offered",
                "required": false
            },
            {
                "key": "employees",
                "kind": {"type": "number", "min": 1.0, "max": 100000.0, "integer": true},
                "label_fr": "Effectif",
                "label_en": "Headcount",
                "required": false
            },
            {
                "key": "power_kw",
                "kind": {"type": "number", "min": 0.0, "integer": false},
                "label_fr": "Puissance électrique (kW)",
                "label_en": "Electrical power (kW)",
                "required": false
            },
            {
                "key": "vat_number",
                "kind": {"type": "short_text", "max_length": 20},
                "label_fr": "N° de TVA",
                "label_en": "VAT number",
                "required": false
            },
            {
                "key": "billing_country",
                "kind": {"type": "country"},
                "label_fr": "Pays de facturation",
                "label_en": "Billing country",
                "required": false
            },
            {
                "key": "onsite_phone",
                "kind": {"type": "phone"},
                "label_fr": "Téléphone sur place",
                "label_en": "On-site phone",
                "required": false
            },
            {
                "key": "billing_email",
                "kind": {"type": "email"},
                "label_fr": "E-mail de facturation",
                "label_en": "Billing email",
                "required": false
            },
            {
                "key": "setup_date",
                "kind": {"type": "date", "min": "2027-03-01", "max": "2027-03-09"},
                "label_fr": "Jour de montage",
                "label_en": "Set-up day",
                "required": false
            },
            {
                "key": "needs_water",
                "kind": {"type": "yes_no"},
                "label_fr": "Arrivée d'eau ?",
                "label_en": "Water supply?",
                "required": false
            },
            {
                "key": "terms",
                "kind": {
                    "type": "consent",
                    "purpose": "terms_of_sale",
                    "text_fr": "J'accepte les conditions générales de vente.\nVersion de janvier 2027.",
                    "text_en": "I accept the terms of sale.\nJanuary 2027 version.",
                    "version": "2027-01"
                },
                "label_fr": "Conditions de vente",
                "label_en": "Terms of sale",
                "required": true
            },
            {
                "key": "marketing",
                "kind": {
                    "type": "consent",
                    "purpose": "marketing_email",
                    "text_fr": "J'accepte de recevoir les offres des éditions suivantes.",
                    "text_en": "I agree to receive offers for future editions.",
                    "version": "v3"
                },
                "label_fr": "Offres",
                "label_en": "Offers",
                "required": false
            }
        ]})
    }

    fn supplier_form() -> FormDefinition {
        serde_json::from_value(supplier_json()).unwrap()
    }

    fn answers(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn minimal() -> Map<String, Value> {
        answers(json!({
            "first_name": "Jeanne",
            "last_name": "Martin",
            "email": "jeanne@usinage.example",
            "company": "Usinage Martin",
            "stand_size": "small",
            "terms": true
        }))
    }

    fn with(extra: Value) -> Map<String, Value> {
        let mut m = minimal();
        m.extend(answers(extra));
        m
    }

    /// The problems as a map key → message, for assertions on exactly what was said.
    fn refusals(r: Result<Submission, Problems>) -> BTreeMap<String, String> {
        let problems = r.expect_err("refused");
        let n = problems.len();
        let map: BTreeMap<_, _> = problems.into_iter().collect();
        assert_eq!(map.len(), n, "one problem per key");
        map
    }

    fn refusal(extra: Value, key: &str) -> String {
        let r = refusals(validate(&supplier_form(), &with(extra), today()));
        assert_eq!(r.keys().collect::<Vec<_>>(), [key], "{r:?}");
        r[key].clone()
    }

    #[test]
    fn the_supplier_form_passes_its_check() {
        assert_eq!(supplier_form().check(), Ok(()));
    }

    #[test]
    fn a_form_written_by_hand_round_trips() {
        let form = supplier_form();
        assert_eq!(serde_json::to_value(&form).unwrap(), supplier_json());
        let text = serde_json::to_string(&form).unwrap();
        assert_eq!(serde_json::from_str::<FormDefinition>(&text).unwrap(), form);
        assert_eq!(
            form.fields[6].kind,
            FieldKind::SingleChoice {
                options: vec![
                    ChoiceOption {
                        value: "small".into(),
                        label_fr: "Petit (9 m²)".into(),
                        label_en: "Small (9 m²)".into()
                    },
                    ChoiceOption {
                        value: "medium".into(),
                        label_fr: "Moyen (18 m²)".into(),
                        label_en: "Medium (18 m²)".into()
                    },
                    ChoiceOption {
                        value: "large".into(),
                        label_fr: "Grand (36 m²)".into(),
                        label_en: "Large (36 m²)".into()
                    },
                ]
            }
        );
    }

    #[test]
    fn omitted_options_take_their_defaults() {
        let f: FieldDef = serde_json::from_value(json!({
            "key": "notes", "kind": {"type": "long_text"}, "label_fr": "Notes", "label_en": "Notes"
        }))
        .unwrap();
        assert_eq!(f.kind, FieldKind::LongText { max_length: None });
        assert!(!f.required);
        assert_eq!(f.condition, None);
        let r = validate(
            &FormDefinition { fields: vec![f] },
            &answers(json!({"notes": "x".repeat(4001)})),
            today(),
        );
        assert_eq!(
            refusals(r)["notes"],
            "must be at most 4000 characters (got 4001)"
        );
    }

    #[test]
    fn unknown_or_misspelt_definition_fields_are_refused() {
        for bad in [
            json!({"key": "a", "kind": {"type": "yes_no"}, "label_fr": "A", "label_en": "A", "mandatory": true}),
            json!({"key": "a", "kind": {"type": "yes_no", "default": true}, "label_fr": "A", "label_en": "A"}),
            json!({"key": "a", "kind": {"type": "short_text", "maxlength": 3}, "label_fr": "A", "label_en": "A"}),
            json!({"key": "a", "kind": {"type": "checkbox"}, "label_fr": "A", "label_en": "A"}),
            json!({"key": "a", "kind": {"type": "standard", "field": "firstname"}, "label_fr": "A", "label_en": "A"}),
            json!({"key": "a", "kind": {"type": "single_choice", "options": [{"value": "x", "label_fr": "X", "label_en": "X", "label_de": "X"}]}, "label_fr": "A", "label_en": "A"}),
            json!({"key": "a", "kind": {"type": "date", "min": "2027-02-30"}, "label_fr": "A", "label_en": "A"}),
        ] {
            assert!(
                serde_json::from_value::<FieldDef>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn standard_fields_are_named_as_the_platform_names_them() {
        for f in StandardField::ALL {
            assert_eq!(serde_json::to_value(f).unwrap(), json!(f.name()));
            assert_eq!(StandardField::from_name(f.name()), Some(f));
        }
        let person: Vec<_> = StandardField::ALL
            .into_iter()
            .filter(|f| !f.is_person())
            .map(StandardField::name)
            .collect();
        assert_eq!(
            person,
            [
                "company_description",
                "offers",
                "needs",
                "sectors",
                "languages",
                "stand"
            ]
        );
    }

    #[test]
    fn consents_are_listed_with_their_texts() {
        let form = supplier_form();
        let consents: Vec<_> = form.consents().collect();
        assert_eq!(consents.len(), 2);
        assert_eq!(
            consents[0],
            FormConsent {
                key: "terms",
                purpose: "terms_of_sale",
                version: "2027-01",
                text_fr: "J'accepte les conditions générales de vente.\nVersion de janvier 2027.",
                text_en: "I accept the terms of sale.\nJanuary 2027 version.",
                required: true,
            }
        );
        assert_eq!(
            (consents[1].key, consents[1].purpose, consents[1].required),
            ("marketing", "marketing_email", false)
        );
    }

    #[test]
    fn a_full_submission_is_normalised() {
        let sub = validate(
            &supplier_form(),
            &answers(json!({
                "first_name": "  Jeanne ",
                "last_name": "Martin",
                "email": " Jeanne@Usinage.EXAMPLE ",
                "company": "Usinage Martin",
                "mobile_phone": "",
                "sectors": [" industry/machining ", "industry/welding"],
                "stand_size": " large ",
                "stand_wishes": "  Angle d'allée.\nPrès de l'entrée.  ",
                "processes": ["welding", "", "machining"],
                "employees": "250",
                "power_kw": "12,5",
                "vat_number": " FR40303265045 ",
                "billing_country": "fr",
                "onsite_phone": "+33 6 12 34 56 78",
                "billing_email": "Compta@Usinage.EXAMPLE",
                "setup_date": "2027-03-08",
                "needs_water": "Oui",
                "terms": true,
                "marketing": null
            })),
            today(),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&sub.standard).unwrap(),
            json!({
                "first_name": "Jeanne",
                "last_name": "Martin",
                // Passed through: rdv-app checks and lowercases with the platform's rules.
                "email": "Jeanne@Usinage.EXAMPLE",
                "company": "Usinage Martin",
                "sectors": ["industry/machining", "industry/welding"]
            })
        );
        assert_eq!(
            serde_json::to_value(&sub.answers).unwrap(),
            json!({
                "stand_size": "large",
                "stand_wishes": "Angle d'allée.\nPrès de l'entrée.",
                "processes": ["machining", "welding"],
                "employees": 250,
                "power_kw": 12.5,
                "vat_number": "FR40303265045",
                "billing_country": "FR",
                "onsite_phone": "+33612345678",
                "billing_email": "Compta@usinage.example",
                "setup_date": "2027-03-08",
                "needs_water": true
            })
        );
        assert_eq!(
            sub.consents,
            [
                ConsentAnswer {
                    key: "terms".into(),
                    purpose: "terms_of_sale".into(),
                    version: "2027-01".into(),
                    granted: true
                },
                ConsentAnswer {
                    key: "marketing".into(),
                    purpose: "marketing_email".into(),
                    version: "v3".into(),
                    granted: false
                },
            ]
        );
    }

    #[test]
    fn numbers_are_read_as_people_type_them() {
        let form = supplier_form();
        let power = |v: Value| {
            validate(&form, &with(json!({"power_kw": v})), today())
                .map(|s| s.answers["power_kw"].clone())
        };
        assert_eq!(power(json!(12.5)).unwrap(), json!(12.5));
        assert_eq!(power(json!(" 7.25 ")).unwrap(), json!(7.25));
        assert_eq!(power(json!("3")).unwrap(), json!(3));
        assert_eq!(power(json!(3.0)).unwrap(), json!(3));
        for bad in [
            "1e3", "inf", "NaN", "1 000", "1,000.5", "12,", ",5", "--1", "douze",
        ] {
            assert_eq!(
                refusal(json!({"power_kw": bad}), "power_kw"),
                "must be a number",
                "{bad}"
            );
        }
        assert_eq!(
            refusal(json!({"power_kw": true}), "power_kw"),
            "must be a number"
        );
        assert_eq!(
            refusal(json!({"power_kw": [1]}), "power_kw"),
            "must be a number"
        );
        assert_eq!(
            refusal(json!({"power_kw": "-0,5"}), "power_kw"),
            "must be at least 0"
        );
        assert_eq!(
            refusal(json!({"employees": "12,5"}), "employees"),
            "must be a whole number"
        );
        assert_eq!(
            refusal(json!({"employees": 0}), "employees"),
            "must be at least 1"
        );
        assert_eq!(
            refusal(json!({"employees": 100001}), "employees"),
            "must be at most 100000"
        );
        // Without bounds, a whole number too large to store exactly is refused.
        let count = FormDefinition {
            fields: vec![FieldDef {
                key: "count".into(),
                kind: FieldKind::Number {
                    min: None,
                    max: None,
                    integer: true,
                },
                label_fr: "Nombre".into(),
                label_en: "Count".into(),
                help_fr: None,
                help_en: None,
                required: false,
                condition: None,
            }],
        };
        let r = validate(&count, &answers(json!({"count": "1".repeat(300)})), today());
        assert_eq!(
            refusals(r)["count"],
            "must be between -9007199254740991 and 9007199254740991"
        );
    }

    #[test]
    fn every_refusal_is_named_on_its_key() {
        let r = refusals(validate(
            &supplier_form(),
            &answers(json!({
                "first_name": "   ",
                "last_name": 42,
                "email": "jeanne@usinage.example",
                "company": "Usinage Martin",
                "sectors": "industry",
                "stand_size": "huge",
                "processes": ["machining", "sawing"],
                "employees": "many",
                "vat_number": "FR 4030 3265 0451 2345 6",
                "billing_country": "France",
                "onsite_phone": "06 12 34 56 78",
                "billing_email": "compta@",
                "setup_date": "08/03/2027",
                "needs_water": "maybe",
                "terms": false,
                "marketing": "yes",
                "fax": "+33 1 23 45 67 89"
            })),
            today(),
        ));
        let expected = [
            ("first_name", "is required"),
            ("last_name", "must be text"),
            ("sectors", "must be a list of texts"),
            ("stand_size", "must be one of: small, medium, large"),
            (
                "processes",
                "must be a list of: machining, welding, painting, assembly",
            ),
            ("employees", "must be a number"),
            ("vat_number", "must be at most 20 characters (got 24)"),
            (
                "billing_country",
                "must be a two-letter ISO 3166 country code, such as FR",
            ),
            (
                "onsite_phone",
                "must be a phone number in international format, such as +33612345678",
            ),
            ("billing_email", "is not a valid email address"),
            (
                "setup_date",
                "must be a date written YYYY-MM-DD, such as 2027-03-14",
            ),
            ("needs_water", "must be yes or no"),
            ("terms", "must be ticked"),
            ("marketing", "must be true or false"),
            ("fax", "is not a field of this form"),
        ];
        assert_eq!(
            r,
            expected
                .into_iter()
                .map(|(k, m)| (k.to_owned(), m.to_owned()))
                .collect::<BTreeMap<_, _>>()
        );
    }

    #[test]
    fn required_fields_must_be_answered() {
        let r = refusals(validate(&supplier_form(), &Map::new(), today()));
        assert_eq!(
            r.into_iter().collect::<Vec<_>>(),
            [
                ("company", "is required"),
                ("email", "is required"),
                ("first_name", "is required"),
                ("last_name", "is required"),
                ("stand_size", "is required"),
                ("terms", "must be ticked"),
            ]
            .map(|(k, m)| (k.to_owned(), m.to_owned()))
        );
        // null and blank are no answer; an empty list is none either.
        let mut m = minimal();
        m.insert("first_name".into(), Value::Null);
        m.insert("stand_size".into(), json!(""));
        m.insert("terms".into(), Value::Null);
        assert_eq!(refusals(validate(&supplier_form(), &m, today())).len(), 3);
    }

    #[test]
    fn texts_refuse_control_characters() {
        assert_eq!(
            refusal(json!({"vat_number": "FR40\n303"}), "vat_number"),
            "must not contain control characters"
        );
        assert_eq!(
            refusal(json!({"vat_number": "FR40\u{202E}303"}), "vat_number"),
            ValueError::Bidi.to_string()
        );
        assert_eq!(
            refusal(
                json!({"stand_size": "large", "stand_wishes": "a\u{7}b"}),
                "stand_wishes"
            ),
            "must not contain control characters"
        );
        assert_eq!(
            refusal(
                json!({"stand_size": "large", "stand_wishes": "é".repeat(501)}),
                "stand_wishes"
            ),
            "must be at most 500 characters (got 501)"
        );
        // The length counts characters, not bytes, and not the whitespace trimmed away.
        let s = validate(
            &supplier_form(),
            &with(
                json!({"stand_size": "large", "stand_wishes": format!("  {}\n", "é".repeat(500))}),
            ),
            today(),
        )
        .unwrap();
        assert_eq!(s.answers["stand_wishes"], json!("é".repeat(500)));
    }

    #[test]
    fn multiple_choices_are_distinct_offered_values_within_bounds() {
        assert_eq!(
            refusal(json!({"processes": ["welding", "welding"]}), "processes"),
            "must not name the same choice twice"
        );
        assert_eq!(
            refusal(json!({"processes": ["welding", 3]}), "processes"),
            "must be a list of: machining, welding, painting, assembly"
        );
        assert_eq!(
            refusal(json!({"processes": "welding"}), "processes"),
            "must be a list of: machining, welding, painting, assembly"
        );
        assert_eq!(
            refusal(
                json!({"processes": ["welding", "machining", "painting", "assembly"]}),
                "processes"
            ),
            "must have at most 3 choices"
        );
        let mut form = supplier_form();
        let FieldKind::MultipleChoice { min_selected, .. } = &mut form.fields[8].kind else {
            unreachable!()
        };
        *min_selected = Some(2);
        let r = validate(&form, &with(json!({"processes": ["welding"]})), today());
        assert_eq!(refusals(r)["processes"], "must have at least 2 choices");
        // Nothing chosen is no answer, not too few.
        let s = validate(&form, &with(json!({"processes": []})), today()).unwrap();
        assert!(!s.answers.contains_key("processes"));
    }

    #[test]
    fn dates_are_iso_days_within_bounds() {
        assert_eq!(
            refusal(json!({"setup_date": "2027-02-28"}), "setup_date"),
            "must be on or after 2027-03-01"
        );
        assert_eq!(
            refusal(json!({"setup_date": "2027-03-10"}), "setup_date"),
            "must be on or before 2027-03-09"
        );
        for bad in [
            "2027-3-8",
            "2027-02-30",
            "20270-03-08",
            "2027-03-08T10:00",
            "+2027-03-08",
        ] {
            assert_eq!(
                refusal(json!({"setup_date": bad}), "setup_date"),
                "must be a date written YYYY-MM-DD, such as 2027-03-14",
                "{bad}"
            );
        }
        // Without bounds, a year far from today is a typo.
        let mut form = supplier_form();
        form.fields[15].kind = FieldKind::Date {
            min: None,
            max: None,
        };
        let date = |d: &str| validate(&form, &with(json!({"setup_date": d})), today());
        assert_eq!(
            date("1950-06-01").unwrap().answers["setup_date"],
            json!("1950-06-01")
        );
        assert_eq!(
            refusals(date("0202-03-08"))["setup_date"],
            "must be on or after 1907-01-15"
        );
        assert_eq!(
            refusals(date("9999-03-08"))["setup_date"],
            "must be on or before 2147-01-15"
        );
    }

    #[test]
    fn yes_no_reads_words_in_both_languages() {
        let form = supplier_form();
        for (given, read) in [
            (json!(true), true),
            (json!("yes"), true),
            (json!(" OUI "), true),
            (json!("true"), true),
            (json!(false), false),
            (json!("No"), false),
            (json!("non"), false),
            (json!("false"), false),
        ] {
            let s = validate(&form, &with(json!({"needs_water": given})), today()).unwrap();
            assert_eq!(s.answers["needs_water"], json!(read), "{given}");
        }
        assert_eq!(
            refusal(json!({"needs_water": 1}), "needs_water"),
            "must be yes or no"
        );
    }

    #[test]
    fn hidden_answers_are_dropped_and_hidden_fields_not_required() {
        let form = supplier_form();
        // stand_wishes is asked only for a large stand: posted anyway, it is dropped.
        let s = validate(
            &form,
            &with(json!({"stand_size": "medium", "stand_wishes": "x\u{7}".repeat(20_000)})),
            today(),
        )
        .unwrap();
        assert!(!s.answers.contains_key("stand_wishes"));
        assert_eq!(s.answers["stand_size"], json!("medium"));
        // Shown, it is required.
        assert_eq!(
            refusal(json!({"stand_size": "large"}), "stand_wishes"),
            "is required"
        );
        assert_eq!(
            refusal(
                json!({"stand_size": "large", "stand_wishes": "  "}),
                "stand_wishes"
            ),
            "is required"
        );
    }

    fn field(key: &str, kind: FieldKind, condition: Option<(&str, Value)>) -> FieldDef {
        FieldDef {
            key: key.into(),
            kind,
            label_fr: key.into(),
            label_en: key.into(),
            help_fr: None,
            help_en: None,
            required: false,
            condition: condition.map(|(field, equals)| Condition {
                field: field.into(),
                equals,
            }),
        }
    }

    fn options(values: &[&str]) -> Vec<ChoiceOption> {
        values
            .iter()
            .map(|v| ChoiceOption {
                value: (*v).into(),
                label_fr: (*v).into(),
                label_en: (*v).into(),
            })
            .collect()
    }

    #[test]
    fn conditions_on_lists_booleans_and_chains() {
        let mut fields: Vec<FieldDef> = supplier_form().fields[..3].to_vec();
        fields.extend([
            field(
                "goods",
                FieldKind::MultipleChoice {
                    options: options(&["food", "tools"]),
                    min_selected: None,
                    max_selected: None,
                },
                None,
            ),
            field(
                "food_licence",
                FieldKind::YesNo {},
                Some(("goods", json!("food"))),
            ),
            field(
                "licence_number",
                FieldKind::ShortText { max_length: None },
                Some(("food_licence", json!(true))),
            ),
            field(
                "newsletter",
                FieldKind::Consent {
                    purpose: "newsletter".into(),
                    text_fr: "Lettre".into(),
                    text_en: "Letter".into(),
                    version: "1".into(),
                },
                None,
            ),
            field(
                "why_not",
                FieldKind::ShortText { max_length: None },
                Some(("newsletter", json!(false))),
            ),
        ]);
        let form = FormDefinition { fields };
        assert_eq!(form.check(), Ok(()));
        let base = answers(json!({"first_name": "A", "last_name": "B", "email": "a@b.fr"}));
        let run = |extra: Value| {
            let mut m = base.clone();
            m.extend(answers(extra));
            validate(&form, &m, today()).unwrap()
        };
        let all = json!({"goods": ["tools", "food"], "food_licence": "oui", "licence_number": "L-1", "why_not": "spam", "newsletter": true});
        let s = run(all.clone());
        assert_eq!(
            s.answers.keys().collect::<Vec<_>>(),
            ["food_licence", "goods", "licence_number"]
        );
        // No food: the licence question is hidden, and so is the one that hangs on it.
        let mut no_food = all.clone();
        no_food["goods"] = json!(["tools"]);
        let s = run(no_food);
        assert_eq!(s.answers.keys().collect::<Vec<_>>(), ["goods"]);
        // An unticked consent is false, and recorded as not granted.
        let mut unticked = all;
        unticked.as_object_mut().unwrap().remove("newsletter");
        let s = run(unticked);
        assert_eq!(s.answers["why_not"], json!("spam"));
        assert!(!s.consents[0].granted);
    }

    #[test]
    fn oversized_submissions_are_refused_not_choked_on() {
        let mut m = minimal();
        for i in 0..MAX_ANSWERS {
            m.insert(format!("extra_{i}"), json!(i));
        }
        assert_eq!(
            validate(&supplier_form(), &m, today()),
            Err(vec![(
                WHOLE_FORM.to_owned(),
                "must have at most 200 answers".to_owned()
            )])
        );
        assert_eq!(
            refusal(
                json!({"company": "x".repeat(MAX_ANSWER_CHARS + 1)}),
                "company"
            ),
            "must be at most 10000 characters (got 10001)"
        );
        assert_eq!(
            refusal(
                json!({"sectors": ["a", "x".repeat(MAX_ANSWER_CHARS + 1)]}),
                "sectors"
            ),
            "must be at most 10000 characters (got 10001)"
        );
        assert_eq!(
            refusal(json!({"sectors": vec!["a"; MAX_ITEMS + 1]}), "sectors"),
            "must have at most 100 items"
        );
        assert_eq!(
            refusal(
                json!({"vat_number": " ".repeat(MAX_ANSWER_CHARS) + "x"}),
                "vat_number"
            ),
            "must be at most 10000 characters (got 10001)"
        );
    }

    fn problems_of(def: Value) -> Problems {
        let form: FormDefinition = serde_json::from_value(def).unwrap();
        form.check().expect_err("the definition is refused")
    }

    fn has(problems: &Problems, path: &str, message: &str) -> bool {
        problems.iter().any(|(p, m)| p == path && m == message)
    }

    #[test]
    fn definition_problems_name_their_paths() {
        let mut def = supplier_json();
        let fields = def["fields"].as_array_mut().unwrap();
        fields[1]["required"] = json!(false); // last_name optional
        fields[2]["condition"] = json!({"field": "stand_size", "equals": "large"}); // email, later
        fields[3]["key"] = json!("societe"); // standard company under another key
        fields[4]["key"] = json!("Mobile");
        fields[6]["kind"]["options"][1]["value"] = json!("small");
        fields[6]["kind"]["options"][2]["value"] = json!("Large!");
        fields[6]["label_en"] = json!("");
        fields[6]["help_fr"] = json!("a\tb");
        fields[7]["condition"] = json!({"field": "stand_size", "equals": "huge"});
        fields[8]["kind"]["min_selected"] = json!(6);
        fields[8]["kind"]["max_selected"] = json!(5);
        fields[9]["kind"]["min"] = json!(10.0);
        fields[9]["kind"]["max"] = json!(1.0);
        fields[11]["kind"]["max_length"] = json!(0);
        fields[12]["kind"] = json!({"type": "short_text", "max_length": 201});
        fields[13]["key"] = json!("vat_number");
        fields[14]["key"] = json!("city");
        fields[15]["kind"]["min"] = json!("2027-04-01");
        fields[16]["condition"] = json!({"field": "terms", "equals": true});
        fields[17]["condition"] = json!({"field": "vat_number", "equals": "x"});
        fields[17]["kind"]["purpose"] = json!("Terms");
        fields[17]["kind"]["version"] = json!("v".repeat(51));
        fields[18]["kind"]["text_en"] = json!("  ");
        fields[18]["condition"] = json!({"field": "needs_water", "equals": "yes"});
        fields.remove(0); // no first_name
        let p = problems_of(def);
        // Indexes below are after the removal of first_name.
        let expected = [
            (
                "fields[0].required",
                "must be true for last_name, which every registration needs",
            ),
            (
                "fields[1].condition",
                "must be absent for email, which every registration needs",
            ),
            ("fields[1].condition.field", "must name an earlier field"),
            (
                "fields[2].key",
                "must be company, the name of its standard field",
            ),
            ("fields[3].key", KEY_RULE),
            ("fields[5].kind.options[1].value", "duplicates options[0]"),
            ("fields[5].kind.options[2].value", VALUE_RULE),
            ("fields[5].label_en", "must not be empty"),
            ("fields[5].help_fr", "must not contain control characters"),
            (
                "fields[6].condition.equals",
                "must be one of: small, small, Large!",
            ),
            (
                "fields[7].kind.min_selected",
                "must not be greater than max_selected",
            ),
            (
                "fields[7].kind.max_selected",
                "must not exceed the number of options (4)",
            ),
            ("fields[8].kind.min", "must not be greater than max"),
            ("fields[10].kind.max_length", "must be between 1 and 200"),
            ("fields[11].kind.max_length", "must be between 1 and 200"),
            ("fields[12].key", "duplicates the key of fields[10]"),
            (
                "fields[13].key",
                "is the name of a standard field: ask it with a field of type standard",
            ),
            ("fields[14].kind.min", "must not be after max"),
            ("fields[15].condition.field", "must name an earlier field"),
            (
                "fields[16].condition.field",
                "must name a single choice, multiple choice, yes/no or consent field",
            ),
            ("fields[16].kind.purpose", KEY_RULE),
            (
                "fields[16].kind.version",
                "must be at most 50 characters (got 51)",
            ),
            ("fields[17].kind.text_en", "must not be empty"),
            ("fields[17].condition.equals", "must be true or false"),
            ("fields", "must include the standard field first_name"),
        ];
        for (path, message) in expected {
            assert!(
                has(&p, path, message),
                "missing ({path}, {message}) in {p:#?}"
            );
        }
        assert_eq!(p.len(), expected.len(), "{p:#?}");
    }

    #[test]
    fn more_definition_problems() {
        let mut def = supplier_json();
        let fields = def["fields"].as_array_mut().unwrap();
        fields[18]["kind"]["purpose"] = json!("terms_of_sale");
        fields[6]["kind"]["options"] = json!([]);
        fields[8]["kind"]["max_selected"] = json!(0);
        fields[9]["condition"] = json!({"field": "nowhere", "equals": true});
        fields[10]["label_fr"] = json!("é".repeat(201));
        let p = problems_of(def);
        for (path, message) in [
            (
                "fields[18].kind.purpose",
                "is the purpose of fields[17] already",
            ),
            ("fields[6].kind.options", "must have 1 to 100 options"),
            ("fields[8].kind.max_selected", "must be at least 1"),
            ("fields[9].condition.field", "names no field of this form"),
            (
                "fields[10].label_fr",
                "must be at most 200 characters (got 201)",
            ),
        ] {
            assert!(
                has(&p, path, message),
                "missing ({path}, {message}) in {p:#?}"
            );
        }
        // Too many fields; a standard field twice is a duplicate key.
        let mut form = supplier_form();
        form.fields.push(form.fields[0].clone());
        for i in 0..MAX_FIELDS {
            form.fields
                .push(field(&format!("q{i}"), FieldKind::YesNo {}, None));
        }
        let p = form.check().unwrap_err();
        assert!(has(&p, "fields", "must have at most 100 fields"), "{p:?}");
        assert!(
            has(&p, "fields[19].key", "duplicates the key of fields[0]"),
            "{p:?}"
        );
    }

    /// Any JSON: strings people might type, numbers, booleans, nulls, and nested lists.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "\\PC{0,12}".prop_map(Value::String),
            prop::sample::select(vec![
                "",
                " ",
                "large",
                "small",
                "welding",
                "machining",
                "12,5",
                "-3",
                "oui",
                "non",
                "fr",
                "+33 6 12 34 56 78",
                "a@b.fr",
                "2027-03-05",
                "industry/machining",
                "\u{0}",
                "\n",
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,3}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn json_key() -> impl Strategy<Value = String> {
        let keys: Vec<String> = supplier_form().fields.into_iter().map(|f| f.key).collect();
        prop_oneof![prop::sample::select(keys), "\\PC{0,8}"]
    }

    /// An answer the supplier form accepts, written as people write them, so that the
    /// property below sees many accepted submissions and not only refusals.
    fn plausible_entry() -> impl Strategy<Value = (String, Value)> {
        let entries = [
            ("first_name", json!(" Zoë ")),
            ("mobile_phone", json!(" +33 6 12 ")),
            ("sectors", json!([" industry/machining ", ""])),
            ("stand_size", json!("large")),
            ("stand_size", json!(" medium ")),
            ("stand_wishes", json!("Près de l'entrée\n\tangle ")),
            ("processes", json!(["welding", "machining"])),
            ("processes", json!(["painting", ""])),
            ("employees", json!("250")),
            ("employees", json!(12.0)),
            ("power_kw", json!("12,5")),
            ("power_kw", json!(0.25)),
            ("power_kw", json!(1e300)),
            ("vat_number", json!(" FR1 ")),
            ("billing_country", json!("de")),
            ("onsite_phone", json!("0033 1 23 45 67 89")),
            ("billing_email", json!("Compta@Usinage.FR")),
            ("setup_date", json!("2027-03-02")),
            ("needs_water", json!("non")),
            ("needs_water", json!(true)),
            ("marketing", json!(true)),
            ("marketing", json!(false)),
            ("terms", json!(true)),
        ];
        prop::sample::select(entries.map(|(k, v)| (k.to_owned(), v)).to_vec())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever is posted, validation answers: either a submission whose answers validate
        /// again to themselves, or problems named on keys the form or the answers hold.
        #[test]
        fn validate_never_panics_and_normalises_to_a_fixed_point(
            entries in prop::collection::vec(
                prop_oneof![3 => plausible_entry(), 1 => (json_key(), json_value())],
                0..12,
            ),
            from_valid in any::<bool>(),
        ) {
            let form = supplier_form();
            let mut m = if from_valid { minimal() } else { Map::new() };
            m.extend(entries);
            match validate(&form, &m, today()) {
                Ok(sub) => {
                    let mut again: Map<String, Value> = sub
                        .standard
                        .iter()
                        .map(|(f, v)| (f.name().to_owned(), v.clone()))
                        .chain(sub.answers.clone())
                        .collect();
                    for c in &sub.consents {
                        again.insert(c.key.clone(), Value::Bool(c.granted));
                    }
                    prop_assert_eq!(validate(&form, &again, today()), Ok(sub));
                }
                Err(problems) => {
                    prop_assert!(!problems.is_empty());
                    for (key, message) in &problems {
                        prop_assert!(
                            m.contains_key(key) || form.fields.iter().any(|f| &f.key == key),
                            "{} {}", key, message
                        );
                    }
                }
            }
        }
    }
}
