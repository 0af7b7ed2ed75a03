//! Cookies: parsing `Set-Cookie` headers, and classifying a cookie by name
//! with the built-in knowledge base and, optionally, the Open Cookie
//! Database (Apache-2.0, CSV: github.com/jkwakman/Open-Cookie-Database).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::signature::KnowledgeBase;

/// A parsed `Set-Cookie` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetCookie {
    pub name: String,
    pub domain: Option<String>,
    pub path: String,
    /// Seconds until expiry; `None` for a session cookie.
    pub lifetime_secs: Option<i64>,
}

/// Parses one `Set-Cookie` header value (RFC 6265 §5.2, leniently: unknown
/// attributes are ignored, a nameless cookie is refused).
pub fn parse_set_cookie(header: &str, now: std::time::SystemTime) -> Option<SetCookie> {
    let mut parts = header.split(';');
    let (name, _value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() || name.len() > 256 {
        return None;
    }
    let mut c = SetCookie {
        name: name.to_owned(),
        domain: None,
        path: "/".into(),
        lifetime_secs: None,
    };
    let mut max_age = None;
    let mut expires = None;
    for attr in parts.take(32) {
        let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "domain" if !v.is_empty() => c.domain = Some(v.trim_start_matches('.').to_ascii_lowercase()),
            "path" if v.starts_with('/') => c.path = v.to_owned(),
            "max-age" => max_age = v.parse::<i64>().ok(),
            "expires" => {
                expires = httpdate::parse_http_date(v).ok().map(|t| match t.duration_since(now) {
                    Ok(d) => d.as_secs() as i64,
                    Err(e) => -(e.duration().as_secs() as i64),
                })
            }
            _ => {}
        }
    }
    // Max-Age wins over Expires (RFC 6265 §5.3 step 3).
    c.lifetime_secs = max_age.or(expires);
    Some(c)
}

/// A best guess at what a cookie is for, and where the guess comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// Keurmerk category slug: `necessary`, `preferences`, `analytics`, `marketing`.
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default)]
    pub purpose: String,
    /// `knowledge base: meta-pixel`, `Open Cookie Database <uuid>`, `declaration`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
}

/// One row of the Open Cookie Database.
#[derive(Clone, Debug, Deserialize)]
pub struct OcdEntry {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Platform")]
    pub platform: String,
    #[serde(rename = "Category")]
    pub category: String,
    #[serde(rename = "Cookie / Data Key name")]
    pub name: String,
    #[serde(rename = "Domain")]
    pub domain: String,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "Retention period")]
    pub retention: String,
    #[serde(rename = "Wildcard match")]
    pub wildcard: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CookieDbError {
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} line {line}: {message}")]
    Format { path: String, line: u64, message: String },
    #[error("{path}: larger than {max} bytes")]
    TooLarge { path: String, max: u64 },
}

/// The Open Cookie Database, loaded from its CSV.
#[derive(Clone, Debug, Default)]
pub struct CookieDb {
    pub entries: Vec<OcdEntry>,
}

const MAX_DB_BYTES: u64 = 64 * 1024 * 1024;

impl CookieDb {
    pub fn load(path: &Path) -> Result<Self, CookieDbError> {
        let p = path.display().to_string();
        let len = std::fs::metadata(path)
            .map_err(|e| CookieDbError::Io {
                path: p.clone(),
                source: e,
            })?
            .len();
        if len > MAX_DB_BYTES {
            return Err(CookieDbError::TooLarge {
                path: p,
                max: MAX_DB_BYTES,
            });
        }
        let file = std::fs::File::open(path).map_err(|e| CookieDbError::Io {
            path: p.clone(),
            source: e,
        })?;
        Self::from_reader(file, &p)
    }

    pub fn from_reader(r: impl std::io::Read, name: &str) -> Result<Self, CookieDbError> {
        let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(r);
        let mut entries = Vec::new();
        for row in rdr.deserialize::<OcdEntry>() {
            let row = row.map_err(|e| CookieDbError::Format {
                path: name.to_owned(),
                line: e.position().map(|p| p.line()).unwrap_or(0),
                message: e.to_string(),
            })?;
            if !row.name.is_empty() {
                entries.push(row);
            }
        }
        Ok(CookieDb { entries })
    }

    /// Exact names first, then the longest wildcard (prefix) match.
    pub fn lookup(&self, name: &str) -> Option<&OcdEntry> {
        self.entries
            .iter()
            .find(|e| e.wildcard != "1" && e.name == name)
            .or_else(|| {
                self.entries
                    .iter()
                    .filter(|e| e.wildcard == "1" && name.starts_with(&e.name))
                    .max_by_key(|e| e.name.len())
            })
    }
}

/// OCD categories mapped onto Keurmerk's. "Functional" in the OCD covers
/// both strictly necessary and convenience cookies; we read it as
/// `preferences` so nothing is waved through as necessary on a guess.
pub fn ocd_category(cat: &str) -> &'static str {
    match cat.trim().to_ascii_lowercase().as_str() {
        "security" => "necessary",
        "analytics" => "analytics",
        "marketing" => "marketing",
        _ => "preferences",
    }
}

/// Parses the OCD's free-text retention ("2 years", "session", "13 months").
pub fn parse_retention_days(s: &str) -> Option<u32> {
    let s = s.trim().to_ascii_lowercase();
    let mut it = s.split_whitespace();
    let n: f64 = it.next()?.parse().ok()?;
    let unit = it.next()?;
    let days = if unit.starts_with("year") {
        n * 365.0
    } else if unit.starts_with("month") {
        n * 30.0
    } else if unit.starts_with("week") {
        n * 7.0
    } else if unit.starts_with("day") {
        n
    } else if unit.starts_with("hour") || unit.starts_with("minute") {
        1.0
    } else {
        return None;
    };
    Some(days.round() as u32)
}

/// Classifies a cookie: the knowledge base first (it knows the platform),
/// then the Open Cookie Database.
pub fn classify(kb: &KnowledgeBase, db: Option<&CookieDb>, name: &str, domain: &str) -> Option<Classification> {
    classify_from(kb, db, name, domain, &[], &[])
}

/// [`classify`], knowing who set the cookie (`setters`: the URLs of the
/// responses and scripts that set it) and which platforms the scan found
/// (`present`), so a name several platforms share goes to the one that
/// set it ([`KnowledgeBase::match_cookie_from`]).
pub fn classify_from(
    kb: &KnowledgeBase,
    db: Option<&CookieDb>,
    name: &str,
    domain: &str,
    setters: &[&str],
    present: &[&str],
) -> Option<Classification> {
    if let Some((p, sig)) = kb.match_cookie_from(name, domain, setters, present) {
        return Some(Classification {
            category: p.category.clone(),
            platform: Some(p.id.clone()),
            purpose: sig.purpose.clone(),
            source: format!("knowledge base: {} ({})", p.id, p.cite(&sig.source)),
            retention_days: sig.retention_days,
        });
    }
    let e = db?.lookup(name)?;
    Some(Classification {
        category: ocd_category(&e.category).to_owned(),
        platform: Some(e.platform.clone()),
        purpose: e.description.clone(),
        source: format!("Open Cookie Database {} ({} / {})", e.id, e.platform, e.category),
        retention_days: parse_retention_days(&e.retention),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn set_cookie_attributes() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let c = parse_set_cookie(
            "_fbp=fb.1.2.3; Max-Age=7776000; Path=/; Domain=.Shop.example; SameSite=Lax",
            now,
        )
        .unwrap();
        assert_eq!(c.name, "_fbp");
        assert_eq!(c.domain.as_deref(), Some("shop.example"));
        assert_eq!(c.lifetime_secs, Some(7_776_000));
        let c = parse_set_cookie("sid=1; Expires=Wed, 15 Nov 2023 22:13:20 GMT", now).unwrap();
        assert_eq!(c.lifetime_secs, Some(86_400));
        assert_eq!(parse_set_cookie("sid=1", now).unwrap().lifetime_secs, None);
        assert!(parse_set_cookie("novalue", now).is_none());
        assert!(parse_set_cookie("=x", now).is_none());
    }

    #[test]
    fn built_in_knowledge_wins_and_third_party_names_need_their_domain() {
        let kb = KnowledgeBase::builtin();
        let c = classify(&kb, None, "_fbp", "shop.example").unwrap();
        assert_eq!(c.category, "marketing");
        assert_eq!(c.platform.as_deref(), Some("meta-pixel"));
        let c = classify(&kb, None, "_ga_ABC123", "shop.example").unwrap();
        assert_eq!(c.category, "analytics");
        // `fr` is Meta's only on facebook.com; elsewhere it is just a name.
        assert!(classify(&kb, None, "fr", "shop.example").is_none());
        assert_eq!(
            classify(&kb, None, "fr", ".facebook.com").unwrap().platform.as_deref(),
            Some("meta-pixel")
        );
    }

    #[test]
    fn open_cookie_database_format() {
        let csv = "ID,Platform,Category,Cookie / Data Key name,Domain,Description,Retention period,Data Controller,User Privacy & GDPR Rights Portals,Wildcard match\n\
            a1,Cookiebot,Functional,CookieConsent,,Stores consent,1 year,Cybot,https://x,0\n\
            a2,Hubspot,Analytics,__hs,,\"Visitor, with comma\",13 months,HubSpot,https://x,1\n";
        let db = CookieDb::from_reader(csv.as_bytes(), "t.csv").unwrap();
        let kb = KnowledgeBase::builtin();
        let c = classify(&kb, Some(&db), "__hstc", "shop.example").unwrap();
        assert_eq!(c.category, "analytics");
        assert_eq!(c.retention_days, Some(390));
        assert!(c.source.contains("a2"));
        assert_eq!(
            classify(&kb, Some(&db), "CookieConsent", "x").unwrap().category,
            "preferences"
        );
        assert!(CookieDb::from_reader("ID,Platform\n\"unterminated".as_bytes(), "bad.csv").is_err());
    }

    #[test]
    fn the_real_open_cookie_database_loads_when_present() {
        // The product never depends on this copy; the test uses it when the
        // shared folder is there and otherwise checks the fixture above only.
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/open-cookie-database/open-cookie-database.csv");
        if let Ok(db) = CookieDb::load(&path) {
            assert!(db.entries.len() > 1000);
            let kb = KnowledgeBase::empty();
            let c = classify(&kb, Some(&db), "_ga", "shop.example").expect("_ga is in the OCD");
            assert_eq!(c.category, "analytics");
        }
    }

    #[test]
    fn retention_text() {
        assert_eq!(parse_retention_days("2 years"), Some(730));
        assert_eq!(parse_retention_days("session"), None);
        assert_eq!(parse_retention_days("30 minutes"), Some(1));
    }
}
