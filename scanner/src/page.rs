//! What the passes observe on a site, before any judgement: requests,
//! cookies, storage, scripts and the problems met on the way. Both passes
//! produce these; the detectors only read them.

use serde::{Deserialize, Serialize};

/// When something happened relative to the visitor's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsentState {
    BeforeConsent,
    AfterReject,
    AfterAccept,
    /// No choice made, but the browser sends Global Privacy Control
    /// (`Sec-GPC: 1`, `navigator.globalPrivacyControl`): a site should take
    /// it as a refusal of sale and sharing (marketing) at least.
    WithGpc,
}

impl ConsentState {
    pub fn label(self) -> &'static str {
        match self {
            ConsentState::BeforeConsent => "before consent",
            ConsentState::AfterReject => "after reject",
            ConsentState::AfterAccept => "after accept",
            ConsentState::WithGpc => "with Global Privacy Control on",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pass {
    Static,
    Browser,
}

/// A request the page made (browser pass) or would make (static pass: a
/// script `src`, a pixel `<img>`/`<iframe>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub page: String,
    pub url: String,
    #[serde(default)]
    pub method: String,
    /// POST body (bounded), for beacons and fetches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `script`, `image`, `xhr`, `fetch`, `ping`, `document`, ...
    #[serde(default)]
    pub resource_type: String,
    /// The script (or document) that caused the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiator: Option<String>,
    pub state: ConsentState,
    pub pass: Pass,
    /// Which browser visit (one page in one consent-state run) saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<u32>,
}

/// Who set a cookie.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum SetBy {
    /// A `Set-Cookie` response header.
    Http { response_url: String },
    /// `document.cookie` (or the cookie store API) in a script.
    Script {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        script_url: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cookie {
    pub page: String,
    pub name: String,
    /// The domain it is stored under (the host for host-only cookies).
    pub domain: String,
    #[serde(default)]
    pub path: String,
    /// Seconds until it expires; `None` for a session cookie.
    #[serde(default)]
    pub lifetime_secs: Option<i64>,
    pub third_party: bool,
    pub set_by: SetBy,
    pub state: ConsentState,
    pub pass: Pass,
    /// Why the browser refused it, if it did (it still shows intent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
}

/// A `localStorage` / `sessionStorage` key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageItem {
    pub page: String,
    pub origin: String,
    pub area: String,
    pub key: String,
    pub state: ConsentState,
}

/// What a script did in the page that neither the network nor the cookie
/// jar shows: reading the device for a fingerprint, or writing to the
/// browser's storage. EDPB Guidelines 2/2023 on the technical scope of
/// art. 5(3) of the ePrivacy Directive count both as gaining access to, or
/// storing information in, the terminal equipment: they need consent like a
/// cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivityKind {
    /// A canvas read back (`toDataURL`, `toBlob`, `getImageData`).
    Canvas,
    /// The graphics card named (`WEBGL_debug_renderer_info`) or a WebGL
    /// frame read back (`readPixels`).
    Webgl,
    /// An offline audio graph rendered (`OfflineAudioContext.startRendering`).
    Audio,
    /// Many fonts measured or checked: installed fonts enumerated.
    Fonts,
    /// `localStorage.setItem`.
    LocalStorage,
    /// `sessionStorage.setItem`.
    SessionStorage,
    /// `indexedDB.open`.
    IndexedDb,
}

impl ActivityKind {
    /// Reading the device for a fingerprint, as opposed to storing in it.
    pub fn is_fingerprinting(self) -> bool {
        matches!(
            self,
            ActivityKind::Canvas | ActivityKind::Webgl | ActivityKind::Audio | ActivityKind::Fonts
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            ActivityKind::Canvas => "canvas",
            ActivityKind::Webgl => "WebGL",
            ActivityKind::Audio => "audio",
            ActivityKind::Fonts => "fonts",
            ActivityKind::LocalStorage => "localStorage",
            ActivityKind::SessionStorage => "sessionStorage",
            ActivityKind::IndexedDb => "IndexedDB",
        }
    }
}

/// One [`ActivityKind`] seen in the browser pass, with the script that did
/// it (from the JavaScript stack; `None` when no script URL was on it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptActivity {
    pub page: String,
    pub kind: ActivityKind,
    /// The API called (`HTMLCanvasElement.toDataURL`), the storage key or
    /// the database name.
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    pub state: ConsentState,
}

/// A script in a page: its `src`, or the text of an inline one (bounded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    pub page: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
    pub pass: Pass,
}

/// Why something could not be scanned (fully).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    Timeout,
    BodyTooLarge,
    DecompressionBomb,
    TooManyRedirects,
    HttpStatus,
    Network,
    ParseLimit,
    Deadline,
    Browser,
    Robots,
    /// The SSRF guard refused a non-public address (loopback, RFC 1918,
    /// link-local, …) without connecting.
    PrivateAddress,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub url: String,
    pub kind: ProblemKind,
    /// A sentence a marketer understands: "page timed out after 20 s".
    pub reason: String,
}

/// One page visited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageVisit {
    pub url: String,
    pub depth: u32,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub bytes: u64,
    pub pass: Pass,
}

/// Everything both passes saw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observations {
    pub pages: Vec<PageVisit>,
    pub requests: Vec<Request>,
    pub cookies: Vec<Cookie>,
    pub storage: Vec<StorageItem>,
    pub scripts: Vec<Script>,
    pub problems: Vec<Problem>,
    /// Banners found and clicked: page -> how (`window.keurmerk`, a button text).
    #[serde(default)]
    pub banners: Vec<(String, String)>,
    /// Browser visits made (each page once per consent-state run).
    #[serde(default)]
    pub browser_visits: u32,
    /// Fingerprinting probes and storage writes by scripts (browser pass).
    #[serde(default)]
    pub activity: Vec<ScriptActivity>,
    /// How each page installs the consent loader (static pass).
    #[serde(default)]
    pub installation: Vec<crate::install::InstallCheck>,
}

impl Observations {
    pub fn extend(&mut self, other: Observations) {
        self.pages.extend(other.pages);
        self.requests.extend(other.requests);
        self.cookies.extend(other.cookies);
        self.storage.extend(other.storage);
        self.scripts.extend(other.scripts);
        self.problems.extend(other.problems);
        self.banners.extend(other.banners);
        self.browser_visits += other.browser_visits;
        self.installation.extend(other.installation);
        self.activity.extend(other.activity);
    }
}

/// The registrable domain ("site") of a host by the Public Suffix List
/// (publicsuffix.org, ICANN and private sections, via the `psl` crate), so
/// `shop.example.co.uk` and `tracker.co.uk` are different sites, and so are
/// `foo.github.io` and `bar.github.io`. IP addresses, hosts that are
/// themselves a public suffix and single labels stand for themselves.
pub fn site_of(host: &str) -> String {
    let host = host.trim_start_matches('.').trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return host;
    }
    match psl::domain_str(&host) {
        Some(domain) => domain.to_owned(),
        None => host,
    }
}

pub fn same_site(a: &str, b: &str) -> bool {
    site_of(a) == site_of(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites() {
        assert_eq!(site_of("www.facebook.com"), "facebook.com");
        assert_eq!(site_of(".shop.example.co.uk"), "example.co.uk");
        assert_eq!(site_of("127.0.0.1"), "127.0.0.1");
        assert!(same_site("a.shop.nl", "shop.nl"));
        assert!(!same_site("shop.nl", "facebook.com"));
        // Suffixes the old two-label guess got wrong.
        assert!(same_site("shop.example.co.uk", "www.example.co.uk"));
        assert!(!same_site("shop.example.co.uk", "tracker.co.uk"));
        assert!(!same_site("foo.github.io", "bar.github.io"));
        assert!(same_site("foo.github.io", "www.foo.github.io"));
        assert_eq!(site_of("www.shop.com.au"), "shop.com.au");
        assert!(!same_site("shop.blogspot.com", "other.blogspot.com"));
        assert!(!same_site("x.herokuapp.com", "y.herokuapp.com"));
        assert_eq!(site_of("WWW.Example.COM."), "example.com");
        assert_eq!(site_of("localhost"), "localhost");
        assert_eq!(site_of("[::1]"), "[::1]");
    }
}
