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

const TITLE: &str = "Zażółć “gęślą” – 50€ Kraków";

fn rss(prolog_encoding: Option<&str>, title: &str) -> String {
    let prolog = prolog_encoding
        .map(|e| format!("<?xml version=\"1.0\" encoding=\"{e}\"?>\n"))
        .unwrap_or_default();
    format!(
        "{prolog}<rss version=\"2.0\"><channel><title>Kraków</title>\
         <item><title>{title}</title><link>https://krakow.pl/a</link></item>\
         </channel></rss>"
    )
}

/// Code units of `width` bytes each, in the byte order asked for.
fn code_units(units: impl Iterator<Item = u32>, width: usize, big_endian: bool) -> Vec<u8> {
    units
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()[4 - width..].to_vec()
            } else {
                u.to_le_bytes()[..width].to_vec()
            }
        })
        .collect()
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    code_units(text.encode_utf16().map(u32::from), 2, big_endian)
}

fn utf32(text: &str, big_endian: bool) -> Vec<u8> {
    code_units(text.chars().map(u32::from), 4, big_endian)
}

#[test]
fn utf16_and_utf32_are_read_with_or_without_a_bom() {
    let doc = rss(Some("utf-16"), TITLE);
    let wide_doc = rss(Some("UTF-32"), TITLE);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("UTF-16LE, no BOM", utf16(&doc, false)),
        ("UTF-16BE, no BOM", utf16(&doc, true)),
        (
            "UTF-16LE, BOM",
            [&[0xFF, 0xFE][..], &utf16(&doc, false)].concat(),
        ),
        (
            "UTF-16BE, BOM",
            [&[0xFE, 0xFF][..], &utf16(&doc, true)].concat(),
        ),
        ("UTF-32LE, no BOM", utf32(&wide_doc, false)),
        ("UTF-32BE, no BOM", utf32(&wide_doc, true)),
        // FF FE 00 00 starts UTF-16LE's mark too: it must be read as UTF-32LE.
        (
            "UTF-32LE, BOM",
            [&[0xFF, 0xFE, 0, 0][..], &utf32(&wide_doc, false)].concat(),
        ),
        (
            "UTF-32BE, BOM",
            [&[0, 0, 0xFE, 0xFF][..], &utf32(&wide_doc, true)].concat(),
        ),
        (
            "UTF-16LE, no BOM, no declaration",
            utf16(&rss(None, TITLE), false),
        ),
    ];
    for (what, body) in cases {
        assert_eq!(titles(&body, None), [TITLE], "{what}");
        assert_eq!(
            titles(&body, Some("application/rss+xml; charset=iso-8859-1")),
            [TITLE],
            "{what}, whatever the header says"
        );
    }
}

#[test]
fn a_utf16_declaration_on_bytes_that_read_as_ascii_is_ignored() {
    let body = rss(Some("UTF-16"), TITLE);
    assert_eq!(titles(body.as_bytes(), None), [TITLE]);
    assert_eq!(
        titles(body.as_bytes(), Some("text/xml; charset=utf-16")),
        [TITLE]
    );
}

#[test]
fn labels_as_python_and_old_servers_spell_them_are_understood() {
    let polish = "Zażółć gęślą Kraków";
    let cases: [(&str, &[u8]); 6] = [
        (
            "windows_1250",
            b"Za\xBF\xF3\xB3\xE6 g\xEA\x9Cl\xB9 Krak\xF3w",
        ),
        ("iso8859_2", b"Za\xBF\xF3\xB3\xE6 g\xEA\xB6l\xB1 Krak\xF3w"),
        ("ISO_8859-2", b"Za\xBF\xF3\xB3\xE6 g\xEA\xB6l\xB1 Krak\xF3w"),
        ("cp852", b"Za\xBE\xA2\x88\x86 g\xA9\x98l\xA5 Krak\xA2w"),
        ("IBM852", b"Za\xBE\xA2\x88\x86 g\xA9\x98l\xA5 Krak\xA2w"),
        (
            "maccentraleurope",
            b"Za\xFD\x97\xB8\x8D g\xAB\xE6l\x88 Krak\x97w",
        ),
    ];
    for (label, title) in cases {
        let body = [
            format!("<?xml version=\"1.0\" encoding=\"{label}\"?><rss version=\"2.0\"><channel><item><title>").as_bytes(),
            title,
            b"</title></item></channel></rss>",
        ]
        .concat();
        assert_eq!(titles(&body, None), [polish], "declared as {label}");
    }
    // Western labels: the same bytes, "Café" with a euro sign.
    for label in [
        "cp1252",
        "latin_1",
        "windows_1252",
        "x-cp1252",
        "utf_8",
        "utf8",
    ] {
        let western = if label.starts_with("utf") {
            "Café 50€".as_bytes().to_vec()
        } else {
            b"Caf\xE9 50\x80".to_vec()
        };
        let body = [
            format!("<?xml version=\"1.0\" encoding=\"{label}\"?><rss version=\"2.0\"><channel><item><title>").as_bytes(),
            &western,
            b"</title></item></channel></rss>",
        ]
        .concat();
        assert_eq!(titles(&body, None), ["Café 50€"], "declared as {label}");
    }
}

#[test]
fn dos_code_pages_are_read_from_the_header_too() {
    let body =
        b"<rss version=\"2.0\"><channel><item><title>Krak\xA2w \x98</title></item></channel></rss>";
    // 0xA2 is ó in both; 0x98 is ÿ in cp437 but ś in cp852.
    assert_eq!(
        titles(body, Some("application/rss+xml; charset=cp437")),
        ["Kraków ÿ"]
    );
    assert_eq!(
        titles(body, Some("application/rss+xml; charset=\"cp852\"")),
        ["Kraków ś"]
    );
}

#[test]
fn an_ebcdic_feed_is_read_in_the_code_page_it_declares() {
    // `<?xml version="1.0" encoding="ibm500"?>…<title>Kraków [1]</title>…` in
    // IBM500, whose brackets sit elsewhere than in IBM037.
    let body = b"\
        \x4C\x6F\xA7\x94\x93\x40\xA5\x85\x99\xA2\x89\x96\x95\x7E\x7F\xF1\x4B\xF0\x7F\x40\x85\x95\x83\x96\
        \x84\x89\x95\x87\x7E\x7F\x89\x82\x94\xF5\xF0\xF0\x7F\x6F\x6E\x4C\x99\xA2\xA2\x40\xA5\x85\x99\xA2\
        \x89\x96\x95\x7E\x7F\xF2\x4B\xF0\x7F\x6E\x4C\x83\x88\x81\x95\x95\x85\x93\x6E\x4C\x89\xA3\x85\x94\
        \x6E\x4C\xA3\x89\xA3\x93\x85\x6E\xD2\x99\x81\x92\xCE\xA6\x40\x4A\xF1\x5A\x4C\x61\xA3\x89\xA3\x93\
        \x85\x6E\x4C\x61\x89\xA3\x85\x94\x6E\x4C\x61\x83\x88\x81\x95\x95\x85\x93\x6E\x4C\x61\x99\xA2\xA2\
        \x6E";
    assert_eq!(titles(body, None), ["Kraków [1]"]);
}

#[test]
fn a_quoted_charset_in_the_header_or_the_declaration_is_honoured() {
    let news = "克拉科夫新闻";
    let gbk = b"\xBF\xCB\xC0\xAD\xBF\xC6\xB7\xF2\xD0\xC2\xCE\xC5";
    let feed = |prolog: &str| {
        [
            prolog.as_bytes(),
            b"<rss version=\"2.0\"><channel><item><title>",
            gbk,
            b"</title></item></channel></rss>",
        ]
        .concat()
    };
    let plain = feed("");
    for header in [
        "application/rss+xml; charset='gb2312'",
        "application/rss+xml; charset=\"gb2312\"",
        "application/rss+xml;charset= 'GB2312'",
        "application/rss+xml; charset = gb2312",
    ] {
        assert_eq!(titles(&plain, Some(header)), [news], "{header}");
    }
    for prolog in [
        "<?xml version='1.0' encoding='gb2312'?>",
        "<?xml version=\"1.0\" encoding=\"gb2312\"?>",
    ] {
        assert_eq!(titles(&feed(prolog), None), [news], "{prolog}");
    }
    // The header's charset wins over the declaration (RFC 7303).
    let mislabelled = feed("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    assert_eq!(
        titles(&mislabelled, Some("application/atom+xml; charset='gb2312'")),
        [news]
    );
}

#[test]
fn windows_1252_bytes_in_a_utf8_feed_become_the_characters_meant() {
    let body = [
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><item><title>Kraków: "
            .as_bytes(),
        b"Caf\xE9 \x93Polska\x94 \x96 50\x80",
        "</title></item><item><title>Łódź".as_bytes(),
        b"\x85",
        "</title></item></channel></rss>".as_bytes(),
    ]
    .concat();
    assert_eq!(
        titles(&body, Some("application/rss+xml; charset=utf-8")),
        ["Kraków: Café “Polska” – 50€", "Łódź…"]
    );
}

#[test]
fn an_undeclared_legacy_feed_is_read_in_the_code_page_its_letters_fit() {
    let feed = |title: &[u8]| {
        [
            b"<rss version=\"2.0\"><channel><item><title>".as_slice(),
            title,
            b"</title></item></channel></rss>",
        ]
        .concat()
    };
    // ISO-8859-2 and Windows-1250 differ at ś and ą.
    let iso = feed(b"Za\xBF\xF3\xB3\xE6 g\xEA\xB6l\xB1 Krak\xF3w");
    let windows = feed(b"Za\xBF\xF3\xB3\xE6 g\xEA\x9Cl\xB9 Krak\xF3w \x84cytat\x94");
    let western = feed(b"Caf\xE9 \x93Polska\x94 \xE0 la cr\xE8me \x96 50\x80");
    assert_eq!(titles(&iso, None), ["Zażółć gęślą Kraków"]);
    assert_eq!(titles(&windows, None), ["Zażółć gęślą Kraków „cytat”"]);
    assert_eq!(titles(&western, None), ["Café “Polska” à la crème – 50€"]);
}

#[test]
fn c1_character_references_and_characters_mean_windows_1252() {
    let body = "<rss version=\"2.0\"><channel>\
        <item><title>don&#146;t &#x93;stop&#X94; &#128;5 &#0150; &#8217;</title></item>\
        <item><title>don\u{92}t \u{80}5</title></item>\
        </channel></rss>";
    assert_eq!(
        titles(body.as_bytes(), None),
        ["don’t “stop” €5 – ’", "don’t €5"]
    );
}

#[test]
fn a_utf8_feed_is_read_as_utf8_whatever_a_default_header_says() {
    let body = rss(Some("utf-8"), TITLE);
    for header in [
        "text/xml",
        "text/xml; charset=iso-8859-1",
        "application/rss+xml; charset=us-ascii",
    ] {
        assert_eq!(titles(body.as_bytes(), Some(header)), [TITLE], "{header}");
    }
    // The header wins over the declaration when the bytes are not UTF-8.
    // Ś and Ą in Windows-1250; ISO-8859-2 has a C1 control and Ľ there.
    let windows_1250 = [
        b"<?xml version=\"1.0\" encoding=\"iso-8859-2\"?><rss version=\"2.0\"><channel><item><title>"
            .as_slice(),
        b"\x8C\xA5",
        b"</title></item></channel></rss>",
    ]
    .concat();
    assert_eq!(
        titles(&windows_1250, Some("application/xml; charset=windows-1250")),
        ["ŚĄ"]
    );
}

#[test]
fn hostile_bodies_are_read_in_linear_time_without_panicking() {
    let started = std::time::Instant::now();
    let mut refs = b"<rss version=\"2.0\"><channel><item><title>".to_vec();
    refs.extend(b"&#146;\x92".repeat(200_000));
    refs.extend(b"</title></item></channel></rss>");
    let _ = parse::parse(&refs, None, URL, 10);
    let mut wide = vec![0xFF, 0xFE, 0, 0];
    wide.extend([0xFF, 0xFF, 0xFF, 0xFF, 0x3C].repeat(200_000));
    let _ = parse::parse(&wide, Some("text/xml; charset=utf-32"), URL, 10);
    let unclosed = [b"<![CDATA[".as_slice(), &b"&#x80;".repeat(200_000)].concat();
    let _ = parse::parse(&unclosed, None, URL, 10);
    for body in [
        &b"\x00\x00\x00"[..],
        b"\xFF\xFE\x00",
        b"\x4C\x6F\xA7\x94",
        b"<\x00",
        b"",
    ] {
        let _ = parse::parse(body, Some("text/xml; charset=\"\""), URL, 10);
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
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
