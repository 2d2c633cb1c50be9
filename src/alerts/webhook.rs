//! Delivering a message by HTTP POST to a webhook.

use super::message::Message;

/// POSTs `message` to `url` in `format`; any answer but 2xx is a failure,
/// tried again in a later cycle.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    format: &str,
    message: &Message,
) -> Result<(), String> {
    let (content_type, body) = message.webhook_body(format);
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body);
    if format == "text" {
        // ntfy shows this as the notification's title.
        request = request.header("Title", message.subject());
    }
    let response = request.send().await.map_err(|e| {
        let cause = std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
        format!("webhook request failed: {cause}")
    })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("webhook answered HTTP {}", status.as_u16()))
    }
}
