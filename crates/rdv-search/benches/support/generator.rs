//! A seeded generator of realistic French and English B2B profiles, and of queries derived
//! from known target profiles.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rdv_domain::{
    CountryCode, EventId, LanguageCode, OrganizationId, ParticipantType, RegistrationId,
    RegistrationStatus,
};
use rdv_search::{typo_budget, Profile, SectorPath};

/// (sector path, French products, English products)
const SECTORS: &[(&str, &[&str], &[&str])] = &[
    (
        "industry/machining",
        &[
            "usinage de précision",
            "fraisage",
            "tournage",
            "rectification",
            "pièces mécaniques",
        ],
        &[
            "precision machining",
            "milling",
            "turning",
            "grinding",
            "machined parts",
        ],
    ),
    (
        "industry/sheet-metal",
        &[
            "découpe laser",
            "pliage de tôles",
            "chaudronnerie",
            "soudure",
            "emboutissage",
        ],
        &[
            "laser cutting",
            "sheet metal bending",
            "boilermaking",
            "welding",
            "stamping",
        ],
    ),
    (
        "industry/plastics",
        &[
            "injection plastique",
            "moules",
            "extrusion",
            "thermoformage",
            "pièces composites",
        ],
        &[
            "plastic injection",
            "moulds",
            "extrusion",
            "thermoforming",
            "composite parts",
        ],
    ),
    (
        "industry/electronics",
        &[
            "cartes électroniques",
            "câblage",
            "capteurs",
            "automates",
            "électronique embarquée",
        ],
        &[
            "circuit boards",
            "cable assemblies",
            "sensors",
            "controllers",
            "embedded electronics",
        ],
    ),
    (
        "industry/tooling",
        &[
            "machines-outils",
            "outillage",
            "robots industriels",
            "convoyeurs",
            "maintenance industrielle",
        ],
        &[
            "machine tools",
            "tooling",
            "industrial robots",
            "conveyors",
            "industrial maintenance",
        ],
    ),
    (
        "industry/packaging",
        &[
            "emballages carton",
            "emballages durables",
            "étiquettes",
            "palettes",
            "films plastiques",
        ],
        &[
            "cardboard packaging",
            "sustainable packaging",
            "labels",
            "pallets",
            "plastic films",
        ],
    ),
    (
        "food/dairy",
        &[
            "fromages affinés",
            "produits laitiers",
            "yaourts",
            "beurre",
            "crèmes desserts",
        ],
        &[
            "aged cheeses",
            "dairy products",
            "yoghurts",
            "butter",
            "dessert creams",
        ],
    ),
    (
        "food/bakery",
        &[
            "viennoiseries surgelées",
            "pains spéciaux",
            "farines",
            "biscuits",
            "pâtisseries",
        ],
        &[
            "frozen pastries",
            "speciality breads",
            "flours",
            "biscuits",
            "cakes",
        ],
    ),
    (
        "food/beverages",
        &[
            "vins",
            "jus de fruits",
            "spiritueux",
            "bières artisanales",
            "eaux minérales",
        ],
        &[
            "wines",
            "fruit juices",
            "spirits",
            "craft beers",
            "mineral waters",
        ],
    ),
    (
        "food/ingredients",
        &[
            "arômes naturels",
            "épices",
            "additifs",
            "huiles végétales",
            "protéines végétales",
        ],
        &[
            "natural flavours",
            "spices",
            "additives",
            "vegetable oils",
            "plant proteins",
        ],
    ),
    (
        "services/logistics",
        &[
            "transport routier",
            "entreposage",
            "logistique",
            "affrètement",
            "dédouanement",
        ],
        &[
            "road haulage",
            "warehousing",
            "logistics",
            "freight forwarding",
            "customs clearance",
        ],
    ),
    (
        "services/software",
        &[
            "logiciels de planification",
            "ERP",
            "gestion de production",
            "applications mobiles",
            "cybersécurité",
        ],
        &[
            "planning software",
            "ERP systems",
            "production management",
            "mobile applications",
            "cybersecurity",
        ],
    ),
    (
        "services/consulting",
        &[
            "conseil en stratégie",
            "audit qualité",
            "certification",
            "formation",
            "accompagnement export",
        ],
        &[
            "strategy consulting",
            "quality audits",
            "certification",
            "training",
            "export support",
        ],
    ),
    (
        "services/finance",
        &[
            "affacturage",
            "crédit-bail",
            "assurance crédit",
            "financement",
            "expertise comptable",
        ],
        &[
            "factoring",
            "leasing",
            "credit insurance",
            "financing",
            "accounting",
        ],
    ),
    (
        "energy/solar",
        &[
            "panneaux solaires",
            "onduleurs",
            "installation photovoltaïque",
            "stockage d'énergie",
            "bornes de recharge",
        ],
        &[
            "solar panels",
            "inverters",
            "photovoltaic installation",
            "energy storage",
            "charging stations",
        ],
    ),
    (
        "energy/efficiency",
        &[
            "isolation thermique",
            "pompes à chaleur",
            "audit énergétique",
            "éclairage LED",
            "récupération de chaleur",
        ],
        &[
            "thermal insulation",
            "heat pumps",
            "energy audits",
            "LED lighting",
            "heat recovery",
        ],
    ),
    (
        "construction/materials",
        &[
            "béton",
            "bois de construction",
            "menuiseries",
            "isolants",
            "carrelage",
        ],
        &[
            "concrete",
            "timber",
            "joinery",
            "insulation materials",
            "tiles",
        ],
    ),
    (
        "construction/equipment",
        &[
            "engins de chantier",
            "échafaudages",
            "grues",
            "location de matériel",
            "outillage électroportatif",
        ],
        &[
            "construction machinery",
            "scaffolding",
            "cranes",
            "equipment rental",
            "power tools",
        ],
    ),
    (
        "health/medical-devices",
        &[
            "dispositifs médicaux",
            "implants",
            "instruments chirurgicaux",
            "consommables",
            "imagerie",
        ],
        &[
            "medical devices",
            "implants",
            "surgical instruments",
            "consumables",
            "imaging",
        ],
    ),
    (
        "health/pharma",
        &[
            "principes actifs",
            "sous-traitance pharmaceutique",
            "conditionnement",
            "analyses",
            "essais cliniques",
        ],
        &[
            "active ingredients",
            "pharmaceutical outsourcing",
            "packaging lines",
            "laboratory testing",
            "clinical trials",
        ],
    ),
    (
        "textile/technical",
        &[
            "textiles techniques",
            "tissus ignifugés",
            "non-tissés",
            "fils",
            "vêtements de travail",
        ],
        &[
            "technical textiles",
            "flame-retardant fabrics",
            "nonwovens",
            "yarns",
            "workwear",
        ],
    ),
    (
        "aerospace/parts",
        &[
            "pièces aéronautiques",
            "traitement de surface",
            "composites carbone",
            "avions",
            "contrôle non destructif",
        ],
        &[
            "aerospace parts",
            "surface treatment",
            "carbon composites",
            "aircraft",
            "non-destructive testing",
        ],
    ),
];

const SYLLABLES: &[&str] = &[
    "pro", "da", "lis", "tek", "no", "va", "mi", "ra", "sol", "ven", "tor", "ka", "lu", "mex",
    "dor", "fi", "gal", "xo", "bel", "cor", "ne", "sta", "vi", "ta", "qua", "ri", "om", "ni",
    "zen", "ar", "te", "mo", "sy", "plex", "ly", "ra", "cap", "to", "ber", "gi", "an", "ex", "al",
    "ve", "dra", "ko", "su", "pha", "ri", "on", "mar", "el", "vo", "lia",
];
const ACTIVITY_FR: &[&str] = &[
    "Industrie",
    "Usinage",
    "Logistique",
    "Emballages",
    "Solutions",
    "Conseil",
    "Technologies",
    "Groupe",
    "Atelier",
    "Distribution",
];
const ACTIVITY_EN: &[&str] = &[
    "Industries",
    "Engineering",
    "Logistics",
    "Packaging",
    "Solutions",
    "Consulting",
    "Technologies",
    "Group",
    "Systems",
    "Supply",
];
const LEGAL_FR: &[&str] = &["SAS", "SARL", "SA", "SCOP"];
const LEGAL_EN: &[&str] = &["Ltd", "Inc", "LLC", "GmbH", "BV"];
const FIRST_FR: &[&str] = &[
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Jade",
    "Louise",
    "Emma",
    "Hugo",
    "Lucas",
    "Théo",
    "Nathan",
    "Mathis",
    "Raphaël",
    "Arthur",
    "Jules",
    "Élodie",
    "Céline",
    "Sébastien",
    "François",
    "Stéphane",
    "Hélène",
    "Jérôme",
    "Gaëlle",
    "Benoît",
    "Agnès",
    "Aurélien",
    "Mélanie",
    "Noémie",
    "Clément",
];
const FIRST_EN: &[&str] = &[
    "Oliver",
    "George",
    "Harry",
    "Jack",
    "Noah",
    "Amelia",
    "Olivia",
    "Isla",
    "Emily",
    "Sophie",
    "James",
    "William",
    "Charlotte",
    "Grace",
    "Thomas",
    "Daniel",
    "Hannah",
    "Jessica",
    "Michael",
    "Sarah",
    "David",
    "Rebecca",
    "Andrew",
    "Laura",
    "Matthew",
    "Rachel",
    "Peter",
    "Helen",
    "Richard",
    "Claire",
];
const LAST_FR: &[&str] = &[
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
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefèvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
];
const LAST_EN: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Lewis",
    "James",
    "Phillips",
    "Mason",
    "Mitchell",
    "Rose",
    "Davis",
    "Rodriguez",
    "Cox",
    "Alexander",
    "Morgan",
    "Moore",
    "Martin",
    "Price",
    "Hughes",
    "Edwards",
    "Harris",
    "Carter",
    "Turner",
    "Baker",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "King",
    "Bell",
    "Young",
    "Allen",
];
const TITLE_FR: &[&str] = &[
    "Directeur commercial",
    "Responsable achats",
    "Directrice générale",
    "Ingénieur d'affaires",
    "Acheteuse industrielle",
    "Chef de projet",
    "Responsable export",
    "Gérant",
];
const TITLE_EN: &[&str] = &[
    "Sales Director",
    "Purchasing Manager",
    "Chief Executive Officer",
    "Business Developer",
    "Procurement Lead",
    "Project Manager",
    "Export Manager",
    "Managing Director",
];
const CITY_FR: &[&str] = &[
    "Lyon",
    "Grenoble",
    "Nantes",
    "Toulouse",
    "Lille",
    "Bordeaux",
    "Rennes",
    "Strasbourg",
    "Clermont-Ferrand",
    "Saint-Étienne",
    "Besançon",
    "Annecy",
    "Orléans",
    "Montpellier",
    "Bruxelles",
    "Genève",
    "Liège",
    "Lausanne",
];
const CITY_EN: &[&str] = &[
    "Manchester",
    "Birmingham",
    "Leeds",
    "Glasgow",
    "Bristol",
    "Sheffield",
    "Dublin",
    "Boston",
    "Chicago",
    "Toronto",
    "Munich",
    "Rotterdam",
    "Milan",
    "Barcelona",
];
const ADJ_FR: &[&str] = &[
    "familiale",
    "innovante",
    "indépendante",
    "certifiée ISO 9001",
    "reconnue",
    "en forte croissance",
    "à taille humaine",
];
const ADJ_EN: &[&str] = &[
    "family-owned",
    "innovative",
    "independent",
    "ISO 9001 certified",
    "award-winning",
    "fast-growing",
    "customer-focused",
];
const COUNTRIES_FR: &[(&str, u32)] = &[("FR", 80), ("BE", 10), ("CH", 6), ("CA", 4)];
const COUNTRIES_EN: &[(&str, u32)] = &[
    ("GB", 40),
    ("US", 20),
    ("DE", 12),
    ("NL", 8),
    ("IE", 8),
    ("IT", 6),
    ("ES", 6),
];

/// Events of the bench: (organization, event, share of profiles in percent).
pub const EVENTS: &[(i64, i64, u32)] = &[(1, 1, 60), (1, 2, 20), (2, 3, 10), (3, 4, 5), (3, 5, 5)];

/// The generated profile and what the queries need to know of it.
pub struct Generated {
    pub profile: Profile,
    pub brand: String,
    pub first_name: String,
    pub last_name: String,
    pub offer_words: Vec<String>,
    pub top_sector: String,
}

fn weighted<'a>(rng: &mut ChaCha8Rng, items: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.gen_range(0..total);
    for (item, w) in items {
        if roll < *w {
            return item;
        }
        roll -= w;
    }
    items[0].0
}

fn pick<'a>(rng: &mut ChaCha8Rng, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or_default()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn join_list(items: &[&str], and: &str) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} {and} {last}", init.join(", ")),
    }
}

pub fn profiles(seed: u64, n: usize) -> Vec<Generated> {
    let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
    (0..n).map(|i| one(&mut rng, i as i64 + 1)).collect()
}

fn one(rng: &mut ChaCha8Rng, id: i64) -> Generated {
    let french = rng.gen_bool(0.6);
    let syllables = if rng.gen_bool(0.2) { 2 } else { 3 };
    let brand = capitalise(
        &(0..syllables)
            .map(|_| pick(rng, SYLLABLES))
            .collect::<String>(),
    );
    let (activity, legal) = if french {
        (ACTIVITY_FR, LEGAL_FR)
    } else {
        (ACTIVITY_EN, LEGAL_EN)
    };
    let company = if rng.gen_bool(0.5) {
        format!("{brand} {} {}", pick(rng, activity), pick(rng, legal))
    } else {
        format!("{brand} {}", pick(rng, legal))
    };
    let first_name = pick(rng, if french { FIRST_FR } else { FIRST_EN }).to_owned();
    let last_name = pick(rng, if french { LAST_FR } else { LAST_EN }).to_owned();
    let own = rng.gen_range(0..SECTORS.len());
    let mut sector_ids = vec![own];
    if rng.gen_bool(0.3) {
        sector_ids.push(rng.gen_range(0..SECTORS.len()));
        sector_ids.dedup();
    }
    let wanted = rng.gen_range(0..SECTORS.len());
    let products = |rng: &mut ChaCha8Rng, s: usize, k: usize| -> Vec<&'static str> {
        let list = if french { SECTORS[s].1 } else { SECTORS[s].2 };
        list.choose_multiple(rng, k).copied().collect()
    };
    let k = rng.gen_range(2..=3);
    let offered = products(rng, own, k);
    let k = rng.gen_range(1..=3);
    let needed = products(rng, wanted, k);
    let city = pick(rng, if french { CITY_FR } else { CITY_EN });
    let adjective = pick(rng, if french { ADJ_FR } else { ADJ_EN });
    let since = rng.gen_range(1950..2022);
    let (offers, needs, description, title) = if french {
        (
            format!("Nous proposons {}.", join_list(&offered, "et")),
            format!("Nous recherchons des fournisseurs en {}.", join_list(&needed, "et")),
            format!(
                "{company} est une entreprise {adjective} basée à {city}, active depuis {since} dans {} pour des clients industriels en France et en Europe.",
                join_list(&products(rng, own, 2), "et")
            ),
            pick(rng, TITLE_FR),
        )
    } else {
        (
            format!("We provide {}.", join_list(&offered, "and")),
            format!("We are looking for suppliers of {}.", join_list(&needed, "and")),
            format!(
                "{company} is an {adjective} company based in {city}, trading since {since} in {} for industrial customers across Europe and North America.",
                join_list(&products(rng, own, 2), "and")
            ),
            pick(rng, TITLE_EN),
        )
    };
    let country = weighted(rng, if french { COUNTRIES_FR } else { COUNTRIES_EN });
    let mut languages = vec![if french { "fr" } else { "en" }];
    if rng.gen_bool(0.4) {
        languages.push(if french { "en" } else { "fr" });
    }
    let share = rng.gen_range(0..100);
    let mut acc = 0;
    let &(org, event, _) = EVENTS
        .iter()
        .find(|(_, _, s)| {
            acc += s;
            share < acc
        })
        .unwrap_or(&EVENTS[0]);
    let status = match rng.gen_range(0..100) {
        0..=84 => RegistrationStatus::Validated,
        85..=92 => RegistrationStatus::Pending,
        93..=96 => RegistrationStatus::Refused,
        _ => RegistrationStatus::Cancelled,
    };
    let participant_type = match rng.gen_range(0..10) {
        0..=3 => ParticipantType::Buyer,
        4..=8 => ParticipantType::Supplier,
        _ => ParticipantType::Exhibitor,
    };
    let offer_words = offered
        .iter()
        .flat_map(|p| p.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.chars().count() >= 5)
        .map(str::to_owned)
        .collect();
    let sectors: Vec<SectorPath> = sector_ids
        .iter()
        .filter_map(|&s| SectorPath::parse(SECTORS[s].0).ok())
        .collect();
    Generated {
        top_sector: SECTORS[own]
            .0
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
        profile: Profile {
            registration_id: RegistrationId(id),
            organization_id: OrganizationId(org),
            event_id: EventId(event),
            name: format!("{first_name} {last_name}"),
            company,
            job_title: title.to_owned(),
            company_description: description,
            offers,
            needs,
            sectors,
            country: CountryCode::parse(country).ok(),
            participant_type,
            languages: languages
                .iter()
                .filter_map(|l| LanguageCode::parse(l).ok())
                .collect(),
            status,
            profile_visible: rng.gen_bool(0.95),
            restricted: rng.gen_bool(0.005),
            erased: rng.gen_bool(0.005),
        },
        brand,
        first_name,
        last_name,
        offer_words,
    }
}

/// What a bench query exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SingleWord,
    SeveralWords,
    OneTypo,
    TwoTypos,
    Faceted,
    Prefix,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SingleWord => "single_word",
            Kind::SeveralWords => "several_words",
            Kind::OneTypo => "one_typo",
            Kind::TwoTypos => "two_typos",
            Kind::Faceted => "faceted",
            Kind::Prefix => "prefix",
        }
    }
}

pub struct BenchQuery {
    pub kind: Kind,
    pub text: String,
    /// The query is being typed: its last word is a prefix.
    pub prefix: bool,
    pub target: usize,
    /// Filter on the target's country and top-level sector.
    pub faceted: bool,
}

/// One random edit (substitution, deletion, insertion or transposition) inside the word,
/// keeping its first letter, as people rarely mistype that.
fn typo(rng: &mut ChaCha8Rng, word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let letters: Vec<char> = "abcdefghijklmnopqrstuvwxyz".chars().collect();
    let at = rng.gen_range(1..chars.len());
    match rng.gen_range(0..4) {
        0 => {
            let mut c = *letters.choose(rng).unwrap_or(&'e');
            while c.to_lowercase().eq(chars[at].to_lowercase()) {
                c = *letters.choose(rng).unwrap_or(&'e');
            }
            chars[at] = c;
        }
        1 => {
            chars.remove(at);
        }
        2 => chars.insert(at, *letters.choose(rng).unwrap_or(&'e')),
        _ if at + 1 < chars.len() && chars[at] != chars[at + 1] => chars.swap(at, at + 1),
        _ => chars[at] = if chars[at] == 'x' { 'z' } else { 'x' },
    }
    chars.into_iter().collect()
}

/// `n` queries, each derived from a random listed target profile.
pub fn queries(seed: u64, profiles: &[Generated], n: usize) -> Vec<BenchQuery> {
    let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
    let kinds = [
        Kind::SingleWord,
        Kind::SeveralWords,
        Kind::OneTypo,
        Kind::TwoTypos,
        Kind::Faceted,
        Kind::Prefix,
    ];
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let target = rng.gen_range(0..profiles.len());
        let g = &profiles[target];
        let p = &g.profile;
        if !(p.is_indexable() && p.is_listed()) || g.offer_words.is_empty() {
            continue;
        }
        let kind = kinds[out.len() % kinds.len()];
        let offer_word = g.offer_words.choose(&mut rng).cloned().unwrap_or_default();
        let (text, prefix, faceted) = match kind {
            Kind::SingleWord => (g.brand.clone(), false, false),
            Kind::SeveralWords => (
                format!("{} {} {offer_word}", g.first_name, g.last_name),
                false,
                false,
            ),
            Kind::OneTypo => {
                // One edit in the brand when it allows it, else in the offer word.
                if typo_budget(&g.brand.to_lowercase()) >= 1 {
                    (
                        format!("{} {offer_word}", typo(&mut rng, &g.brand)),
                        false,
                        false,
                    )
                } else {
                    (
                        format!("{} {}", g.brand, typo(&mut rng, &offer_word)),
                        false,
                        false,
                    )
                }
            }
            Kind::TwoTypos => {
                // Two typos over the query, within each word's budget.
                let brand = if typo_budget(&g.brand.to_lowercase()) >= 1 {
                    typo(&mut rng, &g.brand)
                } else {
                    g.brand.clone()
                };
                let last = if typo_budget(&g.last_name.to_lowercase()) >= 1 {
                    typo(&mut rng, &g.last_name)
                } else {
                    g.last_name.clone()
                };
                (format!("{brand} {last}"), false, false)
            }
            Kind::Faceted => (offer_word, false, true),
            Kind::Prefix => {
                let brand: String = g
                    .brand
                    .chars()
                    .take(g.brand.chars().count().min(5))
                    .collect();
                (format!("{} {brand}", g.last_name), true, false)
            }
        };
        out.push(BenchQuery {
            kind,
            text,
            prefix,
            target,
            faceted,
        });
    }
    out
}
