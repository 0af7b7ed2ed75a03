//! The register of processing activities (GDPR art. 30(1)) for a site's
//! tracking, built from its published configuration, the vendor catalogue
//! and what the owner adds once ([`RegisterProfile`]: controller, contact,
//! DPO, representative, the safeguard of each transfer, extra measures).
//!
//! One activity per purpose (each category of the configuration, required
//! ones too: they are processing as well, on the basis their cookies
//! declare), plus the consent records themselves. Each names what art.
//! 30(1) asks: (a) the controller and its contacts, (b) the purpose, (c)
//! the categories of data subjects and of personal data, (d) the
//! recipients, (e) transfers to third countries with their safeguards
//! (arts. 44–49), (f) the time limits for erasure and (g) the technical and
//! organisational measures (art. 32). Like [`crate::cookie_policy`], it is
//! built from the published configuration alone, so the register says what
//! visitors are shown; every export names the configuration version it was
//! made from.
//!
//! Sources: Regulation (EU) 2016/679, <https://eur-lex.europa.eu/eli/reg/2016/679/oj>;
//! the Dutch supervisory authority on the register,
//! <https://www.autoriteitpersoonsgegevens.nl/themas/basis-avg/avg-algemeen/register-van-verwerkingsactiviteiten>;
//! the Commission's list of adequacy decisions, [`ADEQUACY_SOURCE`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::catalogue::{self, Vendor};
use crate::config::{Category, ConfigVersion, LegalBasis, SiteConfig};
use crate::cookie_policy::legal_basis;
use crate::id::SiteId;

/// The id the owner's details are stored under
/// ([`crate::store::RecordKind::Register`], one per site).
pub const PROFILE_ID: &str = "profile";

/// The European Economic Area: the 27 member states of the EU plus
/// Iceland, Liechtenstein and Norway (EEA Agreement; Decision of the EEA
/// Joint Committee No 154/2018 brought the GDPR into it). ISO 3166-1
/// alpha-2, so Greece is `GR` (the EU's own abbreviation is `EL`).
pub const EEA: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
    "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", // the EU 27
    "IS", "LI", "NO",
];

/// Where [`ADEQUACY`] comes from: the European Commission's page on
/// adequacy decisions (GDPR art. 45(3)).
pub const ADEQUACY_SOURCE: &str = "https://commission.europa.eu/law/law-topic/data-protection/international-dimension-data-protection/adequacy-decisions_en";
/// When [`ADEQUACY`] was last checked against [`ADEQUACY_SOURCE`].
pub const ADEQUACY_CHECKED: &str = "2026-12-05";

/// A third country the Commission found to protect personal data
/// adequately (GDPR art. 45): transfers there need no further safeguard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Adequacy {
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    /// The country's name in English.
    pub name_en: &'static str,
    /// The country's name in Dutch.
    pub name_nl: &'static str,
    /// The decision (its number in the Official Journal and its date).
    pub decision: &'static str,
    /// Only organisations certified under a framework are covered (the
    /// United States: the EU-US Data Privacy Framework), so a transfer
    /// there is covered only when the owner confirms the recipient is
    /// certified ([`Safeguard::Dpf`]).
    pub certified_only: bool,
}

/// The countries with an adequacy decision, as [`ADEQUACY_SOURCE`] lists
/// them on [`ADEQUACY_CHECKED`] (the European Patent Organisation, an
/// international organisation, is left out: no vendor is one). Canada's
/// covers commercial organisations under PIPEDA, Japan's the private
/// sector: the vendors here are both.
pub const ADEQUACY: &[Adequacy] = &[
    adequate("AD", "Andorra", "Andorra", "Decision 2010/625/EU of 19 October 2010"),
    adequate("AR", "Argentina", "Argentinië", "Decision 2003/490/EC of 30 June 2003"),
    adequate("BR", "Brazil", "Brazilië", "Implementing decision of 27 January 2026"),
    adequate(
        "CA",
        "Canada",
        "Canada",
        "Decision 2002/2/EC of 20 December 2001 (commercial organisations, PIPEDA)",
    ),
    adequate(
        "CH",
        "Switzerland",
        "Zwitserland",
        "Decision 2000/518/EC of 26 July 2000",
    ),
    adequate("FO", "Faroe Islands", "Faeröer", "Decision 2010/146/EU of 5 March 2010"),
    adequate(
        "GB",
        "United Kingdom",
        "Verenigd Koninkrijk",
        "Implementing Decision (EU) 2021/1772 of 28 June 2021, renewed on 19 December 2025",
    ),
    adequate("GG", "Guernsey", "Guernsey", "Decision 2003/821/EC of 21 November 2003"),
    adequate("IL", "Israel", "Israël", "Decision 2011/61/EU of 31 January 2011"),
    adequate("IM", "Isle of Man", "Man", "Decision 2004/411/EC of 28 April 2004"),
    adequate("JE", "Jersey", "Jersey", "Decision 2008/393/EC of 8 May 2008"),
    adequate(
        "JP",
        "Japan",
        "Japan",
        "Implementing Decision (EU) 2019/419 of 23 January 2019 (private sector)",
    ),
    adequate(
        "KR",
        "Republic of Korea",
        "Zuid-Korea",
        "Implementing Decision (EU) 2022/254 of 17 December 2021",
    ),
    adequate(
        "NZ",
        "New Zealand",
        "Nieuw-Zeeland",
        "Decision 2013/65/EU of 19 December 2012",
    ),
    Adequacy {
        country: "US",
        name_en: "United States",
        name_nl: "Verenigde Staten",
        decision: "Implementing Decision (EU) 2023/1795 of 10 July 2023 (certified organisations only)",
        certified_only: true,
    },
    adequate("UY", "Uruguay", "Uruguay", "Decision 2012/484/EU of 21 August 2012"),
];

const fn adequate(
    country: &'static str,
    name_en: &'static str,
    name_nl: &'static str,
    decision: &'static str,
) -> Adequacy {
    Adequacy {
        country,
        name_en,
        name_nl,
        decision,
        certified_only: false,
    }
}

/// Where the EU-US Data Privacy Framework's certified organisations are
/// listed (the owner checks the recipient is there).
pub const DPF_LIST: &str = "https://www.dataprivacyframework.gov/list";

/// Whether `country` (ISO 3166-1 alpha-2, any case) is in the EEA.
pub fn in_eea(country: &str) -> bool {
    EEA.iter().any(|c| c.eq_ignore_ascii_case(country.trim()))
}

/// The adequacy decision for `country`, if there is one.
pub fn adequacy(country: &str) -> Option<&'static Adequacy> {
    ADEQUACY.iter().find(|a| a.country.eq_ignore_ascii_case(country.trim()))
}

/// What a transfer outside the EEA rests on (GDPR arts. 45–49), as the
/// owner chooses it per vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Safeguard {
    /// An adequacy decision for the country (art. 45).
    Adequacy,
    /// The EU-US Data Privacy Framework: the adequacy decision of 10 July
    /// 2023 for US organisations certified under it (art. 45).
    Dpf,
    /// The Commission's standard contractual clauses (art. 46(2)(c),
    /// Implementing Decision (EU) 2021/914).
    Scc,
    /// Binding corporate rules approved by a supervisory authority (art. 47).
    Bcr,
    /// A derogation for a specific situation (art. 49), such as the
    /// visitor's explicit consent to the transfer: for occasional
    /// transfers only.
    Derogation,
    /// None chosen yet: the register warns.
    NoneYet,
}

impl Safeguard {
    /// Every choice, in the order a form offers them.
    pub const ALL: [Safeguard; 6] = [
        Safeguard::NoneYet,
        Safeguard::Adequacy,
        Safeguard::Dpf,
        Safeguard::Scc,
        Safeguard::Bcr,
        Safeguard::Derogation,
    ];

    /// As in JSON and forms (`dpf`, `none_yet`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Safeguard::Adequacy => "adequacy",
            Safeguard::Dpf => "dpf",
            Safeguard::Scc => "scc",
            Safeguard::Bcr => "bcr",
            Safeguard::Derogation => "derogation",
            Safeguard::NoneYet => "none_yet",
        }
    }

    /// The choice a form's value names.
    pub fn parse(s: &str) -> Option<Safeguard> {
        Safeguard::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// Its name with its article, in `lang` (`nl`, else English).
    pub fn label(self, lang: &str) -> &'static str {
        let nl = lang == "nl";
        match self {
            Safeguard::Adequacy if nl => "Adequaatheidsbesluit (art. 45 AVG)",
            Safeguard::Adequacy => "Adequacy decision (GDPR art. 45)",
            Safeguard::Dpf if nl => "EU-VS Data Privacy Framework (art. 45 AVG)",
            Safeguard::Dpf => "EU-US Data Privacy Framework (GDPR art. 45)",
            Safeguard::Scc if nl => "Modelcontractbepalingen (art. 46(2)(c) AVG)",
            Safeguard::Scc => "Standard contractual clauses (GDPR art. 46(2)(c))",
            Safeguard::Bcr if nl => "Bindende bedrijfsvoorschriften (art. 47 AVG)",
            Safeguard::Bcr => "Binding corporate rules (GDPR art. 47)",
            Safeguard::Derogation if nl => "Uitzondering voor een specifieke situatie (art. 49 AVG)",
            Safeguard::Derogation => "Derogation for a specific situation (GDPR art. 49)",
            Safeguard::NoneYet if nl => "Nog geen",
            Safeguard::NoneYet => "None yet",
        }
    }
}

/// The longest name (controller, DPO, a contact person), in characters.
pub const MAX_NAME: usize = 200;
/// The longest address or representative, in characters.
pub const MAX_ADDRESS: usize = 500;
/// The longest e-mail address (RFC 5321 §4.5.3.1.3: a path of 256 octets
/// with its brackets).
pub const MAX_EMAIL: usize = 254;
/// The longest telephone number, in characters.
pub const MAX_PHONE: usize = 40;
/// The longest free text of measures, in characters.
pub const MAX_MEASURES: usize = 4000;
/// At most this many safeguard choices (one per service).
pub const MAX_SAFEGUARDS: usize = crate::config::MAX_SERVICES;

/// What the owner adds to the register once: who the controller is and how
/// to reach them (art. 30(1)(a)), what each transfer rests on (art.
/// 30(1)(e)), and measures the product does not know of (art. 30(1)(g)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterProfile {
    /// The controller's name (the organisation).
    pub controller: String,
    /// Its address.
    pub address: String,
    /// Its contact e-mail address.
    pub email: String,
    /// Its contact telephone number.
    pub phone: String,
    /// The data protection officer, where there is one (art. 37).
    pub dpo_name: String,
    /// How to reach the DPO (e-mail address or telephone number).
    pub dpo_contact: String,
    /// The representative in the Union of a controller established outside
    /// it (art. 27): name and contact.
    pub representative: String,
    /// Service id → what its transfer outside the EEA rests on.
    pub safeguards: BTreeMap<String, Safeguard>,
    /// Technical and organisational measures of the owner's own, added to
    /// the product's.
    pub measures: String,
    /// When it was last saved (Unix ms).
    pub updated_ms: u64,
    /// Who saved it last.
    pub updated_by: String,
}

/// A field of [`RegisterProfile`] that cannot be saved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    /// The field's name (`email`, `safeguard_<service>`).
    pub field: String,
    /// What is wrong with it.
    pub problem: FieldProblem,
}

/// What is wrong with a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    /// It must be filled in.
    #[error("required")]
    Required,
    /// Longer than this many characters.
    #[error("at most {0} characters")]
    TooLong(usize),
    /// Not the shape of an e-mail address.
    #[error("not an e-mail address")]
    NotEmail,
    /// Not the shape of a telephone number.
    #[error("not a telephone number")]
    NotPhone,
    /// Neither an e-mail address nor a telephone number.
    #[error("not an e-mail address or telephone number")]
    NotContact,
    /// Holds control characters.
    #[error("control characters")]
    Control,
    /// None of the choices offered.
    #[error("not one of the choices")]
    NotAChoice,
}

impl RegisterProfile {
    /// Every field that cannot be saved (none: `Ok`). The controller's name
    /// and e-mail address are required (art. 30(1)(a)); the rest may stay
    /// empty.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |field: &str, value: &str, max: usize, multiline: bool| -> bool {
            let bad = if value.chars().count() > max {
                Some(FieldProblem::TooLong(max))
            } else if value
                .chars()
                .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
            {
                Some(FieldProblem::Control)
            } else {
                None
            };
            if let Some(problem) = bad {
                errors.push(FieldError {
                    field: field.to_owned(),
                    problem,
                });
            }
            bad.is_none()
        };
        let controller_ok = check("controller", &self.controller, MAX_NAME, false);
        check("address", &self.address, MAX_ADDRESS, true);
        let email_ok = check("email", &self.email, MAX_EMAIL, false);
        let phone_ok = check("phone", &self.phone, MAX_PHONE, false);
        check("dpo_name", &self.dpo_name, MAX_NAME, false);
        let dpo_ok = check("dpo_contact", &self.dpo_contact, MAX_EMAIL, false);
        check("representative", &self.representative, MAX_ADDRESS, true);
        check("measures", &self.measures, MAX_MEASURES, true);
        let mut shape = |field: &str, problem: FieldProblem| {
            errors.push(FieldError {
                field: field.to_owned(),
                problem,
            })
        };
        if controller_ok && self.controller.trim().is_empty() {
            shape("controller", FieldProblem::Required);
        }
        if email_ok {
            if self.email.trim().is_empty() {
                shape("email", FieldProblem::Required);
            } else if !is_email(&self.email) {
                shape("email", FieldProblem::NotEmail);
            }
        }
        if phone_ok && !self.phone.trim().is_empty() && !is_phone(&self.phone) {
            shape("phone", FieldProblem::NotPhone);
        }
        let contact = self.dpo_contact.trim();
        if dpo_ok && !contact.is_empty() && !is_email(contact) && !is_phone(contact) {
            shape("dpo_contact", FieldProblem::NotContact);
        }
        if self.safeguards.len() > MAX_SAFEGUARDS {
            shape("safeguards", FieldProblem::TooLong(MAX_SAFEGUARDS));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// The shape of an e-mail address: one `@` between a local part and a
/// domain of at least two labels, no spaces, no brackets or quotes (the
/// quoted forms RFC 5321 allows are not what a contact address looks like).
pub fn is_email(s: &str) -> bool {
    let s = s.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let ok_char = |c: char| !c.is_whitespace() && !c.is_control() && !"<>()[]\\,;:\"@".contains(c);
    s.len() <= MAX_EMAIL
        && !local.is_empty()
        && local.len() <= 64
        && local.chars().all(ok_char)
        && domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(ok_char))
}

/// The shape of a telephone number: digits, with an optional leading `+`,
/// spaces, dashes, dots, slashes and brackets between; 6 to 20 digits.
pub fn is_phone(s: &str) -> bool {
    let s = s.trim();
    let rest = s.strip_prefix('+').unwrap_or(s);
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    s.chars().count() <= MAX_PHONE
        && (6..=20).contains(&digits)
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '/' | '(' | ')'))
}

/// The register, in one language: what the exports serialise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Register {
    /// The site.
    pub site: String,
    /// The published configuration it was made from.
    pub config_version: ConfigVersion,
    /// When it was made (Unix ms).
    pub generated_ms: u64,
    /// The same, as `YYYY-MM-DDTHH:MM:SSZ`.
    pub generated: String,
    /// The language of its texts.
    pub language: String,
    /// Art. 30(1)(a).
    pub controller: Controller,
    /// One per purpose, then the consent records.
    pub activities: Vec<Activity>,
    /// The technical and organisational measures (art. 30(1)(g), art. 32),
    /// for every activity: the product's, then the owner's.
    pub measures: Vec<String>,
    /// What the register cannot say yet and the owner should complete.
    pub warnings: Vec<String>,
    /// Where the list of adequacy decisions comes from, and when it was checked.
    pub adequacy_source: String,
}

/// The controller and its contacts (art. 30(1)(a)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Controller {
    /// The organisation.
    pub name: String,
    /// Its address.
    pub address: String,
    /// Its e-mail address.
    pub email: String,
    /// Its telephone number.
    pub phone: String,
    /// The data protection officer's name, if any.
    pub dpo_name: String,
    /// The DPO's contact, if any.
    pub dpo_contact: String,
    /// The representative in the Union (art. 27), if any.
    pub representative: String,
}

/// One processing activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// The category's id, or [`CONSENT_LOG`].
    pub id: String,
    /// Its name (the category's title).
    pub name: String,
    /// Its purpose (art. 30(1)(b)).
    pub purpose: String,
    /// The legal bases it rests on (art. 6(1)), as texts.
    pub legal_basis: Vec<String>,
    /// Categories of data subjects (art. 30(1)(c)).
    pub data_subjects: Vec<String>,
    /// Categories of personal data (art. 30(1)(c)).
    pub personal_data: Vec<String>,
    /// Recipients (art. 30(1)(d)).
    pub recipients: Vec<Recipient>,
    /// Transfers to countries outside the EEA (art. 30(1)(e)).
    pub transfers: Vec<Transfer>,
    /// What the transfers depend on when the register cannot list them.
    pub transfers_note: Option<String>,
    /// Time limits (art. 30(1)(f)).
    pub retention: Vec<Retention>,
    /// What the owner should complete about this activity.
    pub warnings: Vec<String>,
}

/// The id of the consent records' activity.
pub const CONSENT_LOG: &str = "consent-log";

/// A recipient: the company behind a service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// The service's id in the configuration.
    pub service_id: String,
    /// The service's name.
    pub service: String,
    /// The company that receives the data.
    pub company: String,
    /// Where it processes them (ISO 3166-1 alpha-2), as declared.
    pub countries: Vec<String>,
    /// Its privacy statement.
    pub privacy_policy_url: Option<String>,
}

/// A transfer to a country outside the EEA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// The service's id.
    pub service_id: String,
    /// The service's name.
    pub service: String,
    /// The receiving company.
    pub company: String,
    /// The country (ISO 3166-1 alpha-2).
    pub country: String,
    /// The country's name, where known.
    pub country_name: String,
    /// The country's adequacy decision, if it has one.
    pub adequacy_decision: Option<String>,
    /// What the owner chose, if anything.
    pub safeguard: Option<Safeguard>,
    /// What the transfer rests on, or why it rests on nothing, as a text.
    pub basis: String,
    /// Whether it rests on a safeguard that fits the country.
    pub covered: bool,
}

/// A time limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Retention {
    /// What is kept (a cookie and its service, the decision, the log).
    pub what: String,
    /// For how long, as a text.
    pub period: String,
    /// The same in days, where it is a number of days.
    pub days: Option<u32>,
}

/// What a register is built from.
pub struct Input<'a> {
    /// The site.
    pub site: &'a SiteId,
    /// Its allowed origins (where its visitors are).
    pub origins: &'a [String],
    /// The published configuration.
    pub config: &'a SiteConfig,
    /// Its version.
    pub version: &'a ConfigVersion,
    /// The vendor catalogue ([`catalogue::builtin`]): facts a service's
    /// declaration leaves out (its company, country, privacy statement).
    pub catalogue: &'a [Vendor],
    /// What the owner added.
    pub profile: &'a RegisterProfile,
    /// When (Unix ms).
    pub generated_ms: u64,
    /// The language of the texts (`nl`, else English).
    pub lang: &'a str,
}

/// A text in Dutch or English.
fn tr(lang: &str, nl: &'static str, en: &'static str) -> &'static str {
    if lang == "nl" { nl } else { en }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a time in Unix milliseconds.
pub fn iso_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (y, m, d) = crate::analytics::Day((secs / 86_400) as u32).civil();
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The days the decision cookie lives: the longer of the decision's life
/// and a refusal's (months of at most 31 days), within the 400 days
/// browsers allow (as the widget writes it, `consent-widget/src/decision.rs`).
pub fn decision_cookie_days(config: &SiteConfig) -> u32 {
    config.expiry_days.max(config.refusal_months * 31).min(400)
}

impl Register {
    /// The register of `input`.
    pub fn build(input: &Input<'_>) -> Register {
        let lang = if input.lang == "nl" { "nl" } else { "en" };
        let p = input.profile;
        let controller = Controller {
            name: if p.controller.trim().is_empty() {
                input.config.controller.trim().to_owned()
            } else {
                p.controller.trim().to_owned()
            },
            address: p.address.trim().to_owned(),
            email: p.email.trim().to_owned(),
            phone: p.phone.trim().to_owned(),
            dpo_name: p.dpo_name.trim().to_owned(),
            dpo_contact: p.dpo_contact.trim().to_owned(),
            representative: p.representative.trim().to_owned(),
        };
        let mut warnings = Vec::new();
        if controller.name.is_empty() {
            warnings.push(
                tr(
                    lang,
                    "De naam van de verwerkingsverantwoordelijke ontbreekt (art. 30(1)(a) AVG).",
                    "The controller's name is missing (GDPR art. 30(1)(a)).",
                )
                .to_owned(),
            );
        }
        if controller.email.is_empty() && controller.phone.is_empty() {
            warnings.push(
                tr(
                    lang,
                    "Contactgegevens van de verwerkingsverantwoordelijke ontbreken (art. 30(1)(a) AVG).",
                    "The controller's contact details are missing (GDPR art. 30(1)(a)).",
                )
                .to_owned(),
            );
        }
        let mut activities: Vec<Activity> = input
            .config
            .categories
            .iter()
            .map(|c| purpose_activity(input, c, lang))
            .collect();
        activities.push(consent_log_activity(input, lang));
        let mut measures: Vec<String> = MEASURES.iter().map(|(nl, en)| tr(lang, nl, en).to_owned()).collect();
        let own = p.measures.trim();
        if !own.is_empty() {
            measures.push(own.to_owned());
        }
        Register {
            site: input.site.as_str().to_owned(),
            config_version: input.version.clone(),
            generated_ms: input.generated_ms,
            generated: iso_time(input.generated_ms),
            language: lang.to_owned(),
            controller,
            activities,
            measures,
            warnings,
            adequacy_source: format!("{ADEQUACY_SOURCE} ({ADEQUACY_CHECKED})"),
        }
    }

    /// Every warning: the register's own, then each activity's.
    pub fn all_warnings(&self) -> Vec<&str> {
        self.warnings
            .iter()
            .chain(self.activities.iter().flat_map(|a| a.warnings.iter()))
            .map(String::as_str)
            .collect()
    }
}

/// The category's title and description in `lang`, else its first label's,
/// else its id.
fn label(config: &SiteConfig, c: &Category, lang: &str) -> (String, String) {
    c.labels
        .get(lang)
        .or_else(|| config.languages.first().and_then(|l| c.labels.get(l)))
        .or_else(|| c.labels.values().next())
        .map_or_else(
            || (c.id.clone(), String::new()),
            |l| (l.title.clone(), l.description.clone()),
        )
}

/// The activity of one category: its services' recipients and transfers,
/// its cookies' lifetimes and legal bases.
fn purpose_activity(input: &Input<'_>, category: &Category, lang: &str) -> Activity {
    let config = input.config;
    let (name, description) = label(config, category, lang);
    let services: Vec<_> = config.services.iter().filter(|s| s.category == category.id).collect();
    let mut warnings = Vec::new();

    // Art. 30(1)(b): the purpose, as visitors are told it.
    let purpose = if description.trim().is_empty() {
        name.clone()
    } else {
        description.trim().to_owned()
    };

    // Art. 6(1): what the cookies declare; an optional purpose the banner
    // asks about rests on consent when its cookies say nothing.
    let mut bases: Vec<LegalBasis> = Vec::new();
    for c in services.iter().flat_map(|s| &s.cookies) {
        if !bases.contains(&c.legal_basis) {
            bases.push(c.legal_basis);
        }
    }
    if bases.is_empty() {
        if category.required {
            bases.push(LegalBasis::LegitimateInterest);
            if !services.is_empty() {
                warnings.push(
                    tr(
                        lang,
                        "Geen cookie van dit doel vermeldt een rechtsgrond; voor een noodzakelijk doel is gerechtvaardigd belang aangenomen. Vermeld de rechtsgrond bij de cookies.",
                        "No cookie of this purpose declares a legal basis; legitimate interest is assumed for a necessary purpose. Declare the basis on the cookies.",
                    )
                    .to_owned(),
                );
            }
        } else {
            bases.push(LegalBasis::Consent);
        }
    }
    let legal_basis = bases.iter().map(|b| legal_basis(*b, lang).to_owned()).collect();

    let origins = if input.origins.is_empty() {
        String::new()
    } else {
        format!(" ({})", input.origins.join(", "))
    };
    let data_subjects = vec![format!(
        "{}{origins}",
        tr(lang, "Bezoekers van de website", "Visitors of the website")
    )];

    // Art. 30(1)(c): derived from what the services are, generically.
    let mut personal_data = Vec::new();
    let cookie_names: Vec<&str> = services
        .iter()
        .flat_map(|s| s.cookies.iter().map(|c| c.name.as_str()))
        .collect();
    if !cookie_names.is_empty() {
        personal_data.push(format!(
            "{}: {}",
            tr(
                lang,
                "Online identificatoren in cookies en vergelijkbare opslag in de browser",
                "Online identifiers in cookies and similar storage in the browser"
            ),
            cookie_names.join(", ")
        ));
    }
    if !services.is_empty() {
        personal_data.push(
            tr(
                lang,
                "IP-adres, zoals elke ontvanger het ziet wanneer de browser contact met hem maakt",
                "IP address, as each recipient sees it when the browser contacts it",
            )
            .to_owned(),
        );
        personal_data.push(
            tr(
                lang,
                "Apparaat- en browsergegevens die met elk verzoek meegaan (browser en versie, besturingssysteem, taal, schermgrootte)",
                "Device and browser data sent with each request (browser and version, operating system, language, screen size)",
            )
            .to_owned(),
        );
        personal_data.push(
            tr(
                lang,
                "Surfgedrag op deze website: bezochte pagina's, verwijzende pagina, tijdstip en, voor zover de dienst dat meet, interacties",
                "Browsing behaviour on this website: pages visited, referring page, time and, as far as the service measures them, interactions",
            )
            .to_owned(),
        );
        if category.gpc_opt_out || category.id == "marketing" {
            personal_data.push(
                tr(
                    lang,
                    "Surfgedrag op andere websites, door de ontvanger gekoppeld aan een advertentieprofiel",
                    "Browsing behaviour on other websites, linked by the recipient to an advertising profile",
                )
                .to_owned(),
            );
        }
    }
    if personal_data.is_empty() {
        personal_data.push(
            tr(
                lang,
                "Geen: er zijn geen diensten of cookies voor dit doel opgegeven.",
                "None: no services or cookies are declared for this purpose.",
            )
            .to_owned(),
        );
    }

    // Art. 30(1)(d) and (e).
    let mut recipients = Vec::new();
    let mut transfers = Vec::new();
    for s in &services {
        let vendor = input.catalogue.iter().find(|v| v.id == s.id);
        let company = [s.provider.trim()]
            .into_iter()
            .chain(vendor.map(|v| v.company.as_str()))
            .chain(s.cookies.iter().map(|c| c.provider.trim()))
            .find(|c| !c.is_empty())
            .unwrap_or_default()
            .to_owned();
        let mut countries: BTreeSet<String> = s
            .cookies
            .iter()
            .map(|c| c.country.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .collect();
        if countries.is_empty()
            && let Some(v) = vendor
        {
            countries.insert(v.country.clone());
        }
        if company.is_empty() {
            warnings.push(format!(
                "{}: {}",
                s.name,
                tr(
                    lang,
                    "de ontvangende partij is niet opgegeven.",
                    "the receiving company is not declared."
                )
            ));
        }
        if countries.is_empty() {
            warnings.push(format!(
                "{}: {}",
                s.name,
                tr(
                    lang,
                    "het land van verwerking is niet opgegeven.",
                    "the country of processing is not declared."
                )
            ));
        }
        for country in &countries {
            if !in_eea(country) {
                let t = transfer(input.profile, s.id.as_str(), &s.name, &company, country, lang);
                if !t.covered {
                    warnings.push(format!("{} ({}): {}", s.name, t.country, t.basis));
                }
                transfers.push(t);
            }
        }
        recipients.push(Recipient {
            service_id: s.id.clone(),
            service: s.name.clone(),
            company,
            countries: countries.into_iter().collect(),
            privacy_policy_url: s
                .privacy_policy_url
                .clone()
                .or_else(|| vendor.map(|v| v.privacy_policy_url.clone())),
        });
    }

    // Art. 30(1)(f).
    let mut retention = Vec::new();
    for s in &services {
        for c in &s.cookies {
            // In the register's language where the days are known (the
            // declared text is in the site's first language), else as
            // declared ("session", "sessie").
            let period = match c.retention_days {
                Some(_) => catalogue::lifetime(c.retention_days, false, lang),
                None => c.retention.trim().to_owned(),
            };
            let period = if period.is_empty() {
                warnings.push(format!(
                    "{} ({}): {}",
                    c.name,
                    s.name,
                    tr(lang, "bewaartermijn niet opgegeven.", "retention not declared.")
                ));
                tr(lang, "niet opgegeven", "not declared").to_owned()
            } else {
                period
            };
            retention.push(Retention {
                what: format!("{} ({})", c.name, s.name),
                period,
                days: c.retention_days,
            });
        }
    }
    if !services.is_empty() {
        retention.push(Retention {
            what: tr(
                lang,
                "Wat de ontvangers op hun eigen servers bewaren",
                "What the recipients keep on their own servers",
            )
            .to_owned(),
            period: tr(
                lang,
                "volgens hun privacyverklaring en de instellingen die de site bij hen koos",
                "as their privacy statements say, and the settings the site chose with them",
            )
            .to_owned(),
            days: None,
        });
    }
    if retention.is_empty() {
        retention.push(Retention {
            what: tr(lang, "Cookies", "Cookies").to_owned(),
            period: tr(lang, "geen opgegeven voor dit doel", "none declared for this purpose").to_owned(),
            days: None,
        });
    }
    if !category.required {
        retention.push(Retention {
            what: tr(
                lang,
                "De keuze van de bezoeker voor dit doel",
                "The visitor's choice for this purpose",
            )
            .to_owned(),
            period: format!(
                "{} {} {}; {} {} {}",
                tr(lang, "opnieuw gevraagd na", "asked again after"),
                input.config.expiry_days,
                tr(lang, "dagen", "days"),
                tr(lang, "een weigering geldt", "a refusal stands for"),
                input.config.refusal_months,
                tr(lang, "maanden", "months"),
            ),
            days: Some(input.config.expiry_days),
        });
    }

    Activity {
        id: category.id.clone(),
        name,
        purpose,
        legal_basis,
        data_subjects,
        personal_data,
        recipients,
        transfers,
        transfers_note: None,
        retention,
        warnings,
    }
}

/// The transfer of one service's data to `country` (outside the EEA), on
/// what the owner chose for it.
fn transfer(profile: &RegisterProfile, id: &str, service: &str, company: &str, country: &str, lang: &str) -> Transfer {
    let decision = adequacy(country);
    let chosen = profile.safeguards.get(id).copied().filter(|g| *g != Safeguard::NoneYet);
    let nl = lang == "nl";
    let (basis, covered) = match (chosen, decision) {
        // An adequacy decision that covers the whole country applies by
        // itself (art. 45(1): "shall not require any specific authorisation").
        (None | Some(Safeguard::Adequacy), Some(d)) if !d.certified_only => (
            format!("{}: {}", Safeguard::Adequacy.label(lang), d.decision),
            true,
        ),
        (None | Some(Safeguard::NoneYet), _) => (
            tr(
                lang,
                "Waarschuwing: geen waarborg gekozen (art. 44–49 AVG).",
                "Warning: no safeguard chosen (GDPR arts. 44–49).",
            )
            .to_owned(),
            false,
        ),
        (Some(Safeguard::Dpf), Some(d)) if d.certified_only => (
            format!(
                "{}: {}. {} {DPF_LIST}",
                Safeguard::Dpf.label(lang),
                d.decision,
                tr(
                    lang,
                    "Alleen als het bedrijf gecertificeerd is:",
                    "Only while the company is certified:"
                ),
            ),
            true,
        ),
        (Some(Safeguard::Dpf), _) => (
            tr(
                lang,
                "Waarschuwing: het Data Privacy Framework geldt alleen voor gecertificeerde bedrijven in de Verenigde Staten.",
                "Warning: the Data Privacy Framework covers certified companies in the United States only.",
            )
            .to_owned(),
            false,
        ),
        (Some(Safeguard::Adequacy), Some(_)) => (
            tr(
                lang,
                "Waarschuwing: het adequaatheidsbesluit voor de Verenigde Staten geldt alleen via het Data Privacy Framework: kies dat als het bedrijf gecertificeerd is.",
                "Warning: the United States' adequacy decision applies only through the Data Privacy Framework: choose it if the company is certified.",
            )
            .to_owned(),
            false,
        ),
        (Some(Safeguard::Adequacy), None) => (
            format!(
                "{} {country}.",
                tr(
                    lang,
                    "Waarschuwing: er is geen adequaatheidsbesluit voor",
                    "Warning: there is no adequacy decision for"
                )
            ),
            false,
        ),
        (Some(g @ (Safeguard::Scc | Safeguard::Bcr)), _) => (g.label(lang).to_owned(), true),
        (Some(Safeguard::Derogation), _) => (
            format!(
                "{} {}",
                Safeguard::Derogation.label(lang),
                tr(
                    lang,
                    "— alleen voor incidentele doorgiften (EDPB-richtsnoeren 2/2018).",
                    "— for occasional transfers only (EDPB Guidelines 2/2018).",
                ),
            ),
            true,
        ),
    };
    Transfer {
        service_id: id.to_owned(),
        service: service.to_owned(),
        company: company.to_owned(),
        country: country.to_owned(),
        country_name: decision
            .map(|d| if nl { d.name_nl } else { d.name_en })
            .unwrap_or_default()
            .to_owned(),
        adequacy_decision: decision.map(|d| d.decision.to_owned()),
        safeguard: chosen,
        basis,
        covered,
    }
}

/// The consent records: what Keurmerk itself keeps, to prove each choice.
fn consent_log_activity(input: &Input<'_>, lang: &str) -> Activity {
    let config = input.config;
    let data: &[(&str, &str)] = &[
        (
            "Toestemmings-id: een willekeurig nummer dat de browser bewaart, niet afgeleid van de bezoeker",
            "Consent id: a random number the browser keeps, not derived from the visitor",
        ),
        (
            "De keuze per doel en per dienst, hoe die gemaakt is (alles accepteren, weigeren, eigen keuze, GPC) en het Global Privacy Control-signaal",
            "The choice per purpose and per service, how it was made (accept all, reject all, own choice, GPC) and the Global Privacy Control signal",
        ),
        (
            "Tijdstip, configuratieversie (welke teksten en doelen de bezoeker zag) en taal van de banner",
            "Time, configuration version (which texts and purposes the visitor saw) and the banner's language",
        ),
        (
            "Het pad van de pagina (zonder querystring) en browserfamilie met hoofdversie, versleuteld met een sleutel per bezoeker",
            "The page's path (without query string) and browser family with major version, encrypted under a key per visitor",
        ),
        (
            "Geen IP-adres en geen volledige user-agent",
            "No IP address and no full user agent",
        ),
    ];
    let days = decision_cookie_days(config);
    let retention = vec![
        Retention {
            what: tr(lang, "Beslissingscookie keurmerk (browser)", "Decision cookie keurmerk (browser)").to_owned(),
            period: format!(
                "{days} {}; {} {} {}, {} {} {}",
                tr(lang, "dagen", "days"),
                tr(lang, "de keuze wordt opnieuw gevraagd na", "the choice is asked again after"),
                config.expiry_days,
                tr(lang, "dagen", "days"),
                tr(lang, "een weigering na", "a refusal after"),
                config.refusal_months,
                tr(lang, "maanden", "months"),
            ),
            days: Some(days),
        },
        Retention {
            what: tr(
                lang,
                "Toestemmings-id, geheim en laatste ontvangstbewijs in de localStorage van de browser",
                "Consent id, secret and last receipt in the browser's localStorage",
            )
            .to_owned(),
            period: tr(
                lang,
                "tot de bezoeker de sitegegevens wist",
                "until the visitor clears the site's data",
            )
            .to_owned(),
            days: None,
        },
        Retention {
            what: tr(
                lang,
                "Beslissingen in het bewijslogboek (server)",
                "Decisions in the proof log (server)",
            )
            .to_owned(),
            period: tr(
                lang,
                "als bewijs zolang de beheerder het logboek bewaart (het logboek is alleen-toevoegen; er is geen automatische verwijdering). Op verzoek van de bezoeker (art. 17 AVG) wordt de sleutel van de versleutelde velden vernietigd; keuze en tijdstip blijven als bewijs.",
                "as evidence for as long as the operator keeps the log (the log is append-only; nothing is deleted automatically). On the visitor's request (GDPR art. 17) the key of the encrypted fields is destroyed; the choice and its time remain as proof.",
            )
            .to_owned(),
            days: None,
        },
    ];
    Activity {
        id: CONSENT_LOG.to_owned(),
        name: tr(
            lang,
            "Toestemmingsregistratie (bewijs van toestemming)",
            "Consent records (proof of consent)",
        )
        .to_owned(),
        purpose: tr(
            lang,
            "Kunnen aantonen dat een bezoeker toestemming gaf, weigerde of introk (art. 7(1) AVG), en die keuze bij volgende bezoeken naleven.",
            "Being able to demonstrate that a visitor consented, refused or withdrew (GDPR art. 7(1)), and honouring that choice on later visits.",
        )
        .to_owned(),
        legal_basis: vec![format!(
            "{} {}",
            legal_basis(LegalBasis::LegalObligation, lang),
            tr(
                lang,
                "— de plicht toestemming aan te tonen (art. 7(1) AVG)",
                "— the duty to demonstrate consent (GDPR art. 7(1))"
            )
        )],
        data_subjects: vec![
            tr(
                lang,
                "Bezoekers van de website die een keuze maken in de banner",
                "Visitors of the website who make a choice in the banner",
            )
            .to_owned(),
        ],
        personal_data: data.iter().map(|(nl, en)| tr(lang, nl, en).to_owned()).collect(),
        recipients: vec![Recipient {
            service_id: CONSENT_LOG.to_owned(),
            service: "Keurmerk".to_owned(),
            company: tr(
                lang,
                "De beheerder van de Keurmerk-server (verwerker, art. 28 AVG). Getuigen die de checkpoints medeondertekenen ontvangen alleen boomhashes, geen beslissingen.",
                "The operator of the Keurmerk server (processor, GDPR art. 28). Witnesses that cosign the checkpoints receive only tree hashes, no decisions.",
            )
            .to_owned(),
            countries: Vec::new(),
            privacy_policy_url: None,
        }],
        transfers: Vec::new(),
        transfers_note: Some(
            tr(
                lang,
                "Keurmerk zelf geeft niets door buiten de EER; dat hangt af van waar de beheerder de server en zijn opslag host.",
                "Keurmerk itself transfers nothing outside the EEA; that depends on where the operator hosts the server and its storage.",
            )
            .to_owned(),
        ),
        retention,
        warnings: Vec::new(),
    }
}

/// The product's technical and organisational measures (art. 32), in
/// Dutch and English: only what Keurmerk does (docs/widget.md,
/// docs/proof-log.md, docs/operating.md).
const MEASURES: &[(&str, &str)] = &[
    (
        "Blokkeren vóór toestemming: de loader staat als eerste in de head van elke pagina en houdt scripts, frames, afbeeldingen en verzoeken naar de hosts van de opgegeven diensten tegen tot de bezoeker het doel of de dienst toestaat; Google Consent Mode-signalen staan tot dan op 'denied'.",
        "Blocking before consent: the loader runs first in every page's head and holds back scripts, frames, images and requests to the declared services' hosts until the visitor allows the purpose or the service; Google Consent Mode signals stay 'denied' until then.",
    ),
    (
        "Weigeren is even makkelijk als accepteren ('Alles weigeren' in de eerste laag); intrekken kan altijd via de knop Cookie-instellingen en verwijdert de opgegeven cookies van het doel; Global Privacy Control wordt gerespecteerd.",
        "Refusing is as easy as accepting ('Reject all' on the first layer); withdrawing is always possible through the cookie settings button and deletes the purpose's declared cookies; Global Privacy Control is honoured.",
    ),
    (
        "Toestemmingslogboek: elke beslissing is een blad in een alleen-toevoegen Merkle-boom (RFC 9162) met checkpoints die met Ed25519 zijn ondertekend (C2SP signed note) en, waar ingesteld, door onafhankelijke getuigen medeondertekend; de bezoeker krijgt een ondertekend ontvangstbewijs, en inclusie- en consistentiebewijzen zijn door iedereen te controleren (keurmerk-verify).",
        "Consent log: every decision is a leaf of an append-only Merkle tree (RFC 9162) whose checkpoints are signed with Ed25519 (C2SP signed note) and, where configured, cosigned by independent witnesses; the visitor gets a signed receipt, and inclusion and consistency proofs can be checked by anyone (keurmerk-verify).",
    ),
    (
        "Geen IP-adressen opgeslagen: beslissingen bevatten geen IP-adres; de snelheidsbegrenzing gebruikt een gesleutelde hash van het IP-adres en de dag, met een sleutel die nergens wordt bewaard.",
        "No IP addresses stored: decisions hold no IP address; rate limiting uses a keyed hash of the IP address and the day, with a key that is never stored.",
    ),
    (
        "Minimale, versleutelde persoonsgegevens: alleen paginapad en browserfamilie, versleuteld (XChaCha20-Poly1305) met een sleutel per bezoeker; wissen (art. 17 AVG) vernietigt die sleutel (crypto-shredding) terwijl elk bewijs geldig blijft.",
        "Minimal, encrypted personal data: only the page path and browser family, encrypted (XChaCha20-Poly1305) under a key per visitor; erasure (GDPR art. 17) destroys that key (crypto-shredding) while every proof still verifies.",
    ),
    (
        "Toegangsbeheer: dashboardaccounts met rollen per site (eigenaar, marketeer, lezer), CSRF-bescherming en een strikte Content-Security-Policy; elke wijziging (publicatie, leden, sleutels, verzoeken van bezoekers, dit register) komt in een alleen-toevoegen audittrail.",
        "Access control: dashboard accounts with roles per site (owner, marketer, viewer), CSRF protection and a strict Content-Security-Policy; every change (publication, members, keys, visitors' requests, this register) goes into an append-only audit trail.",
    ),
    (
        "Controle: scans van de site vergelijken de waargenomen cookies en verzoeken met wat de configuratie opgeeft.",
        "Checks: scans of the site compare the cookies and requests observed with what the configuration declares.",
    ),
];

/// The CSV's column headings, in `lang`.
pub fn csv_headings(lang: &str) -> [&'static str; 13] {
    if lang == "nl" {
        [
            "configuratieversie",
            "gemaakt",
            "verwerkingsverantwoordelijke",
            "activiteit",
            "doel",
            "rechtsgrond",
            "betrokkenen",
            "persoonsgegevens",
            "ontvangers",
            "doorgifte buiten de EER",
            "bewaartermijnen",
            "beveiligingsmaatregelen",
            "waarschuwingen",
        ]
    } else {
        [
            "config_version",
            "generated",
            "controller",
            "activity",
            "purpose",
            "legal_basis",
            "data_subjects",
            "personal_data",
            "recipients",
            "transfers_outside_eea",
            "retention",
            "security_measures",
            "warnings",
        ]
    }
}

/// The register as CSV (RFC 4180, cells by [`crate::export::csv_cell`]):
/// one line per activity, lists within a cell separated by line breaks;
/// every line names the configuration version and the time it was made.
pub fn csv(register: &Register) -> String {
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let cells: Vec<String> = cells.iter().map(|c| crate::export::csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    };
    line(&mut out, &csv_headings(&register.language));
    let measures = register.measures.join("\n");
    for a in &register.activities {
        let recipients: Vec<String> = a
            .recipients
            .iter()
            .map(|r| {
                let mut s = format!("{} — {}", r.service, r.company);
                if !r.countries.is_empty() {
                    s.push_str(&format!(" ({})", r.countries.join(", ")));
                }
                if let Some(url) = &r.privacy_policy_url {
                    s.push_str(&format!(" {url}"));
                }
                s
            })
            .collect();
        let transfers: Vec<String> = a
            .transfers
            .iter()
            .map(|t| format!("{} — {} ({}): {}", t.service, t.company, t.country, t.basis))
            .collect();
        let retention: Vec<String> = a
            .retention
            .iter()
            .map(|r| format!("{}: {}", r.what, r.period))
            .collect();
        line(
            &mut out,
            &[
                &register.config_version.0,
                &register.generated,
                &register.controller.name,
                &a.name,
                &a.purpose,
                &a.legal_basis.join("\n"),
                &a.data_subjects.join("\n"),
                &a.personal_data.join("\n"),
                &recipients.join("\n"),
                &transfers.join("\n"),
                &retention.join("\n"),
                &measures,
                &a.warnings.join("\n"),
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_780_000_000_000;

    /// The starter configuration with GA4 (IE), a US vendor and a Danish one.
    fn config() -> SiteConfig {
        let mut c = SiteConfig::starter();
        c.services.push(catalogue::vendor("ga4").unwrap().to_service("nl"));
        c.services
            .push(catalogue::vendor("fullstory").unwrap().to_service("nl"));
        c.services
            .push(catalogue::vendor("mouseflow").unwrap().to_service("nl"));
        c.services.push(catalogue::vendor("stripe").unwrap().to_service("nl"));
        c.validate().unwrap();
        c
    }

    fn build(config: &SiteConfig, profile: &RegisterProfile, lang: &str) -> Register {
        let site = SiteId::parse("shop").unwrap();
        Register::build(&Input {
            site: &site,
            origins: &["https://shop.example".to_owned()],
            config,
            version: &config.version(),
            catalogue: catalogue::builtin(),
            profile,
            generated_ms: NOW,
            lang,
        })
    }

    fn profile() -> RegisterProfile {
        RegisterProfile {
            controller: "Winkel BV".into(),
            email: "privacy@shop.example".into(),
            ..Default::default()
        }
    }

    fn activity<'a>(r: &'a Register, id: &str) -> &'a Activity {
        r.activities.iter().find(|a| a.id == id).unwrap()
    }

    #[test]
    fn the_catalogue_vendors_used_here_are_where_the_tests_expect() {
        assert_eq!(catalogue::vendor("fullstory").unwrap().country, "US");
        assert_eq!(catalogue::vendor("mouseflow").unwrap().country, "DK");
        assert_eq!(catalogue::vendor("ga4").unwrap().country, "IE");
    }

    #[test]
    fn a_us_vendor_without_a_safeguard_warns_and_with_dpf_is_covered() {
        let config = config();
        let r = build(&config, &profile(), "en");
        let analytics = activity(&r, "analytics");
        let fs = analytics
            .transfers
            .iter()
            .find(|t| t.service_id == "fullstory")
            .unwrap();
        assert_eq!(fs.country, "US");
        assert!(!fs.covered);
        assert!(fs.basis.contains("no safeguard chosen"), "{}", fs.basis);
        assert_eq!(fs.country_name, "United States");
        assert!(fs.adequacy_decision.as_deref().unwrap().contains("2023/1795"));
        assert!(
            r.all_warnings()
                .iter()
                .any(|w| w.contains("FullStory") && w.contains("no safeguard"))
        );

        let mut p = profile();
        p.safeguards.insert("fullstory".into(), Safeguard::Dpf);
        let r = build(&config, &p, "nl");
        let fs = activity(&r, "analytics")
            .transfers
            .iter()
            .find(|t| t.service_id == "fullstory")
            .unwrap();
        assert!(fs.covered);
        assert_eq!(fs.safeguard, Some(Safeguard::Dpf));
        assert!(fs.basis.contains("Data Privacy Framework") && fs.basis.contains(DPF_LIST));
        assert!(!r.all_warnings().iter().any(|w| w.contains("FullStory")));

        // The US decision covers certified companies only: "adequacy" is
        // not enough, and DPF elsewhere is wrong.
        p.safeguards.insert("fullstory".into(), Safeguard::Adequacy);
        let r = build(&config, &p, "en");
        let fs = &activity(&r, "analytics").transfers[0];
        assert!(!fs.covered && fs.basis.contains("Data Privacy Framework"));
        p.safeguards.insert("fullstory".into(), Safeguard::Scc);
        let r = build(&config, &p, "en");
        assert!(activity(&r, "analytics").transfers[0].covered);
    }

    #[test]
    fn an_eea_vendor_is_not_a_transfer_and_an_adequate_country_needs_no_choice() {
        let mut config = config();
        let r = build(&config, &profile(), "en");
        let analytics = activity(&r, "analytics");
        for id in ["ga4", "mouseflow"] {
            assert!(analytics.recipients.iter().any(|x| x.service_id == id));
            assert!(!analytics.transfers.iter().any(|t| t.service_id == id), "{id}");
        }
        let ga = analytics.recipients.iter().find(|x| x.service_id == "ga4").unwrap();
        assert_eq!(ga.company, "Google Ireland Limited");
        assert_eq!(ga.countries, ["IE"]);
        assert!(ga.privacy_policy_url.as_deref().unwrap().starts_with("https://"));

        // A Swiss processor: covered by its adequacy decision unasked; a
        // Chinese one is a transfer that warns.
        for c in &mut config
            .services
            .iter_mut()
            .find(|s| s.id == "mouseflow")
            .unwrap()
            .cookies
        {
            c.country = "CH".into();
        }
        for c in &mut config.services.iter_mut().find(|s| s.id == "ga4").unwrap().cookies {
            c.country = "CN".into();
        }
        let r = build(&config, &profile(), "nl");
        let t = &activity(&r, "analytics").transfers;
        let ch = t.iter().find(|t| t.country == "CH").unwrap();
        assert!(ch.covered && ch.basis.contains("2000/518/EC"), "{}", ch.basis);
        assert_eq!(ch.country_name, "Zwitserland");
        let cn = t.iter().find(|t| t.country == "CN").unwrap();
        assert!(!cn.covered && cn.adequacy_decision.is_none());
        let mut p = profile();
        p.safeguards.insert("ga4".into(), Safeguard::Adequacy);
        let r = build(&config, &p, "en");
        let cn = activity(&r, "analytics")
            .transfers
            .iter()
            .find(|t| t.country == "CN")
            .unwrap();
        assert!(!cn.covered && cn.basis.contains("no adequacy decision for CN"));
    }

    #[test]
    fn retention_lists_each_cookie_and_the_decisions_own() {
        let mut config = config();
        config.expiry_days = 200;
        config.refusal_months = 12;
        let r = build(&config, &profile(), "en");
        let analytics = activity(&r, "analytics");
        let ga = analytics
            .retention
            .iter()
            .find(|x| x.what == "_ga (Google Analytics 4)");
        let ga = ga.unwrap_or_else(|| panic!("{:?}", analytics.retention));
        // Declared in Dutch (the site's first language), said in the register's.
        assert_eq!((ga.period.as_str(), ga.days), ("2 years", Some(730)));
        let cookies: usize = config
            .services
            .iter()
            .filter(|s| s.category == "analytics")
            .map(|s| s.cookies.len())
            .sum();
        assert!(analytics.retention.len() >= cookies + 2);
        let choice = analytics.retention.last().unwrap();
        assert!(choice.period.contains("200 days") && choice.period.contains("12 months"));
        // The consent records: the cookie's life (12 * 31 > 200), the log's.
        let log = activity(&r, CONSENT_LOG);
        assert_eq!(log.retention[0].days, Some(372));
        assert!(
            log.retention
                .iter()
                .any(|x| x.period.contains("for as long as the operator keeps the log"))
        );
        // A cookie without a lifetime says so and warns.
        config.services[0].cookies[0].retention.clear();
        config.services[0].cookies[0].retention_days = None;
        let r = build(&config, &profile(), "en");
        assert!(activity(&r, "analytics").retention[0].period == "not declared");
        // Without days, the declared text stands.
        config.services[0].cookies[1].retention = "sessie".into();
        config.services[0].cookies[1].retention_days = None;
        let r = build(&config, &profile(), "en");
        assert_eq!(activity(&r, "analytics").retention[1].period, "sessie");
        // A purpose without cookies says so; the log's transfers depend on its host.
        let stripe = catalogue::vendor("stripe").unwrap().cookies.len();
        assert_eq!(
            activity(&r, "necessary").retention.len(),
            stripe + 1,
            "Stripe's cookies and servers"
        );
        assert_eq!(
            activity(&r, "marketing").retention[0].period,
            "none declared for this purpose"
        );
        assert!(
            activity(&r, CONSENT_LOG)
                .transfers_note
                .as_deref()
                .unwrap()
                .contains("hosts")
        );
        assert!(r.all_warnings().iter().any(|w| w.contains("retention not declared")));
    }

    #[test]
    fn every_activity_has_a_legal_basis_subjects_and_data() {
        let mut config = config();
        config.categories.push(Category {
            id: "own".into(),
            required: true,
            gpc_opt_out: false,
            labels: BTreeMap::new(),
        });
        for lang in ["nl", "en"] {
            let r = build(&config, &profile(), lang);
            assert_eq!(r.activities.len(), config.categories.len() + 1);
            for a in &r.activities {
                assert!(!a.legal_basis.is_empty(), "{}", a.id);
                assert!(!a.data_subjects.is_empty() && !a.personal_data.is_empty(), "{}", a.id);
                assert!(!a.purpose.is_empty() && !a.name.is_empty(), "{}", a.id);
            }
            let law = if lang == "nl" { "AVG" } else { "GDPR" };
            assert!(
                r.activities
                    .iter()
                    .all(|a| a.legal_basis.iter().all(|b| b.contains(law)))
            );
        }
        let r = build(&config, &profile(), "en");
        // Optional purposes rest on consent; the necessary one on what Stripe declares.
        assert_eq!(activity(&r, "analytics").legal_basis, ["Consent (GDPR art. 6(1)(a))"]);
        assert_eq!(activity(&r, "marketing").legal_basis, ["Consent (GDPR art. 6(1)(a))"]);
        let stripe = catalogue::vendor("stripe").unwrap().legal_basis;
        assert_eq!(activity(&r, "necessary").legal_basis, [legal_basis(stripe, "en")]);
        assert!(activity(&r, CONSENT_LOG).legal_basis[0].contains("6(1)(c)"));
        assert!(activity(&r, CONSENT_LOG).legal_basis[0].contains("7(1)"));
        // An empty required purpose of the owner's is named by its id.
        assert_eq!(activity(&r, "own").name, "own");
        // Marketing says profiles across sites only where it has services.
        assert!(activity(&r, "marketing").personal_data[0].starts_with("None"));
        assert!(activity(&r, "analytics").personal_data[0].contains("_ga"));
        assert!(
            activity(&r, CONSENT_LOG)
                .personal_data
                .iter()
                .any(|d| d.contains("No IP address"))
        );
    }

    #[test]
    fn the_controller_comes_from_the_profile_else_the_configuration() {
        let mut config = config();
        config.controller = "Shop".into();
        let r = build(&config, &RegisterProfile::default(), "en");
        assert_eq!(r.controller.name, "Shop");
        assert!(r.warnings.iter().any(|w| w.contains("contact details")));
        let r = build(&config, &profile(), "en");
        assert_eq!(r.controller.name, "Winkel BV");
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.generated, "2026-05-28T20:26:40Z");
        assert_eq!(r.config_version, config.version());
        let own = RegisterProfile {
            measures: "Laptops encrypted".into(),
            ..profile()
        };
        assert_eq!(build(&config, &own, "en").measures.last().unwrap(), "Laptops encrypted");
    }

    #[test]
    fn the_profile_is_validated_field_by_field() {
        assert_eq!(profile().validate(), Ok(()));
        let bad = RegisterProfile {
            controller: " ".into(),
            email: "not an email".into(),
            phone: "call me".into(),
            dpo_contact: "x".into(),
            address: "a".repeat(MAX_ADDRESS + 1),
            measures: "line\nline".into(),
            ..Default::default()
        };
        let errors = bad.validate().unwrap_err();
        let of = |f: &str| errors.iter().find(|e| e.field == f).map(|e| e.problem);
        assert_eq!(of("controller"), Some(FieldProblem::Required));
        assert_eq!(of("email"), Some(FieldProblem::NotEmail));
        assert_eq!(of("phone"), Some(FieldProblem::NotPhone));
        assert_eq!(of("dpo_contact"), Some(FieldProblem::NotContact));
        assert_eq!(of("address"), Some(FieldProblem::TooLong(MAX_ADDRESS)));
        assert_eq!(of("measures"), None);
        let tab = RegisterProfile {
            controller: "a\u{0}b".into(),
            ..profile()
        };
        assert_eq!(tab.validate().unwrap_err()[0].problem, FieldProblem::Control);
        for ok in ["a@b.nl", "first.last+tag@sub.example.com"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in ["a@b", "@b.nl", "a b@c.nl", "a@b..nl", "a@-b.nl", "a@@b.nl", "<a@b.nl>"] {
            assert!(!is_email(bad), "{bad}");
        }
        for ok in ["+31 20 123 4567", "020-1234567", "(020) 123.45.67"] {
            assert!(is_phone(ok), "{ok}");
        }
        for bad in ["12345", "+31 20 abc", "++31201234567"] {
            assert!(!is_phone(bad), "{bad}");
        }
        // Stored as JSON; unknown fields refused, missing ones default.
        let json = serde_json::to_string(&profile()).unwrap();
        assert_eq!(serde_json::from_str::<RegisterProfile>(&json).unwrap(), profile());
        assert!(serde_json::from_str::<RegisterProfile>(r#"{"x":1}"#).is_err());
        let p: RegisterProfile = serde_json::from_str(r#"{"safeguards":{"fullstory":"dpf"}}"#).unwrap();
        assert_eq!(p.safeguards["fullstory"], Safeguard::Dpf);
    }

    #[test]
    fn the_adequacy_list_and_the_eea_are_consistent() {
        assert_eq!(EEA.iter().collect::<BTreeSet<_>>().len(), 30);
        assert!(in_eea("nl") && in_eea("NO") && !in_eea("CH") && !in_eea("GB") && !in_eea(""));
        for a in ADEQUACY {
            assert!(!in_eea(a.country), "{}", a.country);
            assert!(a.country.len() == 2 && a.country.bytes().all(|b| b.is_ascii_uppercase()));
        }
        assert!(adequacy("us").unwrap().certified_only);
        assert_eq!(ADEQUACY.iter().filter(|a| a.certified_only).count(), 1);
        for g in Safeguard::ALL {
            assert_eq!(Safeguard::parse(g.as_str()), Some(g));
            assert_eq!(serde_json::to_value(g).unwrap(), g.as_str());
        }
    }

    #[test]
    fn csv_has_one_line_per_activity_and_states_the_version() {
        let config = config();
        let r = build(&config, &profile(), "en");
        let text = csv(&r);
        assert!(text.starts_with("config_version,generated,controller,activity,"));
        // Cells hold line breaks inside quotes: count records, not lines.
        let records = text
            .split("\r\n")
            .filter(|l| l.starts_with(&config.version().0))
            .count();
        assert_eq!(records, r.activities.len());
        assert!(text.contains("2026-05-28T20:26:40Z"));
        assert!(text.contains("no safeguard chosen"));
    }
}
