//! Sending a report to the consent server for the dashboard.
//!
//! Contract (client side; see `scanner/REPORT.md`):
//! `POST {server}/api/v1/sites/{site}/scans` with `Authorization: Bearer
//! {api key}`, `Content-Type: application/json`, body = the JSON report.
//! Success is any 2xx; the server may answer `{"id": "…"}`.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("upload to {url} failed: {message}")]
    Failed { url: String, message: String },
    #[error("server refused the upload to {url}: HTTP {status}: {body}")]
    Refused { url: String, status: u16, body: String },
}

pub fn scans_url(server: &str, site: &str) -> String {
    format!(
        "{}/api/v1/sites/{}/scans",
        server.trim_end_matches('/'),
        url::form_urlencoded::byte_serialize(site.as_bytes()).collect::<String>()
    )
}

/// Uploads; returns the server's answer (bounded to 64 KiB).
pub async fn upload(server: &str, site: &str, api_key: &str, report_json: &str) -> Result<String, UploadError> {
    let url = scans_url(server, site);
    let failed = |m: String| UploadError::Failed {
        url: url.clone(),
        message: m,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .user_agent(crate::fetch::USER_AGENT)
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let resp = client
        .post(&url)
        .bearer_auth(api_key)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(report_json.to_owned())
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let status = resp.status();
    let body = crate::fetch::read_limited(resp, 64 * 1024).await.unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    if !status.is_success() {
        return Err(UploadError::Refused {
            url,
            status: status.as_u16(),
            body: body.chars().take(500).collect(),
        });
    }
    Ok(body)
}
