//! DeepL API v2: `POST /v2/translate` with many texts per request.

use serde::{Deserialize, Serialize};

use super::{Http, TranslateError, Translator, endpoint, rejected};
use crate::model::Lang;

const FREE_URL: &str = "https://api-free.deepl.com";
const PRO_URL: &str = "https://api.deepl.com";
/// DeepL's answer when the account's character quota is used up.
const QUOTA_EXCEEDED: u16 = 456;

pub struct DeepL {
    http: Http,
    base: String,
    key: String,
}

#[derive(Serialize)]
struct Request<'a> {
    text: &'a [String],
    source_lang: String,
    target_lang: String,
    tag_handling: &'static str,
}

#[derive(Deserialize)]
struct Response {
    translations: Vec<Translation>,
}

#[derive(Deserialize)]
struct Translation {
    text: String,
}

impl DeepL {
    /// A client of the API at `url`; without one, free-plan keys (ending in
    /// ":fx") go to the free API and others to the pro API.
    pub fn new(url: Option<&str>, key: Option<String>) -> Result<DeepL, TranslateError> {
        let key = key.ok_or_else(|| {
            TranslateError::Setup(
                "DeepL needs an API key: set the variable named by api_key_env, \
                 or the systemd credential translate-key"
                    .to_string(),
            )
        })?;
        let base = match url {
            // "…/v2" and "…/v2/" name the same API as its root.
            Some(url) => {
                let url = url.trim_end_matches('/');
                url.strip_suffix("/v2").unwrap_or(url).to_string()
            }
            None if key.ends_with(":fx") => FREE_URL.to_string(),
            None => PRO_URL.to_string(),
        };
        Ok(DeepL {
            http: Http::new()?,
            base,
            key,
        })
    }
}

/// DeepL names source languages by their upper-case code.
pub fn source_code(lang: &Lang) -> String {
    lang.as_str().to_ascii_uppercase()
}

/// DeepL wants a variant for some target languages.
pub fn target_code(lang: &Lang) -> String {
    match lang.as_str() {
        "en" => "EN-GB".to_string(),
        "pt" => "PT-PT".to_string(),
        other => other.to_ascii_uppercase(),
    }
}

impl Translator for DeepL {
    fn name(&self) -> &str {
        "DeepL"
    }

    async fn translate(
        &self,
        texts: &[String],
        from: &Lang,
        to: &Lang,
    ) -> Result<Vec<String>, TranslateError> {
        let body = serde_json::to_vec(&Request {
            text: texts,
            source_lang: source_code(from),
            target_lang: target_code(to),
            tag_handling: "html",
        })
        .map_err(|e| TranslateError::Setup(e.to_string()))?;
        let url = endpoint(&self.base, "v2/translate");
        let auth = format!("DeepL-Auth-Key {}", self.key);
        let (status, answer) = self
            .http
            .send(|| {
                self.http
                    .client()
                    .post(&url)
                    .header(reqwest::header::AUTHORIZATION, &auth)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        match status {
            200..=299 => serde_json::from_str::<Response>(&answer)
                .map(|r| r.translations.into_iter().map(|t| t.text).collect())
                .map_err(|e| TranslateError::BadResponse(e.to_string())),
            QUOTA_EXCEEDED => Err(TranslateError::QuotaExceeded),
            _ => Err(rejected(status, &answer)),
        }
    }
}
