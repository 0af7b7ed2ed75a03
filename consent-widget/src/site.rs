//! The site's configuration (the `config` of `GET /api/v1/sites/{site}/config`,
//! see `consent_core::config::SiteConfig`) and the texts, read straight from
//! the JS objects the loader fetched. `Reflect` keeps serde_json out of the
//! wasm (it would roughly triple its size, see REFERENCE.md §E.2).

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use wasm_bindgen::JsValue;

use crate::loader::{Api, get, list, string};

/// The columns of a service's cookie table: the text key of each heading is
/// the field's name, except `cookie` for `name`.
pub const COOKIE_FIELDS: [&str; 5] = ["name", "purpose", "retention", "provider", "country"];

pub struct Category {
    pub id: String,
    pub required: bool,
    pub gpc_opt_out: bool,
    pub title: String,
    pub description: String,
}

pub struct Service {
    pub id: String,
    pub name: String,
    pub category: String,
    pub provider: String,
    pub description: String,
    /// The declared cookies as the configuration has them (objects with
    /// the fields in [`COOKIE_FIELDS`]), shown as they are.
    pub cookies: Vec<JsValue>,
}

/// One site as the visitor sees it, in the visitor's language.
pub struct Site {
    /// `window.keurmerk`, the loader's API.
    pub k: Api,
    pub lang: String,
    pub controller: String,
    pub privacy_policy_url: String,
    pub categories: Vec<Category>,
    pub services: Vec<Service>,
    /// Site overrides for `lang`, then the built-in texts.
    overrides: JsValue,
    texts: JsValue,
}

impl Site {
    pub fn new(k: Api, config: JsValue, texts: JsValue, lang: String) -> Self {
        let overrides = get(&get(&config, "texts"), &lang);
        let mut site = Site {
            k,
            controller: string(&config, "controller"),
            privacy_policy_url: string(&config, "privacy_policy_url"),
            categories: Vec::new(),
            services: Vec::new(),
            overrides,
            texts,
            lang,
        };
        for c in list(&config, "categories") {
            let id = string(&c, "id");
            let label = get(&get(&c, "labels"), &site.lang);
            let mut key = String::from("cat_");
            key.push_str(&id);
            let title = non_empty(string(&label, "title")).unwrap_or_else(|| site.text_or(&key, &id));
            key.push_str("_d");
            let description = non_empty(string(&label, "description")).unwrap_or_else(|| site.text(&key));
            site.categories.push(Category {
                required: get(&c, "required").is_truthy(),
                gpc_opt_out: get(&c, "gpc_opt_out").is_truthy(),
                id,
                title,
                description,
            });
        }
        for s in list(&config, "services") {
            let cookies = list(&s, "cookies").collect();
            site.services.push(Service {
                id: string(&s, "id"),
                name: string(&s, "name"),
                category: string(&s, "category"),
                provider: string(&s, "provider"),
                description: string(&get(&s, "description"), &site.lang),
                cookies,
            });
        }
        site
    }

    /// The text for `key`: the site's override, else the built-in one.
    pub fn text(&self, key: &str) -> String {
        self.text_or(key, "")
    }

    fn text_or(&self, key: &str, fallback: &str) -> String {
        non_empty(string(&self.overrides, key))
            .or_else(|| non_empty(string(&self.texts, key)))
            .unwrap_or_else(|| fallback.to_owned())
    }

    /// Whether the browser sent Global Privacy Control (the loader read it).
    pub fn gpc(&self) -> bool {
        self.k.gpc()
    }

    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    pub fn services_of<'a>(&'a self, cat: &'a str) -> impl Iterator<Item = &'a Service> + 'a {
        self.services.iter().filter(move |s| s.category == cat)
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}
