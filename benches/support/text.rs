//! Deterministic municipal news text in Polish, German and English: titles and
//! 2–3 KB HTML summaries of the kind city halls publish.

/// SplitMix64: tiny, fast and good enough to make varied text from a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// A generator for one thing (a source, an item) that does not depend on
    /// the order in which things are generated.
    pub fn derive(seed: u64, parts: &[u64]) -> Rng {
        let mut rng = Rng(seed);
        for part in parts {
            rng.0 ^= part.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            rng.next();
        }
        rng
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Polish,
    German,
    English,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Language::Polish => "pl",
            Language::German => "de",
            Language::English => "en",
        }
    }

    fn words(self) -> &'static Words {
        match self {
            Language::Polish => &POLISH,
            Language::German => &GERMAN,
            Language::English => &ENGLISH,
        }
    }
}

struct Words {
    subjects: &'static [&'static str],
    verbs: &'static [&'static str],
    objects: &'static [&'static str],
    places: &'static [&'static str],
    tails: &'static [&'static str],
    read_more: &'static str,
}

const POLISH: Words = Words {
    subjects: &[
        "Rada Miasta Krakowa",
        "Prezydent miasta",
        "Zarząd Dróg Miasta",
        "Wydział Edukacji",
        "Miejskie Przedsiębiorstwo Komunikacyjne",
        "Straż Miejska",
        "Urząd Miasta",
        "Zarząd Zieleni Miejskiej",
        "Wojewoda małopolski",
        "Mieszkańcy Nowej Huty",
        "Dzielnica Podgórze",
        "Muzeum Krakowa",
        "Miejski Ośrodek Pomocy Społecznej",
        "Krakowskie Forum Kultury",
    ],
    verbs: &[
        "ogłasza",
        "przygotowuje",
        "zaprasza na",
        "rozpoczyna",
        "kończy",
        "przyjął",
        "przedstawia",
        "zmienia zasady dotyczące",
        "finansuje",
        "konsultuje z mieszkańcami",
        "uruchamia",
        "wstrzymuje",
    ],
    objects: &[
        "remont torowiska",
        "budżet obywatelski",
        "nowy żłobek",
        "przebudowę ulicy Grzegórzeckiej",
        "konkurs na projekt skweru",
        "program sadzenia drzew",
        "rozkład jazdy tramwajów",
        "strefę płatnego parkowania",
        "obchody święta miasta",
        "bezpłatne badania dla seniorów",
        "wymianę pieców węglowych",
        "nabór do szkół średnich",
        "koncert na Rynku Głównym",
        "wystawę fotografii",
        "ścieżkę rowerową wzdłuż Wisły",
        "modernizację oświetlenia",
    ],
    places: &[
        "na Kazimierzu",
        "w Nowej Hucie",
        "przy Rondzie Mogilskim",
        "na Bulwarach Wiślanych",
        "w Bieżanowie",
        "na Zabłociu",
        "w Łagiewnikach",
        "przy ulicy Długiej",
        "w Prądniku Białym",
        "na Dębnikach",
        "pod Wawelem",
        "w Śródmieściu",
    ],
    tails: &[
        "od poniedziałku",
        "do końca miesiąca",
        "w przyszłym tygodniu",
        "zgodnie z uchwałą rady",
        "po konsultacjach społecznych",
        "mimo złej pogody",
        "w godzinach porannych",
        "przez całe wakacje",
        "we współpracy z partnerskimi miastami",
        "za kwotę 2,4 mln zł",
    ],
    read_more: "Czytaj więcej",
};

const GERMAN: Words = Words {
    subjects: &[
        "Der Stadtrat",
        "Die Oberbürgermeisterin",
        "Das Bürgerbüro",
        "Der Servicebetrieb Öffentlicher Raum",
        "Die Verkehrs-Aktiengesellschaft",
        "Das Kulturreferat",
        "Die Feuerwehr",
        "Das Umweltamt",
        "Der Bezirksausschuss",
        "Die Stadtbibliothek",
        "Das Jugendamt",
        "Die Volkshochschule",
    ],
    verbs: &[
        "kündigt an:",
        "beginnt mit",
        "lädt ein zu",
        "beschließt",
        "verschiebt",
        "fördert",
        "prüft",
        "erweitert",
        "eröffnet",
        "beendet",
        "informiert über",
        "plant",
    ],
    objects: &[
        "die Sanierung der Straßenbahngleise",
        "den Bürgerhaushalt",
        "eine neue Kindertagesstätte",
        "den Umbau der Königstraße",
        "einen Wettbewerb für den Marktplatz",
        "das Baumpflanzprogramm",
        "den neuen Fahrplan",
        "die Parkraumbewirtschaftung",
        "das Altstadtfest",
        "kostenlose Vorsorgeuntersuchungen",
        "die Förderung von Wärmepumpen",
        "die Anmeldung an weiterführenden Schulen",
        "ein Konzert auf dem Hauptmarkt",
        "eine Fotoausstellung über Partnerstädte",
        "den Radweg entlang der Pegnitz",
        "die Erneuerung der Straßenbeleuchtung",
    ],
    places: &[
        "in der Altstadt",
        "in Gostenhof",
        "am Plärrer",
        "an der Pegnitz",
        "in Südstadt",
        "am Wöhrder See",
        "in St. Johannis",
        "an der Lorenzkirche",
        "im Stadtpark",
        "in Mögeldorf",
        "am Hauptbahnhof",
        "in Großgründlach",
    ],
    tails: &[
        "ab Montag",
        "bis Ende des Monats",
        "in der kommenden Woche",
        "nach Beschluss des Stadtrats",
        "nach einer Bürgerbeteiligung",
        "trotz schlechten Wetters",
        "in den frühen Morgenstunden",
        "während der Sommerferien",
        "gemeinsam mit den Partnerstädten",
        "für 2,4 Millionen Euro",
    ],
    read_more: "Weiterlesen",
};

const ENGLISH: Words = Words {
    subjects: &[
        "The City Council",
        "The Lord Provost",
        "Transport for the city",
        "The Education Department",
        "Community Safety",
        "The Parks and Greenspace team",
        "The Planning Committee",
        "City Libraries",
        "Residents of Leith",
        "The Festival Office",
        "Housing Services",
        "The Twinning Association",
    ],
    verbs: &[
        "announces",
        "prepares",
        "invites residents to",
        "starts",
        "completes",
        "approves",
        "presents",
        "changes the rules on",
        "funds",
        "consults on",
        "launches",
        "pauses",
    ],
    objects: &[
        "tram track renewal",
        "the participatory budget",
        "a new nursery",
        "the redesign of Princes Street",
        "a design contest for the square",
        "the tree planting programme",
        "the new bus timetable",
        "the controlled parking zone",
        "the city's birthday celebrations",
        "free health checks for older people",
        "the replacement of coal boilers",
        "secondary school admissions",
        "a concert in the Grassmarket",
        "a photography exhibition",
        "the cycle path along the Water of Leith",
        "street lighting upgrades",
    ],
    places: &[
        "in the Old Town",
        "in Leith",
        "at Haymarket",
        "along the canal",
        "in Portobello",
        "in Morningside",
        "near the Meadows",
        "on the Royal Mile",
        "in Gorgie",
        "in Stockbridge",
        "at Waverley",
        "in Craigmillar",
    ],
    tails: &[
        "from Monday",
        "until the end of the month",
        "next week",
        "following a council vote",
        "after public consultation",
        "despite the weather",
        "in the early morning",
        "over the summer holidays",
        "together with partner cities",
        "at a cost of £2.4 million",
    ],
    read_more: "Read more",
};

/// One sentence: subject, verb, object, place, and sometimes a time.
pub fn sentence(rng: &mut Rng, lang: Language) -> String {
    let w = lang.words();
    let mut s = format!(
        "{} {} {} {}",
        rng.pick(w.subjects),
        rng.pick(w.verbs),
        rng.pick(w.objects),
        rng.pick(w.places)
    );
    if rng.below(2) == 0 {
        s.push(' ');
        s.push_str(rng.pick(w.tails));
    }
    s.push('.');
    s
}

/// A headline: a sentence without its full stop, with a number to tell it apart.
pub fn title(rng: &mut Rng, lang: Language) -> String {
    let w = lang.words();
    format!(
        "{} {} {} {} ({})",
        rng.pick(w.subjects),
        rng.pick(w.verbs),
        rng.pick(w.objects),
        rng.pick(w.places),
        rng.below(10_000)
    )
}

/// 2–3 KB of municipal HTML: paragraphs, emphasis, a list, a relative link, an
/// image, and the odd bit of markup a sanitizer must remove.
pub fn summary_html(rng: &mut Rng, lang: Language, page: &str) -> String {
    let target = 2_000 + rng.below(1_000) as usize;
    let mut html = String::with_capacity(target + 600);
    html.push_str(&format!(
        "<p><img src=\"/media/{}.jpg\" alt=\"{}\" width=\"640\" height=\"360\" style=\"float:left\"></p>",
        rng.below(100_000),
        rng.pick(lang.words().places)
    ));
    while html.len() < target {
        match rng.below(6) {
            0 => {
                html.push_str("<ul>");
                for _ in 0..3 {
                    html.push_str(&format!("<li>{}</li>", sentence(rng, lang)));
                }
                html.push_str("</ul>");
            }
            1 => html.push_str(&format!(
                "<p><strong>{}</strong> {}</p>",
                sentence(rng, lang),
                sentence(rng, lang)
            )),
            2 => html.push_str(&format!(
                "<p onclick=\"track()\">{} <em>{}</em></p><script>track('{}')</script>",
                sentence(rng, lang),
                sentence(rng, lang),
                rng.below(1_000)
            )),
            _ => html.push_str(&format!(
                "<p>{} {} {}</p>",
                sentence(rng, lang),
                sentence(rng, lang),
                sentence(rng, lang)
            )),
        }
    }
    html.push_str(&format!(
        "<p><a href=\"{page}\" target=\"_blank\">{} &raquo;</a></p>",
        lang.words().read_more
    ));
    html
}
