//! The site's configuration (the `config` of `GET /api/v1/sites/{site}/config`,
//! see `consent_core::config::SiteConfig`) and the texts, read straight from
//! the JS objects the loader fetched. `Reflect` keeps serde_json out of the
//! wasm (it would take up most of it: see docs/benchmarks.md, widget bench).
//!
//! The banner's module (without the `dialog` feature) needs neither on a
//! first visit: the server rendered the banner, the category ids are in the
//! loader's rules (`c`), and it never withdraws anything (it runs only where
//! no grant is in force, or to add one), so it deletes no declared cookies
//! and shows no reload notice. The loader fetches the configuration only
//! where a decision is in force (its refused services are checked against
//! the site's), and the texts only for the dialog.

#[cfg(feature = "dialog")]
use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use wasm_bindgen::JsValue;

#[cfg(feature = "dialog")]
use crate::loader::get;
use crate::loader::{Api, list, string};

/// The columns of a service's cookie table: the text key of each heading is
/// the field's name, except `cookie` for `name`.
#[cfg(feature = "dialog")]
pub const COOKIE_FIELDS: [&str; 5] = ["name", "purpose", "retention", "provider", "country"];

pub struct Category {
    pub id: String,
    // What only the dialog shows (the banner's module never reads it: the
    // server rendered the banner).
    #[cfg(feature = "dialog")]
    pub required: bool,
    #[cfg(feature = "dialog")]
    pub title: String,
    #[cfg(feature = "dialog")]
    pub gpc_opt_out: bool,
    #[cfg(feature = "dialog")]
    pub description: String,
}

pub struct Service {
    pub id: String,
    pub category: String,
    /// The declared cookies as the configuration has them (objects with
    /// the fields of the dialog's cookie table), shown as they are.
    #[cfg(feature = "dialog")]
    pub cookies: Vec<JsValue>,
    #[cfg(feature = "dialog")]
    pub name: String,
    /// The company behind it.
    #[cfg(feature = "dialog")]
    pub provider: String,
    #[cfg(feature = "dialog")]
    pub description: String,
}

/// One site as the visitor sees it, in the visitor's language.
pub struct Site {
    /// `window.keurmerk`, the loader's API.
    #[cfg(feature = "dialog")]
    pub k: Api,
    pub lang: String,
    #[cfg(feature = "dialog")]
    pub privacy_policy_url: String,
    pub categories: Vec<Category>,
    pub services: Vec<Service>,
    /// Site overrides for `lang`, then the built-in texts.
    #[cfg(feature = "dialog")]
    overrides: JsValue,
    #[cfg(feature = "dialog")]
    texts: JsValue,
}

impl Site {
    /// `config` and `texts` may be missing in the banner's module (see the
    /// module docs); `rules` are the loader's.
    pub fn new(k: Api, rules: &JsValue, config: JsValue, texts: JsValue, lang: String) -> Self {
        #[cfg(not(feature = "dialog"))]
        let _ = (k, texts);
        let mut site = Site {
            #[cfg(feature = "dialog")]
            k,
            #[cfg(feature = "dialog")]
            privacy_policy_url: string(&config, "privacy_policy_url"),
            categories: Vec::new(),
            services: Vec::new(),
            #[cfg(feature = "dialog")]
            overrides: get(&get(&config, "texts"), &lang),
            #[cfg(feature = "dialog")]
            texts,
            lang,
        };
        #[cfg(not(feature = "dialog"))]
        for c in list(rules, "c") {
            site.categories.push(Category {
                id: c.as_string().unwrap_or_default(),
            });
        }
        #[cfg(feature = "dialog")]
        let _ = rules;
        #[cfg(feature = "dialog")]
        for c in list(&config, "categories") {
            let id = string(&c, "id");
            #[cfg(feature = "dialog")]
            let (label, mut key) = (get(&get(&c, "labels"), &site.lang), String::from("cat_"));
            #[cfg(feature = "dialog")]
            key.push_str(&id);
            #[cfg(feature = "dialog")]
            let title = non_empty(string(&label, "title")).unwrap_or_else(|| site.text_or(&key, &id));
            #[cfg(feature = "dialog")]
            key.push_str("_d");
            site.categories.push(Category {
                #[cfg(feature = "dialog")]
                required: get(&c, "required").is_truthy(),
                #[cfg(feature = "dialog")]
                gpc_opt_out: get(&c, "gpc_opt_out").is_truthy(),
                #[cfg(feature = "dialog")]
                description: non_empty(string(&label, "description")).unwrap_or_else(|| site.text(&key)),
                id,
                #[cfg(feature = "dialog")]
                title,
            });
        }
        for s in list(&config, "services") {
            site.services.push(Service {
                id: string(&s, "id"),
                category: string(&s, "category"),
                #[cfg(feature = "dialog")]
                cookies: list(&s, "cookies").collect(),
                #[cfg(feature = "dialog")]
                name: string(&s, "name"),
                #[cfg(feature = "dialog")]
                provider: string(&s, "provider"),
                #[cfg(feature = "dialog")]
                description: string(&get(&s, "description"), &site.lang),
            });
        }
        site
    }

    /// The text for `key`: the site's override, else the built-in one.
    #[cfg(feature = "dialog")]
    pub fn text(&self, key: &str) -> String {
        self.text_or(key, "")
    }

    #[cfg(feature = "dialog")]
    fn text_or(&self, key: &str, fallback: &str) -> String {
        non_empty(string(&self.overrides, key))
            .or_else(|| non_empty(string(&self.texts, key)))
            .unwrap_or_else(|| fallback.to_owned())
    }

    /// Whether the browser sent Global Privacy Control (the loader read it).
    #[cfg(feature = "dialog")]
    pub fn gpc(&self) -> bool {
        self.k.gpc()
    }

    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    #[cfg(feature = "dialog")]
    pub fn services_of<'a>(&'a self, cat: &'a str) -> impl Iterator<Item = &'a Service> + 'a {
        self.services.iter().filter(move |s| s.category == cat)
    }
}

#[cfg(feature = "dialog")]
fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}
