//! Summaries shaped like the feeds in the wild rather than like the farm's
//! tidy municipal prose: lengths from a few hundred bytes to 25 KB, legacy and
//! modern markup, entities, emoji and several languages inside one text.
//!
//! The shape was measured on the public test corpora of feedparser 6.0.14,
//! feed-rs and podcastparser (the conformance suite's corpora), over every
//! summary or content of 300 bytes or more (79 texts): the byte-length
//! quantiles below; 6.3 tags a KB, most often `br`, `a`, `p`, `div`, `img`,
//! `b`, `span`, `li`, tables, `font`, `script`, `h2`, `em`, `figure`; 0.8
//! entities a KB; 7.7 % of characters outside ASCII. Municipal feeds add
//! their own: Polish, German and English mixed in one announcement, emoji in
//! event notices, figures with captions.

use super::text::{self, Language, Rng};

/// (quantile, bytes) of summary length in the corpora; lengths are drawn by
/// interpolating between them, so the mean (about 2.6 KB) and the long tail
/// follow the corpora's.
const LENGTHS: &[(f64, f64)] = &[
    (0.0, 323.0),
    (0.1, 332.0),
    (0.25, 452.0),
    (0.5, 776.0),
    (0.75, 2_773.0),
    (0.9, 8_056.0),
    (0.95, 8_867.0),
    (0.99, 14_646.0),
    (1.0, 25_682.0),
];

const EMOJI: &[&str] = &[
    "🎉", "📅", "🚋", "🌳", "⚠️", "👉", "🎶", "🏛️", "☀️", "🇵🇱", "🇩🇪", "❤️",
];
const ENTITIES: &[&str] = &[
    "&nbsp;", "&quot;", "&#8211;", "&amp;", "&hellip;", "&#8222;", "&rsquo;", "&copy;",
];
const OTHER_SCRIPTS: &[&str] = &[
    "Київ — місто-побратим",
    "Миротворчий концерт",
    "Vilnius ir Krokuva",
    "Kraków – Bratislava: partnerské mestá",
    "京都市との交流",
    "Città gemellate: Firenze",
];

fn length(rng: &mut Rng) -> usize {
    let u = rng.below(1_000_000) as f64 / 1_000_000.0;
    let upper = LENGTHS
        .iter()
        .position(|(q, _)| *q >= u)
        .unwrap_or(LENGTHS.len() - 1)
        .max(1);
    let (q0, b0) = LENGTHS[upper - 1];
    let (q1, b1) = LENGTHS[upper];
    (b0 + (b1 - b0) * (u - q0) / (q1 - q0).max(1e-9)) as usize
}

/// Mostly the source's language; a sentence in three of another one, as in a
/// bilingual announcement of a partner city.
fn sentence(rng: &mut Rng, lang: Language) -> String {
    let other = [Language::Polish, Language::German, Language::English];
    let lang = if rng.below(3) == 0 {
        other[rng.below(3) as usize]
    } else {
        lang
    };
    let mut s = text::sentence(rng, lang);
    match rng.below(12) {
        0 => s.push_str(&format!(" {}", rng.pick(EMOJI))),
        1 => s.push_str(&format!(" {}", rng.pick(ENTITIES))),
        2 => s.push_str(&format!(" ({})", rng.pick(OTHER_SCRIPTS))),
        _ => {}
    }
    s
}

/// One summary of realistic shape; `page` is the item's own link.
pub fn summary_html(rng: &mut Rng, lang: Language, page: &str) -> String {
    let target = length(rng);
    let mut html = String::with_capacity(target + 800);
    // Figures come with the longer posts.
    if target > 1_500 && rng.below(2) == 0 {
        html.push_str(&format!(
            "<figure class=\"wp-block-image size-large\"><img loading=\"lazy\" decoding=\"async\" \
             src=\"https://cdn.example.org/uploads/2026/{}.jpg\" alt=\"\" width=\"1024\" height=\"576\" \
             srcset=\"https://cdn.example.org/uploads/2026/{0}-300x169.jpg 300w, \
             https://cdn.example.org/uploads/2026/{0}-768x432.jpg 768w\" sizes=\"(max-width: 1024px) 100vw, 1024px\" />\
             <figcaption>{} 📷</figcaption></figure>",
            rng.below(100_000),
            text::sentence(rng, lang)
        ));
    }
    // A block is 200–600 bytes: stopping short of the target by about half
    // of one keeps the lengths on the corpora's.
    while html.len() + 200 < target {
        match rng.below(10) {
            0 => {
                html.push_str("<ul>");
                for _ in 0..2 + rng.below(4) {
                    html.push_str(&format!("<li>{}</li>", sentence(rng, lang)));
                }
                html.push_str("</ul>");
            }
            1 => html.push_str(&format!(
                "<div class=\"field-item even\"><span style=\"font-size:11pt;font-family:Calibri\">{}</span><br />\
                 <span style=\"font-size:11pt\">{}</span><br /></div>",
                sentence(rng, lang),
                sentence(rng, lang)
            )),
            2 => html.push_str(&format!(
                "<p><b>{}</b>&nbsp;{} <a href=\"/aktualnosci/{}\" title=\"{}\">{}</a></p>",
                sentence(rng, lang),
                sentence(rng, lang),
                rng.below(1_000_000),
                rng.pick(EMOJI),
                sentence(rng, lang)
            )),
            3 => html.push_str(&format!(
                "<table border=\"0\"><tbody><tr><td><font face=\"Arial\" size=\"2\">{}</font></td>\
                 <td>{}</td></tr></tbody></table>",
                sentence(rng, lang),
                rng.below(10_000)
            )),
            4 => html.push_str(&format!(
                "<h2>{}</h2><p>{} <em>{}</em></p>",
                sentence(rng, lang),
                sentence(rng, lang),
                sentence(rng, lang)
            )),
            5 if rng.below(3) == 0 => html.push_str(&format!(
                "<script type=\"text/javascript\">window.dataLayer.push({{'event':'view','id':{}}});</script>\
                 <p onclick=\"track()\">{}</p>",
                rng.below(1_000),
                sentence(rng, lang)
            )),
            _ => html.push_str(&format!(
                "<p>{} {}<br />{}</p>",
                sentence(rng, lang),
                sentence(rng, lang),
                sentence(rng, lang)
            )),
        }
    }
    html.push_str(&format!(
        "<p><a href=\"{page}\" rel=\"bookmark\">{} &raquo;</a></p>",
        rng.pick(&["Czytaj więcej", "Weiterlesen", "Read more"])
    ));
    html
}
