//! Finds secrets in one piece of content. The pipeline per blob: path rules (by path alone) →
//! binary check → keyword prefilter (one Aho-Corasick pass, ASCII case-insensitive; for a blob
//! a pack's delta built, only at its seams: `lineage.rs`) → the regex of each rule whose
//! keyword hit → secret group → entropy floor → allowlists (global, then the rule's) → inline
//! allow markers → overlap resolution (a specific rule beats a generic one).
//! Line and column are computed only for what survives; values behind an encoding (`decode.rs`)
//! are matched decoded and reported where they are encoded, and UTF-16 text is matched as UTF-8.
//! It never touches git and never prints.

use crate::config::{Analysis, Text};
use crate::decode;
use crate::error::Result;
use crate::grams::Grams;
use crate::inner::Inner;
use crate::lanes::Lanes;
use crate::lineage::{self, Bound, Kept, Lineage, MatchGroups, Occurrences, Pieces, Unknown};
use crate::pathset::PathSet;
use crate::precheck::Precheck;
use crate::reach::Reach;
use crate::rules::{Allowlist, Condition, Rule, Rules, Target};
use crate::secret::{entropy, Secret};
use crate::utf16;
use aho_corasick::AhoCorasick;
use regex_automata::meta;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};
use std::ops::Range;
use std::sync::OnceLock;

/// Markers that, anywhere on the line of a match, allow it.
const ALLOW_MARKERS: [&[u8]; 3] = [b"keyrot:allow", b"gitleaks:allow", b"pragma: allowlist secret"];
/// Matches kept per blob: a generated file with a million `password=` lines must not turn into
/// a million findings (and gigabytes of report). Past this the blob's scan stops, with a warning.
pub const MAX_MATCHES: usize = 1000;
/// Matches kept per blob for the blobs a delta builds from it (`lineage.rs`); past this, those
/// blobs search their rules as if they had no base.
const MAX_KEPT_MATCHES: usize = 4096;
/// Up to this size, a text of a small workload is searched by its keywords' first bytes
/// (`grams.rs`) rather than with the prefilter, which would first have to be built.
const SMALL_TEXT: usize = 64 << 10;
/// Up to this many keywords, a large workload's keyword pass is a DFA (`lanes.rs`); past it,
/// the automaton the aho-corasick crate picks, whose memory grows far slower.
const MAX_DFA_KEYWORDS: usize = 20_000;
/// Keyword occurrences are recorded for windows up to one per this many bytes of text.
const DENSE: usize = 16;
/// An `after` (`reach::After`) looked for at more distances than this is not asked of each
/// keyword occurrence when windows are made: comparing its strings at each costs more than a
/// window.
const CHEAP_AFTER: u32 = 8;
/// How much of a line, on each side of a match, allow markers and line allowlists see.
const LINE_CONTEXT: usize = 4096;
/// As git: content with a NUL byte in its first 8000 bytes is binary. `holds_no_text` needs
/// no more of a content's start, UTF-16 detection included.
pub const BINARY_PROBE: usize = 8000;
const _: () = assert!(utf16::PROBE <= BINARY_PROBE);

#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    /// A secret value matched by a content rule.
    Secret { secret: Secret, public: Option<String> },
    /// A file that must not be committed, matched by its path alone.
    File,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Index into `Rules::rules`.
    pub rule: usize,
    pub evidence: Evidence,
    /// 1-based line and column (in bytes) of the secret; 0 for file rules.
    pub line: usize,
    pub column: usize,
}

/// What the content rules found in one blob, for `judge` to decide at each place.
#[derive(Debug, Default)]
pub struct Content {
    found: Vec<Found>,
    /// The blob had `MAX_MATCHES` or more: the rest were not looked for.
    pub truncated: bool,
}

impl Content {
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The memory it holds, about: a kept content stage must not grow with the blob.
    pub fn held_bytes(&self) -> usize {
        self.found
            .iter()
            .map(|f| {
                std::mem::size_of::<Found>()
                    + f.secret.bytes().len()
                    + f.public.as_ref().map_or(0, String::len)
                    + f.whole.len()
                    + f.line_text.len()
            })
            .sum()
    }
}

/// Where one rule's regex runs on one text.
enum Plan {
    Whole,
    /// Only inside these windows (every match lies inside one).
    Windows(Vec<Range<usize>>),
    /// Anchored at each position of these ranges (every match starts in one).
    Starts(Vec<Range<usize>>),
}

/// A regex match's groups.
fn groups_of(caps: &Captures) -> MatchGroups {
    (0..caps.group_len()).map(|g| caps.get_group(g).map(|s| s.range())).collect()
}

/// The groups of the match `regex` finds in `input`, if any.
fn search_groups(regex: &meta::Regex, input: &Input, caps: &mut Captures) -> Option<MatchGroups> {
    regex.search_captures(input, caps);
    caps.is_match().then(|| groups_of(caps))
}

/// Sorts ranges and merges those that overlap or touch.
fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_unstable_by_key(|r| r.start);
    lineage::join(ranges, 0)
}

/// Keyword occurrences `(keyword, start, end)` grouped by keyword, in keyword order: a counting
/// sort, stable, for the many occurrences of a large text (sorting them was 5% of a history
/// scan's CPU); a sort for a few. Within a keyword they stay as they came (mostly in order):
/// what reads them does not depend on it.
fn by_keyword(mut spans: Vec<(usize, usize, usize)>, keywords: usize) -> Vec<(usize, usize, usize)> {
    if spans.len() < 256 {
        spans.sort_unstable();
        return spans;
    }
    let mut ends = vec![0usize; keywords];
    for &(k, _, _) in &spans {
        ends[k] += 1;
    }
    let mut end = 0;
    for count in &mut ends {
        end += *count;
        *count = end;
    }
    let mut grouped = vec![(0, 0, 0); spans.len()];
    for &span in spans.iter().rev() {
        ends[span.0] -= 1;
        grouped[ends[span.0]] = span;
    }
    grouped
}

/// The occurrences of keyword `k` among `spans`, grouped by keyword (`by_keyword`).
fn of_keyword(spans: &[(usize, usize, usize)], k: usize) -> impl Iterator<Item = Range<usize>> + '_ {
    let first = spans.partition_point(|&(other, _, _)| other < k);
    spans[first..].iter().take_while(move |&&(other, _, _)| other == k).map(|&(_, s, e)| s..e)
}

/// Anchored tries at these starts, when they are few enough to beat one search of the text.
fn starts_or_whole(starts: Vec<Range<usize>>, len: usize) -> Plan {
    let count: usize = starts.iter().map(|s| s.len()).sum();
    if count < len / 16 {
        Plan::Starts(starts)
    } else {
        Plan::Whole
    }
}

/// Where a blob was found, as path conditions and allowlists see it.
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    pub path: &'a str,
    pub commit: Option<&'a str>,
}

/// How much content a matcher will see: it decides whether building a faster prefilter pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// A few files (a pre-commit run, a rule check): start fast.
    Small,
    /// A tree or a history: scan fast.
    Large,
}

pub struct Matcher {
    pub rules: Rules,
    /// The keywords, lower-case: the prefilter's patterns.
    keywords: Vec<Text>,
    /// The keywords an encoded value needs (`decode::WORDS`): the prefilter finds them with the
    /// rules' own, so a text holding none is not looked at again (and a blob built from a base
    /// has them from its base). Looked for apart, they were 4% of a history scan's CPU on
    /// cargo, 10% when no rule matched.
    encoding_words: [usize; 2],
    /// Built on first use, and for a small workload only for a text too large for `grams`:
    /// building it for 1,700 keywords was a quarter of a pre-commit run.
    prefilter: OnceLock<Option<Prefilter>>,
    workload: Workload,
    /// For small texts of a small workload: the keywords by their first bytes (`grams.rs`).
    grams: OnceLock<Grams>,
    /// For each prefilter pattern, the rules that listed it.
    keyword_rules: Groups,
    /// For each rule, its prefilter patterns.
    rule_keywords: Groups,
    /// One-byte keywords (`:`), found with memchr rather than reported at every occurrence by
    /// the prefilter, and the rules that listed them: those rules run on the whole text.
    byte_keywords: Vec<(u8, Vec<usize>)>,
    /// Content rules with no keywords: they run on every text blob.
    unfiltered: Vec<usize>,
    /// Content rules limited to some paths (`.pgpass`, `.git-credentials`): their keywords stay
    /// out of the prefilter and are looked for only in blobs found at such a path.
    gated: Vec<usize>,
    /// The path patterns of every rule limited to paths (those above, and the rules that look
    /// at the path alone), asked of a place at once.
    paths: PathSet,
    /// What the regex of each rule read from a file says of where it matches, worked out the
    /// first time its keywords hit (the build did it for the built-in rules). Boxed: one per
    /// rule is made at every start, and few are ever filled.
    shapes: Vec<OnceLock<Box<Analysis>>>,
    /// Each built-in rule's precheck, likewise.
    prechecks: Vec<OnceLock<Option<Box<Precheck>>>>,
    /// How far each rule's regex's matches reach, if bounded: worked out when a blob built from
    /// a base first asks (`lineage.rs`).
    bounds: Vec<OnceLock<Option<Bound>>>,
    /// A part every match of each rule's regex holds (`inner.rs`), worked out the first time a
    /// text's keywords and pins leave the rule nothing but the whole text.
    inners: Vec<OnceLock<Option<Box<Inner>>>>,
}

/// A list of indexes for each of `n` keys, in one vector (a thousand small vectors were built at
/// every start).
struct Groups {
    /// Key `i`'s items are `items[ends[i - 1]..ends[i]]`.
    ends: Vec<usize>,
    items: Vec<usize>,
}

impl Groups {
    /// The groups of `(key, item)` pairs, each group's items in the pairs' order.
    fn of(n: usize, pairs: impl Iterator<Item = (usize, usize)>) -> Groups {
        let mut pairs: Vec<(usize, usize)> = pairs.collect();
        pairs.sort_by_key(|&(key, _)| key);
        let mut ends = vec![0; n];
        for &(key, _) in &pairs {
            ends[key] += 1;
        }
        let mut end = 0;
        for count in &mut ends {
            end += *count;
            *count = end;
        }
        Groups { ends, items: pairs.into_iter().map(|(_, item)| item).collect() }
    }

    fn of_key(&self, key: usize) -> &[usize] {
        let start = if key == 0 { 0 } else { self.ends[key - 1] };
        &self.items[start..self.ends[key]]
    }
}

/// The keyword automaton: for a large workload a DFA walked in lanes (`lanes.rs`), for the
/// rare large text of a small one whatever the aho-corasick crate builds fastest.
enum Prefilter {
    Lanes(Box<Lanes>),
    Searcher(AhoCorasick),
}

/// Where the prefilter's keywords occur in one piece of text.
struct Hits {
    /// The rules to run, in rule order.
    rules: Vec<usize>,
    /// Every keyword occurrence as (keyword, start, end), grouped by keyword (`by_keyword`),
    /// when windows are wanted.
    spans: Vec<(usize, usize, usize)>,
    /// Keywords occur so densely that their occurrences were not kept: rules run whole.
    dense: bool,
    /// Where the keywords an encoded value needs occur, if one does (`Matcher::encoding_words`).
    encoded: Option<decode::Words>,
}

/// What allowlists look at for one candidate match.
struct Candidate<'a> {
    path: &'a str,
    commit: Option<&'a str>,
    secret: &'a [u8],
    whole: &'a [u8],
    line: &'a [u8],
}

/// A content match before any place is judged: the secret, where it is, and what allowlists
/// look at (the whole match and its line, of the decoded text for an encoded value).
#[derive(Clone, Debug)]
struct Found {
    rule: usize,
    start: usize,
    end: usize,
    secret: Secret,
    public: Option<String>,
    whole: Vec<u8>,
    line_text: Vec<u8>,
    /// 1-based line and column (in bytes) of `start`, set by `locate`.
    line: usize,
    column: usize,
}

impl Matcher {
    pub fn new(rules: Rules, workload: Workload) -> Matcher {
        let mut keywords: Vec<Text> = Vec::new();
        let mut keyword_index: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::with_capacity(2 * rules.rules.len());
        // (keyword, rule) for each keyword of each rule, in rule order.
        let mut pairs: Vec<(usize, usize)> = Vec::with_capacity(2 * rules.rules.len());
        let mut byte_keywords: Vec<(u8, Vec<usize>)> = Vec::new();
        let mut unfiltered = Vec::new();
        let mut gated = Vec::new();
        for (index, rule) in rules.rules.iter().enumerate() {
            if rule.regex.is_none() {
                continue;
            } else if rule.keywords.is_empty() {
                unfiltered.push(index);
            } else if rule.path.is_some() {
                gated.push(index);
                continue;
            }
            for keyword in rule.keywords.iter() {
                if let [byte] = keyword.as_bytes() {
                    match byte_keywords.iter_mut().find(|(b, _)| b == byte) {
                        Some((_, indexes)) => indexes.push(index),
                        None => byte_keywords.push((*byte, vec![index])),
                    }
                    continue;
                }
                let k = *keyword_index.entry(keyword).or_insert_with(|| {
                    keywords.push(keyword.clone());
                    keywords.len() - 1
                });
                pairs.push((k, index));
            }
        }
        let encoding_words = decode::WORDS.map(|word| {
            *keyword_index.entry(word).or_insert_with(|| {
                keywords.push(word.into());
                keywords.len() - 1
            })
        });
        let rule_keywords = Groups::of(rules.rules.len(), pairs.iter().map(|&(k, index)| (index, k)));
        let keyword_rules = Groups::of(keywords.len(), pairs.into_iter());
        let shapes = rules.rules.iter().map(|_| OnceLock::new()).collect();
        let prechecks = rules.rules.iter().map(|_| OnceLock::new()).collect();
        let bounds = rules.rules.iter().map(|_| OnceLock::new()).collect();
        let inners = rules.rules.iter().map(|_| OnceLock::new()).collect();
        let paths = PathSet::new(&rules, workload == Workload::Large);
        Matcher {
            rules,
            keywords,
            encoding_words,
            prefilter: OnceLock::new(),
            workload,
            grams: OnceLock::new(),
            rule_keywords,
            keyword_rules,
            byte_keywords,
            unfiltered,
            gated,
            paths,
            shapes,
            prechecks,
            bounds,
            inners,
        }
    }

    /// Every match in `bytes` found at `path` (and in `commit`, for commit allowlists): path
    /// rules and content rules.
    pub fn scan(&self, path: &str, commit: Option<&str>, bytes: &[u8]) -> Result<Vec<Match>> {
        let place = Place { path, commit };
        let content = self.content(bytes, &[place])?;
        let mut matches = self.scan_path(path, commit)?;
        matches.extend(self.judge(&content, place)?);
        Ok(matches)
    }

    /// The content stage, once per blob: what the content rules find in `bytes`, wherever it
    /// is. Binary content has none, except UTF-16 text (`utf16.rs`), which is matched decoded.
    /// Encoded values (`decode.rs`) are decoded and matched too, and reported at their encoded
    /// location. At most `MAX_MATCHES` are kept per blob. A rule limited to some paths runs only
    /// if one of `places` is on such a path; `judge` decides each place.
    pub fn content(&self, bytes: &[u8], places: &[Place]) -> Result<Content> {
        Ok(self.content_built(bytes, places, Lineage::default())?.0)
    }

    /// `content` of a blob a pack's delta built: what lies inside the pieces it copied was found
    /// in its base (`lineage.rs`). With the content, what the blobs built from this one can use,
    /// when its lineage says there are some (and its keyword occurrences were all recorded).
    pub fn content_built(
        &self,
        bytes: &[u8],
        places: &[Place],
        lineage: Lineage,
    ) -> Result<(Content, Option<Kept>)> {
        if is_binary(bytes) {
            return match utf16::decode(bytes) {
                Some(text) => {
                    Ok((self.content_of_text(text.as_bytes(), places, Lineage::default())?.0, None))
                }
                None => Ok((Content::default(), None)),
            };
        }
        self.content_of_text(bytes, places, lineage)
    }

    fn content_of_text(
        &self,
        bytes: &[u8],
        places: &[Place],
        lineage: Lineage,
    ) -> Result<(Content, Option<Kept>)> {
        let (mut found, kept, encoded) = self.find(bytes, places, lineage)?;
        let decoded = encoded.map(|words| decode::decode_all(bytes, &words)).unwrap_or_default();
        for decoded in decoded {
            if found.len() >= MAX_MATCHES {
                break;
            }
            let (inner, ..) = self.find(&decoded.text, places, Lineage::default())?;
            let marked = ALLOW_MARKERS.iter().any(|m| contains(line_around(bytes, decoded.start), m));
            if marked {
                continue;
            }
            found.extend(inner.into_iter().map(|f| Found { start: decoded.start, end: decoded.end, ..f }));
        }
        let truncated = found.len() >= MAX_MATCHES;
        found.truncate(MAX_MATCHES);
        found.sort_by_key(|f| (f.start, f.rule));
        locate(bytes, &mut found);
        Ok((Content { found, truncated }, kept))
    }

    /// The place stage, once per place a blob was found at: each content match that the rule's
    /// path condition and the allowlists (paths, globs, commits, and the rest) let through at
    /// this place; then a specific rule's match wins over an overlapping generic one.
    pub fn judge(&self, content: &Content, place: Place) -> Result<Vec<Match>> {
        let mut kept = Vec::new();
        for f in &content.found {
            let rule = &self.rules.rules[f.rule];
            if let Some(pattern) = &rule.path {
                if !pattern.is_match(place.path.as_bytes())? {
                    continue;
                }
            }
            let candidate = Candidate {
                path: place.path,
                commit: place.commit,
                secret: f.secret.bytes(),
                whole: &f.whole,
                line: &f.line_text,
            };
            if !self.allowed(f.rule, &candidate)? {
                kept.push(f.clone());
            }
        }
        resolve_overlaps(&self.rules.rules, &mut kept);
        Ok(kept
            .into_iter()
            .map(|f| Match {
                rule: f.rule,
                evidence: Evidence::Secret { secret: f.secret, public: f.public },
                line: f.line,
                column: f.column,
            })
            .collect())
    }

    /// The content rules' matches in `bytes`, what the blobs built from it can use, and whether
    /// it may hold encoded values (`decode.rs`).
    fn find(
        &self,
        bytes: &[u8],
        places: &[Place],
        lineage: Lineage,
    ) -> Result<(Vec<Found>, Option<Kept>, Option<decode::Words>)> {
        let mut found = Vec::new();
        let (mut hits, occurrences) = self.keyword_hits(bytes, lineage);
        let listed = hits.rules.len();
        let on_paths = self.limited_at(places, |rule| rule.regex.is_some())?;
        for &index in &self.gated {
            let rule = &self.rules.rules[index];
            let has_keyword = || rule.keywords.iter().any(|k| contains_ignoring_case(bytes, k.as_bytes()));
            if on_paths.binary_search(&index).is_ok() && has_keyword() {
                hits.rules.push(index);
            }
        }
        // `keyword_hits` sorted its own; a gated rule joining them puts them out of order.
        if hits.rules.len() > listed {
            hits.rules.sort_unstable();
        }
        // Every match each rule's regex chose, for the blobs built from this one.
        // `None` once the rules chose more than `MAX_KEPT_MATCHES`: a blob whose rules choose
        // thousands of matches that the filters then drop must not keep them all, on every
        // level of a delta chain.
        let keep = occurrences.is_some();
        let (mut matches, mut kept) = (keep.then(Vec::new), 0);
        // What the base kept, and the pieces copied from it.
        let from = lineage.base.map(|(kept, copies)| (kept, Pieces::of(copies, bytes)));
        for &index in &hits.rules {
            if found.len() >= MAX_MATCHES {
                break;
            }
            if self.rules.rules[index].path.is_some() && on_paths.binary_search(&index).is_err() {
                continue;
            }
            if self.no_keyword_fits(index, bytes, &hits) {
                if let Some(matches) = &mut matches {
                    matches.push((index, Vec::new()));
                }
                continue;
            }
            // A rule with a context keyword `near` its matches searches only around the
            // keyword's occurrences: what it chose says nothing of the rest of the text, where
            // a blob built from this one may bring the keyword near a match. It keeps nothing.
            let keep = keep && self.rules.rules[index].near.is_none();
            if let Some(chosen) = self.run_rule(index, bytes, &hits, from.as_ref(), keep, &mut found)? {
                kept += chosen.len();
                matches = matches.filter(|_| kept <= MAX_KEPT_MATCHES);
                if let Some(matches) = &mut matches {
                    matches.push((index, chosen));
                }
            }
        }
        let matches = matches.filter(|_| found.len() < MAX_MATCHES).unwrap_or_default();
        Ok((found, occurrences.map(|occurrences| Kept { occurrences, matches }), hits.encoded))
    }

    /// Whether a content rule limited to some paths applies at one of `places`: the content
    /// stage's result then depends on the places it was given.
    pub fn gated_at(&self, places: &[Place]) -> Result<bool> {
        // Those with keywords (`gated`) and those without, which run on every text.
        Ok(!self.limited_at(places, |rule| rule.regex.is_some())?.is_empty())
    }

    /// The rules limited to paths and `wanted` that one of `places` is on, sorted.
    fn limited_at(&self, places: &[Place], wanted: impl Fn(&Rule) -> bool + Copy) -> Result<Vec<usize>> {
        let mut on = Vec::new();
        for place in places {
            self.paths.matching(&self.rules, place.path, wanted, &mut on)?;
        }
        if places.len() > 1 {
            on.sort_unstable();
            on.dedup();
        }
        Ok(on)
    }

    /// Matches of the rules that look at the path alone.
    pub fn scan_path(&self, path: &str, commit: Option<&str>) -> Result<Vec<Match>> {
        let mut matches = Vec::new();
        for index in self.limited_at(&[Place { path, commit }], |rule| rule.regex.is_none())? {
            let candidate = Candidate {
                path,
                commit,
                secret: path.as_bytes(),
                whole: path.as_bytes(),
                line: path.as_bytes(),
            };
            if self.allowed(index, &candidate)? {
                continue;
            }
            matches.push(Match { rule: index, evidence: Evidence::File, line: 0, column: 0 });
        }
        Ok(matches)
    }

    /// Rules whose keywords occur in `bytes`, plus those without keywords, in rule order; and,
    /// when windows are used, where each keyword occurs. A blob built from a base whose
    /// occurrences were kept is read only at its seams (`lineage.rs`); its own occurrences are
    /// answered when its lineage asks for them.
    fn keyword_hits(&self, bytes: &[u8], lineage: Lineage) -> (Hits, Option<Occurrences>) {
        // Which rules are hit, and those rules as they come: a thousand flags are not read
        // again to list the few.
        let (mut hit, mut rules) = (vec![false; self.rules.rules.len()], Vec::new());
        for &index in &self.unfiltered {
            hit[index] = true;
            rules.push(index);
        }
        // Most of a delta's occurrences are its base's: room for them from the start.
        let mut spans = Vec::with_capacity(lineage.base.map_or(0, |(base, _)| base.occurrences.len()));
        let mut dense = false;
        let mut seen_keyword = vec![false; self.keywords.len()];
        // Past one occurrence per `DENSE` bytes windows would cover the whole text anyway:
        // occurrences stop being recorded (a 45 MB file of `key=` lines had 9 million).
        let most = bytes.len() / DENSE;
        let mut occurs = |k: usize, span: Range<usize>| {
            if !dense {
                spans.push((k, span.start, span.end));
                dense = spans.len() > most;
            }
            if !std::mem::replace(&mut seen_keyword[k], true) {
                for &index in self.keyword_rules.of_key(k) {
                    if !std::mem::replace(&mut hit[index], true) {
                        rules.push(index);
                    }
                }
            }
        };
        let mut all_recorded = false;
        if self.workload == Workload::Small && bytes.len() <= SMALL_TEXT {
            // A small text of a small workload: keywords found by their first bytes.
            self.grams.get_or_init(|| Grams::new(&self.keywords)).each(bytes, occurs);
        } else if let Some(prefilter) = self.prefilter() {
            match prefilter {
                Prefilter::Lanes(lanes) => {
                    all_recorded = true;
                    match lineage.base {
                        Some((base, copies)) => {
                            let len = |k: usize| self.keywords[k].len();
                            base.occurrences
                                .carried(copies, len, |k, start| occurs(k, start..start + len(k)));
                            let seams = lineage::seams(copies, bytes.len(), lanes.longest());
                            lanes.each_in(bytes, &seams, |k, span| {
                                if !lineage::inside_a_copy(copies, span.clone()) {
                                    occurs(k, span);
                                }
                            });
                        }
                        None => lanes.each(bytes, occurs),
                    }
                }
                Prefilter::Searcher(searcher) => searcher
                    .find_overlapping_iter(bytes)
                    .for_each(|m| occurs(m.pattern().as_usize(), m.range())),
            }
        }
        for (byte, indexes) in &self.byte_keywords {
            if memchr::memchr2(byte.to_ascii_lowercase(), byte.to_ascii_uppercase(), bytes).is_some() {
                for &index in indexes {
                    if !std::mem::replace(&mut hit[index], true) {
                        rules.push(index);
                    }
                }
            }
        }
        if dense {
            spans = Vec::new();
        }
        let occurrences = (all_recorded && !dense && lineage.is_base)
            .then(|| Occurrences::of(spans.iter().map(|&(k, start, _)| (k, start))));
        let spans = by_keyword(spans, self.keywords.len());
        let [basic, kind] = self.encoding_words;
        let encoded = (seen_keyword[basic] || seen_keyword[kind]).then(|| decode::Words {
            basic: (!dense).then(|| {
                let mut starts: Vec<usize> = of_keyword(&spans, basic).map(|span| span.start).collect();
                starts.sort_unstable();
                starts
            }),
            kind: seen_keyword[kind],
        });
        rules.sort_unstable();
        (Hits { rules, spans, dense, encoded }, occurrences)
    }

    fn prefilter(&self) -> Option<&Prefilter> {
        let searcher = || {
            Prefilter::Searcher(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(self.keywords.iter().map(|k| k.as_bytes()))
                    .expect("keywords are plain literals"),
            )
        };
        let build = || {
            (!self.keywords.is_empty()).then(|| match self.workload {
                // A DFA takes a few ms to build for the built-in keywords but scans faster. Its
                // size grows with the keywords: a rules file with 300,000 of them made one 1.6 GB.
                Workload::Large if self.keywords.len() <= MAX_DFA_KEYWORDS => {
                    let keywords: Vec<&[u8]> = self.keywords.iter().map(|k| k.as_bytes()).collect();
                    match Lanes::new(&keywords) {
                        Some(lanes) => Prefilter::Lanes(Box::new(lanes)),
                        None => searcher(),
                    }
                }
                _ => searcher(),
            })
        };
        self.prefilter.get_or_init(build).as_ref()
    }

    /// Where to run rule `index`'s regex on `bytes`: in windows around its keyword hits, from
    /// the few positions where a match can start (after a keyword, or where two bytes every
    /// match holds occur), in windows around a part every match holds, or (nothing proven, or
    /// too little to gain) over the whole text.
    fn plan(&self, index: usize, bytes: &[u8], hits: &Hits) -> Plan {
        if self.shape(index).at_start {
            return Plan::Starts(std::iter::once(0..1).collect());
        }
        match self.keyword_plan(index, bytes, hits) {
            Plan::Whole => match self.pinned_plan(index, bytes) {
                Plan::Whole if self.workload == Workload::Large => self.inner_plan(index, bytes),
                plan => plan,
            },
            plan => plan,
        }
    }

    /// Windows around the part every match of rule `index` holds, if it has one and they cover
    /// less than half the text. In a large workload only: a small one searches a whole text
    /// after its precheck, and finding the part would mean parsing the regex at run time.
    fn inner_plan(&self, index: usize, bytes: &[u8]) -> Plan {
        let rule = &self.rules.rules[index];
        let inner = self.inners[index]
            .get_or_init(|| Inner::of_tree(&rule.regex.as_ref()?.syntax_tree()?).map(Box::new));
        match inner.as_ref().and_then(|inner| inner.windows(bytes, bytes.len() / 2)) {
            Some(windows) => Plan::Windows(windows),
            None => Plan::Whole,
        }
    }

    /// The places the base does not decide (`unknown`) where rule `index`'s matches can start,
    /// as its plan would have them, looked for only there: windows only around the keywords
    /// whose window can hold an unknown place, pinned bytes only where they allow a start in
    /// one.
    fn plan_within(&self, index: usize, bytes: &[u8], hits: &Hits, unknown: &Unknown) -> Vec<Range<usize>> {
        if self.shape(index).at_start {
            let mut parts = Vec::new();
            unknown.within(0..1, &mut parts);
            return parts;
        }
        // An occurrence whose window lies among known places adds nothing: asked of the byte
        // bound's reach, else found from the lines around it without reading them.
        let near = |span: &Range<usize>, reach: &Reach| match (reach.bytes, reach.lines) {
            (Some(bound), _) => {
                unknown.touches(span.end.saturating_sub(bound)..span.start.saturating_add(bound))
            }
            (None, Some(lines)) => !unknown.known_lines_around(span.clone(), lines),
            (None, None) => true,
        };
        match self.keyword_places(index, bytes, hits, near, true) {
            Some(Plan::Windows(ranges) | Plan::Starts(ranges)) => {
                let mut parts = Vec::new();
                for range in ranges {
                    unknown.within(range, &mut parts);
                }
                parts
            }
            _ => match &self.shape(index).pins {
                Some(pins) => pins.starts_within(bytes, unknown.list()),
                None => unknown.list().to_vec(),
            },
        }
    }

    /// The starts allowed by the rule's pinned bytes, if it has them and they are few.
    fn pinned_plan(&self, index: usize, bytes: &[u8]) -> Plan {
        match &self.shape(index).pins {
            Some(pins) => starts_or_whole(pins.starts(bytes), bytes.len()),
            None => Plan::Whole,
        }
    }

    /// Rule `index`'s keyword occurrences in the text, if all were recorded.
    fn occurrences<'a>(
        &'a self,
        index: usize,
        hits: &'a Hits,
    ) -> Option<impl Iterator<Item = Range<usize>> + 'a> {
        let rule = &self.rules.rules[index];
        // Occurrences are recorded only for the prefilter's keywords, and not past `DENSE`: a
        // rule limited to some paths, or with a one-byte keyword, has occurrences that were not.
        if hits.dense || rule.path.is_some() || rule.keywords.iter().any(|k| k.len() == 1) {
            return None;
        }
        Some(self.rule_keywords.of_key(index).iter().flat_map(|&k| of_keyword(&hits.spans, k)))
    }

    /// Whether no occurrence of rule `index`'s keywords comes after a byte that the keyword a
    /// match holds can come after (`reach::Before`), or none is followed as that one is
    /// (`reach::After`). Then the rule has no match here. (The two may speak of different
    /// keywords of a match, so each is asked of the occurrences on its own.)
    fn no_keyword_fits(&self, index: usize, bytes: &[u8], hits: &Hits) -> bool {
        let shape = self.shape(index);
        let none = |fits: &dyn Fn(usize) -> bool| {
            self.occurrences(index, hits).is_some_and(|mut spans| !spans.any(|span| fits(span.start)))
        };
        shape.before.is_some_and(|before| none(&|at| before.allows(bytes, at)))
            || shape.after.as_ref().is_some_and(|after| none(&|at| after.allows(bytes, at)))
    }

    fn keyword_plan(&self, index: usize, bytes: &[u8], hits: &Hits) -> Plan {
        match self.keyword_places(index, bytes, hits, |_, _| true, false) {
            // Windows covering half the text or more are not worth it.
            Some(Plan::Windows(windows)) => {
                let covered: usize = windows.iter().map(|w| w.len()).sum();
                if covered < bytes.len() / 2 {
                    Plan::Windows(windows)
                } else {
                    Plan::Whole
                }
            }
            Some(Plan::Starts(starts)) => starts_or_whole(starts, bytes.len()),
            _ => Plan::Whole,
        }
    }

    /// What rule `index`'s keyword occurrences say of where its matches are, from those that
    /// `near(span, the rule's reach)` lets through (when it is bounded): windows around them
    /// (merged), or the places a match can start at before them, which a caller that wants
    /// `starts` gets whenever the rule's reach says how far before (a built blob's regions: a
    /// window's width of starts made each region search read the window and a match's length
    /// past it); `None` if they say nothing. Finding windows stops once they add up to the
    /// text's length (overlapping ones count each time).
    fn keyword_places(
        &self,
        index: usize,
        bytes: &[u8],
        hits: &Hits,
        near: impl Fn(&Range<usize>, &Reach) -> bool,
        starts: bool,
    ) -> Option<Plan> {
        let shape = self.shape(index);
        let reach = shape.reach.as_ref()?;
        // Every match holds an occurrence that fits what its regex puts before the keyword (or
        // after it): only those need a window. `before` and `after` may speak of different
        // occurrences of a match, so only one is asked: `after` when it is looked for at a few
        // distances (`.` 17 bytes after `pat`), else `before` (one byte). An `after` 6 to 31
        // bytes on, asked of every `github` of a history, cost more than the windows it saved.
        let fits = |span: &Range<usize>| match (&shape.after, &shape.before) {
            (Some(after), _) if after.max - after.min <= CHEAP_AFTER => after.allows(bytes, span.start),
            (_, Some(before)) => before.allows(bytes, span.start),
            _ => true,
        };
        let spans = self.occurrences(index, hits)?.filter(fits).filter(|span| near(span, reach));
        let bounded = reach.bytes.is_some() || reach.lines.is_some();
        match reach.lead {
            // A match holding the keyword starts at most `lead` before its end, and at its start
            // at the latest (a keyword longer than `lead` is in no match: its range is its start).
            Some(lead) if starts || !bounded => Some(Plan::Starts(merge(
                spans.map(|span| span.end.saturating_sub(lead).min(span.start)..span.start + 1).collect(),
            ))),
            _ if bounded => Some(Plan::Windows(merge(reach.windows(bytes, spans, bytes.len())?))),
            _ => None,
        }
    }

    /// What rule `index`'s regex says of where it can match: worked out by the build for a
    /// built-in rule, else from its syntax tree.
    fn shape(&self, index: usize) -> &Analysis {
        let rule = &self.rules.rules[index];
        if let Some(built) = rule.analysis {
            return &crate::builtin::ANALYSES[built as usize];
        }
        self.shapes[index].get_or_init(|| {
            let tree = rule.regex.as_ref().and_then(|regex| regex.syntax_tree());
            Box::new(Analysis::of(tree.as_ref(), &rule.keywords, rule.near))
        })
    }

    /// Rule `index`'s precheck (`precheck.rs`): its regex is searched only where that passes,
    /// in windows and a delta's regions; in a small workload, also before a whole text or
    /// anchored starts are searched, so that its regex compiles only where it may match. (Not
    /// so in a large one: the regex's literal prefilters skip most of a text, which the
    /// precheck reads byte by byte.) A built-in rule's relaxed tree is written by the build;
    /// another rule's is worked out from its regex, in a large workload only: a rules file's
    /// regexes are compiled before the scan, and a pre-commit run would only pay for parsing
    /// them again.
    fn precheck(&self, index: usize) -> Option<&Precheck> {
        let rule = &self.rules.rules[index];
        if !rule.builtin && self.workload == Workload::Small {
            return None;
        }
        let build = || {
            let written = rule.analysis.and_then(|i| crate::treecode::read(crate::builtin::precheck_tree(i)));
            let relaxed = match written {
                Some(tree) => tree,
                None => crate::syntax::relaxed(&rule.regex.as_ref()?.syntax_tree()?),
            };
            Precheck::of(&relaxed).map(Box::new)
        };
        self.prechecks[index].get_or_init(build).as_deref()
    }

    /// Runs rule `index` on `bytes` as its plan says, or, for a blob a delta built, from what its
    /// base kept (`from`); `consider`s each match the regex chooses until `found` holds
    /// `MAX_MATCHES` (matches the filters drop do not count). With `keep`, answers with the
    /// matches chosen, unless one was empty, they passed `MAX_KEPT_MATCHES` or the search
    /// stopped early.
    fn run_rule(
        &self,
        index: usize,
        bytes: &[u8],
        hits: &Hits,
        from: Option<&(&Kept, Pieces)>,
        keep: bool,
        found: &mut Vec<Found>,
    ) -> Result<Option<Vec<MatchGroups>>> {
        if let Some(chosen) = self.built_matches(index, bytes, hits, from)? {
            for groups in &chosen {
                if found.len() >= MAX_MATCHES {
                    return Ok(None);
                }
                self.consider(index, groups, bytes, found);
            }
            return Ok(keep.then_some(chosen));
        }
        let mut chosen = keep.then(Vec::new);
        let plan = self.plan(index, bytes, hits);
        self.each_match(index, bytes, &plan, &mut |groups| {
            self.consider(index, &groups, bytes, found);
            let empty = groups[0].as_ref().is_some_and(|whole| whole.is_empty());
            chosen = chosen.take().filter(|c| !empty && c.len() < MAX_KEPT_MATCHES).map(|mut c| {
                c.push(groups);
                c
            });
            found.len() < MAX_MATCHES
        })?;
        Ok(chosen.filter(|_| found.len() < MAX_MATCHES))
    }

    /// For a blob a delta built, the matches rule `index` chooses, from those it chose in the
    /// base (`lineage::matches_built`): `None` when the base's are not known or the regex's
    /// matches are bounded neither in length nor in line breaks. The rule's plan is worked out
    /// only where the base does not decide (`plan_within`).
    fn built_matches(
        &self,
        index: usize,
        bytes: &[u8],
        hits: &Hits,
        from: Option<&(&Kept, Pieces)>,
    ) -> Result<Option<Vec<MatchGroups>>> {
        let Some((kept, pieces)) = from else { return Ok(None) };
        let (Some(base), Some(pattern)) = (kept.matches_of(index), &self.rules.rules[index].regex) else {
            return Ok(None);
        };
        let bound = self.bounds[index].get_or_init(|| Bound::of(&pattern.syntax_tree()?));
        let Some(bound) = *bound else { return Ok(None) };
        let starts = |unknown: &Unknown| self.plan_within(index, bytes, hits, unknown);
        let regex = pattern.get()?;
        let mut caps = regex.create_captures();
        let precheck = self.precheck(index);
        let search = |from: usize, end: usize| {
            let region = from..end;
            if precheck.is_some_and(|p| !p.may_match_within(&bytes[..end], std::slice::from_ref(&region))) {
                return None;
            }
            search_groups(regex, &Input::new(&bytes[..end]).range(from..), &mut caps)
        };
        Ok(lineage::matches_built(pieces, bound, base, starts, MAX_KEPT_MATCHES, search))
    }

    /// Every match rule `index`'s regex chooses in `bytes` (those of a whole-text search),
    /// looked for as `plan` says, each handed to `each` until it says to stop.
    fn each_match(
        &self,
        index: usize,
        bytes: &[u8],
        plan: &Plan,
        each: &mut dyn FnMut(MatchGroups) -> bool,
    ) -> Result<()> {
        let Some(pattern) = &self.rules.rules[index].regex else {
            return Ok(());
        };
        // No place where a match can be (a pinned pair that never occurs): nothing to build.
        if let Plan::Windows(ranges) | Plan::Starts(ranges) = plan {
            if ranges.is_empty() {
                return Ok(());
            }
        }
        let precheck = self.precheck(index);
        if let (Some(precheck), Workload::Small) = (precheck, self.workload) {
            let may_match = match plan {
                Plan::Whole => precheck.may_match(bytes),
                Plan::Windows(_) => true,
                Plan::Starts(starts) => precheck.may_match_from(bytes, starts),
            };
            if !may_match {
                return Ok(());
            }
        }
        match plan {
            Plan::Whole => {
                for caps in pattern.get()?.captures_iter(bytes) {
                    if !each(groups_of(&caps)) {
                        break;
                    }
                }
            }
            // Searched window by window, the matches are those of a whole-text search: every
            // match lies inside one window (`reach.rs`), and a search resumes where the last
            // match ended. One byte past a window is kept so `\b` and `$` see what follows it.
            // A window the precheck rules out is passed over, and the regex compiles only once
            // one does not.
            Plan::Windows(windows) => {
                let mut compiled = None;
                let mut resume = 0;
                for window in windows {
                    if precheck.is_some_and(|p| !p.may_match_within(bytes, std::slice::from_ref(window))) {
                        continue;
                    }
                    if compiled.is_none() {
                        let regex = pattern.get()?;
                        compiled = Some((regex, regex.create_captures()));
                    }
                    let (regex, caps) = compiled.as_mut().expect("compiled above");
                    let haystack = &bytes[..(window.end + 1).min(bytes.len())];
                    let mut at = window.start.max(resume);
                    while at < window.end {
                        let groups = match search_groups(regex, &Input::new(haystack).range(at..), caps) {
                            None => break,
                            // Every match lies inside the window: one that ends past it was made
                            // by cutting the text (a `$` or `\b` at the cut). The window is
                            // searched again with its look-around seeing the text past it, and
                            // no further: a search of the rest of the text, once per window,
                            // took a 4 MB file 46 s.
                            Some(groups)
                                if groups[0].as_ref().is_some_and(|whole| whole.end > window.end) =>
                            {
                                match search_groups(regex, &Input::new(bytes).range(at..window.end), caps) {
                                    Some(groups) => groups,
                                    None => break,
                                }
                            }
                            Some(groups) => groups,
                        };
                        let whole = groups[0].clone().expect("group 0 always matches");
                        if whole.start >= window.end {
                            break;
                        }
                        resume = if whole.is_empty() { whole.end + 1 } else { whole.end };
                        at = resume;
                        if !each(groups) {
                            return Ok(());
                        }
                    }
                }
            }
            // Every match starts at one of these positions (`reach.rs`): trying each, in order,
            // anchored, and resuming after a match finds what a whole-text search finds.
            Plan::Starts(starts) => {
                let regex = pattern.get()?;
                let mut caps = regex.create_captures();
                let mut resume = 0;
                for range in starts {
                    let mut at = range.start.max(resume);
                    while at < range.end {
                        let input = Input::new(bytes).range(at..).anchored(Anchored::Yes);
                        let Some(groups) = search_groups(regex, &input, &mut caps) else {
                            at += 1;
                            continue;
                        };
                        let whole = groups[0].clone().expect("group 0 always matches");
                        resume = if whole.is_empty() { whole.end + 1 } else { whole.end };
                        at = resume;
                        if !each(groups) {
                            return Ok(());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// One regex match: its secret, entropy and allow markers decide whether it is a candidate
    /// (allowlists, which may depend on the place, are for `judge`).
    fn consider(&self, index: usize, groups: &[Option<Range<usize>>], bytes: &[u8], found: &mut Vec<Found>) {
        let rule = &self.rules.rules[index];
        let whole = groups[0].clone().expect("group 0 always matches");
        let secret = match rule.secret_group {
            0 => groups[1..].iter().flatten().find(|g| !g.is_empty()).cloned().unwrap_or(whole.clone()),
            n => match groups.get(n).cloned().flatten() {
                Some(group) => group,
                None => return,
            },
        };
        let value = &bytes[secret.clone()];
        if value.is_empty() || rule.entropy.is_some_and(|floor| entropy(value) <= floor) {
            return;
        }
        if let Some(near) = rule.near {
            let around = whole.start.saturating_sub(near)..(whole.end + near).min(bytes.len());
            if !rule.keywords.iter().any(|k| word_in(bytes, around.clone(), k.as_bytes())) {
                return;
            }
        }
        let line = line_around(bytes, secret.start);
        if ALLOW_MARKERS.iter().any(|marker| contains(line, marker)) {
            return;
        }
        let public = rule
            .public_group
            .and_then(|n| groups.get(n).cloned().flatten())
            .map(|g| String::from_utf8_lossy(&bytes[g]).into_owned());
        found.push(Found {
            rule: index,
            start: secret.start,
            end: secret.end,
            secret: Secret::with_public_prefix(value, public_prefix(rule, value)),
            public,
            whole: bytes[whole].to_vec(),
            line_text: line.to_vec(),
            line: 0,
            column: 0,
        });
    }

    fn allowed(&self, index: usize, candidate: &Candidate) -> Result<bool> {
        let rule: &Rule = &self.rules.rules[index];
        for allowlist in &self.rules.global {
            if !allowlist.target_rules.is_empty()
                && !allowlist.target_rules.iter().any(|id| *id == rule.meta.id)
            {
                continue;
            }
            if allowlist.allows(candidate)? {
                return Ok(true);
            }
        }
        for allowlist in &rule.allowlists {
            if allowlist.allows(candidate)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl Allowlist {
    fn allows(&self, c: &Candidate) -> Result<bool> {
        let mut results: Vec<bool> = Vec::with_capacity(4);
        if !self.commits.is_empty() {
            results.push(c.commit.is_some_and(|id| self.commits.iter().any(|a| id.starts_with(a.as_str()))));
        }
        if !self.paths.is_empty() || self.globs.is_some() {
            let by_glob = self.globs.as_ref().is_some_and(|set| set.is_match(c.path));
            results.push(by_glob || any_match(&self.paths, c.path.as_bytes())?);
        }
        if !self.regexes.is_empty() {
            let target = match self.target {
                Target::Secret => c.secret,
                Target::Match => c.whole,
                Target::Line => c.line,
            };
            results.push(any_match(&self.regexes, target)?);
        }
        if !self.stopwords.is_empty() {
            let lower = c.secret.to_ascii_lowercase();
            results.push(self.stopwords.iter().any(|w| contains(&lower, w.as_bytes())));
        }
        Ok(match self.condition {
            Condition::Any => results.iter().any(|&r| r),
            Condition::All => !results.is_empty() && results.iter().all(|&r| r),
        })
    }
}

fn any_match(patterns: &[crate::rules::Pattern], haystack: &[u8]) -> Result<bool> {
    for pattern in patterns {
        if pattern.is_match(haystack)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// How many allow markers the content holds (a range that adds some is worth a reviewer's look).
pub fn count_allow_markers(bytes: &[u8]) -> usize {
    if !ALLOW_MARKERS.iter().any(|m| contains(bytes, &m[..6])) {
        return 0;
    }
    bytes.split(|&b| b == b'\n').filter(|line| ALLOW_MARKERS.iter().any(|m| contains(line, m))).count()
}

/// Whether `word` occurs (ASCII case-insensitively) inside `range` of `bytes` as a word or at
/// the start or end of one (`clockify_key`, `api.clockify.me`, `myClockifyKey`): with letters
/// or digits on both sides (`codesecurity` for `desec`, a name inside base64) it is not a
/// mention of the word.
fn word_in(bytes: &[u8], range: Range<usize>, word: &[u8]) -> bool {
    let Some(last) = range.end.checked_sub(word.len()) else { return false };
    (range.start..=last).any(|at| {
        let end = at + word.len();
        if !bytes[at..end].eq_ignore_ascii_case(word) {
            return false;
        }
        let text = &bytes[at..end];
        let before = at.checked_sub(1).map(|b| bytes[b]);
        let after = bytes.get(end).copied();
        // A camelCase boundary counts when the word is written as one: `Clockify`, `clockify`.
        let cased = text[1..].iter().all(|b| !b.is_ascii_uppercase());
        let starts = !matches!(before, Some(b) if b.is_ascii_alphanumeric())
            || (cased && before.is_some_and(|b| b.is_ascii_lowercase()) && text[0].is_ascii_uppercase());
        let ends = !matches!(after, Some(b) if b.is_ascii_alphanumeric())
            || (cased && after.is_some_and(|b| b.is_ascii_uppercase()));
        starts || ends
    })
}

pub fn contains_ignoring_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

pub fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_PROBE)].contains(&0)
}

/// Whether content that starts with `start` (its first `BINARY_PROBE` bytes, or all of it) has
/// nothing for the content rules, whatever follows: it is binary, and not UTF-16 text.
pub fn holds_no_text(start: &[u8]) -> bool {
    is_binary(start) && !utf16::is_utf16(start)
}

/// Whether `needle` occurs in `haystack` (an empty needle never does).
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(haystack, needle).is_some()
}

/// The line around `offset`, at most `LINE_CONTEXT` bytes of it on each side: what allow
/// markers and `regexTarget = "line"` look at. Unbounded, a 20 MB one-line file with a thousand
/// tokens made a thousand copies of the whole line (20 GB).
fn line_around(bytes: &[u8], offset: usize) -> &[u8] {
    let from = offset.saturating_sub(LINE_CONTEXT);
    let to = (offset + LINE_CONTEXT).min(bytes.len());
    let start = memchr::memrchr(b'\n', &bytes[from..offset]).map_or(from, |p| from + p + 1);
    let end = memchr::memchr(b'\n', &bytes[offset..to]).map_or(to, |p| offset + p);
    &bytes[start..end]
}

/// Drops a generic rule's match where a provider rule matched overlapping text, and a second
/// rule's match of exactly the same text (the first rule in file order keeps it).
fn resolve_overlaps(rules: &[Rule], found: &mut Vec<Found>) {
    let specific: Vec<(usize, usize)> =
        found.iter().filter(|f| rules[f.rule].is_specific()).map(|f| (f.start, f.end)).collect();
    found.retain(|f| rules[f.rule].is_specific() || !specific.iter().any(|&(s, e)| f.start < e && s < f.end));
    found.sort_by_key(|f| (f.start, f.rule));
    found.dedup_by(|a, b| a.start == b.start && a.end == b.end);
}

/// How much of `secret` is a provider's public prefix: the longest keyword of a specific rule
/// (`ghp_`, `r8_`, `akia`) it starts with. A generic rule's keywords (`password`, `key`) say
/// nothing public about the value, so they never count.
fn public_prefix(rule: &Rule, secret: &[u8]) -> usize {
    if !rule.is_specific() {
        return 0;
    }
    rule.keywords
        .iter()
        .map(|k| k.as_bytes())
        .filter(|k| secret.get(..k.len()).is_some_and(|start| start.eq_ignore_ascii_case(k)))
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0)
}

/// Sets 1-based line and column from byte offsets, in one pass over the content (`found` is
/// sorted by offset).
fn locate(bytes: &[u8], found: &mut [Found]) {
    let mut line = 1;
    let mut line_start = 0;
    let mut cursor = 0;
    for f in found {
        for (i, &b) in bytes[cursor..f.start].iter().enumerate() {
            if b == b'\n' {
                line += 1;
                line_start = cursor + i + 1;
            }
        }
        cursor = f.start;
        f.line = line;
        f.column = f.start - line_start + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::lineage::Copy;

    /// A matcher of the content rules of a rules file's text.
    fn matcher_of(rules: &str, workload: Workload) -> Matcher {
        let raw = config::parse(rules, "t.toml").unwrap();
        let config = config::Config { rules: raw.rules.into(), ..Default::default() };
        Matcher::new(Rules::build(&config).unwrap(), workload)
    }

    /// One case: rules (TOML), content, where it was found → (rule id, secret, line, column).
    struct Case {
        name: &'static str,
        rules: &'static str,
        content: &'static str,
        path: &'static str,
        commit: Option<&'static str>,
        expected: &'static [(&'static str, &'static str, usize, usize)],
    }

    const TOKEN: &str = r#"
[[rules]]
id = "demo-token"
regex = '''\b(dmo_[a-z0-9]{12})\b'''
keywords = ["dmo_"]
"#;

    const GENERIC: &str = r#"
[[rules]]
id = "demo-token"
regex = '''\b(dmo_[a-z0-9]{12})\b'''
keywords = ["dmo_"]

[[rules]]
id = "generic-assignment"
regex = '''(?i)secret[ \t]*=[ \t]*"?([a-z0-9_]{12,40})"?'''
keywords = ["secret"]
"#;

    const NEAR: &str = r#"
[[rules]]
id = "clock-key"
regex = '''\b([a-f0-9]{32})\b'''
keywords = ["clockify"]
near = 20
"#;

    const LOB: &str = r#"
[[rules]]
id = "lob-key"
regex = '''(?:^|[^A-Za-z0-9])(?i:lob)[\w.-]{0,20}?key[ \t]*=[ \t]*(live_[a-f0-9]{12})\b'''
keywords = ["lob"]
"#;

    const CASES: &[Case] = &[
        Case {
            name: "what comes before one keyword and what follows another",
            rules: r#"
[[rules]]
id = "two-keywords"
regex = '''[a-z]?foo.{0,5}\bbar=([0-9]{4})'''
keywords = ["foo", "bar"]
"#,
            content: "xfoo bar=1234\nand a line or two of filler, as occurrences are kept only when few\n",
            path: "a.txt",
            commit: None,
            expected: &[("two-keywords", "1234", 1, 10)],
        },
        Case {
            name: "a keyword inside words, then one a match can hold",
            rules: LOB,
            content: "blob_key = live_0123456789ab\nglobal.key = live_0123456789ab\nLOB_key = live_abcdef012345\n",
            path: "a.env",
            commit: None,
            expected: &[("lob-key", "live_abcdef012345", 3, 11)],
        },
        Case {
            name: "windows at the start and the end of a blob",
            rules: TOKEN,
            content: "dmo_abcdef123456 then filler text\nmore filler\nlast dmo_zyxwvu987654",
            path: "a.txt",
            commit: None,
            expected: &[("demo-token", "dmo_abcdef123456", 1, 1), ("demo-token", "dmo_zyxwvu987654", 3, 6)],
        },
        Case {
            name: "CRLF line endings",
            rules: GENERIC,
            content: "a = 1\r\nsecret = \"s3cr3tvalue_abc\"\r\nb = 2\r\n",
            path: "a.env",
            commit: None,
            expected: &[("generic-assignment", "s3cr3tvalue_abc", 2, 11)],
        },
        Case {
            name: "a multi-line rule",
            rules: r#"
[[rules]]
id = "pem-block"
regex = '''-----BEGIN DEMO KEY-----\n([A-Za-z0-9+/=\n]{16,200})\n-----END DEMO KEY-----'''
keywords = ["begin demo key"]
"#,
            content:
                "x\n-----BEGIN DEMO KEY-----\nQUJDREVGR0hJSktMTU5PUA==\nUVJTVA==\n-----END DEMO KEY-----\n",
            path: "k.pem",
            commit: None,
            expected: &[("pem-block", "QUJDREVGR0hJSktMTU5PUA==\nUVJTVA==", 3, 1)],
        },
        Case {
            name: "an allowlist with condition AND needs both its path and its regex",
            rules: r#"
[[rules]]
id = "demo-token"
regex = '''\b(dmo_[a-z0-9]{12})\b'''
keywords = ["dmo_"]
  [[rules.allowlists]]
  condition = "AND"
  paths = ['''^fixtures/''']
  regexes = ['''^dmo_test''']
"#,
            content: "dmo_test00000001 dmo_live00000001",
            path: "fixtures/a.txt",
            commit: None,
            expected: &[("demo-token", "dmo_live00000001", 1, 18)],
        },
        Case {
            name: "a global allowlist limited by targetRules leaves other rules alone",
            rules: r#"
[[rules]]
id = "demo-token"
regex = '''\b(dmo_[a-z0-9]{12})\b'''
keywords = ["dmo_"]

[[rules]]
id = "other-token"
regex = '''\b(oth_[a-z0-9]{12})\b'''
keywords = ["oth_"]

[[allowlists]]
targetRules = ["demo-token"]
paths = ['''\.md$''']
"#,
            content: "dmo_abcdef123456 oth_abcdef123456",
            path: "README.md",
            commit: None,
            expected: &[("other-token", "oth_abcdef123456", 1, 18)],
        },
        Case {
            name: "regexTarget match sees the whole match",
            rules: r#"
[[rules]]
id = "demo-token"
regex = '''key=(dmo_[a-z0-9]{12})'''
keywords = ["dmo_"]
  [[rules.allowlists]]
  regexTarget = "match"
  regexes = ['''^key=dmo_0''']
"#,
            content: "key=dmo_000000000000 key=dmo_abcdef123456",
            path: "a.txt",
            commit: None,
            expected: &[("demo-token", "dmo_abcdef123456", 1, 26)],
        },
        Case {
            name: "regexTarget line sees the line",
            rules: r#"
[[rules]]
id = "demo-token"
regex = '''(dmo_[a-z0-9]{12})'''
keywords = ["dmo_"]
  [[rules.allowlists]]
  regexTarget = "line"
  regexes = ['''example''']
"#,
            content: "dmo_abcdef123456 # example\ndmo_zyxwvu987654\n",
            path: "a.txt",
            commit: None,
            expected: &[("demo-token", "dmo_zyxwvu987654", 2, 1)],
        },
        Case {
            name: "a commit allowlist applies only in that commit",
            rules: r#"
[[rules]]
id = "demo-token"
regex = '''(dmo_[a-z0-9]{12})'''
keywords = ["dmo_"]
  [[rules.allowlists]]
  commits = ["abc123"]
"#,
            content: "dmo_abcdef123456",
            path: "a.txt",
            commit: Some("abc123def"),
            expected: &[],
        },
        Case {
            name: "stopwords",
            rules: r#"
[[rules]]
id = "generic-assignment"
regex = '''(?i)secret[ \t]*=[ \t]*"?([a-z0-9_]{12,40})"?'''
keywords = ["secret"]
  [[rules.allowlists]]
  stopwords = ["placeholder"]
"#,
            content: "secret = \"my_placeholder_value\"\nsecret = \"k2j4h5g6f7d8s9a0\"",
            path: "a.env",
            commit: None,
            expected: &[("generic-assignment", "k2j4h5g6f7d8s9a0", 2, 11)],
        },
        Case {
            name: "a specific rule wins over an overlapping generic one",
            rules: GENERIC,
            content: "secret = dmo_abcdef123456",
            path: "a.env",
            commit: None,
            expected: &[("demo-token", "dmo_abcdef123456", 1, 10)],
        },
        Case {
            name: "a rule's path condition",
            rules: r#"
[[rules]]
id = "demo-token"
regex = '''(dmo_[a-z0-9]{12})'''
keywords = ["dmo_"]
path = '''\.cfg$'''
"#,
            content: "dmo_abcdef123456",
            path: "a.txt",
            commit: None,
            expected: &[],
        },
        Case {
            name: "a decoded value is reported where it is encoded",
            rules: TOKEN,
            // base64 of "deploy:dmo_abcdef123456"
            content: "Authorization: Basic ZGVwbG95OmRtb19hYmNkZWYxMjM0NTY=\n",
            path: "a.sh",
            commit: None,
            expected: &[("demo-token", "dmo_abcdef123456", 1, 22)],
        },
        Case {
            name: "a context keyword before a match, within near bytes",
            rules: NEAR,
            content: "CLOCKIFY_KEY = \"5f1c0e9a7b3d2486c0ffee1234abcd99\"",
            path: "a.env",
            commit: None,
            expected: &[("clock-key", "5f1c0e9a7b3d2486c0ffee1234abcd99", 1, 17)],
        },
        Case {
            name: "a context keyword counts as a word or part of a name, not inside another word",
            rules: NEAR,
            content: "myClockifyKey = 5f1c0e9a7b3d2486c0ffee1234abcd99\nnoclockifyz = 77c4e1b09d2f3a6588ab1c0d2e3f4a5b",
            path: "a.env",
            commit: None,
            expected: &[("clock-key", "5f1c0e9a7b3d2486c0ffee1234abcd99", 1, 17)],
        },
        Case {
            name: "a context keyword after a match, within near bytes",
            rules: NEAR,
            content: "key: 5f1c0e9a7b3d2486c0ffee1234abcd99  # clockify",
            path: "a.yml",
            commit: None,
            expected: &[("clock-key", "5f1c0e9a7b3d2486c0ffee1234abcd99", 1, 6)],
        },
        Case {
            name: "a context keyword farther than near bytes, and a hex value far from any",
            rules: NEAR,
            content: concat!(
                "# clockify settings\n# -----------------------------------\nsha = 5f1c0e9a7b3d2486c0ffee1234abcd99\n",
                "................................................................................................\n",
                "................................................................................................\n",
                "................................................................................................\n",
                "clockify = 77c4e1b09d2f3a6588ab1c0d2e3f4a5b\n",
                "................................................................................................\n",
                "................................................................................................\n",
                "................................................................................................\n",
                "digest = 0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a\n",
            ),
            path: "a.txt",
            commit: None,
            expected: &[("clock-key", "77c4e1b09d2f3a6588ab1c0d2e3f4a5b", 7, 12)],
        },
        Case {
            // The keyword is context, so the rule runs where its pinned bytes (`.` and the `:` 5
            // after it) occur: at the very start and the very end of the text too.
            name: "a context rule at its pinned bytes, at both ends of the text",
            rules: r#"
                [[rules]]
                id = "pair-key"
                regex = '''(?:^|[^a-z0-9])([a-z0-9]{4}\.[a-z0-9]{4}:[a-z0-9]{8})(?:[^a-z0-9]|$)'''
                keywords = ["pairco"]
            "#,
            content: concat!(
                "abcd.efgh:ijklmnop is first\n",
                "................................................................................................\n",
                "................................................................................................\n",
                "pairco settings, and decoys: aaaa.bbbb:ccc x.y:z 1234.5678:90abcdefgh\n",
                "x=wxyz.1234:abcdefgh",
            ),
            path: "a.txt",
            commit: None,
            expected: &[("pair-key", "abcd.efgh:ijklmnop", 1, 1), ("pair-key", "wxyz.1234:abcdefgh", 5, 3)],
        },
    ];

    /// A rule whose matches hold their keyword after a byte that is not a letter or a digit, and
    /// `key` at most 23 bytes after its start, is not run where no occurrence of it is so, in
    /// either workload.
    #[test]
    fn a_rule_is_skipped_where_no_occurrence_of_its_keyword_can_be_in_a_match() {
        for workload in [Workload::Small, Workload::Large] {
            let matcher = matcher_of(LOB, workload);
            let skipped = |text: &str| {
                // Occurrences are recorded up to one per 16 bytes.
                let text = format!("{text}\n{}", "filler ".repeat(20));
                let (hits, _) = matcher.keyword_hits(text.as_bytes(), Lineage::default());
                assert_eq!(hits.rules, vec![0], "{text:?}: the keyword occurs");
                matcher.no_keyword_fits(0, text.as_bytes(), &hits)
            };
            assert!(skipped("blob_key = x\nglobal_key = y\nBLOB"), "inside words");
            assert!(skipped("lob, but no k-e-y after it"), "nothing after");
            assert!(skipped("lob, and then much further along this line, key"), "too far after");
            assert!(!skipped("blob and lob_key"));
            assert!(!skipped("lob.key at the start"));
            assert!(!skipped("a blob\n(Lob_the_KEY"));
        }
    }

    /// A rule whose keyword is only context runs in windows around the part every match holds
    /// (`inner.rs`), and finds there what it finds in the whole text: here one key, and not the
    /// second, whose `\b` holds only where the window cuts the text (the window ends 39 bytes
    /// in, after `sk_wx`).
    #[test]
    fn a_context_rule_runs_around_the_part_every_match_holds() {
        let rules = r#"
[[rules]]
id = "acme-key"
regex = '''(?:^|[^a-z])(?i:acme)[\t -~]{0,20}(sk_[a-z]{4}\b)'''
keywords = ["acme_config"]
"#;
        let text =
            format!("acme sk_abcd acme{}sk_wxyzq acme_config\n{}", " ".repeat(16), "filler\n".repeat(20));
        let (whole, windowed) = (matcher_of(rules, Workload::Small), matcher_of(rules, Workload::Large));
        let (hits, _) = windowed.keyword_hits(text.as_bytes(), Lineage::default());
        let Plan::Windows(windows) = windowed.plan(0, text.as_bytes(), &hits) else {
            panic!("no windows around the part")
        };
        assert_eq!(windows, vec![0..39]);
        let found = windowed.scan("a.txt", None, text.as_bytes()).unwrap();
        assert_eq!(found, whole.scan("a.txt", None, text.as_bytes()).unwrap());
        assert_eq!(found.len(), 1);
    }

    /// The places a match can start at, from a rule's lead, hold each keyword occurrence's start,
    /// even that of a keyword longer than any match (from a rules file): such a range, from
    /// `lead` before the keyword's end to its start, was once inverted.
    #[test]
    fn the_starts_before_a_keyword_longer_than_any_match_are_its_start() {
        let rules = r#"
[[rules]]
id = "short-token"
regex = '''zz_([a-z0-9]{20})'''
keywords = ["zz_", "a_context_name_longer_than_any_match"]
"#;
        let matcher = matcher_of(rules, Workload::Large);
        let text = b"a_context_name_longer_than_any_match\nzz_k3j9x7q2m8w4t6v1b5n0\n";
        let (hits, _) = matcher.keyword_hits(text, Lineage::default());
        let Some(Plan::Starts(starts)) = matcher.keyword_places(0, text, &hits, |_, _| true, true) else {
            panic!("the rule has a lead")
        };
        assert_eq!(starts, vec![0..1, 37..38]);
    }

    /// Occurrences grouped by keyword: the same occurrences, each keyword's together and in
    /// keyword order, in the order they came, few or many.
    #[test]
    fn occurrences_are_grouped_by_keyword_in_the_order_they_came() {
        let mut next = crate::random::below(5);
        for n in [0, 3, 255, 256, 5000] {
            let spans: Vec<(usize, usize, usize)> =
                (0..n).map(|_| (next(40), next(100_000), next(7))).collect();
            let grouped = by_keyword(spans.clone(), 40);
            let (mut expected, mut got) = (spans.clone(), grouped.clone());
            expected.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, expected, "the same occurrences");
            assert!(grouped.windows(2).all(|w| w[0].0 <= w[1].0), "in keyword order");
            if n >= 256 {
                for k in 0..40 {
                    let came: Vec<_> = spans.iter().filter(|s| s.0 == k).collect();
                    let kept: Vec<_> = grouped.iter().filter(|s| s.0 == k).collect();
                    assert_eq!(kept, came, "keyword {k} in the order its occurrences came");
                }
            }
        }
    }

    /// A blob built from a base by copies and inserts, as a pack's delta builds it, has the
    /// keyword occurrences of the blob read whole when they are derived from its base's, and so
    /// has a blob built from it. Pieces are cut inside keywords (the longest among them) and
    /// joined to pieces of other occurrences cut at the same place, so that keywords span the
    /// joins between pieces and between pieces and inserted bytes.
    #[test]
    fn a_blob_built_from_a_base_has_the_occurrences_of_one_read_whole() {
        let matcher = Matcher::new(Rules::build(&config::builtin().unwrap()).unwrap(), Workload::Large);
        let longest = matcher.keywords.iter().map(|k| k.as_bytes()).max_by_key(|k| k.len()).unwrap();
        // Keywords at most one in 16 bytes, else their occurrences are not kept (`DENSE`).
        let filler: &[u8] = b"some filler text that holds no word of note; ";
        let words: [&[u8]; 12] = [
            b"API_KEY",
            b" = ",
            b"token",
            b"\n",
            b"Secret",
            b"password",
            longest,
            filler,
            filler,
            b"ghp_",
            b"Basic",
            b"kind:",
        ];
        let mut next = crate::random::below(11);
        let occurrences = |text: &[u8], lineage: Lineage| {
            let (mut hits, kept) = matcher.keyword_hits(text, lineage);
            hits.spans.sort_unstable();
            (hits.rules, hits.spans, hits.dense, hits.encoded, kept)
        };
        let (mut joins, mut straddling, mut longest_straddling) = (0, 0, 0);
        for round in 0..240 {
            let mut base: Vec<u8> = Vec::new();
            while base.len() < 300 + 10 * round {
                base.extend_from_slice(words[next(words.len())]);
            }
            let mut kept = occurrences(&base, Lineage { base: None, is_base: true }).4;
            for _generation in 0..4 {
                // Where each word occurs in the base: pieces start and end inside them.
                let (word, cut) = (next(words.len()), next(16));
                let at: Vec<usize> = memchr::memmem::find_iter(&base, words[word]).collect();
                let (mut blob, mut copies) = (Vec::new(), Vec::<Copy>::new());
                for _ in 0..1 + next(8) {
                    if next(3) == 0 || at.len() < 2 {
                        let w = words[word];
                        blob.extend_from_slice(if next(2) == 0 {
                            &w[..cut % w.len()]
                        } else {
                            &w[cut % w.len()..]
                        });
                    }
                    let cut = cut % words[word].len();
                    let (from, to) = match at.len() {
                        0 | 1 => (0, base.len()),
                        n => {
                            let (i, j) = (next(n), next(n));
                            (
                                at[i.min(j)] + cut,
                                (at[i.max(j)] + cut).max(at[i.min(j)] + cut + 1).min(base.len()),
                            )
                        }
                    };
                    if from >= to {
                        continue;
                    }
                    joins += usize::from(copies.last().is_some_and(|c| c.to + c.len == blob.len()));
                    match copies.last_mut() {
                        Some(last) if last.to + last.len == blob.len() && last.from + last.len == from => {
                            last.len += to - from
                        }
                        _ => copies.push(Copy { to: blob.len(), from, len: to - from }),
                    }
                    blob.extend_from_slice(&base[from..to]);
                }
                let whole = occurrences(&blob, Lineage { base: None, is_base: true });
                for &(_, start, end) in &whole.1 {
                    if !lineage::inside_a_copy(&copies, start..end) {
                        straddling += 1;
                        longest_straddling += usize::from(end - start == longest.len());
                    }
                }
                let Some(occurrences_kept) = kept else { break };
                let base_kept = Kept { occurrences: occurrences_kept, matches: Vec::new() };
                let built = occurrences(&blob, Lineage { base: Some((&base_kept, &copies)), is_base: true });
                assert_eq!(built, whole, "round {round}: {:?}", String::from_utf8_lossy(&blob));
                (base, kept) = (blob, built.4);
            }
        }
        assert!(
            joins > 100 && straddling > 300 && longest_straddling > 20,
            "{joins} joins, {straddling} occurrences outside a copy, {longest_straddling} of the longest keyword"
        );
    }

    /// A blob a delta built from a base has the findings of the blob read whole, for rules whose
    /// keyword comes before or after their matches at a distance, is context near them, is
    /// context anywhere (the rule runs at its pinned bytes), or lies on the line of a match or
    /// the line before it (matches bounded in lines only): where the base decides nothing,
    /// each rule's plan must still reach every match, also one whose keyword lies far from the
    /// edit inside bytes copied from the base.
    #[test]
    fn a_blob_built_from_a_base_has_the_findings_of_one_read_whole() {
        let rules = r#"
            [[rules]]
            id = "after"
            regex = '''\b([0-9a-f]{20})[ =:]{1,60}tok\b'''
            keywords = ["tok"]
            [[rules]]
            id = "before"
            regex = '''\bkey[ =:]{1,60}([0-9a-f]{8,20})\b'''
            keywords = ["key"]
            [[rules]]
            id = "near"
            regex = '''\b([a-f0-9]{32})\b'''
            keywords = ["clockify"]
            near = 40
            [[rules]]
            id = "pinned"
            regex = '''(?:^|[^a-z0-9])([a-z0-9]{4}\.[a-z0-9]{4}:[a-z0-9]{8})(?:[^a-z0-9]|$)'''
            keywords = ["pairco"]
            [[rules]]
            id = "line"
            regex = '''\bpass\b[^\n]*[ =:]([0-9a-f]{10,20})\b'''
            keywords = ["pass"]
            [[rules]]
            id = "two-lines"
            regex = '''\bsecret\b[^\n]*\n?[^\n]*?\b([0-9a-f]{10})\b'''
            keywords = ["secret"]
        "#;
        let matcher = matcher_of(rules, Workload::Large);
        let filler = "some filler text that holds no word of note; ";
        let words = [
            " tok",
            " key",
            " pass",
            " secret",
            " ",
            " = ",
            "          ",
            ":",
            "0123456789abcdef0123",
            "fedcba9876",
            "gggg",
            "\n",
            filler,
            filler,
            filler,
            "a1b2.c3d4:e5f6a7b8",
            "pairco",
            "clockify ",
            "5f1c0e9a7b3d2486c0ffee1234abcd99",
        ];
        let mut next = crate::random::below(3);
        let findings = |content: Content| -> Vec<(usize, usize, usize)> {
            content.found.iter().map(|f| (f.rule, f.start, f.end)).collect()
        };
        let (mut compared, mut by_rule) = (0, [0; 6]);
        for round in 0..400 {
            let (mut base, mut edges) = (Vec::new(), Vec::new());
            for _ in 0..20 + round / 4 {
                edges.push(base.len());
                base.extend_from_slice(words[next(words.len())].as_bytes());
            }
            let (_, kept) = matcher.content_built(&base, &[], Lineage { base: None, is_base: true }).unwrap();
            let Some(kept) = kept else { continue };
            // Copies of the base that start and end anywhere or where a word starts (so that
            // the byte before a word changes, or the word's first byte), with a word or a byte
            // between them.
            let cut = |next: &mut dyn FnMut(usize) -> usize, at: usize| match next(3) {
                0 => at + next(30),
                _ => edges[edges.partition_point(|&e| e <= at).min(edges.len() - 1)].max(at + 1) - next(2),
            };
            let (mut blob, mut copies) = (Vec::new(), Vec::<Copy>::new());
            let mut from = cut(&mut next, 0);
            while from < base.len() {
                let to = from + next(base.len() / 2);
                let len = (cut(&mut next, to) - from).clamp(1, base.len() - from);
                copies.push(Copy { to: blob.len(), from, len });
                blob.extend_from_slice(&base[from..from + len]);
                match next(2) {
                    0 => blob.extend_from_slice(words[next(words.len())].as_bytes()),
                    _ => blob.push(b" g"[next(2)]),
                }
                from = cut(&mut next, from + len);
            }
            let (whole, _) = matcher.content_built(&blob, &[], Lineage::default()).unwrap();
            let lineage = Lineage { base: Some((&kept, &copies)), is_base: false };
            let (built, _) = matcher.content_built(&blob, &[], lineage).unwrap();
            let whole = findings(whole);
            whole.iter().for_each(|&(rule, ..)| by_rule[rule] += 1);
            compared += 1;
            assert_eq!(findings(built), whole, "round {round}: {:?}", String::from_utf8_lossy(&blob));
        }
        assert!(
            compared > 300 && by_rule.iter().all(|&n| n > 20),
            "{compared} blobs, findings by rule {by_rule:?}"
        );
    }

    /// What a blob keeps for the blobs built from it: every match its rules chose, even those
    /// the filters dropped, until they pass `MAX_KEPT_MATCHES`.
    #[test]
    fn a_blob_keeps_its_rules_matches_for_its_deltas_up_to_a_bound() {
        let rule = |id: usize| {
            format!("[[rules]]\nid = \"low-{id}\"\nregex = '\\bk=([0-9]{{4}})\\b'\nkeywords = [\"k=\"]\nentropy = 3.5\n")
        };
        let rules: String = (0..5).map(rule).collect();
        let matcher = matcher_of(&rules, Workload::Large);
        let kept = |n: usize| {
            let text = "k=1111 and some filler words\n".repeat(n);
            let (content, kept) =
                matcher.content_built(text.as_bytes(), &[], Lineage { base: None, is_base: true }).unwrap();
            assert!(content.is_empty(), "no match passes the entropy floor");
            kept.expect("occurrences recorded").matches
        };
        let few = kept(500);
        assert_eq!(few.len(), 5);
        assert!(few.iter().all(|(_, chosen)| chosen.len() == 500));
        assert!(kept(900).is_empty(), "4,500 matches are past the bound");
    }

    /// Matches the filters drop do not count toward `MAX_MATCHES`: a secret after a thousand
    /// low-entropy look-alikes is still found, in either workload and whether or not the blob
    /// keeps its matches for its deltas.
    #[test]
    fn a_secret_after_a_thousand_dropped_matches_is_found() {
        let rules =
            "[[rules]]\nid = \"low\"\nregex = '\\bk=([0-9a-z]{8})\\b'\nkeywords = [\"k=\"]\nentropy = 2.5\n";
        let text = format!("{}k=a8f3kq9z\n", "k=11111111 and some filler words\n".repeat(1200));
        for workload in [Workload::Small, Workload::Large] {
            let matcher = matcher_of(rules, workload);
            for is_base in [false, true] {
                let lineage = Lineage { base: None, is_base };
                let (content, _) = matcher.content_built(text.as_bytes(), &[], lineage).unwrap();
                let secrets: Vec<&[u8]> = content.found.iter().map(|f| f.secret.bytes()).collect();
                assert_eq!(secrets, vec![&b"a8f3kq9z"[..]], "{workload:?}, keeping: {is_base}");
            }
        }
    }

    #[test]
    fn the_matcher_table() {
        for case in CASES {
            let raw = config::parse(case.rules, "t.toml").unwrap();
            let config = config::Config {
                rules: raw.rules.into(),
                allowlists: raw.allowlists.into(),
                ..Default::default()
            };
            for workload in [Workload::Small, Workload::Large] {
                let matcher = Matcher::new(Rules::build(&config).unwrap(), workload);
                let got: Vec<(String, String, usize, usize)> = matcher
                    .scan(case.path, case.commit, case.content.as_bytes())
                    .unwrap()
                    .into_iter()
                    .map(|m| {
                        let secret = match &m.evidence {
                            Evidence::Secret { secret, .. } => secret.expose(),
                            Evidence::File => String::new(),
                        };
                        (matcher.rules.rules[m.rule].meta.id.to_string(), secret, m.line, m.column)
                    })
                    .collect();
                let expected: Vec<(String, String, usize, usize)> =
                    case.expected.iter().map(|&(r, s, l, c)| (r.into(), s.into(), l, c)).collect();
                assert_eq!(got, expected, "{} ({workload:?})", case.name);
            }
        }
    }
}
