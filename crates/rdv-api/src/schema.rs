//! OpenAPI schemas of the values the use cases check, built from the same formats
//! (`rdv_domain::format`) and limits the checks use, for `#[schema(schema_with = ...)]`.
//! An `opt_*` schema also accepts `null`, and blank text where the check reads blank as
//! absent.

use rdv_domain::format::{self, TextFormat};
use rdv_domain::{
    BoundedText, CountryCode, EmailAddress, LanguageCode, MultilineText, PhoneNumber, SectorPath,
    Slug,
};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;

fn string(f: TextFormat, nullable: bool) -> ObjectBuilder {
    let ty = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::new(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(ty)
        .pattern(Some(f.pattern.source()))
        .max_length(Some(f.max_chars))
        .description(Some(f.description))
}

/// One line of text of at most `MAX` characters.
pub fn text<const MAX: usize>() -> RefOr<Schema> {
    string(BoundedText::<MAX>::format(), false).into()
}

/// One line of text, or `null` to leave the value as it is.
pub fn text_or_null<const MAX: usize>() -> RefOr<Schema> {
    string(BoundedText::<MAX>::format(), true).into()
}

/// A text filter of a list: blank for none (a query value is never `null`).
pub fn text_filter<const MAX: usize>() -> RefOr<Schema> {
    string(BoundedText::<MAX>::format().or_blank(), false).into()
}

/// Optional one-line text: `null` or blank for none.
pub fn opt_text<const MAX: usize>() -> RefOr<Schema> {
    string(BoundedText::<MAX>::format().or_blank(), true).into()
}

/// Optional text that may span lines: `null` or blank for none.
pub fn opt_multiline<const MAX: usize>() -> RefOr<Schema> {
    string(MultilineText::<MAX>::format().or_blank(), true).into()
}

pub fn email() -> RefOr<Schema> {
    string(EmailAddress::FORMAT, false).into()
}

pub fn email_or_null() -> RefOr<Schema> {
    string(EmailAddress::FORMAT, true).into()
}

/// Optional phone number: `null` or blank for none.
pub fn opt_phone() -> RefOr<Schema> {
    string(PhoneNumber::FORMAT.or_blank(), true).into()
}

/// Optional country code: `null` or blank for none.
pub fn opt_country() -> RefOr<Schema> {
    string(CountryCode::FORMAT.or_blank(), true).into()
}

/// A country code as a query filter (absent for none; a query value is never `null`).
pub fn country_filter() -> RefOr<Schema> {
    string(CountryCode::FORMAT.or_blank(), false).into()
}

pub fn language() -> RefOr<Schema> {
    string(LanguageCode::FORMAT, false).into()
}

pub fn language_or_null() -> RefOr<Schema> {
    string(LanguageCode::FORMAT, true).into()
}

pub fn slug() -> RefOr<Schema> {
    string(Slug::FORMAT, false).into()
}

pub fn sector() -> RefOr<Schema> {
    string(SectorPath::FORMAT, false).into()
}

fn list(items: RefOr<Schema>, max: usize, nullable: bool) -> RefOr<Schema> {
    let ty = if nullable {
        SchemaType::from_iter([Type::Array, Type::Null])
    } else {
        SchemaType::new(Type::Array)
    };
    ArrayBuilder::new()
        .schema_type(ty)
        .items(items)
        .max_items(Some(max))
        .into()
}

/// A registration's sector paths.
pub fn sectors() -> RefOr<Schema> {
    list(sector(), rdv_app::registrations::MAX_SECTORS, false)
}

pub fn sectors_or_null() -> RefOr<Schema> {
    list(sector(), rdv_app::registrations::MAX_SECTORS, true)
}

/// A registration's languages.
pub fn languages() -> RefOr<Schema> {
    list(language(), rdv_app::registrations::MAX_LANGUAGES, false)
}

pub fn languages_or_null() -> RefOr<Schema> {
    list(language(), rdv_app::registrations::MAX_LANGUAGES, true)
}

/// A meeting quota, or `null` for the default.
pub fn opt_quota() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .minimum(Some(0))
        .maximum(Some(rdv_app::registrations::MAX_QUOTA))
        .into()
}

/// `mr`, `mrs` or `mx`; `null` or blank for none.
pub fn opt_civility() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(format::CIVILITY_OR_BLANK.source()))
        .description(Some("`mr`, `mrs` or `mx`"))
        .into()
}

pub fn time_of_day() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format::TIME_OF_DAY.source()))
        .description(Some("a time of day, HH:MM or HH:MM:SS"))
        .into()
}

/// A number of tables.
pub fn table_count() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(rdv_app::events::MAX_TABLES))
        .into()
}

/// A meeting slot's length in minutes.
pub fn slot_minutes() -> RefOr<Schema> {
    let (shortest, longest) = rdv_app::events::SLOT_MINUTES;
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(shortest))
        .maximum(Some(longest))
        .into()
}

/// A day's breaks.
pub fn breaks() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(utoipa::openapi::Ref::from_schema_name("BreakIn"))
        .max_items(Some(rdv_app::events::MAX_BREAKS))
        .into()
}

/// A comma-separated list of at most `max` items, each matching `item` (an unanchored
/// expression) once trimmed; blank items are skipped, as the search's filters read them.
fn comma_list(item: &str, max: usize, description: &str) -> RefOr<Schema> {
    let blank = format!("{}*", format::WHITESPACE);
    let pattern = format!(
        "^(?:{blank}(?:,{blank})*|(?:{blank},)*{item}(?:(?:,{blank})*,{item}){{0,{more}}}(?:,{blank})*)$",
        more = max.saturating_sub(1)
    );
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

fn word_item<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let ws = format::WHITESPACE;
    let words: Vec<&str> = words.into_iter().collect();
    format!("{ws}*(?:{}){ws}*", words.join("|"))
}

pub fn participant_type_list() -> RefOr<Schema> {
    comma_list(
        &word_item(rdv_domain::ParticipantType::ALL.iter().map(|t| t.as_str())),
        rdv_app::search::MAX_LIST,
        "comma-separated participant types",
    )
}

pub fn country_list() -> RefOr<Schema> {
    comma_list(
        CountryCode::FORMAT.pattern.body(),
        rdv_app::search::MAX_LIST,
        "comma-separated ISO 3166-1 alpha-2 country codes",
    )
}

pub fn sector_list() -> RefOr<Schema> {
    comma_list(
        SectorPath::FORMAT.pattern.body(),
        rdv_app::search::MAX_LIST,
        "comma-separated sector paths",
    )
}

pub fn language_list() -> RefOr<Schema> {
    comma_list(
        LanguageCode::FORMAT.pattern.body(),
        rdv_app::search::MAX_LIST,
        "comma-separated ISO 639-1 language codes",
    )
}

pub fn facet_list() -> RefOr<Schema> {
    comma_list(
        &word_item(rdv_search::FacetName::ALL.iter().map(|f| f.as_str())),
        rdv_app::search::MAX_LIST,
        "comma-separated facets to count",
    )
}

/// Pairs of participant types.
pub fn type_pairs() -> RefOr<Schema> {
    let types: Vec<&str> = rdv_domain::ParticipantType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    let pair = ArrayBuilder::new()
        .items(words(&types, false))
        .min_items(Some(2))
        .max_items(Some(2));
    ArrayBuilder::new()
        .items(pair)
        .max_items(Some(rdv_app::meetings::MAX_PAIRS))
        .into()
}

/// How many live requests one participant may have sent.
pub fn request_allowance() -> RefOr<Schema> {
    let (least, most) = rdv_app::meetings::ALLOWANCE;
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(least))
        .maximum(Some(most))
        .into()
}

/// Which of a participant's requests a list shows.
pub fn mailbox() -> RefOr<Schema> {
    words(&["sent", "received", "all"], false)
}

/// A list of slot ids.
pub fn slot_ids() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::Integer).format(Some(
            utoipa::openapi::schema::SchemaFormat::KnownFormat(
                utoipa::openapi::schema::KnownFormat::Int64,
            ),
        )))
        .max_items(Some(rdv_app::meetings::MAX_UNAVAILABLE))
        .into()
}

pub fn day_ids() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::Integer).format(Some(
            utoipa::openapi::schema::SchemaFormat::KnownFormat(
                utoipa::openapi::schema::KnownFormat::Int64,
            ),
        )))
        .max_items(Some(rdv_app::meetings::MAX_PRESENCE_DAYS))
        .into()
}

fn int_range(min: i64, max: i64, nullable: bool) -> RefOr<Schema> {
    let ty = if nullable {
        SchemaType::from_iter([Type::Integer, Type::Null])
    } else {
        SchemaType::new(Type::Integer)
    };
    ObjectBuilder::new()
        .schema_type(ty)
        .minimum(Some(min))
        .maximum(Some(max))
        .into()
}

/// A planning run's time limit in seconds.
pub fn time_limit() -> RefOr<Schema> {
    int_range(1, rdv_app::planning::MAX_SECONDS, true)
}

/// A planning run's random seed.
pub fn seed() -> RefOr<Schema> {
    int_range(0, i64::MAX, true)
}

/// A planning run's fairness cap.
pub fn fairness() -> RefOr<Schema> {
    int_range(0, rdv_app::planning::MAX_FAIRNESS, true)
}

/// A facet's name.
pub fn facet_name() -> RefOr<Schema> {
    let names: Vec<&str> = rdv_search::FacetName::ALL
        .iter()
        .map(|f| f.as_str())
        .collect();
    words(&names, false)
}

/// Free search text.
pub fn search_text() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(rdv_search::MAX_QUERY_CHARS))
        .into()
}

pub fn search_offset() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(rdv_search::MAX_OFFSET))
        .into()
}

pub fn search_limit() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(rdv_search::MAX_LIMIT))
        .description(Some("results per page (default 20)"))
        .into()
}

fn time_zone_schema(nullable: bool) -> RefOr<Schema> {
    let ty = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::new(Type::String)
    };
    let mut names: Vec<serde_json::Value> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name().into())
        .collect();
    if nullable {
        names.push(serde_json::Value::Null);
    }
    ObjectBuilder::new()
        .schema_type(ty)
        .enum_values(Some(names))
        .description(Some("an IANA time zone, such as Europe/Paris"))
        .into()
}

/// A closed list of words, optionally `null`.
fn words(words: &[&str], nullable: bool) -> RefOr<Schema> {
    let mut values: Vec<serde_json::Value> = words.iter().map(|w| (*w).into()).collect();
    let ty = if nullable {
        values.push(serde_json::Value::Null);
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::new(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(ty)
        .enum_values(Some(values))
        .into()
}

/// Where a person's data comes from, as an organizer may say (`system` is the platform's own).
pub fn person_source() -> RefOr<Schema> {
    let allowed: Vec<&str> = rdv_domain::DataSource::ALL
        .iter()
        .filter(|s| **s != rdv_domain::DataSource::System)
        .map(|s| s.as_str())
        .collect();
    words(&allowed, true)
}

/// The roles of an organization's members.
pub fn member_role() -> RefOr<Schema> {
    let allowed: Vec<&str> = rdv_domain::Role::ALL
        .iter()
        .filter(|r| r.is_organizer())
        .map(|r| r.as_str())
        .collect();
    words(&allowed, false)
}

/// The statuses a new registration may start in.
pub fn new_registration_status() -> RefOr<Schema> {
    let allowed: Vec<&str> = rdv_domain::RegistrationStatus::ALL
        .iter()
        .filter(|s| rdv_app::registrations::may_start_in(**s))
        .map(|s| s.as_str())
        .collect();
    words(&allowed, true)
}

/// A new account's password.
pub fn new_password() -> RefOr<Schema> {
    let (min, max) = rdv_app::organizations::PASSWORD_CHARS;
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .min_length(Some(min))
        .max_length(Some(max))
        .into()
}

/// A 1-based page number.
pub fn page() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(rdv_app::paging::MAX_PAGE))
        .into()
}

/// Rows per page.
pub fn per_page() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(rdv_app::paging::MAX_PER_PAGE))
        .description(Some(format!(
            "rows per page (default {})",
            rdv_app::paging::DEFAULT_PER_PAGE
        )))
        .into()
}

pub fn time_zone() -> RefOr<Schema> {
    time_zone_schema(false)
}

pub fn opt_time_zone() -> RefOr<Schema> {
    time_zone_schema(true)
}

/// A binary file in a response body, such as a PDF.
pub struct BinaryFile;

impl utoipa::PartialSchema for BinaryFile {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                utoipa::openapi::schema::KnownFormat::Binary,
            )))
            .into()
    }
}

impl utoipa::ToSchema for BinaryFile {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("BinaryFile")
    }
}

/// A purpose of processing: for an opposition `marketing_email`, `sms` or
/// `phone_prospecting`, for a consent withdrawal the consent's purpose; `null` for none.
pub fn opt_purpose() -> RefOr<Schema> {
    string(
        TextFormat {
            pattern: &format::PURPOSE,
            max_chars: 63,
            description: "a purpose of processing, a lower-case word",
        },
        true,
    )
    .into()
}
