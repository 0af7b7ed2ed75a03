//! The site's configuration (the `config` of `GET /api/v1/sites/{site}/config`,
//! see `consent_core::config::SiteConfig`) and the texts, read straight from
//! the JS objects the loader fetched. `Reflect` keeps serde_json out of the
//! wasm (it would roughly triple its size, see REFERENCE.md §E.2).

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

pub fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn string(v: &JsValue, key: &str) -> String {
    get(v, key).as_string().unwrap_or_default()
}

pub fn list(v: &JsValue, key: &str) -> Array {
    get(v, key).dyn_into::<Array>().unwrap_or_default()
}

pub struct Category {
    pub id: String,
    pub required: bool,
    pub gpc_opt_out: bool,
    pub title: String,
    pub description: String,
}

pub struct Cookie {
    pub name: String,
    pub purpose: String,
    pub retention: String,
    pub provider: String,
    pub country: String,
}

pub struct Service {
    pub id: String,
    pub name: String,
    pub category: String,
    pub provider: String,
    pub description: String,
    pub cookies: Vec<Cookie>,
}

/// One site as the visitor sees it, in the visitor's language.
pub struct Site {
    /// `window.keurmerk`, the loader's API.
    pub k: JsValue,
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
    pub fn new(k: JsValue, config: JsValue, texts: JsValue, lang: String) -> Self {
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
        for c in list(&config, "categories").iter() {
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
        for s in list(&config, "services").iter() {
            let cookies = list(&s, "cookies")
                .iter()
                .map(|c| Cookie {
                    name: string(&c, "name"),
                    purpose: string(&c, "purpose"),
                    retention: string(&c, "retention"),
                    provider: string(&c, "provider"),
                    country: string(&c, "country"),
                })
                .collect();
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
        get(&self.k, "gpc").is_truthy()
    }

    /// Calls a method of the loader's API.
    pub fn call(&self, method: &str, args: &Array) -> JsValue {
        get(&self.k, method)
            .dyn_into::<Function>()
            .ok()
            .and_then(|f| f.apply(&self.k, args).ok())
            .unwrap_or(JsValue::UNDEFINED)
    }

    pub fn services_of<'a>(&'a self, cat: &'a str) -> impl Iterator<Item = &'a Service> + 'a {
        self.services.iter().filter(move |s| s.category == cat)
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}
