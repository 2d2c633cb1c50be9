//! Feeds in the encodings publishers really use, checked for the entry titles a
//! reader would see.

use hejnal::parse;

const URL: &str = "https://krakow.pl/rss.xml";

fn titles(body: &[u8], content_type: Option<&str>) -> Vec<String> {
    let feed = parse::parse(body, content_type, URL, 100)
        .unwrap_or_else(|e| panic!("the feed should parse: {e}"));
    feed.entries
        .into_iter()
        .map(|e| e.title.unwrap_or_default())
        .collect()
}

/// Runs parse over a directory of `NAME.xml` files, each with its Content-Type in
/// `NAME.ct` (empty: no header), and prints the last entry's title per file, so
/// that another feed reader's results can be compared with hejnal's:
/// `HEJNAL_ENCODING_CORPUS=dir cargo test --test encodings -- --ignored --nocapture`
#[test]
#[ignore = "needs a corpus directory in HEJNAL_ENCODING_CORPUS"]
fn corpus_titles() {
    let Ok(dir) = std::env::var("HEJNAL_ENCODING_CORPUS") else {
        return;
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    names.sort();
    for path in names {
        let body = std::fs::read(&path).unwrap_or_default();
        let content_type = std::fs::read_to_string(path.with_extension("ct")).unwrap_or_default();
        let content_type = Some(content_type.trim()).filter(|c| !c.is_empty());
        let title = match parse::parse(&body, content_type, URL, 100) {
            Ok(feed) => match feed.entries.last() {
                Some(entry) => format!("{:?}", entry.title.clone().unwrap_or_default()),
                None => "NO ENTRY".to_string(),
            },
            Err(e) => format!("ERROR {e}"),
        };
        let name = path.file_stem().unwrap_or_default().to_string_lossy();
        println!("CORPUS\t{name}\t{title}");
    }
}
