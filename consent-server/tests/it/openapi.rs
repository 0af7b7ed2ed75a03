//! `/openapi.json` describes every route, and real answers match its schemas.

use crate::common::{Kind, spawn_app};
use serde_json::{Value, json};

/// Routes of the consent API (method, path template) that must be documented.
/// Other parts (the proof log) add their own; every documented route is
/// checked to be routed below.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/sites/{site}/decisions"),
    ("options", "/api/v1/sites/{site}/decisions"),
    ("get", "/api/v1/sites/{site}/config"),
    ("get", "/s/{site}/loader.js"),
    ("get", "/api/v1/owner/sites"),
    ("post", "/api/v1/owner/sites"),
    ("get", "/api/v1/owner/sites/{site}"),
    ("put", "/api/v1/owner/sites/{site}/origins"),
    ("post", "/api/v1/owner/sites/{site}/configs"),
    ("get", "/api/v1/owner/sites/{site}/configs/{version}"),
    ("post", "/api/v1/owner/sites/{site}/keys"),
    ("get", "/api/v1/owner/sites/{site}/keys"),
    ("delete", "/api/v1/owner/sites/{site}/keys/{id}"),
    ("get", "/api/v1/owner/sites/{site}/decisions"),
    ("get", "/api/v1/owner/sites/{site}/decisions/export"),
    ("post", "/api/v1/sites/{site}/scans"),
    ("get", "/api/v1/sites/{site}/scans"),
    ("get", "/api/v1/sites/{site}/scans/{id}"),
    ("post", "/api/v1/auth/login"),
    ("get", "/api/v1/auth/me"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

/// A small validator for the JSON Schema subset utoipa emits: `$ref`,
/// `type` (one or several), `required`, `properties`,
/// `additionalProperties`, `items`, `enum`, `oneOf`/`anyOf`/`allOf`.
fn validate(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r
            .strip_prefix("#/components/schemas/")
            .ok_or(format!("{at}: odd $ref {r}"))?;
        return validate(doc, &doc["components"]["schemas"][name], value, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array)
            && !options.iter().any(|o| validate(doc, o, value, at).is_ok())
        {
            return Err(format!("{at}: matches none of {key}"));
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            validate(doc, s, value, at)?;
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
        if !ok {
            return Err(format!("{at}: {value} is not of type {t}"));
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(value)
    {
        return Err(format!("{at}: {value} not in {e:?}"));
    }
    if let Some(obj) = value.as_object() {
        for r in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                return Err(format!("{at}: missing required {r}"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(doc, s, v, &format!("{at}/{k}"))?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => return Err(format!("{at}: unexpected {k}")),
                    Some(s @ Value::Object(_)) => validate(doc, s, v, &format!("{at}/{k}"))?,
                    // Undocumented extra fields in an answer are drift.
                    _ if props.is_some() => return Err(format!("{at}: undocumented field {k}")),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            validate(doc, items, v, &format!("{at}/{i}"))?;
        }
    }
    Ok(())
}

fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let s = &doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]["schema"];
    assert!(!s.is_null(), "{method} {path} {status} has no JSON schema");
    s
}

/// Asserts that `value`, a 200 answer of `method path`, has the documented shape.
fn matches_schema(doc: &Value, method: &str, path: &str, value: &Value) {
    validate(doc, response_schema(doc, method, path, 200), value, path).unwrap();
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_exists() {
    let app = spawn_app(Kind::Sqlite).await;
    let doc = app.get_json("/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch", "options", "head"].contains(&method.as_str()) {
                documented.push((method.clone(), path.clone()));
            }
        }
    }
    for (m, p) in ROUTES {
        assert!(
            documented.iter().any(|(dm, dp)| dm == m && dp == p),
            "{m} {p} is not documented"
        );
    }

    // Each documented route answers from its handler: never the router's
    // bare 404 (no body) or 405.
    for (method, path) in &documented {
        let url = app.url(
            &path
                .replace("{site}", "demo")
                .replace("{version}", "x")
                .replace("{index}", "0")
                .replace("{consent_id}", &"0".repeat(32)),
        );
        let res = app
            .client
            .request(method.to_uppercase().parse().unwrap(), url)
            .header("Origin", app.origin())
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert_ne!(status, 405, "{method} {path}");
        assert!(!(status == 404 && body.is_empty()), "{method} {path} is not routed");
        // The consent API documents every status it answers with.
        if !ROUTES.contains(&(method.as_str(), path.as_str())) {
            continue;
        }
        let statuses = &doc["paths"][path][method]["responses"];
        assert!(
            statuses.get(status.to_string()).is_some(),
            "{method} {path} answered {status}, which is not documented"
        );
    }
}

#[tokio::test]
async fn answers_and_core_types_match_the_documented_schemas() {
    let app = spawn_app(Kind::Sqlite).await;
    let doc = app.get_json("/openapi.json").await;
    let decisions = "/api/v1/sites/{site}/decisions";

    // The request body schema accepts what the widget really sends (a
    // consent_core::DecisionRequest) ...
    let body = app.decision().await;
    let request_schema = &doc["paths"][decisions]["post"]["requestBody"]["content"]["application/json"]["schema"];
    validate(&doc, request_schema, &body, "request").unwrap();
    let typed: consent_core::DecisionRequest = serde_json::from_value(body.clone()).unwrap();
    validate(
        &doc,
        request_schema,
        &serde_json::to_value(&typed).unwrap(),
        "typed request",
    )
    .unwrap();

    // ... and real answers match their response schemas.
    let res = app.post_decision("demo", &body).await;
    assert_eq!(res.status(), 201);
    let recorded: Value = res.json().await.unwrap();
    validate(&doc, response_schema(&doc, "post", decisions, 201), &recorded, "201").unwrap();
    let mut bad = body.clone();
    bad["categories"]["ads"] = json!(true);
    let err: Value = app.post_decision("demo", &bad).await.json().await.unwrap();
    validate(&doc, response_schema(&doc, "post", decisions, 422), &err, "422").unwrap();

    let config = app.get_json("/api/v1/sites/demo/config").await;
    matches_schema(&doc, "get", "/api/v1/sites/{site}/config", &config);

    let key = app.api_key("demo", &["decisions:read"]).await;
    let page = app.json_with_key("/api/v1/owner/sites/demo/decisions", &key).await;
    assert_eq!(page["decisions"].as_array().unwrap().len(), 1);
    matches_schema(&doc, "get", "/api/v1/owner/sites/{site}/decisions", &page);
    let sites = app.json_with_key("/api/v1/owner/sites", &key).await;
    matches_schema(&doc, "get", "/api/v1/owner/sites", &sites);

    // A scan job as queued and while it runs (the embedded queue, the
    // server's own workers off so the job stays where the test puts it).
    let jobs = "/api/v1/owner/sites/{site}/scan-jobs";
    let scans_app = crate::common::spawn_app_with(Kind::Sqlite, |s| s.scan_workers = 0).await;
    scans_app.create_site("shop", "https://shop.example.nl").await;
    let key = scans_app.api_key("shop", &["scans:write", "scans:read"]).await;
    let res = scans_app
        .post_with_key("/api/v1/owner/sites/shop/scan-jobs", &key, &json!({}))
        .await;
    assert_eq!(res.status(), 202);
    let queued: Value = res.json().await.unwrap();
    validate(&doc, response_schema(&doc, "post", jobs, 202), &queued, "202").unwrap();
    let Some(consent_server::scan_queue::ScanQueue::Embedded(queue)) = &scans_app.state.scan_queue else {
        panic!("the embedded queue")
    };
    let leased = queue.next("w").await.unwrap().unwrap();
    let stage = consent_core::scan_job::ScanStage::BrowserPass;
    assert!(queue.renew(&leased, stage, 1, 5, Some("a note".into())).await.unwrap());
    let running = scans_app
        .json_with_key(queued["status_url"].as_str().unwrap(), &key)
        .await;
    assert_eq!(running["stage"], "browser_pass");
    matches_schema(&doc, "get", "/api/v1/owner/sites/{site}/scan-jobs/{id}", &running);
    let listed = scans_app
        .json_with_key("/api/v1/owner/sites/shop/scan-jobs", &key)
        .await;
    matches_schema(&doc, "get", jobs, &listed);
    let mut odd = running.clone();
    odd["stage"] = json!("running");
    let job_schema = response_schema(&doc, "get", "/api/v1/owner/sites/{site}/scan-jobs/{id}", 200);
    assert!(validate(&doc, job_schema, &odd, "x").is_err(), "stages are an enum");

    // The validator itself refuses wrong shapes.
    let mut wrong = recorded.clone();
    wrong["index"] = json!("zero");
    assert!(validate(&doc, response_schema(&doc, "post", decisions, 201), &wrong, "x").is_err());
    wrong = recorded.clone();
    wrong.as_object_mut().unwrap().remove("consent_id");
    assert!(validate(&doc, response_schema(&doc, "post", decisions, 201), &wrong, "x").is_err());
}

/// The schema `$ref` points to, and the component's name (`None` inline).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> (&'a Value, Option<&'a str>) {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.strip_prefix("#/components/schemas/").expect("a local $ref");
            let target = &doc["components"]["schemas"][name];
            assert!(!target.is_null(), "{r} is not in components");
            (target, Some(name))
        }
        None => (schema, None),
    }
}

/// An object of a component schema met while walking a value: its JSON
/// pointer in the value and the component's name.
type Met = Vec<(String, String)>;

/// Walks `value` along `schema`: every key of every object must be a
/// declared property of a schema that refuses others (or a value of a typed
/// map), so no part of the configuration is an untyped object. Records the
/// component objects met.
fn walk(doc: &Value, schema: &Value, value: &Value, at: &str, met: &mut Met) {
    let (schema, name) = resolve(doc, schema);
    for key in ["oneOf", "anyOf", "allOf"] {
        for branch in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            if branch.get("type") != Some(&json!("null")) {
                walk(doc, branch, value, at, met);
            }
        }
    }
    match value {
        Value::Object(obj) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                assert_eq!(
                    schema.get("additionalProperties"),
                    Some(&json!(false)),
                    "{at}: unknown fields are refused"
                );
                if let Some(name) = name {
                    met.push((at.to_owned(), name.to_owned()));
                }
                for (k, v) in obj {
                    let prop = props.get(k).unwrap_or_else(|| panic!("{at}/{k} is not in the schema"));
                    walk(doc, prop, v, &format!("{at}/{k}"), met);
                }
            } else if let Some(values @ Value::Object(_)) = schema.get("additionalProperties") {
                for (k, v) in obj {
                    walk(doc, values, v, &format!("{at}/{k}"), met);
                }
            } else if !["oneOf", "anyOf", "allOf"].iter().any(|k| schema.get(k).is_some()) {
                panic!("{at}: an untyped object in the schema: {schema}");
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    walk(doc, item, v, &format!("{at}/{i}"), met);
                }
            }
        }
        Value::String(_) => {
            if let (Some(name), Some(_)) = (name, schema.get("enum")) {
                met.push((at.to_owned(), name.to_owned()));
            }
        }
        _ => {}
    }
}

/// The components `schema` refers to, directly or through other components.
fn components_of(doc: &Value, schema: &Value, out: &mut std::collections::BTreeSet<String>) {
    match schema {
        Value::Object(obj) => {
            for (k, v) in obj {
                if k == "$ref"
                    && let Some(name) = v.as_str().and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    if out.insert(name.to_owned()) {
                        components_of(doc, &doc["components"]["schemas"][name], out);
                    }
                } else {
                    components_of(doc, v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| components_of(doc, v, out)),
        _ => {}
    }
}

/// The site configuration (`consent_core::SiteConfig`) is typed in
/// `/openapi.json` as serde reads it: the configuration endpoints refer to
/// its schema; every field of real configurations (the starter, the demo
/// with services and cookies, the documented example, which sets every
/// optional field) is a property, recursively, and every property is one
/// of their fields; unknown fields are refused at every level; `required`
/// is exactly what serde requires and each `default` is what serde fills
/// in; enumerations (the legal bases, ...) hold serde's names. Real
/// configurations validate against it, as do the server's answers.
#[tokio::test]
async fn the_site_configuration_is_fully_typed() {
    use consent_core::{LegalBasis, SiteConfig};

    let app = spawn_app(Kind::Sqlite).await;
    let doc = app.get_json("/openapi.json").await;
    let typed = json!({"$ref": "#/components/schemas/SiteConfig"});
    let schemas = &doc["components"]["schemas"];

    // Each endpoint that takes or gives a configuration says so.
    let configs = "/api/v1/owner/sites/{site}/configs";
    assert_eq!(
        doc["paths"][configs]["post"]["requestBody"]["content"]["application/json"]["schema"],
        typed
    );
    for (method, path) in [
        ("get", "/api/v1/owner/sites/{site}/configs/{version}"),
        ("get", "/api/v1/sites/{site}/config"),
    ] {
        let (answer, _) = resolve(&doc, response_schema(&doc, method, path, 200));
        assert_eq!(answer["properties"]["config"], typed, "{method} {path}");
    }
    let create = &doc["paths"]["/api/v1/owner/sites"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    let (create, _) = resolve(&doc, create);
    assert!(
        create["properties"]["config"]
            .to_string()
            .contains("#/components/schemas/SiteConfig"),
        "{create}"
    );
    assert!(
        !doc["paths"][configs].to_string().contains("\"type\":\"object\"}"),
        "no untyped object left"
    );

    let example: Value = serde_json::from_str(include_str!("../../../docs/examples/site-config.json")).unwrap();
    let configs = [
        ("starter", serde_json::to_value(SiteConfig::starter()).unwrap()),
        (
            "demo",
            serde_json::to_value(consent_server::bootstrap::demo_config()).unwrap(),
        ),
        ("example", example.clone()),
    ];
    let mut seen = std::collections::BTreeSet::new();
    let mut met = Met::new();
    for (name, config) in &configs {
        // Each is a configuration the server accepts.
        let parsed: SiteConfig = serde_json::from_value(config.clone()).unwrap();
        parsed.validate().unwrap();
        validate(&doc, &typed, config, name).unwrap();
        let mut here = Met::new();
        walk(&doc, &typed, config, "", &mut here);
        for (at, component) in &here {
            if let Some(obj) = config.pointer(at).and_then(Value::as_object) {
                seen.extend(obj.keys().map(|k| (component.clone(), k.clone())));
            }
        }
        if *name == "example" {
            met = here;
        }
    }

    // The example reaches every component of the configuration, and every
    // property of each is a field real configurations have: the schema
    // invents nothing.
    let mut components = std::collections::BTreeSet::from(["SiteConfig".to_owned()]);
    components_of(&doc, &schemas["SiteConfig"], &mut components);
    assert_eq!(
        met.iter()
            .map(|(_, c)| c.clone())
            .collect::<std::collections::BTreeSet<_>>(),
        components,
        "the example (docs/examples/site-config.json) reaches every component"
    );
    for component in &components {
        for prop in schemas[component]["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            assert!(
                seen.contains(&(component.clone(), prop.clone())),
                "{component}.{prop} is in the schema but in no real configuration"
            );
        }
    }

    // `required`, `default` and unknown fields, field by field, against
    // serde itself (the example has every field, so each can be dropped).
    let reads = |v: &Value| serde_json::from_value::<SiteConfig>(v.clone());
    for (at, component) in &met {
        let schema = &schemas[component];
        if let Some(names) = schema.get("enum").and_then(Value::as_array) {
            // Each name of an enumeration is one serde reads, and others
            // are refused by both.
            for name in names {
                let mut with = example.clone();
                *with.pointer_mut(at).unwrap() = name.clone();
                assert!(reads(&with).is_ok(), "{component} {name} at {at}");
            }
            let mut with = example.clone();
            *with.pointer_mut(at).unwrap() = json!("no-such-value");
            assert!(reads(&with).is_err() && validate(&doc, &typed, &with, "enum").is_err());
            continue;
        }
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (prop, prop_schema) in schema["properties"].as_object().unwrap() {
            let mut without = example.clone();
            without.pointer_mut(at).unwrap().as_object_mut().unwrap().remove(prop);
            let parsed = reads(&without);
            assert_eq!(
                parsed.is_err(),
                required.contains(&prop.as_str()),
                "{component}.{prop} at {at}: required in the schema iff serde requires it"
            );
            assert_eq!(
                validate(&doc, &typed, &without, "without").is_err(),
                required.contains(&prop.as_str()),
                "{component}.{prop} at {at}"
            );
            if let Some(default) = prop_schema.get("default") {
                let filled = serde_json::to_value(parsed.unwrap()).unwrap();
                let filled = filled.pointer(at).unwrap();
                // A field left out of the saved JSON at its default
                // (`refusal_months`) reads back absent.
                let value = filled.get(prop).unwrap_or(default);
                assert_eq!(value, default, "{component}.{prop}: the documented default is serde's");
            }
        }
        let mut unknown = example.clone();
        unknown.pointer_mut(at).unwrap()["colour"] = json!("red");
        assert!(reads(&unknown).is_err(), "serde refuses an unknown field at {at}");
        assert!(
            validate(&doc, &typed, &unknown, "unknown").is_err(),
            "the schema refuses an unknown field at {at}"
        );
    }

    // The legal bases are serde's names, and nothing else is one.
    let bases = [
        LegalBasis::Consent,
        LegalBasis::LegitimateInterest,
        LegalBasis::Contract,
        LegalBasis::LegalObligation,
    ]
    .map(|b| serde_json::to_value(b).unwrap());
    assert_eq!(schemas["LegalBasis"]["enum"], json!(bases));
    let mut odd = example.clone();
    odd["services"][0]["cookies"][0]["legal_basis"] = json!("LegitimateInterest");
    assert!(reads(&odd).is_err() && validate(&doc, &typed, &odd, "odd").is_err());

    // What the server stores and serves is the same shape: the example
    // saved through the API and read back from both endpoints.
    let key = app.api_key("demo", &["config:write"]).await;
    let res = app
        .post_with_key("/api/v1/owner/sites/demo/configs", &key, &example)
        .await;
    assert_eq!(res.status(), 201);
    let version = res.json::<Value>().await.unwrap()["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let saved = app
        .json_with_key(&format!("/api/v1/owner/sites/demo/configs/{version}"), &key)
        .await;
    matches_schema(&doc, "get", "/api/v1/owner/sites/{site}/configs/{version}", &saved);
    assert_eq!(reads(&saved["config"]).unwrap(), reads(&example).unwrap());
    let public = app.get_json("/api/v1/sites/demo/config").await;
    assert_eq!(public["version"], json!(version));
    matches_schema(&doc, "get", "/api/v1/sites/{site}/config", &public);
}
