//! The cookie policy table a site publishes: every cookie its configuration
//! declares, by category, with who sets it, why, for how long, where it goes
//! and on what legal basis (GDPR art. 13(1): controller, purposes, legal
//! basis, recipients, transfers; art. 13(2)(a): storage period). Built from
//! the published configuration alone, so it can never say something the
//! banner does not: the server serves it always current, the dashboard
//! shows it with its embed snippet.

use crate::config::{LegalBasis, SiteConfig};

/// One declared cookie, in the language asked for.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PolicyRow {
    /// The category's id.
    pub category: String,
    /// The category's title in the language.
    pub category_title: String,
    /// The service that sets it (its name).
    pub service: String,
    /// Who receives what it holds (the cookie's provider, else the service's).
    pub provider: String,
    /// The cookie's name (a `*` stands for any run of characters).
    pub cookie: String,
    /// The domain it is set on, when declared.
    pub domain: String,
    /// Why it is set.
    pub purpose: String,
    /// As declared ("13 months", "session").
    pub retention: String,
    /// The retention in days, when declared.
    pub retention_days: Option<u32>,
    /// Where the provider processes the data.
    pub country: String,
    /// The legal basis, as GDPR art. 6(1) names it, in the language.
    pub legal_basis: &'static str,
}

/// The column headings, in the language.
pub fn headings(lang: &str) -> [&'static str; 8] {
    match lang {
        "nl" => [
            "Cookie",
            "Dienst",
            "Aanbieder",
            "Doel",
            "Bewaartermijn",
            "Land",
            "Rechtsgrond",
            "Domein",
        ],
        "de" => [
            "Cookie",
            "Dienst",
            "Anbieter",
            "Zweck",
            "Speicherdauer",
            "Land",
            "Rechtsgrundlage",
            "Domain",
        ],
        "fr" => [
            "Cookie",
            "Service",
            "Fournisseur",
            "Finalité",
            "Durée de conservation",
            "Pays",
            "Base légale",
            "Domaine",
        ],
        _ => [
            "Cookie",
            "Service",
            "Provider",
            "Purpose",
            "Retention",
            "Country",
            "Legal basis",
            "Domain",
        ],
    }
}

/// The legal basis named as GDPR art. 6(1) names it, in the language.
pub fn legal_basis(b: LegalBasis, lang: &str) -> &'static str {
    use LegalBasis::*;
    match (b, lang) {
        (Consent, "nl") => "Toestemming (art. 6(1)(a) AVG)",
        (LegitimateInterest, "nl") => "Gerechtvaardigd belang (art. 6(1)(f) AVG)",
        (Contract, "nl") => "Overeenkomst (art. 6(1)(b) AVG)",
        (LegalObligation, "nl") => "Wettelijke plicht (art. 6(1)(c) AVG)",
        (Consent, "de") => "Einwilligung (Art. 6 Abs. 1 lit. a DSGVO)",
        (LegitimateInterest, "de") => "Berechtigtes Interesse (Art. 6 Abs. 1 lit. f DSGVO)",
        (Contract, "de") => "Vertrag (Art. 6 Abs. 1 lit. b DSGVO)",
        (LegalObligation, "de") => "Rechtliche Verpflichtung (Art. 6 Abs. 1 lit. c DSGVO)",
        (Consent, "fr") => "Consentement (art. 6(1)(a) RGPD)",
        (LegitimateInterest, "fr") => "Intérêt légitime (art. 6(1)(f) RGPD)",
        (Contract, "fr") => "Contrat (art. 6(1)(b) RGPD)",
        (LegalObligation, "fr") => "Obligation légale (art. 6(1)(c) RGPD)",
        (Consent, _) => "Consent (GDPR art. 6(1)(a))",
        (LegitimateInterest, _) => "Legitimate interest (GDPR art. 6(1)(f))",
        (Contract, _) => "Contract (GDPR art. 6(1)(b))",
        (LegalObligation, _) => "Legal obligation (GDPR art. 6(1)(c))",
    }
}

/// The language the table is in: `asked` when the site offers it, else the
/// site's first language.
pub fn language<'a>(config: &'a SiteConfig, asked: Option<&str>) -> &'a str {
    asked
        .and_then(|a| config.languages.iter().find(|l| l.as_str() == a))
        .or_else(|| config.languages.first())
        .map_or("en", String::as_str)
}

/// Every declared cookie in category order, then service order, then as declared.
pub fn rows(config: &SiteConfig, lang: &str) -> Vec<PolicyRow> {
    let mut out = Vec::new();
    for category in &config.categories {
        let title = category
            .labels
            .get(lang)
            .or_else(|| config.languages.first().and_then(|l| category.labels.get(l)))
            .map_or_else(|| category.id.clone(), |l| l.title.clone());
        for service in config.services.iter().filter(|s| s.category == category.id) {
            for c in &service.cookies {
                out.push(PolicyRow {
                    category: category.id.clone(),
                    category_title: title.clone(),
                    service: service.name.clone(),
                    provider: if c.provider.is_empty() {
                        service.provider.clone()
                    } else {
                        c.provider.clone()
                    },
                    cookie: c.name.clone(),
                    domain: c.domain.clone().unwrap_or_default(),
                    purpose: c.purpose.clone(),
                    retention: c.retention.clone(),
                    retention_days: c.retention_days,
                    country: c.country.clone(),
                    legal_basis: legal_basis(c.legal_basis, lang),
                });
            }
        }
    }
    out
}

/// The table as CSV (RFC 4180), cells written by [`crate::export::csv_cell`].
pub fn csv(rows: &[PolicyRow], lang: &str) -> String {
    let h = headings(lang);
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let cells: Vec<String> = cells.iter().map(|c| crate::export::csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    };
    line(
        &mut out,
        &[
            "category",
            h[0],
            h[1],
            h[2],
            h[3],
            h[4],
            "retention_days",
            h[5],
            h[6],
            h[7],
        ],
    );
    for r in rows {
        let days = r.retention_days.map(|d| d.to_string()).unwrap_or_default();
        line(
            &mut out,
            &[
                &r.category_title,
                &r.cookie,
                &r.service,
                &r.provider,
                &r.purpose,
                &r.retention,
                &days,
                &r.country,
                r.legal_basis,
                &r.domain,
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The starter configuration with a marketing and an analytics service.
    fn config() -> SiteConfig {
        let mut c = SiteConfig::starter();
        for (id, category, cookie, basis) in [
            ("meta", "marketing", "_fbp", "consent"),
            ("matomo", "analytics", "_pk_id.*", "legitimate_interest"),
        ] {
            if !c.categories.iter().any(|k| k.id == category) {
                continue;
            }
            c.services.push(
                serde_json::from_value(serde_json::json!({
                    "id": id, "name": id, "category": category, "provider": "Vendor BV",
                    "cookies": [{"name": cookie, "purpose": "measure", "retention": "13 months",
                                 "retention_days": 395, "country": "NL", "legal_basis": basis}]
                }))
                .unwrap(),
            );
        }
        c
    }

    #[test]
    fn the_starter_configuration_lists_its_cookies_by_category_in_each_language() {
        let config = config();
        let nl = rows(&config, "nl");
        assert!(!nl.is_empty(), "the starter declares cookies");
        // Category order is the configuration's, every row's category exists.
        let order: Vec<&str> = config.categories.iter().map(|c| c.id.as_str()).collect();
        let mut last = 0;
        for r in &nl {
            let at = order.iter().position(|c| *c == r.category).unwrap();
            assert!(at >= last, "category order");
            last = at;
        }
        assert!(nl.iter().all(|r| r.legal_basis.contains("AVG")));
        assert!(
            nl.iter()
                .all(|r| r.provider == "Vendor BV" && r.retention_days == Some(395))
        );
        let en = rows(&config, "en");
        assert_eq!(en.len(), nl.len());
        assert!(en.iter().all(|r| r.legal_basis.contains("GDPR")));
    }

    #[test]
    fn the_language_falls_back_to_the_sites_first() {
        let config = SiteConfig::starter();
        assert_eq!(language(&config, Some("xx")), config.languages[0]);
        assert_eq!(language(&config, None), config.languages[0]);
        if let Some(second) = config.languages.get(1) {
            assert_eq!(language(&config, Some(second)), second);
        }
    }

    #[test]
    fn csv_has_a_header_and_one_line_per_cookie_and_neutralises_formulas() {
        let mut config = config();
        if let Some(s) = config.services.iter_mut().find(|s| !s.cookies.is_empty()) {
            s.cookies[0].purpose = "=HYPERLINK(\"x\")".into();
        }
        let table = rows(&config, "en");
        let text = csv(&table, "en");
        assert_eq!(text.lines().count(), table.len() + 1);
        assert!(text.starts_with("category,Cookie,Service,Provider,Purpose,Retention,retention_days,"));
        assert!(!text.contains(",=HYPERLINK"), "{text}");
    }
}
