//! Notifications: a webhook (Slack-compatible JSON, `{"text": ...}`) on apply, failure and
//! drift, and a GitHub commit status on the commit applied. A notification that cannot be sent
//! is logged; it never stops the loop.

#[derive(Debug, Clone)]
pub struct GitHub {
    /// `https://api.github.com`, or an Enterprise server's API.
    pub api: String,
    /// `OWNER/NAME`.
    pub repository: String,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct Notifier {
    http: reqwest::Client,
    webhook: Option<String>,
    github: Option<GitHub>,
}

impl Notifier {
    pub fn new(webhook: Option<String>, github: Option<GitHub>) -> Notifier {
        Notifier {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            webhook,
            github,
        }
    }

    /// Posts `text` to the webhook.
    pub async fn event(&self, text: &str) {
        let Some(url) = &self.webhook else {
            return;
        };
        let sent = self
            .http
            .post(url)
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        if let Err(error) = sent {
            tracing::warn!(error = %error.without_url(), "the webhook notification failed");
        }
    }

    /// Sets the commit status `reconcile/ENVIRONMENT` of `commit` (a full SHA): `success`,
    /// `failure` or `pending`.
    pub async fn commit_status(
        &self,
        commit: &str,
        environment: &str,
        state: &str,
        description: &str,
    ) {
        let Some(github) = &self.github else {
            return;
        };
        let url = format!(
            "{}/repos/{}/statuses/{commit}",
            github.api.trim_end_matches('/'),
            github.repository
        );
        let description: String = description.chars().take(140).collect();
        let sent = self
            .http
            .post(url)
            .bearer_auth(&github.token)
            .header("Accept", "application/vnd.github+json")
            .header("User-Agent", "reconcile-operate")
            .json(&serde_json::json!({
                "state": state,
                "context": format!("reconcile/{environment}"),
                "description": description,
            }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        if let Err(error) = sent {
            tracing::warn!(error = %error.without_url(), "the GitHub commit status failed");
        }
    }
}
