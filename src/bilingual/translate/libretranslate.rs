//! LibreTranslate, the self-hosted engine: `GET /languages`, `POST /translate`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{Http, TranslateError, Translator, endpoint, rejected};
use crate::model::Lang;

/// Where a LibreTranslate server listens when feeds.toml names none.
pub const DEFAULT_URL: &str = "http://127.0.0.1:5000";

pub struct LibreTranslate {
    http: Http,
    base: String,
    key: Option<String>,
    /// Source language → target languages, as the server listed them.
    pairs: Option<HashMap<String, Vec<String>>>,
}

#[derive(Deserialize)]
struct Language {
    code: String,
    /// Older servers do not list targets: every language translates into every other.
    #[serde(default)]
    targets: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Request<'a> {
    q: &'a str,
    source: &'a str,
    target: &'a str,
    format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<&'a str>,
}

#[derive(Deserialize)]
struct Response {
    #[serde(rename = "translatedText")]
    translated_text: String,
}

impl LibreTranslate {
    /// A client of the server at `url` (the local default when `None`); the
    /// key is optional, as self-hosted servers usually need none.
    pub fn new(url: Option<&str>, key: Option<String>) -> Result<LibreTranslate, TranslateError> {
        Ok(LibreTranslate {
            http: Http::new()?,
            base: url.unwrap_or(DEFAULT_URL).to_string(),
            key,
            pairs: None,
        })
    }

    async fn one(&self, text: &str, from: &Lang, to: &Lang) -> Result<String, TranslateError> {
        let body = serde_json::to_vec(&Request {
            q: text,
            source: from.as_str(),
            target: to.as_str(),
            format: "html",
            api_key: self.key.as_deref(),
        })
        .map_err(|e| TranslateError::Setup(e.to_string()))?;
        let url = endpoint(&self.base, "translate");
        let (status, answer) = self
            .http
            .send(|| {
                self.http
                    .client()
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        if !(200..300).contains(&status) {
            return Err(rejected(status, &answer));
        }
        serde_json::from_str::<Response>(&answer)
            .map(|r| r.translated_text)
            .map_err(|e| TranslateError::BadResponse(e.to_string()))
    }
}

impl Translator for LibreTranslate {
    fn name(&self) -> &str {
        "LibreTranslate"
    }

    async fn check(&mut self) -> Result<(), TranslateError> {
        let url = endpoint(&self.base, "languages");
        let (status, answer) = self.http.send(|| self.http.client().get(&url)).await?;
        if !(200..300).contains(&status) {
            return Err(rejected(status, &answer));
        }
        let languages: Vec<Language> = serde_json::from_str(&answer)
            .map_err(|e| TranslateError::BadResponse(format!("/languages: {e}")))?;
        let all: Vec<String> = languages.iter().map(|l| l.code.clone()).collect();
        self.pairs = Some(
            languages
                .into_iter()
                .map(|l| (l.code, l.targets.unwrap_or_else(|| all.clone())))
                .collect(),
        );
        Ok(())
    }

    fn supports(&self, from: &Lang, to: &Lang) -> bool {
        self.pairs.as_ref().is_none_or(|pairs| {
            pairs
                .get(from.as_str())
                .is_some_and(|targets| targets.iter().any(|t| t == to.as_str()))
        })
    }

    /// One request per text: every LibreTranslate version takes a single `q`.
    async fn translate(
        &self,
        texts: &[String],
        from: &Lang,
        to: &Lang,
    ) -> Result<Vec<String>, TranslateError> {
        let mut out = Vec::with_capacity(texts.len());
        for text in texts {
            out.push(self.one(text, from, to).await?);
        }
        Ok(out)
    }
}
