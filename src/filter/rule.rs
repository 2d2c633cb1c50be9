//! One filter rule: whole words, whatever their case and diacritics, or a
//! regular expression between slashes.

use std::cell::OnceCell;

use regex::Regex;

use crate::clean::fingerprint::normalize;

/// Longest compiled regular expression, in bytes: a rule is a few words, and
/// a pattern that compiles into megabytes is a mistake or an attack.
const MAX_REGEX_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub enum Rule {
    /// The words of a phrase, folded: lower case, no diacritics, no punctuation.
    Words(String),
    Regex(Regex),
}

/// Why a rule cannot be used, for `hejnal check`.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("has no letter or digit to match")]
    NoWords,
    #[error("is not a valid regular expression: {0}")]
    Regex(String),
}

impl Rule {
    /// `/…/` is a regular expression (the `regex` crate's syntax, matched as
    /// written: `(?i)` makes it ignore case); anything else is words.
    pub fn parse(raw: &str) -> Result<Rule, RuleError> {
        let trimmed = raw.trim();
        if let Some(pattern) = trimmed
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
        {
            return regex::RegexBuilder::new(pattern)
                .size_limit(MAX_REGEX_BYTES)
                .build()
                .map(Rule::Regex)
                .map_err(|e| RuleError::Regex(one_line(&e.to_string())));
        }
        let words = normalize(trimmed);
        if words.is_empty() {
            return Err(RuleError::NoWords);
        }
        Ok(Rule::Words(words))
    }

    pub fn matches(&self, text: &Subject) -> bool {
        match self {
            Rule::Regex(re) => re.is_match(text.raw),
            Rule::Words(words) => contains_words(text.folded(), words),
        }
    }
}

/// A text rules are matched against, folded once for all the word rules.
pub struct Subject<'a> {
    raw: &'a str,
    folded: OnceCell<String>,
}

impl<'a> Subject<'a> {
    pub fn new(raw: &'a str) -> Subject<'a> {
        Subject {
            raw,
            folded: OnceCell::new(),
        }
    }

    fn folded(&self) -> &str {
        self.folded.get_or_init(|| normalize(self.raw))
    }
}

/// True when the folded words of `text` hold `words` as whole words.
fn contains_words(text: &str, words: &str) -> bool {
    text.match_indices(words).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + words.len()..].chars().next();
        before.is_none_or(|c| c == ' ') && after.is_none_or(|c| c == ' ')
    })
}

/// The regex crate explains an error over several lines (the pattern, carets
/// under the problem, then `error: …`); a diagnostic has one line for it.
fn one_line(message: &str) -> String {
    let said: Vec<&str> = message
        .lines()
        .filter_map(|l| l.trim().strip_prefix("error:"))
        .map(str::trim)
        .collect();
    if said.is_empty() {
        message.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        said.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(raw: &str) -> Rule {
        Rule::parse(raw).unwrap()
    }

    /// `rule` against `text`, as the filters match it.
    fn hit(rule: &Rule, text: &str) -> bool {
        rule.matches(&Subject::new(text))
    }

    #[test]
    fn words_match_whatever_the_case_and_diacritics() {
        let krakow = rule("Kraków");
        assert!(hit(&krakow, "Bürgermeister besucht KRAKOW"));
        assert!(hit(&krakow, "Partnerstadt Kraków feiert"));
        assert!(!hit(&krakow, "Krakowiak tanzen"), "whole words only");
        assert!(hit(&rule("Łódź"), "Wycieczka do lodz"));
    }

    #[test]
    fn a_phrase_matches_its_words_in_order() {
        let phrase = rule("Stare  Miasto");
        assert!(hit(
            &phrase,
            "Remont na Starym Mieście, Stare miasto zamknięte"
        ));
        assert!(!hit(&phrase, "Miasto stare"));
    }

    #[test]
    fn slashes_make_a_regex_matched_as_written() {
        let re = rule(r"/^Anzeige:/");
        assert!(hit(&re, "Anzeige: Autohaus"));
        assert!(!hit(&re, "anzeige: Autohaus"));
        assert!(hit(&rule("/(?i)^anzeige/"), "ANZEIGE"));
    }

    #[test]
    fn bad_rules_are_refused_with_a_reason() {
        let e = Rule::parse("/Krak(ow/").unwrap_err().to_string();
        assert!(e.contains("unclosed group"), "{e}");
        assert!(!e.contains('\n'));
        assert!(matches!(Rule::parse(" -- "), Err(RuleError::NoWords)));
        assert!(Rule::parse("/a{1000}{1000}{1000}/").is_err(), "size limit");
    }
}
