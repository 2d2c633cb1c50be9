//! The id each feed file gives a story's item. A story's combined item,
//! Polish item and English item are different documents, and so are its RSS,
//! Atom and JSON items: readers keep one item per id across all their
//! subscriptions, so a reader subscribed to two of the files shows each item
//! only when the ids differ. The combined RSS feed keeps the story's own id,
//! and stories born before tag ids keep theirs in every combined file, so
//! that no reader shows an old story as new.

use xxhash_rust::xxh3::xxh3_128;

use crate::model::Lang;

/// The id of `guid`'s item in the feed of `lang`, or in the combined feed
/// when `lang` is none. Computed from the stored guid alone, so that it never
/// changes between renders or with the configuration.
pub(crate) fn item_id(guid: &str, lang: Option<&Lang>) -> String {
    let Some(lang) = lang else {
        return guid.to_string();
    };
    if guid.starts_with("tag:") && !guid.contains('#') {
        // A tag's specific part may carry more path: still a tag of the same
        // authority and day.
        return format!("{guid}/{lang}");
    }
    // Ids minted before tag ids: a name-based UUID (RFC 9562 version 8).
    let hash = xxh3_128(format!("{guid}\n{lang}").as_bytes());
    uuid_urn(hash)
}

/// The id of an item in the `format` ("atom", "json") file of its feed,
/// from its id in the RSS file (`item_id`).
pub(crate) fn in_format(id: &str, format: &str) -> String {
    if id.starts_with("tag:") {
        format!("{id}/{format}")
    } else if id.starts_with("urn:uuid:") {
        uuid_urn(xxh3_128(format!("{id}\n{format}").as_bytes()))
    } else {
        id.to_string()
    }
}

/// `urn:uuid:` of a 128-bit value with the version (8) and variant (10) bits set.
fn uuid_urn(hash: u128) -> String {
    let bits = (hash & !(0xF << 76) & !(0b11 << 62)) | (0x8 << 76) | (0b10 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(code: &str) -> Lang {
        Lang::parse(code).unwrap()
    }

    #[test]
    fn the_combined_feed_keeps_the_story_id() {
        assert_eq!(item_id("hejnal:story:00ab", None), "hejnal:story:00ab");
    }

    #[test]
    fn each_language_feed_has_its_own_tag() {
        let guid = "tag:krakow.pl,2026-12-05:story/00000000000000ab";
        assert_eq!(item_id(guid, Some(&lang("pl"))), format!("{guid}/pl"));
        assert_ne!(
            item_id(guid, Some(&lang("pl"))),
            item_id(guid, Some(&lang("en")))
        );
    }

    #[test]
    fn each_format_has_its_own_id_but_for_old_combined_ones() {
        let guid = "tag:krakow.pl,2026-12-05:story/00000000000000ab";
        assert_eq!(in_format(guid, "atom"), format!("{guid}/atom"));
        let pl = item_id(guid, Some(&lang("pl")));
        assert_eq!(in_format(&pl, "json"), format!("{guid}/pl/json"));
        let old_pl = item_id("hejnal:story:00ab", Some(&lang("pl")));
        assert_ne!(in_format(&old_pl, "atom"), old_pl);
        assert_ne!(in_format(&old_pl, "atom"), in_format(&old_pl, "json"));
        assert!(in_format(&old_pl, "atom").starts_with("urn:uuid:"));
        assert_eq!(in_format("hejnal:story:00ab", "atom"), "hejnal:story:00ab");
    }

    #[test]
    fn an_old_id_gets_a_stable_uuid_per_language() {
        let pl = item_id("hejnal:story:00ab", Some(&lang("pl")));
        let en = item_id("hejnal:story:00ab", Some(&lang("en")));
        assert_ne!(pl, en);
        assert_eq!(pl, item_id("hejnal:story:00ab", Some(&lang("pl"))));
        // urn:uuid:xxxxxxxx-xxxx-8xxx-[89ab]xxx-xxxxxxxxxxxx
        let uuid = pl.strip_prefix("urn:uuid:").unwrap();
        let groups: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('8'), "{uuid}");
        assert!(matches!(&groups[3][..1], "8" | "9" | "a" | "b"), "{uuid}");
    }
}
